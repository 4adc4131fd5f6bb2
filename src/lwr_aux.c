/*
** lwr_aux.c -- the binding's ground floor: the helpers every other file of
** the binding uses (lwr_aux.h lists them).
**
** Exports: lwr_ctx_get, lwr_free_bytes, lwr_free_orphans, lwr_fail,
**          lwr_why, lwr_recv_fail, lwr_push_error_name, lwr_push_addr, lwr_checktype,
**          lwr_checkcstring, lwr_checkoption, lwr_checkint, lwr_check_ms,
**          lwr_nearest, lwr_inlist, lwr_nofield, lwr_register,
**          lwr_add_methods.
**
** It calls the core and Lua only: no other file of the binding, so any of
** them may use it without an arrow running back up.
*/
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lwr_aux.h"

lwr_ctx *lwr_ctx_get(lua_State *L) {
  return (lwr_ctx *)lua_touserdata(L, lua_upvalueindex(1));
}

struct lwr_orphan {
  void *p;
  struct lwr_orphan *next;
};

void lwr_free_bytes(lua_State *L, void *p, size_t len) {
  lwr_ctx *c = NULL;
  if (lua_getfield(L, LUA_REGISTRYINDEX, LWR_CTX_KEY) == LUA_TUSERDATA)
    c = (lwr_ctx *)lua_touserdata(L, -1);
  lua_pop(L, 1);
  if (c && c->loop && wr_loop_holds(c->loop, p, len)) {
    struct lwr_orphan *o = malloc(sizeof *o);
    if (o == NULL) return;    /* kept for good: never freed under the kernel */
    o->p = p;
    o->next = c->orphans;
    c->orphans = o;
    return;
  }
  free(p);
}

void lwr_free_orphans(lwr_ctx *c) {
  while (c->orphans) {
    struct lwr_orphan *o = c->orphans;
    c->orphans = o->next;
    free(o->p);
    free(o);
  }
}

/* =====================================================================
** Results
** =================================================================== */

void lwr_push_error_name(lua_State *L, unsigned code) {
  const wr_error_info *e = wr_error_by_code((int)code);
  if (e) lua_pushstring(L, e->name);
  else lua_pushfstring(L, "WSA_ERROR_%d", (int)code);
}

int lwr_why(lua_State *L, int code, const char *why) {
  lwr_ctx *c = lwr_ctx_get(L);
  if (c) {
    c->why_code = code;
    c->why = why;
  }
  return code;
}

/*
** The failure about to be returned becomes the state's last one; both
** notes are taken.  The core's comes first: it is always this call's (the
** core notes only what it returns), while a binding note can be left from
** a call that raised after making it.
*/
static void remember(lwr_ctx *c, int code) {
  const char *core = c->loop ? wr_loop_reason(c->loop, code) : NULL;
  c->last_why = core ? core : (c->why_code == code ? c->why : NULL);
  c->last_code = code;
  c->why = NULL;
  c->why_code = 0;
}

int lwr_fail(lua_State *L, int code) {
  lwr_ctx *c = lwr_ctx_get(L);
  if (c) remember(c, code);
  luaL_pushfail(L);
  lwr_push_error_name(L, (unsigned)code);
  lua_pushinteger(L, code);
  return 3;
}

/* Push the result of a failed or pending receive. */
int lwr_recv_fail(lua_State *L, int r, size_t bytes) {
  if (r == WSA_IO_PENDING) {         /* the common case: no lookups */
    lwr_ctx *c = lwr_ctx_get(L);
    lua_pushnil(L);
    lua_rawgeti(L, LUA_REGISTRYINDEX, c->pending_ref);
    lua_pushinteger(L, WSA_IO_PENDING);
    return 3;
  }
  lwr_fail(L, r);
  if (r == WSAEMSGSIZE || (bytes > 0 && r != WSA_IO_PENDING)) {
    /* the first part was placed: say how much (nothing is lost) */
    lua_pushinteger(L, (lua_Integer)bytes);
    return 4;
  }
  return 3;
}

/* Push addr and port (nil port for unix paths; "" for no address). */
void lwr_push_addr(lua_State *L, const struct sockaddr_storage *sa,
                   socklen_t len) {
  char text[128];
  int port;
  wr_addr_format((const struct sockaddr *)sa, len, text, sizeof text, &port);
  lua_pushstring(L, text);
  if (port >= 0) lua_pushinteger(L, port);
  else lua_pushnil(L);
}

