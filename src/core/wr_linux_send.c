/*
** wr_linux_send.c -- the steps that write: a send, a run of datagram
** sends (sendmmsg, or one UDP GSO send for equal datagrams to one place),
** ConnectEx's nonblocking connect, and AcceptEx's accept4, on the Linux
** kernel.
**
** Exports for the Linux platform: wr__send_step, wr__accept_step,
** wr__drain_send, wr__send_flags, wr__left_to_send.
**
** Where Linux and Winsock part: a stream send completes only when every
** byte was taken (Linux takes what fits: the step goes on from where it
** stopped), a send never raises SIGPIPE (MSG_NOSIGNAL), and AcceptEx's
** connection must become the caller's own socket: accept4 gives a new
** descriptor, which dup3 puts in place of the accept socket's.
*/
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <unistd.h>

#include "wr_linux_int.h"

/* The msghdr of a send: ov's destination (WSASendTo's, or its msg's) and
** its msg's control messages. */
static void send_msghdr(struct msghdr *mh, wr_overlapped *ov) {
  wr_msg *m = ov->msg;
  memset(mh, 0, sizeof *mh);
  mh->msg_iov = ov->iov;
  mh->msg_iovlen = ov->iovcnt;
  if (ov->addrlen && ov->kind == WR_OP_SEND) {
    mh->msg_name = &ov->addr;
    mh->msg_namelen = ov->addrlen;
  } else if (m && m->namelen) {
    mh->msg_name = &m->name;
    mh->msg_namelen = m->namelen;
  }
  if (m && m->sendctllen) {
    mh->msg_control = m->sendctl;
    mh->msg_controllen = m->sendctllen;
  }
}

int wr__send_flags(const wr_overlapped *ov) {
  int f = MSG_NOSIGNAL | MSG_DONTWAIT;
  if (ov->in_flags & WR_MSG_OOB) f |= MSG_OOB;
  if (ov->in_flags & WR_MSG_DONTROUTE) f |= MSG_DONTROUTE;
  return f;
}

/*
** The iovec array of what ov has left to send: from its buffers, the
** ov->filled bytes already sent skipped.  The first entry left is cut
** into *first (a copy): the captured buffers stay as they are, for a
** rearmed send to go again whole.
*/
struct iovec *wr__left_to_send(wr_overlapped *ov, struct iovec *first,
                               size_t *cnt) {
  struct iovec *iov = ov->iov;
  size_t n = ov->iovcnt, skip = ov->filled;
  while (n > 1 && skip >= iov->iov_len) {
    skip -= iov->iov_len;
    iov++;
    n--;
  }
  *first = *iov;
  first->iov_base = (char *)first->iov_base + skip;
  first->iov_len -= skip;
  *cnt = n;
  return iov;
}

/*
** Send what is left of ov: 1 when it is finished (all of a stream
** operation's bytes taken, a datagram sent, or a failure with the bytes
** that left), 0 when the socket has no room.
*/
static int send_data(wr_socket *s, wr_overlapped *ov) {
  struct msghdr mh;
  struct iovec first, saved, *iov;
  size_t cnt;
  ssize_t n;
  for (;;) {
    send_msghdr(&mh, ov);
    if (ov->filled > 0 && ov->iovcnt > 0) {
      /* a stream send taken in part: the rest, through a cut copy of
      ** its first entry (put back after the call) */
      iov = wr__left_to_send(ov, &first, &cnt);
      saved = *iov;
      *iov = first;
      mh.msg_iov = iov;
      mh.msg_iovlen = cnt;
      n = sendmsg(s->fd, &mh, wr__send_flags(ov));
      *iov = saved;
    } else {
      n = sendmsg(s->fd, &mh, wr__send_flags(ov));
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      wr__finish(ov, (unsigned)wr__wsa_from_send(s, errno), ov->filled, 0);
      return 1;
    }
    if (wr__message_oriented(s)) {
      wr__finish(ov, 0, (size_t)n, 0);
      return 1;
    }
    ov->filled += (size_t)n;
    if (ov->filled >= ov->total) {
      wr__finish(ov, 0, ov->filled, 0);
      return 1;
    }
  }
}

/* ConnectEx's phases (ov->phase) */
enum { CX_START = 0, CX_WAIT, CX_SEND };

