/*
** wr_errors.c -- WSA error names, codes and meanings, and errno -> WSA.
**
** Exports: wr_wsa_from_errno, wr_error_by_code, wr_error_by_name,
**          wr_error_table; for the core: wr__wsa_from_io,
**          wr__wsa_from_send.
**
** The table is the one place a Windows error code gets its name and its
** one-line meaning; the Lua `errors` table and `strerror` are built from it.
*/
#include "wr_sys.h"      /* on Windows the E* names are the WSA codes */
#include <string.h>

#include "wr_int.h"

#define E(n, m) { n, #n, m }

static const wr_error_info errors[] = {
  E(WSA_NOT_ENOUGH_MEMORY, "Insufficient memory available."),
  E(WSA_INVALID_PARAMETER, "One or more parameters are invalid."),
  E(WSA_OPERATION_ABORTED,
    "The overlapped operation has been canceled (socket closed or "
    "CancelIoEx)."),
  E(WSA_IO_INCOMPLETE, "The overlapped I/O event object is not in a "
    "signaled state: the operation has not completed yet."),
  E(WSA_IO_PENDING, "Overlapped operation successfully initiated; "
    "completion will be indicated later."),
  { WR_ERROR_NOT_FOUND, "ERROR_NOT_FOUND",
    "No pending operation matches the request to cancel." },
  { WR_ERROR_INVALID_HANDLE, "ERROR_INVALID_HANDLE",
    "The handle is invalid (the completion port was closed)." },
  { WR_WAIT_TIMEOUT, "WAIT_TIMEOUT",
    "The wait timed out: no completion was queued in time." },
  E(WSAEINTR, "A blocking call was interrupted."),
  E(WSAEBADF, "The file handle supplied is not valid."),
  E(WSAEACCES, "Permission denied."),
  E(WSAEFAULT, "A buffer is not completely contained in valid memory."),
  E(WSAEINVAL, "Invalid argument: the call is not valid with these "
    "arguments or in the object's present state."),
  E(WSAEMFILE, "Too many open sockets."),
  E(WSAEWOULDBLOCK, "The operation would block (nonblocking socket), or "
    "there are too many outstanding overlapped requests."),
  E(WSAEINPROGRESS, "A blocking operation is currently executing."),
  E(WSAEALREADY, "An operation is already in progress."),
  E(WSAENOTSOCK, "The descriptor is not a socket (or it was closed)."),
  E(WSAEDESTADDRREQ, "A destination address is required."),
  E(WSAEMSGSIZE, "The message was too large: for a receive, for the "
    "buffers (the excess was discarded); for a send, for the transport."),
  E(WSAEPROTOTYPE, "Protocol wrong type for socket."),
  E(WSAENOPROTOOPT, "Bad protocol option."),
  E(WSAEPROTONOSUPPORT, "Protocol not supported."),
  E(WSAESOCKTNOSUPPORT, "Socket type not supported."),
  E(WSAEOPNOTSUPP, "Operation not supported (on this socket type or with "
    "these flags)."),
  E(WSAEPFNOSUPPORT, "Protocol family not supported."),
  E(WSAEAFNOSUPPORT, "Address family not supported by protocol family."),
  E(WSAEADDRINUSE, "Address already in use."),
  E(WSAEADDRNOTAVAIL, "Cannot assign requested address."),
  E(WSAENETDOWN, "The network subsystem has failed."),
  E(WSAENETUNREACH, "The network is unreachable."),
  E(WSAENETRESET, "The connection was broken by keep-alive activity, or "
    "a datagram's time to live expired."),
  E(WSAECONNABORTED, "The connection was aborted by a time-out or other "
    "failure."),
  E(WSAECONNRESET, "The connection was reset by the peer (for a datagram "
    "socket: an earlier send drew an ICMP Port Unreachable)."),
  E(WSAENOBUFS, "No buffer space available."),
  E(WSAEISCONN, "The socket is already connected."),
  E(WSAENOTCONN, "The socket is not connected."),
  E(WSAESHUTDOWN, "The socket has been shut down in that direction."),
  E(WSAETIMEDOUT, "The operation timed out."),
  E(WSAECONNREFUSED, "The connection was refused."),
  E(WSAELOOP, "Too many levels of symbolic links."),
  E(WSAENAMETOOLONG, "Name too long."),
  E(WSAEHOSTDOWN, "The host is down."),
  E(WSAEHOSTUNREACH, "No route to host."),
  E(WSASYSNOTREADY, "The network subsystem is unavailable."),
  E(WSANOTINITIALISED, "The library was not initialised (the Lua state "
    "that loaded it is closing)."),
  E(WSAEDISCON, "The message-oriented connection was gracefully closed "
    "by the peer."),
  E(WSASYSCALLFAILURE, "A system call failed in an unexpected way."),
  E(WSAHOST_NOT_FOUND, "Host not found (no address, and no name that "
    "exists)."),
  E(WSATRY_AGAIN, "A temporary failure in name resolution (the name "
    "server did not answer); try again later."),
  E(WSANO_RECOVERY, "A nonrecoverable failure in name resolution."),
  E(WSANO_DATA, "The name exists, but has no address of the requested "
    "family."),
};

