/*
** wr_msg.c -- what WSARecvMsg adds to a receive: control messages, the
** output flags Linux does not give (MSG_BCAST, MSG_MCAST), the error queue.
**
** Exports: wr_msg_init, wr_msg_free, wr_msg_control_used, wr_msg_pending,
**          wr_cmsg_next, wr_ee_origin_name; for
**          the core: wr__msg_prepare, wr__msg_filter, wr__errqueue,
**          wr__loop_free_bcast.
**
** The kernel writes into a private control buffer, never straight into the
** caller's.  wsarecv turns packet info on by itself (it needs the
** datagram's destination address to tell broadcast and multicast), so the
** filter copies to the caller only the messages the caller enabled, in the
** kernel's order, as many as fit; when one does not fit MSG_CTRUNC is set
** and what fitted is kept ("deliver what fits").
*/
#define _GNU_SOURCE
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "wr_int.h"

#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef SO_RXQ_OVFL
#define SO_RXQ_OVFL 40
#endif

/* room for wsarecv's own IP_PKTINFO and IPV6_PKTINFO, and some slack */
#define OWN_CONTROL (CMSG_SPACE(sizeof(struct in_pktinfo)) + \
                     CMSG_SPACE(sizeof(struct in6_pktinfo)) + 64)

int wr_msg_init(wr_msg *m, void *control, size_t controllen) {
  size_t cap = controllen + OWN_CONTROL;
  void *p = realloc(m->sysctl, cap);
  if (p == NULL) return WSA_NOT_ENOUGH_MEMORY;
  m->sysctl = p;
  m->sysctlcap = cap;
  m->control = control;
  m->controllen = control ? controllen : 0;
  m->controlused = 0;             /* a new buffer holds no messages yet */
  return 0;
}

size_t wr_msg_control_used(const wr_msg *m) { return m->controlused; }
int wr_msg_pending(const wr_msg *m) { return m->pending; }

void wr_msg_free(wr_msg *m) {
  free(m->sysctl);
  m->sysctl = NULL;
  m->sysctlcap = 0;
}