/* The connect's outcome, once the socket is writable: 1 done (failed),
** 0 still under way, -1 connected. */
static int connect_outcome(wr_socket *s, wr_overlapped *ov) {
  int err = 0;
  socklen_t len = sizeof err;
  struct sockaddr_storage ss;
  if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
  if (err) {
    wr__finish(ov, (unsigned)wr_wsa_from_errno(err), 0, 0);
    return 1;
  }
  len = sizeof ss;
  if (getpeername(s->fd, (struct sockaddr *)&ss, &len) < 0)
    return errno == ENOTCONN ? 0 : (wr__finish(ov, (unsigned)
           wr_wsa_from_errno(errno), 0, 0), 1);
  return -1;
}

/* ConnectEx: connect, wait for the outcome, then send its data. */
static int connect_step(wr_socket *s, wr_overlapped *ov) {
  int r;
  if (ov->phase == CX_START) {
    do r = connect(s->fd, (struct sockaddr *)&ov->addr, ov->addrlen);
    while (r < 0 && errno == EINTR);
    if (r < 0 && errno != EINPROGRESS) {
      /* EAGAIN: a unix listener's backlog is full and nothing is under
      ** way (no event would ever end a wait): Winsock's refusal */
      wr__finish(ov, (unsigned)(errno == EAGAIN ? WSAECONNREFUSED :
                                wr_wsa_from_errno(errno)), 0, 0);
      return 1;
    }
    ov->phase = r == 0 ? CX_SEND : CX_WAIT;
    if (r < 0) return 0;
  }
  if (ov->phase == CX_WAIT) {
    if ((r = connect_outcome(s, ov)) >= 0) return r;
    ov->phase = CX_SEND;
  }
  /* connected: Winsock counts it so for the sends to come */
  s->state |= WR_S_CONNECTED;
  return send_data(s, ov);
}

int wr__send_step(wr_socket *s, wr_overlapped *ov) {
  return ov->kind == WR_OP_CONNECT ? connect_step(s, ov) : send_data(s, ov);
}

/*
** AcceptEx.  The connection accept4 gives takes the accept socket's
** descriptor number (dup3), so the caller's socket is the connection: its
** watch, stopped first, starts again on the new file.  With buffers the
** operation then waits for the first data on it (phase 1): the accept
** socket's watch serves it, and the listener goes on with the next
** accept.
*/
int wr__accept_step(wr_socket *ls, wr_overlapped *ov) {
  wr_socket *as = ov->peer;
  ssize_t n;
  if (ov->phase == 0) {
    int fd;
    do fd = accept4(ls->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    while (fd < 0 && (errno == EINTR || errno == ECONNABORTED));
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      wr__finish(ov, (unsigned)wr_wsa_from_errno(errno), 0, 0);
      return 1;
    }
    if (as->plat.events) {
      uv_poll_stop(&as->plat.poll);
      as->plat.events = 0;
    }
    if (dup3(fd, as->fd, O_CLOEXEC) < 0) {
      int e = errno;
      close(fd);
      wr__finish(ov, (unsigned)wr_wsa_from_errno(e), 0, 0);
      return 1;
    }
    close(fd);
    if (ov->total == 0) {
      wr__finish(ov, 0, 0, 0);
      return 1;
    }
    ov->phase = 1;
  }
  do {
    struct msghdr mh;
    wr__msghdr(&mh, ov->iov, ov->iovcnt, NULL);
    n = recvmsg(as->fd, &mh, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      wr__finish(ov, (unsigned)wr__wsa_from_io(errno), 0, 0);
      return 1;
    }
    wr__plat_watch(as);      /* its data, not the listener, finishes it */
    return 0;
  }
  wr__finish(ov, 0, (size_t)n, 0);
  return 1;
}

/* =====================================================================
** UDP GSO: a run of equal datagrams to one place in one send
** =================================================================== */

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#define GSO_MAX_SEGS 64       /* UDP_MAX_SEGMENTS of older kernels */
#define GSO_MAX_IOV 256

/* Can s send UDP GSO at all (as far as we know)? */
static int gso_socket(const wr_socket *s) {
  return !s->plat.no_gso && s->type == SOCK_DGRAM &&
         (s->family == AF_INET || s->family == AF_INET6) &&
         (s->protocol == 0 || s->protocol == IPPROTO_UDP);
}

/* Can ov follow h in one GSO send: as long, to the same place, plain? */
static int gso_mate(const wr_overlapped *h, const wr_overlapped *ov) {
  return ov->total == h->total && ov->msg == NULL &&
         ov->addrlen == h->addrlen &&
         (h->addrlen == 0 || memcmp(&ov->addr, &h->addr, h->addrlen) == 0);
}

