/*
** wr_linux_ring.c -- the io_uring engine: the kernel fills posted receive
** buffers while the thread computes, as Windows does, and the completions
** wait in shared memory until anyone looks.
**
** Exports: for the Linux platform: wr__ring_open, wr__ring_close,
**          wr__ring_servable, wr__ring_armed, wr__ring_take, wr__ring_send,
**          wr__ring_resume, wr__ring_reap, wr__ring_submit,
**          wr__ring_cancel, wr__ring_quiesce, wr__ring_socket_close.
**
** One multishot receive per socket, fed from the socket's own provided-
** buffer ring: each posted receive's buffer is added to the ring in posting
** order, and the kernel takes ring buffers in order, so the k-th posted
** receive gets the k-th datagram (or the k-th piece of the stream), as the
** WSPRecv page says a provider fills them.  Adding a buffer is a memory
** write; only a multishot that ended (its ring ran out, an error, a
** cancel) needs a submission.  One waiter per socket, never one per
** buffer: 64 single-shot receives would all wake for one datagram.
**
** What the ring cannot serve stays on the poll path (wr_linux_watch.c):
** WSARecvMsg, several WSABUFs, empty buffers, MSG_PEEK, MSG_OOB,
** MSG_PARTIAL, MSG_WAITALL, nonoverlapped calls (their stack objects),
** a stream with a sticky error or an urgent-data receive posted.  The
** receives the ring holds are always the head of the socket's queue; one
** it cannot serve waits behind them, and those after it wait for it.
**
** Memory: the kernel writes into a buffer until the completion that names
** it is reaped.  Every way to take a receive back (cancel, close, forget,
** the loop's end) first cancels the socket's multishot and waits for its
** last completion (wr__ring_quiesce), so no buffer is let go while the
** kernel could still write to it.
*/
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wr_linux_int.h"

#define SQ_ENTRIES  64       /* submissions: one per socket re-armed */
#define CQ_ENTRIES  4096     /* completions waiting to be reaped */
#define BR_FIRST    64       /* a socket's first buffer ring */
#define BR_MAX      4096     /* receives in the kernel's hands per socket */

/*
** A WSARecvMsg's multishot RECVMSG writes, in front of each datagram's
** payload, a header, the source address and the control messages, each
** of a size fixed per request: they fill the caller's WR_HEADROOM.  A msg
** whose control messages might not fit (its buffer plus wsarecv's own
** packet info) stays on the poll path.
*/
#define RING_NAME   128
#define RING_CTL    (WR_HEADROOM - sizeof(struct io_uring_recvmsg_out) - \
                     RING_NAME)
#define OWN_CTL     (CMSG_SPACE(sizeof(struct in_pktinfo)) + \
                     CMSG_SPACE(sizeof(struct in6_pktinfo)))

_Static_assert(WR_HEADROOM > sizeof(struct io_uring_recvmsg_out) +
               RING_NAME + OWN_CTL, "WR_HEADROOM leaves no control space");

/* what a socket's multishot receives (wr_ring_sock.mode) */
enum { MODE_NONE = 0, MODE_RECV, MODE_RECVMSG };

struct wr_ring {
  struct io_uring uring;
  uv_poll_t poll;            /* libuv watches the ring's descriptor */
  unsigned armed;            /* multishot receives and SENDs in flight */
  unsigned prepared;         /* submissions not yet submitted */
  int reaping;               /* a reap runs: a nested one waits */
  struct wr_ring_sock *resume;   /* sockets to hand receives again */
  unsigned short *free_bgid; /* buffer group ids given back */
  size_t nfree, capfree;
  unsigned next_bgid;
};

struct wr_ring_sock {
  wr_socket *s;
  struct io_uring_buf_ring *br;  /* page-aligned, the kernel reads it */
  wr_overlapped **slot;      /* buffer id -> its receive */
  unsigned entries;          /* the ring's size (a power of two) */
  unsigned added, used;      /* buffers added, and taken by the kernel */
  unsigned short bgid;
  int mode;                  /* MODE_*: what the ring's receives are */
  struct msghdr mh;          /* MODE_RECVMSG: the name and control sizes */
  unsigned registered : 1;   /* the kernel knows the ring */
  unsigned stale : 1;        /* it holds buffers no receive owns any more:
                                register it again before the next arm */
  unsigned armed : 1;        /* a multishot receive is in flight */
  unsigned sending : 1;      /* a SEND (the send queue's head) is */
  unsigned sent_back : 1;    /* ... and ended with bytes left to send */
  unsigned on_resume : 1;
  struct wr_ring_sock *resume_next;
};

