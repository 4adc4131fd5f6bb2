/*
** lport.c -- wsarecv.port, the I/O completion port.
**
** Exports: CreateIoCompletionPort (constructor, and association); methods
**          close, pollfd, events, timeout, queued (beside them, lportwait.c
**          adds the waits and the posting); __gc, __close, __tostring.
**          For the module (lport.h): lwr_open_port; for lportwait.c too:
**          lwr_port_unhold_all; inline: (in lport.h) lwr_checkport,
**          lwr_checkport_any.
**
** The core keeps the queue (core/wr_port.c); the waits (lportwait.c)
** turn entries into Lua values.  An entry's key is the socket's: its user
** value SOCK_UVAL_KEY, reached through the object's socket (user value
** OV_UVAL_SOCKET), so a key is any Lua value and needs no registry slot;
** the core's key is a number per association that lets a batch from one
** socket look it up once.  A posted packet's key and object wait in the
** port's own table (user value PORT_UVAL_POSTED) until taken.  An
** operation's object is handed out anchored and stays so until the port's
** next wait (lwr_port_unhold_all, before each wait and at a close):
** taking an entry and reposting its object costs no registry traffic.
** Each port is made with its writing guard (user value PORT_UVAL_GUARD),
** which lportwait.c's waits close over the batch they write.
*/
#define LWR_HOME_PORT          /* the port's fields keep their names */
#include <stdlib.h>

#include "lport.h"
#include "lsocket.h"

/* What the last wait handed out may lose its anchor now. */
void lwr_port_unhold_all(lua_State *L, lwr_port *po) {
  size_t i;
  for (i = 0; i < po->nheld; i++) lwr_ov_unhold(L, po->held[i]);
  po->nheld = 0;
}

/*
** The port's writing guard, a userdata holding the port: a wait that
** writes a batch marks the port (po->writing++) and leaves the guard as a
** to-be-closed slot, whose closing, at the call's return or an error's
** unwinding, takes the mark back.  One per port, made with it.
*/
static int guard_close(lua_State *L) {
  lwr_port *po = *(lwr_port **)lua_touserdata(L, 1);
  po->writing--;
  return 0;
}

static void new_guard(lua_State *L, lwr_port *po) {
  lwr_port **g = (lwr_port **)lua_newuserdatauv(L, sizeof *g, 0);
  *g = po;
  luaL_setmetatable(L, LWR_PORT_GUARD);
}

/* Closed first, then given its port (liolib's newprefile). */
static lwr_port *newport(lua_State *L) {
  lwr_ctx *c = lwr_ctx_get(L);
  lwr_port *po = (lwr_port *)lua_newuserdatauv(L, sizeof *po, PORT_UVAL_COUNT);
  int r;
  po->h.tag = LWR_TAG(LWR_T_PORT);
  po->p = NULL;
  po->nkeys = 0;
  po->held = NULL;
  po->cap = po->nheld = 0;
  po->writing = 0;
  luaL_setmetatable(L, LWR_PORT);
  lua_newtable(L);
  lua_setiuservalue(L, -2, PORT_UVAL_POSTED);
  new_guard(L, po);
  lua_setiuservalue(L, -2, PORT_UVAL_GUARD);
  if ((r = wr_port_new(c->loop, &po->p)) != 0)
    luaL_error(L, "wsarecv: cannot make a port (%d)", r);
  return po;
}

/* =====================================================================
** CreateIoCompletionPort
** =================================================================== */

/*** @module wsarecv */

/***
Make an I/O completion port, or associate a socket with one.  With no
arguments it returns a new port.  With a socket, it associates the socket
with `port` (a new port when nil) under `key`, any Lua value, which each
entry of the socket's operations hands back; an overlapped operation
posted on the socket without a routine then completes to the port (one
whose object has `ov.noport` set is only signalled); one posted with a
routine fails with `WSAEINVAL`, as on Windows, and the routine never
runs.  A socket belongs to one port at most.
@function CreateIoCompletionPort
@tparam[opt] socket sock the socket to associate
@tparam[opt] port port the port (nil: a new one)
@param[opt] key the completion key, any value
@treturn[1] port the port
@return[2] nil
@treturn[2] string `WSA_INVALID_PARAMETER` (the socket belongs to a port
already), `WSAENOTSOCK` (closed socket), `ERROR_INVALID_HANDLE` (closed
port), `WSANOTINITIALISED` (the Lua state is closing)
@treturn[2] int its code
@raise sock not a socket; port neither a port nor nil
*/
static int l_CreateIoCompletionPort(lua_State *L) {
  wr_socket *s;
  lwr_port *po;
  int r;
  /* the state is closing (a finalizer calls): as every other call */
  if (lwr_ctx_get(L)->loop == NULL) return lwr_fail(L, WSANOTINITIALISED);
  if (lua_isnoneornil(L, 1)) {
    newport(L);
    return 1;
  }
  s = lwr_checksocket(L, 1);
  if (!lua_isnoneornil(L, 2)) lwr_checkport(L, 2);
  lua_settop(L, 3);
  if (lua_isnil(L, 2)) {
    newport(L);
    lua_replace(L, 2);
  }
  po = (lwr_port *)lua_touserdata(L, 2);
  r = wr_port_associate(po->p, s, (uintptr_t)po->nkeys + 1);
  if (r) return lwr_fail(L, r);
  po->nkeys++;
  lua_pushvalue(L, 3);
  lua_setiuservalue(L, 1, SOCK_UVAL_KEY);
  lua_settop(L, 2);
  return 1;
}

