/*
** wr_linux_signal.c -- Ctrl-C in a wait, on Linux: while a wait may block,
** SIGINT wakes it, and the engine ends the wait with WSAEINTR.
**
** Exports (the platform seam): wr__plat_wait_begin, wr__plat_wait_end,
**          wr__plat_signals, wr__plat_poll_wait; for the other Linux
**          files: wr__lx_signal_arm, wr__lx_signal_close.
**
** The model.  lua.c turns SIGINT into "interrupted!" with a hook that
** fires at the next Lua instruction: a C function that blocks holds it
** until it returns.  So, for the duration of a wait that may block (one
** with a timeout other than 0; a pump that blocks in a wait begun with 0
** arms it too), SIGINT goes to a handler of ours, which counts it, writes
** the eventfd of every armed loop (each loop's uv_poll_t watches its own,
** so epoll wakes) and then calls the handler it replaced, with that
** handler's own flags and mask:
** lua.c's laction still sets its hook (and its SIG_DFL for a second
** Ctrl-C), a host's handler still runs.  When the outermost wait of the
** last armed loop ends, that handler is put back, unless someone
** installed another one meanwhile (laction's SIG_DFL stays).  A process
** whose SIGINT is SIG_DFL (it ends the process) or SIG_IGN is left
** alone: there is nobody to hand the signal to.
**
** Why not libuv's uv_signal_t: it replaces the process's handler without
** calling it (lua.c's hook would never be set), and uv_signal_stop puts
** back SIG_DFL, not the handler it found, so Ctrl-C outside a wait would
** end lua.c instead of raising.  A luv uv_signal_t on SIGINT is a handler
** like any other here: ours calls it, and it is put back.
**
** The handler only makes async-signal-safe calls: an atomic add, write(2)
** to eventfds that are never closed (a slot keeps its eventfd for the
** process's life, and a later loop reuses it), and the chained handler.
*/
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "wr_linux_int.h"

/* Loops that can be woken at once (more: their waits hold SIGINT). */
#define WR_SIG_SLOTS 64

struct wr_sigslot {
  int fd;              /* its eventfd, made once, never closed */
  int made;            /* fd is made */
  int armed;           /* the handler writes fd (atomic) */
  int taken;           /* a loop owns the slot (under lock) */
};

static struct wr_sigslot slots[WR_SIG_SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int narmed;                 /* armed loops: ours is in place */
static struct sigaction chained;   /* the handler ours replaced */
static unsigned count;             /* SIGINTs seen by ours (atomic) */

/* =====================================================================
** The handler
** =================================================================== */

static void on_sigint(int sig, siginfo_t *info, void *uc) {
  int saved = errno, i;
  uint64_t one = 1;
  __atomic_add_fetch(&count, 1, __ATOMIC_SEQ_CST);
  for (i = 0; i < WR_SIG_SLOTS; i++)
    if (__atomic_load_n(&slots[i].armed, __ATOMIC_ACQUIRE))
      if (write(slots[i].fd, &one, sizeof one) < 0) { /* full: awake */ }
  if (chained.sa_flags & SA_SIGINFO) chained.sa_sigaction(sig, info, uc);
  else chained.sa_handler(sig);
  errno = saved;
}

static int is_ours(const struct sigaction *sa) {
  return (sa->sa_flags & SA_SIGINFO) && sa->sa_sigaction == on_sigint;
}

/*
** Put ours in place of the process's handler: 1, or 0 when SIGINT is
** SIG_DFL or SIG_IGN (left as it is).  Under lock, narmed == 0.
*/
static int install(void) {
  struct sigaction ours, old;
  if (sigaction(SIGINT, NULL, &old) < 0 || is_ours(&old)) return 0;
  if (!(old.sa_flags & SA_SIGINFO) &&
      (old.sa_handler == SIG_DFL || old.sa_handler == SIG_IGN))
    return 0;
  chained = old;
  ours = old;                          /* its mask and flags (SA_RESTART) */
  ours.sa_flags |= SA_SIGINFO;
  ours.sa_sigaction = on_sigint;
  return sigaction(SIGINT, &ours, NULL) == 0;
}

/* Put the process's handler back, unless ours was replaced meanwhile
** (laction sets SIG_DFL for a second Ctrl-C: that stays).  Under lock. */
static void uninstall(void) {
  struct sigaction now;
  if (sigaction(SIGINT, &chained, &now) == 0 && !is_ours(&now))
    sigaction(SIGINT, &now, NULL);
}

/* =====================================================================
** A loop's slot
** =================================================================== */

/* Empty a slot's eventfd. */
static void drain(struct wr_sigslot *slot) {
  uint64_t v;
  while (read(slot->fd, &v, sizeof v) < 0 && errno == EINTR) {}
}

/* Waking was the point; emptied at once, so that a wait a routine begins
** after the signal (a host's handler raised nothing) can block again. */
static void on_wake(uv_poll_t *h, int status, int events) {
  (void)status; (void)events;
  drain((struct wr_sigslot *)h->data);
}

/* A slot for loop, with its eventfd watched: 0, or -1 (none left). */
static int claim(wr_loop *loop) {
  wr_plat_loop *p = &loop->plat;
  int i;
  for (i = 0; i < WR_SIG_SLOTS; i++)
    if (!slots[i].taken) break;
  if (i == WR_SIG_SLOTS) return -1;
  if (!slots[i].made) {
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0) return -1;
    slots[i].fd = fd;
    slots[i].made = 1;
  }
  if (uv_poll_init(&p->uv, &p->sigpoll, slots[i].fd) < 0) return -1;
  p->sigpoll.data = &slots[i];
  uv_poll_start(&p->sigpoll, UV_READABLE, on_wake);
  uv_unref((uv_handle_t *)&p->sigpoll);
  slots[i].taken = 1;
  p->sig = &slots[i];
  return 0;
}