/* =====================================================================
** The loop's ring
** =================================================================== */

/* Wait until the requests `a` and `b` have both ended. */
static void wait_both(struct io_uring *u, uint64_t a, uint64_t b) {
  struct io_uring_cqe *cqe;
  int left = 2;
  while (left > 0) {
    int r = io_uring_wait_cqe(u, &cqe);
    if (r < 0) {
      if (r == -EINTR) continue;
      return;
    }
    if ((cqe->user_data == a || cqe->user_data == b) &&
        !(cqe->flags & IORING_CQE_F_MORE))
      left--;
    io_uring_cqe_seen(u, cqe);
  }
}

/* Can this kernel run a multishot receive from a provided-buffer ring
** (6.0 and later)?  One round trip on a socket pair says. */
static int probe(struct io_uring *u) {
  struct io_uring_buf_reg reg;
  struct io_uring_buf_ring *br = NULL;
  struct io_uring_sqe *sqe;
  struct io_uring_cqe *cqe;
  char buf[8];
  int sv[2], ok = 0, more = 0;
  if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0) return errno;
  if (posix_memalign((void **)&br, 4096, 4096) != 0) goto out;
  memset(&reg, 0, sizeof reg);
  reg.ring_addr = (unsigned long)br;
  reg.ring_entries = 2;
  reg.bgid = 0;
  io_uring_buf_ring_init(br);
  if (io_uring_register_buf_ring(u, &reg, 0) < 0) goto out;
  io_uring_buf_ring_add(br, buf, 4, 0, io_uring_buf_ring_mask(2), 0);
  io_uring_buf_ring_add(br, buf + 4, 4, 1, io_uring_buf_ring_mask(2), 1);
  io_uring_buf_ring_advance(br, 2);
  sqe = io_uring_get_sqe(u);
  io_uring_prep_recv_multishot(sqe, sv[0], NULL, 0, 0);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = 0;
  sqe->user_data = 1;
  if (send(sv[1], "x", 1, 0) == 1 && io_uring_submit_and_wait(u, 1) >= 0 &&
      io_uring_peek_cqe(u, &cqe) == 0) {
    ok = cqe->user_data == 1 && cqe->res == 1 &&
         (cqe->flags & IORING_CQE_F_BUFFER);
    more = (cqe->flags & IORING_CQE_F_MORE) != 0;
    io_uring_cqe_seen(u, cqe);
  }
  if (more) {                        /* still armed: end it */
    sqe = io_uring_get_sqe(u);
    io_uring_prep_cancel64(sqe, 1, 0);
    sqe->user_data = 2;
    io_uring_submit(u);
    wait_both(u, 1, 2);
  }
  io_uring_unregister_buf_ring(u, 0);
out:
  free(br);
  close(sv[0]);
  close(sv[1]);
  return ok ? 0 : EOPNOTSUPP;
}

/* The kernel posted completions (the ring's descriptor is readable while
** they wait: taking them is what quiets it, no read needed). */
static void on_ring(uv_poll_t *h, int status, int events) {
  wr_loop *loop = h->data;
  (void)status;
  (void)events;
  if (loop->plat.ring == NULL) return;
  wr__ring_reap(loop);
  wr__ring_submit(loop);
}

