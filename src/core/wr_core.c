/*
** wr_core.c -- the overlapped-receive engine: operation queues on a libuv
** loop, the receive step, completion and alertable delivery, the waits.
**
** Exports: wr_loop_new, wr_loop_destroy, wr_loop_interrupt,
**          wr_loop_interrupted,
**          wr_overlapped_init, wr_overlapped_bufs, wr_overlapped_forget,
**          wr_overlapped_msg,
**          wr_recv, wr_recvmsg, wr_get_overlapped_result, wr_cancel,
**          wr_close, wr_socket_release, wr_sleep_ex, wr_wait_for_multiple,
**          wr_run.
**
** The model.  Each socket keeps its pending operations in posting order
** (one queue for normal data, one for MSG_OOB).  A post first tries the
** receive at once when nothing is queued ahead of it; otherwise the
** operation is queued and the socket's uv_poll_t watches for readability.
** When the socket becomes readable the poll callback completes operations
** from the head of the queue until the kernel runs dry, so buffers are
** filled in posting order.  A completed operation with a routine goes on
** the loop's APC queue; routines run only in an alertable wait (SleepEx,
** WSAWaitForMultipleEvents, run), never inside libuv's callbacks, and never
** nested for one socket.  An operation without a routine just becomes
** "signalled" (state DONE) and the event hook tells the binding.
*/
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wr_int.h"

/* =====================================================================
** Lists and references
** =================================================================== */

void wr__list_push(wr_list *l, wr_overlapped *ov) {
  ov->link.next = NULL;
  ov->link.prev = l->tail;
  if (l->tail) l->tail->link.next = ov;
  else l->head = ov;
  l->tail = ov;
}

void wr__list_remove(wr_list *l, wr_overlapped *ov) {
  if (ov->link.prev) ov->link.prev->link.next = ov->link.next;
  else l->head = ov->link.next;
  if (ov->link.next) ov->link.next->link.prev = ov->link.prev;
  else l->tail = ov->link.prev;
  ov->link.prev = ov->link.next = NULL;
}

void wr__socket_ref(wr_socket *s) { s->refs++; }

static void socket_unref(wr_socket *s) {
  if (--s->refs == 0) {
    free(s->part);
    free(s);
  }
}

static int is_message_oriented(const wr_socket *s) {
  return s->type == SOCK_DGRAM || s->type == SOCK_RAW ||
         s->type == SOCK_SEQPACKET;
}

/* =====================================================================
** Overlapped objects
** =================================================================== */

void wr_overlapped_init(wr_overlapped *ov) {
  memset(ov, 0, sizeof *ov);
}

int wr_overlapped_busy(const wr_overlapped *ov) {
  return ov->state == WR_OV_PENDING || ov->where == WR_IN_APC;
}

wr_wsabuf *wr_overlapped_bufs(wr_overlapped *ov, size_t n) {
  if (n <= WR_IOV_INLINE) return ov->iov_inline;
  if (n > ov->iov_cap) {
    wr_wsabuf *p = realloc(ov->iov_heap, n * sizeof *p);
    if (p == NULL) return NULL;
    ov->iov_heap = p;
    ov->iov_cap = n;
  }
  return ov->iov_heap;
}

static wr_list *list_of(wr_socket *s, wr_overlapped *ov) {
  switch (ov->where) {
    case WR_IN_QUEUE: return &s->q;
    case WR_IN_OOBQ: return &s->oobq;
    case WR_IN_APC: return &s->loop->apc;
    default: return NULL;
  }
}

/* Take ov off whatever list holds it, dropping the counts it stood for. */
static void unlink_op(wr_overlapped *ov) {
  wr_socket *s = ov->sock;
  wr_list *l;
  if (s == NULL || ov->where == WR_IN_NONE) return;
  l = list_of(s, ov);
  if (ov->where == WR_IN_APC) {
    s->loop->napc--;
  } else {
    s->npending--;
    if (s->loop) s->loop->npending--;
  }
  if (l) wr__list_remove(l, ov);
  ov->where = WR_IN_NONE;
}

wr_msg *wr_overlapped_msg(const wr_overlapped *ov) { return ov->msg; }

void wr_overlapped_forget(wr_overlapped *ov) {
  wr_socket *s = ov->sock;
  if (s && ov->where != WR_IN_NONE) {
    /* queued, or completed with its routine not yet run: it still holds
    ** its msg, released with it (an operation off every list released its
    ** msg when signalled or delivered; the msg may belong to another now) */
    if (ov->msg) ov->msg->pending = 0;
    unlink_op(ov);
    ov->sock = NULL;
    socket_unref(s);
  }
  ov->msg = NULL;
  free(ov->iov_heap);
  ov->iov_heap = NULL;
  ov->iov_cap = 0;
  ov->state = WR_OV_DONE;
}

/* =====================================================================
** Completion
** =================================================================== */

/*
** ov has left its socket queue (or never entered it) with its result set.
** Signal it: onto the APC queue if it has a routine, else through the
** event hook.  The operation's reference on the socket moves with it.
** Its msg, like the object, belongs to the operation until the completion
** is delivered: here for an event-style operation, in deliver() for one
** with a routine (its source and control messages must not be overwritten
** by another receive before the routine has seen them).
*/
static void signal_op(wr_socket *s, wr_overlapped *ov) {
  wr_loop *loop = s->loop;
  ov->state = WR_OV_DONE;
  if (ov->routine && loop) {
    ov->where = WR_IN_APC;
    ov->seq = ++loop->apc_seq;
    wr__list_push(&loop->apc, ov);
    loop->napc++;
    wr__pollfd_kick(loop);
    return;
  }
  if (ov->msg) ov->msg->pending = 0;
  ov->sock = NULL;
  if (!ov->internal && loop && loop->hook) loop->hook(ov, loop->hook_data);
  socket_unref(s);
}

