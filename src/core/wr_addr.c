/*
** wr_addr.c -- addresses: text and port to a sockaddr and back.
**
** Exports: wr_addr_parse, wr_addr_format.
**
** Text is what a Lua caller writes: "*" for any, "localhost", IPv4 and
** IPv6 literals (with a scope, fe80::1%eth0), and for AF_UNIX a path, or
** "@name" in the abstract namespace.
*/
#define _GNU_SOURCE
#ifndef _WIN32
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/un.h>
#endif
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "wr.h"

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
** to the call using the address: WSAEADDRNOTAVAIL (unknown_scope,
** wr_bsd.c).
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
    uint32_t scope;                    /* a ULONG on Windows */
    *pct++ = '\0';
    if (!parse_scope(pct, &scope)) return 0;
    sin6->sin6_scope_id = scope;
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
