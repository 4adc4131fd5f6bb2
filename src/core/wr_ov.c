/*
** wr_ov.c -- operations: overlapped objects, the queues they wait on, and
** their completion, up to the routine that reports it.
**
** Exports: wr_overlapped_init, wr_overlapped_busy, wr_overlapped_kind,
**          wr_overlapped_bufs, wr_overlapped_forget, wr_overlapped_msg;
**          for the core: wr__queue, wr__signal, wr__complete,
**          wr__fail_all, wr__fail_one, wr__settle, wr__deliver,
**          wr__has_deliverable, wr__port_queue, wr__port_unlink,
**          wr__port_socket_closing, wr__port_abort_rearmed.
**
** The model.  Each socket keeps its pending operations in posting order
** (one queue for normal data, one for MSG_OOB); the platform serves them
** from the head and hands each finished one back (wr__complete).  A
** completed operation with a routine goes on the loop's APC queue; routines
** run only in an alertable wait (wr__deliver, from wr_loop.c), never inside
** the platform's callbacks, and never nested for one socket.  An operation
** without a routine goes to its socket's completion port if it has one
** (wr_port.c), else just becomes "signalled" (state DONE) and the event
** hook tells the binding.  Every operation on a list holds a reference on
** its socket until its completion has been delivered.
*/
#include <string.h>

#include "wr_int.h"

/* =====================================================================
** Overlapped objects
** =================================================================== */

void wr_overlapped_init(wr_overlapped *ov) {
  memset(ov, 0, sizeof *ov);
}

int wr_overlapped_busy(const wr_overlapped *ov) { return wr__ov_busy(ov); }

int wr_overlapped_kind(const wr_overlapped *ov) { return ov->kind; }

wr_msg *wr_overlapped_msg(const wr_overlapped *ov) { return ov->msg; }

/* The one place a WSABUF array's home is chosen: inside ov, or its heap. */
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

/* =====================================================================
** Lists
** =================================================================== */

static wr_list *list_of(wr_socket *s, wr_overlapped *ov) {
  switch (ov->where) {
    case WR_IN_QUEUE: return &s->q;
    case WR_IN_OOBQ: return &s->oobq;
    case WR_IN_SENDQ: return &s->sendq;
    case WR_IN_APC: return &s->loop->apc;
    default: return NULL;
  }
}

/* Put ov (on no list) on l, which `where` names. */
static void enlist(wr_list *l, wr_overlapped *ov, int where) {
  assert(ov->where == WR_IN_NONE);
  ov->where = where;
  wr__list_push(l, ov);
}

/* Take ov off whatever list holds it, dropping the counts it stood for. */
static void unlink_op(wr_overlapped *ov) {
  wr_socket *s = ov->sock;
  wr_list *l;
  if (s == NULL || ov->where == WR_IN_NONE) return;
  if (ov->where >= WR_IN_PORT) {         /* a port's queue or rearm list */
    wr__port_unlink(s->port, ov);
    return;
  }
  l = list_of(s, ov);
  assert(l != NULL);
  if (ov->where == WR_IN_APC) {
    assert(s->loop->napc > 0);
    s->loop->napc--;
  } else {
    assert(s->npending > 0);
    s->npending--;
    if (s->loop) {
      assert(s->loop->npending >= s->npending && s->loop->npending > 0);
      s->loop->npending--;
    }
  }
  wr__list_remove(l, ov);
  ov->where = WR_IN_NONE;
  assert((s->npending == 0) ==
         (!s->q.head && !s->oobq.head && !s->sendq.head));
  assert(!s->loop || (s->loop->napc == 0) == (s->loop->apc.head == NULL));
}

/* Sends and a ConnectEx wait for room to write; receives and AcceptEx
** for something to read (MSG_OOB apart). */
void wr__queue(wr_socket *s, wr_overlapped *ov) {
  ov->state = WR_OV_PENDING;
  if (ov->kind == WR_OP_SEND || ov->kind == WR_OP_CONNECT)
    enlist(&s->sendq, ov, WR_IN_SENDQ);
  else if (ov->in_flags & WR_MSG_OOB)
    enlist(&s->oobq, ov, WR_IN_OOBQ);
  else
    enlist(&s->q, ov, WR_IN_QUEUE);
  wr__socket_ref(s);
  s->npending++;
  s->loop->npending++;
}

