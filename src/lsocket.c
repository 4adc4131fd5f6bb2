/*
** lsocket.c -- wsarecv.socket: the socket type and its BSD calls.
**
** Exports: socket, wrap (constructors); methods bind, connect, listen,
**          accept, send, sendto, shutdown, getsockname, getpeername,
**          fileno, close, pending (beside them, loptions.c adds the
**          options, setsockopt and getsockopt, lrecv.c the receive
**          calls, WSARecv, WSARecvMsg, WSAGetOverlappedResult, CancelIoEx,
**          and lsend.c WSASend, WSASendTo, WSASendMsg, AcceptEx,
**          ConnectEx);
**          __gc, __close, __tostring.  For the module (lsocket.h):
**          lwr_open_socket, lwr_check_addr, lwr_parse_addr; inline: (in
**          lsocket.h, for every file taking
**          a socket) lwr_checksocket.
**
** Each method checks all its arguments first (mistakes raise, on an open
** or a closed socket alike), then the socket's state, calls one core
** function, and turns its WSA code into `nil, name, code`.  Integers that
** C keeps in a narrower type are range-checked, never truncated; strings
** C reads up to a zero may not contain one.
*/
#define LWR_HOME_SOCKET        /* the socket's fields keep their names */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#ifndef _WIN32
#include <sys/socket.h>
#include <netinet/in.h>
#endif

#include "lsocket.h"

static lwr_sock *tosock(lua_State *L, int idx) {
  return (lwr_sock *)lwr_checktype(L, idx, LWR_T_SOCKET);
}

/* Create the userdata closed first, then give it its socket. */
static lwr_sock *newsock(lua_State *L) {
  lwr_sock *so = (lwr_sock *)lua_newuserdatauv(L, sizeof *so, SOCK_UVAL_COUNT);
  so->h.tag = LWR_TAG(LWR_T_SOCKET);
  so->s = NULL;
  luaL_setmetatable(L, LWR_SOCKET);
  return so;
}

static int push_addr(lua_State *L, const struct sockaddr_storage *sa,
                     socklen_t len) {
  lwr_push_addr(L, sa, len);
  return 2;
}

/* An address argument: text, and a port unless the socket is unix. */
void lwr_check_addr(lua_State *L, wr_socket *s, int idx, lwr_addr_arg *a) {
  a->text = lwr_checkcstring(L, idx, "address");
  a->port = 0;
  if (wr_socket_family(s) != AF_UNIX) {
    lua_Integer port = luaL_checkinteger(L, idx + 1);
    luaL_argcheck(L, port >= 0 && port <= 65535, idx + 1,
                  "port out of range 0..65535");
    a->port = (int)port;
  }
}

int lwr_parse_addr(wr_socket *s, const lwr_addr_arg *a,
                   struct sockaddr_storage *sa, socklen_t *len) {
  return wr_addr_parse(wr_socket_family(s), wr_socket_v6only(s), a->text,
                       a->port, sa, len);
}

/* =====================================================================
** Constructors
** =================================================================== */

/*** @module wsarecv */

/***
A new socket.  Its descriptor is nonblocking underneath; blocking
behaviour (and `FIONBIO`, `SO_RCVTIMEO`) is wsarecv's own.
@function socket
@tparam string family `"inet"`, `"inet6"` or `"unix"`
@tparam string type `"stream"`, `"dgram"`, `"raw"` or `"seqpacket"`
@tparam[opt] string|int protocol `"tcp"`, `"udp"`, `"icmp"`, `"icmpv6"`,
a protocol number, or nil for the type's default
@treturn[1] socket the socket
@return[2] nil
@treturn[2] string the WSA error name
@treturn[2] int its code: `WSAEACCES` (raw socket without the privilege),
`WSAEPROTONOSUPPORT`, `WSAEMFILE`
@raise an unknown family, type or protocol name; a protocol number outside
a C `int`
*/
static int l_socket(lua_State *L) {
  static const char *const fams[] = {"inet", "inet6", "unix", NULL};
  static const int famv[] = {AF_INET, AF_INET6, AF_UNIX};
  static const char *const types[] = {"stream", "dgram", "raw", "seqpacket",
                                      NULL};
  static const int typev[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_RAW,
                              SOCK_SEQPACKET};
  lwr_ctx *c = lwr_ctx_get(L);
  int family = famv[lwr_checkoption(L, 1, NULL, fams)];
  int type = typev[lwr_checkoption(L, 2, NULL, types)];
  int proto = 0, r;
  lwr_sock *so;
  if (lua_type(L, 3) == LUA_TSTRING) {
    static const char *const protos[] = {"tcp", "udp", "icmp", "icmpv6",
                                         NULL};
    static const int protov[] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP,
                                 IPPROTO_ICMPV6};
    proto = protov[lwr_checkoption(L, 3, NULL, protos)];
  } else if (!lua_isnoneornil(L, 3)) {
    proto = lwr_checkint(L, 3, INT_MIN, INT_MAX, "protocol");
  }
  if (c->loop == NULL) return lwr_fail(L, WSANOTINITIALISED);
  so = newsock(L);
  r = wr_socket_open(c->loop, family, type, proto, &so->s);
  if (r) return lwr_fail(L, r);
  return 1;
}

