/*
** wr_addr.c -- addresses: text and port to a sockaddr and back.
**
** Exports: wr_addr_parse, wr_addr_format; for the engine: wr__addr_any,
**          wr__addr_ifindex.
**
** Text is what a Lua caller writes: "*" for any, "localhost", IPv4 and
** IPv6 literals (with a scope, fe80::1%eth0), a host name, and for
** AF_UNIX a path, or "@name" in the abstract namespace.  An interface
** (a scope, the membership and multicast options' interface) is read
** here too, one way everywhere: "*" or "" for any, then a decimal index,
** then an interface name.
**
** Numeric text is the fast path (sendto on every datagram): parsed in
** place, no lookup, no allocation.  Only text that fails it and can be a
** host name goes to getaddrinfo, restricted to the socket's family.
*/
#define _GNU_SOURCE
#ifndef _WIN32
#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>
#endif
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "wr_int.h"

/* =====================================================================
** Interfaces
** =================================================================== */

int wr__addr_any(const char *text) {
  return strcmp(text, "*") == 0 || *text == '\0';
}

/* Decimal text ("2") up to 2^32 - 1, a scope's width: 1, or 0. */
static int decimal(const char *text, unsigned *n) {
  unsigned long long v = 0;
  if (*text == '\0') return 0;
  for (; *text; text++) {
    if (*text < '0' || *text > '9') return 0;
    v = v * 10 + (unsigned)(*text - '0');
    if (v > 0xffffffffu) return 0;
  }
  *n = (unsigned)v;
  return 1;
}

int wr__addr_ifindex(const char *text, unsigned *index) {
  if (decimal(text, index)) return 0;
  *index = if_nametoindex(text);
  return *index != 0 ? 0 : WSAEADDRNOTAVAIL;
}

/* =====================================================================
** Numeric text
** =================================================================== */

static int parse_v4(const char *text, struct in_addr *a) {
  if (wr__addr_any(text)) {
    a->s_addr = htonl(INADDR_ANY);
    return 1;
  }
  if (strcasecmp(text, "localhost") == 0) {
    a->s_addr = htonl(INADDR_LOOPBACK);
    return 1;
  }
  return inet_pton(AF_INET, text, a) == 1;
}

/*
** Numeric IPv6 text into sin6: 1, or 0 (not numeric).  IPv4 text is a
** v4-mapped address (a dual-stack socket's view of IPv4); with v6only it
** is -1: the socket takes no IPv4 traffic, the text is of the wrong family.
*/
static int parse_v6(const char *text, int v6only, struct sockaddr_in6 *sin6) {
  char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
  char *pct;
  struct in_addr v4;
  if (wr__addr_any(text)) {
    sin6->sin6_addr = in6addr_any;
    return 1;
  }
  if (strcasecmp(text, "localhost") == 0) {
    sin6->sin6_addr = in6addr_loopback;
    return 1;
  }
  if (strlen(text) >= sizeof host) return 0;
  strcpy(host, text);
  pct = strchr(host, '%');             /* fe80::1%eth0, fe80::1%2 */
  if (pct) {
    unsigned scope;
    *pct++ = '\0';
    /* no interface of that name: the text is no address.  A number naming
    ** none is the call's to refuse (unknown_scope, wr_bsd.c). */
    if (wr__addr_ifindex(pct, &scope) != 0) return 0;
    sin6->sin6_scope_id = scope;
  }
  if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) return 1;
  if (inet_pton(AF_INET, host, &v4) == 1) {   /* dual stack: v4-mapped */
    if (v6only) return -1;
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
** (Winsock's WSAEAFNOSUPPORT); anything else may be a name.
*/
static int v6_text(const char *text) {
  struct sockaddr_in6 sin6;
  memset(&sin6, 0, sizeof sin6);
  return parse_v6(text, 0, &sin6) == 1;
}

/* =====================================================================
** Host names
** =================================================================== */

static int is_number(const char *p, size_t n) {
  size_t i = 0;
  int hex = n > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X');
  if (hex) i = 2;
  if (i == n) return 0;
  for (; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if (!(c >= '0' && c <= '9') &&
        !(hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))))
      return 0;
  }
  return 1;
}

