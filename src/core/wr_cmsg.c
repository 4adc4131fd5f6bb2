/*
** wr_cmsg.c -- control messages decoded: the caller's buffer after a
** WSARecvMsg, read record by record into wr_cmsg, on either platform.
**
** Exports: wr_cmsg_next, wr_ifname, wr_ee_origin_name,
**          wr_msg_control_used, wr_msg_pending, wr_msg_put_control.
**
** The records decoded here are in the caller's buffer: buf:write, or
** another receive into the same buffer, can have put anything there.  So
** they are untrusted input.  The walk (wr__cmsg_record, wr_int.h) reads
** each record's header; this file decodes its payload the same way on both
** platforms, each platform giving only its numbers (wr__plat_cmsg: the
** header's size, the levels, which (level, type) decodes how) and reading
** its own structures (wr__plat_pktinfo4/6, wr__plat_ee).  A record is
** decoded only when it has its type's size and its fields are in range;
** anything else is reported raw: level, type, data.
*/
#ifndef _WIN32
#include <net/if.h>
#include <sys/time.h>
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wr_int.h"

/* =====================================================================
** The WSAMSG's outputs
** =================================================================== */

size_t wr_msg_control_used(const wr_msg *m) { return m->controlused; }
int wr_msg_pending(const wr_msg *m) { return m->pending; }

/* =====================================================================
** Payloads
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

/*
** An integer payload: an int, or (byte_too) a single byte.  Any other size
** is no such integer: 0 (the record stays raw).
*/
static int int_payload(const wr_cmsg *o, int byte_too, long long *v) {
  int i;
  unsigned char b;
  if (o->len >= sizeof i) {
    memcpy(&i, o->data, sizeof i);
    *v = i;
    return 1;
  }
  if (byte_too && o->len == 1) {
    memcpy(&b, o->data, 1);
    *v = b;
    return 1;
  }
  return 0;
}

static int decode_u32(wr_cmsg *o) {
  uint32_t d;
  if (o->len < sizeof d) return 0;
  memcpy(&d, o->data, sizeof d);
  o->value = d;
  return 1;
}

static int decode_pktinfo4(wr_cmsg *o) {
  struct in_addr addr, spec_dst;
  int r = wr__plat_pktinfo4(o, &addr, &spec_dst, &o->ifindex);
  if (r == 0) return 0;
  set_in(&o->addr, &o->addrlen, addr);
  if (r == 2) set_in(&o->spec_dst, &o->spec_dstlen, spec_dst);
  return 1;
}

static int decode_pktinfo6(wr_cmsg *o) {
  struct in6_addr addr;
  if (!wr__plat_pktinfo6(o, &addr, &o->ifindex)) return 0;
  set_in6(&o->addr, &o->addrlen, &addr);
  return 1;
}

/*
** A whole sockaddr_in or sockaddr_in6 at p (n bytes), of `family` (0:
** either) into *ss: its size, or 0 when it is of another family or cut.
*/
static socklen_t whole_sockaddr(const unsigned char *p, size_t n,
                                int family, struct sockaddr_storage *ss) {
  struct sockaddr_storage a;
  size_t want;
  memset(&a, 0, sizeof a);
  memcpy(&a, p, n < sizeof a ? n : sizeof a);
  want = a.ss_family == AF_INET ? sizeof(struct sockaddr_in)
       : a.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : 0;
  if (want == 0 || n < want || (family && a.ss_family != family)) return 0;
  memset(ss, 0, sizeof *ss);
  memcpy(ss, p, want);
  return (socklen_t)want;
}

/* IP_ORIGDSTADDR / IPV6_ORIGDSTADDR: a sockaddr of the level's family */
static int decode_sockaddr(wr_cmsg *o, int family) {
  o->addrlen = whole_sockaddr(o->data, o->len, family, &o->addr);
  return o->addrlen != 0;
}

/*
** IP_RECVERR / IPV6_RECVERR: the extended error, then (SO_EE_OFFENDER) the
** address of who sent the ICMP message, when its family says one follows
** and the record holds all of it.
*/
static int decode_ee(wr_cmsg *o) {
  size_t n = wr__plat_ee(o);
  if (n == 0) return 0;
  o->addrlen = whole_sockaddr(o->data + n, o->len - n, 0, &o->addr);
  return 1;
}

/*
** A timestamp decodes only with its fraction in range (0 <= tv_usec <
** 10^6, 0 <= tv_nsec < 10^9): a record that says otherwise is no time the
** kernel gave, and is reported raw.  In range, usec * 1000 cannot overflow.
*/
static int decode_timeval(wr_cmsg *o) {
  struct timeval tv;
  if (o->len < sizeof tv) return 0;
  memcpy(&tv, o->data, sizeof tv);
  if (tv.tv_usec < 0 || tv.tv_usec >= 1000000) return 0;
  o->sec = tv.tv_sec;
  o->nsec = (long)tv.tv_usec * 1000;
  return 1;
}

static int decode_timespec(wr_cmsg *o) {
  struct timespec ts;
  if (o->len < sizeof ts) return 0;
  memcpy(&ts, o->data, sizeof ts);
  if (ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000) return 0;
  o->sec = ts.tv_sec;
  o->nsec = ts.tv_nsec;
  return 1;
}