/*
** A wait may block: let SIGINT wake it, once per outermost wait.  Three
** sigaction calls per wait (look, install, put back): the price of leaving
** the process's handler in place between waits.
*/
void wr__lx_signal_arm(wr_loop *loop) {
  wr_plat_loop *p = &loop->plat;
  int ok;
  if (p->waits == 0 || p->armed != WR_SIG_OFF) return;
  p->armed_at = wr__plat_signals();
  pthread_mutex_lock(&lock);
  ok = (p->sig != NULL || claim(loop) == 0) && (narmed > 0 || install());
  if (ok) {
    narmed++;
    __atomic_store_n(&p->sig->armed, 1, __ATOMIC_RELEASE);
  }
  pthread_mutex_unlock(&lock);
  p->armed = ok ? WR_SIG_ARMED : WR_SIG_NOHANDLE;
}

static void disarm(wr_loop *loop) {
  wr_plat_loop *p = &loop->plat;
  pthread_mutex_lock(&lock);
  __atomic_store_n(&p->sig->armed, 0, __ATOMIC_RELEASE);
  if (--narmed == 0) uninstall();
  pthread_mutex_unlock(&lock);
  /* a signal's wake is not the next wait's */
  if (wr__plat_signals() != p->armed_at) drain(p->sig);
}

/* The loop closes: close the watch (its run follows), free the slot. */
void wr__lx_signal_close(wr_loop *loop) {
  wr_plat_loop *p = &loop->plat;
  if (p->sig == NULL) return;
  if (p->armed == WR_SIG_ARMED) disarm(loop);   /* closed inside a wait */
  p->armed = WR_SIG_OFF;
  uv_close((uv_handle_t *)&p->sigpoll, NULL);
  pthread_mutex_lock(&lock);
  p->sig->taken = 0;        /* its eventfd stays, for the next loop */
  pthread_mutex_unlock(&lock);
  p->sig = NULL;
}

/* =====================================================================
** The seam
** =================================================================== */

/* Armed from the start, not at the first pump: a SIGINT that came while
** the wait flushed or ran routines, before it blocks, still ends it. */
void wr__plat_wait_begin(wr_loop *loop, long ms) {
  loop->plat.waits++;
  if (ms != 0) wr__lx_signal_arm(loop);
}

void wr__plat_wait_end(wr_loop *loop) {
  wr_plat_loop *p = &loop->plat;
  assert(p->waits > 0);
  if (--p->waits > 0) return;
  if (p->armed == WR_SIG_ARMED) disarm(loop);
  p->armed = WR_SIG_OFF;
}

unsigned wr__plat_signals(void) {
  return __atomic_load_n(&count, __ATOMIC_SEQ_CST);
}

/*
** poll(2) on fd and the loop's eventfd.  A SIGINT ends it whichever
** thread the kernel gave the signal to: EINTR here, or the eventfd.
*/
int wr__plat_poll_wait(wr_loop *loop, int fd, int events, long ms,
                       short *revents) {
  struct pollfd p[2];
  unsigned seen = wr__plat_signals();
  int r;
  if (ms != 0) wr__lx_signal_arm(loop);
  if (loop->plat.armed != WR_SIG_ARMED)
    return wr__plat_poll_fd(fd, events, ms, revents);
  p[0].fd = fd;
  p[0].events = (short)events;
  p[1].fd = loop->plat.sig->fd;
  p[1].events = POLLIN;
  for (;;) {
    p[0].revents = p[1].revents = 0;
    r = poll(p, 2, ms < 0 ? -1 : (int)ms);
    if (wr__plat_signals() != seen) {
      errno = EINTR;
      return -1;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r > 0 && p[0].revents == 0) {        /* an earlier signal's wake */
      drain(loop->plat.sig);
      continue;
    }
    break;
  }
  *revents = p[0].revents;
  return r < 0 ? r : p[0].revents != 0;
}