/*
** Can text be a host name?  Labels of letters, digits, '-' and '_' (some
** hosts files have it), 1 to 63 bytes, 253 in all, a final dot allowed
** (RFC 1123).  Text whose last label is a number (127.1, 0x7f,
** 10.0.0.300) is a malformed address, not a name (RFC 1123 2.1):
** getaddrinfo would read it the lax way inet_aton does.  Only a name is
** ever looked up: other text costs no lookup, and no query leaves the
** machine for it.
*/
static int maybe_name(const char *text) {
  size_t n = strlen(text), i, start = 0;
  if (n > 0 && text[n - 1] == '.') n--;
  if (n == 0 || n > 253) return 0;
  for (i = 0; i <= n; i++) {
    unsigned char c = i < n ? (unsigned char)text[i] : '.';
    if (c == '.') {
      if (i == start || i - start > 63) return 0;
      if (i == n && is_number(text + start, i - start)) return 0;
      start = i + 1;
    } else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '-' || c == '_')) {
      return 0;
    }
  }
  return 1;
}

/* A getaddrinfo failure as Windows' getaddrinfo reports it. */
static int wsa_from_gai(int e) {
  switch (e) {
    case EAI_NONAME: return WSAHOST_NOT_FOUND;
    case EAI_AGAIN: return WSATRY_AGAIN;
    case EAI_MEMORY: return WSA_NOT_ENOUGH_MEMORY;
#ifdef EAI_NODATA
    case EAI_NODATA: return WSANO_DATA;
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY: return WSANO_DATA;    /* none of this family */
#endif
    default: return WSANO_RECOVERY;            /* EAI_FAIL, EAI_SYSTEM */
  }
}

/*
** Look name up for a socket of `family`: its first address, port 0.  No
** AI_ADDRCONFIG: a machine with loopback alone still resolves its own
** names.  A dual-stack socket takes an IPv4-only name v4-mapped.
*/
static int lookup(int family, int v6only, const char *name,
                  struct sockaddr_storage *sa, socklen_t *len) {
  struct addrinfo hints, *res;
  int e;
  if (!maybe_name(name)) return WSAHOST_NOT_FOUND;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = family;
  hints.ai_socktype = SOCK_DGRAM;            /* one entry per address */
  if (family == AF_INET6 && !v6only) hints.ai_flags = AI_V4MAPPED;
  if ((e = getaddrinfo(name, NULL, &hints, &res)) != 0) return wsa_from_gai(e);
  if (res->ai_addrlen > sizeof *sa || res->ai_family != family) {
    freeaddrinfo(res);
    return WSANO_RECOVERY;
  }
  memcpy(sa, res->ai_addr, res->ai_addrlen);
  *len = res->ai_addrlen;
  freeaddrinfo(res);
  return 0;
}

/* =====================================================================
** Text -> sockaddr
** =================================================================== */

static int parse_unix(const char *text, struct sockaddr_storage *sa,
                      socklen_t *len) {
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

/* Numeric text (or "*", "localhost") into sa: 0, a WSA code, or -1 (not
** numeric: maybe a name). */
static int parse_numeric(int family, int v6only, const char *text,
                         struct sockaddr_storage *sa, socklen_t *len) {
  if (family == AF_INET6) {
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)sa;
    int r = parse_v6(text, v6only, sin6);
    if (r < 0) return WSAEAFNOSUPPORT;
    if (r == 0) return -1;
    sin6->sin6_family = AF_INET6;
    *len = sizeof *sin6;
    return 0;
  } else {
    struct sockaddr_in *sin = (struct sockaddr_in *)sa;
    if (!parse_v4(text, &sin->sin_addr))
      return v6_text(text) ? WSAEAFNOSUPPORT : -1;
    sin->sin_family = AF_INET;
    *len = sizeof *sin;
    return 0;
  }
}

int wr_addr_parse(int family, int v6only, const char *text, int port,
                  struct sockaddr_storage *sa, socklen_t *len) {
  int r;
  memset(sa, 0, sizeof *sa);
  if (family == AF_UNIX) return parse_unix(text, sa, len);
  if (port < 0 || port > 65535) return WSAEINVAL;
  if (family != AF_INET && family != AF_INET6) return WSAEAFNOSUPPORT;
  r = parse_numeric(family, v6only, text, sa, len);
  if (r < 0) r = lookup(family, v6only, text, sa, len);
  if (r) return r;
  if (family == AF_INET6)
    ((struct sockaddr_in6 *)sa)->sin6_port = htons((uint16_t)port);
  else
    ((struct sockaddr_in *)sa)->sin_port = htons((uint16_t)port);
  return 0;
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
        snprintf(buf + n, bufsize - n, "%%%u", (unsigned)sin6->sin6_scope_id);
      }
      *port = ntohs(sin6->sin6_port);
      return 0;
    }
    case AF_UNIX: {
      const struct sockaddr_un *sun = (const struct sockaddr_un *)sa;
      size_t n = (size_t)len > offsetof(struct sockaddr_un, sun_path)
                     ? (size_t)len - offsetof(struct sockaddr_un, sun_path)
                     : 0;
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
