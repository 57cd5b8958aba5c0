#!/usr/bin/env bash
# Runs every fuzz target of the module for a bounded time each.
#
# The committed inputs under <pkg>/testdata/fuzz/<Target>/ are the seed
# corpus: plain `go test ./...` runs them deterministically, so a fixed bug
# stays fixed. This script only looks for new ones.
#
# A new failing input is never left in the tree: Go writes it under
# testdata/fuzz/<Target>/, where it would turn every later `go test ./...`
# red and leave `git status` dirty. It is moved to
# out/fuzz-crashers/<pkg>/<Target>/ (out/ is git-ignored), the script prints
# the command that promotes it to a committed seed, and fails.
#
# Go's fuzzer can end a run with "context deadline exceeded" and no failing
# input when -fuzztime runs out while it minimises a newly interesting input:
# that is the time budget, not a bug found. Such a run is retried once.
#
# Go minimises every newly interesting input for up to 60 s by default,
# longer than the whole budget of a target here, and shows no progress
# meanwhile (FuzzLoad spent 27 of 30 s so). FUZZMINIMIZETIME (2s) bounds it,
# so the time goes to fuzzing; a failing input is saved minimised or not.
#
# The fuzzer's cache of interesting inputs stays in Go's default place,
# $(go env GOCACHE)/fuzz, never in the tree.
set -euo pipefail
t=${1:-10s}
go=${GO:-go}
minimize=${FUZZMINIMIZETIME:-2s}
root=$(pwd)
crashers=$root/out/fuzz-crashers
log=$(mktemp)
before=$(mktemp)
after=$(mktemp)
trap 'rm -f "$log" "$before" "$after"' EXIT
# A -test.fuzzcachedir in GOFLAGS would put the cache wherever it points.
unset GOFLAGS

# corpus lists the files of a target's seed corpus directory, one a line.
corpus() {
  if [ -d "$1" ]; then
    find "$1" -maxdepth 1 -type f | sort
  fi
}

for pkg in $($go list ./...); do
  dir=$($go list -f '{{.Dir}}' "$pkg")
  rel=${dir#"$root"/}
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    seeds=$dir/testdata/fuzz/$target
    for attempt in 1 2; do
      echo "fuzz $pkg $target ($t)"
      corpus "$seeds" >"$before"
      if $go test -run '^$' -fuzz "^${target}\$" -fuzztime "$t" -fuzzminimizetime "$minimize" "$pkg" >"$log" 2>&1; then
        break
      fi
      corpus "$seeds" >"$after"
      new=$(comm -13 "$before" "$after")
      if [ "$attempt" = 1 ] && [ -z "$new" ] && grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
        echo "  fuzzer timed out while minimising (no failing input); retrying once"
        continue
      fi
      tail -40 "$log"
      if [ -n "$new" ]; then
        mkdir -p "$crashers/$rel/$target"
        echo
        for f in $new; do
          name=$(basename "$f")
          mv -f "$f" "$crashers/$rel/$target/$name"
          echo "fuzz.sh: new failing input for $target saved as out/fuzz-crashers/$rel/$target/$name"
          echo "  promote it to a committed seed (go test fails on it until the bug is fixed):"
          echo "  mkdir -p $rel/testdata/fuzz/$target && cp out/fuzz-crashers/$rel/$target/$name $rel/testdata/fuzz/$target/"
          echo "  then reproduce with: go test -run '^$target/$name\$' ./$rel/"
        done
        rmdir "$seeds" 2>/dev/null || true # created by Go for this input only
        rmdir "$dir/testdata/fuzz" "$dir/testdata" 2>/dev/null || true
      else
        echo "fuzz.sh: $target failed without writing a new input (a committed seed fails, or the build): see above"
      fi
      exit 1
    done
  done
done
