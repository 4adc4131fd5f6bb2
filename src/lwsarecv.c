/*
** lwsarecv.c -- the wsarecv.core module, the binding's top floor: the
** per-state loop, the error table, the flags and the waits.
**
** Exports: luaopen_wsarecv_core; in the module: run, SleepEx,
**          WSAWaitForMultipleEvents, strerror, lasterror, interpose, errors,
**          MSG_* flags, INFINITE, MAX_PENDING, WSA_MAXIMUM_WAIT_EVENTS, and
**          from the other files buffer, overlapped, socket, wrap, msg,
**          CreateIoCompletionPort, and pollfd, events, timeout, ready,
**          wake, now.
**
** Routines run only inside the waits here, on the thread that called the
** wait, under lua_pcall: an error a routine raises stops the delivery,
** leaves the rest queued, and is raised again out of the wait
** (loverlapped.c holds that whole path).  Nothing below this file calls
** into it.
*/
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lbuffer.h"
#include "lmsg.h"
#include "loptions.h"
#include "loverlapped.h"
#include "lpoll.h"
#include "lport.h"
#include "lportwait.h"
#include "lrecv.h"
#include "lsend.h"
#include "lsocket.h"

/* =====================================================================
** The waits
** =================================================================== */

/***
Windows-style overlapped receive (WSARecv, WSARecvMsg) for Lua 5.4.
`require "wsarecv"` gives buffers, sockets, overlapped objects and msgs,
and receives whose completion routines run as Lua callbacks in alertable
waits (`run`, `SleepEx`, `WSAWaitForMultipleEvents`), or from another
library's loop through `pollfd`.  Failures from the network or the data
return `nil, name, code`; wrong argument types raise.  The topic
`reference` is the complete reference, with examples, and `loops` the
guide to event loops and coroutines; the modules wsarecv.luv,
wsarecv.socket and wsarecv.async have pages of their own.
@module wsarecv
*/

/***
Alertable: run the queued routines and let I/O progress.  `"default"`
waits until nothing is outstanding (no pending operation, no queued
routine); `"once"` runs the queued routines, or if there were none and
operations are pending waits for one I/O event and runs what it
completed; `"nowait"` polls I/O once without waiting and runs the
routines: the call an integrator makes from another library's loop.
Once wsarecv.async is loaded, it also resumes the async tasks that are
due.  An error a routine raised stops the delivery and is raised again
here, with the routine's traceback; the rest stay queued.
@function run
@tparam[opt="default"] string mode `"default"`, `"once"` or `"nowait"`
@treturn[1] bool true while operations are pending, routines queued or
async tasks left
@return[2] nil
@treturn[2] string `"WSANOTINITIALISED"` while the Lua state closes,
`"WSAEINTR"` when SIGINT (Ctrl-C) ended the wait (Linux; lua5.4 raises
`"interrupted!"` there instead)
@treturn[2] int 10093, 10004
@raise any other mode; a routine's error
*/
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
  if (more == WSAEINTR) return lwr_fail(L, WSAEINTR);
  lua_pushboolean(L, more);
  return 1;
}

/***
The engine that moves this state's I/O, and a way to choose it.  On Linux
`"io_uring"` has the kernel fill posted buffers while Lua computes, as
Windows does; `"poll"` moves data only inside wsarecv's calls (see "Linux
and Windows" in the README).  The environment variable `WSARECV_ENGINE`
chooses at `require`; unset, io_uring is used where the kernel allows it.
Windows has one engine, `"iocp"`.
@function engine
@tparam[opt] string name `"io_uring"` or `"poll"`: use it from now on
(only while no socket or port is open)
@treturn[1] string the engine in use: `"io_uring"`, `"poll"` or `"iocp"`
@return[2] nil
@treturn[2] string `"WSAEINVAL"`: sockets or ports are open;
`"WSAEOPNOTSUPP"`: this kernel (or a seccomp filter) refuses io_uring, or
the platform has no such engine
@treturn[2] int its code
@raise a name that is no engine's
*/
static int l_engine(lua_State *L) {
  static const char *const names[] = {"io_uring", "poll", "iocp", NULL};
  static const int engines[] = {WR_ENGINE_URING, WR_ENGINE_POLL,
                                WR_ENGINE_IOCP};
  lwr_ctx *c = lwr_ctx_get(L);
  if (c->loop == NULL) return lwr_fail(L, WSANOTINITIALISED);
  if (!lua_isnoneornil(L, 1)) {
    int r = wr_loop_set_engine(c->loop,
                               engines[luaL_checkoption(L, 1, NULL, names)]);
    if (r) return lwr_fail(L, r);
  }
  lua_pushstring(L, wr_engine_name(wr_loop_engine(c->loop)));
  return 1;
}

