/*
** wr_linux_watch.c -- the Linux platform's libuv side: the loop, the
** clock, and the poll handle that watches each socket for what its queues
** need.
**
** Exports: wr__plat_loop_init, wr__plat_loop_close, wr__plat_pump,
**          wr__plat_now, wr__plat_delivered, wr__plat_flush,
**          wr__plat_socket_init,
**          wr__plat_socket_close, wr__plat_start, wr__plat_watch,
**          wr__plat_cancel, wr__plat_engine, wr__plat_set_engine,
**          wr__plat_peek, wr__plat_resume.
**
** A post first tries the receive at once when nothing is queued ahead of
** it; otherwise the engine queues it and the socket's uv_poll_t watches
** for readability (or urgent data).  When the socket becomes readable the
** poll callback serves the queue from its head until the kernel runs dry
** (wr__drain), so buffers are filled in posting order.  Receives that
** routines post during a delivery, and all those posted on a completion
** port's socket, are not tried one by one: the socket goes on the loop's
** flush list, and when the pass ends (or the port's next wait begins) one
** recvmmsg serves them all.
*/
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wr_linux_int.h"

/* =====================================================================
** The loop and the clock
** =================================================================== */

/*
** The engine WSARECV_ENGINE names, or io_uring where the kernel allows it:
** 0, WSAEINVAL (no such engine) or WSAEOPNOTSUPP (io_uring was asked for
** and the kernel refuses it).
*/
static int choose_engine(wr_loop *loop) {
  const char *e = getenv("WSARECV_ENGINE");
  if (e == NULL || *e == '\0') {
    wr__ring_open(loop);             /* else the poll engine */
    return 0;
  }
  if (strcmp(e, "poll") == 0) return 0;
  if (strcmp(e, "io_uring") != 0) return WSAEINVAL;
  return wr__ring_open(loop) == 0 ? 0 : WSAEOPNOTSUPP;
}

int wr__plat_loop_init(wr_loop *loop, const wr_upcalls *up) {
  wr_plat_loop *p = &loop->plat;
  int r = uv_loop_init(&p->uv);
  if (r < 0) return wr_wsa_from_errno(-r);
  uv_timer_init(&p->uv, &p->timer);
  p->up = up;
  if ((r = choose_engine(loop)) != 0) {
    uv_close((uv_handle_t *)&p->timer, NULL);
    uv_run(&p->uv, UV_RUN_DEFAULT);
    uv_loop_close(&p->uv);
  }
  return r;
}

/* Drop the pending flush (the state may close inside a routine). */
static void drop_flush(wr_loop *loop) {
  wr_socket *f;
  while ((f = loop->plat.flush_list) != NULL) {
    loop->plat.flush_list = f->plat.flush_next;
    f->plat.on_flush_list = 0;
    wr__socket_unref(f);
  }
}

void wr__plat_loop_close(wr_loop *loop) {
  wr_plat_loop *p = &loop->plat;
  drop_flush(loop);
  wr__ring_close(loop);
  wr__lx_signal_close(loop);
  uv_close((uv_handle_t *)&p->timer, NULL);
  uv_run(&p->uv, UV_RUN_DEFAULT);      /* only close callbacks remain */
  uv_loop_close(&p->uv);
  wr__loop_free_bcast(loop);
  wr__lx_pollfd_free(loop);
}

static void on_timer(uv_timer_t *t) { (void)t; }

void wr__plat_pump(wr_loop *loop, long ms) {
  wr_plat_loop *p = &loop->plat;
  size_t pending = loop->npending;
  wr__plat_flush(loop);                /* what no poll event announces, and
                                          what the kernel finished */
  /* what the flush completed is this step's news: the caller looks at it
  ** before anything blocks (a wait counting on a held receive would
  ** otherwise sleep with its completion in hand) */
  if (loop->npending != pending) ms = 0;
  if (ms != 0) wr__lx_signal_arm(loop);   /* Ctrl-C ends a blocking wait */
  wr__lx_pollfd_pumping(loop);
  /*
  ** The timer bounds the wait.  libuv runs due timers before it polls and
  ** then polls with no timeout if none is left: arm it from a fresh clock,
  ** and repeating, so that a timer that came due early (the thread was
  ** preempted) is still there to end the poll.
  */
  if (ms > 0) {
    uv_update_time(&p->uv);
    uv_timer_start(&p->timer, on_timer, (uint64_t)ms, (uint64_t)ms);
  }
  uv_run(&p->uv, ms == 0 ? UV_RUN_NOWAIT : UV_RUN_ONCE);
  if (ms > 0) uv_timer_stop(&p->timer);
  wr__lx_pollfd_pumped(loop);
}

