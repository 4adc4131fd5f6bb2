/*
** wr_win_msg.c -- what WSARecvMsg adds to a receive on Windows: the
** WSAMSG's control space, and the control messages (WSACMSGHDR records)
** decoded into the same tables as on Linux.
**
** Exports: wr_msg_init, wr_msg_free, wr_msg_control_used, wr_msg_pending,
**          wr_cmsg_next, wr_ifname, wr_ee_origin_name.
**
** The kernel writes the caller's control buffer itself: it delivers only
** the messages the caller enabled, what fits, MSG_CTRUNC, MSG_BCAST and
** MSG_MCAST, so there is no private space and no filter.  The records are
** still untrusted when decoded (buf:write can have put anything there):
** the walk is the Linux decoder's (wr_linux_cmsg.c), over Windows's
** numbers.  WSACMSGHDR is laid out as Linux's cmsghdr (a SIZE_T length,
** then level and type), aligned to the natural alignment.
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

size_t wr_msg_control_used(const wr_msg *m) { return m->controlused; }
int wr_msg_pending(const wr_msg *m) { return m->pending; }

void wr_msg_free(wr_msg *m) {
  m->sysctl = NULL;
  m->sysctlcap = 0;
}

/* =====================================================================
** The decoder
** =================================================================== */

/* Header and step of a record, as WSA_CMSG_LEN and WSA_CMSGDATA_ALIGN. */
#define HDR_LEN       WSA_CMSG_LEN(0)
#define REC_ALIGN(n)  WSA_CMSGDATA_ALIGN(n)

static void set_in(struct sockaddr_storage *ss, socklen_t *len,
                   const IN_ADDR *a) {
  struct sockaddr_in *sin = (struct sockaddr_in *)ss;
  memset(ss, 0, sizeof *ss);
  sin->sin_family = AF_INET;
  sin->sin_addr = *a;
  *len = sizeof *sin;
}

static void set_in6(struct sockaddr_storage *ss, socklen_t *len,
                    const IN6_ADDR *a) {
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

/* An integer payload: an int (Windows gives every one as an INT). */
static void decode_int(wr_cmsg *o, int kind, const char *type_name) {
  int i;
  if (o->len < sizeof i) return;
  memcpy(&i, o->data, sizeof i);
  o->value = i;
  decoded(o, kind, type_name);
}

static void decode_ip(wr_cmsg *o) {
  o->level_name = "IPPROTO_IP";
  switch (o->type) {
    case IP_PKTINFO: {
      IN_PKTINFO pi;
      if (o->len < sizeof pi) return;
      memcpy(&pi, o->data, sizeof pi);
      decoded(o, WR_CM_PKTINFO, "IP_PKTINFO");
      set_in(&o->addr, &o->addrlen, &pi.ipi_addr);
      o->ifindex = pi.ipi_ifindex;
      return;
    }
    case IP_TOS:
      decode_int(o, WR_CM_TOS, "IP_TOS");
      o->value &= 0xff;
      return;
    case IP_TTL: decode_int(o, WR_CM_TTL, "IP_TTL"); return;
    case IP_HOPLIMIT: decode_int(o, WR_CM_TTL, "IP_TTL"); return;
    default: return;
  }
}

static void decode_ipv6(wr_cmsg *o) {
  o->level_name = "IPPROTO_IPV6";
  switch (o->type) {
    case IPV6_PKTINFO: {
      IN6_PKTINFO pi;
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
    default: return;
  }
}

/* The walk (wr__cmsg_record) reads WSACMSGHDR as wr_cmsg_hdr. */
typedef char wsacmsghdr_is_wr_cmsg_hdr[
  (sizeof(WSACMSGHDR) == sizeof(wr_cmsg_hdr) &&
   offsetof(WSACMSGHDR, cmsg_level) == offsetof(wr_cmsg_hdr, level) &&
   offsetof(WSACMSGHDR, cmsg_type) == offsetof(wr_cmsg_hdr, type))
  ? 1 : -1];

int wr_cmsg_next(const void *control, size_t used, size_t *pos,
                 wr_cmsg *out) {
  if (!wr__cmsg_record(control, used, pos, HDR_LEN, REC_ALIGN(1), out))
    return 0;
  switch (out->level) {
    case IPPROTO_IP: decode_ip(out); break;
    case IPPROTO_IPV6: decode_ipv6(out); break;
    case SOL_SOCKET: out->level_name = "SOL_SOCKET"; break;
    case IPPROTO_UDP: out->level_name = "IPPROTO_UDP"; break;
    default: break;
  }
  return 1;
}

/* Windows has no extended errors; the names stay Linux's numbers'. */
const char *wr_ee_origin_name(int origin) {
  switch (origin) {
    case 0: return "none";
    case 1: return "local";
    case 2: return "icmp";
    case 3: return "icmp6";
    default: return "other";
  }
}

int wr_ifname(unsigned ifindex, char *buf) {
  return if_indextoname(ifindex, buf) != NULL;
}
