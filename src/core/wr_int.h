/*
** wr_int.h -- the core's private ground floor: the socket and loop
** structures, the list and reference primitives every core file uses, and
** the engine's cross-file functions.  Nothing outside src/core includes it.
**
** Exports: struct wr_socket, struct wr_loop, struct wr_port, WR_UDP4_MAX,
**          WR_UDP6_MAX, WR_IN_*,
**          WR_S_*, WR_O_*, wr_cmsg_hdr;
**          inline: wr__list_push, wr__list_remove, wr__socket_ref,
**          wr__port_unref, wr__socket_unref, wr__finish, wr__closed,
**          wr__usable, wr__datagram, wr__message_oriented, wr__why,
**          wr__ov_busy, wr__cmsg_record;
**          wr_ov.c: wr__queue, wr__signal, wr__complete, wr__fail_all,
**          wr__fail_one,
**          wr__deliver, wr__has_deliverable;
**          wr_ov.c: wr__port_queue, wr__port_unlink,
**          wr__port_socket_closing, wr__port_abort_rearmed; wr_port.c:
**          wr__port_rearm_all, wr__port_loop_gone;
**          wr_ov.c: wr__settle; wr_post.c: wr_op_args, wr__start,
**          wr__repost;
**          wr_socket.c: wr__socket_new, wr__socket_bound,
**          wr__never_connected;
**          wr_errors.c: wr__wsa_from_io, wr__wsa_from_send; wr_addr.c: wr__addr_any,
**          wr__addr_ifindex.
**
** The invariants the asserts check (on in debug and sanitizer builds):
** an operation is on at most one list, the one its `where` names, linked
** consistently; a socket's npending counts its two queues, the loop's
** npending every socket's, napc the APC queue; no count and no reference
** count goes below zero, and a socket is freed closed.
*/
#ifndef WR_INT_H
#define WR_INT_H

#define WR_CORE            /* the private fields keep their names */
#include <assert.h>
#include <stdlib.h>

#include <string.h>

#include "wr.h"
#include "wr_platform.h"

WR_INTERNAL_BEGIN

/* Linux numbers older C library headers lack */
#ifndef SO_RXQ_OVFL
#define SO_RXQ_OVFL 40
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif

/* The largest UDP payload: 65535 bytes of IP packet, IPv4's 20-byte
** header inside them, IPv6's 40 not (its payload length excludes it). */
#define WR_UDP4_MAX (65535 - 20 - 8)
#define WR_UDP6_MAX (65535 - 8)

/* which list an overlapped object is on */
enum { WR_IN_NONE = 0, WR_IN_QUEUE, WR_IN_OOBQ, WR_IN_SENDQ, WR_IN_APC,
       WR_IN_PORT, WR_IN_REARM };

/* socket state bits */
#define WR_S_CLOSED      0x01   /* wr_close done: fd gone */
#define WR_S_SHUT_RD     0x02   /* shutdown(receive): WSAESHUTDOWN */
#define WR_S_BOUND       0x04   /* local address known */
#define WR_S_NBIO        0x08   /* FIONBIO: nonoverlapped calls never block */
#define WR_S_SHUT_WR     0x10   /* shutdown(send): sends fail WSAESHUTDOWN */
#define WR_S_CONNECTED   0x20   /* connect started or accepted: a later
                                   EPIPE is the peer's reset */
#define WR_S_CONNECTING  0x40   /* a ConnectEx is pending */

/* options wsarecv must know the caller's view of (WR_O_*) */
#define WR_O_PKT4        0x01   /* the caller enabled IP_PKTINFO */
#define WR_O_PKT6        0x02   /* the caller enabled IPV6_PKTINFO */
#define WR_O_V6ONLY      0x04   /* IPV6_V6ONLY */
#define WR_O_AUTO        0x08   /* wsarecv enabled packet info itself */
#define WR_O_RECVERR     0x10   /* IP_RECVERR / IPV6_RECVERR */

