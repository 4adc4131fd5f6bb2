/*
** wr_sock.c -- the BSD side of a wsarecv socket: create, adopt, bind,
** connect, listen, accept, send, shutdown, names, options, addresses.
**
** Exports: wr_socket_open, wr_socket_adopt, wr_socket_adopt_dup,
**          wr_socket_fd, wr_socket_type,
**          wr_socket_family, wr_socket_closed, wr_socket_pending, wr_bind,
**          wr_connect, wr_listen, wr_accept, wr_send, wr_shutdown,
**          wr_getsockname, wr_getpeername, wr_sockopt_find,
**          wr_setsockopt_int, wr_getsockopt_int, wr_membership,
**          wr_addr_parse, wr_addr_format.
**
** Descriptors are always O_NONBLOCK underneath (libuv polls them); the
** blocking behaviour a caller sees is emulated here and in wr_core.c, so
** FIONBIO and SO_RCVTIMEO are kept as socket state, not kernel state.
*/
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "wr_int.h"

#define ERRNO_WSA() wr_wsa_from_errno(errno)

/* =====================================================================
** Creating and adopting
** =================================================================== */

static void learn_type(wr_socket *s) {
  int v;
  socklen_t len = sizeof v;
  if (getsockopt(s->fd, SOL_SOCKET, SO_TYPE, &v, &len) == 0) s->type = v;
  len = sizeof v;
  if (getsockopt(s->fd, SOL_SOCKET, SO_DOMAIN, &v, &len) == 0) s->family = v;
  len = sizeof v;
  if (getsockopt(s->fd, SOL_SOCKET, SO_PROTOCOL, &v, &len) == 0)
    s->protocol = v;
  len = sizeof v;
  if (s->family == AF_INET6 &&
      getsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, &len) == 0 && v)
    s->opts |= WR_O_V6ONLY;
}

/* Options whose caller-visible state wsarecv keeps itself (WR_O_*). */
static unsigned tracked(const wr_sockopt *o) {
  if (o->level == IPPROTO_IP && o->optname == IP_PKTINFO) return WR_O_PKT4;
  if (o->level == IPPROTO_IPV6 && o->optname == IPV6_RECVPKTINFO)
    return WR_O_PKT6;
  if (o->level == IPPROTO_IPV6 && o->optname == IPV6_V6ONLY)
    return WR_O_V6ONLY;
  if ((o->level == IPPROTO_IP && o->optname == IP_RECVERR) ||
      (o->level == IPPROTO_IPV6 && o->optname == IPV6_RECVERR))
    return WR_O_RECVERR;
  return 0;
}

int wr_socket_open(wr_loop *loop, int family, int type, int protocol,
                   wr_socket **out) {
  int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  int r;
  if (fd < 0) return ERRNO_WSA();
  r = wr__socket_init(loop, fd, out);
  if (r != 0) {
    close(fd);
    return r;
  }
  learn_type(*out);
  return 0;
}

int wr_socket_adopt(wr_loop *loop, int fd, wr_socket **out) {
  int fl = fcntl(fd, F_GETFL);
  int r;
  if (fl < 0) return WSAENOTSOCK;
  if (!(fl & O_NONBLOCK)) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  r = wr__socket_init(loop, fd, out);
  if (r != 0) return r;
  learn_type(*out);
  return 0;
}

/*
** Adopt a duplicate of fd: the caller keeps fd, and each side closes its
** own.  (They share one open socket: O_NONBLOCK, options and the data
** that arrives; whoever reads first gets it.)
*/
int wr_socket_adopt_dup(wr_loop *loop, int fd, wr_socket **out) {
  int mine = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  int r;
  if (mine < 0) return errno == EBADF ? WSAENOTSOCK : ERRNO_WSA();
  if ((r = wr_socket_adopt(loop, mine, out)) != 0) close(mine);
  return r;
}

int wr_socket_fd(const wr_socket *s) { return s->fd; }
int wr_socket_type(const wr_socket *s) { return s->type; }
int wr_socket_family(const wr_socket *s) { return s->family; }
int wr_socket_closed(const wr_socket *s) {
  return (s->state & WR_S_CLOSED) != 0;
}
size_t wr_socket_pending(const wr_socket *s) { return s->npending; }