/* A queued op is finished: dequeue it and signal it. */
static void complete_queued(wr_socket *s, wr_overlapped *ov) {
  unlink_op(ov);
  signal_op(s, ov);
}

static void finish(wr_overlapped *ov, unsigned err, size_t n, unsigned fl) {
  ov->error = err;
  ov->bytes = n;
  ov->flags = fl;
}

/* Every queued operation of s completes with err (cancel, close, failure) */
static void fail_queue(wr_socket *s, wr_list *q, unsigned err) {
  wr_overlapped *ov;
  while ((ov = q->head) != NULL) {
    finish(ov, err, ov->filled, 0);
    complete_queued(s, ov);
  }
}

void wr__fail_all(wr_socket *s, unsigned err) {
  fail_queue(s, &s->q, err);
  fail_queue(s, &s->oobq, err);
}

/* =====================================================================
** The poll handle: watch only what the queues need
** =================================================================== */

static void on_poll(uv_poll_t *h, int status, int events);

/*
** Add the events the queues need.  Events no longer needed are dropped
** lazily, by the next poll callback that finds nothing to do: a routine
** that reposts (the common case) then costs no epoll_ctl at all.
*/
static void want_events(wr_socket *s) {
  int ev = s->events;
  int r;
  if (s->q.head) ev |= UV_READABLE;
  if (s->oobq.head) ev |= UV_PRIORITIZED;
  if (ev == s->events) return;
  r = (s->state & WR_S_POLL_INIT) ? uv_poll_start(&s->poll, ev, on_poll)
                                  : UV_ENOTSOCK;
  if (r < 0) {
    unsigned err = (unsigned)wr_wsa_from_errno(-r);
    fail_queue(s, &s->q, err);
    fail_queue(s, &s->oobq, err);
    return;
  }
  s->events = ev;
  wr__pollfd_changed(s->loop);
}

static void trim_events(wr_socket *s) {
  int ev = s->events;
  if (!s->q.head) ev &= ~UV_READABLE;
  if (!s->oobq.head) ev &= ~UV_PRIORITIZED;
  if (ev == s->events) return;
  if (ev == 0) uv_poll_stop(&s->poll);
  else uv_poll_start(&s->poll, ev, on_poll);
  s->events = ev;
  wr__pollfd_changed(s->loop);
}

/* =====================================================================
** The receive step
** =================================================================== */

/* errno from a receive -> WSA, with the receive path's special cases */
static unsigned recv_error(wr_socket *s, int e) {
  if (e == ECONNREFUSED) return WSAECONNRESET;   /* ICMP port unreachable */
  if (e == EPIPE) return WSAESHUTDOWN;
  (void)s;
  return (unsigned)wr_wsa_from_errno(e);
}

static int fatal_for_stream(unsigned err) {
  return err == WSAECONNRESET || err == WSAECONNABORTED ||
         err == WSAETIMEDOUT || err == WSAENETRESET;
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

/* Drop the first n bytes of ov's buffer array (MSG_WAITALL progress). */
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
  /* skip zero-length entries so recvmsg never sees an empty array early */
  while (ov->iovcnt > 0 && ov->iov->iov_len == 0) {
    ov->iov++;
    ov->iovcnt--;
  }
}

static int fd_ready(int fd, short events, short *revents) {
  struct pollfd p;
  int r;
  p.fd = fd;
  p.events = events;
  p.revents = 0;
  do r = poll(&p, 1, 0); while (r < 0 && errno == EINTR);
  *revents = p.revents;
  return r > 0;
}

/* A 0-byte read on a seqpacket socket: the peer's close, or an empty
** message?  After a close the socket reports hang-up. */
static int peer_closed(wr_socket *s) {
  short rev;
  fd_ready(s->fd, POLLIN | POLLRDHUP, &rev);
  return (rev & (POLLRDHUP | POLLHUP)) != 0;
}