/***
Adopt an existing descriptor; wsarecv makes it nonblocking and owns it
from then on (closing the socket closes it).  With `opts.dup` true it
adopts a duplicate instead (`F_DUPFD_CLOEXEC`), and the caller keeps
`fd`: each side closes its own descriptor, and both use one socket.  That
is how to share a socket with LuaSocket (wsarecv.socket's `wrap`).
@function wrap
@tparam int fd the descriptor, 0..2^31-1
@tparam[opt] table opts `{dup = true}`: adopt a duplicate
@treturn[1] socket the socket
@return[2] nil
@treturn[2] string the WSA error name
@treturn[2] int its code: `WSAENOTSOCK` for a number that is no open
descriptor or no socket (a `pollfd`), `WSAEINVAL` without `dup` for the
descriptor of an open wsarecv socket (two owners would close it under each
other: use that socket, or `dup`), `WSAEMFILE`
@raise a negative or too large number; opts not a table
*/
/* wrap(fd [, {dup = true}]): adopt fd, or a duplicate the caller keeps */
static int l_wrap(lua_State *L) {
  lwr_ctx *c = lwr_ctx_get(L);
  lua_Integer fd = luaL_checkinteger(L, 1);
  int dup = 0;
  lwr_sock *so;
  int r;
  luaL_argcheck(L, fd >= 0 && fd <= 0x7fffffff, 1, "not a descriptor");
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_getfield(L, 2, "dup");
    dup = lua_toboolean(L, -1);
    lua_pop(L, 1);
  }
  if (c->loop == NULL) return lwr_fail(L, WSANOTINITIALISED);
  so = newsock(L);
  r = (dup ? wr_socket_adopt_dup : wr_socket_adopt)(c->loop, (int)fd,
                                                     &so->s);
  if (r) return lwr_fail(L, r);
  return 1;
}

/* =====================================================================
** BSD calls
** =================================================================== */

/* sock:bind(addr, port) and sock:connect(addr, port): -> 0 | failure */
static int addr_call(lua_State *L,
                     int (*call)(wr_socket *, const struct sockaddr *,
                                 socklen_t)) {
  wr_socket *s = lwr_checksocket(L, 1);
  struct sockaddr_storage sa;
  socklen_t len;
  lwr_addr_arg a;
  int r;
  lwr_check_addr(L, s, 2, &a);
  LWR_CHECK_OPEN(L, s);
  if ((r = lwr_parse_addr(s, &a, &sa, &len)) != 0) return lwr_fail(L, r);
  if ((r = call(s, (struct sockaddr *)&sa, len)) != 0) return lwr_fail(L, r);
  lua_pushinteger(L, 0);
  return 1;
}

/***
A socket: `tostring(sock)` gives its family, type, descriptor and
addresses, `wsarecv.socket (inet/dgram fd=5, 127.0.0.1:5000 ->
127.0.0.1:6000): 0x...` (`unbound`, `listening`; `(inet/dgram, closed)`
once closed); `__close` and `__gc` close it.  It has methods only:
assigning a field raises.  Every method raises when `sock` is not a
socket or an argument has the wrong type; on a closed socket the methods
(except close, fileno, pending and WSAGetOverlappedResult) return
`nil, "WSAENOTSOCK", 10038`.  Addresses are text (`"127.0.0.1"`, `"::1"`,
`"*"`, a unix path, or a host name, looked up for the socket's family:
the lookup blocks the call); ports are integers 0..65535.
@type socket
*/

