/*
** wr_linux_int.h -- what the Linux platform's files share among
** themselves.  Only wr_linux_*.c include it; the engine never does.
**
** Exports: inline: wr__msghdr, wr__batchable, wr__skip_empty,
**          wr__accept_has_conn, wr__in_ring, wr__send_in_ring,
**          wr__first_unserved;
**          wr_linux_send.c: wr__send_step, wr__accept_step, wr__drain_send,
**          wr__send_flags, wr__left_to_send;
**          wr_linux_step.c: wr__step_now, wr__drain, wr__step_result;
**          wr_linux_ring.c: wr__ring_open, wr__ring_close,
**          wr__ring_servable, wr__ring_armed, wr__ring_take, wr__ring_send,
**          wr__ring_resume, wr__ring_reap, wr__ring_submit,
**          wr__ring_cancel, wr__ring_quiesce, wr__ring_socket_close;
**          wr_linux_msg.c: wr__msg_filter, wr__errqueue,
**          wr__loop_free_bcast;
**          wr_linux_cmsg.c: wr__ee_error;
**          wr_linux_pollfd.c: wr__lx_pollfd_changed, wr__lx_pollfd_pumping,
**          wr__lx_pollfd_pumped, wr__lx_pollfd_delivered,
**          wr__schedule_flush, wr__lx_pollfd_alive, wr__lx_pollfd_free;
**          wr_linux_signal.c: wr__lx_signal_arm, wr__lx_signal_close.
**
** Floors: wr_linux_watch.c (the libuv side) calls the step, and keeps the
** integrator's descriptor (wr_linux_pollfd.c) and the Ctrl-C handler
** (wr_linux_signal.c) in step; the step calls the control messages; those
** call wr__ee_error (wr_linux_cmsg.c, which also gives the engine's
** decoder Linux's numbers).  None calls the engine: a finished operation
** goes up through loop->plat.up.
*/
#ifndef WR_LINUX_INT_H
#define WR_LINUX_INT_H

#include <string.h>

#include "wr_int.h"

WR_INTERNAL_BEGIN

struct sock_extended_err;

/* Most datagrams one recvmmsg serves. */
#define WR_BATCH 64

/* The msghdr a receive into iov (and m's name and control space) needs. */
static inline void wr__msghdr(struct msghdr *mh, wr_wsabuf *iov,
                              size_t iovcnt, wr_msg *m) {
  memset(mh, 0, sizeof *mh);
  mh->msg_iov = iov;
  mh->msg_iovlen = iovcnt;
  if (m) {
    mh->msg_name = &m->name;
    mh->msg_namelen = sizeof m->name;
    mh->msg_control = m->sysctl;
    mh->msg_controllen = m->sysctlcap;
  }
}

/* Can ov be served by a plain recvmmsg slot? */
static inline int wr__batchable(const wr_overlapped *ov) {
  return !(ov->in_flags & (WR_MSG_PEEK | WR_MSG_PARTIAL)) &&
         (ov->total > 0 || ov->msg != NULL);
}

/* Skip ov's leading empty WSABUFs: recvmsg stops at the first full entry,
** so it must never see an empty one ahead of room. */
static inline void wr__skip_empty(wr_overlapped *ov) {
  while (ov->iovcnt > 0 && ov->iov->iov_len == 0) {
    ov->iov++;
    ov->iovcnt--;
  }
}

/* An AcceptEx that holds its connection and waits for the first data on
** it: its accept socket's watch serves it, not the listener's. */
static inline int wr__accept_has_conn(const wr_overlapped *ov) {
  return ov && ov->kind == WR_OP_ACCEPT && ov->phase;
}

/*
** A receive the io_uring engine handed to the kernel (ov->phase of a
** receive; wr_linux_ring.c): its buffer is in the socket's buffer ring, or
** the kernel has filled it and its result is set but not yet reported.
** Such receives are always the head of the socket's queue, in order.
*/
#define WR_PH_RING    1
#define WR_PH_REAPED  2
static inline int wr__in_ring(const wr_overlapped *ov) {
  return ov && ov->kind == WR_OP_RECV && ov->phase != 0;
}
/* The same for a stream send the kernel carries on (ov->phase of a send:
** the head of the send queue, the rest of its bytes in one SEND). */
static inline int wr__send_in_ring(const wr_overlapped *ov) {
  return ov && ov->kind == WR_OP_SEND && ov->phase != 0;
}

/* The first operation of q the socket's own readiness serves (one silent
** client does not hold up the accepts posted after its own; the kernel's
** ring serves its receives, and those behind them wait for it). */
static inline wr_overlapped *wr__first_unserved(const wr_list *q) {
  wr_overlapped *ov = q->head;
  while (wr__accept_has_conn(ov)) ov = ov->link.next;
  return wr__in_ring(ov) ? NULL : ov;
}

