/*
** lwsarecv.c -- the wsarecv.core module, the binding's top floor: the
** per-state loop, the error table, the flags and the waits.
**
** Exports: luaopen_wsarecv_core; in the module: run, SleepEx,
**          WSAWaitForMultipleEvents, strerror, interpose, errors, MSG_*
**          flags, INFINITE, MAX_PENDING, WSA_MAXIMUM_WAIT_EVENTS, and
**          (from the type files) buffer, overlapped, socket, wrap, msg.
**
** Routines run only inside the waits here, on the thread that called the
** wait, under lua_pcall: an error a routine raises stops the delivery,
** leaves the rest queued, and is raised again out of the wait
** (loverlapped.c holds that whole path).  Nothing below this file calls
** into it.
*/
#include <limits.h>
#include <string.h>

#include "lbuffer.h"
#include "lmsg.h"
#include "loverlapped.h"
#include "lpoll.h"
#include "lsocket.h"

/* =====================================================================
** The waits
** =================================================================== */

/* the longest finite timeout a DWORD holds (0xFFFFFFFF is INFINITE) */
#define MAX_TIMEOUT_MS 0xFFFFFFFE

/*
** A wait's timeout, the DWORD of milliseconds Windows takes: nil, -1 and
** 0xFFFFFFFF are INFINITE.  Other negative values are a programming
** mistake (raised); a longer timeout than a DWORD can hold is refused the
** way Windows refuses a bad parameter: WSAEINVAL is returned, for the
** caller to report once its other arguments are checked.  Else 0.
*/
static int check_ms(lua_State *L, int idx, long *out) {
  lua_Integer ms;
  int isint;
  *out = WR_INFINITE;
  if (lua_isnoneornil(L, idx)) return 0;
  ms = lua_tointegerx(L, idx, &isint);
  if (!isint) {
    /* 2^63, math.huge: too long, not ill-typed (NaN and 1.5 still raise) */
    if (lua_type(L, idx) == LUA_TNUMBER &&
        lua_tonumber(L, idx) > (lua_Number)MAX_TIMEOUT_MS)
      return WSAEINVAL;
    ms = luaL_checkinteger(L, idx);
  }
  luaL_argcheck(L, ms >= -1, idx, "milliseconds must be >= 0 (or -1/nil "
                "for INFINITE)");
  if (ms == -1 || ms == 0xFFFFFFFF) return 0;         /* INFINITE */
  if (ms > MAX_TIMEOUT_MS) return WSAEINVAL;
#if LONG_MAX < MAX_TIMEOUT_MS
  if (ms > LONG_MAX) ms = LONG_MAX;       /* a 32-bit long: ~24.8 days */
#endif
  *out = (long)ms;
  return 0;
}

/*** wsarecv.run([mode]) -> true while operations are outstanding */
static int l_run(lua_State *L) {
  static const char *const modes[] = {"default", "once", "nowait", NULL};
  static const int modev[] = {WR_RUN_DEFAULT, WR_RUN_ONCE, WR_RUN_NOWAIT};
  lwr_ctx *c = lwr_ctx_get(L);
  int mode = modev[luaL_checkoption(L, 1, "default", modes)];
  lua_State *saved;
  int more;
  if (c->loop == NULL) return lwr_fail(L, WSANOTINITIALISED);
  saved = lwr_wait_enter(c, L);
  more = wr_run(c->loop, mode);
  lwr_wait_leave(c, L, saved);
  lua_pushboolean(L, more);
  return 1;
}

/*** wsarecv.SleepEx(ms, alertable) -> 0 | "WAIT_IO_COMPLETION" */
static int l_SleepEx(lua_State *L) {
  lwr_ctx *c = lwr_ctx_get(L);
  long ms;
  int bad = check_ms(L, 1, &ms);
  int alertable = lua_toboolean(L, 2);
  lua_State *saved;
  unsigned r = 0;
  int e;
  if (bad) return lwr_fail(L, bad);
  if (c->loop == NULL) return lwr_fail(L, WSANOTINITIALISED);
  saved = lwr_wait_enter(c, L);
  e = wr_sleep_ex(c->loop, ms, alertable, &r);
  lwr_wait_leave(c, L, saved);
  if (e) return lwr_fail(L, e);
  if (r == WR_WAIT_IO_COMPLETION) lua_pushliteral(L, "WAIT_IO_COMPLETION");
  else lua_pushinteger(L, 0);
  return 1;
}