/* Serve ov from the unread rest of a MSG_PARTIAL datagram. */
static int step_from_part(wr_socket *s, wr_overlapped *ov) {
  size_t left = s->part_len - s->part_off;
  size_t n = left < ov->total ? left : ov->total;
  copy_in(ov, s->part + s->part_off, n);
  if (ov->msg) {
    /* the source is known; the control messages went with the first
    ** part, and a WSARecvMsg has no MSG_PARTIAL to give: it gets what fits
    ** of the rest, and MSG_TRUNC when more remains */
    wr_msg *m = ov->msg;
    memcpy(&m->name, &s->part_name, sizeof m->name);
    m->namelen = s->part_namelen;
    m->controlused = 0;
    m->flags = n < left ? WR_MSG_TRUNC : 0;
  }
  if (ov->in_flags & WR_MSG_PEEK) {
    if (ov->msg) finish(ov, n < left ? WSAEMSGSIZE : 0, n, ov->msg->flags);
    else finish(ov, 0, n, n < left ? WR_MSG_PARTIAL : 0);
    return 1;
  }
  s->part_off += n;
  if (s->part_off == s->part_len || ov->msg) {
    free(s->part);               /* a WSARecvMsg takes the rest: the */
    s->part = NULL;              /* excess is discarded, as for any */
    s->part_len = s->part_off = 0;   /* truncated datagram */
    if (ov->msg && n < left) finish(ov, WSAEMSGSIZE, n, WR_MSG_TRUNC);
    else finish(ov, 0, n, 0);
  } else {
    finish(ov, 0, n, WR_MSG_PARTIAL);
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
  ssize_t full, n;
  char *p;
  do full = recv(s->fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
  while (full < 0 && errno == EINTR);
  if (full < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
    finish(ov, recv_error(s, errno), 0, 0);
    return 1;
  }
  if ((size_t)full <= ov->total) return -1;
  p = malloc((size_t)full);
  if (p == NULL) {
    finish(ov, WSA_NOT_ENOUGH_MEMORY, 0, 0);
    return 1;
  }
  s->part_namelen = sizeof s->part_name;
  do n = recvfrom(s->fd, p, (size_t)full, MSG_DONTWAIT,
                  (struct sockaddr *)&s->part_name, &s->part_namelen);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    int e = errno;
    free(p);
    if (e == EAGAIN || e == EWOULDBLOCK) return 0;
    finish(ov, recv_error(s, e), 0, 0);
    return 1;
  }
  s->part = p;
  s->part_len = (size_t)n;
  s->part_off = 0;
  return step_from_part(s, ov);
}

/*
** A WSARecvMsg receive got n bytes described by mh.  Data or control
** messages that did not fit: WSAEMSGSIZE, with the bytes placed and
** MSG_TRUNC / MSG_CTRUNC saying which (Windows reports both alike).
*/
static void msg_done(wr_socket *s, wr_overlapped *ov, struct msghdr *mh,
                     size_t n) {
  unsigned fl = wr__msg_filter(s, ov->msg, mh);
  int cut = (fl & (WR_MSG_TRUNC | WR_MSG_CTRUNC)) != 0;
  finish(ov, cut ? WSAEMSGSIZE : 0, n, fl);
}

/*
** Try to make progress on ov.  Returns 1 when ov is finished (its error,
** bytes and flags set), 0 when it must wait for the socket.
*/
static int step(wr_socket *s, wr_overlapped *ov) {
  unsigned f = ov->in_flags;
  int sysf = MSG_DONTWAIT;
  struct msghdr mh;
  ssize_t n;

  if (s->sticky) {
    finish(ov, s->sticky, ov->filled, 0);
    return 1;
  }
  if (ov->total == 0 && !is_message_oriented(s) && !(f & WR_MSG_OOB)) {
    /* the zero-byte receive on a stream: complete on readability, consume
    ** nothing.  On a message socket empty buffers are buffers like any
    ** others: a datagram that does not fit them fails with WSAEMSGSIZE
    ** and is gone, an empty one is received whole. */
    short rev;
    if (!fd_ready(s->fd, POLLIN, &rev)) return 0;
    finish(ov, 0, 0, 0);
    return 1;
  }
  if (s->part && !(f & WR_MSG_OOB)) return step_from_part(s, ov);
  if ((f & WR_MSG_PARTIAL) && is_message_oriented(s) && ov->msg == NULL) {
    int r = step_partial(s, ov);
    if (r >= 0) return r;
  }
  if (f & WR_MSG_OOB) sysf |= MSG_OOB;
  if (f & WR_MSG_PEEK) sysf |= MSG_PEEK;

  for (;;) {
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = ov->iov;
    mh.msg_iovlen = ov->iovcnt;
    if (ov->msg) {
      mh.msg_name = &ov->msg->name;
      mh.msg_namelen = sizeof ov->msg->name;
      mh.msg_control = ov->msg->sysctl;
      mh.msg_controllen = ov->msg->sysctlcap;
    }
    n = recvmsg(s->fd, &mh, sysf);
    if (n < 0) {
      unsigned err, fl = 0;
      int e = errno;
      if (e == EINTR) continue;
      if (e == EAGAIN || e == EWOULDBLOCK) {
        /* (an error-queue entry whose report was consumed elsewhere keeps
        ** POLLERR up: on_poll hands it to the head receive) */
        if (!(f & WR_MSG_OOB)) s->dry = 1;
        return 0;
      }
      if ((f & WR_MSG_OOB) && e == EINVAL) {
        /* no urgent byte yet -- unless SO_OOBINLINE puts it in the stream,
        ** where MSG_OOB can never succeed (Winsock: WSAEINVAL) */
        int inl = 0;
        socklen_t il = sizeof inl;
        if (getsockopt(s->fd, SOL_SOCKET, SO_OOBINLINE, &inl, &il) == 0 &&
            inl) {
          finish(ov, WSAEINVAL, 0, 0);
          return 1;
        }
        return 0;
      }
      err = recv_error(s, e);
      if (s->type == SOCK_STREAM && fatal_for_stream(err)) s->sticky = err;
      /* IP_RECVERR: the details of this error wait in the error queue,
      ** and say more precisely what it was (a TTL expiry, say) */
      if ((s->opts & WR_O_RECVERR) && !(f & WR_MSG_PEEK)) {
        int qe = wr__errqueue(s, ov->msg, &fl);
        if (qe) err = (unsigned)qe;
      }
      finish(ov, err, ov->filled, fl);
      return 1;
    }
    if (ov->msg) {
      msg_done(s, ov, &mh, (size_t)n);
      return 1;
    }
    if (!is_message_oriented(s)) {
      if (f & WR_MSG_WAITALL) {
        ov->filled += (size_t)n;
        if (n == 0 || ov->filled == ov->total) {
          finish(ov, 0, ov->filled, 0);
          return 1;
        }
        advance(ov, (size_t)n);
        continue;
      }
      finish(ov, 0, (size_t)n, 0);
      return 1;
    }
    if (s->type == SOCK_SEQPACKET && n == 0 &&
        !(mh.msg_flags & MSG_TRUNC) && peer_closed(s)) {
      finish(ov, WSAEDISCON, 0, 0);
      return 1;
    }
    finish(ov, (mh.msg_flags & MSG_TRUNC) ? WSAEMSGSIZE : 0, (size_t)n, 0);
    return 1;
  }
}

#define WR_BATCH 64

/* Can ov be served by a plain recvmmsg slot? */
static int batchable(const wr_overlapped *ov) {
  return !(ov->in_flags & (WR_MSG_PEEK | WR_MSG_PARTIAL)) &&
         (ov->total > 0 || ov->msg != NULL);
}

/*
** Several datagram receives queued: serve them with one recvmmsg, in
** posting order.  Returns 1 if every slot was filled (more may wait), -1
** if the kernel ran dry (nothing more to try now), 0 if the batch could
** not be used or failed (the caller goes on one operation at a time,
** which also reports the error to the right operation).
*/
static int drain_batch(wr_socket *s, wr_list *q) {
  struct mmsghdr vec[WR_BATCH];
  wr_overlapped *ops[WR_BATCH], *ov;
  int k = 0, n, i;
  for (ov = q->head; ov && k < WR_BATCH && batchable(ov); ov = ov->link.next) {
    struct msghdr *mh = &vec[k].msg_hdr;
    memset(mh, 0, sizeof *mh);
    mh->msg_iov = ov->iov;
    mh->msg_iovlen = ov->iovcnt;
    if (ov->msg) {
      mh->msg_name = &ov->msg->name;
      mh->msg_namelen = sizeof ov->msg->name;
      mh->msg_control = ov->msg->sysctl;
      mh->msg_controllen = ov->msg->sysctlcap;
    }
    ops[k++] = ov;
  }
  if (k < 2) return 0;
  do n = recvmmsg(s->fd, vec, (unsigned)k, MSG_DONTWAIT, NULL);
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK) return 0;
    s->dry = 1;
    return -1;
  }
  if (n == 0) return -1;
  for (i = 0; i < n; i++) {
    ov = ops[i];
    if (ov->msg) {
      msg_done(s, ov, &vec[i].msg_hdr, vec[i].msg_len);
    } else {
      finish(ov, (vec[i].msg_hdr.msg_flags & MSG_TRUNC) ? WSAEMSGSIZE : 0,
             vec[i].msg_len, 0);
    }
    complete_queued(s, ov);
  }
  if (n < k) s->dry = 1;          /* it gave less than asked: empty now */
  return n == k ? 1 : -1;
}