/***
Bind to a local address.
@function socket:bind
@tparam string addr the address (a path on a unix socket)
@tparam[opt] int port 0..65535 (not on a unix socket)
@treturn[1] int 0
@return[2] nil
@treturn[2] string the WSA error name
@treturn[2] int its code: `WSAEADDRINUSE`, `WSAEADDRNOTAVAIL`, `WSAEACCES`,
`WSAEINVAL` (already bound), `WSAEAFNOSUPPORT`; for a host name
`WSAHOST_NOT_FOUND`, `WSATRY_AGAIN`, `WSANO_DATA`, `WSANO_RECOVERY`
@raise a port out of range; an address with an embedded zero
*/
static int l_bind(lua_State *L) { return addr_call(L, wr_bind); }
/***
Connect to a peer; blocks until connected unless `FIONBIO` is on.  On a
datagram socket it sets the default peer and filters what is received.
@function socket:connect
@tparam string addr the address (a path on a unix socket)
@tparam[opt] int port 0..65535
@treturn[1] int 0
@return[2] nil
@treturn[2] string the WSA error name
@treturn[2] int its code: `WSAECONNREFUSED`, `WSAETIMEDOUT`,
`WSAENETUNREACH`; under `FIONBIO` `WSAEWOULDBLOCK`, then `WSAEALREADY` or
`WSAEISCONN`; the address failures of `bind`
*/
static int l_connect(lua_State *L) { return addr_call(L, wr_connect); }

/***
Listen for connections (stream and seqpacket sockets).
@function socket:listen
@tparam[opt] int backlog default the system's maximum
@treturn[1] int 0
@return[2] nil
@treturn[2] string the WSA error name
@treturn[2] int its code: `WSAEOPNOTSUPP` on a datagram socket
@raise a backlog outside a C `int`
*/
static int l_listen(lua_State *L) {
  wr_socket *s = lwr_checksocket(L, 1);
  int backlog = SOMAXCONN, r;
  if (!lua_isnoneornil(L, 2))
    backlog = lwr_checkint(L, 2, INT_MIN, INT_MAX, "backlog");
  LWR_CHECK_OPEN(L, s);
  r = wr_listen(s, backlog);
  if (r) return lwr_fail(L, r);
  lua_pushinteger(L, 0);
  return 1;
}

/***
Accept a connection; blocks unless `FIONBIO` is on.
@function socket:accept
@treturn[1] socket the new socket, bound and connected
@treturn[1] string the peer's address
@treturn[1] int|nil the peer's port (nil on a unix socket)
@return[2] nil
@treturn[2] string the WSA error name
@treturn[2] int its code: `WSAEWOULDBLOCK` under `FIONBIO`, `WSAEOPNOTSUPP`
*/
static int l_accept(lua_State *L) {
  wr_socket *s = lwr_checksocket(L, 1);
  struct sockaddr_storage peer;
  socklen_t len;
  lwr_sock *so;
  int r;
  LWR_CHECK_OPEN(L, s);
  so = newsock(L);
  r = wr_accept(s, &so->s, &peer, &len);
  if (r) return lwr_fail(L, r);
  push_addr(L, &peer, len);
  return 3;
}

/***
Send on a connected socket; blocks while the send buffer is full unless
`FIONBIO` is on.
@function socket:send
@tparam string data the bytes
@tparam[opt=0] int flags 0, or `MSG_OOB` (stream sockets)
@treturn[1] int the bytes sent
@return[2] nil
@treturn[2] string the WSA error name
@treturn[2] int its code: `WSAEDESTADDRREQ` (a datagram socket not
connected), `WSAENOTCONN` (a stream socket that never connected),
`WSAESHUTDOWN` (after `shutdown("send")`), `WSAECONNRESET` (the peer
reset the connection: every later send too), `WSAEMSGSIZE` (a datagram
too big: nothing sent), `WSAEOPNOTSUPP` (other flags), `WSAEWOULDBLOCK`.
A peer that has gone never raises `SIGPIPE`.
*/
static int l_send(lua_State *L) {
  wr_socket *s = lwr_checksocket(L, 1);
  size_t n, sent;
  const char *data = luaL_checklstring(L, 2, &n);
  unsigned flags = lwr_flags(luaL_optinteger(L, 3, 0));
  int r;
  LWR_CHECK_OPEN(L, s);
  r = wr_send_blocking(s, data, n, flags, NULL, 0, &sent);
  if (r) return lwr_fail(L, r);
  lua_pushinteger(L, (lua_Integer)sent);
  return 1;
}

