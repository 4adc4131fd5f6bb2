/*
** wr_sys.h -- the system as the engine's BSD files see it (wr_socket.c,
** wr_bsd.c, wr_errors.c), on both platforms: on Linux, the POSIX headers
** they use; on Windows, the same POSIX names said in Winsock, so that those
** files build there with nothing changed.  Only they include it, and
** wr_win.c, for WR_SOCK: the platforms' other files (wr_linux_*.c,
** wr_win_msg.c) speak their system directly.
**
** Exports (macros and static functions): errno, E* codes, close, connect,
**          accept4, fcntl, getsockopt, setsockopt, the Linux option names
**          Winsock lacks, struct ip_mreqn, sa_family_t; WR_SOCK (Windows);
**          inline: (behind the macros of those names) wr__win_close,
**          wr__win_connect, wr__win_getsockopt, wr__win_setsockopt,
**          wr__win_fcntl.
**
** Errors.  A Winsock call fails with WSAGetLastError, not errno, and its
** codes are already the WSA codes: errno reads WSAGetLastError here, and
** every E* name a socket call can fail with is its WSA code, so
** wr_wsa_from_errno maps each to itself.  The C library's other E* names
** (ENOMEM, EPIPE, ...) keep their small values, below every WSA code.
*/
#ifndef WR_SYS_H
#define WR_SYS_H

#ifndef _WIN32
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>
#else
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>

#define WR_CORE            /* as wr_int.h, which comes after */
#include "wr.h"

#undef errno
#define errno ((int)WSAGetLastError())

#undef EINTR
#define EINTR WSAEINTR
#undef EBADF
#define EBADF WSAEBADF
#undef EACCES
#define EACCES WSAEACCES
#undef EFAULT
#define EFAULT WSAEFAULT
#undef EINVAL
#define EINVAL WSAEINVAL
#undef EMFILE
#define EMFILE WSAEMFILE
#undef EAGAIN
#define EAGAIN WSAEWOULDBLOCK
#undef EWOULDBLOCK
#define EWOULDBLOCK WSAEWOULDBLOCK
#undef EINPROGRESS
#define EINPROGRESS WSAEINPROGRESS
#undef EALREADY
#define EALREADY WSAEALREADY
#undef ENOTSOCK
#define ENOTSOCK WSAENOTSOCK
#undef EDESTADDRREQ
#define EDESTADDRREQ WSAEDESTADDRREQ
#undef EMSGSIZE
#define EMSGSIZE WSAEMSGSIZE
#undef EPROTOTYPE
#define EPROTOTYPE WSAEPROTOTYPE
#undef ENOPROTOOPT
#define ENOPROTOOPT WSAENOPROTOOPT
#undef EPROTONOSUPPORT
#define EPROTONOSUPPORT WSAEPROTONOSUPPORT
#undef ESOCKTNOSUPPORT
#define ESOCKTNOSUPPORT WSAESOCKTNOSUPPORT
#undef EOPNOTSUPP
#define EOPNOTSUPP WSAEOPNOTSUPP
#undef EPFNOSUPPORT
#define EPFNOSUPPORT WSAEPFNOSUPPORT
#undef EAFNOSUPPORT
#define EAFNOSUPPORT WSAEAFNOSUPPORT
#undef EADDRINUSE
#define EADDRINUSE WSAEADDRINUSE
#undef EADDRNOTAVAIL
#define EADDRNOTAVAIL WSAEADDRNOTAVAIL
#undef ENETDOWN
#define ENETDOWN WSAENETDOWN
#undef ENETUNREACH
#define ENETUNREACH WSAENETUNREACH
#undef ENETRESET
#define ENETRESET WSAENETRESET
#undef ECONNABORTED
#define ECONNABORTED WSAECONNABORTED
#undef ECONNRESET
#define ECONNRESET WSAECONNRESET
#undef ENOBUFS
#define ENOBUFS WSAENOBUFS
#undef EISCONN
#define EISCONN WSAEISCONN
#undef ENOTCONN
#define ENOTCONN WSAENOTCONN
#undef ESHUTDOWN
#define ESHUTDOWN WSAESHUTDOWN
#undef ETIMEDOUT
#define ETIMEDOUT WSAETIMEDOUT
#undef ECONNREFUSED
#define ECONNREFUSED WSAECONNREFUSED
#undef ELOOP
#define ELOOP WSAELOOP
#undef ENAMETOOLONG
#define ENAMETOOLONG WSAENAMETOOLONG
#undef EHOSTDOWN
#define EHOSTDOWN WSAEHOSTDOWN
#undef EHOSTUNREACH
#define EHOSTUNREACH WSAEHOSTUNREACH

/* ---------------------------------------------------------------------
** Descriptors: a SOCKET is kept in an int
** ------------------------------------------------------------------- */

/* Windows handles have 32 significant bits and sign-extend: WR_SOCK gives
** the int back to Winsock (here, and in wr_win.c). */
#define WR_SOCK(fd) ((SOCKET)(intptr_t)(fd))

