/*
** wr_linux_cmsg.c -- control messages decoded: the caller's buffer after a
** WSARecvMsg, read record by record into wr_cmsg.
**
** Exports: wr_cmsg_next, wr_ee_origin_name, wr_ifname; for the Linux
**          platform: wr__ee_error.
**
** The records decoded here are in the caller's buffer, after the filter:
** buf:write, or another receive into the same buffer, can have put
** anything there.  So they are untrusted input.  The walk compares each
** length with the bytes left (never adds it to pos, which could wrap) and
** always steps forward or stops; a decoder reads only its record's payload,
** and decodes it only when it has its type's size and its fields are in
** range.  Anything else is reported raw: level, type, data.
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
  o->ee.error = wr__ee_error(&ee);
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

/* The walk (wr__cmsg_record) reads Linux's cmsghdr as wr_cmsg_hdr. */
typedef char cmsghdr_is_wr_cmsg_hdr[
  (sizeof(struct cmsghdr) == sizeof(wr_cmsg_hdr) &&
   offsetof(struct cmsghdr, cmsg_level) == offsetof(wr_cmsg_hdr, level) &&
   offsetof(struct cmsghdr, cmsg_type) == offsetof(wr_cmsg_hdr, type))
  ? 1 : -1];

int wr_cmsg_next(const void *control, size_t used, size_t *pos,
                 wr_cmsg *out) {
  if (!wr__cmsg_record(control, used, pos, CMSG_LEN(0), sizeof(size_t), out))
    return 0;
  switch (out->level) {
    case IPPROTO_IP: decode_ip(out); break;
    case IPPROTO_IPV6: decode_ipv6(out); break;
    case SOL_SOCKET: decode_socket(out); break;
    case SOL_UDP:
      out->level_name = "IPPROTO_UDP";
      if (out->type == UDP_GRO) decode_int(out, WR_CM_GRO, "UDP_GRO");
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
