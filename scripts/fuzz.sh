#!/usr/bin/env bash
# Runs every fuzz target of the module for a bounded time each.
#
# Go's fuzzer can end a run with "context deadline exceeded" and no failing
# input when -fuzztime runs out while it minimises a newly interesting input:
# that is the time budget, not a bug found. Such a run is retried once; a
# real failure always writes its input under testdata/fuzz and fails.
set -euo pipefail
t=${1:-10s}
go=${GO:-go}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for pkg in $($go list ./...); do
  dir=$($go list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    for attempt in 1 2; do
      echo "fuzz $pkg $target ($t)"
      if $go test -run '^$' -fuzz "^${target}\$" -fuzztime "$t" "$pkg" >"$log" 2>&1; then
        break
      fi
      if [ "$attempt" = 1 ] && grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
        echo "  fuzzer timed out while minimising (no failing input); retrying once"
        continue
      fi
      tail -40 "$log"
      exit 1
    done
  done
done
