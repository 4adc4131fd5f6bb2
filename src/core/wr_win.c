/*
** wr_win.c -- the Windows platform: native overlapped operations, each
** completed through the loop's I/O completion port; the receives
** (WSARecv, WSARecvMsg) here, the sends, AcceptEx and ConnectEx in
** wr_win_send.c.
**
** Exports: wr__plat_loop_init, wr__plat_loop_close, wr__plat_pump,
**          wr__plat_now, wr__plat_delivered, wr__plat_socket_init,
**          wr__plat_socket_close, wr__plat_msg_prepare, wr__plat_start,
**          wr__plat_watch, wr__plat_cancel, wr__plat_poll_fd,
**          wr__plat_pollfd, wr__plat_timeout, wr__plat_wake,
**          wr__plat_apc_queued, wr__plat_clock, wr__plat_flush,
**          wr__plat_port_queued, wr__plat_port_pollfd,
**          wr__plat_port_timeout, wr__plat_port_close,
**          wr__plat_wait_begin, wr__plat_wait_end, wr__plat_signals,
**          wr__plat_poll_wait, wr__plat_engine, wr__plat_set_engine,
**          wr__plat_peek, wr__plat_resume.
**
** The kernel does what the Linux platform emulates (MSG_PARTIAL,
** MSG_WAITALL, MSG_OOB, sticky stream errors, a send's partial writes):
** each operation goes to the kernel as it is posted, with an OVERLAPPED
** of its own (a wr_win_op, wr_win_plat.h), and its completion packet
** comes back through the port in wr__plat_pump, which hands it up
** (up->complete).  No routine runs there: the engine runs them in its
** alertable waits.  An AcceptEx is the listener's operation: its packet
** comes on the listener's handle, like any of its receives.
**
** Every post that does not fail outright leaves a packet on the port,
** even one that finished at once (no FILE_SKIP_COMPLETION_PORT_ON_SUCCESS:
** a datagram too big for the buffers, a warning, still queues one on
** Windows and on Wine).  An operation that finished at once is reported at
** once, as the call's return says, and its op is orphaned: the packet that
** follows finds no overlapped and is dropped, so no completion is ever
** delivered twice.  A cancelled op is orphaned the same way.
**
** Where Wine is not Windows, the platform does what Windows does (each is
** cheap): ICMP port unreachable is WSAECONNRESET, and an oversized
** WSARecvMsg says MSG_TRUNC.  (Closing with operations pending is handled
** by the engine: it cancels each, in posting order, before the close.)
*/
#include "wr_sys.h"      /* WR_SOCK; getsockopt as the BSD files see it */
#include <stdlib.h>
#include <string.h>

#include "wr_win_int.h"

/* Completion packets one GetQueuedCompletionStatusEx takes. */
#define WR_PUMP_BATCH 64

/* A spare op keeps a buffer (wr_win_send.c's) up to this size. */
#define WR_KEEP_BUF 65536

/* =====================================================================
** Ops: the platform's OVERLAPPEDs
** =================================================================== */

static wr_win_op *op_take(wr_loop *loop, wr_overlapped *ov) {
  wr_win_op *op = loop->plat.spare;
  char *buf = NULL;
  size_t cap = 0;
  if (op) {
    loop->plat.spare = op->next;
    buf = op->buf;                  /* a reused op keeps its buffer */
    cap = op->cap;
  } else if ((op = malloc(sizeof *op)) == NULL) {
    return NULL;
  }
  memset(op, 0, sizeof *op);
  op->ov = ov;
  op->buf = buf;
  op->cap = cap;
  loop->plat.live++;
  return op;
}

/* The kernel is done with op (its packet came, or none will). */
static void op_give(wr_loop *loop, wr_win_op *op) {
  assert(loop->plat.live > 0);
  loop->plat.live--;
  if (op->cap > WR_KEEP_BUF) {
    free(op->buf);
    op->buf = NULL;
    op->cap = 0;
  }
  op->next = loop->plat.spare;
  loop->plat.spare = op;
}

/* =====================================================================
** The loop
** =================================================================== */

int wr__plat_loop_init(wr_loop *loop, const wr_upcalls *up) {
  WSADATA wd;
  int r = WSAStartup(MAKEWORD(2, 2), &wd);
  if (r != 0) return r;
  loop->plat.port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
  if (loop->plat.port == NULL) {
    WSACleanup();
    return WSASYSCALLFAILURE;
  }
  loop->plat.up = up;
  QueryPerformanceFrequency(&loop->plat.freq);
  return 0;
}