static int usable(wr_socket *s) {
  if (s->state & WR_S_CLOSED) return WSAENOTSOCK;
  return 0;
}

/*
** Wait until the descriptor is ready for `events` or ms pass (ms < 0:
** forever).  Used by the blocking BSD calls (connect, accept, send);
** overlapped receives on other sockets wait in the kernel meanwhile and
** complete at the next wait.
*/
int wr__wait_fd(wr_socket *s, int events, long ms) {
  struct pollfd p;
  int r;
  p.fd = s->fd;
  p.events = (short)events;
  do {
    p.revents = 0;
    r = poll(&p, 1, ms < 0 ? -1 : (int)ms);
  } while (r < 0 && errno == EINTR);
  if (r < 0) return ERRNO_WSA();
  if (r == 0) return WSAETIMEDOUT;
  return 0;
}

/* =====================================================================
** The BSD calls
** =================================================================== */

/*
** A link-local IPv6 address whose scope names no interface.  Linux's bind
** ties the socket to that interface before it finds it missing (ENODEV),
** and every later bind then fails: refuse it before the kernel sees it.
*/
static int unknown_scope(const struct sockaddr *sa, socklen_t len) {
  const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
  char name[IF_NAMESIZE];
  if (sa->sa_family != AF_INET6 || len < sizeof *sin6) return 0;
  if (sin6->sin6_scope_id == 0) return 0;
  if (!IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr) &&
      !IN6_IS_ADDR_MC_LINKLOCAL(&sin6->sin6_addr))
    return 0;
  return if_indextoname(sin6->sin6_scope_id, name) == NULL;
}

int wr_bind(wr_socket *s, const struct sockaddr *sa, socklen_t len) {
  int r = usable(s);
  if (r) return r;
  if (unknown_scope(sa, len)) return WSAEADDRNOTAVAIL;
  if (bind(s->fd, sa, len) < 0) return ERRNO_WSA();
  s->state |= WR_S_BOUND;
  return 0;
}

int wr_connect(wr_socket *s, const struct sockaddr *sa, socklen_t len) {
  int r = usable(s);
  int err;
  socklen_t elen = sizeof err;
  if (r) return r;
  if (connect(s->fd, sa, len) == 0) return 0;
  if (errno != EINPROGRESS) return ERRNO_WSA();
  if (s->state & WR_S_NBIO) return WSAEWOULDBLOCK;
  if ((r = wr__wait_fd(s, POLLOUT, -1)) != 0) return r;
  if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
    return ERRNO_WSA();
  return wr_wsa_from_errno(err);
}

int wr_listen(wr_socket *s, int backlog) {
  int r = usable(s);
  if (r) return r;
  if (listen(s->fd, backlog) < 0) return ERRNO_WSA();
  return 0;
}

int wr_accept(wr_socket *s, wr_socket **out, struct sockaddr_storage *peer,
              socklen_t *len) {
  int r = usable(s);
  int fd;
  if (r) return r;
  for (;;) {
    *len = sizeof *peer;
    fd = accept4(s->fd, (struct sockaddr *)peer, len,
                 SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) break;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return ERRNO_WSA();
    if (s->state & WR_S_NBIO) return WSAEWOULDBLOCK;
    if ((r = wr__wait_fd(s, POLLIN, -1)) != 0) return r;
  }
  r = wr__socket_init(s->loop, fd, out);
  if (r != 0) {
    close(fd);
    return r;
  }
  learn_type(*out);
  (*out)->state |= WR_S_BOUND;
  return 0;
}

int wr_send(wr_socket *s, const void *data, size_t len, unsigned flags,
            const struct sockaddr *to, socklen_t tolen, size_t *sent) {
  int r = usable(s);
  int sysf = MSG_NOSIGNAL;
  ssize_t n;
  if (r) return r;
  if (flags & ~(unsigned)WR_MSG_OOB) return WSAEOPNOTSUPP;
  if (flags & WR_MSG_OOB) {
    if (s->type != SOCK_STREAM) return WSAEOPNOTSUPP;
    sysf |= MSG_OOB;
  }
  for (;;) {
    n = sendto(s->fd, data, len, sysf, to, tolen);
    if (n >= 0) break;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      if (errno == ECONNREFUSED) return WSAECONNRESET;
      return ERRNO_WSA();
    }
    if (s->state & WR_S_NBIO) return WSAEWOULDBLOCK;
    if ((r = wr__wait_fd(s, POLLOUT, -1)) != 0) return r;
  }
  *sent = (size_t)n;
  if (to) s->state |= WR_S_BOUND;   /* sendto binds implicitly */
  return 0;
}

