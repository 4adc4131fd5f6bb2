/*
** wr_bsd.c -- the BSD calls on a wsarecv socket: bind, connect, listen,
** accept, send, shutdown, its names, and its options by Winsock name.
**
** Exports: wr_bind, wr_connect, wr_listen, wr_accept, wr_send_blocking,
**          wr_shutdown, wr_getsockname, wr_getpeername, wr_sockopt_find,
**          wr_setsockopt_int, wr_getsockopt_int, wr_membership,
**          wr_set_multicast_if, wr_get_multicast_if, wr_socket_v6only.
**
** A blocking call (connect, accept, send on a socket without FIONBIO)
** waits on its own descriptor; overlapped receives on other sockets wait
** in the kernel meanwhile and complete at the next wait.
*/
#define _GNU_SOURCE
#include "wr_sys.h"
#include <stdint.h>
#include <string.h>

#include "wr_int.h"

#define ERRNO_WSA() wr_wsa_from_errno(errno)

/*
** Wait until s is ready for `events` or ms pass (ms < 0: forever), or a
** SIGINT comes (WSAEINTR: nothing was consumed or sent, and a connect
** goes on in the kernel).
*/
static int wait_fd(wr_socket *s, int events, long ms) {
  short rev;
  int r;
  if (s->loop == NULL) {
    r = wr__plat_poll_fd(s->fd, events, ms, &rev);
  } else {
    wr__plat_wait_begin(s->loop, ms);
    r = wr__plat_poll_wait(s->loop, s->fd, events, ms, &rev);
    wr__plat_wait_end(s->loop);
  }
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
  if (sa->sa_family != AF_INET6 || (size_t)len < sizeof *sin6) return 0;
  if (sin6->sin6_scope_id == 0) return 0;
  if (!IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr) &&
      !IN6_IS_ADDR_MC_LINKLOCAL(&sin6->sin6_addr))
    return 0;
  return if_indextoname(sin6->sin6_scope_id, name) == NULL;
}

int wr_bind(wr_socket *s, const struct sockaddr *sa, socklen_t len) {
  int r = wr__usable(s);
  if (r) return r;
  if (unknown_scope(sa, len)) return WSAEADDRNOTAVAIL;
  if (bind(s->fd, sa, len) < 0) {
    if (errno == EINVAL)         /* the binding built sa: it fits s */
      return wr__why(s->loop, WSAEINVAL, "the socket is already bound (a "
                     "socket binds once; connect and sendto bind too)");
    return ERRNO_WSA();
  }
  s->state |= WR_S_BOUND;
  return 0;
}

int wr_connect(wr_socket *s, const struct sockaddr *sa, socklen_t len) {
  int r = wr__usable(s);
  int err;
  socklen_t elen = sizeof err;
  if (r) return r;
  if (connect(s->fd, sa, len) == 0) {
    s->state |= WR_S_CONNECTED;
    return 0;
  }
  if (errno != EINPROGRESS) return ERRNO_WSA();
  s->state |= WR_S_CONNECTED;
  if (s->state & WR_S_NBIO) return WSAEWOULDBLOCK;
  if ((r = wait_fd(s, POLLOUT, -1)) != 0) return r;
  if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
    return ERRNO_WSA();
  return wr_wsa_from_errno(err);
}

int wr_listen(wr_socket *s, int backlog) {
  int r = wr__usable(s);
  if (r) return r;
  if (listen(s->fd, backlog) < 0) return ERRNO_WSA();
  return 0;
}

int wr_accept(wr_socket *s, wr_socket **out, struct sockaddr_storage *peer,
              socklen_t *len) {
  int r = wr__usable(s);
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
    if ((r = wait_fd(s, POLLIN, -1)) != 0) return r;
  }
  if ((r = wr__socket_new(s->loop, fd, out)) != 0) {
    close(fd);
    return r;
  }
  (*out)->state |= WR_S_BOUND | WR_S_CONNECTED;
  return 0;
}

