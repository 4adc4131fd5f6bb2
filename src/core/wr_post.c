/*
** wr_post.c -- posting an operation of any kind: capture its WSABUF array,
** start it, queue it or finish it at once; the nonoverlapped call that
** waits for its own stack object; the repost of a rearmed object.
**
** Exports for the engine: wr__start, wr__repost.
**
** The calls above (wr_recv.c, wr_send.c) check their own page's rules and
** hand a wr_op_args here; the platform is asked to start the operation: it
** either finishes at once (done, or failed to start) or is queued and
** finishes later through wr__complete.  A nonoverlapped call is an
** overlapped one on a stack object that the caller waits for,
** non-alertably.
*/
#define _GNU_SOURCE
#include <limits.h>
#include <string.h>

#include "wr_int.h"

/* bufs is ov's own storage (wr_overlapped_bufs): no copy needed. */
static int own_storage(const wr_overlapped *ov, const wr_wsabuf *bufs) {
  return bufs == ov->iov_inline || bufs == ov->iov_heap;
}

/*
** Take the operation into ov.  An overlapped call's array is copied into
** ov's own storage ("capture the WSABUF structures before returning"); a
** nonoverlapped call reads the caller's array in place (it is blocked).
** Returns 0, WSAENOBUFS or WSA_NOT_ENOUGH_MEMORY.
*/
static int capture(wr_overlapped *ov, const wr_op_args *a, int copy) {
  wr_wsabuf *bufs = a->bufs;
  size_t i, n = a->nbufs, total = 0;
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
  ov->in_flags = a->flags;
  ov->routine = a->routine;
  ov->kind = (unsigned char)a->kind;
  ov->phase = 0;
  ov->msg = a->msg;
  ov->peer = a->peer;
  ov->addrlen = 0;
  if (a->addr) {
    memcpy(&ov->addr, a->addr, (size_t)a->addrlen);
    ov->addrlen = a->addrlen;
  }
  return 0;
}

/*
** A failure that does not mean "never started": Windows delivers it
** through the completion, as if it had come later (the call returns
** WSA_IO_PENDING).  A datagram (or its control messages) too big for an
** overlapped receive, so a routine-driven receive chain goes on; any
** outcome of a ConnectEx (WSAECONNREFUSED on loopback comes at once).
*/
static int completes_later(const wr_overlapped *ov) {
  if (ov->internal) return 0;
  if (ov->kind == WR_OP_CONNECT) return 1;
  return ov->kind == WR_OP_RECV && ov->error == WSAEMSGSIZE;
}

/*
** ov finished as soon as it was started.  A failure means it never
** started: no completion indication will occur.  Anything else is
** signalled now; a ConnectEx says pending even when done (as Windows).
*/
static int finished_at_once(wr_socket *s, wr_overlapped *ov) {
  if (ov->error != 0 && !completes_later(ov)) {
    ov->state = WR_OV_DONE;
    ov->sock = NULL;
    if (ov->msg) ov->msg->pending = 0;
    wr__settle(s, ov);
    return (int)ov->error;
  }
  wr__socket_ref(s);
  wr__settle(s, ov);
  wr__signal(s, ov);
  return ov->error || ov->kind == WR_OP_CONNECT ? WSA_IO_PENDING : 0;
}

/* The platform starts ov: at once, or it waits on its queue. */
static inline int go(wr_socket *s, wr_overlapped *ov) {
  ov->sock = s;
  if (wr__plat_start(s, ov)) return finished_at_once(s, ov);
  wr__queue(s, ov);
  wr__plat_watch(s);
  return WSA_IO_PENDING;
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
    return wr__why(s->loop, WSAEWOULDBLOCK, "too many operations pending "
                   "on the socket (MAX_PENDING)");
  if (ov->kind == WR_OP_RECV && (r = wr__socket_bound(s)) != 0)
    return wr__why(s->loop, r, "the socket is not bound: a datagram "
                   "socket's address must be known before a receive "
                   "(bind, connect or sendto first)");
  if (ov->msg) ov->msg->pending = 1;
  return go(s, ov);
}

/* The state bit that stops ov's kind (a shut half). */
static unsigned shut_bit(const wr_overlapped *ov) {
  return ov->kind == WR_OP_SEND ? WR_S_SHUT_WR : WR_S_SHUT_RD;
}