int wr_shutdown(wr_socket *s, int how) {
  int r = usable(s);
  if (r) return r;
  if (shutdown(s->fd, how) < 0) return ERRNO_WSA();
  if (how == SHUT_RD || how == SHUT_RDWR) {
    s->state |= WR_S_SHUT_RD;
    /* pending receives can no longer complete: they fail, having
    ** consumed nothing */
    wr__fail_all(s, WSAESHUTDOWN);
  }
  return 0;
}

int wr_getsockname(wr_socket *s, struct sockaddr_storage *sa, socklen_t *len) {
  int r = usable(s);
  if (r) return r;
  *len = sizeof *sa;
  if (getsockname(s->fd, (struct sockaddr *)sa, len) < 0) return ERRNO_WSA();
  return 0;
}

int wr_getpeername(wr_socket *s, struct sockaddr_storage *sa, socklen_t *len) {
  int r = usable(s);
  if (r) return r;
  *len = sizeof *sa;
  if (getpeername(s->fd, (struct sockaddr *)sa, len) < 0) return ERRNO_WSA();
  return 0;
}

/* =====================================================================
** Options
** =================================================================== */

#ifndef SO_RXQ_OVFL
#define SO_RXQ_OVFL 40
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

static const wr_sockopt options[] = {
  { "SO_REUSEADDR", SOL_SOCKET, SO_REUSEADDR, WR_OPT_BOOL },
  { "SO_REUSEPORT", SOL_SOCKET, SO_REUSEPORT, WR_OPT_BOOL },
  { "SO_RCVBUF", SOL_SOCKET, SO_RCVBUF, WR_OPT_INT },
  { "SO_RCVBUFFORCE", SOL_SOCKET, SO_RCVBUFFORCE, WR_OPT_INT },
  { "SO_SNDBUF", SOL_SOCKET, SO_SNDBUF, WR_OPT_INT },
  { "SO_RCVTIMEO", SOL_SOCKET, SO_RCVTIMEO, WR_OPT_RCVTIMEO },
  { "SO_BROADCAST", SOL_SOCKET, SO_BROADCAST, WR_OPT_BOOL },
  { "SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE, WR_OPT_BOOL },
  { "SO_OOBINLINE", SOL_SOCKET, SO_OOBINLINE, WR_OPT_BOOL },
  { "SO_TIMESTAMP", SOL_SOCKET, SO_TIMESTAMP, WR_OPT_BOOL },
  { "SO_TIMESTAMPNS", SOL_SOCKET, SO_TIMESTAMPNS, WR_OPT_BOOL },
  { "SO_RXQ_OVFL", SOL_SOCKET, SO_RXQ_OVFL, WR_OPT_BOOL },
  { "SO_ERROR", SOL_SOCKET, SO_ERROR, WR_OPT_GETONLY },
  { "SO_TYPE", SOL_SOCKET, SO_TYPE, WR_OPT_GETONLY },
  { "SO_ACCEPTCONN", SOL_SOCKET, SO_ACCEPTCONN, WR_OPT_GETONLY },
  { "FIONBIO", 0, 0, WR_OPT_FIONBIO },
  { "TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY, WR_OPT_BOOL },
  { "IP_TTL", IPPROTO_IP, IP_TTL, WR_OPT_INT },
  { "IP_TOS", IPPROTO_IP, IP_TOS, WR_OPT_INT },
  { "IP_PKTINFO", IPPROTO_IP, IP_PKTINFO, WR_OPT_BOOL },
  { "IP_RECVTOS", IPPROTO_IP, IP_RECVTOS, WR_OPT_BOOL },
  { "IP_RECVTTL", IPPROTO_IP, IP_RECVTTL, WR_OPT_BOOL },
  { "IP_RECVORIGDSTADDR", IPPROTO_IP, IP_RECVORIGDSTADDR, WR_OPT_BOOL },
  { "IP_ORIGDSTADDR", IPPROTO_IP, IP_RECVORIGDSTADDR, WR_OPT_BOOL },
  { "IP_RECVERR", IPPROTO_IP, IP_RECVERR, WR_OPT_BOOL },
  { "IP_MULTICAST_TTL", IPPROTO_IP, IP_MULTICAST_TTL, WR_OPT_INT },
  { "IP_MULTICAST_LOOP", IPPROTO_IP, IP_MULTICAST_LOOP, WR_OPT_BOOL },
  { "IP_ADD_MEMBERSHIP", IPPROTO_IP, IP_ADD_MEMBERSHIP, WR_OPT_MEMBERSHIP },
  { "IP_DROP_MEMBERSHIP", IPPROTO_IP, IP_DROP_MEMBERSHIP, WR_OPT_MEMBERSHIP },
  { "IPV6_V6ONLY", IPPROTO_IPV6, IPV6_V6ONLY, WR_OPT_BOOL },
  { "IPV6_PKTINFO", IPPROTO_IPV6, IPV6_RECVPKTINFO, WR_OPT_BOOL },
  { "IPV6_RECVPKTINFO", IPPROTO_IPV6, IPV6_RECVPKTINFO, WR_OPT_BOOL },
  { "IPV6_RECVTCLASS", IPPROTO_IPV6, IPV6_RECVTCLASS, WR_OPT_BOOL },
  { "IPV6_HOPLIMIT", IPPROTO_IPV6, IPV6_RECVHOPLIMIT, WR_OPT_BOOL },
  { "IPV6_RECVHOPLIMIT", IPPROTO_IPV6, IPV6_RECVHOPLIMIT, WR_OPT_BOOL },
  { "IPV6_RECVERR", IPPROTO_IPV6, IPV6_RECVERR, WR_OPT_BOOL },
  { "IPV6_UNICAST_HOPS", IPPROTO_IPV6, IPV6_UNICAST_HOPS, WR_OPT_INT },
  { "IPV6_TCLASS", IPPROTO_IPV6, IPV6_TCLASS, WR_OPT_INT },
  { "IPV6_MULTICAST_HOPS", IPPROTO_IPV6, IPV6_MULTICAST_HOPS, WR_OPT_INT },
  { "IPV6_MULTICAST_LOOP", IPPROTO_IPV6, IPV6_MULTICAST_LOOP, WR_OPT_BOOL },
  { "IPV6_ADD_MEMBERSHIP", IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP,
    WR_OPT_MEMBERSHIP },
  { "IPV6_DROP_MEMBERSHIP", IPPROTO_IPV6, IPV6_DROP_MEMBERSHIP,
    WR_OPT_MEMBERSHIP },
  { "UDP_GRO", IPPROTO_UDP, UDP_GRO, WR_OPT_BOOL },
  { NULL, 0, 0, 0 }
};

const wr_sockopt *wr_sockopt_find(const char *name) {
  const wr_sockopt *o;
  for (o = options; o->name; o++)
    if (strcmp(o->name, name) == 0) return o;
  return NULL;
}

int wr_setsockopt_int(wr_socket *s, const wr_sockopt *o, long value) {
  int r = usable(s);
  int v = (int)value;
  if (r) return r;
  switch (o->kind) {
    case WR_OPT_FIONBIO:
      if (value) s->state |= WR_S_NBIO;
      else s->state &= ~WR_S_NBIO;
      return 0;
    case WR_OPT_RCVTIMEO:
      if (value < 0) return WSAEINVAL;
      s->rcvtimeo_ms = value;
      return 0;
    case WR_OPT_GETONLY:
    case WR_OPT_MEMBERSHIP:
      return WSAEINVAL;
    default:
      break;
  }
  if (o->kind == WR_OPT_BOOL) v = value != 0;
  {
    unsigned bit = tracked(o);
    /* packet info wsarecv turned on for itself stays on in the kernel */
    int keep = !v && (s->opts & WR_O_AUTO) &&
               (bit == WR_O_PKT4 || bit == WR_O_PKT6);
    if (!keep && setsockopt(s->fd, o->level, o->optname, &v, sizeof v) < 0)
      return ERRNO_WSA();
    if (bit) {
      if (v) s->opts |= bit;
      else s->opts &= ~bit;
    }
  }
  return 0;
}

int wr_getsockopt_int(wr_socket *s, const wr_sockopt *o, long *value) {
  int r = usable(s);
  int v = 0;
  socklen_t len = sizeof v;
  if (r) return r;
  switch (o->kind) {
    case WR_OPT_FIONBIO:
      *value = (s->state & WR_S_NBIO) != 0;
      return 0;
    case WR_OPT_RCVTIMEO:
      *value = s->rcvtimeo_ms;
      return 0;
    case WR_OPT_MEMBERSHIP:
      return WSAEINVAL;
    default:
      break;
  }
  if (tracked(o) == WR_O_PKT4 || tracked(o) == WR_O_PKT6) {
    *value = (s->opts & tracked(o)) != 0;    /* the caller's view */
    return 0;
  }
  if (getsockopt(s->fd, o->level, o->optname, &v, &len) < 0)
    return ERRNO_WSA();
  if (o->optname == SO_ERROR && o->level == SOL_SOCKET)
    v = wr_wsa_from_errno(v);
  *value = v;
  return 0;
}

int wr_membership(wr_socket *s, const wr_sockopt *o, const char *group,
                  const char *iface) {
  int r = usable(s);
  if (r) return r;
  if (o->level == IPPROTO_IP) {
    struct ip_mreqn m;
    memset(&m, 0, sizeof m);
    if (inet_pton(AF_INET, group, &m.imr_multiaddr) != 1) return WSAEINVAL;
    if (iface && *iface) {
      if (inet_pton(AF_INET, iface, &m.imr_address) != 1) {
        m.imr_ifindex = (int)if_nametoindex(iface);
        if (m.imr_ifindex == 0) return WSAEINVAL;
      }
    }
    if (setsockopt(s->fd, IPPROTO_IP, o->optname, &m, sizeof m) < 0)
      return ERRNO_WSA();
  } else {
    struct ipv6_mreq m;
    memset(&m, 0, sizeof m);
    if (inet_pton(AF_INET6, group, &m.ipv6mr_multiaddr) != 1)
      return WSAEINVAL;
    if (iface && *iface) {
      char *end;
      unsigned long idx = strtoul(iface, &end, 10);
      m.ipv6mr_interface = *end == '\0' ? (unsigned)idx
                                        : if_nametoindex(iface);
      if (m.ipv6mr_interface == 0 && *end != '\0') return WSAEINVAL;
    }
    if (setsockopt(s->fd, IPPROTO_IPV6, o->optname, &m, sizeof m) < 0)
      return ERRNO_WSA();
  }
  return 0;
}

/* =====================================================================
** Addresses
** =================================================================== */

static int parse_v4(const char *text, struct in_addr *a) {
  if (strcmp(text, "*") == 0 || *text == '\0') {
    a->s_addr = htonl(INADDR_ANY);
    return 1;
  }
  if (strcmp(text, "localhost") == 0) {
    a->s_addr = htonl(INADDR_LOOPBACK);
    return 1;
  }
  return inet_pton(AF_INET, text, a) == 1;
}

/*
** The scope of fe80::1%eth0 or fe80::1%2: an interface name, else a
** decimal number.  A name no interface has, or anything else, is no scope:
** the text is then not an address.  A number naming no interface is left
** to the call using the address: WSAEADDRNOTAVAIL (see unknown_scope).
*/
static int parse_scope(const char *text, uint32_t *scope) {
  const char *p;
  unsigned long long n = 0;
  *scope = if_nametoindex(text);
  if (*scope != 0) return 1;
  if (*text == '\0') return 0;
  for (p = text; *p; p++) {
    if (*p < '0' || *p > '9') return 0;
    n = n * 10 + (unsigned)(*p - '0');
    if (n > UINT32_MAX) return 0;
  }
  *scope = (uint32_t)n;
  return 1;
}

static int parse_v6(const char *text, struct sockaddr_in6 *sin6) {
  char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  char *pct;
  struct in_addr v4;
  if (strcmp(text, "*") == 0 || *text == '\0') {
    sin6->sin6_addr = in6addr_any;
    return 1;
  }
  if (strcmp(text, "localhost") == 0) {
    sin6->sin6_addr = in6addr_loopback;
    return 1;
  }
  if (strlen(text) >= sizeof host) return 0;
  strcpy(host, text);
  pct = strchr(host, '%');             /* fe80::1%eth0 */
  if (pct) {
    *pct++ = '\0';
    if (!parse_scope(pct, &sin6->sin6_scope_id)) return 0;
  }
  if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) return 1;
  if (inet_pton(AF_INET, host, &v4) == 1) {   /* dual stack: v4-mapped */
    memset(&sin6->sin6_addr, 0, sizeof sin6->sin6_addr);
    sin6->sin6_addr.s6_addr[10] = 0xff;
    sin6->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&sin6->sin6_addr.s6_addr[12], &v4, 4);
    return 1;
  }
  return 0;
}