static void drop_packets(wr_loop *loop, DWORD ms);

void wr__plat_loop_close(wr_loop *loop) {
  wr_win_op *op;
  /* every socket is closed: the packets of orphaned ops are on their way */
  if (loop->plat.live > 0) drop_packets(loop, 200);
  while ((op = loop->plat.spare) != NULL) {
    loop->plat.spare = op->next;
    free(op->buf);
    free(op);
  }
  /* ops whose packet never came stay allocated: the kernel may yet write
  ** them (never seen; better a leak than a write into freed memory) */
  CloseHandle(loop->plat.port);
  WSACleanup();
}

/* The error an NTSTATUS-level result stands for, the Windows way. */
static unsigned io_error(const wr_socket *s, unsigned err) {
  /* Wine says WSAECONNREFUSED for a port unreachable; Windows (and the
  ** WSARecv page) WSAECONNRESET */
  if (err == WSAECONNREFUSED && s->type != SOCK_STREAM) return WSAECONNRESET;
  return err;
}

/*
** ov's result from its op, now the kernel is done with it.  The output
** flags of a WSARecvMsg are the WSAMSG's dwFlags (the kernel sets
** MSG_BCAST and MSG_MCAST itself).  The other kinds are wr_win_send.c's.
*/
static void take_result(wr_socket *s, wr_overlapped *ov, wr_win_op *op) {
  DWORD n = 0, fl = 0;
  unsigned err = 0;
  if (!WSAGetOverlappedResult(WR_SOCK(s->fd), &op->o, &n, FALSE, &fl))
    err = io_error(s, (unsigned)WSAGetLastError());
  if (ov->kind != WR_OP_RECV) {
    wr__win_io_result(s, ov, op, err, n);
    return;
  }
  if (ov->msg) {
    wr_msg *m = ov->msg;
    fl = op->msg.dwFlags;
    /* Wine leaves MSG_TRUNC out of an oversized datagram's flags */
    if (err == WSAEMSGSIZE && n == ov->total) fl |= WR_MSG_TRUNC;
    m->namelen = op->msg.namelen;
    m->controlused = m->control ? op->msg.Control.len : 0;
    fl &= WR_MSG_TRUNC | WR_MSG_CTRUNC | WR_MSG_BCAST | WR_MSG_MCAST;
    m->flags = fl;
  }
  wr__finish(ov, err, n, fl);
}

/* A packet came: report its operation, or drop an orphan's. */
static void packet(wr_loop *loop, wr_win_op *op) {
  wr_overlapped *ov = op->ov;
  wr_socket *s;
  if (ov == NULL) {
    op_give(loop, op);
    return;
  }
  s = ov->sock;
  take_result(s, ov, op);
  ov->plat = NULL;
  op_give(loop, op);
  loop->plat.up->complete(s, ov);
}

/* One wait on the port: 1 if packets came. */
static int port_wait(wr_loop *loop, DWORD ms) {
  OVERLAPPED_ENTRY e[WR_PUMP_BATCH];
  ULONG n = 0, i;
  if (!GetQueuedCompletionStatusEx(loop->plat.port, e, WR_PUMP_BATCH, &n, ms,
                                   FALSE))
    return 0;                     /* timed out */
  for (i = 0; i < n; i++) packet(loop, (wr_win_op *)e[i].lpOverlapped);
  return n > 0;
}

void wr__plat_pump(wr_loop *loop, long ms) {
  DWORD t = ms < 0 ? INFINITE
          : (unsigned long)ms >= INFINITE ? INFINITE - 1 : (DWORD)ms;
  port_wait(loop, t);
}

/* Orphans' packets only (no operation is pending): wait up to ms for them. */
static void drop_packets(wr_loop *loop, DWORD ms) {
  uint64_t end = wr__plat_now(loop) + ms;
  while (loop->plat.live > 0) {
    uint64_t now = wr__plat_now(loop);
    if (now >= end || !port_wait(loop, (DWORD)(end - now))) break;
  }
}

uint64_t wr__plat_now(wr_loop *loop) {
  LARGE_INTEGER c;
  QueryPerformanceCounter(&c);
  return (uint64_t)(c.QuadPart / (loop->plat.freq.QuadPart / 1000));
}