int wr__ring_open(wr_loop *loop) {
  struct io_uring_params pr;
  struct wr_ring *r = calloc(1, sizeof *r);
  int e;
  if (r == NULL) return ENOMEM;
  memset(&pr, 0, sizeof pr);
  /*
  ** COOP_TASKRUN: the kernel runs a receive's work when the thread next
  ** enters the kernel -- a syscall, or the timer's tick while it computes
  ** (filled within a tick, not at once) -- instead of interrupting it for
  ** each datagram: half the CPU per datagram at the maximum rate (bench,
  ** scenario 8).  A thread asleep in epoll_wait is still woken.
  ** DEFER_TASKRUN would hold the work until the next wait (nothing filled
  ** while Lua computes); SQPOLL spends a core polling.
  */
  pr.flags = IORING_SETUP_CQSIZE | IORING_SETUP_COOP_TASKRUN;
  pr.cq_entries = CQ_ENTRIES;
  if ((e = -io_uring_queue_init_params(SQ_ENTRIES, &r->uring, &pr)) != 0) {
    free(r);
    return e;
  }
  if ((e = probe(&r->uring)) != 0) goto fail;
  r->next_bgid = 1;                  /* (the probe used 0) */
  /*
  ** libuv watches the ring's own descriptor, readable while completions
  ** wait: unlike an eventfd registered with the ring, the kernel signals
  ** nothing per completion, and nothing needs reading to clear it.
  */
  if ((e = -uv_poll_init(&loop->plat.uv, &r->poll, r->uring.ring_fd)) != 0)
    goto fail;
  r->poll.data = loop;
  uv_poll_start(&r->poll, UV_READABLE, on_ring);
  /* libuv applies a watch in its next run, and runs only a live loop:
  ** apply it now, so that an integrator polling libuv's descriptor wakes
  ** for the ring from the first receive on (ring NULL: nothing to reap) */
  uv_run(&loop->plat.uv, UV_RUN_NOWAIT);
  uv_unref((uv_handle_t *)&r->poll);   /* held only while receives wait */
  loop->plat.ring = r;
  return 0;
fail:
  io_uring_queue_exit(&r->uring);
  free(r);
  return e;
}

static void on_poll_closed(uv_handle_t *h) {
  struct wr_ring *r = (struct wr_ring *)((char *)h - offsetof(struct wr_ring,
                                                             poll));
  io_uring_queue_exit(&r->uring);
  free(r->free_bgid);
  free(r);
}

static void resume_all(struct wr_ring *r);

void wr__ring_close(wr_loop *loop) {
  struct wr_ring *r = loop->plat.ring;
  if (r == NULL) return;
  resume_all(r);                     /* (closed sockets: only let go) */
  assert(r->armed == 0);
  loop->plat.ring = NULL;
  uv_close((uv_handle_t *)&r->poll, on_poll_closed);
}

/*
** Submit what was prepared, then take what the kernel did at once (a
** multishot receive reads the data already there as it starts): nothing
** the ring holds is left unreported when a call returns, so nobody sleeps
** on a completion already made.  What that reap prepares goes too.
*/
void wr__ring_submit(wr_loop *loop) {
  struct wr_ring *r = loop->plat.ring;
  int rounds = 0;
  if (r == NULL) return;
  while (r->prepared && !r->reaping) {
    r->prepared = 0;
    io_uring_submit(&r->uring);
    if (++rounds > 4) break;         /* (bounded: the next call goes on) */
    wr__ring_reap(loop);
  }
}

/* A submission entry, submitting those prepared when the queue is full. */
static struct io_uring_sqe *get_sqe(struct wr_ring *r) {
  struct io_uring_sqe *sqe = io_uring_get_sqe(&r->uring);
  if (sqe == NULL) {
    io_uring_submit(&r->uring);
    r->prepared = 0;
    sqe = io_uring_get_sqe(&r->uring);
  }
  if (sqe) r->prepared++;
  return sqe;
}

/* The multishot keeps the loop alive (and its descriptor watched) while it
** is in flight: an integrator's descriptor must then hold libuv's. */
static void count_armed(struct wr_ring *r, int d) {
  if (d > 0 && r->armed++ == 0) {
    uv_ref((uv_handle_t *)&r->poll);
    wr__lx_pollfd_alive(r->poll.data);
  }
  if (d < 0 && --r->armed == 0) uv_unref((uv_handle_t *)&r->poll);
}

/* =====================================================================
** A socket's buffer ring
** =================================================================== */

static int new_bgid(struct wr_ring *r, unsigned short *out) {
  if (r->nfree) {
    *out = r->free_bgid[--r->nfree];
    return 1;
  }
  if (r->next_bgid > 0xffff) return 0;
  *out = (unsigned short)r->next_bgid++;
  return 1;
}

static void free_bgid(struct wr_ring *r, unsigned short id) {
  if (r->nfree == r->capfree) {
    size_t cap = r->capfree ? 2 * r->capfree : 16;
    unsigned short *v = realloc(r->free_bgid, cap * sizeof *v);
    if (v == NULL) return;           /* that id is lost, nothing more */
    r->free_bgid = v;
    r->capfree = cap;
  }
  r->free_bgid[r->nfree++] = id;
}

static void unregister(struct wr_ring *r, struct wr_ring_sock *rs) {
  if (!rs->registered) return;
  io_uring_unregister_buf_ring(&r->uring, rs->bgid);
  rs->registered = 0;
}

