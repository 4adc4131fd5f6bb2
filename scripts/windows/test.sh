#!/bin/sh
# The shared specs under Wine, against build-win/wsarecv/core.dll (make
# windows first; `make windows-test` does both):
#   sh scripts/windows/test.sh [busted args...]
# Specs tagged #linux (they need Linux: network namespaces, /proc, raw
# sockets, Linux-only options, unix datagram sockets, a perl or lua5.4
# child process, the luv/cqueues/LuaSocket adapters) or #wine (Wine is
# not Windows there; each says how) are excluded.  busted runs from the
# checkout (so require "spec.support.helpers" works) with --ignore-lua
# (.busted names lua5.4), and the module from build-win/ (--cpath).  Prints busted's summary and the time taken;
# exits with busted's status.  The wineserver is stopped either way.
# Spec files that cannot even load there (their #linux tags say so too):
# the loop adapters' libraries and LuaSocket have no Windows build here,
# pollfd is Linux-only (epoll), netns needs ip(8), ring (the io_uring
# engine's own rules) reads with LuaSocket.
set -e
. "$(dirname "$0")/env.sh"
[ -f "$WIN/wsarecv/core.dll" ] || die "no $WIN/wsarecv/core.dll: make windows"
cd "$ROOT"
start=$(date +%s)
rc=0
WIN_TIMEOUT=${WIN_TIMEOUT:-900} sh "$ROOT/scripts/windows/lua" "$WIN/busted" \
  --ignore-lua --cpath="build-win/?.dll" --exclude-tags=linux,wine \
  --exclude-pattern=loop_ --exclude-pattern=pollfd_ \
  --exclude-pattern=netns_ --exclude-pattern=ring_ "$@" spec || rc=$?
timeout 30 wineserver -k 2>/dev/null || true
say "specs under Wine: $(( $(date +%s) - start )) s, exit $rc"
exit $rc