/* Complete what can be completed from the head of q, in order. */
static void drain(wr_socket *s, wr_list *q) {
  wr_overlapped *ov;
  if (q == &s->q && (s->type == SOCK_DGRAM || s->type == SOCK_RAW)) {
    int r = 1;
    while (r == 1 && !s->sticky && !s->part && !(s->state & WR_S_CLOSED))
      r = drain_batch(s, q);
    if (r < 0) return;                     /* dry: no need to ask again */
  }
  while ((ov = q->head) != NULL && !(s->state & WR_S_CLOSED)) {
    if (!step(s, ov)) break;
    complete_queued(s, ov);
  }
}

static void on_poll(uv_poll_t *h, int status, int events) {
  wr_socket *s = h->data;
  wr__socket_ref(s);
  if (status < 0) {
    /*
    ** libuv reports POLLERR (an ICMP error, a reset) as UV_EBADF and stops
    ** the handle.  The socket's own error is what the receive must report:
    ** let recvmsg fetch it, then watch again for what is still queued.
    */
    s->events = 0;
    s->dry = 0;
    drain(s, &s->oobq);
    drain(s, &s->q);
    /*
    ** Still an error condition: an error-queue entry (IP_RECVERR, set by
    ** the caller or already on an adopted descriptor) whose report was
    ** consumed elsewhere.  It would keep POLLERR up and the loop spinning:
    ** hand each entry to the next receive as its failure.
    */
    while (!(s->state & WR_S_CLOSED) && s->q.head) {
      unsigned fl = 0;
      wr_overlapped *ov = s->q.head;
      int qe = wr__errqueue(s, ov->msg, &fl);
      if (!qe) break;
      finish(ov, (unsigned)qe, 0, fl);
      complete_queued(s, ov);
    }
    if (!(s->state & WR_S_CLOSED)) want_events(s);
  } else {
    /*
    ** Nothing queued for what fired: stop watching it (the lazy trim).
    ** After a drain the queue may be empty only because the routines have
    ** not reposted yet; trimming then would cost an epoll_ctl pair per
    ** datagram for a socket with one reposted receive.
    */
    if (((events & UV_PRIORITIZED) && !s->oobq.head) ||
        ((events & UV_READABLE) && !s->q.head))
      trim_events(s);
    s->dry = 0;
    if (events & UV_PRIORITIZED) drain(s, &s->oobq);
    if (events & (UV_READABLE | UV_DISCONNECT)) drain(s, &s->q);
  }
  socket_unref(s);
}

/* =====================================================================
** Posting
** =================================================================== */

/* Flag rules of WSARecv's lpFlags table. */
static int check_flags(wr_socket *s, unsigned f, int overlapped) {
  const unsigned known = WR_MSG_OOB | WR_MSG_PEEK | WR_MSG_WAITALL |
                         WR_MSG_PUSH_IMMEDIATE | WR_MSG_PARTIAL;
  if (f & ~known) return WSAEOPNOTSUPP;
  if ((f & WR_MSG_PEEK) && overlapped) return WSAEOPNOTSUPP;
  if (f & WR_MSG_WAITALL) {
    if (is_message_oriented(s)) return WSAEOPNOTSUPP;
    if (f & (WR_MSG_OOB | WR_MSG_PEEK | WR_MSG_PARTIAL)) return WSAEOPNOTSUPP;
    if (!overlapped && (s->state & WR_S_NBIO)) return WSAEOPNOTSUPP;
  }
  if ((f & WR_MSG_OOB) && s->type != SOCK_STREAM) return WSAEOPNOTSUPP;
  return 0;
}

