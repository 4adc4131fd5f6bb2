/*
** lbuffer.c -- wsarecv.buffer, the reusable byte buffer of a WSABUF, and
** the reading of Lua WSABUF arrays into the core's iovec form.
**
** Exports: buffer (constructor); methods sub, byte, write, fill, close;
**          metamethods __len, __tostring, __close.  (buf:unpack is in
**          lua/wsarecv.lua.)  For the other binding files:
**          lwr_checkbuffer, lwr_tobuffer, lwr_count_bufs, lwr_fill_bufs,
**          lwr_pin_bufs.
**
** The bytes live inside the userdata, so a buffer is one allocation and
** its address never moves.  close() only marks it: a pending operation
** that pinned it may still write to it safely until it is collected.
*/
#include <limits.h>
#include <string.h>

#include "lwsarecv.h"

lwr_buf *lwr_tobuffer(lua_State *L, int idx) {
  return (lwr_buf *)lwr_testtype(L, idx, LWR_T_BUFFER);
}

static lwr_buf *anybuffer(lua_State *L, int idx) {   /* closed or not */
  return (lwr_buf *)lwr_checktype(L, idx, LWR_T_BUFFER);
}

lwr_buf *lwr_checkbuffer(lua_State *L, int idx) {
  lwr_buf *b = anybuffer(L, idx);
  if (b->closed) luaL_argerror(L, idx, "buffer is closed");
  return b;
}

/* string.sub's position rules */
static size_t posrelat(lua_Integer pos, size_t len) {
  if (pos > 0) return (size_t)pos;
  if (pos == 0) return 1;
  if (pos < -(lua_Integer)len) return 1;
  return len + (size_t)pos + 1;
}

static size_t endpos(lua_Integer pos, size_t len) {
  if (pos > (lua_Integer)len) return len;
  if (pos >= 0) return (size_t)pos;
  if (pos < -(lua_Integer)len) return 0;
  return len + (size_t)pos + 1;
}

/* A new zero-filled buffer of len bytes, pushed. */
lwr_buf *lwr_newbuffer(lua_State *L, size_t len) {
  lwr_buf *b = (lwr_buf *)lua_newuserdatauv(L, offsetof(lwr_buf, data) +
                                            len + 1, 0);
  b->h.tag = LWR_TAG(LWR_T_BUFFER);
  b->len = len;
  b->closed = 0;
  memset(b->data, 0, len + 1);
  luaL_setmetatable(L, LWR_BUFFER);
  return b;
}

/*** wsarecv.buffer(size | string) -> buffer */
static int l_buffer(lua_State *L) {
  size_t len;
  const char *init = NULL;
  lwr_buf *b;
  if (lua_type(L, 1) == LUA_TSTRING) {
    init = lua_tolstring(L, 1, &len);
  } else {
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 0, 1, "size must not be negative");
    len = (size_t)n;
  }
  b = lwr_newbuffer(L, len);
  if (init) memcpy(b->data, init, len);
  return 1;
}

static int l_len(lua_State *L) {
  lwr_buf *b = anybuffer(L, 1);
  lua_pushinteger(L, b->closed ? 0 : (lua_Integer)b->len);
  return 1;
}

/*** buf:sub([i [, j]]) -> string, with string.sub's rules */
static int l_sub(lua_State *L) {
  lwr_buf *b = lwr_checkbuffer(L, 1);
  size_t i = posrelat(luaL_optinteger(L, 2, 1), b->len);
  size_t j = endpos(luaL_optinteger(L, 3, -1), b->len);
  if (i > j) lua_pushliteral(L, "");
  else lua_pushlstring(L, (const char *)b->data + i - 1, j - i + 1);
  return 1;
}

/*** buf:byte([i [, j]]) -> integers, with string.byte's rules */
static int l_byte(lua_State *L) {
  lwr_buf *b = lwr_checkbuffer(L, 1);
  lua_Integer pi;
  int isnum;
  if (lua_gettop(L) == 2) {          /* buf:byte(i): the hot case */
    pi = lua_tointegerx(L, 2, &isnum);
    if (isnum && pi >= 1 && (size_t)pi <= b->len) {
      lua_pushinteger(L, b->data[pi - 1]);
      return 1;
    }
  }
  pi = luaL_optinteger(L, 2, 1);
  size_t i = posrelat(pi, b->len);
  size_t j = endpos(luaL_optinteger(L, 3, pi), b->len);
  size_t k, n;
  if (i > j) return 0;
  n = j - i + 1;
  if (n >= (size_t)INT_MAX || !lua_checkstack(L, (int)n))
    return luaL_error(L, "buffer slice too long");
  for (k = 0; k < n; k++) lua_pushinteger(L, b->data[i - 1 + k]);
  return (int)n;
}

