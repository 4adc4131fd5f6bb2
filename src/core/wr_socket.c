/*
** wr_socket.c -- a socket's whole life: created or adopted, linked into
** its loop, watched by the platform, closed, released.
**
** Exports: wr_socket_open, wr_socket_adopt, wr_socket_adopt_dup, wr_close,
**          wr_socket_release,
**          wr_socket_fd, wr_socket_type, wr_socket_family,
**          wr_socket_closed, wr_socket_pending; for the core:
**          wr__socket_new, wr__socket_bound, wr__never_connected.
**
** Descriptors are always O_NONBLOCK underneath (the platform watches
** them); the blocking behaviour a caller sees is emulated by the engine
** (wr_post.c) and the BSD calls (wr_bsd.c), so FIONBIO and SO_RCVTIMEO are
** kept as socket state, not kernel state.
**
** References (wr__socket_ref/unref, wr_int.h): the owner holds one from
** creation to wr_socket_release; each queued or undelivered operation one;
** the platform one while its watch is open and one while a drain is
** deferred.  The last one frees the memory, after wr_close.
*/
#define _GNU_SOURCE
#include "wr_sys.h"

#include "wr_int.h"

/* =====================================================================
** Birth
** =================================================================== */

static void learn_type(wr_socket *s) {
  int v;
  socklen_t len = sizeof v;
  if (getsockopt(s->fd, SOL_SOCKET, SO_TYPE, &v, &len) == 0) s->type = v;
  len = sizeof v;
  if (getsockopt(s->fd, SOL_SOCKET, SO_DOMAIN, &v, &len) == 0) s->family = v;
  len = sizeof v;
  if (getsockopt(s->fd, SOL_SOCKET, SO_PROTOCOL, &v, &len) == 0)
    s->protocol = v;
  len = sizeof v;
  if (s->family == AF_INET6 &&
      getsockopt(s->fd, IPPROTO_IPV6, IPV6_V6ONLY, &v, &len) == 0 && v)
    s->opts |= WR_O_V6ONLY;
}

static void sockets_link(wr_loop *loop, wr_socket *s) {
  s->prev = NULL;
  s->next = loop->sockets;
  if (loop->sockets) loop->sockets->prev = s;
  loop->sockets = s;
}

static void sockets_unlink(wr_socket *s) {
  if (s->loop == NULL) return;
  if (s->prev) s->prev->next = s->next;
  else if (s->loop->sockets == s) s->loop->sockets = s->next;
  if (s->next) s->next->prev = s->prev;
  s->prev = s->next = NULL;
}

int wr__socket_new(wr_loop *loop, int fd, wr_socket **out) {
  wr_socket *s = calloc(1, sizeof *s);
  if (s == NULL) return WSA_NOT_ENOUGH_MEMORY;
  s->fd = fd;
  s->loop = loop;
  s->refs = 1;                       /* the owner */
  /* a descriptor the platform cannot watch is still adopted; using it
  ** fails */
  wr__plat_socket_init(s);
  sockets_link(loop, s);
  learn_type(s);
  *out = s;
  return 0;
}

int wr_socket_open(wr_loop *loop, int family, int type, int protocol,
                   wr_socket **out) {
  int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  int r;
  if (fd < 0) return wr_wsa_from_errno(errno);
  if ((r = wr__socket_new(loop, fd, out)) != 0) close(fd);
  return r;
}

/* Is fd the descriptor of a live socket of this loop? */
static int owned(const wr_loop *loop, int fd) {
  const wr_socket *s;
  for (s = loop->sockets; s; s = s->next)
    if (s->fd == fd) return 1;
  return 0;
}