/* "The socket's local address must be known" (datagram sockets). */
static int check_bound(wr_socket *s) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if ((s->state & WR_S_BOUND) || s->type != SOCK_DGRAM) return 0;
  if (getsockname(s->fd, (struct sockaddr *)&ss, &len) < 0) return 0;
  if (ss.ss_family == AF_INET) {
    if (((struct sockaddr_in *)&ss)->sin_port == 0) return WSAEINVAL;
  } else if (ss.ss_family == AF_INET6) {
    if (((struct sockaddr_in6 *)&ss)->sin6_port == 0) return WSAEINVAL;
  } else if (ss.ss_family == AF_UNIX) {
    if (len <= sizeof(sa_family_t)) {
      /* unnamed, but a connected (socketpair) socket can receive */
      len = sizeof ss;
      if (getpeername(s->fd, (struct sockaddr *)&ss, &len) < 0)
        return WSAEINVAL;
    }
  }
  s->state |= WR_S_BOUND;
  return 0;
}

static int check_socket(wr_socket *s) {
  if (s->state & WR_S_CLOSED) return WSAENOTSOCK;
  if (s->loop == NULL) return WSANOTINITIALISED;
  if (s->state & WR_S_SHUT_RD) return WSAESHUTDOWN;
  return 0;
}

/*
** A datagram (or its control messages) too big for an overlapped receive
** that completed at once has not failed to start: Windows delivers
** WSAEMSGSIZE through the completion, as if it had come later (the call
** returns WSA_IO_PENDING), so a routine-driven receive chain goes on.
** A nonoverlapped call just returns it.
*/
static int completes_later(const wr_overlapped *ov) {
  return ov->error == WSAEMSGSIZE && !ov->internal;
}

/*
** Post ov: complete it at once if nothing is queued ahead and the kernel
** has what it needs, else queue it.  Returns 0 (completed at once, result
** in ov, routine queued), WSA_IO_PENDING (also when it completed at once
** with WSAEMSGSIZE: signalled, routine queued), or a failure (nothing
** queued, no completion).
*/
static int post(wr_socket *s, wr_overlapped *ov) {
  int oob = (ov->in_flags & WR_MSG_OOB) != 0;
  wr_list *q = oob ? &s->oobq : &s->q;
  int r;
  ov->filled = 0;           /* first: a failure below reports no bytes */
  ov->error = 0;
  ov->bytes = 0;
  ov->flags = 0;
  ov->where = WR_IN_NONE;
  if (s->npending >= WR_MAX_PENDING) return WSAEWOULDBLOCK;
  if ((r = check_bound(s)) != 0) return r;
  ov->sock = s;
  if (ov->msg) ov->msg->pending = 1;
  if (s->loop->delivering && !oob && !ov->internal &&
      (s->type == SOCK_DGRAM || s->type == SOCK_RAW) && batchable(ov)) {
    /*
    ** A routine reposting: queue without a syscall; when the delivery pass
    ** ends, one recvmmsg serves every operation queued meanwhile.
    */
    if (!s->flush) {
      s->flush = 1;
      wr__socket_ref(s);
      s->flush_next = s->loop->flush;
      s->loop->flush = s;
    }
  } else if (q->head == NULL && step(s, ov)) {
    if (ov->error != 0 && !completes_later(ov)) {
      /* failed to start: no completion indication will occur */
      if (s->type == SOCK_STREAM && fatal_for_stream(ov->error))
        s->sticky = ov->error;
      ov->state = WR_OV_DONE;
      ov->sock = NULL;
      if (ov->msg) ov->msg->pending = 0;
      return (int)ov->error;
    }
    wr__socket_ref(s);
    signal_op(s, ov);
    return ov->error ? WSA_IO_PENDING : 0;
  }
  ov->state = WR_OV_PENDING;
  ov->where = oob ? WR_IN_OOBQ : WR_IN_QUEUE;
  wr__list_push(q, ov);
  wr__socket_ref(s);
  s->npending++;
  s->loop->npending++;
  want_events(s);
  return WSA_IO_PENDING;
}

/*
** Take the WSABUF array into ov.  An overlapped call's array is copied
** into ov's own storage ("capture the WSABUF structures before returning");
** a nonoverlapped call reads the caller's array in place (it is blocked).
** Returns 0 or WSA_NOT_ENOUGH_MEMORY.
*/
static int capture(wr_overlapped *ov, wr_wsabuf *bufs, size_t n,
                   unsigned flags, wr_completion_routine routine, int copy) {
  size_t i, total = 0;
  if (n > IOV_MAX) return WSAENOBUFS;    /* more WSABUFs than recvmsg takes */
  if (copy && n > 0 && bufs != ov->iov_inline && bufs != ov->iov_heap) {
    wr_wsabuf *mine = wr_overlapped_bufs(ov, n);
    if (mine == NULL) return WSA_NOT_ENOUGH_MEMORY;
    memcpy(mine, bufs, n * sizeof *bufs);
    bufs = mine;
  }
  for (i = 0; i < n; i++) total += bufs[i].iov_len;
  ov->iov = bufs;
  ov->iovcnt = n;
  ov->total = total;
  ov->in_flags = flags;
  ov->routine = routine;
  /* recvmsg stops at the first full entry; skip leading empty ones */
  advance(ov, 0);
  return 0;
}

