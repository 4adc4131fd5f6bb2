/*
** wr_int.h -- the core's private structures, shared by its .c files only.
*/
#ifndef WR_INT_H
#define WR_INT_H

#define WR_CORE            /* the private fields keep their names */
#include <uv.h>

#include "wr.h"

/* which list an overlapped object is on */
enum { WR_IN_NONE = 0, WR_IN_QUEUE, WR_IN_OOBQ, WR_IN_APC };

/* socket state bits */
#define WR_S_CLOSED      0x01   /* wr_close done: fd gone */
#define WR_S_SHUT_RD     0x02   /* shutdown(receive): WSAESHUTDOWN */
#define WR_S_BOUND       0x04   /* local address known */
#define WR_S_NBIO        0x08   /* FIONBIO: nonoverlapped calls never block */
#define WR_S_POLL_INIT   0x10   /* poll handle initialised */
#define WR_S_HANDLE_OPEN 0x20   /* poll handle not yet closed back */

/* options wsarecv must know the caller's view of (WR_O_*) */
#define WR_O_PKT4        0x01   /* the caller enabled IP_PKTINFO */
#define WR_O_PKT6        0x02   /* the caller enabled IPV6_PKTINFO */
#define WR_O_V6ONLY      0x04   /* IPV6_V6ONLY */
#define WR_O_AUTO        0x08   /* wsarecv enabled packet info itself */
#define WR_O_RECVERR     0x10   /* IP_RECVERR / IPV6_RECVERR */

struct wr_socket {
  uv_poll_t poll;            /* first: its data points back here */
  wr_loop *loop;             /* NULL once the loop is gone */
  int fd;
  int family, type, protocol;
  unsigned state;            /* WR_S_* */
  unsigned opts;             /* WR_O_* */
  int refs;                  /* owner + queued operations + open handle */
  int in_routine;            /* a routine of this socket is running */
  int events;                /* events the poll handle watches now */
  long rcvtimeo_ms;          /* SO_RCVTIMEO for nonoverlapped calls (0 off) */
  unsigned sticky;           /* a fatal stream error every later op gets */
  wr_list q;                 /* normal receives, in posting order */
  wr_list oobq;              /* MSG_OOB receives */
  size_t npending;
  /* MSG_PARTIAL: the unread rest of one datagram, and where it came from */
  char *part;
  size_t part_len, part_off;
  struct sockaddr_storage part_name;
  socklen_t part_namelen;
  int dry;                   /* the last receive found the kernel empty */
  wr_socket *prev, *next;    /* the loop's list of sockets */
  wr_socket *flush_next;     /* the loop's list of sockets to drain */
  int flush;                 /* on that list */
};

struct wr_loop {
  uv_loop_t uv;
  uv_timer_t timer;
  wr_list apc;               /* completed operations with routines */
  size_t npending;           /* operations pending on every socket */
  size_t napc;
  wr_socket *sockets;
  int interrupted;
  unsigned long apc_seq;     /* numbers APC entries in arrival order */
  int delivering;            /* routines running (nested waits count) */
  wr_socket *flush;          /* sockets whose posts were deferred */
  uint32_t *bcast;           /* interfaces' broadcast addresses (network */
  size_t nbcast;             /* order), refreshed at most once a second */
  uint64_t bcast_time;
  wr_event_hook hook;
  void *hook_data;
  struct wr_pollfd *pfd;     /* the integrator's descriptor (wr_pollfd.c) */
};

/* wr_msg.c */
/* Before the first WSARecvMsg: turn on the packet info MSG_BCAST/MCAST
** are derived from. */
void wr__msg_prepare(wr_socket *s);
/* After recvmsg into m->sysctl: copy what the caller asked for into its
** control buffer (what fits), derive flags.  Returns the output flags. */
unsigned wr__msg_filter(wr_socket *s, wr_msg *m, const struct msghdr *mh);
/* Drain one entry of the error queue (IP_RECVERR): its WSA code, or 0 if
** empty.  With m, the entry's messages and address land in m (no data). */
int wr__errqueue(wr_socket *s, wr_msg *m, unsigned *flags);
void wr__loop_free_bcast(wr_loop *loop);

/* wr_core.c */
void wr__list_push(wr_list *l, wr_overlapped *ov);
void wr__list_remove(wr_list *l, wr_overlapped *ov);
void wr__socket_ref(wr_socket *s);
void wr__sockets_link(wr_loop *loop, wr_socket *s);
/* Every pending operation of s completes with err, in posting order. */
void wr__fail_all(wr_socket *s, unsigned err);
int wr__socket_init(wr_loop *loop, int fd, wr_socket **out);
/* Wait (non-alertably, letting I/O progress) until fd is ready for events
** (POLLIN/POLLOUT/POLLPRI) or ms pass: 0 ready, WSAETIMEDOUT, or error. */
int wr__wait_fd(wr_socket *s, int events, long ms);

/* wr_pollfd.c: keep the integrator's descriptor in step (each is a no-op
** until someone asked for the descriptor) */
void wr__pollfd_kick(wr_loop *loop);      /* the APC queue got an entry */
void wr__pollfd_changed(wr_loop *loop);   /* a watch started, a handle closes */
void wr__pollfd_pumping(wr_loop *loop);   /* a libuv run begins */
void wr__pollfd_pumped(wr_loop *loop);    /* ... and ended */
void wr__pollfd_delivered(wr_loop *loop); /* an alertable delivery ended */
void wr__pollfd_free(wr_loop *loop);

#endif