/* Sockets are made non-blocking by the platform (wr__plat_socket_init),
** and handles are never inherited by a child that did not ask. */
#define SOCK_NONBLOCK 0
#define SOCK_CLOEXEC  0
#define MSG_NOSIGNAL  0        /* Windows raises no SIGPIPE */

typedef ADDRESS_FAMILY sa_family_t;

static inline int wr__win_close(int fd) { return closesocket(WR_SOCK(fd)); }
#define close wr__win_close

/* A non-blocking connect under way is WSAEWOULDBLOCK on Windows. */
static inline int wr__win_connect(int fd, const struct sockaddr *sa,
                                  socklen_t len) {
  int r = connect(WR_SOCK(fd), sa, len);
  if (r != 0 && WSAGetLastError() == WSAEWOULDBLOCK)
    WSASetLastError(WSAEINPROGRESS);
  return r;
}
#define connect wr__win_connect

static inline int accept4(int fd, struct sockaddr *sa, socklen_t *len,
                          int flags) {
  (void)flags;
  return (int)accept(WR_SOCK(fd), sa, len);
}

/*
** getsockopt: Winsock's takes a char *; SO_DOMAIN and SO_PROTOCOL (Linux
** names) are read from the socket's WSAPROTOCOL_INFOW.
*/
#define SO_DOMAIN   0x7f01
#define SO_PROTOCOL 0x7f02

static inline int wr__win_getsockopt(int fd, int level, int name, void *v,
                                     socklen_t *len) {
  if (level == SOL_SOCKET && (name == SO_DOMAIN || name == SO_PROTOCOL)) {
    WSAPROTOCOL_INFOW pi;
    int n = sizeof pi;
    if (*len < (socklen_t)sizeof(int)) {
      WSASetLastError(WSAEFAULT);
      return -1;
    }
    if (getsockopt(WR_SOCK(fd), SOL_SOCKET, SO_PROTOCOL_INFOW, (char *)&pi,
                   &n) != 0)
      return -1;
    *(int *)v = name == SO_DOMAIN ? pi.iAddressFamily : pi.iProtocol;
    *len = sizeof(int);
    return 0;
  }
  return getsockopt(WR_SOCK(fd), level, name, (char *)v, len);
}
#define getsockopt wr__win_getsockopt

static inline int wr__win_setsockopt(int fd, int level, int name,
                                     const void *v, size_t len) {
  return setsockopt(WR_SOCK(fd), level, name, (const char *)v, (int)len);
}
#define setsockopt wr__win_setsockopt

/*
** fcntl, the three uses: F_GETFL (is it a socket at all), F_SETFL (the
** platform makes every socket non-blocking anyway), F_DUPFD_CLOEXEC (a
** second handle to the same socket, through WSADuplicateSocketW).
*/
#define F_GETFL         1
#define F_SETFL         2
#define F_DUPFD_CLOEXEC 3
#define O_NONBLOCK      0x800

static inline int wr__win_fcntl(int fd, int cmd, ...) {
  WSAPROTOCOL_INFOW pi;
  int v;
  socklen_t len = sizeof v;
  SOCKET dup;
  switch (cmd) {
    case F_GETFL:
      if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len))
        return -1;
      return O_NONBLOCK;
    case F_SETFL:
      return 0;
    case F_DUPFD_CLOEXEC:
      if (WSADuplicateSocketW(WR_SOCK(fd), GetCurrentProcessId(), &pi) != 0)
        return -1;
      dup = WSASocketW(FROM_PROTOCOL_INFO, FROM_PROTOCOL_INFO,
                       FROM_PROTOCOL_INFO, &pi, 0, WSA_FLAG_OVERLAPPED);
      return dup == INVALID_SOCKET ? -1 : (int)dup;
    default:
      WSASetLastError(WSAEINVAL);
      return -1;
  }
}
#define fcntl wr__win_fcntl

/* ---------------------------------------------------------------------
** Options: Windows's names for Linux's, and those it has not (an option
** number no Windows layer knows: setting it fails, WSAENOPROTOOPT)
** ------------------------------------------------------------------- */

#define IPV6_RECVPKTINFO   IPV6_PKTINFO
#define IPV6_RECVHOPLIMIT  IPV6_HOPLIMIT
#define SOL_UDP            IPPROTO_UDP
#define SO_REUSEPORT       0x7f10
#define SO_RCVBUFFORCE     0x7f11
#define SO_TIMESTAMP       0x7f12
#define SO_TIMESTAMPNS     0x7f13
#define SO_RXQ_OVFL        0x7f14
#define IP_RECVORIGDSTADDR 0x7f15
#define UDP_GRO            0x7f16

/* Linux's ip_mreqn begins as Winsock's ip_mreq does; the index is unused
** (Winsock takes an interface by address). */
struct ip_mreqn {
  struct in_addr imr_multiaddr;
  struct in_addr imr_address;
  int imr_ifindex;
};

#endif /* _WIN32 */

#endif
