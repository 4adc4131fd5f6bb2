# wsarecv -- build, test, demo.  `make test` and `make demo` work on a fresh
# Debian machine: they install what is missing first (scripts/deps.sh).

LUA      ?= lua5.4
CC       ?= gcc
PKGS     := lua5.4 libuv
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra
CFLAGS_ALL = -std=gnu99 -fPIC $(WARN) $(CFLAGS) \
             $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -Isrc
LDLIBS   := $(shell pkg-config --libs libuv 2>/dev/null)

CORE_SRC := src/core/wr_core.c src/core/wr_sock.c src/core/wr_msg.c \
            src/core/wr_errors.c
BIND_SRC := src/lwsarecv.c src/lbuffer.c src/loverlapped.c src/lsocket.c \
            src/lmsg.c
SRC      := $(CORE_SRC) $(BIND_SRC)
HDR      := src/core/wr.h src/core/wr_int.h src/lwsarecv.h

BUILD    ?= build
SO       := $(BUILD)/wsarecv/core.so

# run from the checkout: our module first, then whatever is installed
export LUA_PATH  := $(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;$(LUA_PATH);;
export LUA_CPATH := $(CURDIR)/$(BUILD)/?.so;$(LUA_CPATH);;

BUSTED   := $(LUA) /usr/bin/busted

.PHONY: all deps test demo tour bench asan asan-test clean

all: $(SO)

$(SO): $(SRC) $(HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -shared -o $@ $(SRC) $(LDLIBS)

deps:
	@sh scripts/deps.sh

test: deps
	@$(MAKE) --no-print-directory all
	$(BUSTED) $(BUSTED_ARGS) spec

# the main job: udpdump receiving a built-in sender's traffic
demo: deps
	@$(MAKE) --no-print-directory all
	$(LUA) examples/udpdump.lua --selftest

# a guided tour of WSARecv's rules
tour: deps
	@$(MAKE) --no-print-directory all
	$(LUA) examples/demo.lua

# bench/: wsarecv next to luv, LuaSocket and plain C (see bench/README.md)
bench:
	@WSARECV_EXTRA_PKGS="lua-luv lua-socket valgrind util-linux" sh scripts/deps.sh
	@$(MAKE) --no-print-directory all
	$(LUA) bench/run.lua $(BENCH_ARGS)

# The same specs against a build with AddressSanitizer and UBSan.  The
# interpreter is not instrumented, so the ASan runtime is preloaded.
asan:
	@$(MAKE) --no-print-directory all BUILD=build-asan \
	  CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"

asan-test: deps asan
	LD_PRELOAD=$$($(CC) -print-file-name=libasan.so) \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	LUA_CPATH="$(CURDIR)/build-asan/?.so;;" WSARECV_BUILD=build-asan \
	$(BUSTED) $(BUSTED_ARGS) spec

clean:
	rm -rf build build-asan

# fuzz/api_fuzz.lua: a seeded, reproducible random API-sequence test (its
# header lists what it checks).  make fuzz SECONDS=N [SEED=N] [FUZZ_ARGS=..]
# (e.g. FUZZ_ARGS="--known-bugs on"); fuzz-asan runs it against the
# ASan+UBSan build the way asan-test runs the specs.  A hang is a failure:
# timeout ends the run (exit 124) a while after SECONDS.
.PHONY: fuzz fuzz-asan

SECONDS  ?= 30
FUZZ_RUN  = $(LUA) fuzz/api_fuzz.lua --seconds $(SECONDS) \
            $(if $(SEED),--seed $(SEED)) $(FUZZ_ARGS)
FUZZ_TIMEOUT = timeout -k 10 $$(( $(SECONDS) + 120 ))

fuzz: deps
	@$(MAKE) --no-print-directory all
	$(FUZZ_TIMEOUT) $(FUZZ_RUN)

fuzz-asan: deps asan
	$(FUZZ_TIMEOUT) env LD_PRELOAD=$$($(CC) -print-file-name=libasan.so) \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	LUA_CPATH="$(CURDIR)/build-asan/?.so;;" WSARECV_BUILD=build-asan \
	$(FUZZ_RUN)