void wr__msg_prepare(wr_socket *s) {
  int on = 1;
  if (s->opts & WR_O_AUTO) return;
  s->opts |= WR_O_AUTO;
  if (s->family == AF_INET || s->family == AF_INET6)
    setsockopt(s->fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
  if (s->family == AF_INET6)
    setsockopt(s->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on);
}

/* =====================================================================
** MSG_BCAST / MSG_MCAST from the destination address
** =================================================================== */

void wr__loop_free_bcast(wr_loop *loop) {
  free(loop->bcast);
  loop->bcast = NULL;
  loop->nbcast = 0;
}

/*
** The directed broadcast addresses of this machine's IPv4 interfaces: the
** configured broadcast address, and address | ~netmask (an address added
** without "brd" has none configured, yet the kernel accepts datagrams to
** the all-ones host of its prefix).
*/
static size_t collect_bcast(struct ifaddrs *ifs, uint32_t *v) {
  struct ifaddrs *i;
  size_t n = 0;
  for (i = ifs; i; i = i->ifa_next) {
    uint32_t a, m, b;
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    if (i->ifa_flags & IFF_LOOPBACK) continue;
    a = ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr;
    if ((i->ifa_flags & IFF_BROADCAST) && i->ifa_broadaddr) {
      b = ((struct sockaddr_in *)i->ifa_broadaddr)->sin_addr.s_addr;
      /* with no broadcast configured, glibc reports the address itself */
      if (b != 0 && b != a) {
        if (v) v[n] = b;
        n++;
      }
    }
    if (i->ifa_netmask) {
      m = ntohl(((struct sockaddr_in *)i->ifa_netmask)->sin_addr.s_addr);
      if (m != 0 && (~m) > 1) {          /* no broadcast in /31 and /32 */
        if (v) v[n] = htonl((ntohl(a) & m) | ~m);
        n++;
      }
    }
  }
  return n;
}

static void refresh_bcast(wr_loop *loop) {
  struct ifaddrs *ifs;
  size_t n;
  uint32_t *v;
  uint64_t now = uv_now(&loop->uv);
  if (loop->bcast_time && now - loop->bcast_time < 1000) return;
  loop->bcast_time = now ? now : 1;
  if (getifaddrs(&ifs) < 0) return;
  n = collect_bcast(ifs, NULL);
  v = n ? malloc(n * sizeof *v) : NULL;
  if (n && v == NULL) {
    freeifaddrs(ifs);
    return;
  }
  collect_bcast(ifs, v);
  freeifaddrs(ifs);
  free(loop->bcast);
  loop->bcast = v;
  loop->nbcast = n;
}

static unsigned v4_dest_flags(wr_loop *loop, uint32_t a /* net order */) {
  uint32_t h = ntohl(a);
  size_t i;
  if ((h & 0xf0000000u) == 0xe0000000u) return WR_MSG_MCAST;
  if (h == 0xffffffffu) return WR_MSG_BCAST;
  if (loop == NULL) return 0;
  refresh_bcast(loop);
  for (i = 0; i < loop->nbcast; i++)
    if (loop->bcast[i] == a) return WR_MSG_BCAST;
  return 0;
}

static unsigned v6_dest_flags(wr_loop *loop, const struct in6_addr *a) {
  if (IN6_IS_ADDR_MULTICAST(a)) return WR_MSG_MCAST;
  if (IN6_IS_ADDR_V4MAPPED(a)) {
    uint32_t v4;
    memcpy(&v4, &a->s6_addr[12], 4);
    return v4_dest_flags(loop, v4);
  }
  return 0;
}

/* =====================================================================
** The filter
** =================================================================== */

/* Is this kernel message one the caller asked for? */
static int visible(wr_socket *s, const struct cmsghdr *c) {
  if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
    if (!(s->opts & WR_O_PKT4)) return 0;
    /* a dual-stack socket needs both options (the WSARecvMsg page) */
    if (s->family == AF_INET6 && !(s->opts & WR_O_V6ONLY))
      return (s->opts & WR_O_PKT6) != 0;
    return 1;
  }
  if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
    struct in6_pktinfo pi;
    if (!(s->opts & WR_O_PKT6)) return 0;
    memcpy(&pi, CMSG_DATA(c), sizeof pi);
    /* an IPv4 datagram's info is IP_PKTINFO, not a v4-mapped copy */
    return !IN6_IS_ADDR_V4MAPPED(&pi.ipi6_addr);
  }
  return 1;
}

unsigned wr__msg_filter(wr_socket *s, wr_msg *m, const struct msghdr *mh) {
  unsigned fl = 0;
  unsigned char *out = m->control;
  size_t used = 0;
  struct cmsghdr *c;
  int have_dest = 0, full = 0;
  if (mh->msg_flags & MSG_TRUNC) fl |= WR_MSG_TRUNC;
  if (mh->msg_flags & MSG_CTRUNC) fl |= WR_MSG_CTRUNC;
  m->namelen = mh->msg_namelen;
  for (c = CMSG_FIRSTHDR((struct msghdr *)mh); c;
       c = CMSG_NXTHDR((struct msghdr *)mh, c)) {
    size_t space;
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
        !have_dest) {
      struct in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      fl |= v4_dest_flags(s->loop, pi.ipi_addr.s_addr);
      have_dest = 1;
    } else if (c->cmsg_level == IPPROTO_IPV6 &&
               c->cmsg_type == IPV6_PKTINFO && !have_dest) {
      struct in6_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      fl |= v6_dest_flags(s->loop, &pi.ipi6_addr);
      have_dest = 1;
    }
    if (!visible(s, c) || full) continue;
    space = CMSG_SPACE(c->cmsg_len - CMSG_LEN(0));
    if (out == NULL || used + space > m->controllen) {
      fl |= WR_MSG_CTRUNC;           /* this one and the rest do not fit */
      full = 1;
      continue;
    }
    memset(out + used, 0, space);
    memcpy(out + used, c, c->cmsg_len);
    used += space;
  }
  m->controlused = used;
  m->flags = fl;
  return fl;
}

