#!/bin/sh
# Cross-build Lua 5.4 for Windows from Debian's own lua5.4 source:
#   build-win/lua54.dll  build-win/lua.exe  build-win/luac.exe
#   build-win/include/   (lua.h luaconf.h lualib.h lauxlib.h lua.hpp)
#   build-win/lib/liblua54.a (import library for C modules)
# Steps already done are skipped.
set -e
. "$(dirname "$0")/env.sh"

[ -f "$WIN/lua.exe" ] && [ -f "$WIN/lua54.dll" ] && [ -f "$WIN/luac.exe" ] \
  && [ -f "$WIN/lib/liblua54.a" ] && exit 0

fetch_source lua5.4
S="$WIN/src/lua5.4/src"
O="$WIN/obj/lua"
mkdir -p "$O" "$WIN/include" "$WIN/lib"

# The library: every .c but the two front ends, exported from the DLL.
say "building lua54.dll"
objs=$(ls "$S"/*.c | grep -v -e '/lua\.c$' -e '/luac\.c$' \
  | sed "s|.*/\(.*\)\.c$|$O/\1.o|")
# two compilers at a time: the machine is shared
ls "$S"/*.c | grep -v -e '/lua\.c$' -e '/luac\.c$' | xargs -P 2 -I{} sh -c \
  "$WCC -O2 -DLUA_BUILD_AS_DLL -DLUA_COMPAT_5_3 -c -o \"$O/\$(basename {} .c).o\" {}"
$WCC -shared -s -o "$WIN/lua54.dll" $objs \
  -Wl,--out-implib,"$WIN/lib/liblua54.a"

# lua.exe links against the DLL, like the upstream mingw target.
$WCC -O2 -DLUA_BUILD_AS_DLL -s -o "$WIN/lua.exe" "$S/lua.c" \
  -L"$WIN/lib" -llua54
# luac.exe needs internals the DLL does not export: link it static.
$WCC -O2 -s -o "$WIN/luac.exe" "$S/luac.c" $objs

for h in lua.h luaconf.h lualib.h lauxlib.h lua.hpp; do
  cp "$S/$h" "$WIN/include/"
done
say "lua: $(ls "$WIN"/lua.exe "$WIN"/lua54.dll "$WIN"/luac.exe | xargs -n1 basename | tr '\n' ' ')"