void wr_overlapped_forget(wr_overlapped *ov) {
  wr_socket *s = ov->sock;
  if (s && ov->where != WR_IN_NONE) {
    /* queued, or completed with its routine not yet run: it still holds
    ** its msg, released with it (an operation off every list released its
    ** msg when signalled or delivered; the msg may belong to another now) */
    if (ov->where < WR_IN_APC) {
      wr__plat_cancel(s, ov);
      wr__finish(ov, WSA_OPERATION_ABORTED, ov->filled, 0);
      wr__settle(s, ov);               /* an AcceptEx lets its socket go */
    }
    if (ov->msg) ov->msg->pending = 0;
    unlink_op(ov);
    ov->sock = NULL;
    if (!wr__closed(s) && s->loop) wr__plat_resume(s);   /* the rest go on */
    wr__socket_unref(s);
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

/* Does ov's completion go to its socket's port?  Not with a routine, not
** for a nonoverlapped call, not with hEvent's low bit set (Windows'
** convention), not once the port is closed. */
static int to_port(const wr_socket *s, const wr_overlapped *ov) {
  return s->port && !s->port->closed && !ov->internal &&
         !((uintptr_t)ov->hEvent & WR_NOPORT);
}

/*
** Signal ov: onto the APC queue if it has a routine, onto its socket's
** port if it goes there, else through the event hook.  Its msg, like the
** object, belongs to the operation until the completion is delivered: here
** for an event-style operation, in wr__deliver for one with a routine (its
** source and control messages must not be overwritten by another receive
** before the routine has seen them), when its entry is taken from a port.
*/
void wr__signal(wr_socket *s, wr_overlapped *ov) {
  wr_loop *loop = s->loop;
  ov->state = WR_OV_DONE;
  if (ov->routine && loop) {
    enlist(&loop->apc, ov, WR_IN_APC);
    ov->seq = ++loop->apc_seq;
    loop->napc++;
    wr__plat_apc_queued(loop);       /* an integrator's poll must wake */
    return;
  }
  if (loop && to_port(s, ov)) {
    wr__port_queue(s->port, s, ov);
    return;
  }
  if (ov->msg) ov->msg->pending = 0;
  ov->sock = NULL;
  if (!ov->internal && loop && loop->hook) loop->hook(ov, loop->hook_data);
  wr__socket_unref(s);
}

/*
** A receive off the normal queue, the case of every datagram, is unlinked
** here without unlink_op's questions; going to a port, it is queued there
** without wr__signal's (the same steps).
*/
void wr__complete(wr_socket *s, wr_overlapped *ov) {
  if (ov->where != WR_IN_QUEUE || ov->kind != WR_OP_RECV || s->loop == NULL) {
    unlink_op(ov);
    wr__settle(s, ov);
    wr__signal(s, ov);
    return;
  }
  assert(s->npending > 0 && s->loop->npending >= s->npending);
  s->npending--;
  s->loop->npending--;
  wr__list_remove(&s->q, ov);
  ov->where = WR_IN_NONE;
  if (ov->routine || !to_port(s, ov)) {
    wr__signal(s, ov);
    return;
  }
  ov->state = WR_OV_DONE;
  wr__port_queue(s->port, s, ov);
}

/* A queued operation ends, unfinished, with err and what it had moved. */
void wr__fail_one(wr_socket *s, wr_overlapped *ov, unsigned err) {
  if (!wr__plat_cancel(s, ov)) wr__finish(ov, err, ov->filled, 0);
  wr__complete(s, ov);
}

void wr__fail_all(wr_socket *s, unsigned err) {
  wr_overlapped *ov;
  while ((ov = s->q.head) != NULL) wr__fail_one(s, ov, err);
  while ((ov = s->oobq.head) != NULL) wr__fail_one(s, ov, err);
  while ((ov = s->sendq.head) != NULL) wr__fail_one(s, ov, err);
}

/*
** What a finished operation did to its sockets.  An AcceptEx made its
** accept socket the connection (or, failed, left it as it was) and lets
** it go; a ConnectEx connected s or failed; a send to an address bound s
** (the kernel picks one on the first).
*/
void wr__settle(wr_socket *s, wr_overlapped *ov) {
  wr_socket *as;
  switch (ov->kind) {
    case WR_OP_ACCEPT:
      if ((as = ov->peer) == NULL) return;
      ov->peer = NULL;
      if (as->accepting == ov) as->accepting = NULL;
      if (ov->error == 0) as->state |= WR_S_BOUND | WR_S_CONNECTED;
      wr__socket_unref(as);
      return;
    case WR_OP_CONNECT:
      s->state &= ~(unsigned)WR_S_CONNECTING;
      if (ov->error == 0) s->state |= WR_S_CONNECTED;
      return;
    case WR_OP_SEND:
      if (ov->error == 0 && (ov->addrlen || (ov->msg && ov->msg->namelen)))
        s->state |= WR_S_BOUND;
      return;
    default:
      return;
  }
}

/* =====================================================================
** Delivery: the APC queue
** =================================================================== */

static wr_overlapped *next_deliverable(wr_loop *loop, unsigned long upto) {
  wr_overlapped *ov;
  for (ov = loop->apc.head; ov && ov->seq <= upto; ov = ov->link.next)
    if (!ov->sock->in_routine) return ov;
  return NULL;
}

int wr__has_deliverable(wr_loop *loop) {
  return next_deliverable(loop, loop->apc_seq) != NULL;
}

/*
** Run the routines queued when the delivery began (those queued by the
** routines themselves wait for the next alertable wait), skipping any
** socket whose routine is already running further up the stack.  Then the
** platform serves what the routines posted.  A SIGINT stops it before the
** next routine: lua.c's hook would raise at that routine's first
** instruction, and its completion would be gone with nothing run.
*/
size_t wr__deliver(wr_loop *loop) {
  unsigned long upto = loop->apc_seq;
  unsigned sig = wr__plat_signals();
  size_t n = 0;
  wr_overlapped *ov;
  while (!loop->interrupted && wr__plat_signals() == sig &&
         (ov = next_deliverable(loop, upto))) {
    wr_socket *s = ov->sock;
    wr_completion_routine routine = ov->routine;
    unlink_op(ov);
    ov->sock = NULL;
    if (ov->msg) ov->msg->pending = 0;   /* the routine may repost it */
    s->in_routine = 1;
    loop->delivering++;
    routine(ov->error, ov->bytes, ov, ov->flags);   /* ov may be reused */
    loop->delivering--;
    s->in_routine = 0;
    wr__socket_unref(s);
    n++;
  }
  wr__plat_delivered(loop, n);
  return n;
}

/* =====================================================================
** A port's queue: where a completion of a port's socket goes (wr__signal),
** a sink below every caller as the APC queue is; the port's API and its
** wait are above (wr_port.c, wr_loop.c)
** =================================================================== */

void wr__port_queue(wr_port *port, wr_socket *s, wr_overlapped *ov) {
  assert(ov->where == WR_IN_NONE && ov->sock == s);
  ov->key = s->key;
  ov->seq = ++port->seq;
  ov->where = WR_IN_PORT;
  wr__list_push(&port->q, ov);
  port->nq++;
  wr__plat_port_queued(port);
}

void wr__port_unlink(wr_port *port, wr_overlapped *ov) {
  if (ov->where == WR_IN_PORT) {
    assert(port->nq > 0);
    port->nq--;
    wr__list_remove(&port->q, ov);
  } else {
    assert(ov->where == WR_IN_REARM);
    wr__list_remove(&port->rearm, ov);
  }
  ov->where = WR_IN_NONE;
}

/*
** s is closing, or its operations are cancelled: what waits on the rearm
** list to be posted again is, for the caller, still pending: it completes
** with WSA_OPERATION_ABORTED, in order, after the operations the close or
** the cancel ended.  Once: on the queue it is not rearmed again.
*/
size_t wr__port_abort_rearmed(wr_socket *s, const wr_overlapped *only) {
  wr_port *port = s->port;
  wr_overlapped *ov, *next;
  size_t n = 0;
  if (port == NULL || port->closed) return 0;
  for (ov = port->rearm.head; ov; ov = next) {
    next = ov->link.next;
    if (ov->sock != s || (only && ov != only)) continue;
    wr__port_unlink(port, ov);
    wr__finish(ov, WSA_OPERATION_ABORTED, 0, 0);
    wr__port_queue(port, s, ov);      /* its reference on s moves along */
    n++;
  }
  return n;
}

void wr__port_socket_closing(wr_socket *s) {
  wr__port_abort_rearmed(s, NULL);
}