static void pump(wr_loop *loop, long ms);

/* A nonoverlapped call: post a stack object and wait non-alertably. */
static int recv_blocking(wr_socket *s, wr_overlapped *ov, size_t *bytes,
                         unsigned *flags) {
  int r = post(s, ov);
  uint64_t deadline = 0;
  if (r == WSA_IO_PENDING) {
    if (s->state & WR_S_NBIO) {
      /* queued behind other receives: let what the kernel has move
      ** through the queue once, without waiting, before giving up */
      if (ov->link.prev) pump(s->loop, 0);
      if (ov->state == WR_OV_PENDING) {
        wr_overlapped_forget(ov);
        return WSAEWOULDBLOCK;
      }
      *bytes = ov->bytes;
      *flags = ov->flags;
      return (int)ov->error;
    }
    if (s->rcvtimeo_ms > 0) {
      uv_update_time(&s->loop->uv);
      deadline = uv_now(&s->loop->uv) + (uint64_t)s->rcvtimeo_ms;
    }
    wr__socket_ref(s);      /* s must outlive our look at it */
    while (ov->state == WR_OV_PENDING) {
      long left = -1;
      if (deadline) {
        uint64_t now;
        uv_update_time(&s->loop->uv);
        now = uv_now(&s->loop->uv);
        if (now >= deadline) {
          size_t got = ov->filled;
          wr_overlapped_forget(ov);
          socket_unref(s);
          *bytes = got;
          *flags = 0;
          return WSAETIMEDOUT;
        }
        left = (long)(deadline - now);
      }
      pump(s->loop, left);
    }
    socket_unref(s);
    r = (int)ov->error;
  }
  *bytes = ov->bytes;
  *flags = ov->flags;
  return r;
}

/*
** What WSARecv and WSARecvMsg share once their own rules are checked: a
** nonoverlapped call waits on a stack object (reading the caller's array
** in place); an overlapped one captures the array into ov and posts it.
** *bytes and *flags are set when the operation completed (and *bytes when
** a failure placed data).
*/
static inline int start(wr_socket *s, wr_overlapped *ov, wr_wsabuf *bufs,
                        size_t nbufs, unsigned in,
                        wr_completion_routine routine, wr_msg *msg,
                        size_t *bytes, unsigned *flags) {
  int r;
  if (ov == NULL) {
    wr_overlapped tmp;
    wr_overlapped_init(&tmp);
    tmp.internal = 1;
    if ((r = capture(&tmp, bufs, nbufs, in, NULL, 0)) != 0) return r;
    tmp.msg = msg;
    r = recv_blocking(s, &tmp, bytes, flags);
    if (msg) msg->pending = 0;
    return r;
  }
  if (wr_overlapped_busy(ov)) return WSAEINVAL;
  if ((r = capture(ov, bufs, nbufs, in, routine, 1)) != 0) return r;
  ov->msg = msg;
  r = post(s, ov);
  if (r == WSA_IO_PENDING) return r;
  *bytes = ov->bytes;
  *flags = ov->flags;
  if (r != 0) ov->msg = NULL;             /* it never started */
  return r;
}

int wr_recv(wr_socket *s, wr_wsabuf *bufs, size_t nbufs, size_t *bytes,
            unsigned *flags, wr_overlapped *ov,
            wr_completion_routine routine) {
  int overlapped = (ov != NULL || routine != NULL);
  unsigned in = *flags;
  int r;
  if ((r = check_socket(s)) != 0) return r;
  if ((r = check_flags(s, in, overlapped)) != 0) return r;
  if (overlapped && ov == NULL) return WSAEFAULT;
  return start(s, ov, bufs, nbufs, in, routine, NULL, bytes, flags);
}

int wr_recvmsg(wr_socket *s, wr_msg *msg, wr_wsabuf *bufs, size_t nbufs,
               size_t *bytes, wr_overlapped *ov,
               wr_completion_routine routine) {
  int overlapped = (ov != NULL || routine != NULL);
  unsigned fl;
  int r;
  if ((r = check_socket(s)) != 0) return r;
  if (s->type != SOCK_DGRAM && s->type != SOCK_RAW) return WSAEOPNOTSUPP;
  if (msg->in_flags & ~(unsigned)WR_MSG_PEEK) return WSAEOPNOTSUPP;
  if ((msg->in_flags & WR_MSG_PEEK) && overlapped) return WSAEOPNOTSUPP;
  if (msg->pending) return WSAEINVAL;
  if (msg->sysctl == NULL) return WSAEFAULT;
  if (overlapped && ov == NULL) return WSAEFAULT;
  msg->flags = 0;
  wr__msg_prepare(s);
  return start(s, ov, bufs, nbufs, msg->in_flags, routine, msg, bytes, &fl);
}

/* =====================================================================
** Results, cancelling, closing
** =================================================================== */

int wr_get_overlapped_result(wr_socket *s, wr_overlapped *ov, size_t *bytes,
                             int wait, unsigned *flags) {
  if (ov->state == WR_OV_IDLE) return WSAEINVAL;
  if (ov->state == WR_OV_PENDING) {
    wr_loop *loop = ov->sock->loop;
    if (ov->sock != s) return WSAEINVAL;
    if (wait) {
      if (ov->routine) return WSAEINVAL;
      while (ov->state == WR_OV_PENDING) pump(loop, -1);
    } else {
      pump(loop, 0);     /* let the I/O progress, as the kernel would */
      if (ov->state == WR_OV_PENDING) return WSA_IO_INCOMPLETE;
    }
  }
  *bytes = ov->bytes;
  *flags = ov->flags;
  return (int)ov->error;
}