/* =====================================================================
** The type check by tag (each type's own is in its header)
** =================================================================== */

static const char *const type_names[LWR_T_COUNT] = {
  LWR_BUFFER, LWR_SOCKET, LWR_OV, LWR_MSG, LWR_PORT
};

void *lwr_checktype(lua_State *L, int idx, int type) {
  void *p = lwr_testtype(L, idx, type);
  if (p == NULL) luaL_typeerror(L, idx, type_names[type]);
  return p;
}

/* =====================================================================
** A wait's timeout
** =================================================================== */

/* the longest finite timeout a DWORD holds (0xFFFFFFFF is INFINITE) */
#define MAX_TIMEOUT_MS 0xFFFFFFFE
#define WHY_TOO_LONG "a timeout above 0xFFFFFFFE ms (a DWORD; about 49.7 " \
  "days): use nil or -1 for INFINITE"

int lwr_check_ms(lua_State *L, int idx, long *out) {
  lua_Integer ms;
  int isint;
  *out = WR_INFINITE;
  if (lua_isnoneornil(L, idx)) return 0;
  ms = lua_tointegerx(L, idx, &isint);
  if (!isint) {
    /* 2^63, math.huge: too long, not ill-typed (NaN and 1.5 still raise) */
    if (lua_type(L, idx) == LUA_TNUMBER &&
        lua_tonumber(L, idx) > (lua_Number)MAX_TIMEOUT_MS)
      return lwr_why(L, WSAEINVAL, WHY_TOO_LONG);
    ms = luaL_checkinteger(L, idx);
  }
  luaL_argcheck(L, ms >= -1, idx, "milliseconds must be >= 0 (or -1/nil "
                "for INFINITE)");
  if (ms == -1 || ms == 0xFFFFFFFF) return 0;         /* INFINITE */
  if (ms > MAX_TIMEOUT_MS) return lwr_why(L, WSAEINVAL, WHY_TOO_LONG);
#if LONG_MAX < MAX_TIMEOUT_MS
  if (ms > LONG_MAX) ms = LONG_MAX;       /* a 32-bit long: ~24.8 days */
#endif
  *out = (long)ms;
  return 0;
}

/* =====================================================================
** Mistyped names
** =================================================================== */

#define NEAR_MAX 32        /* longer names have no near names */

/* Edits (insert, delete, change, swap two neighbours) from a to b, case
** aside; NEAR_MAX for anything long. */
static int distance(const char *a, const char *b) {
  int d[NEAR_MAX + 1][NEAR_MAX + 1];
  int la = (int)strlen(a), lb = (int)strlen(b), i, j;
  if (la >= NEAR_MAX || lb >= NEAR_MAX) return NEAR_MAX;
  for (i = 0; i <= la; i++) d[i][0] = i;
  for (j = 0; j <= lb; j++) d[0][j] = j;
  for (i = 1; i <= la; i++)
    for (j = 1; j <= lb; j++) {
      int same = tolower((unsigned char)a[i - 1]) ==
                 tolower((unsigned char)b[j - 1]);
      int v = d[i - 1][j - 1] + !same;
      if (d[i - 1][j] + 1 < v) v = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
          d[i - 2][j - 2] + 1 < v)
        v = d[i - 2][j - 2] + 1;
      d[i][j] = v;
    }
  return d[la][lb];
}

const char *lwr_nearest(const char *key, const char *const list[]) {
  const char *best = NULL;
  int bestd = NEAR_MAX, i;
  for (i = 0; list[i]; i++) {
    int d = distance(key, list[i]);
    /* one edit for a short name, two for a longer one */
    int most = strlen(list[i]) >= 6 ? 2 : 1;
    if (d <= most && d < bestd) {
      best = list[i];
      bestd = d;
    }
  }
  return best;
}

int lwr_inlist(const char *key, const char *const list[]) {
  int i;
  for (i = 0; list[i]; i++)
    if (strcmp(list[i], key) == 0) return 1;
  return 0;
}

