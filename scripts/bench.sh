#!/usr/bin/env bash
# make bench: whole-process throughput of genesys-sip on a generated capture,
# reported as ratios against editcap -F pcapng and against the plain replay,
# all measured in this run; the same on a realistic mix (SIP with its RTP,
# phone numbers in half the SIP messages);
# the replay as tshark reads it through the installed extcap, against
# tshark -r; then the Go benchmarks with allocs/op.
# Benchmarks report; they do not gate CI.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=bin/genesys-sip
out=out/bench
packets=${BENCH_PACKETS:-500000}
runs=${BENCH_RUNS:-3}
mkdir -p "$out"
command -v editcap >/dev/null || { echo "make bench needs editcap: apt-get install -y wireshark-common" >&2; exit 1; }

in="$out/sample.pcap"
trace="$out/sample-trace.ndjson"
if [ ! -s "$in" ] || [ ! -s "$trace" ] || [ "$(cat "$out/packets" 2>/dev/null)" != "$packets" ]; then
  "$bin" sample --kind bulk --packets "$packets" --with-trace -o "$out" >/dev/null
  echo "$packets" >"$out/packets"
fi
size=$(stat -c %s "$in")

# best wall time of $runs runs, in seconds
best() {
  local b=""
  for _ in $(seq "$runs"); do
    local s e t
    s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N)
    t=$(echo "$e - $s" | bc -l)
    if [ -z "$b" ] || [ "$(echo "$t < $b" | bc -l)" = 1 ]; then b=$t; fi
  done
  echo "$b"
}
ratio() { echo "$1 / $2" | bc -l; }

echo "input: $in ($packets SIP packets, $((size / 1024 / 1024)) MiB; trace: one record per SIP message), best of $runs runs"
ref=$(best editcap -F pcapng "$in" "$out/editcap.pcapng")
replay=("$bin" capture --replay-file "$in" --replay-speed 0)
plain=$(best "${replay[@]}" --redact false --alert-codes "" -w "$out/plain.pcapng")
alerts=$(best "${replay[@]}" --redact false -w "$out/alerts.pcapng")
redacted=$(best "${replay[@]}" -w "$out/redacted.pcapng")
annotated=$(best "${replay[@]}" --redact false --alert-codes "" --trace-file "$trace" -w "$out/annotated.pcapng")
everything=$(best "${replay[@]}" --trace-file "$trace" -w "$out/everything.pcapng")

printf '%-52s %8s  %18s  %s\n' "run" "seconds" "throughput/editcap" "cost"
printf '%-52s %8.3f  %18s  %s\n' "editcap -F pcapng (reference)" "$ref" "1.00x" ""
row() { # name seconds base basename
  printf '%-52s %8.3f  %17.2fx  %+.0f%% vs %s\n' "$1" "$2" "$(ratio "$ref" "$2")" "$(echo "($2 / $3 - 1) * 100" | bc -l)" "$4"
}
printf '%-52s %8.3f  %17.2fx\n' "plain replay (--redact false --alert-codes '')" "$plain" "$(ratio "$ref" "$plain")"
row "+ decoding for alerts (--redact false)" "$alerts" "$plain" "plain"
row "+ redaction (the default)" "$redacted" "$alerts" "alerts"
row "annotation (--trace-file, no redaction, no alerts)" "$annotated" "$plain" "plain"
row "everything (--trace-file, redaction, alerts)" "$everything" "$redacted" "redaction"