int wr_send_blocking(wr_socket *s, const void *data, size_t len,
                     unsigned flags, const struct sockaddr *to,
                     socklen_t tolen, size_t *sent) {
  int r = wr__usable(s);
  int sysf = MSG_NOSIGNAL;
  ssize_t n;
  if (r) return r;
  if (flags & ~(unsigned)WR_MSG_OOB)
    return wr__why(s->loop, WSAEOPNOTSUPP, "send takes 0 or MSG_OOB");
  if (flags & WR_MSG_OOB) {
    if (s->type != SOCK_STREAM)
      return wr__why(s->loop, WSAEOPNOTSUPP, "MSG_OOB only on a stream "
                     "socket");
    sysf |= MSG_OOB;
  }
  if (to == NULL && wr__never_connected(s)) return WSAENOTCONN;
  if (s->sendq.head) {
    /* overlapped sends wait: this one goes after them, never inside */
    wr_wsabuf b;
    WR_WSABUF_SET(&b, (char *)(uintptr_t)data, len);
    return wr_send(s, &b, 1, flags, to, tolen, NULL, sent, NULL, NULL);
  }
  for (;;) {
    n = sendto(s->fd, data, len, sysf, to, tolen);
    if (n >= 0) break;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      return wr__wsa_from_send(s, errno);
    if (s->state & WR_S_NBIO) return WSAEWOULDBLOCK;
    if ((r = wait_fd(s, POLLOUT, -1)) != 0) return r;
  }
  *sent = (size_t)n;
  if (to) s->state |= WR_S_BOUND;   /* sendto binds implicitly */
  return 0;
}

#ifdef _WIN32
/* Windows's own shutdown is the one to follow. */
static int kernel_shutdown(wr_socket *s, int how) {
  return shutdown(s->fd, how) < 0 ? ERRNO_WSA() : 0;
}
#else
/*
** Windows's answers: a connection-oriented socket needs its peer (a
** listener has none: WSAENOTCONN), a datagram socket none.  SHUT_RD is not
** passed on (see wr_shutdown).  An unconnected datagram socket gets
** ENOTCONN from Linux, which has shut its sending all the same.
*/
static int kernel_shutdown(wr_socket *s, int how) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  int conn = s->type == SOCK_STREAM || s->type == SOCK_SEQPACKET;
  if (conn && getpeername(s->fd, (struct sockaddr *)&ss, &len) < 0)
    return ERRNO_WSA();
  if (how == SHUT_RD) return 0;
  if (shutdown(s->fd, SHUT_WR) < 0 && (conn || errno != ENOTCONN))
    return ERRNO_WSA();
  return 0;
}
#endif

/*
** After SD_RECEIVE new receives fail with WSAESHUTDOWN (wr_recv.c), and
** those already pending stay: data that still arrives completes them, as
** on Windows (Wine's sock.c test_shutdown).  On Linux that half is the
** socket's own state: SHUT_RD there makes recvmsg return end-of-stream and
** the descriptor readable for ever, so a pending receive could not wait
** for the data, which Linux still queues.
*/
int wr_shutdown(wr_socket *s, int how) {
  int r = wr__usable(s);
  if (r) return r;
  if ((r = kernel_shutdown(s, how)) != 0) return r;
  if (how != SHUT_WR) s->state |= WR_S_SHUT_RD;
  if (how != SHUT_RD) s->state |= WR_S_SHUT_WR;
  return 0;
}

int wr_getsockname(wr_socket *s, struct sockaddr_storage *sa, socklen_t *len) {
  int r = wr__usable(s);
  if (r) return r;
  *len = sizeof *sa;
  if (getsockname(s->fd, (struct sockaddr *)sa, len) < 0) return ERRNO_WSA();
  return 0;
}

int wr_getpeername(wr_socket *s, struct sockaddr_storage *sa, socklen_t *len) {
  int r = wr__usable(s);
  if (r) return r;
  *len = sizeof *sa;
  if (getpeername(s->fd, (struct sockaddr *)sa, len) < 0) return ERRNO_WSA();
  return 0;
}

/* =====================================================================
** Options
** =================================================================== */

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
  { "IP_MULTICAST_IF", IPPROTO_IP, IP_MULTICAST_IF, WR_OPT_MULTICAST_IF },
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
  { "IPV6_MULTICAST_IF", IPPROTO_IPV6, IPV6_MULTICAST_IF,
    WR_OPT_MULTICAST_IF },
  { "IPV6_ADD_MEMBERSHIP", IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP,
    WR_OPT_MEMBERSHIP },
  { "IPV6_DROP_MEMBERSHIP", IPPROTO_IPV6, IPV6_DROP_MEMBERSHIP,
    WR_OPT_MEMBERSHIP },
  { "UDP_GRO", IPPROTO_UDP, UDP_GRO, WR_OPT_BOOL },
  { NULL, 0, 0, 0 }
};

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