/***
Send a datagram to an address; binds an unbound socket implicitly.
@function socket:sendto
@tparam string data the bytes
@tparam string addr the address (a path on a unix socket)
@tparam[opt] int port 0..65535 (not on a unix socket)
@treturn[1] int the bytes sent
@return[2] nil
@treturn[2] string the WSA error name
@treturn[2] int its code: `WSAEACCES` (broadcast without
`SO_BROADCAST`), `WSAEMSGSIZE`; the address failures of `bind` (a host
name is looked up on every call)
*/
static int l_sendto(lua_State *L) {
  wr_socket *s = lwr_checksocket(L, 1);
  size_t n, sent;
  const char *data = luaL_checklstring(L, 2, &n);
  struct sockaddr_storage sa;
  socklen_t len;
  lwr_addr_arg a;
  int r;
  lwr_check_addr(L, s, 3, &a);
  LWR_CHECK_OPEN(L, s);
  if ((r = lwr_parse_addr(s, &a, &sa, &len)) != 0) return lwr_fail(L, r);
  r = wr_send_blocking(s, data, n, 0, (struct sockaddr *)&sa, len, &sent);
  if (r) return lwr_fail(L, r);
  lua_pushinteger(L, (lua_Integer)sent);
  return 1;
}

/***
Shut down one or both directions.  After `"receive"`, new receives fail
with `WSAESHUTDOWN`; those already pending stay, and data that still
arrives completes them, as on Windows.  A stream or seqpacket socket needs
its peer (a listener has none), a datagram socket none.
@function socket:shutdown
@tparam[opt="both"] string how `"receive"`, `"send"` or `"both"`
@treturn[1] int 0
@return[2] nil
@treturn[2] string the WSA error name
@treturn[2] int its code: `WSAENOTCONN`
*/
static int l_shutdown(lua_State *L) {
  static const char *const hows[] = {"receive", "send", "both", NULL};
  static const int howv[] = {SHUT_RD, SHUT_WR, SHUT_RDWR};
  wr_socket *s = lwr_checksocket(L, 1);
  int how = howv[lwr_checkoption(L, 2, "both", hows)];
  int r;
  LWR_CHECK_OPEN(L, s);
  if ((r = wr_shutdown(s, how)) != 0) return lwr_fail(L, r);
  lua_pushinteger(L, 0);
  return 1;
}

/* sock:getsockname() and sock:getpeername(): -> addr, port | failure */
static int name_call(lua_State *L,
                     int (*call)(wr_socket *, struct sockaddr_storage *,
                                 socklen_t *)) {
  wr_socket *s = lwr_checksocket(L, 1);
  struct sockaddr_storage sa;
  socklen_t len;
  int r;
  LWR_CHECK_OPEN(L, s);
  if ((r = call(s, &sa, &len)) != 0) return lwr_fail(L, r);
  return push_addr(L, &sa, len);
}

/***
The local address.
@function socket:getsockname
@treturn[1] string the address (a path on a unix socket, `""` unnamed)
@treturn[1] int|nil the port (nil on a unix socket)
@return[2] nil
@treturn[2] string the WSA error name
@treturn[2] int its code
*/
static int l_getsockname(lua_State *L) { return name_call(L, wr_getsockname); }
/***
The peer's address.
@function socket:getpeername
@treturn[1] string the address
@treturn[1] int|nil the port (nil on a unix socket)
@return[2] nil
@treturn[2] string the WSA error name
@treturn[2] int its code: `WSAENOTCONN`
*/
static int l_getpeername(lua_State *L) { return name_call(L, wr_getpeername); }

/***
The descriptor.
@function socket:fileno
@treturn int the descriptor, -1 once closed
*/
static int l_fileno(lua_State *L) {
  lua_pushinteger(L, wr_socket_fd(lwr_checksocket(L, 1)));
  return 1;
}

/***
How many overlapped receives are pending on the socket.
@function socket:pending
@treturn int the count (0 once closed)
*/
static int l_pending(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)wr_socket_pending(lwr_checksocket(L, 1)));
  return 1;
}

/***
Close the socket (also its `__close`): every pending operation completes
once, with `WSA_OPERATION_ABORTED`, then the descriptor is closed.
Closing again does nothing.
@function socket:close
@treturn int 0
*/
static int l_close(lua_State *L) {
  lwr_sock *so = tosock(L, 1);
  if (so->s) wr_close(so->s);
  lua_pushinteger(L, 0);
  return 1;
}

static int l_sock_gc(lua_State *L) {
  lwr_sock *so = tosock(L, 1);
  if (so->s) {
    wr_socket_release(so->s);
    so->s = NULL;
  }
  return 0;
}