#define NERRORS (sizeof errors / sizeof errors[0])

const wr_error_info *wr_error_table(size_t *n) {
  *n = NERRORS;
  return errors;
}

const wr_error_info *wr_error_by_code(int code) {
  size_t i;
  for (i = 0; i < NERRORS; i++)
    if (errors[i].code == code) return &errors[i];
  return NULL;
}

const wr_error_info *wr_error_by_name(const char *name) {
  size_t i;
  for (i = 0; i < NERRORS; i++)
    if (strcmp(errors[i].name, name) == 0) return &errors[i];
  return NULL;
}

int wr_wsa_from_errno(int err) {
  switch (err) {
    case 0: return 0;
    case EINTR: return WSAEINTR;
    case EBADF: return WSAENOTSOCK;      /* a closed or bogus descriptor */
    case EACCES: case EPERM: return WSAEACCES;
    case EFAULT: return WSAEFAULT;
    case EINVAL: return WSAEINVAL;
    case EMFILE: case ENFILE: return WSAEMFILE;
    case EAGAIN: return WSAEWOULDBLOCK;
    case EINPROGRESS: return WSAEINPROGRESS;
    case EALREADY: return WSAEALREADY;
    case ENOTSOCK: return WSAENOTSOCK;
    case EDESTADDRREQ: return WSAEDESTADDRREQ;
    case EMSGSIZE: return WSAEMSGSIZE;
    case EPROTOTYPE: return WSAEPROTOTYPE;
    case ENOPROTOOPT: return WSAENOPROTOOPT;
    case EPROTONOSUPPORT: return WSAEPROTONOSUPPORT;
    case ESOCKTNOSUPPORT: return WSAESOCKTNOSUPPORT;
    case EOPNOTSUPP: return WSAEOPNOTSUPP;
    case EPFNOSUPPORT: return WSAEPFNOSUPPORT;
    case EAFNOSUPPORT: return WSAEAFNOSUPPORT;
    case EADDRINUSE: return WSAEADDRINUSE;
    case EADDRNOTAVAIL: return WSAEADDRNOTAVAIL;
    case ENETDOWN: return WSAENETDOWN;
    case ENETUNREACH: return WSAENETUNREACH;
    case ENETRESET: return WSAENETRESET;
    case ECONNABORTED: return WSAECONNABORTED;
    case ECONNRESET: return WSAECONNRESET;
    case ENOBUFS: return WSAENOBUFS;
    case ENOMEM: return WSA_NOT_ENOUGH_MEMORY;
    case EISCONN: return WSAEISCONN;
    case ENOTCONN: return WSAENOTCONN;
    case ESHUTDOWN: case EPIPE: return WSAESHUTDOWN;
    case ETIMEDOUT: return WSAETIMEDOUT;
    case ECONNREFUSED: return WSAECONNREFUSED;
    case ELOOP: return WSAELOOP;
    case ENAMETOOLONG: return WSAENAMETOOLONG;
    case EHOSTDOWN: return WSAEHOSTDOWN;
    case EHOSTUNREACH: return WSAEHOSTUNREACH;
    case ENOENT: return WSAEADDRNOTAVAIL;  /* unix path that is not there */
    case ENODEV: return WSAEADDRNOTAVAIL;  /* an IPv6 scope naming no
                                              interface (fe80::1%99999) */
    default: return WSASYSCALLFAILURE;
  }
}

/*
** A receive's or a send's errno.  ECONNREFUSED on a datagram socket is an
** ICMP port unreachable an earlier send drew: Winsock reports it as
** WSAECONNRESET (the WSARecv page).
*/
int wr__wsa_from_io(int err) {
  if (err == ECONNREFUSED) return WSAECONNRESET;
  return wr_wsa_from_errno(err);
}

/*
** A send's EPIPE says only that the socket cannot send: why is in its
** state.  Windows names the cause: shutdown(send) (WSAESHUTDOWN), a
** socket never connected (WSAENOTCONN), and a connection reset once its
** ECONNRESET was reported (WSAECONNRESET, on every later send).
*/
int wr__wsa_from_send(const wr_socket *s, int err) {
  if (err != EPIPE) return wr__wsa_from_io(err);
  if (s->state & WR_S_SHUT_WR) return WSAESHUTDOWN;
  if (!(s->state & WR_S_CONNECTED)) return WSAENOTCONN;
  return WSAECONNRESET;
}
