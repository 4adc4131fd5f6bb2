#!/bin/sh
# busted for `wine build-win/lua.exe`, laid out where Lua for Windows
# looks by default (relative to lua.exe, so no LUA_PATH is needed):
#   build-win/lua/...      busted, luassert, say, penlight, cliargs,
#                          mediator, term, system, dkjson (Debian's own
#                          pure-Lua files, copied from /usr/share/lua/5.4)
#   build-win/lfs.dll      luafilesystem, from Debian's source
#   build-win/term/core.dll   lua-term's C part, from Debian's source
#   build-win/system/core.dll a stand-in (system_core.c)
#   build-win/busted       the runner (/usr/bin/busted)
# Needs lua.sh first.  Steps already done are skipped.
set -e
. "$(dirname "$0")/env.sh"
HERE="$ROOT/scripts/windows"
[ -f "$WIN/lua54.dll" ] || die "run scripts/windows/lua.sh first"
MOD="$WCC -O2 -shared -s -I$WIN/include -L$WIN/lib"

if [ ! -f "$WIN/lua/busted/runner.lua" ]; then
  say "copying busted's Lua tree"
  L=/usr/share/lua/5.4
  [ -f "$L/busted/runner.lua" ] || die "lua-busted is not installed"
  mkdir -p "$WIN/lua"
  for m in busted busted.lua luassert say pl cliargs cliargs.lua \
           mediator.lua term system dkjson.lua; do
    if [ -e "$L/$m" ]; then cp -rL "$L/$m" "$WIN/lua/"; fi
  done
  cp -L /usr/bin/busted "$WIN/busted"
fi

if [ ! -f "$WIN/lfs.dll" ]; then
  fetch_source lua-filesystem
  say "building lfs.dll"
  $MOD -o "$WIN/lfs.dll" "$WIN/src/lua-filesystem/src/lfs.c" -llua54
fi

# lua-term's debian.tar is missing from some mirrors: its upstream
# tarball (--tar-only) has all we build, core.c.
if [ ! -f "$WIN/term/core.dll" ]; then
  fetch_source lua-term --tar-only
  say "building term/core.dll"
  mkdir -p "$WIN/term"
  $MOD -o "$WIN/term/core.dll" "$WIN/src/lua-term/core.c" -llua54
fi

if [ ! -f "$WIN/system/core.dll" ] \
   || [ "$HERE/system_core.c" -nt "$WIN/system/core.dll" ]; then
  say "building system/core.dll"
  mkdir -p "$WIN/system"
  $MOD $WCFLAGS -o "$WIN/system/core.dll" "$HERE/system_core.c" -llua54
fi