uint64_t wr__plat_now(wr_loop *loop) {
  uv_update_time(&loop->plat.uv);
  return uv_now(&loop->plat.uv);
}

/* =====================================================================
** The poll handle: watch only what the queues need
** =================================================================== */

static void on_poll(uv_poll_t *h, int status, int events);
static void accept_data(wr_socket *s);

/*
** What the queues need: readable for receives and AcceptEx (an accept
** that holds its connection waits on its accept socket's data instead),
** urgent data for MSG_OOB, writable while sends wait.
*/
static int wanted(const wr_socket *s) {
  int ev = 0;
  if (wr__first_unserved(&s->q)) ev |= UV_READABLE;
  if (wr__accept_has_conn(s->accepting)) ev |= UV_READABLE;
  if (s->oobq.head) ev |= UV_PRIORITIZED;
  if (s->sendq.head && !wr__send_in_ring(s->sendq.head)) ev |= UV_WRITABLE;
  return ev;
}

static void set_events(wr_socket *s, int ev) {
  wr_plat_socket *p = &s->plat;
  int r;
  if (ev == p->events) return;
  if (ev == 0) {
    uv_poll_stop(&p->poll);
    r = 0;
  } else {
    r = (p->watch & WR_W_INIT) ? uv_poll_start(&p->poll, ev, on_poll)
                               : UV_ENOTSOCK;
  }
  if (r < 0) {
    s->loop->plat.up->fail_all(s, (unsigned)wr_wsa_from_errno(-r));
    return;
  }
  p->events = ev;
  wr__lx_pollfd_changed(s->loop);
}

/*
** Add the events the queues need.  Readable and urgent data no longer
** needed are dropped lazily, by the next poll callback that finds nothing
** to do: a routine that reposts (the common case) then costs no epoll_ctl
** at all.  Writable goes as soon as no send waits: it would fire at once.
*/
static void want_events(wr_socket *s) {
  int want = wanted(s);
  int ev = (s->plat.events | want) & ~UV_WRITABLE;
  ev |= want & UV_WRITABLE;
  set_events(s, ev);
}

static void trim_events(wr_socket *s) {
  set_events(s, s->plat.events & wanted(s));
}

/* io_uring engine: a stream send the socket had no room for goes on in
** the kernel (what it needs is then no longer writability). */
static void send_rest(wr_socket *s) {
  if (s->loop->plat.ring && !wr__closed(s) && wr__ring_send(s))
    trim_events(s);
}

/*
** libuv reports POLLERR (an ICMP error, a reset) as UV_EBADF and stops the
** handle.  The socket's own error is what the receive must report: let
** recvmsg fetch it, then watch again for what is still queued.
*/
static void on_poll_error(wr_socket *s) {
  const wr_upcalls *up = s->loop->plat.up;
  s->plat.events = 0;
  s->plat.dry = 0;
  /* a reset connection an AcceptEx holds: its receive reports it (else
  ** nothing reads the error, and POLLERR comes back at once, forever) */
  if (wr__accept_has_conn(s->accepting)) accept_data(s);
  if (wr__closed(s)) return;
  wr__drain(s, &s->oobq);
  wr__drain(s, &s->q);
  if (!wr__closed(s)) wr__drain_send(s);
  send_rest(s);
  /*
  ** Still an error condition: an error-queue entry (IP_RECVERR, set by the
  ** caller or already on an adopted descriptor) whose report was consumed
  ** elsewhere.  It would keep POLLERR up and the loop spinning: hand each
  ** entry to the next receive as its failure.
  */
  while (!wr__closed(s) && s->q.head) {
    unsigned fl = 0;
    wr_overlapped *ov = s->q.head;
    int qe = wr__errqueue(s, ov->msg, &fl);
    if (!qe) break;
    wr__finish(ov, (unsigned)qe, 0, fl);
    up->complete(s, ov);
  }
  if (!wr__closed(s)) want_events(s);
}