/*
** Adopt fd.  Refused: a descriptor that is no socket (an epoll or event
** descriptor, such as a pollfd or libuv's own), and one a live socket of
** this loop owns already.  Two owners of one descriptor would close it
** under each other, and libuv aborts the process on a second watch of a
** descriptor or on a watched one closed.  (A duplicate, adopt_dup, is
** another descriptor: fine.)
*/
int wr_socket_adopt(wr_loop *loop, int fd, wr_socket **out) {
  int fl = fcntl(fd, F_GETFL), type, r;
  socklen_t len = sizeof type, sslen;
  struct sockaddr_storage ss;
  if (fl < 0 || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
    return WSAENOTSOCK;
  if (owned(loop, fd))
    return wr__why(loop, WSAEINVAL, "an open wsarecv socket owns this "
                   "descriptor: use that socket, or wrap a dup of it");
  if (!(fl & O_NONBLOCK)) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  sslen = sizeof ss;
  if ((r = wr__socket_new(loop, fd, out)) != 0) return r;
  /* connected before we got it: a later EPIPE is then a reset (wr_bsd.c) */
  if (getpeername(fd, (struct sockaddr *)&ss, &sslen) == 0)
    (*out)->state |= WR_S_CONNECTED;
  return 0;
}

/*
** Adopt a duplicate of fd: the caller keeps fd, and each side closes its
** own.  (They share one open socket: O_NONBLOCK, options and the data
** that arrives; whoever reads first gets it.)
*/
int wr_socket_adopt_dup(wr_loop *loop, int fd, wr_socket **out) {
  int mine = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  int r;
  if (mine < 0) return errno == EBADF ? WSAENOTSOCK : wr_wsa_from_errno(errno);
  if ((r = wr_socket_adopt(loop, mine, out)) != 0) close(mine);
  return r;
}

/* =====================================================================
** State
** =================================================================== */

int wr_socket_fd(const wr_socket *s) { return s->fd; }
int wr_socket_type(const wr_socket *s) { return s->type; }
int wr_socket_family(const wr_socket *s) { return s->family; }
int wr_socket_closed(const wr_socket *s) { return wr__closed(s); }
size_t wr_socket_pending(const wr_socket *s) { return s->npending; }

/* The WSARecv page: "the socket's local address must be known" (datagram
** sockets; Linux would receive on an unbound one). */
int wr__never_connected(wr_socket *s) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (s->type != SOCK_STREAM || (s->state & WR_S_CONNECTED)) return 0;
  if (getpeername(s->fd, (struct sockaddr *)&ss, &len) != 0) return 1;
  s->state |= WR_S_CONNECTED;
  return 0;
}

int wr__socket_bound(wr_socket *s) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if ((s->state & WR_S_BOUND) || s->type != SOCK_DGRAM) return 0;
  /* Winsock has no name for a socket never bound */
  if (getsockname(s->fd, (struct sockaddr *)&ss, &len) < 0) return WSAEINVAL;
  if (ss.ss_family == AF_INET) {
    if (((struct sockaddr_in *)&ss)->sin_port == 0) return WSAEINVAL;
  } else if (ss.ss_family == AF_INET6) {
    if (((struct sockaddr_in6 *)&ss)->sin6_port == 0) return WSAEINVAL;
  } else if (ss.ss_family == AF_UNIX) {
    if ((size_t)len <= sizeof(sa_family_t)) {
      /* unnamed, but a connected (socketpair) socket can receive */
      len = sizeof ss;
      if (getpeername(s->fd, (struct sockaddr *)&ss, &len) < 0)
        return WSAEINVAL;
    }
  }
  s->state |= WR_S_BOUND;
  return 0;
}

/* =====================================================================
** Death
** =================================================================== */

void wr_close(wr_socket *s) {
  if (wr__closed(s)) return;
  wr__socket_ref(s);
  if (s->loop) {
    /* the AcceptEx that would make s its connection ends with it */
    if (s->accepting && s->accepting->where == WR_IN_QUEUE)
      wr__fail_one(s->accepting->sock, s->accepting, WSA_OPERATION_ABORTED);
    wr__fail_all(s, WSA_OPERATION_ABORTED);               /* cancel all */
    wr__port_socket_closing(s);      /* and what a port would repost */
  }
  s->state |= WR_S_CLOSED;
  wr__plat_socket_close(s);
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  sockets_unlink(s);
  wr__socket_unref(s);
}

void wr_socket_release(wr_socket *s) {
  wr_close(s);
  wr__socket_unref(s);
}