/*
** Text an inet socket cannot take: an IPv6 address is of the wrong family
** (Winsock's WSAEAFNOSUPPORT); anything else is no address at all.
*/
static int not_v4(const char *text) {
  struct sockaddr_in6 sin6;
  memset(&sin6, 0, sizeof sin6);
  return parse_v6(text, &sin6) ? WSAEAFNOSUPPORT : WSAHOST_NOT_FOUND;
}

int wr_addr_parse(int family, const char *text, int port,
                  struct sockaddr_storage *sa, socklen_t *len) {
  memset(sa, 0, sizeof *sa);
  if (family == AF_UNIX) {
    struct sockaddr_un *sun = (struct sockaddr_un *)sa;
    size_t n = strlen(text);
    if (n >= sizeof sun->sun_path) return WSAENAMETOOLONG;
    sun->sun_family = AF_UNIX;
    memcpy(sun->sun_path, text, n);
    if (text[0] == '@') sun->sun_path[0] = '\0';   /* abstract namespace */
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
                       (text[0] == '@' ? 0 : 1));
    return 0;
  }
  if (port < 0 || port > 65535) return WSAEINVAL;
  if (family == AF_INET6) {
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)sa;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((uint16_t)port);
    if (!parse_v6(text, sin6)) return WSAHOST_NOT_FOUND;
    *len = sizeof *sin6;
    return 0;
  }
  {
    struct sockaddr_in *sin = (struct sockaddr_in *)sa;
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    if (!parse_v4(text, &sin->sin_addr)) return not_v4(text);
    *len = sizeof *sin;
    return 0;
  }
}

