/*
** wr_linux_msg.c -- what WSARecvMsg adds to a receive on Linux: the
** WSAMSG's control space, the control messages the caller asked for, the
** output flags Linux does not give (MSG_BCAST, MSG_MCAST), the error queue.
**
** Exports: wr_msg_init, wr_msg_free, wr__plat_msg_prepare; for the Linux
**          platform: wr__msg_filter, wr__errqueue, wr__loop_free_bcast.
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

#include "wr_linux_int.h"

/* room for wsarecv's own IP_PKTINFO and IPV6_PKTINFO, and some slack */
#define OWN_CONTROL (CMSG_SPACE(sizeof(struct in_pktinfo)) + \
                     CMSG_SPACE(sizeof(struct in6_pktinfo)) + 64)

/* =====================================================================
** The WSAMSG's control space
** =================================================================== */

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


void wr_msg_free(wr_msg *m) {
  free(m->sysctl);
  m->sysctl = NULL;
  m->sysctlcap = 0;
  free(m->sendctl);
  m->sendctl = NULL;
  m->sendctllen = 0;
}

void wr__plat_msg_prepare(wr_socket *s) {
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
  free(loop->plat.bcast);
  loop->plat.bcast = NULL;
  loop->plat.nbcast = 0;
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
  uint64_t now = uv_now(&loop->plat.uv);
  if (loop->plat.bcast_time && now - loop->plat.bcast_time < 1000) return;
  loop->plat.bcast_time = now ? now : 1;
  if (getifaddrs(&ifs) < 0) return;
  n = collect_bcast(ifs, NULL);
  v = n ? malloc(n * sizeof *v) : NULL;
  if (n && v == NULL) {
    freeifaddrs(ifs);
    return;
  }
  collect_bcast(ifs, v);
  freeifaddrs(ifs);
  free(loop->plat.bcast);
  loop->plat.bcast = v;
  loop->plat.nbcast = n;
}

static unsigned v4_dest_flags(wr_loop *loop, uint32_t a /* net order */) {
  uint32_t h = ntohl(a);
  size_t i;
  if ((h & 0xf0000000u) == 0xe0000000u) return WR_MSG_MCAST;
  if (h == 0xffffffffu) return WR_MSG_BCAST;
  if (loop == NULL) return 0;
  refresh_bcast(loop);
  for (i = 0; i < loop->plat.nbcast; i++)
    if (loop->plat.bcast[i] == a) return WR_MSG_BCAST;
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

/* =====================================================================
** The error queue (IP_RECVERR)
** =================================================================== */

int wr__errqueue(wr_socket *s, wr_msg *m, unsigned *flags) {
  struct msghdr mh;
  unsigned char scratch[512];
  struct cmsghdr *c;
  ssize_t n;
  int err = 0;
  /* no iovec: the offending datagram's payload is not the caller's data,
  ** and a failed receive places nothing (as without IP_RECVERR) */
  wr__msghdr(&mh, NULL, 0, m);
  if (m == NULL) {
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
      err = wr__ee_error(&ee);
    }
  }
  if (err == 0) err = WSAENETRESET;
  if (m) {
    mh.msg_flags &= ~MSG_TRUNC;
    *flags = wr__msg_filter(s, m, &mh);
    m->length = 0;                 /* a report, no datagram */
  }
  return err;
}
