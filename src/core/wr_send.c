/*
** wr_send.c -- WSASend, WSASendTo, WSASendMsg, AcceptEx and ConnectEx:
** the rules of their pages that no kernel decides.  Posting, completion
** and the waits are the receives' (wr_post.c, wr_ov.c).
**
** Exports: wr_send, wr_accept_ex, wr_connect_ex.
**
** What the kernel does with them is the platform's: on Linux a send
** queue the watch serves when the socket is writable (sendmmsg for a run
** of datagrams), accept4 and a nonblocking connect; on Windows the real
** calls.  Here only what must be refused before anything starts, the same
** way on both.
*/
#define _GNU_SOURCE
#include <string.h>

#include "wr_sys.h"

#include "wr_int.h"

#define WHY_NOOV "AcceptEx and ConnectEx need an overlapped object"

/* Can s take a send or a connect at all? */
static int check_socket(wr_socket *s) {
  int r = wr__usable(s);
  if (r) return r;
  if (s->loop == NULL) return WSANOTINITIALISED;
  return 0;
}

/* =====================================================================
** Sends
** =================================================================== */

/*
** The largest datagram the protocol carries (WR_UDP4_MAX, WR_UDP6_MAX).
** A dual-stack socket sending to a mapped IPv4 address sends IPv4: only
** then (a datagram between the two sizes) is the destination looked at --
** to, the msg's, or the connected peer.  Others are the kernel's to judge.
*/
static size_t max_datagram(const wr_socket *s, const struct sockaddr *to,
                           const wr_msg *msg, size_t total) {
  struct sockaddr_storage peer;
  socklen_t len = sizeof peer;
  if (s->type != SOCK_DGRAM) return (size_t)-1;
  if (s->family == AF_INET) return WR_UDP4_MAX;
  if (s->family != AF_INET6) return (size_t)-1;
  if (total > WR_UDP4_MAX && total <= WR_UDP6_MAX) {
    if (to == NULL && msg && msg->namelen)
      to = (const struct sockaddr *)&msg->name;
    if (to == NULL && getpeername(s->fd, (struct sockaddr *)&peer, &len) == 0)
      to = (const struct sockaddr *)&peer;
    if (to && to->sa_family == AF_INET6 &&
        IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)to)->sin6_addr))
      return WR_UDP4_MAX;
  }
  return WR_UDP6_MAX;
}

static size_t total_of(const wr_wsabuf *bufs, size_t n) {
  size_t i, t = 0;
  for (i = 0; i < n; i++) t += WR_WSABUF_LEN(&bufs[i]);
  return t;
}

/* The rules of WSASend's page, and Windows' answers before any byte
** leaves. */
static int check_send(wr_socket *s, unsigned flags, size_t total,
                      const struct sockaddr *to, const wr_msg *msg) {
  int r = check_socket(s);
  if (r) return r;
  if (flags & ~(unsigned)(WR_MSG_OOB | WR_MSG_DONTROUTE))
    return wr__why(s->loop, WSAEOPNOTSUPP, "a send takes MSG_OOB and "
                   "MSG_DONTROUTE");
  if ((flags & WR_MSG_OOB) && s->type != SOCK_STREAM)
    return wr__why(s->loop, WSAEOPNOTSUPP, "MSG_OOB only on a stream "
                   "socket");
  if (s->state & WR_S_SHUT_WR) return WSAESHUTDOWN;
  if (s->accepting || (s->state & WR_S_CONNECTING))
    return wr__why(s->loop, WSAENOTCONN, "the socket is not connected "
                   "yet (its AcceptEx or ConnectEx is pending)");
  if (to == NULL && wr__never_connected(s))
    return wr__why(s->loop, WSAENOTCONN, "the stream socket is not "
                   "connected");
  /* no completion indication: refused here even when sends are batched */
  if (total > max_datagram(s, to, msg, total))
    return wr__why(s->loop, WSAEMSGSIZE, "the datagram is larger than "
                   "the protocol carries");
  return 0;
}

int wr_send(wr_socket *s, wr_wsabuf *bufs, size_t nbufs, unsigned flags,
            const struct sockaddr *to, socklen_t tolen, wr_msg *msg,
            size_t *bytes, wr_overlapped *ov, wr_completion_routine routine) {
  wr_op_args a = {0};
  unsigned fl = 0;
  int r;
  if (nbufs > IOV_MAX) return WSAENOBUFS;
  if ((r = check_send(s, flags, total_of(bufs, nbufs), to, msg)) != 0)
    return r;
  if (routine && ov == NULL)
    return wr__why(s->loop, WSAEFAULT, "a routine without an overlapped "
                   "object");
  if (msg && !wr__datagram(s))
    return wr__why(s->loop, WSAEINVAL, "WSASendMsg only on a datagram "
                   "or raw socket");
  if (msg && msg->pending)
    return wr__why(s->loop, WSAEINVAL, WR_WHY_MSG_BUSY);
  a.kind = WR_OP_SEND;
  a.bufs = bufs;
  a.nbufs = nbufs;
  a.flags = flags;
  a.routine = routine;
  a.msg = msg;
  a.addr = to;
  a.addrlen = to ? tolen : 0;
  return wr__start(s, ov, &a, bytes, &fl);
}

