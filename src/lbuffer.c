/*
** lbuffer.c -- wsarecv.buffer, the reusable byte buffer of a WSABUF, and
** the reading of Lua WSABUF arrays into the core's iovec form.
**
** Exports: buffer (constructor); methods sub, byte, write, fill, close;
**          metamethods __len, __tostring, __close (and __gc for a large
**          buffer).  (buf:unpack is in lua/wsarecv.lua.)  For the other
**          binding files (lbuffer.h): lwr_open_buffer, lwr_newbuffer,
**          lwr_count_bufs, lwr_fill_bufs, lwr_check_bufs; inline: (in
**          lbuffer.h) lwr_tobuffer, lwr_buf_data, lwr_buf_len,
**          lwr_buf_closed.
**
** A small buffer keeps its bytes inside the userdata: one allocation.  A
** large one callocs them, so that zeroed memory the kernel lends lazily
** (fresh mmap pages) is not touched page by page when the buffer is made;
** its __gc frees them.  Either way the bytes never move.  close() only
** marks a buffer: a pending operation that pinned it may still write to it
** until it is collected, and it is collected only when nothing pins it
** (or when the state closes, after which nothing writes).  Pinning is the
** overlapped object's work (loverlapped.c).
*/
#define LWR_HOME_BUFFER        /* the buffer's fields keep their names */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lbuffer.h"

static lwr_buf *anybuffer(lua_State *L, int idx) {   /* closed or not */
  return (lwr_buf *)lwr_checktype(L, idx, LWR_T_BUFFER);
}

