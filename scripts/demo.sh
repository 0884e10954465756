#!/usr/bin/env bash
# Set-up and demo in one: installs what is missing, builds, traces a sample, prints its analysis.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
swift build -c release 2>&1 | tail -n 1
bin=$(swift build -c release --show-bin-path)
work=$(mktemp -d)
echo
echo "== alloctrace record -- samples marks"
"$bin/alloctrace" record -o "$work/marks.atrace" -- "$bin/samples" marks
echo
echo "== alloctrace dump (first lines)"
"$bin/alloctrace" dump "$work/marks.atrace" | head -n 25
echo "..."
"$bin/alloctrace" dump "$work/marks.atrace" | grep -E '^(t=.* mark |complete)'
echo
echo "The trace is in $work/marks.atrace; the tool is $bin/alloctrace."