/* wr_linux_send.c */
/* One step of a send or a ConnectEx (the head of the send queue, or about
** to be): 1 finished, 0 wait for room. */
int wr__send_step(wr_socket *s, wr_overlapped *ov);
/* One step of an AcceptEx on the listener ls: 1 finished, 0 wait (for a
** connection, or -- phase 1 -- for the first data on the accept socket). */
int wr__accept_step(wr_socket *ls, wr_overlapped *ov);
/* Complete what can be completed from the head of the send queue. */
void wr__drain_send(wr_socket *s);
/* A send's system flags (MSG_NOSIGNAL, MSG_DONTWAIT, and its own). */
int wr__send_flags(const wr_overlapped *ov);
/* What ov has left to send: the array from its first entry not all sent,
** that entry's unsent part in *first (the buffers stay whole), *cnt
** entries. */
struct iovec *wr__left_to_send(wr_overlapped *ov, struct iovec *first,
                               size_t *cnt);

/* wr_linux_ring.c: the io_uring engine (each a no-op without a ring) */
/* Make the loop's ring, its completions watched by libuv: 0 or an errno
** (this kernel cannot do what the engine needs). */
int wr__ring_open(wr_loop *loop);
/* Drop it (every socket closed, so the kernel holds nothing). */
void wr__ring_close(wr_loop *loop);
/* A receive the ring can serve on s (one buffer, none of the flags the
** step emulates, a socket with nothing the step must read first). */
int wr__ring_servable(const wr_socket *s, const wr_overlapped *ov);
/* s's multishot receive is running (a post joins it with no syscall). */
int wr__ring_armed(const wr_socket *s);
/* Hand ov, about to be queued on s, to the kernel: 1 taken, 0 it is not
** a receive the ring serves, or the queue holds one that is not. */
int wr__ring_take(wr_socket *s, wr_overlapped *ov);
/* Hand the kernel the receives of s's queue it can take now (those the
** poll path left, those a cancel took back), and report those filled. */
void wr__ring_resume(wr_socket *s);
/* Report what the kernel finished (no syscall: the completion ring is
** shared memory), then hand it what was taken back; sockets whose queue
** the ring leaves to the poll path go on the flush list. */
void wr__ring_reap(wr_loop *loop);
/* Submit the receives prepared since the last submission. */
void wr__ring_submit(wr_loop *loop);
/* The head of s's send queue, a stream send the socket had no room for:
** the kernel sends the rest as room comes (1), or it stays the poll
** path's (0). */
int wr__ring_send(wr_socket *s);
/* Take ov back from the kernel (see wr__plat_cancel): 1 when the kernel
** had filled it (its result set), else 0. */
int wr__ring_cancel(wr_socket *s, wr_overlapped *ov);
/* Take back every receive of s (MSG_OOB must read the stream first): they
** go to the poll path. */
void wr__ring_quiesce(wr_socket *s);
/* s closes: its ring goes. */
void wr__ring_socket_close(wr_socket *s);

/* wr_linux_step.c */
/* The result of one receive the kernel ran for ov (n bytes, as mh says;
** or n < 0 with errno e): 1 ov is finished, 0 it must wait. */
int wr__step_result(wr_socket *s, wr_overlapped *ov, long n, int e,
                    const struct msghdr *mh);
/* One receive step for ov (the head of its queue, or about to be): 1 when
** ov is finished (its result set), 0 when it must wait for the socket.
** A fatal stream error it finished with sticks to the socket. */
int wr__step_now(wr_socket *s, wr_overlapped *ov);
/* Complete what can be completed from the head of q, in order. */
void wr__drain(wr_socket *s, wr_list *q);

/* wr_linux_msg.c */
/* After recvmsg into m->sysctl: copy what the caller asked for into its
** control buffer (what fits), derive flags.  Returns the output flags. */
unsigned wr__msg_filter(wr_socket *s, wr_msg *m, const struct msghdr *mh);
/* Drain one entry of the error queue (IP_RECVERR): its WSA code, or 0 if
** empty.  With m, the entry's messages and address land in m (no data). */
int wr__errqueue(wr_socket *s, wr_msg *m, unsigned *flags);
void wr__loop_free_bcast(wr_loop *loop);

/* wr_linux_cmsg.c */
/* The WSA error an extended error (IP_RECVERR) stands for. */
int wr__ee_error(const struct sock_extended_err *ee);

/* wr_linux_pollfd.c: keep the integrator's descriptor in step (each is a
** no-op until someone asked for the descriptor) */
void wr__lx_pollfd_changed(wr_loop *loop);   /* a watch started, a handle closes */
void wr__lx_pollfd_pumping(wr_loop *loop);   /* a libuv run begins */
void wr__lx_pollfd_pumped(wr_loop *loop);    /* ... and ended */
void wr__lx_pollfd_delivered(wr_loop *loop); /* an alertable delivery ended */
/* Put s on the loop's list of sockets whose queues the next flush serves
** (wr__plat_flush: when a delivery pass ends, or the next wait begins);
** outside a pass, an integrator asleep on a descriptor is told to call
** one. */
void wr__schedule_flush(wr_socket *s);
void wr__lx_pollfd_alive(wr_loop *loop);     /* the ring holds receives */
void wr__lx_pollfd_free(wr_loop *loop);

/* wr_linux_signal.c: Ctrl-C in a wait */
void wr__lx_signal_arm(wr_loop *loop);       /* a pump may block */
void wr__lx_signal_close(wr_loop *loop);     /* before the last run */

WR_INTERNAL_END

#endif
