#!/usr/bin/env bash
# Set-up and demo in one: installs what is missing, builds, traces a sample, prints its analysis.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
echo "building (release)..."
swift build -c release 2>&1 | tail -n 1
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
trace="$work/marks.atrace"
show() { echo; echo "\$ $*"; "$@"; }
show "$bin/alloctrace" record -o "$trace" -- "$bin/samples" marks
show "$bin/alloctrace" summary "$trace"
show "$bin/alloctrace" marks "$trace"
show "$bin/alloctrace" types "$trace" --at after-leaves --limit 5
show "$bin/alloctrace" growth "$trace" --from after-nodes --to after-leaves --sites --limit 3
echo
echo "The trace is $trace; the tool is $bin/alloctrace (see README.md for the other commands)."