/*
** The head of ops (k of them) as one UDP GSO send when at least two of
** them are datagrams of one size to one destination: each is still its
** own datagram on the wire (the kernel cuts the send at every `size`
** bytes, which are the operations' own boundaries) and gets its own
** completion.  Returns how many went, 0 when GSO does not apply or failed
** (the caller goes on with sendmmsg, which reports a failure to its own
** operation), -1 when the socket has no room.
*/
static int send_gso(wr_socket *s, wr_overlapped **ops, int k) {
  const wr_upcalls *up = s->loop->plat.up;
  struct iovec iov[GSO_MAX_IOV];
  union { char buf[CMSG_SPACE(sizeof(uint16_t))]; struct cmsghdr align; } u;
  struct msghdr mh;
  struct cmsghdr *cm;
  size_t size = ops[0]->total, limit, niov = 0;
  int j, i;
  ssize_t n;
  if (size == 0 || size > 0xffff) return 0;
  /* the whole send is one UDP payload for the kernel's length check: the
  ** IPv4 limit, also for an inet6 socket (its peer may be v4-mapped) */
  limit = WR_UDP4_MAX;
  for (j = 0; j < k && j < GSO_MAX_SEGS && (size_t)(j + 1) * size <= limit &&
              gso_mate(ops[0], ops[j]) &&
              niov + ops[j]->iovcnt <= GSO_MAX_IOV; j++) {
    memcpy(&iov[niov], ops[j]->iov, ops[j]->iovcnt * sizeof *iov);
    niov += ops[j]->iovcnt;
  }
  if (j < 2) return 0;
  memset(&mh, 0, sizeof mh);
  if (ops[0]->addrlen) {
    mh.msg_name = &ops[0]->addr;
    mh.msg_namelen = ops[0]->addrlen;
  }
  mh.msg_iov = iov;
  mh.msg_iovlen = niov;
  mh.msg_control = u.buf;
  mh.msg_controllen = sizeof u.buf;
  cm = CMSG_FIRSTHDR(&mh);
  cm->cmsg_level = SOL_UDP;
  cm->cmsg_type = UDP_SEGMENT;
  cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  {
    uint16_t seg = (uint16_t)size;
    memcpy(CMSG_DATA(cm), &seg, sizeof seg);
  }
  do n = sendmsg(s->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return -1;
    /* no GSO here (kernel, device, a size over the path's MTU): never
    ** again on this socket; anything else is sendmmsg's to report */
    if (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT ||
        errno == EOPNOTSUPP)
      s->plat.no_gso = 1;
    return 0;
  }
  for (i = 0; i < j; i++) {
    wr__finish(ops[i], 0, size, 0);
    up->complete(s, ops[i]);
  }
  return j;
}

/*
** A run of plain datagram sends at the head of the queue in one
** sendmmsg.  1: all of them went (more may wait); -1: no room (wait for
** the socket); 0: the batch could not be used, or stopped short (the
** caller goes on one at a time, which reports a failure to its own
** operation).
*/
static int send_batch(wr_socket *s) {
  const wr_upcalls *up = s->loop->plat.up;
  struct mmsghdr vec[WR_BATCH];
  wr_overlapped *ops[WR_BATCH], *ov;
  int k = 0, n, i;
  for (ov = s->sendq.head; ov && k < WR_BATCH && ov->kind == WR_OP_SEND &&
       ov->in_flags == 0; ov = ov->link.next) {
    send_msghdr(&vec[k].msg_hdr, ov);
    ops[k++] = ov;
  }
  if (k < 2) return 0;
  if (gso_socket(s)) {
    int g = send_gso(s, ops, k);
    if (g != 0) return g < 0 ? -1 : 1;
  }
  do n = sendmmsg(s->fd, vec, (unsigned)k, MSG_NOSIGNAL | MSG_DONTWAIT);
  while (n < 0 && errno == EINTR);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK ? -1 : 0;
  for (i = 0; i < n; i++) {
    wr__finish(ops[i], 0, vec[i].msg_len, 0);
    up->complete(s, ops[i]);
  }
  return n == k ? 1 : 0;
}

void wr__drain_send(wr_socket *s) {
  const wr_upcalls *up = s->loop->plat.up;
  wr_overlapped *ov;
  if (wr__datagram(s)) {
    int r = 1;
    while (r == 1 && !wr__closed(s)) r = send_batch(s);
    if (r < 0) return;
  }
  while ((ov = s->sendq.head) != NULL && !wr__closed(s)) {
    if (wr__send_in_ring(ov) || !wr__send_step(s, ov)) break;
    up->complete(s, ov);
  }
}
