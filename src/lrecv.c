/*
** lrecv.c -- the receive calls of a wsarecv.socket: WSARecv, WSARecvMsg,
** WSAGetOverlappedResult and CancelIoEx.
**
** Exports: the four socket methods above, which lwr_open_recv (lrecv.h,
**          for the module) adds to the socket's method table, beside the
**          BSD calls of lsocket.c.
**
** A receive with neither an overlapped object nor a routine is
** nonoverlapped: its WSABUF array is read into iovecs on the C stack and
** the call returns the data (or blocks, or fails) at once.  Any other is
** overlapped: the object takes the array and lives on until its completion
** is delivered (loverlapped.c traces that way).  Either way the arguments
** are all checked first, and mistakes raise, on an open or a closed socket
** alike.
*/
#include "lbuffer.h"
#include "lmsg.h"
#include "loverlapped.h"
#include "lrecv.h"
#include "lsocket.h"

/* WSABUFs a nonoverlapped receive reads without a userdata */
#define STACK_BUFS 16

/*
** A nonoverlapped receive into the WSABUF array at bufidx: m is the WSAMSG
** of a WSARecvMsg (its flags are the output), NULL for a WSARecv (flags
** in and out).  -> 0, bytes, flags | nil, name, code [, bytes]
*/
static int recv_now(lua_State *L, wr_socket *s, int bufidx, wr_msg *m,
                    unsigned flags) {
  wr_wsabuf stackbufs[STACK_BUFS], *iov = stackbufs;
  size_t n = lwr_count_bufs(L, bufidx, 2), bytes = 0;
  int r;
  if (n > STACK_BUFS)
    iov = (wr_wsabuf *)lua_newuserdatauv(L, n * sizeof *iov, 0);
  if ((r = lwr_fill_bufs(L, bufidx, 2, iov, n)) != 0) return lwr_fail(L, r);
  LWR_CHECK_OPEN(L, s);
  if (m) r = wr_recvmsg(s, m, iov, n, &bytes, NULL, NULL);
  else r = wr_recv(s, iov, n, &bytes, &flags, NULL, NULL);
  if (r) return lwr_recv_fail(L, r, bytes);
  lua_pushinteger(L, 0);
  lua_pushinteger(L, (lua_Integer)bytes);
  lua_pushinteger(L, m ? m->flags : flags);
  return 3;
}

/*** @module wsarecv */

/*** @type socket */

/***
Receive into a WSABUF array: WSARecv.  Nonoverlapped when `ov` and
`routine` are both nil: it blocks until data came (or `FIONBIO`,
`SO_RCVTIMEO`).  Otherwise overlapped: it returns at once and the
completion is delivered exactly once, later, even when it completed at
once: `routine(err, bytes, ov, flags)` runs in the next alertable wait,
or (event style, no routine) `ov` is signalled.  Up to `MAX_PENDING`
operations per socket, filled in posting order.
@function socket:WSARecv
@param buffers a buffer, or an array of buffers and `{buf, offset, length}`
slices (offset 0-based), or `{}` (zero-byte receive)
@tparam[opt=0] int flags input flags: `MSG_OOB`, `MSG_PEEK`
(nonoverlapped only), `MSG_WAITALL`, `MSG_PUSH_IMMEDIATE`, `MSG_PARTIAL`
@tparam[opt] overlapped ov the overlapped object (a fresh one when a
routine is given without it)
@tparam[opt] function routine the completion routine `(err, bytes, ov,
flags)`; err is nil or the WSA error name
@treturn[1] int 0: completed at once (overlapped: the completion follows)
@treturn[1] int the bytes placed
@treturn[1] int the output flags
@return[2] nil: started, completes later
@treturn[2] string `"WSA_IO_PENDING"`
@treturn[2] int 997
@return[3] nil: failed (no completion follows)
@treturn[3] string the WSA error name: `WSAENOTSOCK`, `WSAESHUTDOWN`,
`WSAEOPNOTSUPP` (flags), `WSAEINVAL` (ov busy; datagram socket not bound;
a routine on a socket of a completion port, which never runs),
`WSAEFAULT` (a slice outside its buffer), `WSAENOBUFS` (over 1024
buffers), `WSAEWOULDBLOCK`, `WSAEMSGSIZE`, `WSAECONNRESET`...
@treturn[3] int its code
@treturn[3] int the bytes placed, when there were any (always for
`WSAEMSGSIZE`)
@raise a wrong type: buffers, a slice's fields, flags, ov, routine; a
closed buffer
*/
static int l_WSARecv(lua_State *L) {
  wr_socket *s = lwr_checksocket(L, 1);
  int has_ov = !lua_isnoneornil(L, 4);
  int has_routine = !lua_isnoneornil(L, 5);
  int isint, r;
  lua_Integer fl = lua_tointegerx(L, 3, &isint);
  unsigned flags;
  size_t bytes = 0;
  lwr_post p;
  if (!isint) fl = luaL_optinteger(L, 3, 0);          /* nil, or raise */
  flags = lwr_flags(fl);
  if (has_ov) lwr_checkov(L, 4);
  if (has_routine) luaL_checktype(L, 5, LUA_TFUNCTION);
  if (!has_ov && !has_routine) return recv_now(L, s, 2, NULL, flags);
  lua_settop(L, 5);
  if ((r = lwr_ov_begin(L, s, 2, 4, 5, 0, &p)) != 0) return lwr_fail(L, r);
  r = wr_recv(s, p.bufs, p.n, &bytes, &flags, lwr_ov_core(p.o),
              has_routine ? lwr_routine : NULL);
  return lwr_ov_end(L, p.o, r, bytes);
}

