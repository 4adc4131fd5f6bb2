#!/bin/sh
# Prove the Windows harness: build probe.dll (probe.c) against
# build-win/lua54.dll, run its busted specs under Wine, print what Wine
# does at the corners the backend meets (observe.lua).  Exits with
# busted's status; the wineserver is stopped either way.
set -e
. "$(dirname "$0")/env.sh"
HERE="$ROOT/scripts/windows"

if [ ! -f "$WIN/probe.dll" ] || [ "$HERE/probe.c" -nt "$WIN/probe.dll" ]; then
  say "building probe.dll"
  $WCC $WCFLAGS -shared -s -I"$WIN/include" -o "$WIN/probe.dll" \
    "$HERE/probe.c" -L"$WIN/lib" -llua54 -lws2_32
fi

# --ignore-lua: the checkout's .busted names lua5.4, which busted would
# otherwise re-run itself under.
rc=0
for spec in probe_spec.lua overlapped_spec.lua; do
  sh "$HERE/lua" "$WIN/busted" --ignore-lua -o plainTerminal "$HERE/$spec" \
    || { [ $rc != 0 ] || rc=$?; }
done
sh "$HERE/lua" "$HERE/observe.lua" || { [ $rc != 0 ] || rc=$?; }
timeout 30 wineserver -k 2>/dev/null || true
exit $rc