/*
** Give the kernel an empty ring of at least `want` entries (none of its
** receives in flight): the same one again, or a bigger one.  0 or an
** errno.
*/
static int fresh_ring(struct wr_ring *r, struct wr_ring_sock *rs,
                      unsigned want) {
  struct io_uring_buf_reg reg;
  unsigned n = rs->entries ? rs->entries : BR_FIRST;
  assert(!rs->armed);
  while (n < want && n < BR_MAX) n *= 2;
  unregister(r, rs);
  if (n != rs->entries) {
    void *br = NULL;
    wr_overlapped **slot = calloc(n, sizeof *slot);
    if (slot == NULL ||
        posix_memalign(&br, 4096, n * sizeof(struct io_uring_buf)) != 0) {
      free(slot);
      return ENOMEM;
    }
    free(rs->br);
    free(rs->slot);
    rs->br = br;
    rs->slot = slot;
    rs->entries = n;
  }
  memset(rs->slot, 0, rs->entries * sizeof *rs->slot);
  io_uring_buf_ring_init(rs->br);
  memset(&reg, 0, sizeof reg);
  reg.ring_addr = (unsigned long)rs->br;
  reg.ring_entries = rs->entries;
  reg.bgid = rs->bgid;
  {
    int e = io_uring_register_buf_ring(&r->uring, &reg, 0);
    if (e < 0) return -e;
  }
  rs->registered = 1;
  rs->stale = 0;
  rs->added = rs->used = 0;
  return 0;
}

static struct wr_ring_sock *ring_sock(struct wr_ring *r, wr_socket *s) {
  struct wr_ring_sock *rs = s->plat.ring;
  if (rs) return rs;
  rs = calloc(1, sizeof *rs);
  if (rs == NULL) return NULL;
  if (!new_bgid(r, &rs->bgid)) {     /* (its buffer ring comes later) */
    free(rs);
    return NULL;
  }
  rs->s = s;
  s->plat.ring = rs;
  return rs;
}

/* =====================================================================
** Handing receives to the kernel
** =================================================================== */

/* A WSARecvMsg whose header, source and control messages fit the
** caller's headroom (RING_CTL is what WR_HEADROOM leaves for them). */
static int msg_fits(const wr_overlapped *ov) {
  return ov->headroom && ov->msg->controllen <= RING_CTL - OWN_CTL;
}

static int mode_of(const wr_overlapped *ov) {
  return ov->msg ? MODE_RECVMSG : MODE_RECV;
}

/* A receive the ring can serve on s (see the top of the file). */
int wr__ring_servable(const wr_socket *s, const wr_overlapped *ov) {
  return ov->kind == WR_OP_RECV && !ov->internal &&
         (ov->msg == NULL || msg_fits(ov)) &&
         ov->iovcnt == 1 && ov->total > 0 && ov->iov->iov_len > 0 &&
         ov->iov->iov_len <= 0x7fffffff - WR_HEADROOM &&
         !(ov->in_flags & (WR_MSG_PEEK | WR_MSG_OOB | WR_MSG_PARTIAL |
                           WR_MSG_WAITALL)) &&
         !s->plat.sticky && !s->plat.part && s->oobq.head == NULL &&
         (s->type == SOCK_DGRAM || s->type == SOCK_STREAM ||
          s->type == SOCK_SEQPACKET || s->type == SOCK_RAW);
}

/* Every receive queued on s is the ring's: a new one may join them. */
static int ring_is_queue(const wr_socket *s) {
  return s->q.tail == NULL || wr__in_ring(s->q.tail);
}

int wr__ring_armed(const wr_socket *s) {
  return s->plat.ring && s->plat.ring->armed;
}

/* Can ov join the ring's receives (of one kind, and room for it)? */
static int joins(const struct wr_ring_sock *rs, const wr_overlapped *ov) {
  int idle = !rs->armed && rs->added == rs->used;
  return (idle || rs->mode == mode_of(ov)) &&
         rs->added - rs->used < rs->entries;
}

