#!/usr/bin/env bash
# Set-up and demo in one: installs what is missing, builds, traces a sample, prints its analysis.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
echo "building (release)..."
swift build -c release 2>&1 | tail -n 1
bin=$(swift build -c release --show-bin-path)
# installs alloctrace by name: PREFIX/bin (PREFIX: /usr/local as root, else ~/.local)
prefix="${PREFIX:-$HOME/.local}"
[ -z "${PREFIX:-}" ] && [ "$(id -u)" -eq 0 ] && prefix=/usr/local
ALLOCTRACE_SKIP_BUILD=1 scripts/install.sh "$prefix"
tool="$prefix/bin/alloctrace"
work=$(mktemp -d)
trace="$work/marks.atrace"
show() { echo; echo "\$ $*"; "$@"; }
show "$tool" record -o "$trace" -- "$bin/samples" marks
show "$tool" summary "$trace"
show "$tool" marks "$trace"
show "$tool" types "$trace" --at after-leaves --limit 5
show "$tool" growth "$trace" --from after-nodes --to after-leaves --sites --limit 3
# a Python program at the Python level: memory_profiler's own example
py=/usr/bin/python3
[ -x "$py" ] || py=python3
show "$tool" record -o "$work/my_func.atrace" -- "$py" samples/python/my_func.py
show "$tool" lines "$work/my_func.atrace" samples/python/my_func.py --function my_func
echo
echo "The trace is $trace; the tool is $tool (see README.md for the other commands; scripts/install.sh --uninstall $prefix removes it)."