# A realistic mix: one shared capture of a call with its RTP (7 SIP messages,
# 304 RTP packets) appended 2048 times, then 14,336 trunk SIP messages from
# the generated capture: that call's users are names, these carry phone
# numbers, new in every call, so redaction has numbers to replace. 4.4% of
# the packets are SIP, more than on a trunk (a one-minute call is some
# fifteen SIP messages among 6,000 RTP packets).
mix_src=${GENESYS_SIP_CAPTURES:-../shared/captures}/sipnab__invite-opus-bye_udp-full-call-with-rtp.pcap
if [ -r "$mix_src" ] && command -v mergecap >/dev/null; then
  mix="$out/mix-numbers.pcap"
  if [ ! -s "$mix" ]; then
    cp "$mix_src" "$out/mix-0.pcap"
    for i in $(seq 1 11); do mergecap -a -F pcap -w "$out/mix-$i.pcap" "$out/mix-$((i - 1)).pcap" "$out/mix-$((i - 1)).pcap"; done
    editcap -r "$in" "$out/mix-sip.pcap" 1-14336
    mergecap -a -F pcap -w "$mix" "$out/mix-11.pcap" "$out/mix-sip.pcap"
    rm -f "$out"/mix-[0-9]*.pcap "$out/mix-sip.pcap"
  fi
  mreplay=("$bin" capture --replay-file "$mix" --replay-speed 0)
  # Runs of a third of a second: more of them, for a stable best.
  saved_runs=$runs
  runs=${BENCH_MIX_RUNS:-7}
  mref=$(best editcap -F pcapng "$mix" "$out/mix-editcap.pcapng")
  mplain=$(best "${mreplay[@]}" --redact false --alert-codes "" -w "$out/mix-plain.pcapng")
  malerts=$(best "${mreplay[@]}" --redact false -w "$out/mix-alerts.pcapng")
  mredacted=$(best "${mreplay[@]}" -w "$out/mix-redacted.pcapng")
  runs=$saved_runs
  echo
  echo "realistic mix: $mix ($(capinfos -c -M "$mix" 2>/dev/null | awk '/Number of packets/ {print $NF}') packets, 4.4% SIP: one call with its RTP 2048 times, 14,336 trunk SIP messages with numbers), best of ${BENCH_MIX_RUNS:-7} runs"
  ref=$mref
  printf '%-52s %8.3f  %18s\n' "editcap -F pcapng (reference)" "$mref" "1.00x"
  printf '%-52s %8.3f  %17.2fx\n' "plain replay" "$mplain" "$(ratio "$mref" "$mplain")"
  row "+ decoding for alerts" "$malerts" "$mplain" "plain"
  row "+ redaction (the default)" "$mredacted" "$malerts" "alerts"
fi

# What an analyst waits for: the replay read by tshark through the
# installed extcap, every packet dissected with the Lua dissector loaded
# (installed by genesys-sip install, so it runs in both runs), on the first
# $e2e packets of the same capture. The annotated run includes loading the
# trace and the matching pass, which tshark waits for.
e2e=${BENCH_E2E_PACKETS:-100000}
if command -v tshark >/dev/null; then
  e2edir="$out/e2e"
  mkdir -p "$e2edir/home"
  if [ ! -s "$e2edir/sample.pcap" ] || [ "$(cat "$e2edir/packets" 2>/dev/null)" != "$e2e" ]; then
    "$bin" sample --kind bulk --packets "$e2e" --with-trace -o "$e2edir" >/dev/null
    echo "$e2e" >"$e2edir/packets"
  fi
  HOME="$PWD/$e2edir/home" XDG_CONFIG_HOME= "$bin" install --tshark "$(command -v tshark)" >/dev/null
  ts() { HOME="$PWD/$e2edir/home" XDG_CONFIG_HOME= tshark -i genesys-sip -o "extcap.genesys_sip.replayfile:$PWD/$e2edir/sample.pcap" \
    -o extcap.genesys_sip.replayspeed:0 "$@"; }
  trace_pref=(-o "extcap.genesys_sip.tracefile:$PWD/$e2edir/sample-trace.ndjson")
  tread=$(best tshark -r "$e2edir/sample.pcap")
  tplain=$(best ts -o extcap.genesys_sip.redact:false)
  tannot=$(best ts -o extcap.genesys_sip.redact:false "${trace_pref[@]}")
  tred=$(best ts)
  tall=$(best ts "${trace_pref[@]}")
  echo
  echo "replay read by tshark (tshark -i genesys-sip, every packet dissected, genesys.lua loaded), $e2e packets:"
  printf '%-52s %8.3f\n' "tshark -r of the capture (reference, no extcap)" "$tread"
  printf '%-52s %8.3f  %17.2fx of tshark -r\n' "replay (-o extcap.genesys_sip.redact:false)" "$tplain" "$(ratio "$tplain" "$tread")"
  erow() { printf '%-52s %8.3f  %18s  %+.0f%% vs %s\n' "$1" "$2" "" "$(echo "($2 / $3 - 1) * 100" | bc -l)" "$4"; }
  erow "+ annotation (-o extcap.genesys_sip.tracefile:...)" "$tannot" "$tplain" "replay"
  erow "replay with redaction (the default)" "$tred" "$tplain" "replay"
  erow "redaction and annotation" "$tall" "$tred" "redaction"
fi

echo
echo "Go benchmarks (ns/op, allocs/op):"
go test -run '^$' -bench . -benchmem -benchtime 2000x \
  ./internal/sip ./internal/decode ./internal/redact ./internal/tlsdec ./internal/correlate 2>/dev/null |
  grep -E '^(Benchmark|ok|FAIL)' || true