/* =====================================================================
** Closing, and the rest of the type
** =================================================================== */

/* Close: what is queued is dropped (the objects left signalled), the
** packets' values let go. */
static void close_port(lua_State *L, lwr_port *po) {
  lwr_port_unhold_all(L, po);
  wr_port_close(po->p);
  lua_newtable(L);
  lua_setiuservalue(L, 1, PORT_UVAL_POSTED);
}

/***
Close the port (again: nothing); also `__close`.  What is queued is
dropped, each operation's object left signalled, the posted packets'
values let go; later completions of its sockets are only signalled.
@function port:close
@treturn int 0
*/
static int l_close(lua_State *L) {
  lwr_port *po = lwr_checkport(L, 1);
  if (!wr_port_closed(po->p)) close_port(L, po);
  lua_pushinteger(L, 0);
  return 1;
}

static int l_gc(lua_State *L) {
  lwr_port *po = lwr_checkport_any(L, 1);
  if (po->p) {
    lwr_port_unhold_all(L, po);
    wr_port_release(po->p);
    po->p = NULL;
  }
  free(po->held);
  po->held = NULL;
  po->cap = 0;
  return 0;
}

static int l_tostring(lua_State *L) {
  lwr_port *po = lwr_checkport_any(L, 1);
  if (po->p == NULL || wr_port_closed(po->p))
    lua_pushfstring(L, "wsarecv.port (closed): %p", po);
  else
    lua_pushfstring(L, "wsarecv.port (%d queued): %p",
                    (int)wr_port_queued(po->p), po);
  return 1;
}

/***
The entries waiting in the port.
@function port:queued
@treturn int the count
*/
static int l_queued(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)wr_port_queued(lwr_checkport(L, 1)->p));
  return 1;
}

/***
A descriptor readable while the port has entries, wsarecv has I/O to
move, or a receive posted outside a wait is held for the next one, for
another loop to watch (then call `GetQueuedCompletionStatusEx(entries,
0)`).  Do not close it.
@function port:pollfd
@treturn[1] int the descriptor
@return[2] nil
@treturn[2] string `ERROR_INVALID_HANDLE` (closed port)
@treturn[2] int its code
*/
static int l_pollfd(lua_State *L) {
  lwr_port *po = lwr_checkport(L, 1);
  int fd, r = wr_port_pollfd(po->p, &fd);
  if (r) return lwr_fail(L, r);
  lua_pushinteger(L, fd);
  return 1;
}

/***
The events to watch `pollfd()` for.
@function port:events
@treturn string `"r"`
*/
static int l_events(lua_State *L) {
  lua_pushliteral(L, "r");
  return 1;
}

/***
How long another loop may wait on `pollfd()` before asking the port
anyway.
@function port:timeout
@treturn number|nil seconds: 0 when it has work now, or nil when only the
descriptor can bring work
*/
static int l_timeout(lua_State *L) {
  long ms = wr_port_timeout(lwr_checkport(L, 1)->p);
  if (ms < 0) lua_pushnil(L);
  else lua_pushnumber(L, (lua_Number)ms / 1000);
  return 1;
}

static const luaL_Reg meta[] = {
  {"__gc", l_gc},
  {"__close", l_close},
  {"__tostring", l_tostring},
  {NULL, NULL}
};

static const luaL_Reg methods[] = {
  {"close", l_close},
  {"queued", l_queued},
  {"pollfd", l_pollfd},
  {"events", l_events},
  {"timeout", l_timeout},
  {NULL, NULL}
};

/* The waits and the posting are added by lportwait.c
** (lwr_open_port_waits), which stands above this file: here, placeholders,
** so that the method table has its final size and order from the start. */
static const luaL_Reg added[] = {
  {"GetQueuedCompletionStatus", NULL}, {"PostQueuedCompletionStatus", NULL},
  {"GetQueuedCompletionStatusEx", NULL},
  {NULL, NULL}
};

static const luaL_Reg *const method_lists[] = {methods, added, NULL};

static const luaL_Reg ctors[] = {
  {"CreateIoCompletionPort", l_CreateIoCompletionPort},
  {NULL, NULL}
};

/* With the module and the context on the stack (module below). */
void lwr_open_port(lua_State *L) {
  lwr_register(L, LWR_PORT, meta, method_lists, ctors);
  luaL_newmetatable(L, LWR_PORT_GUARD);
  lua_pushcfunction(L, guard_close);
  lua_setfield(L, -2, "__close");
  lua_pop(L, 1);
}
