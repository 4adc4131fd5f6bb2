# Shared settings for the Windows build scripts (sourced, not run).
# Everything lives under build-win/ in the checkout: the wine prefix, the
# Lua for Windows build, busted's tree and the apt state used to fetch
# Debian sources.  Nothing outside it is changed except installed packages.

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
WIN="$ROOT/build-win"
MINGW=${MINGW:-x86_64-w64-mingw32}
WCC="$MINGW-gcc"
WCFLAGS="-O2 -std=gnu99 -Wall -Wextra"

# Wine: a private prefix, no debug chatter, no Mono/Gecko install
# prompts, no display.
export WINEPREFIX="${WINEPREFIX:-$WIN/wineprefix}"
export WINEDEBUG="${WINEDEBUG:--all}"
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}"
export WINEARCH=win64
unset DISPLAY WAYLAND_DISPLAY
export DEBIAN_FRONTEND=noninteractive

# Debian installs the 64-bit loader as wine64 (plain `wine` is a wrapper
# that picks it); use whichever exists.
WINE=$(command -v wine || command -v wine64 || echo wine)

say() { echo "windows: $*" >&2; }
die() { say "$*"; exit 1; }

# Every wine call is bounded: a hung wineserver must not hang CI.
wine_run() {
  t=$1; shift
  timeout -k 10 "$t" "$WINE" "$@"
}

# Debian source packages, fetched with a private sources list and apt
# state under build-win/apt: the system's own apt configuration is read
# but never changed.  The unpacked tree is build-win/src/<pkg>.
APT_DIR="$WIN/apt"
apt_private() {
  set -- -o Dir::Etc::SourceList="$APT_DIR/sources.list" \
         -o Dir::Etc::SourceParts=/dev/null \
         -o Dir::State="$APT_DIR/state" -o Dir::Cache="$APT_DIR/cache" \
         -o APT::Sandbox::User=root "$@"
  timeout 300 apt-get -qq "$@"
}

fetch_source() {
  pkg=$1; shift
  [ -d "$WIN/src/$pkg" ] && return 0
  if [ ! -f "$APT_DIR/state/updated" ]; then
    . /etc/os-release
    mkdir -p "$APT_DIR/state/lists/partial" "$APT_DIR/cache/archives/partial"
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]" \
      "${DEBIAN_MIRROR:-http://deb.debian.org/debian} $VERSION_CODENAME main" \
      > "$APT_DIR/sources.list"
    say "apt-get update (deb-src, private state in $APT_DIR)"
    apt_private update || die "apt-get update for sources failed"
    touch "$APT_DIR/state/updated"
  fi
  say "apt-get source $pkg"
  rm -rf "$WIN/src/.get" && mkdir -p "$WIN/src/.get"
  (cd "$WIN/src/.get" && apt_private source "$@" "$pkg" >/dev/null) \
    || die "apt-get source $pkg failed"
  # --tar-only leaves the upstream tarball packed
  for t in "$WIN"/src/.get/*.orig.tar.*; do
    [ -f "$t" ] && tar -xf "$t" -C "$WIN/src/.get"
  done
  dir=$(find "$WIN/src/.get" -mindepth 1 -maxdepth 1 -type d | head -n 1)
  [ -n "$dir" ] || die "apt-get source $pkg: nothing unpacked"
  mv "$dir" "$WIN/src/$pkg" && rm -rf "$WIN/src/.get"
}
