/*
** lwsarecv.h -- what the binding's files share: the per-state context,
** the userdata layouts and their accessors.  The binding turns Lua values
** into core calls and core completions into Lua calls; it makes no
** syscalls of its own.
*/
#ifndef LWSARECV_H
#define LWSARECV_H

#include <lua.h>
#include <lauxlib.h>

#include "core/wr.h"

#define LWR_CTX      "wsarecv.ctx"
#define LWR_BUFFER   "wsarecv.buffer"
#define LWR_SOCKET   "wsarecv.socket"
#define LWR_OV       "wsarecv.overlapped"
#define LWR_MSG      "wsarecv.msg"

/* The binding's userdata types, for the fast type checks. */
enum { LWR_T_BUFFER, LWR_T_SOCKET, LWR_T_OV, LWR_T_MSG, LWR_T_COUNT };

/*
** Every userdata of ours starts with a tag: its type in the low bits of a
** constant no other library's userdata will start with.  Checking it costs
** a few instructions; the metatable check of luaL_checkudata costs a
** registry lookup by name, and this check runs several times per receive.
*/
#define LWR_TAG_BASE 0x57535200u      /* "WSR\0" */
#define LWR_TAG(t) (LWR_TAG_BASE | (unsigned)(t))
typedef struct lwr_hdr {
  unsigned tag;
} lwr_hdr;

/* One per Lua state: the loop, and who is waiting on it now. */
typedef struct lwr_ctx {
  wr_loop *loop;
  lua_State *L;        /* the thread inside the current alertable wait */
  lua_State *main;     /* the main thread: for registry-only work */
  int err_ref;         /* registry slot, reserved at load: the error a
                          routine raised, until rethrown (storing it then
                          allocates nothing, so nothing can fail) */
  int has_err;
  int pending_ref;     /* the string "WSA_IO_PENDING", kept for speed */
} lwr_ctx;

/*
** wsarecv.buffer: fixed capacity.  `data` points at the bytes: small[]
** for a small buffer, calloc'd memory for a large one (lbuffer.c says
** why).  Either way it is 8-byte aligned (control buffers hold cmsghdrs)
** and never moves.
*/
typedef struct lwr_buf {
  lwr_hdr h;
  size_t len;
  size_t closed;       /* a size_t: keeps small[] 8-byte aligned */
  unsigned char *data;
  unsigned char small[1];  /* a small buffer's bytes */
} lwr_buf;

/* wsarecv.socket */
typedef struct lwr_sock {
  lwr_hdr h;
  wr_socket *s;        /* NULL once collected */
} lwr_sock;

/*
** wsarecv.overlapped.  User values: 1 the socket, 2 the routine, 3 the
** buffers it pins (one buffer, or its own reusable table), 4 the caller's
** context, 5 the msg of a WSARecvMsg.  While an operation is pending (or
** its routine is queued) `ref` anchors it in the registry, and through it
** everything the kernel may still write to.
*/
typedef struct lwr_ov {
  lwr_hdr h;
  wr_overlapped ov;    /* the core hands back &ov: see LWR_OV_OF */
  lwr_ctx *ctx;
  int ref;
  int npins;
} lwr_ov;

#define LWR_OV_OF(p) ((lwr_ov *)(void *)((char *)(p) - offsetof(lwr_ov, ov)))

enum { UV_SOCKET = 1, UV_ROUTINE, UV_PINS, UV_CONTEXT, UV_MSG, UV_COUNT = 5 };

/* wsarecv.msg: a reusable WSAMSG.  User values: 1 the WSABUF array,
** 2 the control buffer (a wsarecv.buffer, or nil). */
typedef struct lwr_msg {
  lwr_hdr h;
  wr_msg m;
  lwr_buf *ctl;        /* the control buffer (user value 2 keeps it) */
} lwr_msg;

/*
** Flags are 32 bits wide, as on Windows.  A Lua integer outside
** 0..0xFFFFFFFF would lose bits in an unsigned (2^32 would read as 0), so
** it becomes LWR_FLAGS_BAD instead: a bit no call knows, which makes the
** call fail with WSAEOPNOTSUPP like any other unknown flag.
*/
#define LWR_FLAGS_BAD 0x80000000u
static inline unsigned lwr_flags(lua_Integer f) {
  return (lua_Unsigned)f <= 0xFFFFFFFFu ? (unsigned)f : LWR_FLAGS_BAD;
}

/* A closed socket answers WSAENOTSOCK, like a closed SOCKET handle. */
#define LWR_CHECK_OPEN(L, s) \
  do { if (wr_socket_closed(s)) return lwr_fail(L, WSAENOTSOCK); } while (0)

/* lwsarecv.c */
int lwr_recv_fail(lua_State *L, int r, size_t bytes);
void lwr_push_addr(lua_State *L, const struct sockaddr_storage *sa,
                   socklen_t len);
lwr_ctx *lwr_ctx_get(lua_State *L);          /* from upvalue 1 */

