/*
** wr_loop.c -- the loop and the waits: SleepEx, WSAWaitForMultipleEvents,
** GetQueuedCompletionStatusEx and run, the only places completion
** routines run.
**
** Exports: wr_loop_new, wr_loop_destroy, wr_loop_interrupt,
**          wr_loop_interrupted, wr_loop_reason, wr_sleep_ex,
**          wr_wait_for_multiple, wr_run, wr_port_get,
**          wr_loop_pollfd, wr_loop_timeout, wr_loop_ready, wr_loop_wake,
**          wr_now, wr_loop_engine, wr_engine_name, wr_loop_set_engine,
**          wr_loop_peek, wr_loop_holds.
**
** Every wait lets I/O progress (wr__plat_pump); an alertable one also
** delivers the completions queued for routines (wr__deliver).  A wait that
** nothing could ever end is refused with WSAEINVAL instead of hanging.
** A SIGINT ends a wait with WSAEINTR (see SIGNALLED).
*/
#include <stdlib.h>

#include "wr_int.h"

/* The engine's answers to the platform: how a finished operation and a
** failed watch come back up. */
static const wr_upcalls upcalls = { wr__complete, wr__fail_all };

/* =====================================================================
** The loop
** =================================================================== */

int wr_loop_new(wr_loop **out, wr_event_hook hook, void *data) {
  wr_loop *loop = calloc(1, sizeof *loop);
  int r;
  if (loop == NULL) return WSA_NOT_ENOUGH_MEMORY;
  if ((r = wr__plat_loop_init(loop, &upcalls)) != 0) {
    free(loop);
    return r;
  }
  loop->hook = hook;
  loop->hook_data = data;
  *out = loop;
  return 0;
}

/* Drop ov's of a list without completing them (nobody is left to care). */
static void forget_all(wr_list *l) {
  wr_overlapped *ov;
  while ((ov = l->head) != NULL) wr_overlapped_forget(ov);
}

void wr_loop_destroy(wr_loop *loop) {
  /* drop routines never delivered, and ports' entries: nobody is left to
  ** run or take them */
  forget_all(&loop->apc);
  wr__port_loop_gone(loop);
  while (loop->sockets) {
    wr_socket *s = loop->sockets;
    forget_all(&s->q);
    forget_all(&s->oobq);
    wr_close(s);          /* unlinks s; what the platform holds keeps it */
    s->loop = NULL;       /* later calls on it report WSANOTINITIALISED */
  }
  assert(loop->npending == 0 && loop->napc == 0);
  wr__plat_loop_close(loop);
  free(loop);
}

void wr_loop_interrupt(wr_loop *loop) { loop->interrupted = 1; }

int wr_loop_interrupted(wr_loop *loop) {
  int r = loop->interrupted;
  loop->interrupted = 0;
  return r;
}

int wr_loop_engine(const wr_loop *loop) { return wr__plat_engine(loop); }

const char *wr_engine_name(int engine) {
  switch (engine) {
    case WR_ENGINE_URING: return "io_uring";
    case WR_ENGINE_IOCP: return "iocp";
    default: return "poll";
  }
}

int wr_loop_set_engine(wr_loop *loop, int engine) {
  if (engine == wr__plat_engine(loop)) return 0;
  if (loop->sockets || loop->ports)
    return wr__why(loop, WSAEINVAL, "sockets or ports are open: their "
                   "operations cannot change engines");
  return wr__plat_set_engine(loop, engine);
}

void wr_loop_peek(wr_loop *loop) { wr__plat_peek(loop); }

static int list_holds(const wr_list *l, const char *p, size_t len) {
  const wr_overlapped *ov;
  size_t i;
  for (ov = l->head; ov; ov = ov->link.next)
    for (i = 0; i < ov->iovcnt; i++) {
      const char *b = (const char *)WR_WSABUF_BUF(&ov->iov[i]);
      if (b < p + len && p < b + WR_WSABUF_LEN(&ov->iov[i])) return 1;
    }
  return 0;
}

int wr_loop_holds(const wr_loop *loop, const void *p, size_t len) {
  const wr_socket *s;
  for (s = loop->sockets; s; s = s->next)
    if (list_holds(&s->q, p, len) || list_holds(&s->oobq, p, len) ||
        list_holds(&s->sendq, p, len))
      return 1;
  return 0;
}

const char *wr_loop_reason(wr_loop *loop, int code) {
  const char *why = loop->why_code == code ? loop->why : NULL;
  loop->why_code = 0;
  loop->why = NULL;
  return why;
}