#ifndef WSA_MAXIMUM_WAIT_EVENTS        /* winsock2.h has it on Windows */
#define WSA_MAXIMUM_WAIT_EVENTS 64
#endif

/*
** wsarecv.WSAWaitForMultipleEvents(ovs, waitall, ms, alertable)
**   -> index | "WSA_WAIT_TIMEOUT" | "WSA_WAIT_IO_COMPLETION"
*/
static int l_WSAWaitForMultipleEvents(lua_State *L) {
  lwr_ctx *c = lwr_ctx_get(L);
  wr_overlapped *ovs[WSA_MAXIMUM_WAIT_EVENTS];
  size_t n, i;
  int waitall = lua_toboolean(L, 2);
  long ms, r = 0;
  int bad = check_ms(L, 3, &ms);
  int alertable = lua_toboolean(L, 4);
  lua_State *saved;
  int e;
  if (lwr_testtype(L, 1, LWR_T_OV)) {
    n = 1;
    ovs[0] = &((lwr_ov *)lua_touserdata(L, 1))->ov;  /* tested above */
  } else {
    luaL_checktype(L, 1, LUA_TTABLE);
    n = (size_t)lua_rawlen(L, 1);
    if (n == 0 || n > WSA_MAXIMUM_WAIT_EVENTS)
      return lwr_fail(L, WSA_INVALID_PARAMETER);
    for (i = 0; i < n; i++) {
      lua_rawgeti(L, 1, (lua_Integer)i + 1);
      if (!lwr_testtype(L, -1, LWR_T_OV))
        return luaL_error(L, "bad argument #1 to 'WSAWaitForMultipleEvents' "
                          "(item %d is not an overlapped object)", (int)i + 1);
      ovs[i] = &((lwr_ov *)lua_touserdata(L, -1))->ov;
      lua_pop(L, 1);
    }
  }
  if (bad) return lwr_fail(L, bad);
  if (c->loop == NULL) return lwr_fail(L, WSANOTINITIALISED);
  saved = lwr_wait_enter(c, L);
  e = wr_wait_for_multiple(c->loop, ovs, n, waitall, ms, alertable, &r);
  lwr_wait_leave(c, L, saved);
  if (e) return lwr_fail(L, e);
  if (r == WR_WAIT_TIMEOUT) lua_pushliteral(L, "WSA_WAIT_TIMEOUT");
  else if (r == WR_WAIT_IO_COMPLETION)
    lua_pushliteral(L, "WSA_WAIT_IO_COMPLETION");
  else lua_pushinteger(L, r - WR_WAIT_OBJECT_0 + 1);
  return 1;
}

/* =====================================================================
** Errors, and the seam of the Lua face
** =================================================================== */

/*** wsarecv.strerror(name | code) -> one-line meaning */
static int l_strerror(lua_State *L) {
  const wr_error_info *e;
  if (lua_type(L, 1) == LUA_TNUMBER)
    e = wr_error_by_code((int)luaL_checkinteger(L, 1));
  else
    e = wr_error_by_name(luaL_checkstring(L, 1));
  if (e) lua_pushstring(L, e->message);
  else lua_pushfstring(L, "unknown error %s", luaL_tolstring(L, 1, NULL));
  return 1;
}

/*
** wsarecv.core.interpose(type, name, fn) -> the method it replaces (or nil)
** Sets a method of a type that has a method table ("buffer", "socket"):
** the way the Lua face (lua/wsarecv.lua) extends the C types.
*/
static int l_interpose(lua_State *L) {
  static const char *const types[] = {"buffer", "socket", NULL};
  static const char *const tnames[] = {LWR_BUFFER, LWR_SOCKET};
  const char *tname = tnames[luaL_checkoption(L, 1, NULL, types)];
  luaL_checkstring(L, 2);
  luaL_checktype(L, 3, LUA_TFUNCTION);
  luaL_getmetatable(L, tname);
  lua_getfield(L, -1, "__index");
  lua_pushvalue(L, 2);
  lua_rawget(L, -2);                                 /* the previous one */
  lua_pushvalue(L, 2);
  lua_pushvalue(L, 3);
  lua_rawset(L, -4);
  return 1;
}