/*** buf:write(pos, str) -> number of bytes written */
static int l_write(lua_State *L) {
  lwr_buf *b = lwr_checkbuffer(L, 1);
  lua_Integer pos = luaL_checkinteger(L, 2);
  size_t n;
  const char *s = luaL_checklstring(L, 3, &n);
  luaL_argcheck(L, pos >= 1 && (size_t)pos <= b->len + 1, 2,
                "position out of buffer");
  luaL_argcheck(L, n <= b->len - (size_t)(pos - 1), 3,
                "string does not fit in the buffer at this position");
  memcpy(b->data + pos - 1, s, n);
  lua_pushinteger(L, (lua_Integer)n);
  return 1;
}

/*** buf:fill(byte [, i [, j]]) -> buf */
static int l_fill(lua_State *L) {
  lwr_buf *b = lwr_checkbuffer(L, 1);
  int v;
  size_t i, j;
  if (lua_type(L, 2) == LUA_TSTRING) {
    size_t n;
    const char *s = lua_tolstring(L, 2, &n);
    luaL_argcheck(L, n == 1, 2, "expected one character");
    v = (unsigned char)s[0];
  } else {
    lua_Integer x = luaL_checkinteger(L, 2);
    luaL_argcheck(L, x >= 0 && x <= 255, 2, "byte out of range 0..255");
    v = (int)x;
  }
  i = posrelat(luaL_optinteger(L, 3, 1), b->len);
  j = endpos(luaL_optinteger(L, 4, -1), b->len);
  if (i <= j) memset(b->data + i - 1, v, j - i + 1);
  lua_settop(L, 1);
  return 1;
}

static int l_close(lua_State *L) {
  lwr_buf *b = anybuffer(L, 1);
  b->closed = 1;
  return 0;
}

static int l_tostring(lua_State *L) {
  lwr_buf *b = anybuffer(L, 1);
  if (b->closed) lua_pushfstring(L, "wsarecv.buffer (closed): %p", b);
  else
    lua_pushfstring(L, "wsarecv.buffer (%I bytes): %p", (lua_Integer)b->len,
                    b);
  return 1;
}

/* =====================================================================
** WSABUF arrays: a buffer, or an array of buffers and {buf, off, len}
** =================================================================== */

/* How many WSABUFs the array at idx holds (raises on a wrong type). */
size_t lwr_count_bufs(lua_State *L, int idx, int argn) {
  if (lwr_tobuffer(L, idx)) return 1;
  if (lua_type(L, idx) != LUA_TTABLE)
    luaL_typeerror(L, argn, "buffer or array of buffers");
  return (size_t)lua_rawlen(L, idx);
}

/*
** Read one item (on the stack top) into *iov.  Returns 0, or WSAEFAULT for
** a slice outside its buffer.  Wrong types raise.
*/
static int fill_one(lua_State *L, int argn, size_t i, wr_wsabuf *iov) {
  lwr_buf *b = lwr_tobuffer(L, -1);
  if (b == NULL && lua_type(L, -1) == LUA_TTABLE) {
    lua_Integer off, len;
    int isnum;
    lua_rawgeti(L, -1, 1);
    b = lwr_tobuffer(L, -1);
    lua_pop(L, 1);
    if (b == NULL)
      return luaL_argerror(L, argn, lua_pushfstring(L, "item %d: slice's "
                           "first field is not a buffer", (int)i));
    lua_rawgeti(L, -1, 2);
    off = lua_isnil(L, -1) ? 0 : lua_tointegerx(L, -1, &isnum);
    if (!lua_isnil(L, -1) && !isnum)
      return luaL_argerror(L, argn, lua_pushfstring(L, "item %d: slice "
                           "offset is not an integer", (int)i));
    lua_pop(L, 1);
    lua_rawgeti(L, -1, 3);
    len = lua_isnil(L, -1) ? (lua_Integer)b->len - off
                           : lua_tointegerx(L, -1, &isnum);
    if (!lua_isnil(L, -1) && !isnum)
      return luaL_argerror(L, argn, lua_pushfstring(L, "item %d: slice "
                           "length is not an integer", (int)i));
    lua_pop(L, 1);
    if (b->closed)
      return luaL_argerror(L, argn, lua_pushfstring(L, "item %d: buffer is "
                           "closed", (int)i));
    if (off < 0 || len < 0 || (lua_Unsigned)off > b->len ||
        (lua_Unsigned)len > b->len - (size_t)off)
      return WSAEFAULT;
    iov->iov_base = b->data + off;
    iov->iov_len = (size_t)len;
    return 0;
  }
  if (b == NULL)
    return luaL_argerror(L, argn, lua_pushfstring(L, "item %d is not a "
                         "buffer or slice", (int)i));
  if (b->closed)
    return luaL_argerror(L, argn, lua_pushfstring(L, "item %d: buffer is "
                         "closed", (int)i));
  iov->iov_base = b->data;
  iov->iov_len = b->len;
  return 0;
}