static void abort_op(wr_socket *s, wr_overlapped *ov) {
  finish(ov, WSA_OPERATION_ABORTED, ov->filled, 0);
  complete_queued(s, ov);
}

int wr_cancel(wr_socket *s, wr_overlapped *ov) {
  if (ov) {
    if (ov->state != WR_OV_PENDING || ov->sock != s) return WR_ERROR_NOT_FOUND;
    abort_op(s, ov);
    return 0;
  }
  if (s->npending == 0) return WR_ERROR_NOT_FOUND;
  /* all of them, in posting order (normal data first) */
  while (s->q.head) abort_op(s, s->q.head);
  while (s->oobq.head) abort_op(s, s->oobq.head);
  return 0;
}

static void on_handle_closed(uv_handle_t *h) {
  wr_socket *s = h->data;
  s->state &= ~WR_S_HANDLE_OPEN;
  socket_unref(s);
}

static void sockets_unlink(wr_socket *s) {
  if (s->loop == NULL) return;
  if (s->prev) s->prev->next = s->next;
  else if (s->loop->sockets == s) s->loop->sockets = s->next;
  if (s->next) s->next->prev = s->prev;
  s->prev = s->next = NULL;
}

void wr__sockets_link(wr_loop *loop, wr_socket *s) {
  s->prev = NULL;
  s->next = loop->sockets;
  if (loop->sockets) loop->sockets->prev = s;
  loop->sockets = s;
}

void wr_close(wr_socket *s) {
  if (s->state & WR_S_CLOSED) return;
  wr__socket_ref(s);
  if (s->loop) wr_cancel(s, NULL);
  s->state |= WR_S_CLOSED;
  if (s->state & WR_S_HANDLE_OPEN) {
    if (s->events) uv_poll_stop(&s->poll);
    s->events = 0;
    uv_close((uv_handle_t *)&s->poll, on_handle_closed);
    wr__pollfd_changed(s->loop);
  }
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  free(s->part);
  s->part = NULL;
  sockets_unlink(s);
  socket_unref(s);
}

void wr_socket_release(wr_socket *s) {
  wr_close(s);
  socket_unref(s);
}

int wr__socket_init(wr_loop *loop, int fd, wr_socket **out) {
  wr_socket *s = calloc(1, sizeof *s);
  int r;
  if (s == NULL) return WSA_NOT_ENOUGH_MEMORY;
  s->fd = fd;
  s->loop = loop;
  s->refs = 1;                       /* the owner */
  r = uv_poll_init_socket(&loop->uv, &s->poll, fd);
  if (r == 0) {
    s->poll.data = s;
    s->state |= WR_S_POLL_INIT | WR_S_HANDLE_OPEN;
    s->refs++;                       /* the open handle */
  }
  /* a descriptor libuv cannot poll is still adopted; using it fails */
  wr__sockets_link(loop, s);
  *out = s;
  return 0;
}

/* =====================================================================
** The loop and the waits
** =================================================================== */

int wr_loop_new(wr_loop **out, wr_event_hook hook, void *data) {
  wr_loop *loop = calloc(1, sizeof *loop);
  int r;
  if (loop == NULL) return WSA_NOT_ENOUGH_MEMORY;
  r = uv_loop_init(&loop->uv);
  if (r < 0) {
    free(loop);
    return wr_wsa_from_errno(-r);
  }
  uv_timer_init(&loop->uv, &loop->timer);
  loop->hook = hook;
  loop->hook_data = data;
  *out = loop;
  return 0;
}

void wr_loop_destroy(wr_loop *loop) {
  wr_overlapped *ov;
  wr_socket *f;
  /* the state may close inside a routine: drop the pending flush */
  while ((f = loop->flush) != NULL) {
    loop->flush = f->flush_next;
    f->flush = 0;
    socket_unref(f);
  }
  /* drop routines never delivered: nobody is left to run them */
  while ((ov = loop->apc.head) != NULL) wr_overlapped_forget(ov);
  while (loop->sockets) {
    wr_socket *s = loop->sockets;
    while ((ov = s->q.head) != NULL) wr_overlapped_forget(ov);
    while ((ov = s->oobq.head) != NULL) wr_overlapped_forget(ov);
    wr_close(s);          /* unlinks s; its open handle still holds it */
    s->loop = NULL;       /* later calls on it report WSANOTINITIALISED */
  }
  uv_close((uv_handle_t *)&loop->timer, NULL);
  uv_run(&loop->uv, UV_RUN_DEFAULT);      /* only close callbacks remain */
  uv_loop_close(&loop->uv);
  wr__pollfd_free(loop);
  wr__loop_free_bcast(loop);
  free(loop);
}

void wr_loop_interrupt(wr_loop *loop) { loop->interrupted = 1; }

int wr_loop_interrupted(wr_loop *loop) {
  int r = loop->interrupted;
  loop->interrupted = 0;
  return r;
}


static void on_timer(uv_timer_t *t) { (void)t; }

/* Let I/O progress: ms < 0 until some event, 0 without waiting. */
static void pump(wr_loop *loop, long ms) {
  wr__pollfd_pumping(loop);
  if (ms > 0) uv_timer_start(&loop->timer, on_timer, (uint64_t)ms, 0);
  uv_run(&loop->uv, ms == 0 ? UV_RUN_NOWAIT : UV_RUN_ONCE);
  if (ms > 0) uv_timer_stop(&loop->timer);
  wr__pollfd_pumped(loop);
}