/* =====================================================================
** The waits
** =================================================================== */

static long time_left(wr_loop *loop, uint64_t deadline) {
  uint64_t now = wr__plat_now(loop);
  return now >= deadline ? 0 : (long)(deadline - now);
}

/*
** ms < 0: none (INFINITE).  No overflow for any ms: the clock counts from
** an arbitrary recent start, far below 2^63, and ms <= LONG_MAX; time_left's
** difference is then at most ms, so it fits a long again.
*/
static uint64_t deadline_of(wr_loop *loop, long ms) {
  uint64_t now = wr__plat_now(loop);
  return ms < 0 ? 0 : now + (uint64_t)ms;
}

/* An infinite wait with nothing that could end it is refused. */
#define WR_WHY_FOREVER "an infinite wait with no operation pending: " \
  "it could never end"

/* Hand a wait's result back the header's way: *out set, 0 returned. */
#define WAIT_RESULT(out, v) return (*(out) = (v), 0)

/*
** Ctrl-C.  Each wait is bracketed (wr__plat_wait_begin/end: while a wait
** may block, SIGINT wakes the loop) and ends with WSAEINTR once a SIGINT
** came since it began (`sig`, read before the bracket opens), before it
** takes or delivers anything more: what completed meanwhile stays queued
** for the next wait, and nothing is handed to Lua just before lua.c's
** hook raises.
*/
#define SIGNALLED(sig) (wr__plat_signals() != (sig))

static unsigned wait_begin(wr_loop *loop, long ms) {
  unsigned sig = wr__plat_signals();
  wr__plat_wait_begin(loop, ms);
  return sig;
}

/*
** The ms a wait may block, for its bracket: 0 when it returns at once
** (alertable with routines ready to run, or entries queued), and then
** SIGINT needs no handler of ours (it costs a sigaction pair a wait; a
** sender whose routines repost sends done at once waits that way each
** time).
*/
static long may_block(wr_loop *loop, long ms, int alertable, int ready) {
  return ready || (alertable && wr__has_deliverable(loop)) ? 0 : ms;
}

static int sleep_ex(wr_loop *loop, unsigned sig, long ms, int alertable,
                    unsigned *result) {
  uint64_t deadline = deadline_of(loop, ms);
  int first = 1;
  for (;;) {
    long left;
    if (SIGNALLED(sig)) return WSAEINTR;
    if (alertable && wr__deliver(loop))
      WAIT_RESULT(result, WR_WAIT_IO_COMPLETION);
    if (loop->interrupted) WAIT_RESULT(result, WR_WAIT_IO_COMPLETION);
    left = ms < 0 ? -1 : time_left(loop, deadline);
    if (!first && left == 0) WAIT_RESULT(result, 0);
    if (left < 0 && loop->npending == 0)                      /* forever */
      return wr__why(loop, WSAEINVAL, WR_WHY_FOREVER);
    wr__plat_pump(loop, left);
    first = 0;
  }
}

int wr_sleep_ex(wr_loop *loop, long ms, int alertable, unsigned *result) {
  unsigned sig = wait_begin(loop, may_block(loop, ms, alertable, 0));
  int r = sleep_ex(loop, sig, ms, alertable, result);
  wr__plat_wait_end(loop);
  return r;
}

static int wait_multiple(wr_loop *loop, unsigned sig,
                         wr_overlapped *const *ovs, size_t n, int waitall,
                         long ms, int alertable, long *result) {
  uint64_t deadline = deadline_of(loop, ms);
  int first = 1;
  for (;;) {
    size_t i, done = 0, pending = 0;
    long left;
    if (SIGNALLED(sig)) return WSAEINTR;
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
    if (alertable && wr__deliver(loop))
      WAIT_RESULT(result, WR_WAIT_IO_COMPLETION);
    if (loop->interrupted) WAIT_RESULT(result, WR_WAIT_IO_COMPLETION);
    left = ms < 0 ? -1 : time_left(loop, deadline);
    if (!first && left == 0) WAIT_RESULT(result, WR_WAIT_TIMEOUT);
    if (left < 0 && (pending == 0 || (waitall && done + pending < n)) &&
        !(alertable && wr__has_deliverable(loop)))
      return wr__why(loop, WSAEINVAL, "an infinite wait on objects none of "
                     "which can become signalled (idle, or not all pending "
                     "with waitall): it could never end");
    wr__plat_pump(loop, left);
    first = 0;
  }
}