int lwr_nofield(lua_State *L, const char *what, const char *key,
                const char *const list[]) {
  const char *guess = lwr_nearest(key, list);
  if (guess)
    return luaL_error(L, "%s has no field '%s'; did you mean '%s'?", what,
                      key, guess);
  return luaL_error(L, "%s has no field '%s'", what, key);
}

/* =====================================================================
** Registration
** =================================================================== */

/*
** t.k = v on a type with methods only: it has no fields, and a method
** replaced on one object would be replaced on all.  Upvalue 2: the type's
** short name.
*/
static int l_nonewindex(lua_State *L) {
  const char *what = lua_tostring(L, lua_upvalueindex(2));
  const char *k = lua_tostring(L, 2);
  int method;
  if (k == NULL) return luaL_error(L, "%s has no fields to set", what);
  lua_getmetatable(L, 1);
  lua_getfield(L, -1, "__index");
  method = lua_istable(L, -1) && lua_getfield(L, -1, k) != LUA_TNIL;
  if (method)
    return luaL_error(L, "%s method '%s' cannot be replaced", what, k);
  return luaL_error(L, "%s has no field '%s' (it has methods only)", what,
                    k);
}

static int count_funcs(const luaL_Reg *const *lists) {
  int n = 0, i, k;
  for (i = 0; lists[i]; i++)
    for (k = 0; lists[i][k].name; k++) n++;
  return n;
}

void lwr_register(lua_State *L, const char *tname, const luaL_Reg *meta,
                  const luaL_Reg *const *methods, const luaL_Reg *ctors) {
  luaL_newmetatable(L, tname);
  lua_pushvalue(L, -2);
  luaL_setfuncs(L, meta, 1);
  if (methods) {
    int i;
    lua_createtable(L, 0, count_funcs(methods));
    for (i = 0; methods[i]; i++) {
      lua_pushvalue(L, -3);
      luaL_setfuncs(L, methods[i], 1);
    }
    lua_setfield(L, -2, "__index");
    if (lua_getfield(L, -1, "__newindex") == LUA_TNIL) {
      lua_pushvalue(L, -3);                          /* the context */
      lua_pushstring(L, tname + sizeof "wsarecv." - 1);
      lua_pushcclosure(L, l_nonewindex, 2);
      lua_setfield(L, -3, "__newindex");
    }
    lua_pop(L, 1);
  }
  lua_pushstring(L, tname);
  lua_setfield(L, -2, "__name");
  lua_pop(L, 1);
  if (ctors) {
    lua_pushvalue(L, -2);                            /* the module */
    lua_pushvalue(L, -2);                            /* the context */
    luaL_setfuncs(L, ctors, 1);
    lua_pop(L, 1);
  }
}

void lwr_add_methods(lua_State *L, const char *tname, const luaL_Reg *l) {
  luaL_getmetatable(L, tname);
  lua_getfield(L, -1, "__index");
  lua_pushvalue(L, -3);                              /* the context */
  luaL_setfuncs(L, l, 1);
  lua_pop(L, 2);
}

/* =====================================================================
** Arguments C keeps in narrower types
** =================================================================== */

/*
** The string at idx, for C that reads up to its first zero: a string with
** an embedded zero would be cut there without a word ("127.0.0.1\0junk"
** binding 127.0.0.1, "/tmp/x\0y" binding /tmp/x), so it raises.
*/
const char *lwr_checkcstring(lua_State *L, int idx, const char *what) {
  size_t len;
  const char *text = luaL_checklstring(L, idx, &len);
  if (strlen(text) != len)
    luaL_argerror(L, idx, lua_pushfstring(L, "%s contains an embedded zero",
                                          what));
  return text;
}

/* luaL_checkoption compares with strcmp: refuse "stream\0x" first. */
int lwr_checkoption(lua_State *L, int idx, const char *def,
                       const char *const list[]) {
  if (!lua_isnoneornil(L, idx)) lwr_checkcstring(L, idx, "option");
  return luaL_checkoption(L, idx, def, list);
}

/* An integer argument C keeps in an int: out of range raises. */
int lwr_checkint(lua_State *L, int idx, lua_Integer lo, lua_Integer hi,
                    const char *what) {
  lua_Integer v = luaL_checkinteger(L, idx);
  if (v < lo || v > hi)
    luaL_argerror(L, idx, lua_pushfstring(L, "%s out of range", what));
  return (int)v;
}
