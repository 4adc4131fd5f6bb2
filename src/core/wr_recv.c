/*
** wr_recv.c -- WSARecv and WSARecvMsg: the rules of their pages that no
** kernel decides; WSAGetOverlappedResult and CancelIoEx.
**
** Exports: wr_recv, wr_recvmsg, wr_get_overlapped_result, wr_cancel.
**
** A receive checks the page's rules (flags, the socket, the msg) and hands
** the operation to wr_post.c, which posts it.  The result and the cancel
** serve every kind of operation (wr_send.c's too).
*/
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

#define WHY_NOOV "a routine without an overlapped object"

int wr_recv(wr_socket *s, wr_wsabuf *bufs, size_t nbufs, size_t *bytes,
            unsigned *flags, wr_overlapped *ov,
            wr_completion_routine routine) {
  int overlapped = (ov != NULL || routine != NULL);
  unsigned in = *flags;
  wr_op_args a = {0};
  int r;
  if ((r = check_socket(s)) != 0) return r;
  if ((r = check_flags(s, in, overlapped)) != 0) return r;
  if (overlapped && ov == NULL) return wr__why(s->loop, WSAEFAULT, WHY_NOOV);
  a.bufs = bufs;
  a.nbufs = nbufs;
  a.flags = in;
  a.routine = routine;
  return wr__start(s, ov, &a, bytes, flags);
}

int wr_recvmsg(wr_socket *s, wr_msg *msg, wr_wsabuf *bufs, size_t nbufs,
               size_t *bytes, wr_overlapped *ov,
               wr_completion_routine routine) {
  int overlapped = (ov != NULL || routine != NULL);
  unsigned fl;
  wr_op_args a = {0};
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
  a.bufs = bufs;
  a.nbufs = nbufs;
  a.flags = msg->in_flags;
  a.routine = routine;
  a.msg = msg;
  return wr__start(s, ov, &a, bytes, &fl);
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
    wr__plat_resume(s);              /* the rest go on */
    return done ? WR_ERROR_NOT_FOUND : 0;
  }
  wr__fail_all(s, WSA_OPERATION_ABORTED);   /* in posting order */
  if (wr__port_abort_rearmed(s, NULL) == 0 && pending == 0)
    return WR_ERROR_NOT_FOUND;
  return 0;
}
