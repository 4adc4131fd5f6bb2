/*
** wr_linux_step.c -- one receive step against the Linux kernel: recvmsg
** for one operation, recvmmsg for a run of datagram receives, and what the
** Winsock pages want that Linux does not do by itself.
**
** Exports: wr__plat_poll_fd; for the Linux platform: wr__step_now,
**          wr__drain, wr__step_result.
**
** Linux and Winsock part ways here: a datagram larger than the buffers
** (MSG_PARTIAL keeps the rest for the next receives), MSG_WAITALL on a
** stream (the step loops until the buffers are full), MSG_OOB (no urgent
** byte yet is not a failure), the zero-byte receive on a stream
** (readiness, nothing consumed), a fatal stream error (Linux reports it
** once; Winsock to every later receive), the errno a receive gets (ICMP
** reports, the error queue).  Every step ends with the operation's result
** set (wr__finish), or says it must wait.
*/
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "wr_linux_int.h"

/* =====================================================================
** Small parts
** =================================================================== */

int wr__plat_poll_fd(int fd, int events, long ms, short *revents) {
  struct pollfd p;
  int r;
  p.fd = fd;
  p.events = (short)events;
  do {
    p.revents = 0;
    r = poll(&p, 1, ms < 0 ? -1 : (int)ms);
  } while (r < 0 && errno == EINTR);
  *revents = p.revents;
  return r;
}

static int fatal_for_stream(unsigned err) {
  return err == WSAECONNRESET || err == WSAECONNABORTED ||
         err == WSAETIMEDOUT || err == WSAENETRESET;
}

/* A fatal stream error sticks: every later receive gets it, as on
** Windows (Linux reports it once, then the end of the stream). */
static void stick(wr_socket *s, unsigned err) {
  if (s->type == SOCK_STREAM && fatal_for_stream(err)) s->plat.sticky = err;
}

/* Copy n bytes into ov's buffers from the start. */
static void copy_in(wr_overlapped *ov, const char *src, size_t n) {
  size_t i;
  for (i = 0; i < ov->iovcnt && n > 0; i++) {
    size_t k = ov->iov[i].iov_len < n ? ov->iov[i].iov_len : n;
    memcpy(ov->iov[i].iov_base, src, k);
    src += k;
    n -= k;
  }
}

/* Drop the first n bytes of ov's buffer array (MSG_WAITALL progress; a
** stream send keeps its buffers whole, for a rearm: wr_linux_send.c). */
static void advance(wr_overlapped *ov, size_t n) {
  while (n > 0 && ov->iovcnt > 0) {
    if (n < ov->iov->iov_len) {
      ov->iov->iov_base = (char *)ov->iov->iov_base + n;
      ov->iov->iov_len -= n;
      return;
    }
    n -= ov->iov->iov_len;
    ov->iov++;
    ov->iovcnt--;
  }
  wr__skip_empty(ov);
}

/* A 0-byte read on a seqpacket socket: the peer's close, or an empty
** message?  After a close the socket reports hang-up. */
static int peer_closed(wr_socket *s) {
  short rev;
  wr__plat_poll_fd(s->fd, POLLIN | POLLRDHUP, 0, &rev);
  return (rev & (POLLRDHUP | POLLHUP)) != 0;
}

/* =====================================================================
** MSG_PARTIAL: a datagram bigger than the buffers, in parts
** =================================================================== */

static void free_part(wr_plat_socket *p) {
  free(p->part);
  p->part = NULL;
  p->part_len = p->part_off = 0;
}

