#!/usr/bin/env bash
# make bench: whole-process throughput of genesys-sip against editcap on the
# same generated capture, reported as ratios measured in this run, then the
# Go benchmarks with allocs/op. Benchmarks report; they do not gate CI.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=bin/genesys-sip
out=out/bench
packets=${BENCH_PACKETS:-500000}
runs=${BENCH_RUNS:-3}
mkdir -p "$out"
command -v editcap >/dev/null || { echo "make bench needs editcap: apt-get install -y wireshark-common" >&2; exit 1; }

in="$out/bulk-$packets.pcap"
[ -s "$in" ] || "$bin" sample --kind bulk --packets "$packets" -o "$out" >/dev/null && mv -f "$out/sample.pcap" "$in" 2>/dev/null || true
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

echo "input: $in ($packets SIP packets, $((size / 1024 / 1024)) MiB), best of $runs runs each"
ref=$(best editcap -F pcapng "$in" "$out/editcap.pcapng")
printf '%-58s %8.3f s   1.00x (reference)\n' "editcap -F pcapng" "$ref"
report() { # name seconds
  local ratio; ratio=$(echo "$ref / $2" | bc -l)
  printf '%-58s %8.3f s   %.2fx editcap throughput\n' "$1" "$2" "$ratio"
}
t=$(best "$bin" capture --replay-file "$in" --replay-speed 0 -w "$out/genesys.pcapng")
report "genesys-sip capture --replay-speed 0" "$t"

echo
echo "Go benchmarks (ns/op, allocs/op):"
go test -run '^$' -bench . -benchmem -benchtime 2000x \
  ./internal/sip ./internal/decode ./internal/redact ./internal/tlsdec ./internal/correlate 2>/dev/null |
  grep -E '^(Benchmark|ok|FAIL)' || true