static void add_buffer(struct wr_ring_sock *rs, wr_overlapped *ov) {
  unsigned bid = rs->added & (rs->entries - 1);
  size_t head = ov->msg ? WR_HEADROOM : 0;   /* see RING_CTL */
  if (!rs->armed && rs->added == rs->used) rs->mode = mode_of(ov);
  rs->slot[bid] = ov;
  io_uring_buf_ring_add(rs->br, (char *)ov->iov->iov_base - head,
                        (unsigned)(ov->iov->iov_len + head),
                        (unsigned short)bid,
                        io_uring_buf_ring_mask(rs->entries), 0);
  io_uring_buf_ring_advance(rs->br, 1);   /* the kernel sees it now */
  rs->added++;
  ov->phase = WR_PH_RING;
}

/* Arm the socket's multishot receive (submitted with the next batch). */
static void arm(struct wr_ring *r, struct wr_ring_sock *rs) {
  wr_socket *s = rs->s;
  struct io_uring_sqe *sqe;
  if (rs->armed || rs->added == rs->used) return;
  if ((sqe = get_sqe(r)) == NULL) return;    /* (the next resume tries) */
  /* a message's full length, so a datagram cut short is WSAEMSGSIZE */
  if (rs->mode == MODE_RECVMSG) {
    memset(&rs->mh, 0, sizeof rs->mh);
    rs->mh.msg_namelen = RING_NAME;
    rs->mh.msg_controllen = RING_CTL;
    io_uring_prep_recvmsg_multishot(sqe, s->fd, &rs->mh, MSG_TRUNC);
  } else {
    io_uring_prep_recv_multishot(sqe, s->fd, NULL, 0,
                                 wr__message_oriented(s) ? MSG_TRUNC : 0);
  }
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = rs->bgid;
  io_uring_sqe_set_data(sqe, rs);
  rs->armed = 1;
  count_armed(r, 1);
}

int wr__ring_take(wr_socket *s, wr_overlapped *ov) {
  struct wr_ring *r = s->loop->plat.ring;
  struct wr_ring_sock *rs;
  if (r == NULL || !wr__ring_servable(s, ov) || !ring_is_queue(s)) return 0;
  if ((rs = ring_sock(r, s)) == NULL) return 0;
  if (!rs->registered && fresh_ring(r, rs, BR_FIRST) != 0) return 0;
  if (rs->mode != mode_of(ov) && (rs->armed || rs->added != rs->used))
    return 0;          /* the other kind: after the ring's (the poll path) */
  if (rs->added - rs->used == rs->entries || rs->stale) {
    /* full (or holding what a cancel left): a bigger, fresh ring, once
    ** the kernel lets go of this one */
    if (rs->added - rs->used == BR_MAX) return 0;
    wr__ring_quiesce(s);
    return 0;                      /* (the resume hands it over) */
  }
  add_buffer(rs, ov);
  arm(r, rs);
  return 1;
}

/*
** A stream send's rest, when the socket had no room: one SEND of its next
** unsent piece, MSG_WAITALL so the kernel goes on as room comes while the
** thread computes.  Tagged (the low bit of the socket's pointer) apart
** from the multishot receive.
*/
#define SEND_TAG 1

/* The head of s's send queue is a stream send the ring can carry on. */
static int sendable(const wr_socket *s) {
  const wr_overlapped *ov = s->sendq.head;
  return ov && ov->kind == WR_OP_SEND && !ov->internal &&
         !wr__send_in_ring(ov) && s->type == SOCK_STREAM &&
         ov->filled < ov->total;
}

int wr__ring_send(wr_socket *s) {
  struct wr_ring *r = s->loop->plat.ring;
  wr_overlapped *ov = s->sendq.head;
  struct wr_ring_sock *rs;
  struct io_uring_sqe *sqe;
  struct iovec first;
  size_t cnt;
  if (r == NULL || !sendable(s)) return 0;
  if ((rs = ring_sock(r, s)) == NULL || rs->sending) return 0;
  wr__left_to_send(ov, &first, &cnt);
  if ((sqe = get_sqe(r)) == NULL) return 0;
  io_uring_prep_send(sqe, s->fd, first.iov_base, first.iov_len,
                     (wr__send_flags(ov) & ~MSG_DONTWAIT) | MSG_WAITALL);
  io_uring_sqe_set_data64(sqe, (uintptr_t)rs | SEND_TAG);
  ov->phase = WR_PH_RING;
  rs->sending = 1;
  count_armed(r, 1);
  return 1;
}

/* =====================================================================
** Completions
** =================================================================== */

static void want_resume(struct wr_ring *r, struct wr_ring_sock *rs) {
  if (rs->on_resume) return;
  rs->on_resume = 1;
  wr__socket_ref(rs->s);
  rs->resume_next = r->resume;
  r->resume = rs;
}

