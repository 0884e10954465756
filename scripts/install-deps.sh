#!/usr/bin/env bash
# Installs the Debian packages alloctrace builds against, when they are missing.
#   libunwind-dev  stacks in the recorder
#   libzstd-dev    trace compression (recorder) and decompression (analyzer)
#   libdw-dev      symbols, file:line and inlined frames from DWARF (analyzer)
#   zlib1g-dev     gzip for pprof exports (analyzer)
#   libiberty-dev  Rust demangling (analyzer)
# and what the tests read the pictures and exports with:
#   chromium          renders the HTML report (console errors fail the test)
#   valgrind          ms_print reads the massif export
#   protobuf-compiler protoc --decode_raw reads the pprof export
#   golang-go         go tool pprof reads the pprof export
#   graphviz          dot renders the DOT drawings of chains and cycles
#   gdb               `alloctrace debug` runs it (the tests run it too)
set -euo pipefail
packages=(libunwind-dev libzstd-dev libdw-dev zlib1g-dev libiberty-dev chromium valgrind protobuf-compiler golang-go graphviz gdb)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