/* The accept socket s has data (or its peer's close) for the AcceptEx
** that holds its connection: that operation's step, on its listener. */
static void accept_data(wr_socket *s) {
  wr_overlapped *ov = s->accepting;
  wr_socket *ls = ov->sock;
  wr__socket_ref(ls);
  if (wr__accept_step(ls, ov)) ls->loop->plat.up->complete(ls, ov);
  wr__socket_unref(ls);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  wr_socket *s = h->data;
  wr__socket_ref(s);
  if (status < 0) {
    on_poll_error(s);
  } else {
    /*
    ** Nothing queued for what fired: stop watching it (the lazy trim).
    ** After a drain the queue may be empty only because the routines have
    ** not reposted yet; trimming then would cost an epoll_ctl pair per
    ** datagram for a socket with one reposted receive.
    */
    if (events & ~wanted(s) & (UV_READABLE | UV_PRIORITIZED | UV_WRITABLE))
      trim_events(s);
    s->plat.dry = 0;
    if (events & UV_PRIORITIZED) wr__drain(s, &s->oobq);
    if (events & (UV_READABLE | UV_DISCONNECT)) {
      if (wr__accept_has_conn(s->accepting)) accept_data(s);
      if (!wr__closed(s)) wr__drain(s, &s->q);
      if (s->loop->plat.ring) {
        wr__ring_resume(s);      /* what is left, the ring may take */
        wr__ring_submit(s->loop);
      }
    }
    if ((events & UV_WRITABLE) && !wr__closed(s)) {
      wr__drain_send(s);
      send_rest(s);
      wr__ring_submit(s->loop);
      if (!wr__closed(s)) want_events(s);
    }
  }
  wr__socket_unref(s);
}

/* =====================================================================
** Sockets
** =================================================================== */

void wr__plat_socket_init(wr_socket *s) {
  wr_plat_socket *p = &s->plat;
  if (uv_poll_init_socket(&s->loop->plat.uv, &p->poll, s->fd) == 0) {
    p->poll.data = s;
    p->watch = WR_W_INIT | WR_W_OPEN;
    wr__socket_ref(s);               /* the open handle */
  }
}

static void on_handle_closed(uv_handle_t *h) {
  wr_socket *s = h->data;
  s->plat.watch &= ~WR_W_OPEN;
  wr__socket_unref(s);
}

void wr__plat_socket_close(wr_socket *s) {
  wr_plat_socket *p = &s->plat;
  wr__ring_socket_close(s);
  if (p->watch & WR_W_OPEN) {
    if (p->events) uv_poll_stop(&p->poll);
    p->events = 0;
    uv_close((uv_handle_t *)&p->poll, on_handle_closed);
    wr__lx_pollfd_changed(s->loop);
  }
  free(p->part);
  p->part = NULL;
}

/* =====================================================================
** Operations
** =================================================================== */

/*
** A routine reposting a plain datagram receive or send, or any post of one
** on a socket of a completion port: queue it without a syscall; when the
** delivery pass ends, or the port's next wait begins, one recvmmsg (or
** sendmmsg) serves every operation queued meanwhile.
*/
static int deferred(wr_socket *s, wr_overlapped *ov) {
  if (!(s->loop->delivering || s->port) || ov->internal || !wr__datagram(s))
    return 0;
  if (ov->kind == WR_OP_SEND) return ov->in_flags == 0;
  return ov->kind == WR_OP_RECV && !(ov->in_flags & WR_MSG_OOB) &&
         wr__batchable(ov);
}

/*
** The io_uring engine's receives: tried at once when nothing is queued, as
** below (data already there completes the post at once), then handed to
** the kernel's ring.  1 finished at once, 0 the ring has it, -1 it is the
** poll path's.  Urgent data must be read before the stream the ring
** reads: an MSG_OOB receive takes the ring's receives back.
*/
static int ring_start(wr_socket *s, wr_overlapped *ov) {
  if (ov->in_flags & WR_MSG_OOB) {
    wr__ring_quiesce(s);
    return -1;
  }
  if (!wr__ring_servable(s, ov)) return -1;
  /* a port's post outside a wait (not its rearm batch), with no multishot
  ** running, would cost a submission and a multishot started and ended for
  ** one datagram: one recvmsg is cheaper when the data is there */
  if (s->q.head == NULL &&
      (!deferred(s, ov) || (!s->loop->delivering && !s->loop->rearming &&
                            !wr__ring_armed(s))) &&
      wr__step_now(s, ov))
    return 1;
  return wr__ring_take(s, ov) ? 0 : -1;
}

int wr__plat_start(wr_socket *s, wr_overlapped *ov) {
  wr_list *q = (ov->in_flags & WR_MSG_OOB) ? &s->oobq : &s->q;
  wr__skip_empty(ov);
  if (s->loop->plat.ring && ov->kind == WR_OP_RECV) {
    int r = ring_start(s, ov);
    if (r >= 0) return r;
  }
  if (deferred(s, ov)) {
    wr__schedule_flush(s);
    return 0;
  }
  switch (ov->kind) {
    case WR_OP_SEND:
    case WR_OP_CONNECT:
      return s->sendq.head == NULL && wr__send_step(s, ov);
    case WR_OP_ACCEPT:     /* (one that waits for data: its socket's watch) */
      return wr__first_unserved(&s->q) == NULL && wr__accept_step(s, ov);
    default:
      return q->head == NULL && wr__step_now(s, ov);
  }
}

