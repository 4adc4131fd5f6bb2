# wsarecv -- build, test, demo.  `make test` and `make demo` work on a fresh
# Debian machine: they install what is missing first (scripts/deps.sh).
#
# The targets, by who runs them:
#   using wsarecv     all (the default), test, demo, tour, rock
#   working on it     asan, asan-test, fuzz, fuzz-asan, fuzz-cmsg, docs,
#                     lint, soak, bench
#   Windows           windows, windows-test (windows-deps, windows-lua)
#   cleaning up       clean (what the build made), distclean (also the
#                     Windows toolchain and wine prefix in build-win/)

LUA      ?= lua5.4
CC       ?= gcc
PKGS     := lua5.4 libuv liburing
# the core's invariant asserts run in debug and sanitizer builds (asan)
CFLAGS   ?= -O2 -g -DNDEBUG
WARN     := -Wall -Wextra
# (core.so exports luaopen_wsarecv_core only, with no flag needed: the
# headers mark the rest hidden, see WR_INTERNAL_BEGIN in src/core/wr.h)
CFLAGS_ALL = -std=gnu99 -fPIC $(WARN) $(CFLAGS) \
             $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -Isrc
LDLIBS   := $(shell pkg-config --libs libuv liburing 2>/dev/null)

# ENGINE_SRC, LINUX_SRC, WINDOWS_SRC, BINDING_SRC: the one list of each part
include sources.mk
SRC      := $(ENGINE_SRC) $(LINUX_SRC) $(BINDING_SRC)
HDR      := $(wildcard src/core/*.h) $(wildcard src/*.h)

BUILD    ?= build
SO       := $(BUILD)/wsarecv/core.so

# run from the checkout: our module first, then whatever is installed
export LUA_PATH  := $(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;$(LUA_PATH);;
export LUA_CPATH := $(CURDIR)/$(BUILD)/?.so;$(LUA_CPATH);;

BUSTED   := $(LUA) /usr/bin/busted

# test, asan-test, fuzz, fuzz-asan and soak run once per Linux engine
# (WSARECV_ENGINE=io_uring, then =poll), each pass with its own result;
# an engine this kernel refuses is skipped, saying so, unless
# REQUIRE_ENGINES names it (.ci/run: both).  `make test ENGINES=poll`
# runs one.  See scripts/each-engine.sh.
ENGINES  ?= io_uring poll
REQUIRE_ENGINES ?=
EACH_ENGINE = ENGINES="$(ENGINES)" REQUIRE_ENGINES="$(REQUIRE_ENGINES)" \
              sh scripts/each-engine.sh

# ================================================== using wsarecv
# all: build/wsarecv/core.so; test: the specs; demo and tour: the
# examples; rock: a publishable wsarecv-VERSION.src.rock, built offline
# from this checkout (scripts/rock.sh; scripts/rock-check.sh also installs
# and uses it).
.PHONY: all deps test demo tour rock

# memfail, nouring: spec helpers (spec/support/), never installed
MEMFAIL  := $(BUILD)/memfail.so
NOURING  := $(BUILD)/nouring

all: $(SO) $(MEMFAIL) $(NOURING)

$(SO): $(SRC) $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -shared -o $@ $(SRC) $(LDLIBS)

$(MEMFAIL): spec/support/memfail.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -shared -o $@ spec/support/memfail.c

# (a plain program: it only installs a filter and execs the command)
$(NOURING): spec/support/nouring.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu99 $(WARN) -O2 -o $@ spec/support/nouring.c

deps:
	@sh scripts/deps.sh

test: deps
	@$(MAKE) --no-print-directory all
	@$(EACH_ENGINE) $(BUSTED) $(BUSTED_ARGS) spec

# the main job: udpdump receiving a built-in sender's traffic
demo: deps
	@$(MAKE) --no-print-directory all
	$(LUA) examples/udpdump.lua --selftest

# a guided tour of WSARecv's rules
tour: deps
	@$(MAKE) --no-print-directory all
	$(LUA) examples/demo.lua

rock: deps
	@sh scripts/rock.sh

# ================================================== working on wsarecv
# The sanitizer build, the fuzzers, the docs and lint checks, the soak
# and the bench.

# The same specs against a build with AddressSanitizer and UBSan.  The
# interpreter is not instrumented, so the ASan runtime is preloaded.
.PHONY: asan asan-test

asan:
	@$(MAKE) --no-print-directory all BUILD=build-asan \
	  CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"

asan-test: deps asan
	@LD_PRELOAD=$$($(CC) -print-file-name=libasan.so) \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:allocator_may_return_null=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	LUA_CPATH="$(CURDIR)/build-asan/?.so;;" WSARECV_BUILD=build-asan \
	$(EACH_ENGINE) $(BUSTED) $(BUSTED_ARGS) spec

# The two fuzzers, each bounded by SECONDS: set on make's command line
# (make fuzz-cmsg SECONDS=600) it bounds whichever runs; unset, fuzz and
# fuzz-asan run 30 s per engine, fuzz-cmsg 60 s (it parses control
# messages, which no engine touches: it runs once).
.PHONY: fuzz fuzz-asan fuzz-cmsg

fuzz fuzz-asan: SECONDS ?= 30
fuzz-cmsg: SECONDS ?= 60

# fuzz/api_fuzz.lua: a seeded, reproducible random API-sequence test (its
# header lists what it checks).  make fuzz [SECONDS=N] [SEED=N]
# [FUZZ_ARGS=..] (e.g. FUZZ_ARGS="--known-bugs on"); fuzz-asan runs it
# against the ASan+UBSan build the way asan-test runs the specs.  A hang
# is a failure: timeout ends the run (exit 124) a while after SECONDS.
FUZZ_RUN  = $(LUA) fuzz/api_fuzz.lua --seconds $(SECONDS) \
            $(if $(SEED),--seed $(SEED)) $(FUZZ_ARGS)
FUZZ_TIMEOUT = timeout -k 10 $$(( $(SECONDS) + 120 ))

fuzz: deps
	@$(MAKE) --no-print-directory all
	@$(EACH_ENGINE) $(FUZZ_TIMEOUT) $(FUZZ_RUN)

fuzz-asan: deps asan
	@LD_PRELOAD=$$($(CC) -print-file-name=libasan.so) \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	LUA_CPATH="$(CURDIR)/build-asan/?.so;;" WSARECV_BUILD=build-asan \
	$(EACH_ENGINE) $(FUZZ_TIMEOUT) $(FUZZ_RUN)

# libFuzzer over msg:control(): fuzz/cmsg_fuzz.c drives the real binding
# (the Linux sources linked in whole, so it may call internal functions),
# built with clang (ASan + UBSan) into build-fuzz/, and runs SECONDS on a
# scratch copy of the seed corpus (fuzz/corpus/cmsg/, made by
# fuzz/make_corpus.lua).  A finding (crash, timeout, out of memory) fails
# the target and leaves its input in build-fuzz/.
FUZZ_CC   ?= clang
FUZZ      := build-fuzz/cmsg_fuzz
FUZZ_WORK := build-fuzz/corpus-cmsg

$(FUZZ): fuzz/cmsg_fuzz.c $(SRC) $(HDR)
	@mkdir -p $(dir $@)
	@echo '*' > $(dir $@).gitignore
	$(FUZZ_CC) -std=gnu99 $(WARN) -g -O1 -fno-omit-frame-pointer \
	  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  $(shell pkg-config --cflags $(PKGS)) -Isrc -o $@ fuzz/cmsg_fuzz.c \
	  $(SRC) $(shell pkg-config --libs $(PKGS))

fuzz-cmsg:
	@WSARECV_EXTRA_PKGS="clang libclang-rt-dev" sh scripts/deps.sh
	@$(MAKE) --no-print-directory $(FUZZ)
	rm -rf $(FUZZ_WORK) && mkdir -p $(FUZZ_WORK)
	cp fuzz/corpus/cmsg/* $(FUZZ_WORK)/
	$(FUZZ) -max_total_time=$(SECONDS) -timeout=10 -rss_limit_mb=2048 \
	  -print_final_stats=1 -artifact_prefix=build-fuzz/ $(FUZZ_WORK)

# docs: the HTML reference in build/docs/ (LDoc over config.ld: the module's
# LDoc comments and docs/reference.md), after docs/check.lua has checked
# that the reference names everything the module has (and the markdown's
# links); then every link of the pages must resolve, none to the Lua 5.1
# manual (docs/check.lua --links).  lua-ldoc and lua-discount (markdown
# tables) are installed for this target only.
# lint: luacheck over the Lua code with .luacheckrc (lua-check is installed
# for this target only).
.PHONY: docs lint

docs:
	@WSARECV_EXTRA_PKGS="lua-ldoc lua-discount" sh scripts/deps.sh
	@$(MAKE) --no-print-directory all
	$(LUA) docs/check.lua
	@rm -rf $(BUILD)/docs
	ldoc --fatalwarnings -d $(BUILD)/docs .
	$(LUA) docs/check.lua --links $(BUILD)/docs

lint:
	@WSARECV_EXTRA_PKGS="lua-check" sh scripts/deps.sh
	luacheck lua examples spec fuzz scripts docs/meta.lua

# bench/soak: 1 GiB over TCP and 3 million UDP datagrams, every byte
# checked, after a self-test that the checks catch broken streams (about
# 65 s per engine; SOAK_ARGS="--quick": 64 MiB and 200k datagrams, under
# 10 s)
# bench/: wsarecv next to luv, LuaSocket and plain C, receiving and sending,
# each wsarecv receiver on both engines (poll, io_uring; one refused shows
# as "io_uring: unavailable"), about 9 minutes (see bench/README.md);
# BENCH_ARGS picks a subset: "--only send", "--only live --out /tmp/r.md",
# "--engine poll", "--quick"
.PHONY: soak bench

soak: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p $(BUILD)/soak
	$(CC) -std=gnu99 $(WARN) $(CFLAGS) -o $(BUILD)/soak/soak_send bench/soak/soak_send.c
	@$(EACH_ENGINE) sh -c '$(LUA) bench/soak/soak.lua --selftest \
	  --sender $(BUILD)/soak/soak_send && $(LUA) bench/soak/soak.lua \
	  --sender $(BUILD)/soak/soak_send $(SOAK_ARGS)'

bench:
	@WSARECV_EXTRA_PKGS="lua-luv lua-socket valgrind util-linux" sh scripts/deps.sh
	@$(MAKE) --no-print-directory all
	$(LUA) bench/run.lua $(BENCH_ARGS)
	$(LUA) bench/echo.lua $(BENCH_ARGS)

# ================================================== Windows
# mingw-w64 and Wine 8 from Debian (scripts/windows/), everything under
# build-win/.
# windows-deps: the packages and a private wine prefix (build-win/wineprefix);
# windows-lua: Lua 5.4 for Windows from Debian's source (build-win/lua.exe,
# lua54.dll, include/, lib/liblua54.a), busted and its C parts beside it,
# and lua/ copied to build-win/lua/;
# windows: wsarecv for Windows (the native backend, WINDOWS_SRC),
# cross-built into build-win/wsarecv/core.dll, the Lua files beside it in
# build-win/lua/, so that `scripts/windows/lua script.lua` (or `wine
# build-win/lua.exe script.lua`) can require "wsarecv" from any directory;
# windows-test: the specs under Wine, without those tagged #linux
# (Linux-only) or #wine (where Wine is not Windows); see
# scripts/windows/test.sh.
.PHONY: windows-deps windows-lua windows windows-test

WIN      := build-win
WCC      ?= x86_64-w64-mingw32-gcc
WIN_SRC  := $(ENGINE_SRC) $(WINDOWS_SRC) $(BINDING_SRC)
WIN_DLL  := $(WIN)/wsarecv/core.dll

windows-deps:
	@sh scripts/windows/deps.sh

windows-lua: windows-deps
	@sh scripts/windows/lua.sh
	@sh scripts/windows/busted.sh
	@cp -R lua/. $(WIN)/lua/

# (core.dll exports luaopen_wsarecv_core only: it alone is dllexport, and
# a DLL with a dllexport exports nothing else)
$(WIN_DLL): $(WIN_SRC) $(HDR) $(WIN)/lib/liblua54.a
	@mkdir -p $(dir $@)
	$(WCC) -std=gnu99 $(WARN) $(CFLAGS) -D_WIN32_WINNT=0x0600 -shared \
	  -I$(WIN)/include -Isrc -o $@ $(WIN_SRC) -L$(WIN)/lib -llua54 \
	  -lws2_32 -liphlpapi

$(WIN)/memfail.dll: spec/support/memfail.c $(WIN)/lib/liblua54.a
	$(WCC) -std=gnu99 $(WARN) $(CFLAGS) -shared -I$(WIN)/include -o $@ \
	  spec/support/memfail.c -L$(WIN)/lib -llua54

windows: windows-lua
	@$(MAKE) --no-print-directory $(WIN_DLL) $(WIN)/memfail.dll
	@cp -R lua/. $(WIN)/lua/
	@cp -L /usr/share/lua/5.4/argparse.lua $(WIN)/lua/ 2>/dev/null || true

windows-test: windows
	@sh scripts/windows/test.sh $(BUSTED_ARGS)

# ================================================== cleaning up
# clean: what building wsarecv made (build/, build-asan/, build-fuzz/,
# the Windows core.dll and the Lua files copied beside it);
# distclean: also the rest of build-win/ (Lua for Windows, busted, the
# Debian sources and the wine prefix: minutes to make again) and the
# source rocks `make rock` left.
.PHONY: clean distclean

clean:
	rm -rf build build-asan build-fuzz
	rm -rf $(WIN)/wsarecv $(WIN)/lua/wsarecv $(WIN)/lua/wsarecv.lua $(WIN)/memfail.dll

distclean: clean
	rm -rf $(WIN) wsarecv-*.src.rock
