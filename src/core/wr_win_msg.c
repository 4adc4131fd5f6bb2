/*
** wr_win_msg.c -- what WSARecvMsg adds to a receive on Windows: the
** WSAMSG's control space, and Windows's numbers for the control-message
** decoder (wr_cmsg.c), which turns WSACMSGHDR records into the same
** tables as on Linux.
**
** Exports: wr_msg_init, wr_msg_free; for the engine's decoder:
**          wr__plat_cmsg, wr__plat_pktinfo4, wr__plat_pktinfo6,
**          wr__plat_put_pktinfo4, wr__plat_put_pktinfo6, wr__plat_ee.
**
** The kernel writes the caller's control buffer itself: it delivers only
** the messages the caller enabled, what fits, MSG_CTRUNC, MSG_BCAST and
** MSG_MCAST, so there is no private space and no filter.  The records are
** still untrusted when decoded (buf:write can have put anything there):
** the walk (wr__cmsg_record, wr_int.h) and the decoder are the portable
** ones, over Windows's numbers and structures.  WSACMSGHDR is laid out as
** Linux's cmsghdr (a SIZE_T length, then level and type), aligned to the
** natural alignment.
*/
#include <string.h>

#include "wr_int.h"

/* =====================================================================
** The WSAMSG's control space
** =================================================================== */

/*
** No private space: sysctl only marks the msg as initialised (wr_recvmsg
** refuses one that is not).
*/
int wr_msg_init(wr_msg *m, void *control, size_t controllen) {
  m->sysctl = m;
  m->sysctlcap = 0;
  m->control = control;
  m->controllen = control ? controllen : 0;
  m->controlused = 0;
  return 0;
}

void wr_msg_free(wr_msg *m) {
  m->sysctl = NULL;
  m->sysctlcap = 0;
  free(m->sendctl);
  m->sendctl = NULL;
  m->sendctllen = 0;
}

/* =====================================================================
** The decoder's numbers
** =================================================================== */

static const wr_cmsg_level levels[] = {
  { IPPROTO_IP, "IPPROTO_IP" },
  { IPPROTO_IPV6, "IPPROTO_IPV6" },
  { SOL_SOCKET, "SOL_SOCKET" },
  { IPPROTO_UDP, "IPPROTO_UDP" },
  { 0, NULL }
};

/* Windows gives every integer as an INT; IP_HOPLIMIT is its IP_TTL. */
static const wr_cmsg_rule rules[] = {
  { IPPROTO_IP, IP_PKTINFO, WR_CD_PKTINFO4, WR_CM_PKTINFO, "IP_PKTINFO" },
  { IPPROTO_IP, IP_TOS, WR_CD_INT, WR_CM_TOS, "IP_TOS" },
  { IPPROTO_IP, IP_TTL, WR_CD_INT, WR_CM_TTL, "IP_TTL" },
  { IPPROTO_IP, IP_HOPLIMIT, WR_CD_INT, WR_CM_TTL, "IP_TTL" },
  { IPPROTO_IPV6, IPV6_PKTINFO, WR_CD_PKTINFO6, WR_CM_PKTINFO6,
    "IPV6_PKTINFO" },
  { IPPROTO_IPV6, IPV6_TCLASS, WR_CD_INT, WR_CM_TCLASS, "IPV6_TCLASS" },
  { IPPROTO_IPV6, IPV6_HOPLIMIT, WR_CD_INT, WR_CM_HOPLIMIT,
    "IPV6_HOPLIMIT" },
  { 0, 0, 0, 0, NULL }
};

/* Header and step of a record, as WSA_CMSG_LEN and WSA_CMSGDATA_ALIGN. */
const wr_cmsg_numbers wr__plat_cmsg = {
  WSA_CMSG_LEN(0), WSA_CMSGDATA_ALIGN(1), levels, rules
};

/* IN_PKTINFO has no spec_dst. */
int wr__plat_pktinfo4(const wr_cmsg *o, struct in_addr *addr,
                      struct in_addr *spec_dst, unsigned *ifindex) {
  IN_PKTINFO pi;
  (void)spec_dst;
  if (o->len < sizeof pi) return 0;
  memcpy(&pi, o->data, sizeof pi);
  *addr = pi.ipi_addr;
  *ifindex = pi.ipi_ifindex;
  return 1;
}

int wr__plat_pktinfo6(const wr_cmsg *o, struct in6_addr *addr,
                      unsigned *ifindex) {
  IN6_PKTINFO pi;
  if (o->len < sizeof pi) return 0;
  memcpy(&pi, o->data, sizeof pi);
  *addr = pi.ipi6_addr;
  *ifindex = pi.ipi6_ifindex;
  return 1;
}

/* No extended errors on Windows: no rule asks for one. */
size_t wr__plat_ee(wr_cmsg *o) {
  (void)o;
  return 0;
}

/* The walk (wr__cmsg_record) reads WSACMSGHDR as wr_cmsg_hdr. */
typedef char wsacmsghdr_is_wr_cmsg_hdr[
  (sizeof(WSACMSGHDR) == sizeof(wr_cmsg_hdr) &&
   offsetof(WSACMSGHDR, cmsg_level) == offsetof(wr_cmsg_hdr, level) &&
   offsetof(WSACMSGHDR, cmsg_type) == offsetof(wr_cmsg_hdr, type))
  ? 1 : -1];

size_t wr__plat_put_pktinfo4(unsigned char *out, const struct in_addr *src,
                             unsigned ifindex) {
  IN_PKTINFO pi;
  memset(&pi, 0, sizeof pi);
  pi.ipi_ifindex = ifindex;
  if (src) pi.ipi_addr = *src;
  memcpy(out, &pi, sizeof pi);
  return sizeof pi;
}

size_t wr__plat_put_pktinfo6(unsigned char *out, const struct in6_addr *src,
                             unsigned ifindex) {
  IN6_PKTINFO pi;
  memset(&pi, 0, sizeof pi);
  pi.ipi6_ifindex = ifindex;
  if (src) pi.ipi6_addr = *src;
  memcpy(out, &pi, sizeof pi);
  return sizeof pi;
}
