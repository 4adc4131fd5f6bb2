#!/bin/sh
# Check the source rock as its users get it: build it (scripts/rock.sh),
# install it with luarocks into a fresh tree, and from another directory
# receive a datagram through the installed module, on loopback.  Nothing
# is downloaded.  Prints one line, "rock: ok", and exits 0; otherwise the
# log, "rock: FAILED (what)", and exit 1.  (Used by .ci/run.)
#
#   sh scripts/rock-check.sh           install into a temporary --tree
#   sh scripts/rock-check.sh --local   (as root) also as a throwaway user
#                                      with luarocks --local; removed after
set -u
cd "$(dirname "$0")/.."
top=$PWD
work=$(mktemp -d)
user=""
cleanup() {
  [ -n "$user" ] && userdel -r "$user" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
log=$work/log
fail() { cat "$log"; echo "rock: FAILED ($1)"; exit 1; }

# The receive check, run with only the installed tree in the search path.
cat >"$work/check.lua" <<'LUA'
local tree = arg[1]
local w = require "wsarecv"
local where = package.searchpath("wsarecv.core", package.cpath)
assert(where and where:sub(1, #tree) == tree, "wsarecv.core from " .. tostring(where))
local s = assert(w.socket("inet", "dgram"))
assert(s:bind("127.0.0.1", 0) == 0)
local _, port = s:getsockname()
local b = w.buffer(16)
local got
assert(select(2, s:WSARecv(b, 0, nil, function(err, n) got = err or n end)) == "WSA_IO_PENDING")
assert(w.socket("inet", "dgram"):sendto("ping", "127.0.0.1", port) == 4)
assert(w.SleepEx(2000, true) == "WAIT_IO_COMPLETION", "no completion")
assert(got == 4 and b:sub(1, 4) == "ping", tostring(got))
print(w._VERSION .. " from " .. where)
LUA

# receive through the rock installed in tree $1 (as user $2, if given)
receive() {
  paths="LUA_PATH=$1/share/lua/5.4/?.lua;$1/share/lua/5.4/?/init.lua LUA_CPATH=$1/lib/lua/5.4/?.so"
  if [ -n "${2:-}" ]; then
    (cd / && runuser -u "$2" -- env $paths lua5.4 "$work/check.lua" "$1")
  else
    (cd / && env $paths lua5.4 "$work/check.lua" "$1")
  fi
}

# every C file of src/ is built by the rockspec (a new file must be listed)
for c in $(cd src && find . -name '*.c' | sed 's|^\./|src/|'); do
  grep -q "\"$c\"" wsarecv-*.rockspec || { echo "$c is not in the rockspec" >>"$log"; fail "rockspec sources"; }
done

rock=$(sh scripts/rock.sh 2>>"$log") || fail "make rock"
echo "built $rock" >>"$log"

luarocks --lua-version=5.4 --tree "$work/tree" install "$top/$rock" >>"$log" 2>&1 ||
  fail "luarocks install --tree"
receive "$work/tree" >>"$log" 2>&1 || fail "receive through the --tree install"

if [ "${1:-}" = "--local" ]; then
  [ "$(id -u)" = 0 ] || fail "--local needs root (it adds a throwaway user)"
  user=rockcheck$$
  useradd -m "$user" >>"$log" 2>&1 || { user=""; fail "useradd"; }
  home=$(getent passwd "$user" | cut -d: -f6)
  cp "$rock" "$home/" && chown "$user" "$home/$rock"
  chmod 755 "$work" && chmod 644 "$work/check.lua"
  (cd "$home" && runuser -u "$user" -- luarocks --lua-version=5.4 --local install "./$rock") \
    >>"$log" 2>&1 || fail "luarocks install --local as $user"
  receive "$home/.luarocks" "$user" >>"$log" 2>&1 || fail "receive through the --local install"
fi
[ -n "${ROCK_CHECK_LOG:-}" ] && cat "$log"
echo "rock: ok"
