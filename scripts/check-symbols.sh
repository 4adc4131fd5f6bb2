#!/bin/sh
# wsarecv.core exports one symbol, luaopen_wsarecv_core, the one Lua looks
# up; every other function is internal (WR_INTERNAL_BEGIN in
# src/core/wr.h, LWR_EXPORT in src/lwsarecv.c).  This checks it:
#
#   sh scripts/check-symbols.sh            build/wsarecv/core.so and
#                                          build-win/wsarecv/core.dll,
#                                          built first (make, make windows)
#   sh scripts/check-symbols.sh LIB...     those libraries (.so or .dll)
#
# A .so: the dynamic symbols it defines (nm -D --defined-only); older GNU
# ld adds three of its own there, __bss_start, _edata and _end (the data
# segment's bounds, no code), which pass.  A .dll: its export table
# (x86_64-w64-mingw32-objdump -p).  Prints what each exports, then
# "symbols: ok"; otherwise "symbols: FAILED" and exit 1.  (A CI leg;
# scripts/rock-check.sh runs it on the installed rock's core.so.)
set -u
cd "$(dirname "$0")/.."
WANT=luaopen_wsarecv_core

# the names library $1 exports, one a line
exports() {
  case $1 in
    *.dll)
      x86_64-w64-mingw32-objdump -p "$1" |
        sed -n '/^\[Ordinal\/Name Pointer\] Table/,/^$/s/^[[:space:]]*\[ *[0-9]*\] //p' ;;
    *)
      nm -D --defined-only "$1" | awk '{ print $NF }' |
        grep -v -x -e __bss_start -e _edata -e _end ;;
  esac
}

if [ $# = 0 ]; then
  make --no-print-directory all >/dev/null && make --no-print-directory windows >/dev/null ||
    { echo "symbols: FAILED (the build)"; exit 1; }
  set -- build/wsarecv/core.so build-win/wsarecv/core.dll
fi

bad=0
for lib in "$@"; do
  [ -f "$lib" ] || { echo "$lib: no such file"; bad=1; continue; }
  got=$(exports "$lib") || { echo "$lib: cannot read its symbols"; bad=1; continue; }
  if [ "$got" = "$WANT" ]; then
    echo "$lib: exports $WANT only"
  else
    echo "$lib: exports $(echo "$got" | grep -c .) symbols, not $WANT alone:"
    echo "$got" | head -n 20 | sed 's/^/  /'
    bad=1
  fi
done
[ "$bad" = 0 ] && echo "symbols: ok" && exit 0
echo "symbols: FAILED"
exit 1