/* Serve the receives routines posted during delivery (see post). */
static void flush(wr_loop *loop) {
  wr_socket *s;
  while ((s = loop->flush) != NULL) {
    loop->flush = s->flush_next;
    s->flush = 0;
    if (!(s->state & WR_S_CLOSED) && s->q.head) {
      /* found empty since the last readiness: the poll will say when
      ** data comes, no need to ask the kernel now */
      if (!s->dry) drain(s, &s->q);
      if (!(s->state & WR_S_CLOSED)) want_events(s);
    }
    socket_unref(s);
  }
}

static wr_overlapped *next_deliverable(wr_loop *loop, unsigned long upto) {
  wr_overlapped *ov;
  for (ov = loop->apc.head; ov && ov->seq <= upto; ov = ov->link.next)
    if (!ov->sock->in_routine) return ov;
  return NULL;
}

/*
** Run the routines queued when the delivery began (those queued by the
** routines themselves wait for the next alertable wait), skipping any
** socket whose routine is already running further up the stack.
*/
static size_t deliver(wr_loop *loop) {
  unsigned long upto = loop->apc_seq;
  size_t n = 0;
  wr_overlapped *ov;
  while (!loop->interrupted && (ov = next_deliverable(loop, upto))) {
    wr_socket *s = ov->sock;
    wr_completion_routine routine = ov->routine;
    wr__list_remove(&loop->apc, ov);
    ov->where = WR_IN_NONE;
    ov->sock = NULL;
    loop->napc--;
    if (ov->msg) ov->msg->pending = 0;   /* the routine may repost it */
    s->in_routine = 1;
    loop->delivering++;
    routine(ov->error, ov->bytes, ov, ov->flags);   /* ov may be reused */
    loop->delivering--;
    s->in_routine = 0;
    socket_unref(s);
    n++;
  }
  flush(loop);
  wr__pollfd_delivered(loop);
  return n;
}

static int has_deliverable(wr_loop *loop) {
  return next_deliverable(loop, loop->apc_seq) != NULL;
}

static long time_left(wr_loop *loop, uint64_t deadline) {
  uint64_t now;
  uv_update_time(&loop->uv);
  now = uv_now(&loop->uv);
  return now >= deadline ? 0 : (long)(deadline - now);
}

/*
** ms < 0: none (INFINITE).  No overflow for any ms: uv_now counts from an
** arbitrary recent start, far below 2^63, and ms <= LONG_MAX; time_left's
** difference is then at most ms, so it fits a long again.
*/
static uint64_t deadline_of(wr_loop *loop, long ms) {
  uv_update_time(&loop->uv);
  return ms < 0 ? 0 : uv_now(&loop->uv) + (uint64_t)ms;
}

/* Hand a wait's result back the header's way: *out set, 0 returned. */
#define WAIT_RESULT(out, v) return (*(out) = (v), 0)

int wr_sleep_ex(wr_loop *loop, long ms, int alertable, unsigned *result) {
  uint64_t deadline = deadline_of(loop, ms);
  int first = 1;
  for (;;) {
    long left;
    if (alertable && deliver(loop)) WAIT_RESULT(result, WR_WAIT_IO_COMPLETION);
    if (loop->interrupted) WAIT_RESULT(result, WR_WAIT_IO_COMPLETION);
    left = ms < 0 ? -1 : time_left(loop, deadline);
    if (!first && left == 0) WAIT_RESULT(result, 0);
    if (left < 0 && loop->npending == 0) return WSAEINVAL;   /* forever */
    pump(loop, left);
    first = 0;
  }
}

int wr_wait_for_multiple(wr_loop *loop, wr_overlapped *const *ovs, size_t n,
                         int waitall, long ms, int alertable, long *result) {
  uint64_t deadline = deadline_of(loop, ms);
  int first = 1;
  for (;;) {
    size_t i, done = 0, pending = 0;
    long left;
    for (i = 0; i < n; i++) {
      if (ovs[i]->state == WR_OV_DONE) {
        if (!waitall) WAIT_RESULT(result, WR_WAIT_OBJECT_0 + (long)i);
        done++;
      } else if (ovs[i]->state == WR_OV_PENDING) {
        pending++;
      }
    }
    if (waitall && done == n)
      WAIT_RESULT(result, WR_WAIT_OBJECT_0 + (long)n - 1);
    if (alertable && deliver(loop)) WAIT_RESULT(result, WR_WAIT_IO_COMPLETION);
    if (loop->interrupted) WAIT_RESULT(result, WR_WAIT_IO_COMPLETION);
    left = ms < 0 ? -1 : time_left(loop, deadline);
    if (!first && left == 0) WAIT_RESULT(result, WR_WAIT_TIMEOUT);
    if (left < 0 && (pending == 0 || (waitall && done + pending < n)) &&
        !(alertable && has_deliverable(loop)))
      return WSAEINVAL;                /* nothing could ever signal */
    pump(loop, left);
    first = 0;
  }
}

int wr_run(wr_loop *loop, int mode) {
  switch (mode) {
    case WR_RUN_NOWAIT:
      pump(loop, 0);
      deliver(loop);
      break;
    case WR_RUN_ONCE:
      if (!deliver(loop) && loop->npending > 0 && !loop->interrupted) {
        pump(loop, -1);
        deliver(loop);
      }
      break;
    default:
      for (;;) {
        deliver(loop);
        if (loop->interrupted) break;
        if (has_deliverable(loop)) continue;   /* ready now: no blocking */
        if (loop->npending == 0) break;
        pump(loop, -1);
      }
  }
  return loop->npending > 0 || has_deliverable(loop);
}
