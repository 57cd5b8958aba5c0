#!/usr/bin/env bash
# Rewrites the argument table between the args markers of a README (default
# README.md) from the binary's own table (`genesys-sip args`):
#   scripts/readme-args.sh [BIN [README]]
# A copy can be given to see what `make readme` would change, e.g.
#   cp README.md /tmp/R.md && scripts/readme-args.sh bin/genesys-sip /tmp/R.md && diff README.md /tmp/R.md
set -euo pipefail
bin=${1:-bin/genesys-sip}
readme=${2:-README.md}
table=$("$bin" args)
python3 - "$table" "$readme" <<'PY'
import sys, re
table = sys.argv[1].rstrip("\n") + "\n"
path = sys.argv[2]
s = open(path).read()
if "<!-- args:begin -->\n" not in s or "<!-- args:end -->" not in s:
    sys.exit(path + ": no <!-- args:begin --> / <!-- args:end --> markers")
s = re.sub(r"(<!-- args:begin -->\n).*?(<!-- args:end -->)", lambda m: m.group(1) + table + m.group(2), s, flags=re.S)
open(path, "w").write(s)
PY