/* The first receive of s the kernel has not finished. */
static wr_overlapped *first_unreaped(wr_socket *s) {
  wr_overlapped *ov = s->q.head;
  while (ov && ov->phase == WR_PH_REAPED) ov = ov->link.next;
  return wr__in_ring(ov) ? ov : NULL;
}

/* The kernel ran ov's receive: its result (n bytes, or -errno), by the
** step's rules.  Not reported yet (the caller may be inside a cancel). */
static void finished(wr_socket *s, wr_overlapped *ov, long n,
                     const struct msghdr *mh) {
  if (!wr__step_result(s, ov, n, n < 0 ? (int)-n : 0, mh))
    return;                          /* (EAGAIN: still the kernel's) */
  ov->phase = WR_PH_REAPED;
}

/*
** A datagram a multishot RECVMSG placed for ov, its payload where the
** caller's buffer starts: the source address into the msg, the control
** messages and flags for the step.  The bytes in front of the buffer are
** the kernel's output, but the caller may have posted one buffer twice:
** every length is bounded by what was reserved.
*/
static void finished_msg(wr_socket *s, wr_overlapped *ov) {
  struct io_uring_recvmsg_out out;
  const char *head = (const char *)ov->iov->iov_base - WR_HEADROOM;
  struct msghdr mh;
  wr_msg *m = ov->msg;
  memcpy(&out, head, sizeof out);
  if (out.namelen > RING_NAME) out.namelen = RING_NAME;
  if (out.controllen > RING_CTL) out.controllen = RING_CTL;
  memset(&mh, 0, sizeof mh);
  mh.msg_namelen = out.namelen < sizeof m->name ? out.namelen
                                                 : sizeof m->name;
  memcpy(&m->name, head + sizeof out, mh.msg_namelen);
  mh.msg_control = (char *)head + sizeof out + RING_NAME;
  mh.msg_controllen = out.controllen;
  mh.msg_flags = (int)out.flags;
  finished(s, ov, out.payloadlen, &mh);
}

/* The SEND of the send queue's head ended: res bytes went, or -errno.
** Finished (all sent, or failed) it is reaped; else the poll path goes on
** with it (and hands it back when the socket is full again). */
static void sent(struct wr_ring *r, struct wr_ring_sock *rs, int res) {
  wr_socket *s = rs->s;
  wr_overlapped *ov = s->sendq.head;
  rs->sending = 0;
  count_armed(r, -1);
  if (!wr__send_in_ring(ov)) return;
  ov->phase = 0;
  rs->sent_back = 1;
  if (res > 0) ov->filled += (size_t)res;
  if (ov->filled >= ov->total) {
    wr__finish(ov, 0, ov->filled, 0);
    ov->phase = WR_PH_REAPED;
  } else if (res < 0 && res != -ECANCELED && res != -EAGAIN &&
             res != -EINTR) {
    wr__finish(ov, (unsigned)wr__wsa_from_send(s, -res), ov->filled, 0);
    ov->phase = WR_PH_REAPED;
  }
  want_resume(r, rs);
}

static void on_cqe(struct wr_ring *r, const struct io_uring_cqe *cqe) {
  uintptr_t tag = (uintptr_t)io_uring_cqe_get_data64(cqe);
  struct wr_ring_sock *rs = (struct wr_ring_sock *)(tag & ~(uintptr_t)SEND_TAG);
  struct msghdr mh;
  wr_socket *s;
  wr_overlapped *ov;
  if (rs == NULL) return;            /* a cancel's own completion */
  if (tag & SEND_TAG) {
    sent(r, rs, cqe->res);
    return;
  }
  s = rs->s;
  memset(&mh, 0, sizeof mh);
  if (!(cqe->flags & IORING_CQE_F_MORE)) {
    rs->armed = 0;
    count_armed(r, -1);
  }
  if (cqe->flags & IORING_CQE_F_BUFFER) {
    unsigned bid = (cqe->flags >> IORING_CQE_BUFFER_SHIFT) &
                   (rs->entries - 1);
    ov = rs->slot[bid];
    rs->slot[bid] = NULL;
    rs->used++;
    assert(ov && ov == first_unreaped(s));
    if (ov && ov->msg && cqe->res >= WR_HEADROOM) {
      finished_msg(s, ov);
    } else if (ov) {
      if (cqe->res >= 0 && (size_t)cqe->res > ov->total)
        mh.msg_flags = MSG_TRUNC;
      finished(s, ov, cqe->res, &mh);
    }
  } else if (cqe->res != -ENOBUFS && cqe->res != -ECANCELED &&
             (ov = first_unreaped(s)) != NULL) {
    /* an error, or the stream's end: the next receive's result, with no
    ** buffer taken -- it stays in the ring, which must be made afresh */
    finished(s, ov, cqe->res, &mh);
    if (ov->phase == WR_PH_REAPED) {
      rs->stale = 1;
      rs->slot[rs->used & (rs->entries - 1)] = NULL;
    }
  }
  want_resume(r, rs);                /* report it; arm again if it ended */
}