int wr_socket_v6only(const wr_socket *s) {
  return (s->opts & WR_O_V6ONLY) != 0;
}

const wr_sockopt *wr_sockopt_find(const char *name) {
  const wr_sockopt *o;
  for (o = options; o->name; o++)
    if (strcmp(o->name, name) == 0) return o;
  return NULL;
}

int wr_setsockopt_int(wr_socket *s, const wr_sockopt *o, long value) {
  int r = wr__usable(s);
  int v = (int)value;
  if (r) return r;
  switch (o->kind) {
    case WR_OPT_FIONBIO:
      if (value) s->state |= WR_S_NBIO;
      else s->state &= ~WR_S_NBIO;
      return 0;
    case WR_OPT_RCVTIMEO:
      if (value < 0)
        return wr__why(s->loop, WSAEINVAL, "a negative SO_RCVTIMEO");
      s->rcvtimeo_ms = value;
      return 0;
    case WR_OPT_GETONLY:
      return wr__why(s->loop, WSAEINVAL, "the option can only be read");
    case WR_OPT_MEMBERSHIP:
    case WR_OPT_MULTICAST_IF:
      return wr__why(s->loop, WSAEINVAL, "the option takes an address, "
                     "not a number");
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
  int r = wr__usable(s);
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
    case WR_OPT_MULTICAST_IF:
      return wr__why(s->loop, WSAEINVAL, "the option can only be set");
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

/* =====================================================================
** Interfaces: memberships, and the interface multicast goes out of
** =================================================================== */

/*
** iface (NULL: by index alone) as an IPv4 interface, into *a (an address,
** or 0.0.0.0) and *index: "*" or "" none (the system's choice), an address
** (0.0.0.x is index x, Windows' way to pass one), a decimal index or an
** interface name (wr__addr_ifindex).  0 or WSAEADDRNOTAVAIL.
*/
static int v4_iface(const char *iface, struct in_addr *a, unsigned *index) {
  a->s_addr = htonl(INADDR_ANY);
  if (iface == NULL) return 0;
  *index = 0;
  if (wr__addr_any(iface)) return 0;
  if (inet_pton(AF_INET, iface, a) == 1) {
    uint32_t h = ntohl(a->s_addr);
    if (h == 0 || h > 0x00ffffff) return 0;   /* an address, or none */
    a->s_addr = htonl(INADDR_ANY);
    *index = h;
    return 0;
  }
  return wr__addr_ifindex(iface, index);
}

/* iface (NULL: by index alone) as an IPv6 interface: an index, 0 none. */
static int v6_iface(const char *iface, unsigned *index) {
  if (iface == NULL) return 0;
  *index = 0;
  if (wr__addr_any(iface)) return 0;
  return wr__addr_ifindex(iface, index);
}

#ifdef _WIN32
/* Windows takes an IPv4 interface as an address, or an index in the form
** 0.0.0.x (ip_mreqn, wr_sys.h, is its ip_mreq). */
static void v4_mreq(struct in_addr a, unsigned index, struct ip_mreqn *m) {
  m->imr_address = a;
  if (index) m->imr_address.s_addr = htonl(index);
}
#else
/* Linux's ip_mreqn takes both: an index wins. */
static void v4_mreq(struct in_addr a, unsigned index, struct ip_mreqn *m) {
  m->imr_address = a;
  m->imr_ifindex = (int)index;
}
#endif

#define WHY_GROUP "the group is not a numeric address of the option's family"

static int v4_membership(wr_socket *s, const wr_sockopt *o, const char *group,
                         const char *iface) {
  struct ip_mreqn m;
  struct in_addr a;
  unsigned index = 0;
  int r;
  memset(&m, 0, sizeof m);
  if (inet_pton(AF_INET, group, &m.imr_multiaddr) != 1)
    return wr__why(s->loop, WSAEINVAL, WHY_GROUP);
  if ((r = v4_iface(iface, &a, &index)) != 0) return r;
  v4_mreq(a, index, &m);
  if (setsockopt(s->fd, IPPROTO_IP, o->optname, &m, sizeof m) < 0)
    return ERRNO_WSA();
  return 0;
}

static int v6_membership(wr_socket *s, const wr_sockopt *o, const char *group,
                         const char *iface) {
  struct ipv6_mreq m;
  unsigned index = 0;
  int r;
  memset(&m, 0, sizeof m);
  if (inet_pton(AF_INET6, group, &m.ipv6mr_multiaddr) != 1)
    return wr__why(s->loop, WSAEINVAL, WHY_GROUP);
  if ((r = v6_iface(iface, &index)) != 0) return r;
  m.ipv6mr_interface = index;
  if (setsockopt(s->fd, IPPROTO_IPV6, o->optname, &m, sizeof m) < 0)
    return ERRNO_WSA();
  return 0;
}

int wr_membership(wr_socket *s, const wr_sockopt *o, const char *group,
                  const char *iface) {
  int r = wr__usable(s);
  if (r) return r;
  if (o->level == IPPROTO_IP) return v4_membership(s, o, group, iface);
  return v6_membership(s, o, group, iface);
}

#ifdef _WIN32
/* Windows takes IP_MULTICAST_IF as an in_addr, and reads back what was set. */
static int set_v4_if(wr_socket *s, struct in_addr a, unsigned index) {
  struct ip_mreqn m;
  v4_mreq(a, index, &m);
  if (setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_IF,
                 (const char *)&m.imr_address, sizeof m.imr_address) < 0)
    return ERRNO_WSA();
  return 0;
}
#else
/*
** An IPv4 interface address of interface `index`, the first the system
** lists (INADDR_ANY when it has none).  The kernel keeps an IPv4
** IP_MULTICAST_IF as an index and an address and reads back only the
** address: giving both keeps the choice visible, and sends from the
** address the kernel would pick for that interface anyway.
*/
static struct in_addr if_v4addr(unsigned index) {
  struct in_addr a;
  struct ifaddrs *ifs, *i;
  char name[IF_NAMESIZE];
  a.s_addr = htonl(INADDR_ANY);
  if (if_indextoname(index, name) == NULL || getifaddrs(&ifs) < 0) return a;
  for (i = ifs; i; i = i->ifa_next) {
    if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET &&
        strcmp(i->ifa_name, name) == 0) {
      a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr;
      break;
    }
  }
  freeifaddrs(ifs);
  return a;
}