/* Serve ov from the unread rest of a MSG_PARTIAL datagram. */
static int step_from_part(wr_socket *s, wr_overlapped *ov) {
  wr_plat_socket *p = &s->plat;
  size_t left = p->part_len - p->part_off;
  size_t n = left < ov->total ? left : ov->total;
  copy_in(ov, p->part + p->part_off, n);
  if (ov->msg) {
    /* the source is known; the control messages went with the first
    ** part, and a WSARecvMsg has no MSG_PARTIAL to give: it gets what fits
    ** of the rest, and MSG_TRUNC when more remains */
    wr_msg *m = ov->msg;
    memcpy(&m->name, &p->part_name, sizeof m->name);
    m->namelen = p->part_namelen;
    m->controlused = 0;
    m->flags = n < left ? WR_MSG_TRUNC : 0;
    m->length = left;      /* what this receive was offered: the rest */
  }
  if (ov->in_flags & WR_MSG_PEEK) {
    if (ov->msg) wr__finish(ov, n < left ? WSAEMSGSIZE : 0, n, ov->msg->flags);
    else wr__finish(ov, 0, n, n < left ? WR_MSG_PARTIAL : 0);
    return 1;
  }
  p->part_off += n;
  if (p->part_off == p->part_len || ov->msg) {
    free_part(p);      /* a WSARecvMsg takes the rest: the excess is
                          discarded, as for any truncated datagram */
    if (ov->msg && n < left) wr__finish(ov, WSAEMSGSIZE, n, WR_MSG_TRUNC);
    else wr__finish(ov, 0, n, 0);
  } else {
    wr__finish(ov, 0, n, WR_MSG_PARTIAL);
  }
  return 1;
}

/*
** MSG_PARTIAL on a message-oriented socket: a datagram larger than the
** buffers is read whole; the first part completes this operation with
** MSG_PARTIAL set and the rest is kept for the next receives.
** Returns 1 done, 0 would block, -1 the datagram fits: receive normally.
*/
static int step_partial(wr_socket *s, wr_overlapped *ov) {
  wr_plat_socket *p = &s->plat;
  ssize_t full, n;
  char *buf;
  do full = recv(s->fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
  while (full < 0 && errno == EINTR);
  if (full < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    wr__finish(ov, (unsigned)wr__wsa_from_io(errno), 0, 0);
    return 1;
  }
  if ((size_t)full <= ov->total) return -1;
  buf = malloc((size_t)full);
  if (buf == NULL) {
    wr__finish(ov, WSA_NOT_ENOUGH_MEMORY, 0, 0);
    return 1;
  }
  p->part_namelen = sizeof p->part_name;
  do n = recvfrom(s->fd, buf, (size_t)full, MSG_DONTWAIT,
                  (struct sockaddr *)&p->part_name, &p->part_namelen);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    int e = errno;
    free(buf);
    if (e == EAGAIN || e == EWOULDBLOCK) return 0;
    wr__finish(ov, (unsigned)wr__wsa_from_io(e), 0, 0);
    return 1;
  }
  p->part = buf;
  p->part_len = (size_t)n;
  p->part_off = 0;
  return step_from_part(s, ov);
}

/* =====================================================================
** One recvmsg
** =================================================================== */

/*
** A datagram of `full` bytes arrived as mh describes (receives on message
** sockets pass MSG_TRUNC, so the kernel gives the full length; what it
** placed is what fit).  One too big for the buffers fails with
** WSAEMSGSIZE, the bytes placed.  For a WSARecvMsg the control messages
** may not fit either: MSG_TRUNC / MSG_CTRUNC say which (Windows reports
** both alike); msg->length keeps the full length.
*/
static inline void datagram_done(wr_socket *s, wr_overlapped *ov,
                          const struct msghdr *mh, size_t full) {
  size_t n = full < ov->total ? full : ov->total;
  if (ov->msg) {
    unsigned fl = wr__msg_filter(s, ov->msg, mh);
    int cut = (fl & (WR_MSG_TRUNC | WR_MSG_CTRUNC)) != 0;
    ov->msg->length = full;
    wr__finish(ov, cut ? WSAEMSGSIZE : 0, n, fl);
  } else {
    wr__finish(ov, (mh->msg_flags & MSG_TRUNC) ? WSAEMSGSIZE : 0, n, 0);
  }
}

/* The zero-byte receive on a stream: complete on readability, consume
** nothing. */
static int step_zero(wr_socket *s, wr_overlapped *ov) {
  short rev;
  if (wr__plat_poll_fd(s->fd, POLLIN, 0, &rev) <= 0) return 0;
  wr__finish(ov, 0, 0, 0);
  return 1;
}