/* Report the operations of s the kernel finished, in order: how many. */
static int report_list(wr_socket *s, wr_list *q) {
  wr_overlapped *ov;
  int n = 0;
  while ((ov = q->head) != NULL && ov->phase == WR_PH_REAPED &&
         !wr__closed(s)) {
    ov->phase = 0;
    s->loop->plat.up->complete(s, ov);
    n++;
  }
  return n;
}

static int report(wr_socket *s) {
  int n = report_list(s, &s->q);
  if (report_list(s, &s->sendq) > 0 && s->sendq.head && !wr__closed(s))
    wr__schedule_flush(s);       /* the next send: the poll path tries it */
  return n;
}

/* Take what the completion ring holds (report: up to the engine now). */
static void take_cqes(struct wr_ring *r) {
  struct io_uring_cqe *cqe;
  unsigned head, n = 0;
  /* completions the ring had no room for wait in the kernel */
  if (IO_URING_READ_ONCE(*r->uring.sq.kflags) & IORING_SQ_CQ_OVERFLOW)
    io_uring_get_events(&r->uring);
  io_uring_for_each_cqe(&r->uring, head, cqe) {
    on_cqe(r, cqe);
    n++;
  }
  io_uring_cq_advance(&r->uring, n);
}

/*
** s's multishot receive is not running: hand the kernel the receives at
** the head of the queue it can take, afresh when its ring holds buffers
** no receive owns any more.  1 when receives it held came back to the
** queue.
*/
static int refill(struct wr_ring *r, wr_socket *s, struct wr_ring_sock *rs) {
  wr_overlapped *ov;
  int demoted = 0;
  if (rs->stale) {
    for (ov = s->q.head; ov; ov = ov->link.next)
      if (ov->kind == WR_OP_RECV && ov->phase == WR_PH_RING) {
        ov->phase = 0;
        demoted = 1;
      }
  }
  if (rs->stale || rs->added == rs->used) {
    unsigned want = 0;           /* as big as the queue wants */
    for (ov = s->q.head; ov && wr__ring_servable(s, ov); ov = ov->link.next)
      want++;
    if ((rs->stale || want > rs->entries) && fresh_ring(r, rs, want) != 0)
      return demoted;
  }
  for (ov = s->q.head; ov && wr__in_ring(ov); ov = ov->link.next) {}
  for (; ov && wr__ring_servable(s, ov) && joins(rs, ov); ov = ov->link.next)
    add_buffer(rs, ov);
  arm(r, rs);
  return demoted;
}

/* The receives of s the kernel finished go up; those a cancel, the poll
** path or a full ring left go to the kernel again, and what it cannot take
** goes to the poll path. */
static void hand_over(struct wr_ring *r, wr_socket *s) {
  struct wr_ring_sock *rs = s->plat.ring;
  int changed = report(s) > 0, sent_back = rs && rs->sent_back;
  if (rs) rs->sent_back = 0;
  if (wr__closed(s) || rs == NULL) return;
  if (sent_back && sendable(s))
    wr__schedule_flush(s);       /* a send the ring gave back unfinished */
  if (!rs->armed && refill(r, s, rs)) changed = 1;
  /* what the ring finished or gave back leaves at the head a receive it
  ** cannot serve (MSG_PARTIAL, several buffers, a stream's sticky error):
  ** the poll path's (whose own calls here change nothing, so never come
  ** back) */
  if (changed && s->q.head && !wr__in_ring(s->q.head)) wr__schedule_flush(s);
}

static void resume_all(struct wr_ring *r) {
  struct wr_ring_sock *rs;
  while ((rs = r->resume) != NULL) {
    wr_socket *s = rs->s;
    r->resume = rs->resume_next;
    rs->on_resume = 0;
    hand_over(r, s);
    wr__socket_unref(s);
  }
}