static lwr_buf *checkbuffer(lua_State *L, int idx) {  /* open ones only */
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

/*
** Up to this size the bytes go inline.  Below glibc's mmap threshold
** (128 KiB by default) calloc clears its memory by hand anyway, so an
** external block would save no writes; inline saves a malloc, a free, and
** a finalizer (small buffers get the metatable without __gc).
*/
#define SMALL_MAX (64 * 1024)

/* The metatable of large buffers: the same, plus __gc. */
#define LWR_BUFFER_BIG LWR_BUFFER ".big"

/*
** Tell the collector about len bytes it cannot see: an incremental step
** as if Lua had allocated them, so a loop making large buffers collects
** the old ones as it goes.  Not while the user has stopped the collector
** (a step would run it anyway).
*/
static void account(lua_State *L, size_t len) {
  size_t kb = len / 1024;
  if (lua_gc(L, LUA_GCISRUNNING) != 1) return;
  lua_gc(L, LUA_GCSTEP, kb > INT_MAX ? INT_MAX : (int)kb);
}

/*
** A new zero-filled buffer of len bytes, pushed.  WR_HEADROOM bytes in
** front of them are the core's (a receive's header goes there on the
** io_uring engine: wr.h), never the caller's.
*/
lwr_buf *lwr_newbuffer(lua_State *L, size_t len) {
  int big = len > SMALL_MAX;
  lwr_buf *b = (lwr_buf *)lua_newuserdatauv(L, offsetof(lwr_buf, small) +
                                            (big ? 0 : WR_HEADROOM + len) + 1,
                                            0);
  b->h.tag = LWR_TAG(LWR_T_BUFFER);
  b->len = 0;                        /* empty until its bytes exist */
  b->closed = 0;
  b->data = b->small;
  b->small[0] = 0;
  luaL_setmetatable(L, big ? LWR_BUFFER_BIG : LWR_BUFFER);
  if (big) {
    unsigned char *p = len < SIZE_MAX - WR_HEADROOM - 1 ?
                       calloc(WR_HEADROOM + len + 1, 1) : NULL;
    if (p == NULL)
      luaL_error(L, "not enough memory for a buffer of %I bytes",
                 (lua_Integer)len);
    b->data = p + WR_HEADROOM;
    b->len = len;
    account(L, len);
  } else {
    memset(b->small, 0, WR_HEADROOM + len + 1);
    b->data = b->small + WR_HEADROOM;
    b->len = len;
  }
  return b;
}

/* __gc of a large buffer: nothing pins it any more (or the state closes:
** lwr_free_bytes waits for the kernel); free its bytes. */
static int l_buf_gc(lua_State *L) {
  lwr_buf *b = (lwr_buf *)lua_touserdata(L, 1);
  if (b->data != b->small) {
    lwr_free_bytes(L, b->data - WR_HEADROOM, WR_HEADROOM + b->len);
    b->data = b->small;              /* a resurrected buffer is empty */
    b->len = 0;
    b->closed = 1;
  }
  return 0;
}

/*** @module wsarecv */

/***
A new buffer: `size` zero bytes, or a copy of `string`.
The memory behind a WSABUF, made once and reused: a receive into it
allocates nothing, and its bytes never move while it lives.
@function buffer
@tparam int|string size_or_string a size (0 or more), or the bytes to copy
@treturn buffer the buffer
@raise a negative or non-integer size; `not enough memory for a buffer of
N bytes` when the machine cannot allocate it
*/
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

static int l_buf_len(lua_State *L) {
  lwr_buf *b = anybuffer(L, 1);
  lua_pushinteger(L, b->closed ? 0 : (lua_Integer)b->len);
  return 1;
}

/***
A buffer: a fixed-capacity block of bytes that receives write into.
`#buf` is its capacity (0 once closed); `tostring(buf)` gives
`wsarecv.buffer (N bytes): 0x...`, never the content; `local buf <close>`
closes it.  Any method on a closed buffer raises `buffer is closed`.
@type buffer
*/

/***
Bytes `i..j` as a string, with `string.sub`'s rules.
@function buffer:sub
@tparam[opt=1] int i first position (negative: from the end)
@tparam[opt=-1] int j last position
@treturn string the bytes
*/
static int l_sub(lua_State *L) {
  lwr_buf *b = checkbuffer(L, 1);
  size_t i = posrelat(luaL_optinteger(L, 2, 1), b->len);
  size_t j = endpos(luaL_optinteger(L, 3, -1), b->len);
  if (i > j) lua_pushliteral(L, "");
  else lua_pushlstring(L, (const char *)b->data + i - 1, j - i + 1);
  return 1;
}

/***
Bytes `i..j` as integers, with `string.byte`'s rules.
@function buffer:byte
@tparam[opt=1] int i first position
@tparam[opt=i] int j last position
@return the bytes, one integer each (nothing outside the buffer)
*/
static int l_byte(lua_State *L) {
  lwr_buf *b = checkbuffer(L, 1);
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

/***
Copy `data` into the buffer from position `pos`.
@function buffer:write
@tparam int pos 1-based; `#buf + 1` only for an empty string
@tparam string data the bytes
@treturn int the number of bytes written, `#data`
@raise a position outside `1..#buf + 1`, or data that does not fit
*/
static int l_write(lua_State *L) {
  lwr_buf *b = checkbuffer(L, 1);
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

/***
Set bytes `i..j` (`string.sub`'s rules, default all) to `byte`.
@function buffer:fill
@tparam int|string byte an integer 0..255, or a one-character string
@tparam[opt=1] int i first position
@tparam[opt=-1] int j last position
@treturn buffer the buffer
@raise any other byte value
*/
static int l_fill(lua_State *L) {
  lwr_buf *b = checkbuffer(L, 1);
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

/***
Mark the buffer closed (also its `__close`): `#buf` becomes 0 and every
method raises.  Closing twice does nothing.  A receive already pending on
it keeps its memory and may still complete into it safely.
@function buffer:close
*/
static int l_close(lua_State *L) {
  lwr_buf *b = anybuffer(L, 1);
  b->closed = 1;
  return 0;
}

static int l_buf_tostring(lua_State *L) {
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
** Field k of the slice on the stack top: 1 with *v set, or 0 if it is nil.
** Anything but an integer raises.
*/
static int slice_field(lua_State *L, int argn, size_t i, int k,
                       const char *what, lua_Integer *v) {
  int isnum = 1, present;
  lua_rawgeti(L, -1, k);
  present = !lua_isnil(L, -1);
  if (present) *v = lua_tointegerx(L, -1, &isnum);
  if (!isnum)
    return luaL_argerror(L, argn, lua_pushfstring(L, "item %d: slice %s "
                         "is not an integer", (int)i, what));
  lua_pop(L, 1);
  return present;
}

/*
** {buf, off, len} into *iov: 0, or WSAEFAULT when it does not lie inside
** buf.  The caller's integers are compared, never added or subtracted, so
** no value (math.mininteger included) can overflow.
*/
static int fill_slice(lua_State *L, int argn, size_t i, wr_wsabuf *iov) {
  lua_Integer off = 0, len = 0;
  int has_len;
  lwr_buf *b;
  lua_rawgeti(L, -1, 1);
  b = lwr_tobuffer(L, -1);
  lua_pop(L, 1);
  if (b == NULL)
    return luaL_argerror(L, argn, lua_pushfstring(L, "item %d: slice's "
                         "first field is not a buffer", (int)i));
  slice_field(L, argn, i, 2, "offset", &off);
  has_len = slice_field(L, argn, i, 3, "length", &len);
  if (b->closed)
    return luaL_argerror(L, argn, lua_pushfstring(L, "item %d: buffer is "
                         "closed", (int)i));
  if (off < 0 || (lua_Unsigned)off > b->len ||
      (has_len && (len < 0 || (lua_Unsigned)len > b->len - (size_t)off)))
    return lwr_why(L, WSAEFAULT, "a slice {buf, offset, length} lies "
                   "outside its buffer");
  WR_WSABUF_SET(iov, b->data + off,
                has_len ? (size_t)len : b->len - (size_t)off);
  return 0;
}

/*
** Read one item (on the stack top) into *iov.  Returns 0, or WSAEFAULT for
** a slice outside its buffer.  Wrong types raise.
*/
static int fill_one(lua_State *L, int argn, size_t i, wr_wsabuf *iov) {
  lwr_buf *b = lwr_tobuffer(L, -1);
  if (b == NULL && lua_type(L, -1) == LUA_TTABLE)
    return fill_slice(L, argn, i, iov);
  if (b == NULL)
    return luaL_argerror(L, argn, lua_pushfstring(L, "item %d is not a "
                         "buffer or slice", (int)i));
  if (b->closed)
    return luaL_argerror(L, argn, lua_pushfstring(L, "item %d: buffer is "
                         "closed", (int)i));
  WR_WSABUF_SET(iov, b->data, b->len);
  return 0;
}

/*
** Fill iov[0..n) from the array at idx: 0 or WSAEFAULT.  A bad slice does
** not stop the reading: a wrong type in a later item still raises.  With
** step 0 every item goes into iov[0] (only checking the array).
*/
static int fill_bufs(lua_State *L, int idx, int argn, wr_wsabuf *iov,
                     size_t n, size_t step) {
  size_t i;
  int r = 0;
  if (lwr_tobuffer(L, idx)) {
    lua_pushvalue(L, idx);
    r = fill_one(L, argn, 1, iov);
    lua_pop(L, 1);
    return r;
  }
  for (i = 0; i < n; i++) {
    int ri;
    lua_rawgeti(L, idx, (lua_Integer)i + 1);
    ri = fill_one(L, argn, i + 1, iov + i * step);
    lua_pop(L, 1);
    if (r == 0) r = ri;
  }
  return r;
}

int lwr_fill_bufs(lua_State *L, int idx, int argn, wr_wsabuf *iov,
                  size_t n) {
  return fill_bufs(L, idx, argn, iov, n, 1);
}

/*
** Check every item of the array at idx as a post would, storing nothing:
** for a call that fails before it can take the array (its object busy),
** so that a wrong type still raises first.
*/
void lwr_check_bufs(lua_State *L, int idx, int argn) {
  wr_wsabuf scratch;
  fill_bufs(L, idx, argn, &scratch, lwr_count_bufs(L, idx, argn), 0);
}

/*
** The large buffers' metatable: a copy of the small ones' (the same method
** table, the same __name) plus __gc.  Two metatables, because a userdata
** is marked for finalization when it gets a metatable that has __gc.
*/
static void big_metatable(lua_State *L) {
  luaL_getmetatable(L, LWR_BUFFER);
  luaL_newmetatable(L, LWR_BUFFER_BIG);
  lua_pushnil(L);
  while (lua_next(L, -3) != 0) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, -4);
  }
  lua_pushcfunction(L, l_buf_gc);
  lua_setfield(L, -2, "__gc");
  lua_pop(L, 2);
}

static const luaL_Reg meta[] = {
  {"__len", l_buf_len},
  {"__tostring", l_buf_tostring},
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

static const luaL_Reg *const method_lists[] = {methods, NULL};

static const luaL_Reg ctors[] = {
  {"buffer", l_buffer},
  {NULL, NULL}
};

void lwr_open_buffer(lua_State *L) {
  lwr_register(L, LWR_BUFFER, meta, method_lists, ctors);
  big_metatable(L);
}