/***
Receive one message with its source address and control messages:
WSARecvMsg (datagram and raw sockets).  The same three forms and results
as `WSARecv`, the output flags being `msg.flags` (`MSG_TRUNC`,
`MSG_CTRUNC`, `MSG_BCAST`, `MSG_MCAST`); the routine gets the msg fifth,
`routine(err, bytes, ov, flags, msg)`.
@function socket:WSARecvMsg
@tparam msg msg the WSAMSG: its buffers, control buffer and input flags
(0, or `MSG_PEEK` nonoverlapped)
@tparam[opt] overlapped ov the overlapped object
@tparam[opt] function routine the completion routine
@treturn[1] int 0: completed at once (overlapped: the completion follows)
@treturn[1] int the bytes placed
@treturn[1] int the output flags
@return[2] nil: started, completes later
@treturn[2] string `"WSA_IO_PENDING"`
@treturn[2] int 997
@return[3] nil: failed (no completion follows)
@treturn[3] string the WSA error name: as `WSARecv`'s; `WSAEOPNOTSUPP` on
a stream socket or with other flags; `WSAEMSGSIZE` when the data or the
control messages did not fit; `WSAEINVAL` when msg is still pending
@treturn[3] int its code
@treturn[3] int the bytes placed, when there were any (always for
`WSAEMSGSIZE`)
@raise a wrong type
*/
static int l_WSARecvMsg(lua_State *L) {
  wr_socket *s = lwr_checksocket(L, 1);
  lwr_msg *mo = lwr_checkmsg(L, 2);
  wr_msg *m = lwr_msg_core(mo);
  lwr_buf *ctl = lwr_msg_control(mo);
  int has_ov = !lua_isnoneornil(L, 3);
  int has_routine = !lua_isnoneornil(L, 4);
  int r, bi;
  size_t bytes = 0;
  const wr_msg *prev;
  lwr_post p;
  if (has_ov) lwr_checkov(L, 3);
  if (has_routine) luaL_checktype(L, 4, LUA_TFUNCTION);
  lua_settop(L, 4);
  if (ctl && lwr_buf_closed(ctl))
    return luaL_argerror(L, 2, "msg's control buffer is closed");
  lua_getiuservalue(L, 2, MSG_UVAL_BUFFERS);
  bi = lua_gettop(L);
  if (!has_ov && !has_routine) return recv_now(L, s, bi, m, 0);
  if (wr_msg_pending(m)) {
    lwr_check_bufs(L, bi, 2);                 /* still a type error first */
    return lwr_fail(L, lwr_why(L, WSAEINVAL, WR_WHY_MSG_BUSY));
  }
  if ((r = lwr_ov_begin(L, s, bi, 3, 4, 0, &p)) != 0) return lwr_fail(L, r);
  prev = wr_overlapped_msg(lwr_ov_core(p.o));
  r = wr_recvmsg(s, m, p.bufs, p.n, &bytes, lwr_ov_core(p.o),
                 has_routine ? lwr_routine : NULL);
  if ((r == 0 || r == WSA_IO_PENDING) && prev != m) {
    /* the object now refers to this msg (ov->msg): keep it alive.  Set
    ** only after a post that started (a failed one clears ov->msg), and
    ** only when it changes: while ov->msg is set, user value 5 holds it */
    lua_pushvalue(L, 2);
    lua_setiuservalue(L, p.ovidx, OV_UVAL_MSG);
  }
  return lwr_ov_end(L, p.o, r, bytes);
}

