#!/usr/bin/env bash
# Installs the Debian packages the project drives (tshark, sipp, libpcap-dev,
# Lua 5.2/5.4 to check the dissector on both Wireshark Lua versions, and the
# Wireshark Qt GUI with Xvfb, xdotool and ImageMagick for the GUI test)
# when they are missing and we are root; otherwise says what is missing.
set -euo pipefail
missing=()
command -v tshark  >/dev/null || missing+=(tshark)
command -v editcap >/dev/null || missing+=(wireshark-common)
command -v sipp    >/dev/null || missing+=(sip-tester)
[ -e /usr/include/pcap.h ] || [ -e /usr/include/pcap/pcap.h ] || missing+=(libpcap-dev)
command -v gcc     >/dev/null || missing+=(gcc)
command -v lua5.2  >/dev/null || missing+=(lua5.2)
command -v lua5.4  >/dev/null || missing+=(lua5.4)
command -v openssl >/dev/null || missing+=(openssl)
# The Wireshark GUI test (test/gui_test.go) and make screenshots.
command -v wireshark >/dev/null || missing+=(wireshark-qt)
command -v Xvfb    >/dev/null || missing+=(xvfb)
command -v xdotool >/dev/null || missing+=(xdotool)
command -v import  >/dev/null || missing+=(imagemagick)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # wireshark-common asks whether non-root users may capture; answer no.
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -q
  apt-get install -y -q "${missing[@]}"
else
  echo "missing: ${missing[*]} — install with: sudo apt-get install -y ${missing[*]}" >&2
  echo "(tests that need them skip locally and fail in CI)" >&2
fi
