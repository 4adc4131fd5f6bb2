/*
** lwr_aux.h -- the binding's ground floor: what every file of the binding
** shares.  The per-state context, the tag every userdata starts with and
** the type check by tag, the error pushes, the address push, argument
** checks and type registration.  Each type's layout and its own check are
** in its header (lbuffer.h, lsocket.h, loverlapped.h, lmsg.h, lport.h).
**
** Exports: lwr_aux.c: lwr_ctx_get, lwr_free_bytes, lwr_free_orphans,
**          lwr_fail, lwr_why, lwr_recv_fail,
**          lwr_push_error_name, lwr_push_addr, lwr_checktype,
**          lwr_checkcstring, lwr_checkoption, lwr_checkint,
**          lwr_check_ms, lwr_nearest, lwr_inlist, lwr_nofield,
**          lwr_register, lwr_add_methods; inline: lwr_flags,
**          lwr_testtype;
**          the macro LWR_CHECK_OPEN.
**
** The binding stands on three floors, and arrows run down only:
**   lwsarecv.c      the module: luaopen, constants, errors, the waits
**   type files      lsocket.c (+ lrecv.c, its receive calls, and
**                   loptions.c, its options), loverlapped.c (the
**                   completion path), lport.c (the completion port, +
**                   lportwait.c, its waits), lmsg.c, lbuffer.c; and
**                   lpoll.c (the module functions for another loop);
**                   lrecv.c, loptions.c and lportwait.c stand above the
**                   type they add methods to (lwr_add_methods)
**   lwr_aux.c       this floor: it calls nothing above it
** and under them all the core (core/wr.h), which reaches the binding only
** through the function pointers it was handed (lwr_routine, the event hook).
** Everything here may be used by any file above; nothing here knows them.
*/
#ifndef LWR_AUX_H
#define LWR_AUX_H

#include <lua.h>
#include <lauxlib.h>

#include "core/wr.h"

WR_INTERNAL_BEGIN

#define LWR_CTX      "wsarecv.ctx"
#define LWR_BUFFER   "wsarecv.buffer"
#define LWR_SOCKET   "wsarecv.socket"
#define LWR_OV       "wsarecv.overlapped"
#define LWR_MSG      "wsarecv.msg"
#define LWR_PORT     "wsarecv.port"
#define LWR_PORT_GUARD "wsarecv.port.guard"

/* The binding's userdata types, for the fast type checks. */
enum { LWR_T_BUFFER, LWR_T_SOCKET, LWR_T_OV, LWR_T_MSG, LWR_T_PORT,
       LWR_T_COUNT };

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

/*
** Each type's layout is in its own header, after its tag, and its fields
** are private to the type's own file(s), as the core's are to the core
** (WR_PRIVATE, core/wr.h): a home file defines LWR_HOME_<TYPE> before its
** includes and the fields keep their names; anywhere else each is renamed,
** so a file that reaches for another type's field does not compile, and
** uses the accessors in that type's header instead.
*/

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
  /* the last failure a call returned (lwr_fail), for wsarecv.lasterror:
  ** its code and the reason noted with it (static text, or NULL) */
  int last_code;
  const char *last_why;
  /* a reason the binding noted (lwr_why) for the next lwr_fail */
  int why_code;
  const char *why;
  /* bytes of buffers collected while the kernel could still write into
  ** them (the state closing): freed after the loop (lwr_free_bytes) */
  struct lwr_orphan *orphans;
} lwr_ctx;

/* registry key of the context: one loop per Lua state, however often the
** module is loaded (busted, for one, reloads modules between files) */
#define LWR_CTX_KEY "wsarecv.context"

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

/* The context: upvalue 1 of every function of the module. */
lwr_ctx *lwr_ctx_get(lua_State *L);
/*
** Free a buffer's bytes p (len of them), from its finalizer: now, unless
** an operation still pending in the loop reads or writes them.  A pinned
** buffer is finalized only when the state closes, before the context
** (created first, finalized last): the context frees them after its loop
** has stopped the kernel (lwr_free_orphans).
*/
void lwr_free_bytes(lua_State *L, void *p, size_t len);
void lwr_free_orphans(lwr_ctx *c);

/*
** Results: nil, name, code; a receive's adds the bytes placed, if any.
** Each failure is remembered as the state's last one, with the reason the
** core (wr_loop_reason) or the binding (lwr_why) noted for it.
*/
int lwr_fail(lua_State *L, int code);
/* Return code, noting why for the lwr_fail that reports it (static text). */
int lwr_why(lua_State *L, int code, const char *why);
int lwr_recv_fail(lua_State *L, int r, size_t bytes);
void lwr_push_error_name(lua_State *L, unsigned code);
void lwr_push_addr(lua_State *L, const struct sockaddr_storage *sa,
                   socklen_t len);

/*
** Type checks by tag: the userdata at idx if it is of `type`, else NULL
** (lwr_testtype) or a raised type error (lwr_checktype).  Each type's
** header builds its own on them (lwr_checksocket, lwr_tobuffer, ...).
*/
static inline void *lwr_testtype(lua_State *L, int idx, int type) {
  lwr_hdr *p = (lwr_hdr *)lua_touserdata(L, idx);
  /* lua_rawlen is 0 for light userdata: only full ones of ours pass */
  if (p != NULL && lua_rawlen(L, idx) >= sizeof *p &&
      p->tag == LWR_TAG(type))
    return p;
  return NULL;
}
void *lwr_checktype(lua_State *L, int idx, int type);

/* The string at idx for C that reads up to a zero: an embedded zero raises
** ("what contains an embedded zero"). */
const char *lwr_checkcstring(lua_State *L, int idx, const char *what);
/* luaL_checkoption, refusing an embedded zero first. */
int lwr_checkoption(lua_State *L, int idx, const char *def,
                    const char *const list[]);
/* An integer C keeps in an int, within lo..hi: out of range raises. */
int lwr_checkint(lua_State *L, int idx, lua_Integer lo, lua_Integer hi,
                 const char *what);

/*
** A wait's timeout at idx, the DWORD of milliseconds Windows takes, into
** *out (WR_INFINITE for nil, -1, 0xFFFFFFFF).  Negative values raise; one
** too long for a DWORD returns WSAEINVAL, for the caller to report once its
** other arguments are checked.  Else 0.
*/
int lwr_check_ms(lua_State *L, int idx, long *out);

/*
** A mistyped name: the name of the NULL-ended list nearest key (an edit or
** two away, case aside), or NULL.  lwr_nofield raises "what has no field
** 'key'", adding "; did you mean 'x'?" when list has a near name.
*/
const char *lwr_nearest(const char *key, const char *const list[]);
int lwr_inlist(const char *key, const char *const list[]);
int lwr_nofield(lua_State *L, const char *what, const char *key,
                const char *const list[]);

/*
** A userdata type, with the module table and the context on the stack top:
** the metatable tname with the meta functions, a method table as __index
** made of the NULL-ended lists in methods (none if NULL), and the
** constructors ctors (or NULL) in the module.  All close over the context.
** A type with methods and no __newindex of its own gets one that raises
** (it has no fields to set, and its methods stay what they are).
*/
void lwr_register(lua_State *L, const char *tname, const luaL_Reg *meta,
                  const luaL_Reg *const *methods, const luaL_Reg *ctors);
/*
** More methods for tname (registered already, with methods), from a file
** above its own: with the context on the stack top, each closes over it.
** So a type's file need not know the files that add to it (it may hold
** their places: a NULL function in its lists is a placeholder).
*/
void lwr_add_methods(lua_State *L, const char *tname, const luaL_Reg *l);

WR_INTERNAL_END

#endif