/*
** The WSA error an extended error stands for.  For a datagram socket the
** WSARecv page gives WSAENETRESET to "the time to live has expired" (ICMP
** time exceeded), and WSAECONNRESET to a port unreachable.
*/
static int ee_error(const struct sock_extended_err *ee) {
  if ((ee->ee_origin == SO_EE_ORIGIN_ICMP && ee->ee_type == 11) ||
      (ee->ee_origin == SO_EE_ORIGIN_ICMP6 && ee->ee_type == 3))
    return WSAENETRESET;
  if (ee->ee_errno == ECONNREFUSED) return WSAECONNRESET;
  return wr_wsa_from_errno((int)ee->ee_errno);
}

int wr__errqueue(wr_socket *s, wr_msg *m, unsigned *flags) {
  struct msghdr mh;
  unsigned char scratch[512];
  struct cmsghdr *c;
  ssize_t n;
  int err = 0;
  /* no iovec: the offending datagram's payload is not the caller's data,
  ** and a failed receive places nothing (as without IP_RECVERR) */
  memset(&mh, 0, sizeof mh);
  if (m) {
    mh.msg_name = &m->name;
    mh.msg_namelen = sizeof m->name;
    mh.msg_control = m->sysctl;
    mh.msg_controllen = m->sysctlcap;
  } else {
    mh.msg_control = scratch;
    mh.msg_controllen = sizeof scratch;
  }
  do n = recvmsg(s->fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  if (n < 0) return 0;
  for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
    if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
        (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
      struct sock_extended_err ee;
      memcpy(&ee, CMSG_DATA(c), sizeof ee);
      err = ee_error(&ee);
    }
  }
  if (err == 0) err = WSAENETRESET;
  if (m) {
    mh.msg_flags &= ~MSG_TRUNC;
    *flags = wr__msg_filter(s, m, &mh);
  }
  return err;
}

/* =====================================================================
** Decoding
**
** The records decoded here are in the caller's buffer, after the filter:
** buf:write, or another receive into the same buffer, can have put
** anything there.  So they are untrusted input.  The walk compares each
** length with the bytes left (never adds it to pos, which could wrap) and
** always steps forward or stops; a decoder reads only its record's payload,
** and decodes it only when it has its type's size and its fields are in
** range.  Anything else is reported raw: level, type, data.
** =================================================================== */

static void set_in(struct sockaddr_storage *ss, socklen_t *len,
                   struct in_addr a) {
  struct sockaddr_in *sin = (struct sockaddr_in *)ss;
  memset(ss, 0, sizeof *ss);
  sin->sin_family = AF_INET;
  sin->sin_addr = a;
  *len = sizeof *sin;
}

static void set_in6(struct sockaddr_storage *ss, socklen_t *len,
                    const struct in6_addr *a) {
  struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
  memset(ss, 0, sizeof *ss);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_addr = *a;
  *len = sizeof *sin6;
}

static void decoded(wr_cmsg *o, int kind, const char *type_name) {
  o->kind = kind;
  o->type_name = type_name;
}

/*
** An integer payload: an int, or a single byte (IP_TOS is one).  Any other
** size is no such integer: 0 (the record stays raw).
*/
static int int_payload(const wr_cmsg *o, long long *v) {
  int i;
  unsigned char b;
  if (o->len >= sizeof i) {
    memcpy(&i, o->data, sizeof i);
    *v = i;
    return 1;
  }
  if (o->len == 1) {
    memcpy(&b, o->data, 1);
    *v = b;
    return 1;
  }
  return 0;
}

static int decode_int(wr_cmsg *o, int kind, const char *type_name) {
  if (!int_payload(o, &o->value)) return 0;
  decoded(o, kind, type_name);
  return 1;
}

