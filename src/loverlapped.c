/*
** loverlapped.c -- wsarecv.overlapped, the WSAOVERLAPPED of a receive, and
** the whole way an overlapped operation takes through the binding.
**
** Exports: overlapped (constructor); read-only fields pending, bytes,
**          flags, error, msg; the free field context; the switches noport
**          and rearm (completion ports); __gc, __tostring.
**          For the other binding files (loverlapped.h):
**          lwr_open_overlapped, lwr_ov_begin, lwr_ov_end, lwr_routine,
**          lwr_event_hook, lwr_ov_push, lwr_ov_unhold_last,
**          lwr_wait_enter, lwr_wait_leave; inline: (in loverlapped.h)
**          lwr_checkov, lwr_ov_core, lwr_ov_of, lwr_ov_hold, lwr_ov_unhold.
**
** An overlapped object is reusable: post it, wait for it, post it again.
** While its operation is pending, or its routine is waiting to run, it is
** anchored in the registry (one slot, reused), so neither it nor the
** buffers it pins can be collected under the kernel's feet.
**
** The way of one operation, all of it in this file:
**   post      a receive (lrecv.c) calls lwr_ov_begin: the object takes the
**             WSABUF array, pins its buffers, holds the socket and the
**             routine, and is anchored.  Then the core call (wr_recv,
**             wr_recvmsg) with lwr_routine or no routine; lwr_ov_end pushes
**             its result, and after a failure drops the anchor: no
**             completion will follow.
**   complete  the core finishes the receive, inside libuv's poll phase.
**             Without a routine it signals the object and calls
**             lwr_event_hook, which drops the anchor (the caller reads the
**             fields).  With one it queues the routine for a wait.
**   deliver   a wait (lwsarecv.c) brackets the core's wait with
**             lwr_wait_enter and lwr_wait_leave, so the context knows the
**             waiting thread; the core calls lwr_routine, which finds the
**             object around the core's pointer (lwr_ov_of), calls the Lua
**             routine on that thread under lua_pcall, and drops the anchor
**             unless the routine posted the object again.
**   port      without a routine, on a socket of a completion port, the
**             object stays anchored on the port's queue; the port's wait
**             (lportwait.c) hands it out (lwr_ov_push, lwr_ov_hold), and
**             its next wait drops the anchor (lwr_ov_unhold) unless it was
**             posted again.
**   errors    an error a routine raises goes into the context's reserved
**             slot and interrupts the delivery; lwr_wait_leave raises it
**             again, out of the wait.
*/
#define LWR_HOME_OV            /* the object's fields keep their names */
#include <stdint.h>
#include <string.h>

#include "lbuffer.h"
#include "loverlapped.h"

static lwr_ov *newov(lua_State *L, lwr_ctx *c) {
  lwr_ov *o = (lwr_ov *)lua_newuserdatauv(L, sizeof *o, OV_UVAL_COUNT);
  o->h.tag = LWR_TAG(LWR_T_OV);
  wr_overlapped_init(&o->ov);
  o->ctx = c;
  o->ref = LUA_NOREF;
  o->npins = 0;
  o->held = 0;
  o->uval_sock = o->uval_buf = NULL;
  o->uval_routine = 0;
  luaL_setmetatable(L, LWR_OV);
  return o;
}

/* =====================================================================
** The anchor
** =================================================================== */

