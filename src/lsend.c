/*
** lsend.c -- the sending half of a wsarecv.socket: WSASend, WSASendTo,
** WSASendMsg, and the connection makers AcceptEx and ConnectEx.
**
** Exports: the five socket methods above, which lwr_open_send (lsend.h,
**          for the module) adds to the socket's method table.
**
** They take their arguments as the receives do (lrecv.c): a send with
** neither an overlapped object nor a routine is nonoverlapped and reads
** its WSABUFs in place on the C stack; any other goes through the object
** (loverlapped.c), which pins what the kernel reads until the completion
** is delivered.  A send also takes a string as its data.  All arguments
** are checked first: mistakes raise, on an open or a closed socket alike.
*/
#include <stdint.h>
#include <string.h>

#include "lbuffer.h"
#include "lmsg.h"
#include "loverlapped.h"
#include "lsend.h"
#include "lsocket.h"

/* WSABUFs a nonoverlapped send reads without a userdata */
#define STACK_BUFS 16

/* The optional overlapped object at ovidx and routine at ovidx + 1: raise
** on a wrong type; 1 when the call is overlapped. */
static int check_ov_routine(lua_State *L, int ovidx) {
  int has_ov = !lua_isnoneornil(L, ovidx);
  int has_routine = !lua_isnoneornil(L, ovidx + 1);
  if (has_ov) lwr_checkov(L, ovidx);
  if (has_routine) luaL_checktype(L, ovidx + 1, LUA_TFUNCTION);
  return has_ov || has_routine;
}

/* The flags at idx (nil: 0), or raise. */
static unsigned opt_flags(lua_State *L, int idx) {
  return lwr_flags(luaL_optinteger(L, idx, 0));
}

/* The data at idx (a string, a buffer, or a WSABUF array) checked for
** type now, as a post will take it. */
static void check_data(lua_State *L, int idx) {
  if (lua_type(L, idx) != LUA_TSTRING) lwr_check_bufs(L, idx, 2);
}

/*
** A nonoverlapped send of the data at idx: to (NULL: none) and m (a
** WSASendMsg's) as wr_send takes them.  -> 0, bytes | nil, name, code
*/
static int send_now(lua_State *L, wr_socket *s, int idx, unsigned flags,
                    const struct sockaddr *to, socklen_t tolen, wr_msg *m) {
  wr_wsabuf stackbufs[STACK_BUFS], *iov = stackbufs;
  size_t n = 1, bytes = 0, len;
  int r;
  if (lua_type(L, idx) == LUA_TSTRING) {
    const char *str = lua_tolstring(L, idx, &len);
    WR_WSABUF_SET(iov, (char *)(uintptr_t)str, len);    /* only read */
  } else {
    n = lwr_count_bufs(L, idx, 2);
    if (n > STACK_BUFS)
      iov = (wr_wsabuf *)lua_newuserdatauv(L, n * sizeof *iov, 0);
    if ((r = lwr_fill_bufs(L, idx, 2, iov, n)) != 0) return lwr_fail(L, r);
  }
  LWR_CHECK_OPEN(L, s);
  r = wr_send(s, iov, n, flags, to, tolen, m, &bytes, NULL, NULL);
  if (r) return lwr_recv_fail(L, r, bytes);
  lua_pushinteger(L, 0);
  lua_pushinteger(L, (lua_Integer)bytes);
  lua_pushinteger(L, 0);
  return 3;
}

/* An overlapped send of the data at idx on the object at ovidx. */
static int send_ov(lua_State *L, wr_socket *s, int idx, unsigned flags,
                   const struct sockaddr *to, socklen_t tolen, wr_msg *m,
                   int ovidx) {
  size_t bytes = 0;
  lwr_post p;
  int r;
  if ((r = lwr_ov_begin(L, s, idx, ovidx, ovidx + 1, 1, &p)) != 0)
    return lwr_fail(L, r);
  r = wr_send(s, p.bufs, p.n, flags, to, tolen, m, &bytes, lwr_ov_core(p.o),
              lua_isnil(L, ovidx + 1) ? NULL : lwr_routine);
  return lwr_ov_end(L, p.o, r, bytes);
}

/*** @module wsarecv */

/*** @type socket */