/* IP_ORIGDSTADDR / IPV6_ORIGDSTADDR: a sockaddr of the level's family */
static void decode_origdst(wr_cmsg *o, sa_family_t family, size_t size,
                           const char *type_name) {
  sa_family_t f;
  if (o->len < size) return;
  memcpy(&f, o->data, sizeof f);
  if (f != family) return;
  memset(&o->addr, 0, sizeof o->addr);
  memcpy(&o->addr, o->data, size);
  o->addrlen = (socklen_t)size;
  decoded(o, WR_CM_ORIGDSTADDR, type_name);
}

/*
** IP_RECVERR / IPV6_RECVERR: the extended error, then (SO_EE_OFFENDER) the
** address of who sent the ICMP message, when its family says one follows
** and the record holds all of it.
*/
static void decode_recverr(wr_cmsg *o, const char *type_name) {
  struct sock_extended_err ee;
  const unsigned char *off;
  if (o->len < sizeof ee) return;
  memcpy(&ee, o->data, sizeof ee);
  decoded(o, WR_CM_RECVERR, type_name);
  o->ee.error = ee_error(&ee);
  o->ee.origin = ee.ee_origin;
  o->ee.type = ee.ee_type;
  o->ee.code = ee.ee_code;
  o->ee.info = ee.ee_info;
  o->ee.data = ee.ee_data;
  off = o->data + sizeof ee;
  if (o->len - sizeof ee >= sizeof(sa_family_t)) {
    sa_family_t fam;
    size_t want;
    memcpy(&fam, off, sizeof fam);
    want = fam == AF_INET ? sizeof(struct sockaddr_in)
         : fam == AF_INET6 ? sizeof(struct sockaddr_in6) : 0;
    if (want && o->len - sizeof ee >= want) {
      memset(&o->addr, 0, sizeof o->addr);
      memcpy(&o->addr, off, want);
      o->addrlen = (socklen_t)want;
    }
  }
}

static void decode_ip(wr_cmsg *o) {
  o->level_name = "IPPROTO_IP";
  switch (o->type) {
    case IP_PKTINFO: {
      struct in_pktinfo pi;
      if (o->len < sizeof pi) return;
      memcpy(&pi, o->data, sizeof pi);
      decoded(o, WR_CM_PKTINFO, "IP_PKTINFO");
      set_in(&o->addr, &o->addrlen, pi.ipi_addr);
      set_in(&o->spec_dst, &o->spec_dstlen, pi.ipi_spec_dst);
      o->ifindex = (unsigned)pi.ipi_ifindex;
      return;
    }
    case IP_TOS:
      if (decode_int(o, WR_CM_TOS, "IP_TOS")) o->value &= 0xff;
      return;
    case IP_TTL: decode_int(o, WR_CM_TTL, "IP_TTL"); return;
    case IP_ORIGDSTADDR:
      decode_origdst(o, AF_INET, sizeof(struct sockaddr_in),
                     "IP_ORIGDSTADDR");
      return;
    case IP_RECVERR: decode_recverr(o, "IP_RECVERR"); return;
    default: return;
  }
}

static void decode_ipv6(wr_cmsg *o) {
  o->level_name = "IPPROTO_IPV6";
  switch (o->type) {
    case IPV6_PKTINFO: {
      struct in6_pktinfo pi;
      if (o->len < sizeof pi) return;
      memcpy(&pi, o->data, sizeof pi);
      decoded(o, WR_CM_PKTINFO6, "IPV6_PKTINFO");
      set_in6(&o->addr, &o->addrlen, &pi.ipi6_addr);
      o->ifindex = pi.ipi6_ifindex;
      return;
    }
    case IPV6_TCLASS: decode_int(o, WR_CM_TCLASS, "IPV6_TCLASS"); return;
    case IPV6_HOPLIMIT:
      decode_int(o, WR_CM_HOPLIMIT, "IPV6_HOPLIMIT");
      return;
    case IPV6_ORIGDSTADDR:
      decode_origdst(o, AF_INET6, sizeof(struct sockaddr_in6),
                     "IPV6_ORIGDSTADDR");
      return;
    case IPV6_RECVERR: decode_recverr(o, "IPV6_RECVERR"); return;
    default: return;
  }
}

