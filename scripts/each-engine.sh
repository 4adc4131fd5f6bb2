#!/bin/sh
# Run a command once per Linux engine, WSARECV_ENGINE set to each in turn
# (the Makefile's test, asan-test, fuzz, fuzz-asan and soak targets).
#
#   sh scripts/each-engine.sh COMMAND [ARG...]
#
# ENGINES: the engines, in order (default "io_uring poll").
# REQUIRE_ENGINES: those that must run.  Before each pass a child lua5.4
# (with the caller's environment: LUA_CPATH, LD_PRELOAD...) loads wsarecv
# with WSARECV_ENGINE set and says which engine it got.  An engine the
# kernel refuses (old kernel, kernel.io_uring_disabled, a seccomp filter)
# is skipped, saying so, unless REQUIRE_ENGINES names it: then it fails.
# (.ci/run requires both.)
#
# Prints, before each pass, "== engine NAME: COMMAND", and at the end one
# line per engine: "engine NAME: passed", "engine NAME: FAILED (exit N)"
# or "engine NAME: skipped (why)".  Exits 0 when no pass failed and no
# required engine was skipped.
set -u
ENGINES=${ENGINES:-io_uring poll}
REQUIRE_ENGINES=${REQUIRE_ENGINES:-}
LUA=${LUA:-lua5.4}

status=0
results=""

required() {
  for r in $REQUIRE_ENGINES; do [ "$r" = "$1" ] && return 0; done
  return 1
}

for e in $ENGINES; do
  case $e in
    io_uring|poll) ;;
    *) echo "each-engine: no engine \"$e\" (io_uring or poll)" >&2; exit 2 ;;
  esac
  got=$(WSARECV_ENGINE=$e $LUA -e '
    local ok, w = pcall(require, "wsarecv")
    if not ok then io.write((tostring(w):gsub("\n.*", ""))) os.exit(1) end
    io.write(w.engine())' 2>/dev/null)
  if [ "$got" != "$e" ]; then
    case $got in
      poll|io_uring) why="WSARECV_ENGINE=$e loads the $got engine" ;;
      "") why="lua could not load wsarecv" ;;
      *) why=$got ;;
    esac
    if required "$e"; then
      echo "== engine $e: REQUIRED (REQUIRE_ENGINES=\"$REQUIRE_ENGINES\") but unavailable: $why"
      results="$results
engine $e: FAILED (required, unavailable: $why)"
      status=1
    else
      echo "== engine $e: SKIPPED, unavailable here: $why"
      results="$results
engine $e: skipped ($why)"
    fi
    continue
  fi
  echo "== engine $e: $*"
  WSARECV_ENGINE=$e "$@"
  rc=$?
  if [ "$rc" -eq 0 ]; then
    results="$results
engine $e: passed"
  else
    results="$results
engine $e: FAILED (exit $rc)"
    status=1
  fi
done

echo "$results" | sed '/^$/d'
exit $status
