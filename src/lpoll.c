/*
** lpoll.c -- wsarecv inside another event loop: the descriptor to poll,
** the timeout, the count of waiting completions, a wake-up, the clock.
**
** Exports (module functions): pollfd, events, timeout, ready, wake, now.
**
** pollfd, events and timeout are cqueues' pollable protocol, so the module
** table itself can be handed to cqueues.poll: each function ignores its
** arguments (cqueues calls them as methods, the module as self).  The core
** does the work (wr_loop_pollfd and friends); nothing here makes a syscall.
*/
#include "lpoll.h"
#include "lwr_aux.h"

/*** wsarecv.pollfd() -> fd: readable whenever wsarecv has work */
static int l_pollfd(lua_State *L) {
  lwr_ctx *c = lwr_ctx_get(L);
  int fd, r;
  if (c->loop == NULL) return lwr_fail(L, WSANOTINITIALISED);
  if ((r = wr_loop_pollfd(c->loop, &fd)) != 0) return lwr_fail(L, r);
  lua_pushinteger(L, fd);
  return 1;
}

/*** wsarecv.events() -> "r" */
static int l_events(lua_State *L) {
  lua_pushliteral(L, "r");
  return 1;
}

/*** wsarecv.timeout() -> seconds until wsarecv must run again, or nil */
static int l_timeout(lua_State *L) {
  lwr_ctx *c = lwr_ctx_get(L);
  long ms;
  if (c->loop == NULL) return 0;
  ms = wr_loop_timeout(c->loop);
  if (ms < 0) lua_pushnil(L);
  else lua_pushnumber(L, (lua_Number)ms / 1000);
  return 1;
}

/*** wsarecv.ready() -> completions waiting for an alertable wait */
static int l_ready(lua_State *L) {
  lwr_ctx *c = lwr_ctx_get(L);
  lua_pushinteger(L, c->loop ? (lua_Integer)wr_loop_ready(c->loop) : 0);
  return 1;
}

/*** wsarecv.wake(): pollfd() readable until the next alertable wait */
static int l_wake(lua_State *L) {
  lwr_ctx *c = lwr_ctx_get(L);
  if (c->loop) wr_loop_wake(c->loop);
  return 0;
}

/*** wsarecv.now() -> seconds (a float) on a monotonic clock */
static int l_now(lua_State *L) {
  lua_pushnumber(L, (lua_Number)wr_now());
  return 1;
}

/* With the module and the context on the stack (module below). */
void lwr_open_poll(lua_State *L) {
  static const luaL_Reg funcs[] = {
    {"pollfd", l_pollfd},
    {"events", l_events},
    {"timeout", l_timeout},
    {"ready", l_ready},
    {"wake", l_wake},
    {"now", l_now},
    {NULL, NULL}
  };
  lua_pushvalue(L, -2);                              /* module */
  lua_pushvalue(L, -2);                              /* context: upvalue */
  luaL_setfuncs(L, funcs, 1);
  lua_pop(L, 1);
}