/***
Send the data in a WSABUF array: WSASend.  Nonoverlapped when `ov` and
`routine` are both nil: it blocks until every byte was taken (a stream)
or the datagram went, unless `FIONBIO` (then `WSAEWOULDBLOCK`, or the
bytes that fitted).  Otherwise overlapped, completed the way `WSARecv`
is (a routine, the signalled object, or the socket's port), even when
done at once.  Sends posted on one socket go out in posting order and
never interleave; a stream send completes when all its bytes were taken.
@function socket:WSASend
@param buffers a string, a buffer, or an array of buffers and `{buf,
offset, length}` slices
@tparam[opt=0] int flags `MSG_OOB` (stream sockets), `MSG_DONTROUTE`
@tparam[opt] overlapped ov the overlapped object
@tparam[opt] function routine the completion routine `(err, bytes, ov,
flags)`
@treturn[1] int 0: done at once (overlapped: the completion follows)
@treturn[1] int the bytes sent
@treturn[1] int 0 (the output flags)
@return[2] nil: started, completes later
@treturn[2] string `"WSA_IO_PENDING"`
@treturn[2] int 997
@return[3] nil: failed (no completion follows)
@treturn[3] string the WSA error name: `WSAENOTCONN`, `WSAESHUTDOWN`,
`WSAECONNRESET`, `WSAEMSGSIZE` (a datagram too big: nothing sent),
`WSAEOPNOTSUPP` (flags), `WSAEINVAL` (ov busy; a routine on a socket of
a completion port), `WSAEWOULDBLOCK`, `WSAENOTSOCK`...
@treturn[3] int its code
@treturn[3] int the bytes sent before the failure, when there were any
@raise a wrong type
*/
static int l_WSASend(lua_State *L) {
  wr_socket *s = lwr_checksocket(L, 1);
  unsigned flags = opt_flags(L, 3);
  int overlapped = check_ov_routine(L, 4);
  check_data(L, 2);
  if (!overlapped) return send_now(L, s, 2, flags, NULL, 0, NULL);
  lua_settop(L, 5);
  return send_ov(L, s, 2, flags, NULL, 0, NULL, 4);
}

/***
Send a datagram to an address: WSASendTo.  As `WSASend`, with the
destination; an unbound socket is bound implicitly.
@function socket:WSASendTo
@param buffers as `WSASend`'s
@tparam[opt=0] int flags as `WSASend`'s
@tparam string addr the destination (a path on a unix socket)
@tparam int|nil port 0..65535 (nil on a unix socket)
@tparam[opt] overlapped ov the overlapped object
@tparam[opt] function routine the completion routine
@return as `WSASend`; also the address failures of `bind`
@raise a wrong type; a port out of range
*/
static int l_WSASendTo(lua_State *L) {
  wr_socket *s = lwr_checksocket(L, 1);
  unsigned flags = opt_flags(L, 3);
  struct sockaddr_storage sa;
  socklen_t len;
  lwr_addr_arg a;
  int overlapped, r;
  lwr_check_addr(L, s, 4, &a);
  overlapped = check_ov_routine(L, 6);
  check_data(L, 2);
  lua_settop(L, 7);
  LWR_CHECK_OPEN(L, s);
  if ((r = lwr_parse_addr(s, &a, &sa, &len)) != 0) return lwr_fail(L, r);
  if (!overlapped)
    return send_now(L, s, 2, flags, (struct sockaddr *)&sa, len, NULL);
  return send_ov(L, s, 2, flags, (struct sockaddr *)&sa, len, NULL, 6);
}

