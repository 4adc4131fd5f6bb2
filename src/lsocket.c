/*
** lsocket.c -- wsarecv.socket: the socket type and its BSD calls.
**
** Exports: socket, wrap (constructors); methods bind, connect, listen,
**          accept, send, sendto, shutdown, setsockopt, getsockopt,
**          getsockname, getpeername, fileno, close, pending, and the
**          receive calls of lrecv.c (WSARecv, WSARecvMsg,
**          WSAGetOverlappedResult, CancelIoEx); __gc, __close,
**          __tostring.  For the module (lsocket.h): lwr_open_socket.
**
** Each method checks all its arguments first (mistakes raise, on an open
** or a closed socket alike), then the socket's state, calls one core
** function, and turns its WSA code into `nil, name, code`.  Integers that
** C keeps in a narrower type are range-checked, never truncated; strings
** C reads up to a zero may not contain one.
*/
#include <limits.h>
#include <string.h>
#ifndef _WIN32
#include <sys/socket.h>
#include <netinet/in.h>
#endif

#include "lrecv.h"
#include "lsocket.h"

static lwr_sock *tosock(lua_State *L, int idx) {
  return (lwr_sock *)lwr_checktype(L, idx, LWR_T_SOCKET);
}

/* Create the userdata closed first, then give it its socket. */
static lwr_sock *newsock(lua_State *L) {
  lwr_sock *so = (lwr_sock *)lua_newuserdatauv(L, sizeof *so, SUV_COUNT);
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

/*
** The string at idx, for C that reads up to its first zero: a string with
** an embedded zero would be cut there without a word ("127.0.0.1\0junk"
** binding 127.0.0.1, "/tmp/x\0y" binding /tmp/x), so it raises.
*/
static const char *checkcstring(lua_State *L, int idx, const char *what) {
  size_t len;
  const char *text = luaL_checklstring(L, idx, &len);
  if (strlen(text) != len)
    luaL_argerror(L, idx, lua_pushfstring(L, "%s contains an embedded zero",
                                          what));
  return text;
}

/* luaL_checkoption compares with strcmp: refuse "stream\0x" first. */
static int checkoption(lua_State *L, int idx, const char *def,
                       const char *const list[]) {
  if (!lua_isnoneornil(L, idx)) checkcstring(L, idx, "option");
  return luaL_checkoption(L, idx, def, list);
}

/* An integer argument C keeps in an int: out of range raises. */
static int checkint(lua_State *L, int idx, lua_Integer lo, lua_Integer hi,
                    const char *what) {
  lua_Integer v = luaL_checkinteger(L, idx);
  if (v < lo || v > hi)
    luaL_argerror(L, idx, lua_pushfstring(L, "%s out of range", what));
  return (int)v;
}

/* An address argument: text, and a port unless the socket is unix. */
typedef struct addr_arg {
  const char *text;
  int port;
} addr_arg;

static void check_addr(lua_State *L, wr_socket *s, int idx, addr_arg *a) {
  a->text = checkcstring(L, idx, "address");
  a->port = 0;
  if (wr_socket_family(s) != AF_UNIX) {
    lua_Integer port = luaL_checkinteger(L, idx + 1);
    luaL_argcheck(L, port >= 0 && port <= 65535, idx + 1,
                  "port out of range 0..65535");
    a->port = (int)port;
  }
}

static int parse_addr(wr_socket *s, const addr_arg *a,
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
  int family = famv[checkoption(L, 1, NULL, fams)];
  int type = typev[checkoption(L, 2, NULL, types)];
  int proto = 0, r;
  lwr_sock *so;
  if (lua_type(L, 3) == LUA_TSTRING) {
    static const char *const protos[] = {"tcp", "udp", "icmp", "icmpv6",
                                         NULL};
    static const int protov[] = {IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP,
                                 IPPROTO_ICMPV6};
    proto = protov[checkoption(L, 3, NULL, protos)];
  } else if (!lua_isnoneornil(L, 3)) {
    proto = checkint(L, 3, INT_MIN, INT_MAX, "protocol");
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
descriptor, `WSAEMFILE`
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
  addr_arg a;
  int r;
  check_addr(L, s, 2, &a);
  LWR_CHECK_OPEN(L, s);
  if ((r = parse_addr(s, &a, &sa, &len)) != 0) return lwr_fail(L, r);
  if ((r = call(s, (struct sockaddr *)&sa, len)) != 0) return lwr_fail(L, r);
  lua_pushinteger(L, 0);
  return 1;
}

/***
A socket: `tostring(sock)` gives `wsarecv.socket (inet/dgram fd=5): 0x...`;
`__close` and `__gc` close it.  Every method raises when `sock` is not a
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
    backlog = checkint(L, 2, INT_MIN, INT_MAX, "backlog");
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
@treturn[1] int the peer's port (nil on a unix socket)
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
@treturn[2] int its code: `WSAEDESTADDRREQ` (not connected),
`WSAEOPNOTSUPP` (other flags), `WSAEWOULDBLOCK`, `WSAECONNRESET`
*/
static int l_send(lua_State *L) {
  wr_socket *s = lwr_checksocket(L, 1);
  size_t n, sent;
  const char *data = luaL_checklstring(L, 2, &n);
  unsigned flags = lwr_flags(luaL_optinteger(L, 3, 0));
  int r;
  LWR_CHECK_OPEN(L, s);
  r = wr_send(s, data, n, flags, NULL, 0, &sent);
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
  addr_arg a;
  int r;
  check_addr(L, s, 3, &a);
  LWR_CHECK_OPEN(L, s);
  if ((r = parse_addr(s, &a, &sa, &len)) != 0) return lwr_fail(L, r);
  r = wr_send(s, data, n, 0, (struct sockaddr *)&sa, len, &sent);
  if (r) return lwr_fail(L, r);
  lua_pushinteger(L, (lua_Integer)sent);
  return 1;
}

/***
Shut down one or both directions.  After `"receive"`, pending and new
receives fail with `WSAESHUTDOWN`, consuming nothing.
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
  int how = howv[checkoption(L, 2, "both", hows)];
  int r;
  LWR_CHECK_OPEN(L, s);
  if ((r = wr_shutdown(s, how)) != 0) return lwr_fail(L, r);
  lua_pushinteger(L, 0);
  return 1;
}

static const wr_sockopt *checkopt(lua_State *L, int idx) {
  const char *name = checkcstring(L, idx, "option name");
  const wr_sockopt *o = wr_sockopt_find(name);
  if (o == NULL)
    luaL_argerror(L, idx, lua_pushfstring(L, "unknown option '%s'", name));
  return o;
}

/* Field i (or the named one) of the table at idx, as a C string. */
static const char *member_field(lua_State *L, int idx, int i,
                                const char *name) {
  size_t len;
  const char *text;
  lua_rawgeti(L, idx, i);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_getfield(L, idx, name);
  }
  text = lua_tolstring(L, -1, &len);
  if (text && strlen(text) != len)
    luaL_argerror(L, idx, lua_pushfstring(L, "%s contains an embedded zero",
                                          name));
  return text;
}

/*
** The value of an integer-valued option, as the core takes it.  Booleans
** read any integer as true or false; the others must fit the C type the
** option has (an int, or SO_RCVTIMEO's DWORD of milliseconds; a negative
** timeout is the core's to refuse), or 2^40 would quietly become 0.
*/
static long check_optvalue(lua_State *L, int idx, const wr_sockopt *o) {
  lua_Integer v;
  if (lua_isboolean(L, idx)) return lua_toboolean(L, idx);
  v = luaL_checkinteger(L, idx);
  switch (o->kind) {
    case WR_OPT_BOOL:
    case WR_OPT_FIONBIO:
      return v != 0;
    case WR_OPT_RCVTIMEO:
      luaL_argcheck(L, v <= 0xFFFFFFFF, idx, "value out of range");
      return (long)v;
    default:
      return checkint(L, idx, INT_MIN, INT_MAX, "value");
  }
}

/* An interface: a name or address text (in *iface), or an index. */
static void check_iface(lua_State *L, int idx, const char **iface,
                        unsigned *index) {
  *iface = NULL;
  *index = 0;
  if (lua_type(L, idx) == LUA_TSTRING)
    *iface = checkcstring(L, idx, "interface");
  else if (lua_type(L, idx) == LUA_TNUMBER)
    *index = (unsigned)checkint(L, idx, 0, INT_MAX, "interface index");
  else
    luaL_typeerror(L, idx, "interface name, address or index");
}

/***
Set a socket option (the reference lists them all, with their kinds).
@function socket:setsockopt
@tparam string name the Winsock or BSD name, `"SO_RCVBUF"`, `"IP_PKTINFO"`...
@param value a boolean or an integer; `{group, interface}` for the
membership options; an interface name, index or (IPv4) address for
`IP_MULTICAST_IF` / `IPV6_MULTICAST_IF`
@treturn[1] int 0
@return[2] nil
@treturn[2] string the WSA error name
@treturn[2] int its code: `WSAENOPROTOOPT`, `WSAEINVAL`, `WSAEACCES`
@raise an unknown name; a read-only option; a value of the wrong kind or
out of range
*/
static int l_setsockopt(lua_State *L) {
  wr_socket *s = lwr_checksocket(L, 1);
  const wr_sockopt *o = checkopt(L, 2);
  int r;
  if (o->kind == WR_OPT_GETONLY)
    return luaL_argerror(L, 2, "option can only be read");
  if (o->kind == WR_OPT_MEMBERSHIP) {
    const char *group, *iface;
    luaL_checktype(L, 3, LUA_TTABLE);
    group = member_field(L, 3, 1, "group");
    luaL_argcheck(L, group != NULL, 3, "expected {group, interface}");
    iface = member_field(L, 3, 2, "interface");
    LWR_CHECK_OPEN(L, s);
    r = wr_membership(s, o, group, iface);
  } else if (o->kind == WR_OPT_MULTICAST_IF) {
    const char *iface;
    unsigned index;
    check_iface(L, 3, &iface, &index);
    LWR_CHECK_OPEN(L, s);
    r = wr_set_multicast_if(s, o, iface, index);
  } else {
    long v = check_optvalue(L, 3, o);
    LWR_CHECK_OPEN(L, s);
    r = wr_setsockopt_int(s, o, v);
  }
  if (r) return lwr_fail(L, r);
  lua_pushinteger(L, 0);
  return 1;
}

/* IP_MULTICAST_IF reads back as address text, IPV6_MULTICAST_IF as an
** index, as each is on Windows. */
static int get_multicast_if(lua_State *L, wr_socket *s, const wr_sockopt *o) {
  char addr[INET6_ADDRSTRLEN];
  unsigned index;
  int r = wr_get_multicast_if(s, o, addr, sizeof addr, &index);
  if (r) return lwr_fail(L, r);
  if (addr[0]) lua_pushstring(L, addr);
  else lua_pushinteger(L, index);
  return 1;
}

/***
Read a socket option.
@function socket:getsockopt
@tparam string name the option's name
@treturn[1] bool|int|string the value: a boolean for on/off options,
address text for `IP_MULTICAST_IF`, else an integer
@return[2] nil
@treturn[2] string the WSA error name
@treturn[2] int its code: `WSAENOPROTOOPT`
@raise an unknown name; a set-only (membership) option
*/
static int l_getsockopt(lua_State *L) {
  wr_socket *s = lwr_checksocket(L, 1);
  const wr_sockopt *o = checkopt(L, 2);
  long v;
  int r;
  if (o->kind == WR_OPT_MEMBERSHIP)
    return luaL_argerror(L, 2, "option can only be set");
  LWR_CHECK_OPEN(L, s);
  if (o->kind == WR_OPT_MULTICAST_IF) return get_multicast_if(L, s, o);
  if ((r = wr_getsockopt_int(s, o, &v)) != 0) return lwr_fail(L, r);
  if (o->kind == WR_OPT_BOOL || o->kind == WR_OPT_FIONBIO)
    lua_pushboolean(L, v != 0);
  else
    lua_pushinteger(L, v);
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
@treturn[1] int the port (nil on a unix socket)
@return[2] nil
@treturn[2] string the WSA error name
@treturn[2] int its code
*/
static int l_getsockname(lua_State *L) { return name_call(L, wr_getsockname); }
/***
The peer's address.
@function socket:getpeername
@treturn[1] string the address
@treturn[1] int the port (nil on a unix socket)
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

static int l_sock_tostring(lua_State *L) {
  lwr_sock *so = tosock(L, 1);
  static const char *const types[] = {"?", "stream", "dgram", "raw", "rdm",
                                      "seqpacket"};
  if (so->s == NULL || wr_socket_closed(so->s)) {
    lua_pushfstring(L, "wsarecv.socket (closed): %p", so);
  } else {
    int t = wr_socket_type(so->s), f = wr_socket_family(so->s);
    lua_pushfstring(L, "wsarecv.socket (%s/%s fd=%d): %p",
                    f == AF_INET ? "inet" : f == AF_INET6 ? "inet6"
                    : f == AF_UNIX ? "unix" : "?",
                    (t >= 1 && t <= 5) ? types[t] : "?",
                    wr_socket_fd(so->s), so);
  }
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
  {"setsockopt", l_setsockopt},
  {"getsockopt", l_getsockopt},
  {"getsockname", l_getsockname},
  {"getpeername", l_getpeername},
  {"fileno", l_fileno},
  {"pending", l_pending},
  {"close", l_close},
  {NULL, NULL}
};

/* the BSD calls, then the receive calls (lrecv.c) */
static const luaL_Reg *const method_lists[] = {methods, lwr_recv_methods,
                                               NULL};

static const luaL_Reg ctors[] = {
  {"socket", l_socket},
  {"wrap", l_wrap},
  {NULL, NULL}
};

void lwr_open_socket(lua_State *L) {
  lwr_register(L, LWR_SOCKET, meta, method_lists, ctors);
}