/*
** A timestamp decodes only with its fraction in range (0 <= tv_usec <
** 10^6, 0 <= tv_nsec < 10^9): a record that says otherwise is no time the
** kernel gave, and is reported raw.  In range, usec * 1000 cannot overflow.
*/
static void set_time(wr_cmsg *o, const char *type_name, long long sec,
                     long nsec) {
  decoded(o, WR_CM_TIMESTAMP, type_name);
  o->sec = sec;
  o->nsec = nsec;
}

static void decode_socket(wr_cmsg *o) {
  o->level_name = "SOL_SOCKET";
  if (o->type == SO_TIMESTAMP && o->len >= sizeof(struct timeval)) {
    struct timeval tv;
    memcpy(&tv, o->data, sizeof tv);
    if (tv.tv_usec >= 0 && tv.tv_usec < 1000000)
      set_time(o, "SO_TIMESTAMP", tv.tv_sec, (long)tv.tv_usec * 1000);
  } else if (o->type == SO_TIMESTAMPNS && o->len >= sizeof(struct timespec)) {
    struct timespec ts;
    memcpy(&ts, o->data, sizeof ts);
    if (ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000)
      set_time(o, "SO_TIMESTAMPNS", ts.tv_sec, ts.tv_nsec);
  } else if (o->type == SO_RXQ_OVFL && o->len >= sizeof(uint32_t)) {
    uint32_t d;
    memcpy(&d, o->data, sizeof d);
    decoded(o, WR_CM_RXQ_OVFL, "SO_RXQ_OVFL");
    o->value = d;
  }
}

/*
** One step of the walk.  A record is read when a header fits in the bytes
** left and its cmsg_len covers the header without passing them.  The step
** is cmsg_len rounded up to the alignment (the same as CMSG_SPACE of its
** payload): at least a header, so the walk advances; a step that reaches
** or passes the end, or whose rounding wraps, ends the walk.
*/
int wr_cmsg_next(const void *control, size_t used, size_t *pos,
                 wr_cmsg *out) {
  struct cmsghdr h;
  const unsigned char *rec;
  size_t hl = CMSG_LEN(0), left, step;
  if (control == NULL || *pos >= used || used - *pos < hl) return 0;
  left = used - *pos;
  rec = (const unsigned char *)control + *pos;
  memcpy(&h, rec, sizeof h);                  /* no alignment assumed */
  if (h.cmsg_len < hl || h.cmsg_len > left) return 0;
  step = CMSG_ALIGN(h.cmsg_len);
  *pos = step >= h.cmsg_len && step < left ? *pos + step : used;
  memset(out, 0, sizeof *out);
  out->level = h.cmsg_level;
  out->type = h.cmsg_type;
  out->data = rec + hl;
  out->len = h.cmsg_len - hl;
  switch (h.cmsg_level) {
    case IPPROTO_IP: decode_ip(out); break;
    case IPPROTO_IPV6: decode_ipv6(out); break;
    case SOL_SOCKET: decode_socket(out); break;
    case SOL_UDP:
      out->level_name = "IPPROTO_UDP";
      if (h.cmsg_type == UDP_GRO) decode_int(out, WR_CM_GRO, "UDP_GRO");
      break;
    default: break;
  }
  return 1;
}

const char *wr_ee_origin_name(int origin) {
  switch (origin) {
    case SO_EE_ORIGIN_NONE: return "none";
    case SO_EE_ORIGIN_LOCAL: return "local";
    case SO_EE_ORIGIN_ICMP: return "icmp";
    case SO_EE_ORIGIN_ICMP6: return "icmp6";
    default: return "other";
  }
}

int wr_ifname(unsigned ifindex, char *buf) {
  return if_indextoname(ifindex, buf) != NULL;
}