/***
The result of the operation on `ov`, posted on this socket.  While it is
pending: with `wait` false, let I/O progress once and report
`WSA_IO_INCOMPLETE`; with `wait` true, block (not alertably) until it
completes.
@function socket:WSAGetOverlappedResult
@tparam overlapped ov the object
@tparam[opt=false] bool wait block until the operation completes
@treturn[1] int the bytes placed
@treturn[1] int the output flags
@return[2] nil
@treturn[2] string `WSA_IO_INCOMPLETE` (still pending), `WSAEINVAL`
(never posted, posted on another socket, or `wait` with a routine),
`WSAEINTR` (SIGINT ended the wait: still pending), or the operation's own
failure
@treturn[2] int its code
@treturn[2] int the bytes placed by a failed operation, when any (always
for `WSAEMSGSIZE`)
*/
static int l_WSAGetOverlappedResult(lua_State *L) {
  wr_socket *s = lwr_checksocket(L, 1);
  lwr_ov *o = lwr_checkov(L, 2);
  int wait = lua_toboolean(L, 3);
  size_t bytes = 0;
  unsigned flags = 0;
  int r = wr_get_overlapped_result(s, lwr_ov_core(o), &bytes, wait, &flags);
  if (r) return lwr_recv_fail(L, r, r == WSA_IO_INCOMPLETE ? 0 : bytes);
  lua_pushinteger(L, (lua_Integer)bytes);
  lua_pushinteger(L, flags);
  return 2;
}

/***
Cancel the operation on `ov`, or all the socket's pending operations,
and the objects waiting on the socket's port to be rearmed (`ov.rearm`).
Each cancelled one completes once with `WSA_OPERATION_ABORTED`, having
consumed no data; its routine runs in the next alertable wait, a port's
object goes to the port (after the receives, and is not rearmed).
@function socket:CancelIoEx
@tparam[opt] overlapped ov the operation to cancel (default: all)
@treturn[1] int 0
@return[2] nil
@treturn[2] string `"ERROR_NOT_FOUND"`: nothing matched
@treturn[2] int 1168
*/
static int l_CancelIoEx(lua_State *L) {
  wr_socket *s = lwr_checksocket(L, 1);
  lwr_ov *o = lua_isnoneornil(L, 2) ? NULL : lwr_checkov(L, 2);
  int r;
  LWR_CHECK_OPEN(L, s);
  r = wr_cancel(s, o ? lwr_ov_core(o) : NULL);
  if (r) return lwr_fail(L, r);
  lua_pushinteger(L, 0);
  return 1;
}

static const luaL_Reg methods[] = {
  {"WSARecv", l_WSARecv},
  {"WSARecvMsg", l_WSARecvMsg},
  {"WSAGetOverlappedResult", l_WSAGetOverlappedResult},
  {"CancelIoEx", l_CancelIoEx},
  {NULL, NULL}
};

void lwr_open_recv(lua_State *L) {
  lwr_add_methods(L, LWR_SOCKET, methods);
}
