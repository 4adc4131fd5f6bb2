/*
** lpoll.c -- wsarecv inside another event loop: the descriptor to poll,
** the timeout, the count of waiting completions, a wake-up, the clock.
**
** Exports: lwr_open_poll (lpoll.h), which adds the module functions
**          pollfd, events, timeout, ready, wake, now.
**
** pollfd, events and timeout are cqueues' pollable protocol, so the module
** table itself can be handed to cqueues.poll: each function ignores its
** arguments (cqueues calls them as methods, the module as self).  The core
** does the work (wr_loop_pollfd and friends); nothing here makes a syscall.
*/
#include "lpoll.h"
#include "lwr_aux.h"

/*** @module wsarecv */

/***
A descriptor readable whenever wsarecv has work: I/O to move, or
completions waiting for an alertable wait.  Level-triggered: after
`run("nowait")` returns, either `ready()` is 0 or it is readable again,
so nothing is stranded.  Also readable until the next run after a
receive posted outside a wait, a close, or `wake()`; and while receives
of a port's datagram socket, posted outside a wait, are held for the
next one (`timeout()` is then 0).  Made on the first
call, the same one after that, closed with the Lua state: do not close
or read it.  With `events` and `timeout`, cqueues' pollable protocol:
`cqueues.poll(wsarecv)` works.  Ignores its arguments.
@function pollfd
@treturn[1] int the descriptor
@return[2] nil
@treturn[2] string `"WSAEMFILE"` or `"WSAENOBUFS"` (the system refused a
descriptor), `"WSANOTINITIALISED"` (the Lua state closes)
@treturn[2] int its code
*/
static int l_pollfd(lua_State *L) {
  lwr_ctx *c = lwr_ctx_get(L);
  int fd, r;
  if (c->loop == NULL) return lwr_fail(L, WSANOTINITIALISED);
  if ((r = wr_loop_pollfd(c->loop, &fd)) != 0) return lwr_fail(L, r);
  lua_pushinteger(L, fd);
  return 1;
}

/***
The events to watch `pollfd()` for.  Ignores its arguments.
@function events
@treturn string `"r"`
*/
static int l_events(lua_State *L) {
  lua_pushliteral(L, "r");
  return 1;
}

/***
How long an integrator may wait on `pollfd()` before calling
`run("nowait")` anyway.  Once wsarecv.async is loaded it includes the
async timers.  Ignores its arguments.
@function timeout
@treturn number|nil seconds: 0 when there is work now (receives held for
the next wait included), the time until a timer is due, or nil when only
`pollfd()` can bring work
*/
static int l_timeout(lua_State *L) {
  lwr_ctx *c = lwr_ctx_get(L);
  long ms;
  if (c->loop == NULL) return 0;
  ms = wr_loop_timeout(c->loop);
  if (ms < 0) lua_pushnil(L);
  else lua_pushnumber(L, (lua_Number)ms / 1000);
  return 1;
}

/***
How many completions wait for an alertable wait (their routines have not
run).
@function ready
@treturn int the count
*/
static int l_ready(lua_State *L) {
  lwr_ctx *c = lwr_ctx_get(L);
  lua_pushinteger(L, c->loop ? (lua_Integer)wr_loop_ready(c->loop) : 0);
  return 1;
}

/***
Keep `pollfd()` readable, and `timeout()` 0, until the next alertable
wait: for work kept outside wsarecv that an integrator asleep on the
descriptor must notice (`async.spawn` calls it).  Does nothing before the
first `pollfd()`.
@function wake
*/
static int l_wake(lua_State *L) {
  lwr_ctx *c = lwr_ctx_get(L);
  if (c->loop) wr_loop_wake(c->loop);
  return 0;
}

/***
A monotonic clock, for timing (instead of `os.clock`, CPU time, or
`os.time`, whole seconds).
@function now
@treturn number seconds (a float) from an arbitrary start
*/
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
