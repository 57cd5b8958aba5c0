#!/usr/bin/env bash
# make screenshots: the README's pictures, taken from the real Wireshark Qt
# under Xvfb (Debian wireshark-qt, xvfb, xdotool, imagemagick) on the demo
# sample, by test/screenshots_test.go. Writes docs/images/*.png.
set -euo pipefail
cd "$(dirname "$0")/.."
for tool in wireshark Xvfb xdotool import; do
  command -v "$tool" >/dev/null || { echo "make screenshots needs $tool: apt-get install -y wireshark-qt xvfb xdotool imagemagick" >&2; exit 1; }
done
mkdir -p docs/images
GENESYS_SIP_SCREENSHOTS="$PWD/docs/images" go test -count=1 -run '^TestScreenshots$' -v ./test/ | grep -E '^(---|ok|FAIL)|wrote '