/*
** MSG_OOB found no urgent byte (EINVAL): none yet, so wait -- unless
** SO_OOBINLINE puts it in the stream, where MSG_OOB can never succeed
** (Winsock: WSAEINVAL).
*/
static int step_no_urgent(wr_socket *s, wr_overlapped *ov) {
  int inl = 0;
  socklen_t il = sizeof inl;
  if (getsockopt(s->fd, SOL_SOCKET, SO_OOBINLINE, &inl, &il) == 0 && inl) {
    wr__finish(ov, WSAEINVAL, 0, 0);
    return 1;
  }
  return 0;
}

/*
** recvmsg failed with errno e.  Returns 1 (ov finished with the failure),
** 0 (wait for the socket) or -1 (interrupted: receive again).
*/
static int step_failed(wr_socket *s, wr_overlapped *ov, int e) {
  unsigned f = ov->in_flags, err, fl = 0;
  if (e == EINTR) return -1;
  if (e == EAGAIN || e == EWOULDBLOCK) {
    /* (an error-queue entry whose report was consumed elsewhere keeps
    ** POLLERR up: the watch hands it to the head receive) */
    if (!(f & WR_MSG_OOB)) s->plat.dry = 1;
    return 0;
  }
  if ((f & WR_MSG_OOB) && e == EINVAL) return step_no_urgent(s, ov);
  err = (unsigned)wr__wsa_from_io(e);
  stick(s, err);
  /* IP_RECVERR: the details of this error wait in the error queue, and
  ** say more precisely what it was (a TTL expiry, say) */
  if ((s->opts & WR_O_RECVERR) && !(f & WR_MSG_PEEK)) {
    int qe = wr__errqueue(s, ov->msg, &fl);
    if (qe) err = (unsigned)qe;
  }
  wr__finish(ov, err, ov->filled, fl);
  return 1;
}

/*
** recvmsg placed n bytes, as mh describes.  Returns 1 (ov finished) or -1
** (MSG_WAITALL wants more: receive again into the rest).
*/
static int step_got(wr_socket *s, wr_overlapped *ov, const struct msghdr *mh,
                    size_t n) {
  if (!wr__message_oriented(s)) {
    if (!(ov->in_flags & WR_MSG_WAITALL)) {
      wr__finish(ov, 0, n, 0);
      return 1;
    }
    ov->filled += n;
    if (n == 0 || ov->filled == ov->total) {
      wr__finish(ov, 0, ov->filled, 0);
      return 1;
    }
    advance(ov, n);
    return -1;
  }
  if (s->type == SOCK_SEQPACKET && n == 0 && !(mh->msg_flags & MSG_TRUNC) &&
      peer_closed(s)) {
    wr__finish(ov, WSAEDISCON, 0, 0);
    return 1;
  }
  datagram_done(s, ov, mh, n);
  return 1;
}

/*
** Try to make progress on ov.  Returns 1 when ov is finished (its error,
** bytes and flags set), 0 when it must wait for the socket.
*/
static int step(wr_socket *s, wr_overlapped *ov) {
  unsigned f = ov->in_flags;
  int sysf = MSG_DONTWAIT, r;
  struct msghdr mh;
  ssize_t n;
  if (s->plat.sticky) {
    wr__finish(ov, s->plat.sticky, ov->filled, 0);
    return 1;
  }
  /* on a message socket empty buffers are buffers like any others: a
  ** datagram that does not fit them fails with WSAEMSGSIZE and is gone,
  ** an empty one is received whole */
  if (ov->total == 0 && !wr__message_oriented(s) && !(f & WR_MSG_OOB))
    return step_zero(s, ov);
  if (s->plat.part && !(f & WR_MSG_OOB)) return step_from_part(s, ov);
  if ((f & WR_MSG_PARTIAL) && wr__message_oriented(s) && ov->msg == NULL) {
    if ((r = step_partial(s, ov)) >= 0) return r;
  }
  if (f & WR_MSG_OOB) sysf |= MSG_OOB;
  if (f & WR_MSG_PEEK) sysf |= MSG_PEEK;
  /* a message's full length, not what fit (on a stream it would discard) */
  if (wr__message_oriented(s)) sysf |= MSG_TRUNC;
  do {
    wr__msghdr(&mh, ov->iov, ov->iovcnt, ov->msg);
    n = recvmsg(s->fd, &mh, sysf);
    r = n < 0 ? step_failed(s, ov, errno) : step_got(s, ov, &mh, (size_t)n);
  } while (r < 0);
  return r;
}