struct wr_socket {
  wr_loop *loop;             /* NULL once the loop is gone */
  int fd;
  int family, type, protocol;
  unsigned state;            /* WR_S_* */
  unsigned opts;             /* WR_O_* */
  int refs;                  /* owner + queued or undelivered operations +
                                what the platform holds (its watch, a
                                deferred drain) + a call in progress */
  int in_routine;            /* a routine of this socket is running */
  long rcvtimeo_ms;          /* SO_RCVTIMEO for nonoverlapped calls (0 off) */
  wr_list q;                 /* normal receives, in posting order */
  wr_list oobq;              /* MSG_OOB receives */
  wr_list sendq;             /* sends and a ConnectEx, in posting order */
  size_t npending;           /* on q, oobq and sendq */
  wr_overlapped *accepting;  /* the AcceptEx (on a listener) that will
                                make this socket its connection */
  wr_socket *prev, *next;    /* the loop's list of sockets */
  wr_port *port;             /* the completion port it belongs to (holds a
                                reference on it until s is freed) */
  uintptr_t key;             /* its completion key */
  wr_plat_socket plat;       /* the platform's (wr_linux.h) */
};

/*
** A completion port.  q holds the entries in completion order: objects of
** operations (each holding a reference on its socket, like the APC
** queue's) and posted packets (the core's own objects, `packet` set).
** rearm holds the objects to post again when the next wait begins.
*/
struct wr_port {
  wr_loop *loop;             /* NULL once the loop is gone */
  wr_list q;
  size_t nq;
  wr_list rearm;
  int refs;                  /* the owner + every associated socket */
  int closed;
  unsigned long seq;         /* numbers the entries as they are queued */
  wr_port *prev, *next;      /* the loop's list of ports */
  wr_plat_port plat;         /* the platform's (wr_linux.h) */
};

struct wr_loop {
  wr_list apc;               /* completed operations with routines */
  size_t npending;           /* operations pending on every socket */
  size_t napc;               /* on the APC queue */
  wr_socket *sockets;
  wr_port *ports;
  int interrupted;
  unsigned long apc_seq;     /* numbers APC entries in arrival order */
  int delivering;            /* routines running (nested waits count) */
  int rearming;              /* a port's wait reposts its rearm list: the
                                platform may batch until the flush after */
  wr_event_hook hook;
  void *hook_data;
  int why_code;              /* wr__why's note: the code returned, and */
  const char *why;           /* why (static text), until wr_loop_reason */
  wr_plat_loop plat;         /* the platform's (wr_linux.h) */
};

/* ---------------------------------------------------------------------
** Lists and references (inline: every datagram passes here)
** ------------------------------------------------------------------- */

static inline void wr__list_push(wr_list *l, wr_overlapped *ov) {
  assert(ov->link.prev == NULL && ov->link.next == NULL);
  assert(l->head != ov && (l->head == NULL) == (l->tail == NULL));
  ov->link.next = NULL;
  ov->link.prev = l->tail;
  if (l->tail) l->tail->link.next = ov;
  else l->head = ov;
  l->tail = ov;
}

static inline void wr__list_remove(wr_list *l, wr_overlapped *ov) {
  assert(ov->link.prev ? ov->link.prev->link.next == ov : l->head == ov);
  assert(ov->link.next ? ov->link.next->link.prev == ov : l->tail == ov);
  if (ov->link.prev) ov->link.prev->link.next = ov->link.next;
  else l->head = ov->link.next;
  if (ov->link.next) ov->link.next->link.prev = ov->link.prev;
  else l->tail = ov->link.prev;
  ov->link.prev = ov->link.next = NULL;
}

static inline void wr__socket_ref(wr_socket *s) { s->refs++; }

/* The port's last reference (its owner's or a socket's) frees it. */
static inline void wr__port_unref(wr_port *port) {
  assert(port->refs > 0);
  if (--port->refs == 0) {
    assert(port->closed && port->nq == 0 && port->q.head == NULL);
    assert(port->rearm.head == NULL);
    free(port);
  }
}

/* The last reference frees s: by then it is closed, its platform part
** released (wr_close); it lets its port go. */
static inline void wr__socket_unref(wr_socket *s) {
  assert(s->refs > 0);
  if (--s->refs == 0) {
    assert(s->state & WR_S_CLOSED);
    if (s->port) wr__port_unref(s->port);
    free(s);
  }
}