/*
** Would post() accept ov again on s without a look at anything else?  s
** is open, its half not shut, has room, and its address is known (it
** took this very operation before).
*/
static int ready_again(const wr_socket *s, const wr_overlapped *ov) {
  return (s->state & (WR_S_CLOSED | shut_bit(ov) | WR_S_BOUND)) ==
             WR_S_BOUND &&
         s->loop != NULL && s->npending < WR_MAX_PENDING;
}

/*
** A rearm (wr_port.c): ov goes again with the WSABUFs it captured, which
** an operation without MSG_WAITALL only skips into, never changes.  A
** failure finishes ov with it.
*/
int wr__repost(wr_socket *s, wr_overlapped *ov) {
  int r;
  ov->iov = ov->nbufs <= WR_IOV_INLINE ? ov->iov_inline : ov->iov_heap;
  ov->iovcnt = ov->nbufs;
  if (ov->msg == NULL && ready_again(s, ov)) {
    /* post() without the checks (a rearm per datagram comes here) */
    ov->filled = 0;
    wr__finish(ov, 0, 0, 0);
    return go(s, ov);
  }
  r = wr__usable(s);
  if (r == 0 && s->loop == NULL) r = WSANOTINITIALISED;
  if (r == 0 && (s->state & shut_bit(ov))) r = WSAESHUTDOWN;
  if (r == 0 && ov->msg) {
    if (ov->msg->pending) r = WSAEINVAL;      /* another operation has it */
    else if (ov->kind == WR_OP_RECV) ov->msg->flags = 0;
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
** finished, 0 when SO_RCVTIMEO (receives) passed first, -1 when a SIGINT
** came first (it is still pending either way).
*/
static int wait_blocking(wr_socket *s, wr_overlapped *ov) {
  wr_loop *loop = s->loop;
  uint64_t deadline = 0;
  unsigned sig = wr__plat_signals();
  int done = 1;
  if (s->rcvtimeo_ms > 0 && ov->kind == WR_OP_RECV)
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
** (FIONBIO, SO_RCVTIMEO, a SIGINT), it is forgotten; what a stream
** operation moved so far is reported: with the failure, or for a
** nonblocking send as its result (the BSD send's partial count).
*/
static int blocking(wr_socket *s, wr_overlapped *ov, size_t *bytes,
                    unsigned *flags) {
  int r = post(s, ov);
  int w;
  if (r == WSA_IO_PENDING) {
    if (s->state & WR_S_NBIO) {
      /* queued behind other operations: let what the kernel has move
      ** through the queue once, without waiting, before giving up */
      if (ov->link.prev) wr__plat_pump(s->loop, 0);
      if (ov->state == WR_OV_PENDING) {
        size_t got;
        wr_overlapped_forget(ov);   /* first: a cancel learns what left */
        got = ov->filled;
        *flags = 0;
        if (ov->kind == WR_OP_SEND && got > 0) {
          *bytes = got;
          return 0;
        }
        return wr__why(s->loop, WSAEWOULDBLOCK, ov->kind == WR_OP_SEND ?
                       "no room in the socket's send buffer, and the "
                       "socket is nonblocking (FIONBIO)" :
                       "no data yet, and the socket is nonblocking "
                       "(FIONBIO)");
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

int wr__start(wr_socket *s, wr_overlapped *ov, const wr_op_args *a,
              size_t *bytes, unsigned *flags) {
  int r;
  if (ov == NULL) {
    wr_overlapped tmp;
    wr_overlapped_init(&tmp);
    tmp.internal = 1;
    if ((r = capture(&tmp, a, 0)) != 0) return r;
    r = blocking(s, &tmp, bytes, flags);
    if (a->msg) a->msg->pending = 0;
    return r;
  }
  if (wr__ov_busy(ov)) return wr__why(s->loop, WSAEINVAL, WR_WHY_BUSY);
  /* a socket of a completion port completes there: Windows refuses a
  ** routine on it, and the routine never runs */
  if (a->routine && s->port)
    return wr__why(s->loop, WSAEINVAL, "a completion routine on a socket "
                   "associated with a completion port (its completions "
                   "go to the port)");
  if ((r = capture(ov, a, 1)) != 0) return r;
  r = post(s, ov);
  if (r == WSA_IO_PENDING) return r;
  *bytes = ov->bytes;
  *flags = ov->flags;
  if (r != 0) ov->msg = NULL;             /* it never started */
  return r;
}