/* An address as a person writes it: "127.0.0.1:5000", "[::1]:5000", a
** unix path.  0 when it names nothing (port 0, an unnamed unix socket). */
static int format_addr(char *out, size_t size,
                       const struct sockaddr_storage *sa, socklen_t len) {
  char text[128];
  int port;
  wr_addr_format((const struct sockaddr *)sa, len, text, sizeof text, &port);
  if (port < 0) snprintf(out, size, "%s", text[0] ? text : "unnamed");
  else if (strchr(text, ':')) snprintf(out, size, "[%s]:%d", text, port);
  else snprintf(out, size, "%s:%d", text, port);
  return port < 0 ? text[0] != '\0' : port != 0;
}

/* ", local -> peer", ", local listening", ", local" or ", unbound". */
static const char *names_of(lua_State *L, wr_socket *s) {
  struct sockaddr_storage sa;
  socklen_t len;
  char local[160], peer[160];
  long listening = 0;
  int named = wr_getsockname(s, &sa, &len) == 0 &&
              format_addr(local, sizeof local, &sa, len);
  if (wr_getpeername(s, &sa, &len) == 0) {
    format_addr(peer, sizeof peer, &sa, len);
    return lua_pushfstring(L, ", %s -> %s", named ? local : "unnamed", peer);
  }
  if (!named) return lua_pushliteral(L, ", unbound");
  wr_getsockopt_int(s, wr_sockopt_find("SO_ACCEPTCONN"), &listening);
  return lua_pushfstring(L, ", %s%s", local, listening ? " listening" : "");
}

/*
** "wsarecv.socket (inet/dgram fd=5, 127.0.0.1:5000 -> 127.0.0.1:6000)":
** what a person at the REPL needs; closed, only what it was.
*/
static int l_sock_tostring(lua_State *L) {
  lwr_sock *so = tosock(L, 1);
  static const char *const types[] = {"?", "stream", "dgram", "raw", "rdm",
                                      "seqpacket"};
  const char *family, *type;
  int t, f;
  if (so->s == NULL) {
    lua_pushfstring(L, "wsarecv.socket (closed): %p", so);
    return 1;
  }
  t = wr_socket_type(so->s);
  f = wr_socket_family(so->s);
  family = f == AF_INET ? "inet" : f == AF_INET6 ? "inet6"
           : f == AF_UNIX ? "unix" : "?";
  type = (t >= 1 && t <= 5) ? types[t] : "?";
  if (wr_socket_closed(so->s))
    lua_pushfstring(L, "wsarecv.socket (%s/%s, closed): %p", family, type,
                    so);
  else
    lua_pushfstring(L, "wsarecv.socket (%s/%s fd=%d%s): %p", family, type,
                    wr_socket_fd(so->s), names_of(L, so->s), so);
  return 1;
}

static const luaL_Reg meta[] = {
  {"__gc", l_sock_gc},
  {"__close", l_close},
  {"__tostring", l_sock_tostring},
  {NULL, NULL}
};

static const luaL_Reg methods[] = {
  {"bind", l_bind},
  {"connect", l_connect},
  {"listen", l_listen},
  {"accept", l_accept},
  {"send", l_send},
  {"sendto", l_sendto},
  {"shutdown", l_shutdown},
  {"getsockname", l_getsockname},
  {"getpeername", l_getpeername},
  {"fileno", l_fileno},
  {"pending", l_pending},
  {"close", l_close},
  {NULL, NULL}
};

/* The options, the receive and the send calls are added by their own
** files (lwr_open_options, lwr_open_recv, lwr_open_send), which stand above this one: here,
** placeholders, so that the method table has its final size and order
** from the start (a rehash would move the cost of a method lookup). */
static const luaL_Reg added[] = {
  {"setsockopt", NULL}, {"getsockopt", NULL},
  {"WSARecv", NULL}, {"WSARecvMsg", NULL},
  {"WSAGetOverlappedResult", NULL}, {"CancelIoEx", NULL},
  {"WSASend", NULL}, {"WSASendTo", NULL}, {"WSASendMsg", NULL},
  {"AcceptEx", NULL}, {"ConnectEx", NULL},
  {NULL, NULL}
};

static const luaL_Reg *const method_lists[] = {methods, added, NULL};

static const luaL_Reg ctors[] = {
  {"socket", l_socket},
  {"wrap", l_wrap},
  {NULL, NULL}
};

void lwr_open_socket(lua_State *L) {
  lwr_register(L, LWR_SOCKET, meta, method_lists, ctors);
}
