#!/bin/sh
# Check the source rock as its users get it: build it (scripts/rock.sh),
# install it with luarocks into a fresh tree, and from another directory
# receive a datagram through the installed module, on loopback; its
# core.so exports luaopen_wsarecv_core alone (scripts/check-symbols.sh);
# the rock's directory holds documentation only (no development tool),
# and every relative link of its docs names an installed file
# (docs/check.lua --links).  Nothing is downloaded.  Prints one line, "rock: ok", and
# exits 0; otherwise the log, "rock: FAILED (what)", and exit 1.  (Used by
# .ci/run.)
#
#   sh scripts/rock-check.sh           install into a temporary --tree
#   sh scripts/rock-check.sh --local   (as root) also the README's install
#                                      commands, run as written: as root
#                                      (into a fresh /usr/local, in a mount
#                                      namespace of its own), and --local
#                                      as a throwaway user with the
#                                      README's line in ~/.profile; each
#                                      then used from / by that user
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

# The receive check: wsarecv.core must come from the tree given.
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

# receive through the rock installed in tree $1, with only that tree in
# the search path
receive() {
  (cd / && env "LUA_PATH=$1/share/lua/5.4/?.lua;$1/share/lua/5.4/?/init.lua" \
     "LUA_CPATH=$1/lib/lua/5.4/?.so" lua5.4 "$work/check.lua" "$1")
}

# The rock's own directory in tree $1 (install_dir) holds its rockspec,
# its rock_manifest and documentation only (markdown, HTML, or a LuaLS
# annotation file, which starts with ---@meta), the README among it in
# doc/ (where `luarocks doc` looks first), and every relative link of its
# docs leads to an installed file.
check_docs() {
  rockdir=$(luarocks --lua-version=5.4 --tree "$1" show --rock-dir wsarecv 2>>"$log") ||
    fail "luarocks show --rock-dir"
  echo "the rock's directory, $rockdir:" >>"$log"
  (cd "$rockdir" && find . -type f | sort) >>"$log"
  bad=""
  for f in $(cd "$rockdir" && find . -type f | sed 's|^\./||'); do
    case $f in
      rock_manifest|*.rockspec|*.md|*.html) ;;
      *.lua) [ "$(head -c 8 "$rockdir/$f")" = "---@meta" ] ||
               { echo "$f: Lua code, not documentation" >>"$log"; bad="files"; } ;;
      *) echo "$f: not documentation" >>"$log"; bad="files" ;;
    esac
  done
  [ -f "$rockdir/doc/README.md" ] || { echo "no doc/README.md" >>"$log"; bad="files"; }
  lua5.4 docs/check.lua --links "$rockdir" >>"$log" 2>&1 || bad="${bad:+$bad and }links"
  [ -z "$bad" ] || fail "the installed docs: $bad"
}

# the rockspec builds what the Makefile builds (sources.mk), every C file
# of src/ among it
lua5.4 scripts/check-sources.lua >>"$log" 2>&1 || fail "rockspec sources"

rock=$(sh scripts/rock.sh 2>>"$log") || fail "make rock"
echo "built $rock" >>"$log"

luarocks --lua-version=5.4 --tree "$work/tree" install "$top/$rock" >>"$log" 2>&1 ||
  fail "luarocks install --tree"
receive "$work/tree" >>"$log" 2>&1 || fail "receive through the --tree install"
# LuaRocks' own build exports luaopen_wsarecv_core alone, as make's does
sh scripts/check-symbols.sh "$work/tree/lib/lua/5.4/wsarecv/core.so" >>"$log" 2>&1 ||
  fail "the installed core.so's exports"
check_docs "$work/tree"

if [ "${1:-}" = "--local" ]; then
  [ "$(id -u)" = 0 ] || fail "--local needs root (it adds a throwaway user)"
  # the README's install lines, each one line of its own, run as written
  readme_line() {
    n=$(grep -c -E "$1" README.md)
    [ "$n" = 1 ] ||
      { echo "README.md: $n lines match $1" >>"$log"; fail "the README's install lines"; }
    line=$(grep -E "$1" README.md)
  }
  readme_line '^luarocks --lua-version=5\.4 install \./' && as_root=$line
  readme_line '^luarocks --lua-version=5\.4 install --local ' && as_user=$line
  readme_line '^export LUA_PATH_5_4=' && profile=$line
  readme_line '^lua5\.4 -e .*require "wsarecv"' && try=$line

  user=rockcheck$$
  useradd -m "$user" >>"$log" 2>&1 || { user=""; fail "useradd"; }
  home=$(getent passwd "$user" | cut -d: -f6)
  chmod 755 "$work" && chmod 644 "$work/check.lua"
  # what the user runs, in a login shell (which reads ~/.profile), in
  # directory $1
  as_user() {
    echo "$user:$1\$ $2" >>"$log"
    runuser -l "$user" -c "cd $1 && $2" >>"$log" 2>&1
  }

  # as root, into /usr/local: a fresh one, a tmpfs in a mount namespace
  # of this check's own, so that the machine's stays as it is
  mkdir "$work/root" && cp "$rock" "$work/root/"
  if unshare -m true 2>/dev/null; then
    echo "root:$work/root# $as_root" >>"$log"
    unshare -m sh -c 'mount -t tmpfs tmpfs /usr/local && cd "$1" && sh -c "$2" &&
                      runuser -l "$3" -c "cd / && $4" &&
                      runuser -l "$3" -c "cd / && lua5.4 $5/check.lua /usr/local"' \
      sh "$work/root" "$as_root" "$user" "$try" "$work" >>"$log" 2>&1 ||
      fail "the README's install as root, used from / by $user"
    system_wide=""
  else
    system_wide=" (no mount namespace here: the install as root was not tried)"
  fi

  # per user: --local, then the README's line in ~/.profile
  cp "$rock" "$home/" && chown "$user" "$home/$rock"
  as_user "$home" "$as_user" || fail "luarocks install --local as $user"
  echo "$profile" >>"$home/.profile"
  as_user / "$try" ||
    fail "lua5.4 from / as $user, --local install and the README's ~/.profile line"
  as_user / "lua5.4 $work/check.lua $home/.luarocks" ||
    fail "receive through the --local install"
  check_docs "$home/.luarocks"
fi
[ -n "${ROCK_CHECK_LOG:-}" ] && cat "$log"
echo "rock: ok${system_wide:-}"