/* Linux takes an ip_mreqn: the index, and that interface's address. */
static int set_v4_if(wr_socket *s, struct in_addr a, unsigned index) {
  struct ip_mreqn m;
  memset(&m, 0, sizeof m);
  v4_mreq(index ? if_v4addr(index) : a, index, &m);
  if (setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m) < 0)
    return ERRNO_WSA();
  return 0;
}
#endif

int wr_set_multicast_if(wr_socket *s, const wr_sockopt *o, const char *iface,
                        unsigned index) {
  int r = wr__usable(s);
  if (r) return r;
  if (o->level == IPPROTO_IP) {
    struct in_addr a;
    if ((r = v4_iface(iface, &a, &index)) != 0) return r;
    if ((r = set_v4_if(s, a, index)) != 0) return r;
  } else {
    int v;
    if ((r = v6_iface(iface, &index)) != 0) return r;
    v = (int)index;
    if (setsockopt(s->fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &v, sizeof v) < 0)
      return ERRNO_WSA();
  }
  return 0;
}

int wr_get_multicast_if(wr_socket *s, const wr_sockopt *o, char *addr,
                        size_t addrsize, unsigned *index) {
  int r = wr__usable(s);
  if (r) return r;
  addr[0] = '\0';
  *index = 0;
  if (o->level == IPPROTO_IP) {
    struct in_addr a;
    socklen_t len = sizeof a;
    if (getsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_IF, &a, &len) < 0)
      return ERRNO_WSA();
    inet_ntop(AF_INET, &a, addr, (socklen_t)addrsize);
  } else {
    int v = 0;
    socklen_t len = sizeof v;
    if (getsockopt(s->fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &v, &len) < 0)
      return ERRNO_WSA();
    *index = (unsigned)v;
  }
  return 0;
}