/*
** The rest of a MSG_PARTIAL datagram is data no poll event announces: a
** queue that waits while one is buffered is served by the next flush.
*/
void wr__plat_watch(wr_socket *s) {
  wr_loop *loop = s->loop;
  send_rest(s);
  /* a batch (routines reposting, a port's rearm list) is submitted when
  ** it ends; a single post now, with what a full ring gave back */
  if (loop->plat.ring && !loop->delivering && !loop->rearming) {
    wr__ring_reap(loop);
    wr__ring_submit(loop);
  }
  /* a flush to come watches what it leaves on the normal queue */
  if (s->plat.on_flush_list && s->oobq.head == NULL) return;
  want_events(s);
  if (s->plat.part) wr__schedule_flush(s);
}

/* An operation lives only on the engine's queue until a step serves it:
** nothing in the kernel to take back.  The operations behind it may be
** servable now (a buffered MSG_PARTIAL rest). */
int wr__plat_cancel(wr_socket *s, wr_overlapped *ov) {
  if (wr__in_ring(ov) || wr__send_in_ring(ov)) return wr__ring_cancel(s, ov);
  if (s->plat.part && !wr__closed(s)) wr__schedule_flush(s);
  return 0;
}

/* Serve the receives routines posted during delivery (see deferred). */
void wr__plat_delivered(wr_loop *loop, size_t ran) {
  if (ran) wr__plat_flush(loop);        /* (a flush reaps the ring first) */
  wr__lx_pollfd_delivered(loop);
}

/* Serve the receives kept back (see deferred), and (io_uring) report what
** the kernel finished and submit what was posted since. */
void wr__plat_flush(wr_loop *loop) {
  wr_socket *s;
  wr__ring_reap(loop);
  while ((s = loop->plat.flush_list) != NULL) {
    loop->plat.flush_list = s->plat.flush_next;
    s->plat.on_flush_list = 0;
    if (!wr__closed(s) && s->sendq.head) {
      wr__drain_send(s);
      send_rest(s);
      if (!wr__closed(s)) want_events(s);
    }
    if (!wr__closed(s) && s->q.head) {
      /* found empty since the last readiness: the poll will say when
      ** data comes, no need to ask the kernel now -- unless a MSG_PARTIAL
      ** rest waits here, which no poll announces */
      if (!s->plat.dry || s->plat.part) wr__drain(s, &s->q);
      wr__ring_resume(s);        /* what is left, the ring may take */
      if (!wr__closed(s)) want_events(s);
    }
    wr__socket_unref(s);
  }
  wr__ring_submit(loop);
}

/* =====================================================================
** The engine
** =================================================================== */

int wr__plat_engine(const wr_loop *loop) {
  return loop->plat.ring ? WR_ENGINE_URING : WR_ENGINE_POLL;
}

int wr__plat_set_engine(wr_loop *loop, int engine) {
  int e;
  if (engine == WR_ENGINE_POLL) {
    wr__ring_close(loop);
    return 0;
  }
  if (engine != WR_ENGINE_URING)
    return wr__why(loop, WSAEOPNOTSUPP, "Linux has two engines: io_uring "
                   "and poll");
  if ((e = wr__ring_open(loop)) != 0)
    return wr__why(loop, WSAEOPNOTSUPP, e == EOPNOTSUPP ?
                   "this kernel has no multishot receive (Linux 6.0)" :
                   "io_uring_setup failed (an old kernel, "
                   "kernel.io_uring_disabled, or a seccomp filter)");
  return 0;
}

/* What the kernel finished: a memory read of the completion ring, and a
** submission only for a socket whose multishot receive must start again. */
void wr__plat_peek(wr_loop *loop) {
  if (loop->plat.ring == NULL) return;
  wr__ring_reap(loop);
  wr__ring_submit(loop);
}

/* After a cancel: the ring takes back what it can; a receive it cannot
** serve left at the head is the poll path's, which must watch for it. */
void wr__plat_resume(wr_socket *s) {
  if (s->loop == NULL || s->loop->plat.ring == NULL) return;
  wr__ring_resume(s);
  if (!wr__closed(s)) want_events(s);
  wr__ring_submit(s->loop);
}