/* The msg's destination (msg.to) into m->name, for the socket s: 0 or
** the WSA code of the address. */
static int msg_to(lua_State *L, wr_socket *s, wr_msg *m) {
  lwr_addr_arg a;
  int r = 0;
  m->namelen = 0;
  if (lua_getiuservalue(L, 2, MSG_UVAL_TO) == LUA_TTABLE) {
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    a.text = lua_tostring(L, -2);
    a.port = (int)lua_tointeger(L, -1);
    if (a.port < 0 || a.port > 65535) r = WSAEINVAL;
    else r = lwr_parse_addr(s, &a, &m->name, &m->namelen);
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
  return r;
}

/***
Send one message with its destination and control messages: WSASendMsg
(datagram and raw sockets).  The destination is `msg.to` (nil: the
connected peer), the data `msg.buffers`, the control messages those
`msg.control` was set to (an array of tables shaped like
`msg:control()`'s entries: `IP_PKTINFO` and `IPV6_PKTINFO` with `addr`,
the source address, and `ifindex`; `IP_TOS`, `IPV6_TCLASS`, `IP_TTL`,
`IPV6_HOPLIMIT` with `value`).  `msg.flags` is not read.  The same three
forms and results as `WSASend`; the routine gets the msg fifth.
@function socket:WSASendMsg
@tparam msg msg the WSAMSG
@tparam[opt=0] int flags `MSG_DONTROUTE`
@tparam[opt] overlapped ov the overlapped object
@tparam[opt] function routine the completion routine
@return as `WSASend`; `WSAEOPNOTSUPP` on a stream socket, `WSAEINVAL`
while the msg is pending
@raise a wrong type
*/
static int l_WSASendMsg(lua_State *L) {
  wr_socket *s = lwr_checksocket(L, 1);
  lwr_msg *mo = lwr_checkmsg(L, 2);
  wr_msg *m = lwr_msg_core(mo);
  unsigned flags = opt_flags(L, 3);
  int overlapped = check_ov_routine(L, 4);
  int r, bi;
  const wr_msg *prev;
  size_t bytes = 0;
  lwr_post p;
  lua_settop(L, 5);
  lua_getiuservalue(L, 2, MSG_UVAL_BUFFERS);
  bi = lua_gettop(L);
  check_data(L, bi);
  if (wr_msg_pending(m))
    return lwr_fail(L, lwr_why(L, WSAEINVAL, WR_WHY_MSG_BUSY));
  LWR_CHECK_OPEN(L, s);
  if ((r = msg_to(L, s, m)) != 0) return lwr_fail(L, r);
  if (!overlapped) return send_now(L, s, bi, flags, NULL, 0, m);
  if ((r = lwr_ov_begin(L, s, bi, 4, 5, 1, &p)) != 0) return lwr_fail(L, r);
  prev = wr_overlapped_msg(lwr_ov_core(p.o));
  r = wr_send(s, p.bufs, p.n, flags, NULL, 0, m, &bytes, lwr_ov_core(p.o),
              lua_isnil(L, 5) ? NULL : lwr_routine);
  if ((r == 0 || r == WSA_IO_PENDING) && prev != m) {
    lua_pushvalue(L, 2);          /* the object refers to the msg: keep it */
    lua_setiuservalue(L, p.ovidx, OV_UVAL_MSG);
  }
  return lwr_ov_end(L, p.o, r, bytes);
}

/***
Accept the next connection into `sock`: AcceptEx, on the listener.
`sock` is a fresh socket of the listener's family and type, made by the
caller (unbound, unconnected, nothing pending), as Windows requires.
Once the operation completes `sock` is the connection: `getpeername`,
`getsockname`, sends and receives work.  The operation belongs to the
listener: its port entry carries the listener's key, `CancelIoEx` on the
listener ends it (on `sock`: `ERROR_NOT_FOUND`), closing either socket
aborts it.  Accepts pending on one listener complete in posting order.
@function socket:AcceptEx
@tparam socket sock the accept socket
@param[opt] buffers nil (completes on the connection), or a buffer, a
slice or an array that receives the first data: it completes once data
came (bytes: how much) or the peer closed (0)
@tparam[opt] overlapped ov the overlapped object (a fresh one when only a
routine is given)
@tparam[opt] function routine the completion routine
@treturn[1] nil: started, completes later
@treturn[1] string `"WSA_IO_PENDING"`
@treturn[1] int 997
@return[2] 0, bytes, 0: done at once (the completion follows)
@return[3] nil, name, code: failed, no completion follows: `WSAEINVAL`
(not listening; `sock` bound, connected, busy or of another family or
type), `WSAEOPNOTSUPP` (a datagram socket), `WSA_INVALID_PARAMETER`
(neither `ov` nor a routine)
@raise a wrong type
*/
static int l_AcceptEx(lua_State *L) {
  wr_socket *ls = lwr_checksocket(L, 1);
  wr_socket *as = lwr_checksocket(L, 2);
  int bufidx = lua_isnoneornil(L, 3) ? 0 : 3;
  int overlapped = check_ov_routine(L, 4);
  size_t bytes = 0;
  lwr_post p;
  int r;
  if (bufidx) lwr_check_bufs(L, 3, 3);
  lua_settop(L, 5);
  LWR_CHECK_OPEN(L, ls);
  if (!overlapped)
    return lwr_fail(L, lwr_why(L, WSA_INVALID_PARAMETER, "AcceptEx needs an "
                               "overlapped object or a routine"));
  if ((r = lwr_ov_begin(L, ls, bufidx, 4, 5, 1, &p)) != 0)
    return lwr_fail(L, r);
  r = wr_accept_ex(ls, as, p.bufs, p.n, &bytes, lwr_ov_core(p.o),
                   lua_isnil(L, 5) ? NULL : lwr_routine);
  if (r == 0 || r == WSA_IO_PENDING) {
    lua_pushvalue(L, 2);          /* the accept socket lives as long */
    lua_setiuservalue(L, p.ovidx, OV_UVAL_PEER);
  }
  return lwr_ov_end(L, p.o, r, bytes);
}

/***
Connect, then send `buffers`: ConnectEx (stream sockets).  The socket
must be bound first (to any address: `sock:bind("*", 0)`).  It returns
`WSA_IO_PENDING` even on loopback, as Windows does; the outcome (0, or
`WSAECONNREFUSED`, `WSAETIMEDOUT`, `WSAENETUNREACH`...) comes through
the completion, whose bytes say how much of `buffers` was sent.
@function socket:ConnectEx
@tparam string addr the peer (a path on a unix socket)
@tparam int|nil port 0..65535 (nil on a unix socket)
@param[opt] buffers nil, or data to send once connected (as `WSASend`'s)
@tparam[opt] overlapped ov the overlapped object
@tparam[opt] function routine the completion routine
@treturn[1] nil: started, completes later
@treturn[1] string `"WSA_IO_PENDING"`
@treturn[1] int 997
@return[2] nil, name, code: failed, no completion follows: `WSAEINVAL`
(not bound), `WSAEISCONN`, `WSAEALREADY` (a ConnectEx pending),
`WSAEOPNOTSUPP` (a datagram socket), `WSA_INVALID_PARAMETER` (neither
`ov` nor a routine); the address failures of `bind`
@raise a wrong type; a port out of range
*/
static int l_ConnectEx(lua_State *L) {
  wr_socket *s = lwr_checksocket(L, 1);
  struct sockaddr_storage sa;
  socklen_t len;
  lwr_addr_arg a;
  int bufidx = lua_isnoneornil(L, 4) ? 0 : 4;
  int overlapped, r;
  size_t bytes = 0;
  lwr_post p;
  lwr_check_addr(L, s, 2, &a);
  overlapped = check_ov_routine(L, 5);
  if (bufidx) check_data(L, 4);
  lua_settop(L, 6);
  LWR_CHECK_OPEN(L, s);
  if (!overlapped)
    return lwr_fail(L, lwr_why(L, WSA_INVALID_PARAMETER, "ConnectEx needs "
                               "an overlapped object or a routine"));
  if ((r = lwr_parse_addr(s, &a, &sa, &len)) != 0) return lwr_fail(L, r);
  if ((r = lwr_ov_begin(L, s, bufidx, 5, 6, 1, &p)) != 0)
    return lwr_fail(L, r);
  r = wr_connect_ex(s, (struct sockaddr *)&sa, len, p.bufs, p.n, &bytes,
                    lwr_ov_core(p.o), lua_isnil(L, 6) ? NULL : lwr_routine);
  return lwr_ov_end(L, p.o, r, bytes);
}

static const luaL_Reg methods[] = {
  {"WSASend", l_WSASend},
  {"WSASendTo", l_WSASendTo},
  {"WSASendMsg", l_WSASendMsg},
  {"AcceptEx", l_AcceptEx},
  {"ConnectEx", l_ConnectEx},
  {NULL, NULL}
};

void lwr_open_send(lua_State *L) {
  lwr_add_methods(L, LWR_SOCKET, methods);
}
