#!/bin/sh
# Install the Debian packages wsarecv needs, if any are missing.
# Used by `make test`, `make demo` and .ci/run.  Needs root or sudo only
# when something is actually missing.
set -e
# python3: the UDP_GRO spec sends with UDP_SEGMENT through it (wsarecv has
# no send side for GSO); without it that test reports itself pending.
# lua-argparse: udpdump's command line.
# lua-luv, lua-cqueues, lua-socket: the loop adapters' specs run against
# Debian's own builds of the libraries users run wsarecv inside.
# liburing-dev: the io_uring engine (Linux).
PKGS="gcc make pkg-config lua5.4 liblua5.4-dev libuv1-dev liburing-dev lua-busted luarocks iproute2 python3 lua-argparse lua-luv lua-cqueues lua-socket"
[ -n "$WSARECV_EXTRA_PKGS" ] && PKGS="$PKGS $WSARECV_EXTRA_PKGS"

missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "deps: missing packages:$missing (run as root or install sudo)" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