/*
** Linux drops the urgent byte once a normal read passes its mark (the
** read after the one that stops there clears it): a pending MSG_OOB
** receive is served before any normal read of the stream.
*/
static void oob_first(wr_socket *s) {
  if (s->oobq.head) wr__drain(s, &s->oobq);
}

/*
** The io_uring engine's receive ran in the kernel (multishot, one buffer,
** none of the flags the step emulates): its result, through the same
** rules as a recvmsg of ours.  A message socket's receive passed
** MSG_TRUNC, so n is the full length; mh says what the kernel reported
** (its flags; a WSARecvMsg's control messages, its name already in the
** msg).
*/
int wr__step_result(wr_socket *s, wr_overlapped *ov, long n, int e,
                    const struct msghdr *mh) {
  if (n < 0) return step_failed(s, ov, e) > 0;
  return step_got(s, ov, mh, (size_t)n) > 0;
}

/* A step for an operation not yet queued: a failure it finishes with means
** it never started, and a fatal one sticks as well. */
int wr__step_now(wr_socket *s, wr_overlapped *ov) {
  if (!(ov->in_flags & WR_MSG_OOB)) oob_first(s);
  if (!step(s, ov)) return 0;
  if (ov->error) stick(s, ov->error);
  return 1;
}

/* =====================================================================
** Draining a queue
** =================================================================== */

/*
** Several datagram receives queued: serve them with one recvmmsg, in
** posting order.  Returns 1 if every slot was filled (more may wait), -1
** if the kernel ran dry (nothing more to try now), 0 if the batch could
** not be used or failed (the caller goes on one operation at a time,
** which also reports the error to the right operation).
*/
static int drain_batch(wr_socket *s, wr_list *q) {
  const wr_upcalls *up = s->loop->plat.up;
  struct mmsghdr vec[WR_BATCH];
  wr_overlapped *ops[WR_BATCH], *ov;
  int k = 0, n, i;
  for (ov = q->head; ov && k < WR_BATCH && wr__batchable(ov);
       ov = ov->link.next) {
    wr__msghdr(&vec[k].msg_hdr, ov->iov, ov->iovcnt, ov->msg);
    ops[k++] = ov;
  }
  if (k < 2) return 0;
  do n = recvmmsg(s->fd, vec, (unsigned)k, MSG_DONTWAIT | MSG_TRUNC, NULL);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) return 0;
    s->plat.dry = 1;
    return -1;
  }
  if (n == 0) return -1;
  for (i = 0; i < n; i++) {
    datagram_done(s, ops[i], &vec[i].msg_hdr, vec[i].msg_len);
    up->complete(s, ops[i]);
  }
  if (n < k) s->plat.dry = 1;     /* it gave less than asked: empty now */
  return n == k ? 1 : -1;
}

void wr__drain(wr_socket *s, wr_list *q) {
  const wr_upcalls *up = s->loop->plat.up;
  wr_overlapped *ov;
  if (wr__in_ring(q->head)) return;        /* the kernel's ring serves it */
  if (q == &s->q) oob_first(s);
  if (q == &s->q && wr__datagram(s)) {
    int r = 1;
    while (r == 1 && !s->plat.sticky && !s->plat.part && !wr__closed(s))
      r = drain_batch(s, q);
    if (r < 0) return;                     /* dry: no need to ask again */
  }
  while ((ov = wr__first_unserved(q)) != NULL && !wr__closed(s)) {
    if (ov->kind == WR_OP_ACCEPT ? !wr__accept_step(s, ov) : !step(s, ov)) {
      if (wr__accept_has_conn(ov)) continue;   /* next: the next accept */
      break;
    }
    up->complete(s, ov);
  }
}