int lwr_fail(lua_State *L, int code);         /* nil, name, code */
void lwr_push_error_name(lua_State *L, unsigned code);
void lwr_register(lua_State *L, const char *tname, const luaL_Reg *meta,
                  const luaL_Reg *methods);
/* Type checks by tag: the userdata at idx if it is of `type`, else NULL /
** a raised type error. */
static inline void *lwr_testtype(lua_State *L, int idx, int type) {
  lwr_hdr *p = (lwr_hdr *)lua_touserdata(L, idx);
  /* lua_rawlen is 0 for light userdata: only full ones of ours pass */
  if (p != NULL && lua_rawlen(L, idx) >= sizeof *p &&
      p->tag == LWR_TAG(type))
    return p;
  return NULL;
}
void *lwr_checktype(lua_State *L, int idx, int type);
void lwr_routine(unsigned err, size_t bytes, wr_overlapped *ov,
                 unsigned flags);

/* lbuffer.c */
void lwr_open_buffer(lua_State *L);
lwr_buf *lwr_newbuffer(lua_State *L, size_t len);
lwr_buf *lwr_checkbuffer(lua_State *L, int idx);
lwr_buf *lwr_tobuffer(lua_State *L, int idx);  /* NULL if not a buffer */
size_t lwr_count_bufs(lua_State *L, int idx, int argn);
int lwr_fill_bufs(lua_State *L, int idx, int argn, wr_wsabuf *iov, size_t n);
void lwr_check_bufs(lua_State *L, int idx, int argn);
void lwr_pin_bufs(lua_State *L, int idx, int ovidx, lwr_ov *o, size_t n);
int lwr_take_bufs(lua_State *L, int idx, int argn, lwr_ov *o, int ovidx,
                  size_t *pn);

/* loverlapped.c */
void lwr_open_overlapped(lua_State *L);
lwr_ov *lwr_checkov(lua_State *L, int idx);
lwr_ov *lwr_newov(lua_State *L, lwr_ctx *c);
void lwr_anchor(lua_State *L, lwr_ov *o, int idx);
void lwr_unanchor(lua_State *L, lwr_ov *o);
void lwr_event_hook(wr_overlapped *ov, void *data);

/* lmsg.c */
void lwr_open_msg(lua_State *L);

/* lpoll.c */
void lwr_open_poll(lua_State *L);

/* lsocket.c */
void lwr_open_socket(lua_State *L);
wr_socket *lwr_checksocket(lua_State *L, int idx);

/* loverlapped.c's posting steps, shared by WSARecv and WSARecvMsg */

/*
** (Inline: they run once per receive, from lsocket.c and lmsg.c.)
** What every overlapped post does before its core call on socket s: take
** the object o (or make one when o is NULL; it is pushed), check it is
** free, read and pin the WSABUF array at bufidx (type errors raise here,
** before any failure is returned), check s is open, hold the socket
** (argument 1) and the routine (at rtidx, may be nil), anchor the object.
** Returns 0 with *po, *povidx and *pn set, or a WSA code (nothing anchored,
** nothing the object holds changed but its pins).
*/
static inline int lwr_ov_begin(lua_State *L, wr_socket *s, int bufidx, lwr_ov *o,
                 int ovarg, int rtidx, lwr_ov **po, int *povidx,
                 size_t *pn) {
  int ovidx = ovarg, r;
  if (o == NULL) {
    o = lwr_newov(L, lwr_ctx_get(L));
    ovidx = lua_gettop(L);
  }
  if (wr_overlapped_busy(&o->ov)) {
    lwr_check_bufs(L, bufidx, 2);            /* still a type error first */
    return WSAEINVAL;
  }
  if ((r = lwr_take_bufs(L, bufidx, 2, o, ovidx, pn)) != 0) return r;
  if (wr_socket_closed(s)) return WSAENOTSOCK;
  lua_pushvalue(L, 1);
  lua_setiuservalue(L, ovidx, UV_SOCKET);
  lua_pushvalue(L, rtidx);
  lua_setiuservalue(L, ovidx, UV_ROUTINE);
  lwr_anchor(L, o, ovidx);
  *po = o;
  *povidx = ovidx;
  return 0;
}

/* The core's storage for the n WSABUFs lwr_ov_begin took. */
static inline wr_wsabuf *lwr_ov_bufs(lwr_ov *o, size_t n) {
  return wr_overlapped_bufs(&o->ov, n);  /* sized already: no allocation */
}

/*
** After the core call r: 0, bytes, flags (completed at once); the pending
** triple; or the failure, with the bytes it placed if any (the core sets
** `bytes` only then), the anchor dropped since no completion will follow.
*/
static inline int lwr_ov_end(lua_State *L, lwr_ov *o, int r,
                             size_t bytes) {
  if (r == 0) {
    lua_pushinteger(L, 0);
    lua_pushinteger(L, (lua_Integer)o->ov.bytes);
    lua_pushinteger(L, o->ov.flags);
    return 3;
  }
  if (r == WSA_IO_PENDING) return lwr_recv_fail(L, r, 0);
  lwr_unanchor(L, o);
  return lwr_recv_fail(L, r, bytes);
}

#endif