/* Set ov's result: what WSAGetOverlappedResult will report. */
static inline void wr__finish(wr_overlapped *ov, unsigned err, size_t n,
                              unsigned fl) {
  ov->error = err;
  ov->bytes = n;
  ov->flags = fl;
}

static inline int wr__closed(const wr_socket *s) {
  return (s->state & WR_S_CLOSED) != 0;
}

/* Is s usable at all: 0, or WSAENOTSOCK once closed. */
static inline int wr__usable(const wr_socket *s) {
  return wr__closed(s) ? WSAENOTSOCK : 0;
}

/* A datagram or raw socket: WSARecvMsg's kind, and recvmmsg's. */
static inline int wr__datagram(const wr_socket *s) {
  return s->type == SOCK_DGRAM || s->type == SOCK_RAW;
}

/* Message boundaries kept: a datagram, raw or seqpacket socket. */
static inline int wr__message_oriented(const wr_socket *s) {
  return wr__datagram(s) || s->type == SOCK_SEQPACKET;
}

/*
** Return code, noting why for wr_loop_reason: one of several causes a
** code has (WSAEINVAL above all), said where the code is returned.  A
** static sentence: nothing allocated, nothing to free.
*/
static inline int wr__why(wr_loop *loop, int code, const char *why) {
  if (loop) {
    loop->why_code = code;
    loop->why = why;
  }
  return code;
}

/* Pending, or its completion not yet delivered (on the APC queue, on a
** port's queue, or waiting there to be rearmed). */
static inline int wr__ov_busy(const wr_overlapped *ov) {
  return ov->state == WR_OV_PENDING || ov->where >= WR_IN_APC;
}

/* ---------------------------------------------------------------------
** The engine's cross-file functions
** ------------------------------------------------------------------- */

/* wr_ov.c */
/* ov (ov->sock = s) is pending on its queue, holding a reference. */
void wr__queue(wr_socket *s, wr_overlapped *ov);
/* ov, on no list, is finished: signal it.  The caller's reference on s
** moves to the completion. */
void wr__signal(wr_socket *s, wr_overlapped *ov);
/* A queued ov finished: dequeue and signal it (the platform's upcall). */
void wr__complete(wr_socket *s, wr_overlapped *ov);
/* Every queued operation of s completes with err, in posting order
** (normal data first): cancel, close, shutdown, a watch that failed. */
void wr__fail_all(wr_socket *s, unsigned err);
/* The same for one queued operation. */
void wr__fail_one(wr_socket *s, wr_overlapped *ov, unsigned err);
/* Run the routines queued when the pass began; the number run. */
size_t wr__deliver(wr_loop *loop);
int wr__has_deliverable(wr_loop *loop);

/* wr_ov.c: the port's lists, below every caller */
/* ov (no routine, on no list) is finished on s, which has a port: queue
** its entry (the reference on s moves to it). */
void wr__port_queue(wr_port *port, wr_socket *s, wr_overlapped *ov);
/* ov, on port's queue or rearm list, comes off it. */
void wr__port_unlink(wr_port *port, wr_overlapped *ov);
/* wr_port.c */
/* Post again the objects the last wait took with rearm set. */
void wr__port_rearm_all(wr_port *port);
/* wr_ov.c */
/* s is closing: its objects waiting to be reposted complete, aborted. */
void wr__port_socket_closing(wr_socket *s);
/* The same for one of them (only), or all of s (NULL): how many. */
size_t wr__port_abort_rearmed(wr_socket *s, const wr_overlapped *only);
/* wr_port.c */
/* The loop is going: drop every port's entries, detach the ports. */
void wr__port_loop_gone(wr_loop *loop);

/* wr_ov.c */
/* ov finished (or failed to start): what it did to its sockets -- a
** connection made (AcceptEx's, ConnectEx's), an address taken (a send's
** implicit bind). */
void wr__settle(wr_socket *s, wr_overlapped *ov);

