/*
** cmsg_fuzz.c -- libFuzzer target: msg:control() over a control buffer
** that holds the fuzzer's bytes.
**
** Exports: LLVMFuzzerTestOneInput (libFuzzer's entry point).
**
** It goes through the real binding, the way Lua reaches the decoder: one
** Lua state with wsarecv.core loaded; per input a fresh msg whose control
** buffer is exactly the input's size and holds its bytes, with controlused
** set to that size (what a receive that filled the buffer leaves), then
** msg:control() called as a method.  Its tables are checked for what any
** control() result must satisfy.  ASan sees a read outside the buffer,
** UBSan an overflow; a walk that never ends is a libFuzzer timeout or
** out-of-memory.  `make fuzz-cmsg` builds and runs it.
*/
/* white box: the harness sets the msg's private controlused itself */
#define WR_CORE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lualib.h>

#include "lmsg.h"

int luaopen_wsarecv_core(lua_State *L);       /* the module's entry */

#define MAX_CONTROL (1 << 20)           /* wsarecv.msg's control limit */

static lua_State *L;

/* a broken rule is a finding: say which, and abort (libFuzzer keeps the
** input) */
#define check(ok) ((ok) ? (void)0 : fail(#ok, __LINE__))

static void fail(const char *what, int line) {
  fprintf(stderr, "cmsg_fuzz.c:%d: check failed: %s\n", line, what);
  abort();
}

/* a call that must not raise: a raise is a finding, with its message */
static void call(int nargs) {
  if (lua_pcall(L, nargs, 1, 0) != LUA_OK) {
    fprintf(stderr, "cmsg_fuzz.c: raised: %s\n", lua_tostring(L, -1));
    abort();
  }
}

static void setup(void) {
  L = luaL_newstate();
  check(L != NULL);
  luaL_openlibs(L);
  luaL_requiref(L, "wsarecv.core", luaopen_wsarecv_core, 0);
  lua_setglobal(L, "core");
}

/* A msg with a control buffer of size bytes, pushed, filled like a
** receive that used all of it would leave it. */
static void push_msg(const uint8_t *data, size_t size) {
  lwr_msg *mo;
  lua_getglobal(L, "core");
  lua_getfield(L, -1, "msg");
  lua_remove(L, -2);
  lua_createtable(L, 0, 1);
  lua_pushinteger(L, (lua_Integer)size);
  lua_setfield(L, -2, "control");
  call(1);
  mo = (lwr_msg *)lua_touserdata(L, -1);
  check(mo != NULL && lwr_msg_control(mo) != NULL &&
        lwr_buf_len(lwr_msg_control(mo)) == size);
  if (size) memcpy(lwr_buf_data(lwr_msg_control(mo)), data, size);
  lwr_msg_core(mo)->controlused = size;
}

/*
** One control-message table: a level and a type; a raw one's data is no
** longer than the input minus its header; a decoded timestamp's nsec is
** in range.
*/
static void check_table(size_t size) {
  int lt;
  check(lua_type(L, -1) == LUA_TTABLE);
  lua_getfield(L, -1, "level");
  lt = lua_type(L, -1);
  check(lt == LUA_TNUMBER || lt == LUA_TSTRING);
  lua_pop(L, 1);
  lua_getfield(L, -1, "type");
  check(lua_type(L, -1) == lt);
  lua_pop(L, 1);
  lua_getfield(L, -1, "data");
  if (lt == LUA_TNUMBER)
    check(lua_type(L, -1) == LUA_TSTRING &&
          lua_rawlen(L, -1) + CMSG_LEN(0) <= size);
  lua_pop(L, 1);
  lua_getfield(L, -1, "nsec");
  if (!lua_isnil(L, -1)) {
    lua_Integer ns = lua_tointeger(L, -1);
    check(ns >= 0 && ns < 1000000000);
  }
  lua_pop(L, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_Integer i, n;
  if (L == NULL) setup();
  if (size > MAX_CONTROL) return 0;
  push_msg(data, size);
  lua_getfield(L, -1, "control");
  lua_insert(L, -2);
  call(1);
  check(lua_type(L, -1) == LUA_TTABLE);
  n = (lua_Integer)lua_rawlen(L, -1);
  check((size_t)n <= size / CMSG_LEN(0));   /* each takes a header at least */
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, -1, i);
    check_table(size);
    lua_pop(L, 1);
  }
  lua_settop(L, 0);
  /* free what this input made: libFuzzer runs LeakSanitizer after every
  ** input that allocated more than it freed */
  lua_gc(L, LUA_GCCOLLECT);
  return 0;
}