/* =====================================================================
** AcceptEx
** =================================================================== */

/* What AcceptEx and ConnectEx ask first: a usable connection-oriented
** socket, and an object (the page: it cannot be NULL). */
static int check_stream_op(wr_socket *s, const wr_overlapped *ov,
                           const char *not_stream) {
  int r = check_socket(s);
  if (r) return r;
  if (ov == NULL) return wr__why(s->loop, WSA_INVALID_PARAMETER, WHY_NOOV);
  if (s->type != SOCK_STREAM && s->type != SOCK_SEQPACKET)
    return wr__why(s->loop, WSAEOPNOTSUPP, not_stream);
  return 0;
}

/* Is s listening? */
static int listening(const wr_socket *s) {
  int v = 0;
  socklen_t len = sizeof v;
  return getsockopt(s->fd, SOL_SOCKET, SO_ACCEPTCONN, &v,
                    &len) == 0 && v;
}

/* Does s have a local address (bound, or connected)? */
static int has_address(const wr_socket *s) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (s->state & (WR_S_BOUND | WR_S_CONNECTED)) return 1;
  if (getsockname(s->fd, (struct sockaddr *)&ss, &len) != 0)
    return 0;
  if (ss.ss_family == AF_INET)
    return ((struct sockaddr_in *)&ss)->sin_port != 0;
  if (ss.ss_family == AF_INET6)
    return ((struct sockaddr_in6 *)&ss)->sin6_port != 0;
  return 0;
}

/* The accept socket's rules: fresh, unbound, of the listener's kind. */
static int check_acceptor(wr_socket *ls, wr_socket *as) {
  int r = wr__usable(as);
  if (r) return r;
  if (as == ls)
    return wr__why(ls->loop, WSAEINVAL, "the accept socket is the "
                   "listener");
  if (as->family != ls->family || as->type != ls->type)
    return wr__why(ls->loop, WSAEINVAL, "the accept socket's family or "
                   "type is not the listener's");
  if (as->accepting || as->npending ||
      (as->state & (WR_S_CONNECTED | WR_S_CONNECTING)) || has_address(as))
    return wr__why(ls->loop, WSAEINVAL, "the accept socket must be fresh: "
                   "unbound, unconnected, with nothing pending");
  return 0;
}

int wr_accept_ex(wr_socket *ls, wr_socket *as, wr_wsabuf *bufs,
                 size_t nbufs, size_t *bytes, wr_overlapped *ov,
                 wr_completion_routine routine) {
  wr_op_args a = {0};
  unsigned fl = 0;
  int r;
  if ((r = check_stream_op(ls, ov, "AcceptEx only on a stream socket")))
    return r;
  if (!listening(ls))
    return wr__why(ls->loop, WSAEINVAL, "the socket is not listening");
  if ((r = check_acceptor(ls, as)) != 0) return r;
  if (wr__ov_busy(ov)) return wr__why(ls->loop, WSAEINVAL, WR_WHY_BUSY);
  a.kind = WR_OP_ACCEPT;
  a.bufs = bufs;
  a.nbufs = nbufs;
  a.routine = routine;
  a.peer = as;
  /* the operation holds as until it settles (wr__settle lets it go) */
  wr__socket_ref(as);
  as->accepting = ov;
  r = wr__start(ls, ov, &a, bytes, &fl);
  if (r != 0 && r != WSA_IO_PENDING && as->accepting == ov) {
    as->accepting = NULL;              /* refused before it was posted */
    ov->peer = NULL;
    wr__socket_unref(as);
  }
  return r;
}

/* =====================================================================
** ConnectEx
** =================================================================== */

int wr_connect_ex(wr_socket *s, const struct sockaddr *sa, socklen_t len,
                  wr_wsabuf *bufs, size_t nbufs, size_t *bytes,
                  wr_overlapped *ov, wr_completion_routine routine) {
  wr_op_args a = {0};
  unsigned fl = 0;
  int r;
  if ((r = check_stream_op(s, ov, "ConnectEx only on a stream socket")))
    return r;
  if (s->state & WR_S_CONNECTING) return WSAEALREADY;
  if (s->state & WR_S_CONNECTED) return WSAEISCONN;
  if (s->accepting || listening(s))
    return wr__why(s->loop, WSAEINVAL, "the socket listens, or waits on "
                   "an AcceptEx");
  if (s->family != AF_UNIX && !has_address(s))
    return wr__why(s->loop, WSAEINVAL, "ConnectEx needs a bound socket "
                   "(bind it first, to any address)");
  if ((size_t)len > sizeof ov->addr) return WSAEFAULT;
  if (wr__ov_busy(ov)) return wr__why(s->loop, WSAEINVAL, WR_WHY_BUSY);
  a.kind = WR_OP_CONNECT;
  a.bufs = bufs;
  a.nbufs = nbufs;
  a.routine = routine;
  a.addr = sa;
  a.addrlen = len;
  s->state |= WR_S_CONNECTING;
  r = wr__start(s, ov, &a, bytes, &fl);
  if (r != 0 && r != WSA_IO_PENDING)
    s->state &= ~(unsigned)WR_S_CONNECTING;  /* refused before it started */
  return r;
}