/* wr_post.c */
/* An operation to post, its page's rules checked (wr_recv.c, wr_send.c) */
typedef struct wr_op_args {
  int kind;                         /* WR_OP_* */
  wr_wsabuf *bufs;
  size_t nbufs;
  unsigned flags;                   /* the input flags */
  wr_completion_routine routine;
  wr_msg *msg;
  const struct sockaddr *addr;      /* WSASendTo's, ConnectEx's (or NULL) */
  socklen_t addrlen;
  wr_socket *peer;                  /* AcceptEx's accept socket */
} wr_op_args;
/*
** Post it on ov (NULL: nonoverlapped, wait for it on a stack object).
** 0 (done at once: *bytes, *flags set; the completion follows when ov is
** given), WSA_IO_PENDING, or a failure (nothing follows; *bytes set when
** data moved).
*/
int wr__start(wr_socket *s, wr_overlapped *ov, const wr_op_args *a,
              size_t *bytes, unsigned *flags);
/* Post ov again, with what it captured last time (a rearm): 0,
** WSA_IO_PENDING or the failure (then ov is finished with it). */
int wr__repost(wr_socket *s, wr_overlapped *ov);

/* wr_socket.c */
/* A socket around fd, its type learnt: 0 or a WSA code (fd kept). */
int wr__socket_new(wr_loop *loop, int fd, wr_socket **out);
/* "The socket's local address must be known": 0 or WSAEINVAL. */
int wr__socket_bound(wr_socket *s);
/*
** A stream socket that never connected (a listener too): 1.  A send on it
** is WSAENOTCONN, as Windows says it, asked before any call (Wine says
** WSAECONNRESET, and on a listener leaves an overlapped send pending for
** ever).  The engine marks every connection it makes or learns of; one
** made behind its back (a wrapped descriptor another library connected)
** is learnt here.
*/
int wr__never_connected(wr_socket *s);

/* wr_errors.c */
/* errno from a receive or a send -> WSA (ICMP port unreachable is
** WSAECONNRESET on a datagram socket, as on Windows). */
int wr__wsa_from_io(int err);
/* errno from a send on s -> WSA: Linux's EPIPE is WSAESHUTDOWN after
** shutdown(send), WSAENOTCONN on a socket never connected, and
** WSAECONNRESET on a connection the peer reset. */
int wr__wsa_from_send(const wr_socket *s, int err);

/* wr_addr.c: interface text */
/* "*" or "": any address, any interface (the system's choice). */
int wr__addr_any(const char *text);
/*
** Interface text to an index: decimal text is that index (up to 2^32 - 1;
** whether an interface has it is the call's to say), other text an
** interface's name.  0, or WSAEADDRNOTAVAIL: no interface has that name.
*/
int wr__addr_ifindex(const char *text, unsigned *index);

/*
** One record of a control buffer: untrusted input (the caller can write
** the buffer, or use it as data buffer of another receive), so this is the
** walk's one rule, for both platforms.  The record at *pos is read when a
** header (hl bytes) fits in the bytes left and its length covers the
** header without passing them.  The step is the length rounded up to
** `align` (a power of two): at least a header, so the walk advances; a
** step that reaches or passes the end, or whose rounding wraps, ends the
** walk.  Sets out's level, type, data and len (the rest zeroed); 1, or 0
** at the end.  Both headers are { size_t len; int level; int type; }
** (cmsghdr, WSACMSGHDR): each platform checks that its own is.
*/
typedef struct wr_cmsg_hdr {
  size_t len;
  int level, type;
} wr_cmsg_hdr;

static inline int wr__cmsg_record(const void *control, size_t used,
                                  size_t *pos, size_t hl, size_t align,
                                  wr_cmsg *out) {
  wr_cmsg_hdr h;
  const unsigned char *rec;
  size_t left, step;
  if (control == NULL || *pos >= used || used - *pos < hl) return 0;
  left = used - *pos;
  rec = (const unsigned char *)control + *pos;
  memcpy(&h, rec, sizeof h);                  /* no alignment assumed */
  if (h.len < hl || h.len > left) return 0;
  step = (h.len + align - 1) & ~(align - 1);
  *pos = step >= h.len && step < left ? *pos + step : used;
  memset(out, 0, sizeof *out);
  out->level = h.level;
  out->type = h.type;
  out->data = rec + hl;
  out->len = h.len - hl;
  return 1;
}

WR_INTERNAL_END

#endif