int wr_addr_format(const struct sockaddr *sa, socklen_t len, char *buf,
                   size_t bufsize, int *port) {
  *port = -1;
  if (len == 0) {
    buf[0] = '\0';
    return 0;
  }
  switch (sa->sa_family) {
    case AF_INET: {
      const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
      inet_ntop(AF_INET, &sin->sin_addr, buf, (socklen_t)bufsize);
      *port = ntohs(sin->sin_port);
      return 0;
    }
    case AF_INET6: {
      const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
      inet_ntop(AF_INET6, &sin6->sin6_addr, buf, (socklen_t)bufsize);
      if (sin6->sin6_scope_id) {
        size_t n = strlen(buf);
        snprintf(buf + n, bufsize - n, "%%%u", sin6->sin6_scope_id);
      }
      *port = ntohs(sin6->sin6_port);
      return 0;
    }
    case AF_UNIX: {
      const struct sockaddr_un *sun = (const struct sockaddr_un *)sa;
      size_t n = len > offsetof(struct sockaddr_un, sun_path)
                     ? len - offsetof(struct sockaddr_un, sun_path) : 0;
      if (n >= bufsize) n = bufsize - 1;
      if (n > 0 && sun->sun_path[0] == '\0') {   /* abstract */
        buf[0] = '@';
        memcpy(buf + 1, sun->sun_path + 1, n - 1);
        buf[n] = '\0';
      } else {
        memcpy(buf, sun->sun_path, n);
        buf[n] = '\0';
      }
      return 0;
    }
    default:
      buf[0] = '\0';
      return WSAEAFNOSUPPORT;
  }
}
