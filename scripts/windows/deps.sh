#!/bin/sh
# Install what the Windows build needs (mingw-w64 and Wine 8 from Debian)
# if missing, and create the private wine prefix build-win/wineprefix.
# Idempotent: a second run does nothing.  Needs root or sudo only when a
# package is missing.
set -e
. "$(dirname "$0")/env.sh"

# gcc-mingw-w64-x86-64-win32: the compiler with Win32 threads; the -posix
# twin (pulled in by the gcc-mingw-w64-x86-64 metapackage) adds nothing
# for C modules.  dpkg-dev, xz-utils: `apt-get source` unpacks with them.
# lua-busted: its Lua files are copied for lua.exe (busted.sh).
PKGS="gcc-mingw-w64-x86-64-win32 wine wine64 dpkg-dev xz-utils make lua-busted"

missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing="$missing $p"
done
if [ -n "$missing" ]; then
  say "installing$missing"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "missing:$missing (run as root)"
    SUDO=sudo
  fi
  $SUDO timeout 300 apt-get update -qq
  $SUDO timeout 600 apt-get install -y -qq --no-install-recommends \
    $missing >/dev/null
fi
command -v "$WCC" >/dev/null || die "$WCC not found after install"

# The prefix: wineboot -i once; system.reg marks it done.
if [ ! -f "$WINEPREFIX/system.reg" ]; then
  say "creating wine prefix $WINEPREFIX"
  mkdir -p "$WINEPREFIX"
  wine_run 120 wineboot -i </dev/null >/dev/null 2>&1 \
    || { rm -rf "$WINEPREFIX"; die "wineboot -i failed"; }
  timeout 60 wineserver -w || true
fi
