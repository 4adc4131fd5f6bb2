/*
** wr_linux_pollfd.c -- the loop seen from another event loop, on Linux:
** one descriptor that is readable whenever wsarecv has work, a timeout, a
** clock.
**
** Exports (the platform seam): wr__plat_pollfd, wr__plat_timeout,
**          wr__plat_wake, wr__plat_apc_queued, wr__plat_clock,
**          wr__plat_port_pollfd, wr__plat_port_timeout,
**          wr__plat_port_queued, wr__plat_port_close; for the
**          other Linux files: wr__lx_pollfd_changed, wr__lx_pollfd_pumping,
**          wr__lx_pollfd_pumped, wr__lx_pollfd_delivered,
**          wr__lx_pollfd_held, wr__lx_pollfd_alive, wr__lx_pollfd_free.
**
** The model.  wsarecv has work in two cases: the kernel has I/O for a
** watched socket (libuv's backend epoll descriptor is readable), or
** completions wait on the APC queue for an alertable wait (nothing in the
** kernel says so: the datagram already sits in the posted buffer).  The
** descriptor handed out is an epoll set of our own holding both: libuv's
** backend descriptor, and an eventfd kept signalled while the APC queue is
** not empty.  wsarecv's own waits run libuv's loop, which never sees that
** eventfd, so a non-alertable wait with routines queued does not spin.
**
** Two more cases keep the eventfd signalled: libuv applies a started watch
** (epoll_ctl) only in its next run, so after a post from outside a wait
** the socket is not in the backend yet; and a closed socket's handle is
** freed only by a run.  Both set `dirty`, cleared when a run begins.  And
** a third: receives held on the loop's flush list (a port's datagram
** sockets defer every post) are tried by no one but the next wait, and no
** kernel event announces data already queued for them: while the list is
** not empty every descriptor is readable and its timeout 0.
**
** libuv's backend is in our set only while its loop is alive (a handle is
** active): a run of a dead loop returns before polling, so a descriptor
** left readable there (a stopped watch's error) would keep ours readable
** and an integrator spinning.  Nothing is done (no descriptor, no
** syscall) until someone asks for the descriptor.
**
** A completion port gets a descriptor of its own, built the same way,
** whose eventfd its entries keep signalled instead of the APC queue (a
** port's entries must wake whoever waits on the port, and only them).
*/
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "wr_linux_int.h"

struct wr_pollfd {
  int epfd;            /* what the integrator polls */
  int evfd;            /* readable while the loop must be called */
  int signalled;       /* evfd holds a count */
  int dirty;           /* libuv has changes only a run applies */
  int woken;           /* wr_loop_wake: until the next delivery */
  int backend;         /* libuv's backend fd is in epfd */
  wr_port *port;       /* a port's descriptor: its entries signal it */
  struct wr_pollfd *next;    /* the loop's descriptors (plat.pfds) */
};

/* =====================================================================
** Keeping the descriptor in step
** =================================================================== */

static void set_signal(struct wr_pollfd *p, int on) {
  uint64_t v = 1;
  ssize_t n;
  if (on == p->signalled) return;
  if (on) do n = write(p->evfd, &v, sizeof v); while (n < 0 && errno == EINTR);
  else do n = read(p->evfd, &v, sizeof v); while (n < 0 && errno == EINTR);
  p->signalled = on;
}

static void set_backend(wr_loop *loop, struct wr_pollfd *p, int on) {
  struct epoll_event ev;
  if (on == p->backend) return;
  ev.events = EPOLLIN;
  ev.data.u64 = 0;
  if (epoll_ctl(p->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL,
                uv_backend_fd(&loop->plat.uv), &ev) == 0)
    p->backend = on;
}

/* What keeps p signalled besides changes: receives held for a flush; the
** APC queue for the loop's descriptor, entries (or rearms to post) for a
** port's. */
static int has_work(wr_loop *loop, const struct wr_pollfd *p) {
  if (loop->plat.flush_list != NULL) return 1;
  if (p->port) return p->port->nq > 0 || p->port->rearm.head != NULL;
  return loop->napc > 0;
}

/* Bring a descriptor's two halves in line with the loop's state. */
static void sync_pfd(wr_loop *loop, struct wr_pollfd *p) {
  set_signal(p, has_work(loop, p) || p->dirty || p->woken);
  set_backend(loop, p, uv_loop_alive(&loop->plat.uv));
}

/* A completion went on the APC queue. */
void wr__plat_apc_queued(wr_loop *loop) {
  if (loop->plat.pfd) set_signal(loop->plat.pfd, 1);
}

/* An entry went on a port's queue. */
void wr__plat_port_queued(wr_port *port) {
  if (port->plat.pfd) set_signal(port->plat.pfd, 1);
}

/* A watch started or a handle is closing: only a run applies it. */
void wr__lx_pollfd_changed(wr_loop *loop) {
  struct wr_pollfd *p;
  if (loop == NULL) return;
  for (p = loop->plat.pfds; p; p = p->next) {
    p->dirty = 1;
    set_signal(p, 1);
  }
}

