/*
** wr_recv.c -- WSARecv and WSARecvMsg: the rules of their pages that no
** kernel decides, posting, the nonoverlapped call, the result and the
** cancel.
**
** Exports: wr_recv, wr_recvmsg, wr_get_overlapped_result, wr_cancel; for
**          the core: wr__repost.
**
** A post checks the page's rules (flags, the socket, the object), captures
** the WSABUF array and asks the platform to start the operation: it either
** finishes at once (data was there, or it failed to start) or is queued and
** finishes later through wr__complete.  A nonoverlapped call is an
** overlapped one on a stack object that the caller waits for,
** non-alertably.
*/
#define _GNU_SOURCE
#include <limits.h>
#include <string.h>

#include "wr_int.h"

/* =====================================================================
** The rules
** =================================================================== */

/* WSAEOPNOTSUPP, and why (a socket s in scope). */
#define NOTSUPP(why) wr__why(s->loop, WSAEOPNOTSUPP, why)
#define WHY_PEEK "MSG_PEEK only on a nonoverlapped receive"

/* Flag rules of WSARecv's lpFlags table. */
static int check_flags(wr_socket *s, unsigned f, int overlapped) {
  const unsigned known = WR_MSG_OOB | WR_MSG_PEEK | WR_MSG_WAITALL |
                         WR_MSG_PUSH_IMMEDIATE | WR_MSG_PARTIAL;
  if (f & ~known)
    return NOTSUPP("an unknown flag (a receive takes MSG_OOB, MSG_PEEK, "
                   "MSG_WAITALL, MSG_PUSH_IMMEDIATE, MSG_PARTIAL)");
  if ((f & WR_MSG_PEEK) && overlapped) return NOTSUPP(WHY_PEEK);
  if (f & WR_MSG_WAITALL) {
    if (wr__message_oriented(s))
      return NOTSUPP("MSG_WAITALL only on a stream socket");
    if (f & (WR_MSG_OOB | WR_MSG_PEEK | WR_MSG_PARTIAL))
      return NOTSUPP("MSG_WAITALL with MSG_OOB, MSG_PEEK or MSG_PARTIAL");
    if (!overlapped && (s->state & WR_S_NBIO))
      return NOTSUPP("MSG_WAITALL on a nonblocking (FIONBIO) socket "
                     "needs an overlapped receive");
  }
  if ((f & WR_MSG_OOB) && s->type != SOCK_STREAM)
    return NOTSUPP("MSG_OOB only on a stream socket");
  return 0;
}

