#!/usr/bin/env bash
# Rewrites the argument table between the args markers of README.md from
# the binary's own table (`genesys-sip args`).
set -euo pipefail
bin=${1:-bin/genesys-sip}
table=$("$bin" args)
python3 - "$table" <<'PY'
import sys, re
table = sys.argv[1].rstrip("\n") + "\n"
s = open("README.md").read()
s = re.sub(r"(<!-- args:begin -->\n).*?(<!-- args:end -->)", lambda m: m.group(1) + table + m.group(2), s, flags=re.S)
open("README.md", "w").write(s)
PY