/***
Wait `ms` milliseconds while I/O progresses.  Alertable (`alertable`
true), it returns as soon as routines ran; `SleepEx(0, true)` runs the
routines that are ready and returns.
@function SleepEx
@tparam[opt] int ms the timeout; nil, -1 or 0xFFFFFFFF (`INFINITE`): none
@tparam[opt=false] bool alertable run routines
@treturn[1] int|string `0` when the time ran out, `"WAIT_IO_COMPLETION"`
when routines ran
@return[2] nil
@treturn[2] string `"WSAEINVAL"`: a timeout above 0xFFFFFFFE, or an
infinite wait nothing could end (no operation pending); `"WSAEINTR"`:
SIGINT ended it (as for `run`)
@treturn[2] int its code
@raise other negative values, fractions, NaN; a routine's error
*/
static int l_SleepEx(lua_State *L) {
  lwr_ctx *c = lwr_ctx_get(L);
  long ms;
  int bad = lwr_check_ms(L, 1, &ms);
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

/***
Wait until overlapped objects are signalled (their operations completed).
An object is signalled from its completion until it is posted again.
@function WSAWaitForMultipleEvents
@tparam overlapped|{overlapped,...} ovs one object, or an array of 1 to
`WSA_MAXIMUM_WAIT_EVENTS` (64)
@tparam[opt=false] bool waitall wait until all are signalled
@tparam[opt] int ms the timeout, as for `SleepEx`
@tparam[opt=false] bool alertable run routines (and return once some ran)
@treturn[1] int|string the 1-based index of the first signalled object
(`#ovs` with `waitall`), `"WSA_WAIT_TIMEOUT"`, or
`"WSA_WAIT_IO_COMPLETION"` when routines ran first
@return[2] nil
@treturn[2] string `"WSA_INVALID_PARAMETER"` (an empty or too long
array), `"WSAEINVAL"` (a too long timeout, or an infinite wait that could
never end), `"WSAEINTR"` (SIGINT, as for `run`)
@treturn[2] int its code
@raise an item that is not an overlapped object; a bad timeout; a
routine's error
*/
static int l_WSAWaitForMultipleEvents(lua_State *L) {
  lwr_ctx *c = lwr_ctx_get(L);
  wr_overlapped *ovs[WSA_MAXIMUM_WAIT_EVENTS];
  size_t n, i;
  int waitall = lua_toboolean(L, 2);
  long ms, r = 0;
  int bad;
  int alertable = lua_toboolean(L, 4);
  lua_State *saved;
  int e;
  if (lwr_testtype(L, 1, LWR_T_OV)) {
    n = 1;
    ovs[0] = lwr_ov_core((lwr_ov *)lua_touserdata(L, 1));  /* tested */
  } else {
    luaL_checktype(L, 1, LUA_TTABLE);
    n = (size_t)lua_rawlen(L, 1);
    if (n == 0 || n > WSA_MAXIMUM_WAIT_EVENTS)
      return lwr_fail(L, lwr_why(L, WSA_INVALID_PARAMETER, "an empty "
                                 "array, or more than "
                                 "WSA_MAXIMUM_WAIT_EVENTS (64) objects"));
    for (i = 0; i < n; i++) {
      lua_rawgeti(L, 1, (lua_Integer)i + 1);
      if (!lwr_testtype(L, -1, LWR_T_OV))
        return luaL_error(L, "bad argument #1 to 'WSAWaitForMultipleEvents' "
                          "(item %d is not an overlapped object)", (int)i + 1);
      ovs[i] = lwr_ov_core((lwr_ov *)lua_touserdata(L, -1));
      lua_pop(L, 1);
    }
  }
  bad = lwr_check_ms(L, 3, &ms);   /* after the raises: it notes a reason */
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

/***
The meaning of an error name or code, one line of English: what the code
means wherever it comes from.  Why a call failed, when a code has several
causes, is `lasterror`'s third result.
@function strerror
@tparam string|int name_or_code `"WSAEMSGSIZE"` or 10040
@treturn string the meaning, or `unknown error X`
*/
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

/***
The last failure a call of this Lua state returned (as `nil, name, code`),
and why: the specific reason wsarecv noted where it failed (`WSAEINVAL`,
for one, answers a busy object, a second bind, an unbound socket and a
wait that could never end), else `strerror`'s meaning of the code.  A
routine's calls count; successes and `WSA_IO_PENDING` leave it as it was.
@function lasterror
@treturn[1] string the error name, `"WSAEINVAL"`
@treturn[1] int its code, 10022
@treturn[1] string why: `"the socket is not bound: ..."`
@return[2] nil when no call has failed yet
*/
static int l_lasterror(lua_State *L) {
  lwr_ctx *c = lwr_ctx_get(L);
  const wr_error_info *e;
  if (c->last_code == 0) {
    lua_pushnil(L);
    return 1;
  }
  e = wr_error_by_code(c->last_code);
  lwr_push_error_name(L, (unsigned)c->last_code);
  lua_pushinteger(L, c->last_code);
  if (c->last_why) lua_pushstring(L, c->last_why);
  else if (e) lua_pushstring(L, e->message);
  else lua_pushfstring(L, "unknown error %d", c->last_code);
  return 3;
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
  lwr_free_orphans(c);
  return 0;
}

/***
The error table, both directions: each WSA error name to its code
(`errors.WSAEMSGSIZE` is 10040) and each code to its name.  The reference
lists every name, with when wsarecv reports it.
@table errors
*/
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

/***
`INFINITE`: -1, a wait without timeout (0xFFFFFFFF and nil mean the same).
@field INFINITE
*/

/***
`MAX_PENDING`: 4096, the most operations pending on one socket.
@field MAX_PENDING
*/

/***
`WSA_MAXIMUM_WAIT_EVENTS`: 64, the most objects one
`WSAWaitForMultipleEvents` takes.
@field WSA_MAXIMUM_WAIT_EVENTS
*/

/***
0x1, in: receive TCP urgent data (stream sockets); with send, send it.
@field MSG_OOB
*/

/***
0x2, in: look at the data without consuming it (nonoverlapped receives).
@field MSG_PEEK
*/

/***
0x4, in (sends): send without routing, to a directly connected network.
@field MSG_DONTROUTE
*/

/***
0x8, in: complete only when the buffers are full (stream sockets).
@field MSG_WAITALL
*/

/***
0x20, in: accepted, no effect.
@field MSG_PUSH_IMMEDIATE
*/

/***
0x100, out: a WSARecvMsg datagram did not fit its buffers.
@field MSG_TRUNC
*/

/***
0x200, out: control messages did not all fit.
@field MSG_CTRUNC
*/

/***
0x400, out: a WSARecvMsg datagram sent to a broadcast address.
@field MSG_BCAST
*/

/***
0x800, out: a WSARecvMsg datagram sent to a multicast address.
@field MSG_MCAST
*/

/***
0x8000, in: hand out a long datagram in pieces; out: more pieces follow.
@field MSG_PARTIAL
*/
static void set_constants(lua_State *L) {
  static const struct { const char *name; lua_Integer v; } k[] = {
    {"MSG_OOB", WR_MSG_OOB}, {"MSG_PEEK", WR_MSG_PEEK},
    {"MSG_DONTROUTE", WR_MSG_DONTROUTE}, {"MSG_WAITALL", WR_MSG_WAITALL},
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
  if (r == WSAEINVAL || r == WSAEOPNOTSUPP)
    luaL_error(L, "wsarecv: WSARECV_ENGINE=%s: %s", getenv("WSARECV_ENGINE"),
               r == WSAEINVAL ? "no such engine (io_uring or poll)"
                              : "this kernel refuses io_uring");
  if (r) luaL_error(L, "wsarecv: cannot start the loop (%d)", r);
  lua_pushvalue(L, -1);
  lua_setfield(L, LUA_REGISTRYINDEX, LWR_CTX_KEY);
  return c;
}

/*
** The one symbol the library exports: Lua looks it up by name.  The
** headers declare everything else hidden (WR_INTERNAL_BEGIN, wr.h), and a
** DLL with one dllexport exports nothing else.
*/
#ifdef _WIN32
#define LWR_EXPORT __declspec(dllexport)
#else
#define LWR_EXPORT __attribute__((visibility("default")))
#endif

LWR_EXPORT int luaopen_wsarecv_core(lua_State *L) {
  static const luaL_Reg funcs[] = {
    {"run", l_run},
    {"SleepEx", l_SleepEx},
    {"WSAWaitForMultipleEvents", l_WSAWaitForMultipleEvents},
    {"interpose", l_interpose},
    {"strerror", l_strerror},
    {"lasterror", l_lasterror},
    {"engine", l_engine},
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
  lwr_open_options(L);                 /* each adds to the socket's methods */
  lwr_open_recv(L);
  lwr_open_send(L);
  lwr_open_msg(L);
  lwr_open_poll(L);
  lwr_open_port(L);
  lwr_open_port_waits(L);              /* adds to the port's methods */
  set_errors(L);
  set_constants(L);
  lua_pop(L, 1);                                     /* context */
  return 1;
}