void wr__ring_reap(wr_loop *loop) {
  struct wr_ring *r = loop->plat.ring;
  if (r == NULL || r->reaping) return;
  r->reaping = 1;
  if (io_uring_cq_ready(&r->uring) ||
      (IO_URING_READ_ONCE(*r->uring.sq.kflags) & IORING_SQ_CQ_OVERFLOW))
    take_cqes(r);
  resume_all(r);
  r->reaping = 0;
}

void wr__ring_resume(wr_socket *s) {
  struct wr_ring *r = s->loop ? s->loop->plat.ring : NULL;
  if (r == NULL || wr__closed(s)) return;
  if (s->plat.ring == NULL) {
    /* the poll path's receives the ring could serve: give it them */
    if (!s->q.head || !wr__ring_servable(s, s->q.head) || !ring_sock(r, s)) return;
  }
  want_resume(r, s->plat.ring);
  if (!r->reaping) {
    r->reaping = 1;
    resume_all(r);
    r->reaping = 0;
  }
}

/* =====================================================================
** Taking receives back
** =================================================================== */

/*
** Cancel the multishot of s and wait for its last completion: then the
** kernel holds no buffer of s.  What it filled meanwhile keeps its data
** (reaped, reported by the caller or the next reap); the rest goes back
** to being the queue's, for the poll path or a fresh ring.
*/
void wr__ring_quiesce(wr_socket *s) {
  struct wr_ring *r = s->loop ? s->loop->plat.ring : NULL;
  struct wr_ring_sock *rs = s->plat.ring;
  wr_overlapped *ov;
  if (r == NULL || rs == NULL) return;
  if (rs->armed || rs->sending) {
    struct io_uring_sqe *sqe;
    int reaping = r->reaping;
    if (rs->armed && (sqe = get_sqe(r)) != NULL) {
      io_uring_prep_cancel64(sqe, (uintptr_t)rs, 0);
      io_uring_sqe_set_data(sqe, NULL);
    }
    if (rs->sending && (sqe = get_sqe(r)) != NULL) {
      io_uring_prep_cancel64(sqe, (uintptr_t)rs | SEND_TAG, 0);
      io_uring_sqe_set_data(sqe, NULL);
    }
    r->reaping = 1;                  /* completions only recorded here */
    while (rs->armed || rs->sending) {
      int e;
      r->prepared = 0;
      e = io_uring_submit_and_wait(&r->uring, 1);
      if (e < 0 && e != -EINTR && e != -EBUSY && e != -EAGAIN &&
          io_uring_cq_ready(&r->uring) == 0)
        break;           /* (a ring that no longer works: nothing comes) */
      take_cqes(r);
    }
    r->reaping = reaping;
  }
  /* what the kernel did not fill is the queue's again */
  for (ov = s->q.head; ov; ov = ov->link.next)
    if (ov->kind == WR_OP_RECV && ov->phase == WR_PH_RING) ov->phase = 0;
  if (rs->added != rs->used) rs->stale = 1;
  want_resume(r, rs);
}

int wr__ring_cancel(wr_socket *s, wr_overlapped *ov) {
  wr_list *q = ov->kind == WR_OP_SEND ? &s->sendq : &s->q;
  wr_overlapped *h;
  wr__ring_quiesce(s);
  /* the operations ahead of ov the kernel finished complete first */
  while ((h = q->head) != NULL && h != ov && h->phase == WR_PH_REAPED) {
    h->phase = 0;
    s->loop->plat.up->complete(s, h);
  }
  if (ov->phase == WR_PH_REAPED) {
    ov->phase = 0;
    return 1;
  }
  return 0;
}

void wr__ring_socket_close(wr_socket *s) {
  struct wr_ring_sock *rs = s->plat.ring;
  struct wr_ring *r = s->loop ? s->loop->plat.ring : NULL;
  if (rs == NULL) return;
  wr__ring_quiesce(s);
  if (r) {
    struct wr_ring_sock **p = &r->resume;
    while (*p && *p != rs) p = &(*p)->resume_next;
    if (*p) {                        /* its place there holds a reference */
      *p = rs->resume_next;
      wr__socket_unref(s);
    }
    unregister(r, rs);
    free_bgid(r, rs->bgid);
  }
  free(rs->br);
  free(rs->slot);
  free(rs);
  s->plat.ring = NULL;
}