/* The loop came alive outside a run (io_uring's receives were handed to
** the kernel): libuv's backend, which the ring's eventfd makes readable,
** belongs in every descriptor now. */
void wr__lx_pollfd_alive(wr_loop *loop) {
  struct wr_pollfd *p;
  for (p = loop->plat.pfds; p; p = p->next) sync_pfd(loop, p);
}

/* Receives went on the flush list outside a wait: only a wait serves
** them (see has_work). */
void wr__lx_pollfd_held(wr_loop *loop) {
  struct wr_pollfd *p;
  for (p = loop->plat.pfds; p; p = p->next) set_signal(p, 1);
}

/* A run begins: it applies every change made so far (those its own
** callbacks make wait for the next). */
void wr__lx_pollfd_pumping(wr_loop *loop) {
  struct wr_pollfd *p;
  for (p = loop->plat.pfds; p; p = p->next) p->dirty = 0;
}

void wr__lx_pollfd_pumped(wr_loop *loop) {
  struct wr_pollfd *p;
  for (p = loop->plat.pfds; p; p = p->next) sync_pfd(loop, p);
}

/* An alertable wait delivered what it could. */
void wr__lx_pollfd_delivered(wr_loop *loop) {
  if (loop->plat.pfd == NULL) return;
  loop->plat.pfd->woken = 0;
  sync_pfd(loop, loop->plat.pfd);
}

static void pfd_free(struct wr_pollfd *p) {
  close(p->epfd);
  close(p->evfd);
  free(p);
}

/* Unlink p from the loop's descriptors and free it. */
static void pfd_drop(wr_loop *loop, struct wr_pollfd *p) {
  struct wr_pollfd **pp = &loop->plat.pfds;
  while (*pp != p) pp = &(*pp)->next;
  *pp = p->next;
  pfd_free(p);
}

void wr__lx_pollfd_free(wr_loop *loop) {
  struct wr_pollfd *p;
  while ((p = loop->plat.pfds) != NULL) {
    loop->plat.pfds = p->next;
    if (p->port) p->port->plat.pfd = NULL;
    pfd_free(p);
  }
  loop->plat.pfd = NULL;
}

void wr__plat_port_close(wr_port *port) {
  if (port->plat.pfd == NULL) return;
  pfd_drop(port->loop, port->plat.pfd);
  port->plat.pfd = NULL;
}

/* =====================================================================
** The public face
** =================================================================== */

/* A new descriptor for the loop (port NULL) or for a port. */
static int pfd_open(wr_loop *loop, wr_port *port, struct wr_pollfd **out) {
  struct wr_pollfd *p = calloc(1, sizeof *p);
  struct epoll_event ev;
  int e;
  if (p == NULL) return WSA_NOT_ENOUGH_MEMORY;
  p->epfd = epoll_create1(EPOLL_CLOEXEC);
  p->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ev.events = EPOLLIN;
  ev.data.u64 = 1;
  if (p->epfd < 0 || p->evfd < 0 ||
      epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->evfd, &ev) < 0) {
    e = wr_wsa_from_errno(errno);
    if (p->epfd >= 0) close(p->epfd);
    if (p->evfd >= 0) close(p->evfd);
    free(p);
    return e;
  }
  p->port = port;
  p->next = loop->plat.pfds;
  loop->plat.pfds = p;
  p->dirty = 1;        /* changes made before now are not known: one run */
  sync_pfd(loop, p);
  *out = p;
  return 0;
}

int wr__plat_pollfd(wr_loop *loop, int *fd) {
  int r;
  if (loop->plat.pfd == NULL &&
      (r = pfd_open(loop, NULL, &loop->plat.pfd)) != 0)
    return r;
  *fd = loop->plat.pfd->epfd;
  return 0;
}

int wr__plat_port_pollfd(wr_port *port, int *fd) {
  int r;
  if (port->plat.pfd == NULL &&
      (r = pfd_open(port->loop, port, &port->plat.pfd)) != 0)
    return r;
  *fd = port->plat.pfd->epfd;
  return 0;
}

/* ms until a run is due for libuv's sake, for p's changes, or for
** receives held for a flush. */
static long timeout_of(wr_loop *loop, const struct wr_pollfd *p) {
  if (loop->plat.flush_list != NULL) return 0;      /* held for the next wait */
  if (p && (p->dirty || p->woken)) return 0;
  if (!uv_loop_alive(&loop->plat.uv)) return -1;
  return uv_backend_timeout(&loop->plat.uv);
}

long wr__plat_timeout(wr_loop *loop) {
  return timeout_of(loop, loop->plat.pfd);
}

long wr__plat_port_timeout(wr_port *port) {
  return timeout_of(port->loop, port->plat.pfd);
}

void wr__plat_wake(wr_loop *loop) {
  if (loop->plat.pfd == NULL) return;    /* no descriptor: nobody to wake */
  loop->plat.pfd->woken = 1;
  set_signal(loop->plat.pfd, 1);
}

double wr__plat_clock(void) { return (double)uv_hrtime() / 1e9; }
