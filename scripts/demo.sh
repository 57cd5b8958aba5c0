#!/usr/bin/env bash
# make demo: generate a sample Genesys BYOC capture and the Genesys Cloud trace
# records of the same calls, install genesys-sip into a demo HOME (your own
# Wireshark setup is left alone), replay the capture through the real tshark
# via the "Genesys SIP" extcap with the trace, and show what an analyst sees.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=bin/genesys-sip
out=out/demo
rm -rf "$out"
mkdir -p "$out/home"
tshark=$(command -v tshark) || { echo "make demo needs tshark: apt-get install -y tshark" >&2; exit 1; }
export HOME="$PWD/$out/home"
unset XDG_CONFIG_HOME
quiet() { grep -v -e '^Running as' -e '^tshark: $' -e '^$' -e 'Main MESSAGE' || true; }

"$bin" sample --kind demo -o "$out" >/dev/null
"$bin" install --tshark "$tshark" >"$out/install.log"

echo "== 1. tshark lists the extcap"
tshark -D 2>/dev/null | grep 'Genesys SIP'

echo
echo "== 2. replay $out/sample.pcap with the Genesys trace $out/sample-trace.json through the extcap:"
echo "   tshark -i genesys-sip -o extcap.genesys_sip.replayfile:… -o extcap.genesys_sip.tracefile:… -w $out/annotated.pcapng"
tshark -i genesys-sip \
  -o "extcap.genesys_sip.replayfile:$PWD/$out/sample.pcap" \
  -o "extcap.genesys_sip.tracefile:$PWD/$out/sample-trace.json" \
  -o extcap.genesys_sip.replayspeed:0 \
  -w "$out/annotated.pcapng" 2>&1 | quiet

echo
echo "== 3. the capture's comment: the clock offset genesys-sip measured"
# One item per line: split at the "; " between items, not at those inside
# an item's parentheses ("clock offset +2.333s (Genesys minus capture; …)").
capinfos -k "$out/annotated.pcapng" 2>/dev/null | sed -n 's/^Capture comment: *//p' |
  awk '{ depth = 0; item = ""
         for (i = 1; i <= length($0); i++) {
           c = substr($0, i, 1)
           if (c == "(") depth++
           if (c == ")" && depth > 0) depth--
           if (c == ";" && depth == 0) { print "   " item; item = ""; sub(/^ +/, "", item); continue }
           if (item == "" && c == " ") continue
           item = item c
         }
         if (item != "") print "   " item }'

echo
echo "== 4. every SIP message with its Genesys call id and what Genesys traced for it (phone numbers redacted)"
printf '%-5s %-15s %-15s %-8s %-4s %-36s %-22s %s\n' frame src dst method code genesys.call_id genesys.trace.event trace.time
tshark -r "$out/annotated.pcapng" -Y sip -T fields -E occurrence=f \
  -e frame.number -e ip.src -e ip.dst -e sip.Method -e sip.Status-Code -e genesys.call_id -e genesys.trace.event -e genesys.trace.time 2>/dev/null |
  awk -F'\t' '{ split($8, t, " "); printf "%-5s %-15s %-15s %-8s %-4s %-36s %-22s %s\n", $1, $2, $3, $4, $5, $6, $7, t[4] }'

echo
echo "== 5. alerts: tshark -Y genesys.alert"
tshark -r "$out/annotated.pcapng" -Y genesys.alert -T fields -e frame.number -e genesys.alert.event -e genesys.call_id 2>/dev/null

echo
echo "== 6. one call, both sides (the 408):"
id=$(tshark -r "$out/annotated.pcapng" -Y 'sip.Status-Code == 408' -T fields -e genesys.call_id 2>/dev/null | head -1)
echo "   tshark -r $out/annotated.pcapng -Y 'genesys.call_id == \"$id\"'"
tshark -r "$out/annotated.pcapng" -Y "genesys.call_id == \"$id\"" -T fields -e frame.number -e _ws.col.Info -e frame.comment 2>/dev/null |
  cut -c1-220

echo
echo "== 7. what only Genesys saw (a call through an SBC this capture does not see), and the weak Call-ID-only matches"
echo "   tshark -r $out/annotated.pcapng -Y 'genesys.genesys_only'"
tshark -r "$out/annotated.pcapng" -Y 'genesys.genesys_only' -T fields -e frame.number -e genesys.trace.event -e genesys.call_id 2>/dev/null | sed 's/^/     /'
echo "   tshark -r $out/annotated.pcapng -Y 'genesys.trace.key == \"call-id\"'"
tshark -r "$out/annotated.pcapng" -Y 'genesys.trace.key == "call-id"' -T fields -e frame.number -e _ws.col.Info -e genesys.trace.warn 2>/dev/null |
  cut -c1-160 | sed 's/^/     /'

echo
echo "Files in $out/ (open $out/annotated.pcapng in Wireshark with the plugin: make install)."
echo "Filters to try (the genesys.* fields need the dissector: make install, or prefix HOME=$out/home as this demo does):"
echo "  tshark -r $out/annotated.pcapng -Y 'genesys.call_id == \"$id\"'"
echo "  tshark -r $out/annotated.pcapng -Y 'genesys.trace.status == 408'"
echo "  tshark -r $out/annotated.pcapng -Y 'genesys.alert'"
echo "  tshark -r $out/annotated.pcapng -Y 'genesys.genesys_only'"
echo "  tshark -r $out/annotated.pcapng -Y 'genesys.trace.key == \"call-id\"'"