/* Can s receive at all? */
static int check_socket(wr_socket *s) {
  int r = wr__usable(s);
  if (r) return r;
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

/* =====================================================================
** Posting
** =================================================================== */

#define WHY_NOOV "a routine without an overlapped object"

/* bufs is ov's own storage (wr_overlapped_bufs): no copy needed. */
static int own_storage(const wr_overlapped *ov, const wr_wsabuf *bufs) {
  return bufs == ov->iov_inline || bufs == ov->iov_heap;
}

/*
** Take the WSABUF array into ov.  An overlapped call's array is copied
** into ov's own storage ("capture the WSABUF structures before returning");
** a nonoverlapped call reads the caller's array in place (it is blocked).
** Returns 0, WSAENOBUFS or WSA_NOT_ENOUGH_MEMORY.
*/
static int capture(wr_overlapped *ov, wr_wsabuf *bufs, size_t n,
                   unsigned flags, wr_completion_routine routine, int copy) {
  size_t i, total = 0;
  if (n > IOV_MAX) return WSAENOBUFS;    /* more WSABUFs than recvmsg takes */
  if (copy && n > 0 && !own_storage(ov, bufs)) {
    wr_wsabuf *mine = wr_overlapped_bufs(ov, n);
    if (mine == NULL) return WSA_NOT_ENOUGH_MEMORY;
    memcpy(mine, bufs, n * sizeof *bufs);
    bufs = mine;
  }
  for (i = 0; i < n; i++) total += WR_WSABUF_LEN(&bufs[i]);
  ov->iov = bufs;
  ov->iovcnt = n;
  ov->nbufs = n;
  ov->total = total;
  ov->in_flags = flags;
  ov->routine = routine;
  return 0;
}

/*
** ov finished as soon as it was started.  A failure means it never
** started: no completion indication will occur.  Anything else (WSAEMSGSIZE
** included, see completes_later) is signalled now.
*/
static int finished_at_once(wr_socket *s, wr_overlapped *ov) {
  if (ov->error != 0 && !completes_later(ov)) {
    ov->state = WR_OV_DONE;
    ov->sock = NULL;
    if (ov->msg) ov->msg->pending = 0;
    return (int)ov->error;
  }
  wr__socket_ref(s);
  wr__signal(s, ov);
  return ov->error ? WSA_IO_PENDING : 0;
}

/*
** Post ov: complete it at once if the platform can, else queue it.
** Returns 0 (completed at once, result in ov, routine queued),
** WSA_IO_PENDING (also when it completed at once with WSAEMSGSIZE), or a
** failure (nothing queued, no completion).
*/
static int post(wr_socket *s, wr_overlapped *ov) {
  int r;
  ov->filled = 0;           /* first: a failure below reports no bytes */
  wr__finish(ov, 0, 0, 0);
  ov->where = WR_IN_NONE;
  if (s->npending >= WR_MAX_PENDING)
    return wr__why(s->loop, WSAEWOULDBLOCK, "too many receives pending on "
                   "the socket (MAX_PENDING)");
  if ((r = wr__socket_bound(s)) != 0)
    return wr__why(s->loop, r, "the socket is not bound: a datagram "
                   "socket's address must be known before a receive "
                   "(bind, connect or sendto first)");
  ov->sock = s;
  if (ov->msg) ov->msg->pending = 1;
  if (wr__plat_start(s, ov)) return finished_at_once(s, ov);
  wr__queue(s, ov);
  wr__plat_watch(s);
  return WSA_IO_PENDING;
}

/*
** Would post() accept a plain receive on s without a look at anything
** else?  s is open, receiving, has room, and its address is known (it
** took this very receive before).
*/
static int ready_again(const wr_socket *s) {
  return (s->state & (WR_S_CLOSED | WR_S_SHUT_RD | WR_S_BOUND)) ==
             WR_S_BOUND &&
         s->loop != NULL && s->npending < WR_MAX_PENDING;
}

/* post() for a receive without msg that ready_again(s) let through: the
** same steps without the checks (a rearm per datagram comes here). */
static int post_again(wr_socket *s, wr_overlapped *ov) {
  ov->filled = 0;
  wr__finish(ov, 0, 0, 0);
  ov->sock = s;
  if (wr__plat_start(s, ov)) return finished_at_once(s, ov);
  wr__queue(s, ov);
  wr__plat_watch(s);
  return WSA_IO_PENDING;
}

/*
** A rearm (wr_port.c): ov goes again with the WSABUFs it captured, which
** a receive without MSG_WAITALL only skips into, never changes.  A failure
** finishes ov with it.
*/
int wr__repost(wr_socket *s, wr_overlapped *ov) {
  int r;
  ov->iov = ov->nbufs <= WR_IOV_INLINE ? ov->iov_inline : ov->iov_heap;
  ov->iovcnt = ov->nbufs;
  if (ov->msg == NULL && ready_again(s)) return post_again(s, ov);
  r = check_socket(s);
  if (r == 0 && ov->msg) {
    if (ov->msg->pending) r = WSAEINVAL;      /* another operation has it */
    else ov->msg->flags = 0;
  }
  if (r == 0) r = post(s, ov);
  if (r != 0 && r != WSA_IO_PENDING) {
    wr__finish(ov, (unsigned)r, 0, 0);
    wr__why(s->loop, 0, NULL);      /* its completion says it, no call */
  }
  return r;
}

/*
** Wait, non-alertably, for a nonoverlapped call's object: 1 when it
** finished, 0 when SO_RCVTIMEO passed first, -1 when a SIGINT came first
** (it is still pending either way).
*/
static int wait_blocking(wr_socket *s, wr_overlapped *ov) {
  wr_loop *loop = s->loop;
  uint64_t deadline = 0;
  unsigned sig = wr__plat_signals();
  int done = 1;
  if (s->rcvtimeo_ms > 0)
    deadline = wr__plat_now(loop) + (uint64_t)s->rcvtimeo_ms;
  wr__socket_ref(s);      /* s must outlive our look at it */
  wr__plat_wait_begin(loop, -1);
  while (ov->state == WR_OV_PENDING) {
    long left = -1;
    if (wr__plat_signals() != sig) {
      done = -1;
      break;
    }
    if (deadline) {
      uint64_t now = wr__plat_now(loop);
      if (now >= deadline) {
        done = 0;
        break;
      }
      left = (long)(deadline - now);
    }
    wr__plat_pump(loop, left);
  }
  wr__plat_wait_end(loop);
  wr__socket_unref(s);    /* a pending ov still holds its own reference */
  return done;
}

/*
** A nonoverlapped call: post a stack object and wait for it.  Given up
** (SO_RCVTIMEO, a SIGINT), it is forgotten; what a stream receive placed
** so far is reported with the failure.
*/
static int recv_blocking(wr_socket *s, wr_overlapped *ov, size_t *bytes,
                         unsigned *flags) {
  int r = post(s, ov);
  int w;
  if (r == WSA_IO_PENDING) {
    if (s->state & WR_S_NBIO) {
      /* queued behind other receives: let what the kernel has move
      ** through the queue once, without waiting, before giving up */
      if (ov->link.prev) wr__plat_pump(s->loop, 0);
      if (ov->state == WR_OV_PENDING) {
        wr_overlapped_forget(ov);
        return wr__why(s->loop, WSAEWOULDBLOCK, "no data yet, and the "
                       "socket is nonblocking (FIONBIO)");
      }
    } else if ((w = wait_blocking(s, ov)) <= 0) {
      size_t got = ov->filled;
      wr_overlapped_forget(ov);
      *bytes = got;
      *flags = 0;
      return w < 0 ? WSAEINTR : WSAETIMEDOUT;
    }
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
  if (wr__ov_busy(ov)) return wr__why(s->loop, WSAEINVAL, WR_WHY_BUSY);
  /* a socket of a completion port completes there: Windows refuses a
  ** routine on it, and the routine never runs */
  if (routine && s->port)
    return wr__why(s->loop, WSAEINVAL, "a completion routine on a socket "
                   "associated with a completion port (its completions "
                   "go to the port)");
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
  if (overlapped && ov == NULL) return wr__why(s->loop, WSAEFAULT, WHY_NOOV);
  return start(s, ov, bufs, nbufs, in, routine, NULL, bytes, flags);
}

int wr_recvmsg(wr_socket *s, wr_msg *msg, wr_wsabuf *bufs, size_t nbufs,
               size_t *bytes, wr_overlapped *ov,
               wr_completion_routine routine) {
  int overlapped = (ov != NULL || routine != NULL);
  unsigned fl;
  int r;
  if ((r = check_socket(s)) != 0) return r;
  if (!wr__datagram(s))
    return NOTSUPP("WSARecvMsg only on a datagram or raw socket");
  if (msg->in_flags & ~(unsigned)WR_MSG_PEEK)
    return NOTSUPP("a msg's input flags are 0 or MSG_PEEK");
  if ((msg->in_flags & WR_MSG_PEEK) && overlapped) return NOTSUPP(WHY_PEEK);
  if (msg->pending) return wr__why(s->loop, WSAEINVAL, WR_WHY_MSG_BUSY);
  if (msg->sysctl == NULL)
    return wr__why(s->loop, WSAEFAULT, "the msg has no control space");
  if (overlapped && ov == NULL) return wr__why(s->loop, WSAEFAULT, WHY_NOOV);
  msg->flags = 0;
  wr__plat_msg_prepare(s);
  return start(s, ov, bufs, nbufs, msg->in_flags, routine, msg, bytes, &fl);
}

/* =====================================================================
** Results and cancelling
** =================================================================== */

/* Wait for ov (non-alertably): 0, or WSAEINTR (still pending). */
static int wait_result(wr_loop *loop, wr_overlapped *ov) {
  unsigned sig = wr__plat_signals();
  int r = 0;
  wr__plat_wait_begin(loop, -1);
  while (ov->state == WR_OV_PENDING) {
    if (wr__plat_signals() != sig) {
      r = WSAEINTR;
      break;
    }
    wr__plat_pump(loop, -1);
  }
  wr__plat_wait_end(loop);
  return r;
}

int wr_get_overlapped_result(wr_socket *s, wr_overlapped *ov, size_t *bytes,
                             int wait, unsigned *flags) {
  if (ov->state == WR_OV_IDLE)
    return wr__why(s->loop, WSAEINVAL, "the object was never posted");
  if (ov->state == WR_OV_PENDING) {
    wr_loop *loop = ov->sock->loop;
    if (ov->sock != s)
      return wr__why(s->loop, WSAEINVAL, "the object's operation is on "
                     "another socket");
    if (wait) {
      if (ov->routine)
        return wr__why(s->loop, WSAEINVAL, "wait = true on an operation "
                       "with a routine (an alertable wait delivers it)");
      if (wait_result(loop, ov)) return WSAEINTR;
    } else {
      wr__plat_pump(loop, 0);   /* let the I/O progress, as the kernel would */
      if (ov->state == WR_OV_PENDING) return WSA_IO_INCOMPLETE;
    }
  }
  *bytes = ov->bytes;
  *flags = ov->flags;
  return (int)ov->error;
}

/*
** An object waiting on its port to be rearmed is still pending for the
** caller: cancel ends it too, with WSA_OPERATION_ABORTED (after the
** receives, as close does), once.
*/
int wr_cancel(wr_socket *s, wr_overlapped *ov) {
  size_t pending = s->npending;
  if (ov) {
    if (ov->where == WR_IN_REARM && ov->sock == s)
      return wr__port_abort_rearmed(s, ov) ? 0 : WR_ERROR_NOT_FOUND;
    if (ov->state != WR_OV_PENDING || ov->sock != s) return WR_ERROR_NOT_FOUND;
    /* an operation the kernel finished first completes with its data,
    ** and there was nothing to cancel, as CancelIoEx would say */
    int done = wr__plat_cancel(s, ov);
    if (!done) wr__finish(ov, WSA_OPERATION_ABORTED, ov->filled, 0);
    wr__complete(s, ov);
    return done ? WR_ERROR_NOT_FOUND : 0;
  }
  wr__fail_all(s, WSA_OPERATION_ABORTED);   /* in posting order */
  if (wr__port_abort_rearmed(s, NULL) == 0 && pending == 0)
    return WR_ERROR_NOT_FOUND;
  return 0;
}