/* =====================================================================
** The context
** =================================================================== */

static int l_ctx_gc(lua_State *L) {
  lwr_ctx *c = (lwr_ctx *)lua_touserdata(L, 1);
  if (c->loop) {
    wr_loop_destroy(c->loop);
    c->loop = NULL;
  }
  return 0;
}

static void set_errors(lua_State *L) {
  size_t n, i;
  const wr_error_info *t = wr_error_table(&n);
  lua_createtable(L, (int)n, (int)n);
  for (i = 0; i < n; i++) {
    lua_pushinteger(L, t[i].code);
    lua_setfield(L, -2, t[i].name);
    lua_pushstring(L, t[i].name);
    lua_rawseti(L, -2, t[i].code);
  }
  /* the registry keeps the names alive: pushing one (in a completion
  ** routine's arguments) then finds it interned and allocates nothing */
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, "wsarecv.errors");
  lua_setfield(L, -3, "errors");
}

static void set_constants(lua_State *L) {
  static const struct { const char *name; lua_Integer v; } k[] = {
    {"MSG_OOB", WR_MSG_OOB}, {"MSG_PEEK", WR_MSG_PEEK},
    {"MSG_WAITALL", WR_MSG_WAITALL},
    {"MSG_PUSH_IMMEDIATE", WR_MSG_PUSH_IMMEDIATE},
    {"MSG_TRUNC", WR_MSG_TRUNC}, {"MSG_CTRUNC", WR_MSG_CTRUNC},
    {"MSG_BCAST", WR_MSG_BCAST}, {"MSG_MCAST", WR_MSG_MCAST},
    {"MSG_PARTIAL", WR_MSG_PARTIAL}, {"INFINITE", WR_INFINITE},
    {"MAX_PENDING", WR_MAX_PENDING},
    {"WSA_MAXIMUM_WAIT_EVENTS", WSA_MAXIMUM_WAIT_EVENTS},
    {NULL, 0}
  };
  int i;
  for (i = 0; k[i].name; i++) {
    lua_pushinteger(L, k[i].v);
    lua_setfield(L, -3, k[i].name);
  }
}

/* registry key of the context: one loop per Lua state, however often the
** module is loaded (busted, for one, reloads modules between files) */
#define LWR_CTX_KEY "wsarecv.context"

static lwr_ctx *context(lua_State *L) {
  lwr_ctx *c;
  int r;
  if (lua_getfield(L, LUA_REGISTRYINDEX, LWR_CTX_KEY) == LUA_TUSERDATA)
    return (lwr_ctx *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  c = (lwr_ctx *)lua_newuserdatauv(L, sizeof *c, 0);
  memset(c, 0, sizeof *c);
  c->loop = NULL;                    /* safe state first: __gc copes */
  c->L = NULL;
  lua_pushboolean(L, 0);
  c->err_ref = luaL_ref(L, LUA_REGISTRYINDEX);       /* the error's slot */
  lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
  c->main = lua_tothread(L, -1);
  lua_pop(L, 1);
  luaL_newmetatable(L, LWR_CTX);
  lua_pushcfunction(L, l_ctx_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_pushliteral(L, "WSA_IO_PENDING");
  c->pending_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  r = wr_loop_new(&c->loop, lwr_event_hook, c);
  if (r) luaL_error(L, "wsarecv: cannot start the loop (%d)", r);
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, LWR_CTX_KEY);
  return c;
}

int luaopen_wsarecv_core(lua_State *L) {
  static const luaL_Reg funcs[] = {
    {"run", l_run},
    {"SleepEx", l_SleepEx},
    {"WSAWaitForMultipleEvents", l_WSAWaitForMultipleEvents},
    {"interpose", l_interpose},
    {"strerror", l_strerror},
    {NULL, NULL}
  };
  lua_newtable(L);                                   /* module */
  context(L);                                        /* context */
  lua_pushvalue(L, -2);                              /* module */
  lua_pushvalue(L, -2);                              /* context: upvalue */
  luaL_setfuncs(L, funcs, 1);
  lua_pop(L, 1);
  lwr_open_buffer(L);
  lwr_open_overlapped(L);
  lwr_open_socket(L);
  lwr_open_msg(L);
  lwr_open_poll(L);
  set_errors(L);
  set_constants(L);
  lua_pop(L, 1);                                     /* context */
  return 1;
}