int wr_wait_for_multiple(wr_loop *loop, wr_overlapped *const *ovs, size_t n,
                         int waitall, long ms, int alertable, long *result) {
  unsigned sig = wait_begin(loop, may_block(loop, ms, alertable, 0));
  int r = wait_multiple(loop, sig, ovs, n, waitall, ms, alertable, result);
  wr__plat_wait_end(loop);
  return r;
}

static int run(wr_loop *loop, unsigned sig, int mode) {
  switch (mode) {
    case WR_RUN_NOWAIT:
      wr__plat_pump(loop, 0);
      wr__deliver(loop);
      break;
    case WR_RUN_ONCE:
      if (!wr__deliver(loop) && loop->npending > 0 && !loop->interrupted) {
        wr__plat_pump(loop, -1);
        if (SIGNALLED(sig)) return WSAEINTR;
        wr__deliver(loop);
      }
      break;
    default:
      for (;;) {
        if (SIGNALLED(sig)) return WSAEINTR;
        wr__deliver(loop);
        if (loop->interrupted) break;
        if (wr__has_deliverable(loop)) continue;   /* ready now: no blocking */
        if (loop->npending == 0) break;
        wr__plat_pump(loop, -1);
      }
  }
  return loop->npending > 0 || wr__has_deliverable(loop);
}

int wr_run(wr_loop *loop, int mode) {
  unsigned sig = wait_begin(loop, mode == WR_RUN_NOWAIT ? 0 : -1);
  int r = run(loop, sig, mode);
  wr__plat_wait_end(loop);
  return r;
}

/*
** GetQueuedCompletionStatusEx.  The receives posted since the last wait
** (rearmed ones first) are served before anything is looked at, so a
** receiver that reposts a batch finds the next one ready at once.  The
** entries stay queued: the caller takes each once it has written it
** (wr_port_peek, wr_port_take), so none is lost or handed out twice
** whatever runs while it writes.
*/
static int port_get(wr_port *port, unsigned sig, long ms, int alertable,
                    int repost, unsigned *result) {
  wr_loop *loop = port->loop;
  uint64_t deadline;
  int first = 1;
  if (port->closed) return WR_ERROR_INVALID_HANDLE;
  if (loop == NULL) return WSANOTINITIALISED;
  if (repost) {
    loop->rearming = 1;
    wr__port_rearm_all(port);
    loop->rearming = 0;
  }
  wr__plat_flush(loop);
  deadline = deadline_of(loop, ms);
  for (;;) {
    long left;
    if (SIGNALLED(sig)) return WSAEINTR;      /* before anything is taken */
    if (port->nq > 0) WAIT_RESULT(result, WR_WAIT_OBJECT_0);
    if (alertable && wr__deliver(loop))
      WAIT_RESULT(result, WR_WAIT_IO_COMPLETION);
    if (loop->interrupted) WAIT_RESULT(result, WR_WAIT_IO_COMPLETION);
    if (port->closed) return WR_ERROR_INVALID_HANDLE;  /* by a routine */
    left = ms < 0 ? -1 : time_left(loop, deadline);
    if (!first && left == 0) WAIT_RESULT(result, WR_WAIT_TIMEOUT);
    if (left < 0 && loop->npending == 0 &&
        !(alertable && wr__has_deliverable(loop)))
      return wr__why(loop, WSAEINVAL, WR_WHY_FOREVER);
    wr__plat_pump(loop, left);
    first = 0;
  }
}

int wr_port_get(wr_port *port, long ms, int alertable, int repost,
                unsigned *result) {
  wr_loop *loop = port->loop;
  unsigned sig;
  int r;
  if (loop == NULL) return port->closed ? WR_ERROR_INVALID_HANDLE
                                        : WSANOTINITIALISED;
  sig = wait_begin(loop, may_block(loop, ms, alertable, port->nq > 0));
  r = port_get(port, sig, ms, alertable, repost, result);
  wr__plat_wait_end(loop);
  return r;
}

/* =====================================================================
** The loop inside another event loop: the platform keeps the descriptor;
** the engine knows whether completions wait
** =================================================================== */

int wr_loop_pollfd(wr_loop *loop, int *fd) {
  return wr__plat_pollfd(loop, fd);
}

long wr_loop_timeout(wr_loop *loop) {
  return loop->napc > 0 ? 0 : wr__plat_timeout(loop);
}

size_t wr_loop_ready(wr_loop *loop) { return loop->napc; }

void wr_loop_wake(wr_loop *loop) { wr__plat_wake(loop); }

double wr_now(void) { return wr__plat_clock(); }
