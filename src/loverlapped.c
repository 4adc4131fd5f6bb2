/*
** loverlapped.c -- wsarecv.overlapped, the WSAOVERLAPPED of a receive.
**
** Exports: overlapped (constructor); read-only fields pending, bytes,
**          flags, error; the free field context; __gc, __tostring.
**          For the other binding files: lwr_checkov, lwr_newov,
**          lwr_anchor, lwr_unanchor, lwr_event_hook.
**
** An overlapped object is reusable: post it, wait for it, post it again.
** While its operation is pending, or its routine is waiting to run, it is
** anchored in the registry (one slot, reused), so neither it nor the
** buffers it pins can be collected under the kernel's feet.
*/
#include <string.h>

#include "lwsarecv.h"

lwr_ov *lwr_checkov(lua_State *L, int idx) {
  return (lwr_ov *)lwr_checktype(L, idx, LWR_T_OV);
}

lwr_ov *lwr_newov(lua_State *L, lwr_ctx *c) {
  lwr_ov *o = (lwr_ov *)lua_newuserdatauv(L, sizeof *o, UV_COUNT);
  o->h.tag = LWR_TAG(LWR_T_OV);
  wr_overlapped_init(&o->ov);
  o->ctx = c;
  o->ref = LUA_NOREF;
  o->npins = 0;
  luaL_setmetatable(L, LWR_OV);
  return o;
}

/*
** Anchor the object while its operation is outstanding.  An object its own
** routine reposts is still anchored (see lwr_routine): nothing to do, so
** the steady state of a reposting receiver costs no registry traffic.
*/
void lwr_anchor(lua_State *L, lwr_ov *o, int idx) {
  if (o->ref != LUA_NOREF) return;
  lua_pushvalue(L, idx);
  o->ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

void lwr_unanchor(lua_State *L, lwr_ov *o) {
  if (o->ref != LUA_NOREF) {
    luaL_unref(L, LUA_REGISTRYINDEX, o->ref);
    o->ref = LUA_NOREF;
  }
}

/*
** The core signalled an operation that has no routine.  Called from inside
** libuv's poll phase: registry work only, on the main thread's stack.
*/
void lwr_event_hook(wr_overlapped *ov, void *data) {
  lwr_ctx *c = (lwr_ctx *)data;
  lwr_unanchor(c->main, LWR_OV_OF(ov));
}

/*** wsarecv.overlapped() -> a fresh WSAOVERLAPPED */
static int l_overlapped(lua_State *L) {
  lwr_newov(L, lwr_ctx_get(L));
  return 1;
}

/* ov.field: one comparison per field on the hot path (ov.context) */
static int l_index(lua_State *L) {
  lwr_ov *o = lwr_checkov(L, 1);
  const char *k = lua_tostring(L, 2);
  int done = o->ov.state == WR_OV_DONE;
  if (k == NULL) {
    lua_pushnil(L);
  } else if (k[0] == 'c' && strcmp(k, "context") == 0) {
    lua_getiuservalue(L, 1, UV_CONTEXT);
  } else if (k[0] == 'b' && strcmp(k, "bytes") == 0) {
    if (done) lua_pushinteger(L, (lua_Integer)o->ov.bytes);
    else lua_pushnil(L);
  } else if (k[0] == 'p' && strcmp(k, "pending") == 0) {
    lua_pushboolean(L, o->ov.state == WR_OV_PENDING);
  } else if (k[0] == 'f' && strcmp(k, "flags") == 0) {
    if (done) lua_pushinteger(L, (lua_Integer)o->ov.flags);
    else lua_pushnil(L);
  } else if (k[0] == 'e' && strcmp(k, "error") == 0) {
    if (done && o->ov.error) lwr_push_error_name(L, o->ov.error);
    else lua_pushnil(L);
  } else {
    lua_pushnil(L);
  }
  return 1;
}

static int l_newindex(lua_State *L) {
  const char *k;
  lwr_checkov(L, 1);
  k = luaL_checkstring(L, 2);
  if (strcmp(k, "context") != 0)
    return luaL_error(L, "overlapped field '%s' is read-only", k);
  lua_settop(L, 3);
  lua_setiuservalue(L, 1, UV_CONTEXT);
  return 0;
}

/*
** Collected: only possible when nothing is pending (a pending object is
** anchored), or while the state closes; then unlink it from the core.
*/
static int l_gc(lua_State *L) {
  lwr_ov *o = lwr_checkov(L, 1);
  wr_overlapped_forget(&o->ov);
  return 0;
}

static int l_tostring(lua_State *L) {
  lwr_ov *o = lwr_checkov(L, 1);
  static const char *const states[] = {"idle", "pending", "done"};
  lua_pushfstring(L, "wsarecv.overlapped (%s): %p", states[o->ov.state], o);
  return 1;
}

void lwr_open_overlapped(lua_State *L) {
  static const luaL_Reg meta[] = {
    {"__index", l_index},
    {"__newindex", l_newindex},
    {"__gc", l_gc},
    {"__tostring", l_tostring},
    {NULL, NULL}
  };
  lwr_register(L, LWR_OV, meta, NULL);
  lua_pushvalue(L, -1);
  lua_pushcclosure(L, l_overlapped, 1);
  lua_setfield(L, -3, "overlapped");
}
