#!/bin/sh
# Build the source rock wsarecv-VERSION.src.rock from this checkout, with
# no network: what `luarocks pack wsarecv-VERSION.rockspec` makes after
# downloading the release archive.  `git archive` makes that archive
# (the rockspec's source.url file name, its tree under source.dir) from
# the tracked files as they are now, uncommitted edits included; zip puts
# it and the rockspec in the rock.  Prints the rock's path.  (make rock)
set -eu
cd "$(dirname "$0")/.."

spec=$(ls wsarecv-*.rockspec)
[ "$(echo "$spec" | wc -l)" = 1 ] || { echo "rock: more than one rockspec" >&2; exit 1; }
rock=${spec%.rockspec}.src.rock

# the archive's file name and top directory, as the rockspec says them
eval "$(lua5.4 - "$spec" <<'LUA'
local t = {}
assert(loadfile(arg[1], "t", t))()
print(("file=%q dir=%q"):format(t.source.url:match("[^/]+$"), t.source.dir))
LUA
)"

# the working tree as a commit (none when it is clean), without touching it
tree=$(git -c user.name=rock -c user.email=rock@invalid stash create)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git archive --format=tar.gz --prefix="$dir/" -o "$tmp/$file" "${tree:-HEAD}"
cp "$spec" "$tmp/"
(cd "$tmp" && zip -q -X rock.zip "$spec" "$file")
mv "$tmp/rock.zip" "$rock"
echo "$rock"
