/*
** wr_linux_cmsg.c -- Linux's numbers for the control-message decoder
** (wr_cmsg.c), its structures read, and what an extended error means.
**
** Exports: for the engine's decoder: wr__plat_cmsg, wr__plat_pktinfo4,
**          wr__plat_pktinfo6, wr__plat_put_pktinfo4,
**          wr__plat_put_pktinfo6, wr__plat_ee; for the Linux platform:
**          wr__ee_error.
**
** The decoder is portable; what differs is here: which (level, type) the
** kernel writes and how each payload reads, and the layouts of
** in_pktinfo, in6_pktinfo and sock_extended_err.  Each accessor reads only
** its record's payload, and only when it holds the whole structure.
*/
#define _GNU_SOURCE
#include <net/if.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <string.h>
#include <sys/time.h>

#include "wr_linux_int.h"

/*
** The WSA error an extended error stands for.  For a datagram socket the
** WSARecv page gives WSAENETRESET to "the time to live has expired" (ICMP
** time exceeded), and WSAECONNRESET to a port unreachable.
*/
int wr__ee_error(const struct sock_extended_err *ee) {
  if ((ee->ee_origin == SO_EE_ORIGIN_ICMP && ee->ee_type == 11) ||
      (ee->ee_origin == SO_EE_ORIGIN_ICMP6 && ee->ee_type == 3))
    return WSAENETRESET;
  return wr__wsa_from_io((int)ee->ee_errno);
}

static const wr_cmsg_level levels[] = {
  { IPPROTO_IP, "IPPROTO_IP" },
  { IPPROTO_IPV6, "IPPROTO_IPV6" },
  { SOL_SOCKET, "SOL_SOCKET" },
  { SOL_UDP, "IPPROTO_UDP" },
  { 0, NULL }
};

/* Every integer may come as a single byte (IP_TOS does). */
static const wr_cmsg_rule rules[] = {
  { IPPROTO_IP, IP_PKTINFO, WR_CD_PKTINFO4, WR_CM_PKTINFO, "IP_PKTINFO" },
  { IPPROTO_IP, IP_TOS, WR_CD_INT_OR_BYTE, WR_CM_TOS, "IP_TOS" },
  { IPPROTO_IP, IP_TTL, WR_CD_INT_OR_BYTE, WR_CM_TTL, "IP_TTL" },
  { IPPROTO_IP, IP_ORIGDSTADDR, WR_CD_SOCKADDR4, WR_CM_ORIGDSTADDR,
    "IP_ORIGDSTADDR" },
  { IPPROTO_IP, IP_RECVERR, WR_CD_EE, WR_CM_RECVERR, "IP_RECVERR" },
  { IPPROTO_IPV6, IPV6_PKTINFO, WR_CD_PKTINFO6, WR_CM_PKTINFO6,
    "IPV6_PKTINFO" },
  { IPPROTO_IPV6, IPV6_TCLASS, WR_CD_INT_OR_BYTE, WR_CM_TCLASS,
    "IPV6_TCLASS" },
  { IPPROTO_IPV6, IPV6_HOPLIMIT, WR_CD_INT_OR_BYTE, WR_CM_HOPLIMIT,
    "IPV6_HOPLIMIT" },
  { IPPROTO_IPV6, IPV6_ORIGDSTADDR, WR_CD_SOCKADDR6, WR_CM_ORIGDSTADDR,
    "IPV6_ORIGDSTADDR" },
  { IPPROTO_IPV6, IPV6_RECVERR, WR_CD_EE, WR_CM_RECVERR, "IPV6_RECVERR" },
  { SOL_SOCKET, SO_TIMESTAMP, WR_CD_TIMEVAL, WR_CM_TIMESTAMP,
    "SO_TIMESTAMP" },
  { SOL_SOCKET, SO_TIMESTAMPNS, WR_CD_TIMESPEC, WR_CM_TIMESTAMP,
    "SO_TIMESTAMPNS" },
  { SOL_SOCKET, SO_RXQ_OVFL, WR_CD_U32, WR_CM_RXQ_OVFL, "SO_RXQ_OVFL" },
  { SOL_UDP, UDP_GRO, WR_CD_INT_OR_BYTE, WR_CM_GRO, "UDP_GRO" },
  { 0, 0, 0, 0, NULL }
};

const wr_cmsg_numbers wr__plat_cmsg = {
  CMSG_LEN(0), sizeof(size_t), levels, rules
};

int wr__plat_pktinfo4(const wr_cmsg *o, struct in_addr *addr,
                      struct in_addr *spec_dst, unsigned *ifindex) {
  struct in_pktinfo pi;
  if (o->len < sizeof pi) return 0;
  memcpy(&pi, o->data, sizeof pi);
  *addr = pi.ipi_addr;
  *spec_dst = pi.ipi_spec_dst;
  *ifindex = (unsigned)pi.ipi_ifindex;
  return 2;
}

int wr__plat_pktinfo6(const wr_cmsg *o, struct in6_addr *addr,
                      unsigned *ifindex) {
  struct in6_pktinfo pi;
  if (o->len < sizeof pi) return 0;
  memcpy(&pi, o->data, sizeof pi);
  *addr = pi.ipi6_addr;
  *ifindex = pi.ipi6_ifindex;
  return 1;
}

size_t wr__plat_ee(wr_cmsg *o) {
  struct sock_extended_err ee;
  if (o->len < sizeof ee) return 0;
  memcpy(&ee, o->data, sizeof ee);
  o->ee.error = wr__ee_error(&ee);
  o->ee.origin = ee.ee_origin;
  o->ee.type = ee.ee_type;
  o->ee.code = ee.ee_code;
  o->ee.info = ee.ee_info;
  o->ee.data = ee.ee_data;
  return sizeof ee;
}

/* wr_ee_origin_name (wr_cmsg.c) names SO_EE_ORIGIN_* by these numbers. */
typedef char ee_origins_are_0_to_3[
  (SO_EE_ORIGIN_NONE == 0 && SO_EE_ORIGIN_LOCAL == 1 &&
   SO_EE_ORIGIN_ICMP == 2 && SO_EE_ORIGIN_ICMP6 == 3) ? 1 : -1];

/* The walk (wr__cmsg_record) reads Linux's cmsghdr as wr_cmsg_hdr. */
typedef char cmsghdr_is_wr_cmsg_hdr[
  (sizeof(struct cmsghdr) == sizeof(wr_cmsg_hdr) &&
   offsetof(struct cmsghdr, cmsg_level) == offsetof(wr_cmsg_hdr, level) &&
   offsetof(struct cmsghdr, cmsg_type) == offsetof(wr_cmsg_hdr, type))
  ? 1 : -1];

size_t wr__plat_put_pktinfo4(unsigned char *out, const struct in_addr *src,
                             unsigned ifindex) {
  struct in_pktinfo pi;
  memset(&pi, 0, sizeof pi);
  pi.ipi_ifindex = (int)ifindex;
  if (src) pi.ipi_spec_dst = *src;   /* Linux's source for a send */
  memcpy(out, &pi, sizeof pi);
  return sizeof pi;
}

size_t wr__plat_put_pktinfo6(unsigned char *out, const struct in6_addr *src,
                             unsigned ifindex) {
  struct in6_pktinfo pi;
  memset(&pi, 0, sizeof pi);
  pi.ipi6_ifindex = ifindex;
  if (src) pi.ipi6_addr = *src;
  memcpy(out, &pi, sizeof pi);
  return sizeof pi;
}
