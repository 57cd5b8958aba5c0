#!/usr/bin/env bash
# make demo: generate a sample Genesys BYOC capture, install genesys-sip into a
# demo HOME (your own Wireshark setup is left alone), replay the capture
# through the real tshark via the "Genesys SIP" extcap, and show the SIP
# messages with their Genesys fields.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=bin/genesys-sip
out=out/demo
rm -rf "$out"
mkdir -p "$out/home"
tshark=$(command -v tshark) || { echo "make demo needs tshark: apt-get install -y tshark" >&2; exit 1; }

"$bin" sample --kind demo -o "$out" >/dev/null
HOME="$PWD/$out/home" "$bin" install --tshark "$tshark" >"$out/install.log"

echo "== 1. tshark lists the extcap"
HOME="$PWD/$out/home" tshark -D 2>/dev/null | grep 'Genesys SIP'

echo
echo "== 2. replay $out/sample.pcap through: tshark -i genesys-sip -o extcap.genesys_sip.replayfile:…"
HOME="$PWD/$out/home" tshark -i genesys-sip \
  -o "extcap.genesys_sip.replayfile:$PWD/$out/sample.pcap" \
  -o extcap.genesys_sip.replayspeed:0 \
  -w "$out/replayed.pcapng" 2>&1 | grep -v -e '^Running as' -e '^tshark: $' -e '^$' -e 'Main MESSAGE' || true

echo
echo "== 3. the SIP messages, with genesys.call_id from the Lua dissector"
printf '%-5s %-15s %-15s %-8s %-4s %s\n' frame src dst method code genesys.call_id
HOME="$PWD/$out/home" tshark -r "$out/replayed.pcapng" -Y sip -T fields \
  -e frame.number -e ip.src -e ip.dst -e sip.Method -e sip.Status-Code -e genesys.call_id 2>/dev/null |
  awk -F'\t' '{ printf "%-5s %-15s %-15s %-8s %-4s %s\n", $1, $2, $3, $4, $5, $6 }'

echo
echo "== 4. one call, by its Genesys call id"
id=$(HOME="$PWD/$out/home" tshark -r "$out/replayed.pcapng" -Y 'sip.Status-Code == 408' -T fields -e genesys.call_id 2>/dev/null | head -1)
echo "tshark -r $out/replayed.pcapng -Y 'genesys.call_id == \"$id\"'"
HOME="$PWD/$out/home" tshark -r "$out/replayed.pcapng" -Y "genesys.call_id == \"$id\"" 2>/dev/null

echo
echo "Files in $out/. Install for your own Wireshark with: make install"
