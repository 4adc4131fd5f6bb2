/*
** wr_linux_int.h -- what the Linux platform's files share among
** themselves.  Only wr_linux_*.c include it; the engine never does.
**
** Exports: inline: wr__msghdr, wr__batchable, wr__skip_empty,
**          wr__accept_has_conn, wr__first_unserved;
**          wr_linux_send.c: wr__send_step, wr__accept_step, wr__drain_send;
**          wr_linux_step.c: wr__step_now, wr__drain;
**          wr_linux_msg.c: wr__msg_filter, wr__errqueue,
**          wr__loop_free_bcast;
**          wr_linux_cmsg.c: wr__ee_error;
**          wr_linux_pollfd.c: wr__lx_pollfd_changed, wr__lx_pollfd_pumping,
**          wr__lx_pollfd_pumped, wr__lx_pollfd_delivered,
**          wr__lx_pollfd_held, wr__lx_pollfd_free;
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

/* The first operation of q the socket's own readiness serves (one silent
** client does not hold up the accepts posted after its own). */
static inline wr_overlapped *wr__first_unserved(const wr_list *q) {
  wr_overlapped *ov = q->head;
  while (wr__accept_has_conn(ov)) ov = ov->link.next;
  return ov;
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

/* wr_linux_step.c */
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
void wr__lx_pollfd_held(wr_loop *loop);      /* receives wait for a flush */
void wr__lx_pollfd_free(wr_loop *loop);

/* wr_linux_signal.c: Ctrl-C in a wait */
void wr__lx_signal_arm(wr_loop *loop);       /* a pump may block */
void wr__lx_signal_close(wr_loop *loop);     /* before the last run */

WR_INTERNAL_END

#endif