void wr__plat_delivered(wr_loop *loop, size_t ran) {
  (void)loop;
  (void)ran;
}

/* =====================================================================
** Sockets
** =================================================================== */

/*
** On the loop's port, and non-blocking underneath (the BSD calls wait for
** readiness themselves, as on Linux; overlapped receives are not
** affected).  A handle can join one port only: a socket adopted a second
** time (wrap without dup) is taken to be on this loop's port already.  A
** handle that is no socket is still adopted: its receives fail.
*/
void wr__plat_socket_init(wr_socket *s) {
  SOCKET h = WR_SOCK(s->fd);
  u_long on = 1;
  int type;
  socklen_t len = sizeof type;
  if (CreateIoCompletionPort((HANDLE)h, s->loop->plat.port, 0, 0) == NULL &&
      (GetLastError() != ERROR_INVALID_PARAMETER ||
       getsockopt(s->fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0))
    return;
  ioctlsocket(h, FIONBIO, &on);
  s->plat.port = 1;
}

void wr__plat_socket_close(wr_socket *s) { (void)s; }

void wr__plat_msg_prepare(wr_socket *s) { (void)s; }

/* =====================================================================
** Operations
** =================================================================== */

/* Hand a receive to the kernel: 0, WSA_IO_PENDING, or the failure. */
static int post_recv(wr_socket *s, wr_overlapped *ov, wr_win_op *op) {
  SOCKET h = WR_SOCK(s->fd);
  DWORD n = 0, fl = ov->in_flags;
  int r;
  if (ov->msg) {
    wr_msg *m = ov->msg;
    if ((r = wr__win_extension(s, (GUID)WSAID_WSARECVMSG, &s->plat.recvmsg,
                               sizeof s->plat.recvmsg)) != 0)
      return r;
    op->msg.name = (LPSOCKADDR)&m->name;
    op->msg.namelen = sizeof m->name;
    op->msg.lpBuffers = ov->iov;
    op->msg.dwBufferCount = (DWORD)ov->iovcnt;
    op->msg.Control.buf = m->control;
    op->msg.Control.len = (ULONG)m->controllen;
    op->msg.dwFlags = ov->in_flags;
    r = s->plat.recvmsg(h, &op->msg, &n, &op->o, NULL);
  } else {
    r = WSARecv(h, ov->iov, (DWORD)ov->iovcnt, &n, &fl, &op->o, NULL);
  }
  return r == 0 ? 0 : WSAGetLastError();
}

/* Finished at once, a packet following: a success, or a receive's
** datagram too big (a warning: its data is there).  Any other failure
** queues no packet. */
static int done_at_once(const wr_overlapped *ov, int r) {
  return r == 0 || (r == WSAEMSGSIZE && ov->kind == WR_OP_RECV);
}

int wr__plat_start(wr_socket *s, wr_overlapped *ov) {
  wr_win_op *op;
  int r;
  if (!s->plat.port) {
    wr__finish(ov, WSAENOTSOCK, 0, 0);
    return 1;
  }
  if ((op = op_take(s->loop, ov)) == NULL) {
    wr__finish(ov, WSA_NOT_ENOUGH_MEMORY, 0, 0);
    return 1;
  }
  r = ov->kind == WR_OP_RECV ? post_recv(s, ov, op)
                             : wr__win_post_io(s, ov, op);
  if (r == WSA_IO_PENDING) {
    ov->plat = op;
    return 0;
  }
  if (done_at_once(ov, r)) {
    /* its packet is queued all the same: orphan it */
    take_result(s, ov, op);
    op->ov = NULL;
  } else {
    /* failed outright: no packet will come */
    wr__finish(ov, io_error(s, (unsigned)r), 0, 0);
    op_give(s->loop, op);
  }
  return 1;
}

void wr__plat_watch(wr_socket *s) { (void)s; }

/*
** CancelIoEx, then wait (bounded) until the kernel lets go of the buffers.
** An operation the kernel finished before the cancel took keeps its
** result: a receive's data was taken from the socket, an AcceptEx's
** connection made, so reporting it as aborted would lose them.  A send
** cancelled part way keeps the count of what left (ov->filled, which the
** engine reports).  Either way the packet still to come is dropped (the
** op is orphaned).  An AcceptEx is cancelled on its listener (s), whichever
** socket is closing.
*/
int wr__plat_cancel(wr_socket *s, wr_overlapped *ov) {
  wr_win_op *op = ov->plat;
  int i, done = 0;
  if (op == NULL) return 0;
  CancelIoEx((HANDLE)WR_SOCK(s->fd), &op->o);
  for (i = 0; i < 1000 && !HasOverlappedIoCompleted(&op->o); i++)
    SleepEx(i < 10 ? 0 : 1, FALSE);
  if (HasOverlappedIoCompleted(&op->o)) {
    take_result(s, ov, op);
    done = ov->error != WSA_OPERATION_ABORTED;
  }
  op->ov = NULL;
  ov->plat = NULL;
  return done;
}

/* select: WSAPoll misses a failed connect on older Windows.  The
** exception set is a failed connect on a POLLOUT wait. */
int wr__plat_poll_fd(int fd, int events, long ms, short *revents) {
  SOCKET h = WR_SOCK(fd);
  fd_set rs, ws, xs;
  struct timeval tv, *tp = NULL;
  int n;
  FD_ZERO(&rs);
  FD_ZERO(&ws);
  FD_ZERO(&xs);
  if (events & POLLIN) FD_SET(h, &rs);
  if (events & POLLOUT) {
    FD_SET(h, &ws);
    FD_SET(h, &xs);
  }
  if (ms >= 0) {
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    tp = &tv;
  }
  n = select(0, &rs, &ws, &xs, tp);
  if (n <= 0) return n;
  *revents = (short)((FD_ISSET(h, &rs) ? POLLIN : 0) |
                     (FD_ISSET(h, &ws) ? POLLOUT : 0) |
                     (FD_ISSET(h, &xs) ? POLLERR : 0));
  return 1;
}

/* =====================================================================
** Ctrl-C in a wait: not on Windows yet.  A console Ctrl-C runs the CRT's
** SIGINT handler on a thread of its own; the waits hold it, as before.
** =================================================================== */

void wr__plat_wait_begin(wr_loop *loop, long ms) {
  (void)loop;
  (void)ms;
}

void wr__plat_wait_end(wr_loop *loop) { (void)loop; }

unsigned wr__plat_signals(void) { return 0; }

int wr__plat_poll_wait(wr_loop *loop, int fd, int events, long ms,
                       short *revents) {
  (void)loop;
  return wr__plat_poll_fd(fd, events, ms, revents);
}

/* =====================================================================
** The loop inside another event loop: not on Windows yet (a completion
** port is no descriptor a foreign poll could watch)
** =================================================================== */

int wr__plat_pollfd(wr_loop *loop, int *fd) {
  (void)loop;
  (void)fd;
  return WSAEOPNOTSUPP;
}

long wr__plat_timeout(wr_loop *loop) {
  (void)loop;
  return -1;
}

void wr__plat_wake(wr_loop *loop) { (void)loop; }

void wr__plat_apc_queued(wr_loop *loop) { (void)loop; }

double wr__plat_clock(void) {
  static LARGE_INTEGER freq;
  LARGE_INTEGER c;
  if (freq.QuadPart == 0) QueryPerformanceFrequency(&freq);
  QueryPerformanceCounter(&c);
  return (double)c.QuadPart / (double)freq.QuadPart;
}

/*
** Completion ports (wr_port.c) on Windows: every post already went to the
** kernel, so nothing is kept back to flush; a port's queue is the engine's
** and needs nothing of the platform, and like the loop it has no
** descriptor another library could poll.
*/
void wr__plat_flush(wr_loop *loop) { (void)loop; }

void wr__plat_port_queued(wr_port *port) { (void)port; }

int wr__plat_port_pollfd(wr_port *port, int *fd) {
  (void)port;
  (void)fd;
  return WSAEOPNOTSUPP;
}

long wr__plat_port_timeout(wr_port *port) {
  (void)port;
  return -1;
}

void wr__plat_port_close(wr_port *port) { (void)port; }

/* =====================================================================
** The engine: Windows has one, the completion port
** =================================================================== */

int wr__plat_engine(const wr_loop *loop) {
  (void)loop;
  return WR_ENGINE_IOCP;
}

int wr__plat_set_engine(wr_loop *loop, int engine) {
  (void)engine;
  return wr__why(loop, WSAEOPNOTSUPP, "Windows has one engine: iocp");
}

/* The kernel's completions reach the engine through the port's packets,
** which a wait relays. */
void wr__plat_peek(wr_loop *loop) { (void)loop; }

void wr__plat_resume(wr_socket *s) { (void)s; }