/*
** Anchor the object while its operation is outstanding.  An object its own
** routine reposts is still anchored (see lwr_routine): nothing to do, so
** the steady state of a reposting receiver costs no registry traffic.
*/
static void anchor(lua_State *L, lwr_ov *o, int idx) {
  if (o->ref != LUA_NOREF) return;
  lua_pushvalue(L, idx);
  o->ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

/* Drop the anchor, unless a port handed the object out since its last
** wait (lwr_ov_hold): that port's next wait drops it. */
static void unanchor(lua_State *L, lwr_ov *o) {
  if (o->ref != LUA_NOREF && !o->held) {
    luaL_unref(L, LUA_REGISTRYINDEX, o->ref);
    o->ref = LUA_NOREF;
  }
}

/* =====================================================================
** Posting
** =================================================================== */

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
static void pin_bufs(lua_State *L, int idx, int ovidx, lwr_ov *o, size_t n) {
  size_t i;
  o->uval_buf = NULL;
  if (lwr_tobuffer(L, idx)) {
    lua_pushvalue(L, idx);
    lua_setiuservalue(L, ovidx, OV_UVAL_PINS);
    o->npins = 0;
    return;
  }
  if (n == 1) {
    push_item_buffer(L, idx, 0);
    lua_setiuservalue(L, ovidx, OV_UVAL_PINS);
    o->npins = 0;
    return;
  }
  if (lua_getiuservalue(L, ovidx, OV_UVAL_PINS) != LUA_TTABLE) {
    lua_pop(L, 1);
    lua_createtable(L, (int)n, 0);
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, ovidx, OV_UVAL_PINS);
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
** Everything a post needs from the WSABUF array at idx, in one pass: the
** iovecs go into the object's own storage (p->bufs, p->n), the buffers get
** pinned by it.  Returns 0 or WSAEFAULT (bad slice; nothing was pinned).
** A lone buffer -- the common case -- is read and pinned without touching
** any table.
*/
static int take_bufs(lua_State *L, int idx, int argn, int send, lwr_post *p) {
  lwr_buf *b;
  lwr_ov *o = p->o;
  size_t n;
  int r;
  if (send && (idx == 0 || lua_type(L, idx) == LUA_TSTRING)) {
    /* a send reads its data: a string will do (pinned as it is), or none
    ** at all (idx 0: AcceptEx's and ConnectEx's buffers left out) */
    size_t len = 0;
    const char *str = idx ? lua_tolstring(L, idx, &len) : NULL;
    p->bufs = wr_overlapped_bufs(&o->ov, 1);
    WR_WSABUF_SET(p->bufs, (char *)(uintptr_t)str, len);  /* only read */
    if (idx) lua_pushvalue(L, idx);
    else lua_pushnil(L);
    lua_setiuservalue(L, p->ovidx, OV_UVAL_PINS);
    o->uval_buf = NULL;
    o->npins = 0;
    o->ov.headroom = 0;
    p->n = idx ? 1 : 0;
    return 0;
  }
  b = lwr_tobuffer(L, idx);
  /* a whole buffer, alone: the core may use the bytes in front of it
  ** (lwr_newbuffer reserves them) */
  o->ov.headroom = b != NULL;
  if (b != NULL) {
    if (lwr_buf_closed(b)) luaL_argerror(L, argn, "buffer is closed");
    p->bufs = wr_overlapped_bufs(&o->ov, 1);
    WR_WSABUF_SET(p->bufs, lwr_buf_data(b), lwr_buf_len(b));
    if (o->uval_buf != b) {                /* a repost pins nothing new */
      lua_pushvalue(L, idx);
      lua_setiuservalue(L, p->ovidx, OV_UVAL_PINS);
      o->uval_buf = b;
      o->npins = 0;
    }
    p->n = 1;
    return 0;
  }
  n = lwr_count_bufs(L, idx, argn);
  if (n == 1 && lua_rawgeti(L, idx, 1) == LUA_TUSERDATA)
    o->ov.headroom = lwr_tobuffer(L, -1) != NULL;   /* {buf} */
  if (n == 1) lua_pop(L, 1);
  p->bufs = wr_overlapped_bufs(&o->ov, n);
  if (p->bufs == NULL) return luaL_error(L, "not enough memory");
  if ((r = lwr_fill_bufs(L, idx, argn, p->bufs, n)) != 0) return r;
  pin_bufs(L, idx, p->ovidx, o, n);
  p->n = n;
  return 0;
}

/* The object holds the socket (argument 1) and the routine at rtidx (or
** nil); a repost that changes neither sets no user value. */
static void hold_socket_routine(lua_State *L, lwr_ov *o, int ovidx,
                                int rtidx) {
  const void *sock = lua_touserdata(L, 1);
  int routine = !lua_isnil(L, rtidx);
  if (o->uval_sock != sock) {
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, ovidx, OV_UVAL_SOCKET);
    o->uval_sock = sock;
  }
  if (routine || o->uval_routine) {
    lua_pushvalue(L, rtidx);
    lua_setiuservalue(L, ovidx, OV_UVAL_ROUTINE);
    o->uval_routine = routine;
  }
}

/*
** What every overlapped post does before its core call on socket s
** (argument 1): take the object at ovidx (a checked overlapped object, or
** nil: then a new one is made and pushed), check it is free, read and pin
** the WSABUF array at bufidx (type errors raise here, before any failure
** is returned), check s is open, hold the socket and the routine (at
** rtidx, may be nil), anchor the object.  Returns 0 with *p set, or a WSA
** code (nothing anchored, nothing the object holds changed but its pins).
*/
int lwr_ov_begin(lua_State *L, wr_socket *s, int bufidx, int ovidx,
                 int rtidx, int send, lwr_post *p) {
  int r;
  p->o = (lwr_ov *)lua_touserdata(L, ovidx);
  p->ovidx = ovidx;
  if (p->o == NULL) {
    p->o = newov(L, lwr_ctx_get(L));
    p->ovidx = lua_gettop(L);
  }
  if (wr_overlapped_busy(&p->o->ov)) {
    if (!send || (bufidx && lua_type(L, bufidx) != LUA_TSTRING))
      lwr_check_bufs(L, bufidx, 2);          /* still a type error first */
    return lwr_why(L, WSAEINVAL, WR_WHY_BUSY);
  }
  if ((r = take_bufs(L, bufidx, 2, send, p)) != 0) return r;
  if (wr_socket_closed(s)) return WSAENOTSOCK;
  hold_socket_routine(L, p->o, p->ovidx, rtidx);
  anchor(L, p->o, p->ovidx);
  return 0;
}

/*
** After the core call r: 0, bytes, flags (completed at once); the pending
** triple; or the failure, with the bytes it placed if any (the core sets
** `bytes` only then), the anchor dropped since no completion will follow.
*/
int lwr_ov_end(lua_State *L, lwr_ov *o, int r, size_t bytes) {
  if (r == 0) {
    lua_pushinteger(L, 0);
    lua_pushinteger(L, (lua_Integer)o->ov.bytes);
    lua_pushinteger(L, o->ov.flags);
    return 3;
  }
  if (r == WSA_IO_PENDING) return lwr_recv_fail(L, r, 0);
  unanchor(L, o);
  return lwr_recv_fail(L, r, bytes);
}

/* =====================================================================
** Completion and delivery
** =================================================================== */

static int msgh(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    /* an object with __tostring is raised as its text, traceback added,
    ** like any other error (the wait promises a traceback) */
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      msg = lua_tostring(L, -1);
    else
      msg = lua_pushfstring(L, "(error object is a %s value)",
                            luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

/*
** The C completion routine the core calls for every Lua routine, inside an
** alertable wait: routine(err, bytes, ov, flags [, msg]) on the thread
** that waits.
*/
void lwr_routine(unsigned err, size_t bytes, wr_overlapped *ov,
                 unsigned flags) {
  lwr_ov *o = lwr_ov_of(ov);
  lwr_ctx *c = o->ctx;
  lua_State *L = c->L;
  int base, nargs = 4, ovidx;
  /* no stack check: a wait is a C function entered with LUA_MINSTACK
  ** free slots, and it has pushed nothing when routines run */
  lua_pushcfunction(L, msgh);
  base = lua_gettop(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, o->ref);
  ovidx = lua_gettop(L);
  lua_getiuservalue(L, ovidx, OV_UVAL_ROUTINE);
  if (err) lwr_push_error_name(L, err);
  else lua_pushnil(L);
  lua_pushinteger(L, (lua_Integer)bytes);
  lua_pushvalue(L, ovidx);
  lua_pushinteger(L, flags);
  if (wr_overlapped_msg(ov)) {
    lua_getiuservalue(L, ovidx, OV_UVAL_MSG);
    nargs++;
  }
  if (lua_pcall(L, nargs, 0, base) != LUA_OK) {
    if (!c->has_err) {
      lua_rawseti(L, LUA_REGISTRYINDEX, c->err_ref);   /* no allocation */
      c->has_err = 1;
    }
    wr_loop_interrupt(c->loop);
  }
  /* the anchor stays if the routine posted the object again (anchor) */
  if (!wr_overlapped_busy(ov)) unanchor(L, o);
  lua_settop(L, base - 1);
}

/*
** The core signalled an operation that has no routine.  Called from inside
** libuv's poll phase: registry work only, on the main thread's stack.
*/
void lwr_event_hook(wr_overlapped *ov, void *data) {
  lwr_ctx *c = (lwr_ctx *)data;
  unanchor(c->main, lwr_ov_of(ov));
}

/*
** The object of ov, an entry still on a port's queue (so anchored):
** pushed and returned.  Once the port took it, lwr_ov_hold (inline, in
** loverlapped.h: a port's wait calls it for each entry) keeps it
** anchored until lwr_ov_unhold, at that port's next wait: a receiver that
** reposts what it took then costs no registry traffic, and one that drops
** it loses the anchor one wait later.  (Nil and NULL if the entry was
** dropped meanwhile: its anchor is gone.)
*/
lwr_ov *lwr_ov_push(lua_State *L, wr_overlapped *ov) {
  lwr_ov *o = lwr_ov_of(ov);
  if (o->ref == LUA_NOREF) {
    lua_pushnil(L);
    return NULL;
  }
  lua_rawgeti(L, LUA_REGISTRYINDEX, o->ref);
  return o;
}

/* The next wait of the port that handed o out, o idle and held by no
** other port (lwr_ov_unhold): the last hold goes, and the anchor. */
void lwr_ov_unhold_last(lua_State *L, lwr_ov *o) {
  if (--o->held == 0) unanchor(L, o);
}

/* Enter a wait on thread L (waits nest: the caller keeps who waited). */
lua_State *lwr_wait_enter(lwr_ctx *c, lua_State *L) {
  lua_State *saved = c->L;
  c->L = L;
  return saved;
}

/* Leave it; if a routine raised, raise that error again here. */
void lwr_wait_leave(lwr_ctx *c, lua_State *L, lua_State *saved) {
  c->L = saved;
  if (!wr_loop_interrupted(c->loop)) return;
  lua_rawgeti(L, LUA_REGISTRYINDEX, c->err_ref);
  lua_pushboolean(L, 0);
  lua_rawseti(L, LUA_REGISTRYINDEX, c->err_ref);
  c->has_err = 0;
  lua_error(L);
}

/* =====================================================================
** The Lua type
** =================================================================== */

/*** @module wsarecv */

/***
A new overlapped object, the WSAOVERLAPPED of a receive, reusable for one
operation after another.
@function overlapped
@treturn overlapped the object
*/
static int l_overlapped(lua_State *L) {
  newov(L, lwr_ctx_get(L));
  return 1;
}

/***
An overlapped object.  Between its post and the delivery of its
completion it belongs to that operation (posting it again meanwhile gives
`WSAEINVAL`).  Without a routine it is the event `WSAWaitForMultipleEvents`
waits for: signalled from its completion until it is posted again; on a
socket associated with a completion port it completes to the port
instead.  Only `context`, `noport` and `rearm` can be assigned (the
other fields raise `overlapped field 'NAME' is read-only`, other names
`overlapped has no field 'NAME'`, with `did you mean ...?` for a near
one); other names read as nil.  `tostring(ov)` gives its state and, once
completed, bytes, flags and error: `wsarecv.overlapped (idle): 0x...`,
`(pending)`, `(done, 12 bytes)`, `(failed WSAEMSGSIZE, 4 bytes,
MSG_TRUNC)`, with `, not yet delivered` while its routine or port entry
waits.
@type overlapped
*/

/***
The operation is in progress: `true` from the post until it completed
(its routine may still be waiting to run), else `false`.
@field overlapped.pending
*/

/***
Bytes placed, once completed (nil before).
@field overlapped.bytes
*/

/***
Output flags, once completed (nil before).
@field overlapped.flags
*/

/***
Once completed: the WSA error name of a failed operation, nil for a
success (and nil before).
@field overlapped.error
*/

/***
Free for the program (the "hEvent as context" idiom): any Lua value, kept
until replaced; nil at first.
@field overlapped.context
*/

/***
The msg of the object's last operation when it was a WSARecvMsg (nil
before, and for a WSARecv): how a completion port's entry reaches its
message.
@field overlapped.msg
*/

/***
A boolean, false at first: true keeps the object's completions off its
socket's completion port (Windows' low bit of hEvent); it is signalled
instead, for WSAGetOverlappedResult.  Assigning anything but a boolean
raises.
@field overlapped.noport
*/

/***
A boolean, false at first: true has a completion port post the object
again, with the same socket, buffers, flags and msg, when the port's next
wait begins after each of its entries was taken (not after
`WSA_OPERATION_ABORTED`, a stream failure, the end of a stream, or for
`MSG_WAITALL`).  Setting it false on an object waiting to be reposted
frees the object at once.  Assigning anything but a boolean raises.
@field overlapped.rearm
*/
/*
** A pending object's completion may already be in the kernel's completion
** ring (the io_uring engine): let it land before answering, as Windows'
** HasOverlappedIoCompleted reads what the kernel wrote.  No syscall.
*/
static void peek(lua_State *L, const lwr_ov *o) {
  if (o->ov.state == WR_OV_PENDING) {
    lwr_ctx *c = lwr_ctx_get(L);
    if (c->loop) wr_loop_peek(c->loop);
  }
}

/* ov.field: one comparison per field on the hot path (ov.context) */
static int l_ov_index(lua_State *L) {
  lwr_ov *o = lwr_checkov(L, 1);
  const char *k = lua_tostring(L, 2);
  int done;
  peek(L, o);
  done = o->ov.state == WR_OV_DONE;
  if (k == NULL) {
    lua_pushnil(L);
  } else if (k[0] == 'c' && strcmp(k, "context") == 0) {
    lua_getiuservalue(L, 1, OV_UVAL_CONTEXT);
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
  } else if (k[0] == 'm' && strcmp(k, "msg") == 0) {
    if (wr_overlapped_msg(&o->ov)) lua_getiuservalue(L, 1, OV_UVAL_MSG);
    else lua_pushnil(L);
  } else if (k[0] == 'n' && strcmp(k, "noport") == 0) {
    lua_pushboolean(L, ((uintptr_t)o->ov.hEvent & WR_NOPORT) != 0);
  } else if (k[0] == 'r' && strcmp(k, "rearm") == 0) {
    lua_pushboolean(L, wr_overlapped_rearmed(&o->ov));
  } else {
    lua_pushnil(L);
  }
  return 1;
}

/* The fields an object reads (l_ov_index): the names a typo is near. */
static const char *const fields[] = {"pending", "bytes", "flags", "error",
  "context", "msg", "noport", "rearm", NULL};

/*
** ov.context = anything; ov.noport = boolean: the low bit of hEvent, which
** keeps a completion off the socket's port (Windows' convention); ov.rearm
** = boolean: a port reposts the object after each of its entries
** (wr_overlapped_rearm).
*/
static int l_ov_newindex(lua_State *L) {
  lwr_ov *o = lwr_checkov(L, 1);
  const char *k = luaL_checkstring(L, 2);
  if (strcmp(k, "context") == 0) {
    lua_settop(L, 3);
    lua_setiuservalue(L, 1, OV_UVAL_CONTEXT);
  } else if (strcmp(k, "noport") == 0) {
    uintptr_t h = (uintptr_t)o->ov.hEvent & ~WR_NOPORT;
    luaL_checktype(L, 3, LUA_TBOOLEAN);
    o->ov.hEvent = (void *)(h | (lua_toboolean(L, 3) ? WR_NOPORT : 0));
  } else if (strcmp(k, "rearm") == 0) {
    luaL_checktype(L, 3, LUA_TBOOLEAN);
    wr_overlapped_rearm(&o->ov, lua_toboolean(L, 3));
    /* no longer waiting to be reposted: its anchor may go */
    if (!wr_overlapped_busy(&o->ov)) unanchor(L, o);
  } else if (lwr_inlist(k, fields)) {
    return luaL_error(L, "overlapped field '%s' is read-only", k);
  } else {
    return lwr_nofield(L, "overlapped", k, fields);   /* a typo, likely */
  }
  return 0;
}

/*
** Collected: only possible when nothing is pending (a pending object is
** anchored), or while the state closes; then unlink it from the core.
*/
static int l_ov_gc(lua_State *L) {
  lwr_ov *o = lwr_checkov(L, 1);
  wr_overlapped_forget(&o->ov);
  return 0;
}

/* ", MSG_TRUNC|MSG_PARTIAL" for the output flags set in f, into b. */
static void add_flags(luaL_Buffer *b, unsigned f) {
  static const struct { unsigned bit; const char *name; } names[] = {
    {WR_MSG_OOB, "MSG_OOB"}, {WR_MSG_PEEK, "MSG_PEEK"},
    {WR_MSG_WAITALL, "MSG_WAITALL"}, {WR_MSG_TRUNC, "MSG_TRUNC"},
    {WR_MSG_CTRUNC, "MSG_CTRUNC"}, {WR_MSG_BCAST, "MSG_BCAST"},
    {WR_MSG_MCAST, "MSG_MCAST"}, {WR_MSG_PARTIAL, "MSG_PARTIAL"}
  };
  const char *sep = ", ";
  size_t i;
  for (i = 0; i < sizeof names / sizeof names[0]; i++)
    if (f & names[i].bit) {
      luaL_addstring(b, sep);
      luaL_addstring(b, names[i].name);
      sep = "|";
    }
}

/*
** What a person at the REPL wants to know: idle, pending, or done with its
** bytes and flags, or failed with its error (and the bytes it placed);
** "not yet delivered" while its routine or its port entry waits.
*/
static int l_ov_tostring(lua_State *L) {
  lwr_ov *o = lwr_checkov(L, 1);
  const wr_overlapped *ov = &o->ov;
  luaL_Buffer b;
  peek(L, o);
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "wsarecv.overlapped (");
  if (ov->state == WR_OV_IDLE) luaL_addstring(&b, "idle");
  else if (ov->state == WR_OV_PENDING) luaL_addstring(&b, "pending");
  else {
    luaL_addstring(&b, ov->error ? "failed " : "done");
    if (ov->error) {
      lwr_push_error_name(L, ov->error);
      luaL_addvalue(&b);
    }
    if (!ov->error || ov->bytes > 0) {
      lua_pushfstring(L, ", %I byte%s", (lua_Integer)ov->bytes,
                      ov->bytes == 1 ? "" : "s");
      luaL_addvalue(&b);
    }
    add_flags(&b, ov->flags);
    if (wr_overlapped_busy(ov)) luaL_addstring(&b, ", not yet delivered");
  }
  lua_pushfstring(L, "): %p", (void *)o);
  luaL_addvalue(&b);
  luaL_pushresult(&b);
  return 1;
}

static const luaL_Reg meta[] = {
  {"__index", l_ov_index},
  {"__newindex", l_ov_newindex},
  {"__gc", l_ov_gc},
  {"__tostring", l_ov_tostring},
  {NULL, NULL}
};

static const luaL_Reg ctors[] = {
  {"overlapped", l_overlapped},
  {NULL, NULL}
};

void lwr_open_overlapped(lua_State *L) {
  lwr_register(L, LWR_OV, meta, NULL, ctors);
}