/* Fill iov[0..n) from the array at idx: 0 or WSAEFAULT. */
int lwr_fill_bufs(lua_State *L, int idx, int argn, wr_wsabuf *iov,
                  size_t n) {
  size_t i;
  if (lwr_tobuffer(L, idx)) {
    int r;
    lua_pushvalue(L, idx);
    r = fill_one(L, argn, 1, iov);
    lua_pop(L, 1);
    return r;
  }
  for (i = 0; i < n; i++) {
    int r;
    lua_rawgeti(L, idx, (lua_Integer)i + 1);
    r = fill_one(L, argn, i + 1, &iov[i]);
    lua_pop(L, 1);
    if (r) return r;
  }
  return 0;
}

/* The buffer behind item i of the array at idx, pushed. */
static void push_item_buffer(lua_State *L, int idx, size_t i) {
  lua_rawgeti(L, idx, (lua_Integer)i + 1);
  if (lua_type(L, -1) == LUA_TTABLE) {
    lua_rawgeti(L, -1, 1);
    lua_remove(L, -2);
  }
}

/*
** Keep every buffer of the array at idx alive as long as the overlapped
** object at ovidx: one buffer goes straight into user value 3; several go
** into the object's own table, reused from one operation to the next.
*/
void lwr_pin_bufs(lua_State *L, int idx, int ovidx, lwr_ov *o, size_t n) {
  size_t i;
  if (lwr_tobuffer(L, idx)) {
    lua_pushvalue(L, idx);
    lua_setiuservalue(L, ovidx, UV_PINS);
    o->npins = 0;
    return;
  }
  if (n == 1) {
    push_item_buffer(L, idx, 0);
    lua_setiuservalue(L, ovidx, UV_PINS);
    o->npins = 0;
    return;
  }
  if (lua_getiuservalue(L, ovidx, UV_PINS) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_createtable(L, (int)n, 0);
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, ovidx, UV_PINS);
    o->npins = 0;
  }
  for (i = 0; i < n; i++) {
    push_item_buffer(L, idx, i);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  for (i = n; i < (size_t)o->npins; i++) {
    lua_pushnil(L);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  o->npins = (int)n;
  lua_pop(L, 1);
}

/*
** Everything an overlapped post needs from the WSABUF array at idx, in one
** pass: the iovecs go into ov's own storage, the buffers get pinned by the
** overlapped object at ovidx.  Returns 0 or WSAEFAULT (bad slice; nothing
** was pinned); *pn gets the count.  A lone buffer -- the common case -- is
** read and pinned without touching any table.
*/
int lwr_take_bufs(lua_State *L, int idx, int argn, lwr_ov *o, int ovidx,
                  size_t *pn) {
  lwr_buf *b = lwr_tobuffer(L, idx);
  wr_wsabuf *iov;
  size_t n;
  int r;
  if (b != NULL) {
    if (b->closed) luaL_argerror(L, argn, "buffer is closed");
    iov = wr_overlapped_bufs(&o->ov, 1);
    iov->iov_base = b->data;
    iov->iov_len = b->len;
    lua_pushvalue(L, idx);
    lua_setiuservalue(L, ovidx, UV_PINS);
    o->npins = 0;
    *pn = 1;
    return 0;
  }
  n = lwr_count_bufs(L, idx, argn);
  iov = wr_overlapped_bufs(&o->ov, n);
  if (iov == NULL) return luaL_error(L, "not enough memory");
  if ((r = lwr_fill_bufs(L, idx, argn, iov, n)) != 0) return r;
  lwr_pin_bufs(L, idx, ovidx, o, n);
  *pn = n;
  return 0;
}

void lwr_open_buffer(lua_State *L) {
  static const luaL_Reg meta[] = {
    {"__len", l_len},
    {"__tostring", l_tostring},
    {"__close", l_close},
    {NULL, NULL}
  };
  static const luaL_Reg methods[] = {
    {"sub", l_sub},
    {"byte", l_byte},
    {"write", l_write},
    {"fill", l_fill},
    {"close", l_close},
    {NULL, NULL}
  };
  lwr_register(L, LWR_BUFFER, meta, methods);
  lua_pushvalue(L, -1);
  lua_pushcclosure(L, l_buffer, 1);
  lua_setfield(L, -3, "buffer");
}