/* The payload read as the rule says: 1 decoded, 0 raw. */
static int decode(wr_cmsg *o, const wr_cmsg_rule *r) {
  switch (r->how) {
    case WR_CD_INT: return int_payload(o, 0, &o->value);
    case WR_CD_INT_OR_BYTE: return int_payload(o, 1, &o->value);
    case WR_CD_U32: return decode_u32(o);
    case WR_CD_PKTINFO4: return decode_pktinfo4(o);
    case WR_CD_PKTINFO6: return decode_pktinfo6(o);
    case WR_CD_SOCKADDR4: return decode_sockaddr(o, AF_INET);
    case WR_CD_SOCKADDR6: return decode_sockaddr(o, AF_INET6);
    case WR_CD_EE: return decode_ee(o);
    case WR_CD_TIMEVAL: return decode_timeval(o);
    case WR_CD_TIMESPEC: return decode_timespec(o);
    default: return 0;
  }
}

/* =====================================================================
** Records
** =================================================================== */

static const char *level_name(int level) {
  const wr_cmsg_level *l;
  for (l = wr__plat_cmsg.levels; l->name; l++)
    if (l->level == level) return l->name;
  return NULL;
}

static const wr_cmsg_rule *rule_of(int level, int type) {
  const wr_cmsg_rule *r;
  for (r = wr__plat_cmsg.rules; r->name; r++)
    if (r->level == level && r->type == type) return r;
  return NULL;
}

int wr_cmsg_next(const void *control, size_t used, size_t *pos,
                 wr_cmsg *out) {
  const wr_cmsg_rule *r;
  if (!wr__cmsg_record(control, used, pos, wr__plat_cmsg.hdr_len,
                       wr__plat_cmsg.align, out))
    return 0;
  out->level_name = level_name(out->level);
  r = rule_of(out->level, out->type);
  if (r && decode(out, r)) {
    out->kind = r->kind;
    out->type_name = r->name;
    if (r->kind == WR_CM_TOS) out->value &= 0xff;
  }
  return 1;
}

/* SO_EE_ORIGIN_* names, by Linux's numbers (Windows has no extended
** errors: its names stay Linux's numbers'). */
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

/* =====================================================================
** Encoding: a send's control messages (WSASendMsg), the caller's own
** values, written the platform's way
** =================================================================== */

/* The (level, type) the platform sends kind as, and how its payload is
** written. */
static const wr_cmsg_rule *send_rule(int kind) {
  const wr_cmsg_rule *r;
  if (kind != WR_CM_PKTINFO && kind != WR_CM_PKTINFO6 && kind != WR_CM_TOS &&
      kind != WR_CM_TCLASS && kind != WR_CM_TTL && kind != WR_CM_HOPLIMIT)
    return NULL;
  for (r = wr__plat_cmsg.rules; r->name; r++)
    if (r->kind == kind) return r;
  return NULL;
}

/* One record's payload into out (room for 64 bytes): its size, or 0 when
** c cannot be sent. */
static size_t put_payload(const wr_cmsg *c, unsigned char *out) {
  int v;
  if (c->kind == WR_CM_PKTINFO) {
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&c->addr;
    if (c->addrlen && sin->sin_family != AF_INET) return 0;
    return wr__plat_put_pktinfo4(out, c->addrlen ? &sin->sin_addr : NULL,
                                 c->ifindex);
  }
  if (c->kind == WR_CM_PKTINFO6) {
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&c->addr;
    if (c->addrlen && s6->sin6_family != AF_INET6) return 0;
    return wr__plat_put_pktinfo6(out, c->addrlen ? &s6->sin6_addr : NULL,
                                 c->ifindex);
  }
  if (c->value < 0 || c->value > 255) return 0;
  v = (int)c->value;
  memcpy(out, &v, sizeof v);
  return sizeof v;
}

int wr_msg_put_control(wr_msg *m, const wr_cmsg *c, size_t n, size_t *bad) {
  const size_t hl = wr__plat_cmsg.hdr_len, al = wr__plat_cmsg.align;
  size_t i, used = 0, cap = n * (hl + 64 + al);
  unsigned char *buf = NULL, payload[64];
  if (n > 64) {
    *bad = 64;
    return WSAEINVAL;
  }
  if (n && (buf = calloc(1, cap)) == NULL) return WSA_NOT_ENOUGH_MEMORY;
  for (i = 0; i < n; i++) {
    const wr_cmsg_rule *r = send_rule(c[i].kind);
    size_t len = r ? put_payload(&c[i], payload) : 0;
    wr_cmsg_hdr h;
    if (len == 0) {
      free(buf);
      *bad = i;
      return WSAEINVAL;
    }
    h.len = hl + len;
    h.level = r->level;
    h.type = r->type;
    memcpy(buf + used, &h, sizeof h);
    memcpy(buf + used + hl, payload, len);
    used += (h.len + al - 1) & ~(al - 1);
  }
  free(m->sendctl);
  m->sendctl = buf;
  m->sendctllen = used;
  return 0;
}
