#!/usr/bin/env bash
# Installs alloctrace under a prefix, or removes what it installed:
#   scripts/install.sh [PREFIX]               build (release) and install
#   scripts/install.sh --uninstall [PREFIX]   remove the files listed in the manifest
# PREFIX (or $PREFIX): /usr/local when run as root, else ~/.local. Installs
#   PREFIX/bin/alloctrace                     the command
#   PREFIX/lib/libAllocTracePreload.so        the recorder (the command looks in ../lib)
#   PREFIX/include/alloctrace.h               ALLOCTRACE_MARK for C and C++
#   PREFIX/share/alloctrace/python/alloctrace.py   alloctrace.mark for Python (record's PYTHONPATH)
#   PREFIX/share/alloctrace/alloctrace-gdb.py      the gdb commands of `alloctrace debug`
#   PREFIX/share/alloctrace/installed-files   the manifest --uninstall reads
set -euo pipefail
cd "$(dirname "$0")/.."
uninstall=0
if [ "${1:-}" = "--uninstall" ]; then uninstall=1; shift; fi
default_prefix="$HOME/.local"
[ "$(id -u)" -eq 0 ] && default_prefix=/usr/local
prefix="${1:-${PREFIX:-$default_prefix}}"
manifest="$prefix/share/alloctrace/installed-files"

if [ "$uninstall" -eq 1 ]; then
  if [ ! -f "$manifest" ]; then echo "install.sh: nothing installed under $prefix (no $manifest)" >&2; exit 1; fi
  while IFS= read -r f; do
    [ -n "$f" ] && rm -f -- "$f" && echo "removed $f"
  done < "$manifest"
  rm -f -- "$manifest"
  rmdir -- "$prefix/share/alloctrace/python" "$prefix/share/alloctrace" 2>/dev/null || true
  echo "alloctrace uninstalled from $prefix"
  exit 0
fi

# ALLOCTRACE_BIN_DIR: install these built products instead (the tests install a debug build)
bin="${ALLOCTRACE_BIN_DIR:-}"
if [ -z "$bin" ] && [ -z "${ALLOCTRACE_SKIP_BUILD:-}" ]; then
  echo "building (release)..."
  swift build -c release --product alloctrace 2>&1 | tail -n 1
  swift build -c release --product AllocTracePreload 2>&1 | tail -n 1
fi
[ -n "$bin" ] || bin=$(swift build -c release --show-bin-path)
mkdir -p "$prefix/bin" "$prefix/lib" "$prefix/include" "$prefix/share/alloctrace/python"
install -m 0755 "$bin/alloctrace" "$prefix/bin/alloctrace"
install -m 0755 "$bin/libAllocTracePreload.so" "$prefix/lib/libAllocTracePreload.so"
install -m 0644 include/alloctrace.h "$prefix/include/alloctrace.h"
install -m 0644 analyzer/AllocTraceCommands/Python/alloctrace.py "$prefix/share/alloctrace/python/alloctrace.py"
install -m 0644 analyzer/gdb/alloctrace-gdb.py "$prefix/share/alloctrace/alloctrace-gdb.py"
printf '%s\n' "$prefix/bin/alloctrace" "$prefix/lib/libAllocTracePreload.so" "$prefix/include/alloctrace.h" \
  "$prefix/share/alloctrace/python/alloctrace.py" "$prefix/share/alloctrace/alloctrace-gdb.py" > "$manifest"
echo "installed $("$prefix/bin/alloctrace" --version) in $prefix (uninstall: scripts/install.sh --uninstall $prefix)"
case ":$PATH:" in
  *":$prefix/bin:"*) ;;
  *) echo "note: $prefix/bin is not on PATH; add it (export PATH=\"$prefix/bin:\$PATH\") to run alloctrace by name" ;;
esac
