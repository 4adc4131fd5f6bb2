/*
** wr_linux.h -- what the Linux platform keeps in a socket and in a loop.
**
** Exports (types): wr_plat_socket, wr_plat_port, wr_plat_loop.
**
** wr_platform.h includes this header so that struct wr_socket and struct
** wr_loop (wr_int.h) can embed the platform's part by value, as libuv's
** uv.h embeds uv/unix.h's private fields: no allocation and no pointer to
** follow on the per-datagram path.  Only the wr_linux_*.c files read these
** fields; the engine never does.
*/
#ifndef WR_LINUX_H
#define WR_LINUX_H

#include <stdint.h>
#include <uv.h>

#include "wr.h"

struct wr_upcalls;
struct wr_ring;              /* the io_uring engine's (wr_linux_ring.c) */
struct wr_ring_sock;

/* watch bits (wr_plat_socket.watch) */
#define WR_W_INIT   0x01     /* the poll handle is initialised */
#define WR_W_OPEN   0x02     /* ... and not yet closed back (holds a ref) */

typedef struct wr_plat_socket {
  uv_poll_t poll;            /* its data points back to the wr_socket */
  unsigned watch;            /* WR_W_* */
  int events;                /* events the poll handle watches now */
  int dry;                   /* the last receive found the kernel empty */
  unsigned sticky;           /* a fatal stream error every later op gets */
  /* MSG_PARTIAL: the unread rest of one datagram, and where it came from */
  char *part;
  size_t part_len, part_off;
  struct sockaddr_storage part_name;
  socklen_t part_namelen;
  wr_socket *flush_next;     /* the loop's list of sockets to drain */
  int on_flush_list;         /* on that list (holds a ref) */
  int no_gso;                /* UDP GSO failed here once: not again */
  struct wr_ring_sock *ring; /* io_uring engine: the socket's multishot
                                receive and its buffer ring, once used */
} wr_plat_socket;

/* A completion port's part: its descriptor, once asked for. */
typedef struct wr_plat_port {
  struct wr_pollfd *pfd;
} wr_plat_port;

typedef struct wr_plat_loop {
  uv_loop_t uv;
  uv_timer_t timer;          /* bounds a timed wait */
  const struct wr_upcalls *up;   /* the engine's, from wr__plat_loop_init */
  struct wr_ring *ring;      /* the io_uring engine's ring (NULL: the poll
                                engine) */
  wr_socket *flush_list;     /* sockets whose posts were deferred */
  uint32_t *bcast;           /* interfaces' broadcast addresses (network */
  size_t nbcast;             /* order), refreshed at most once a second */
  uint64_t bcast_time;
  struct wr_pollfd *pfd;     /* the integrator's descriptor, once asked
                                for (wr_linux_pollfd.c) */
  struct wr_pollfd *pfds;    /* every descriptor made: the loop's and its
                                ports' */
  /* Ctrl-C in a wait (wr_linux_signal.c) */
  struct wr_sigslot *sig;    /* the eventfd SIGINT writes, once claimed */
  uv_poll_t sigpoll;         /* watches it (unreferenced: wakes, never
                                keeps the loop alive) */
  int waits;                 /* wait brackets open (they nest) */
  int armed;                 /* WR_SIG_*: this bracket's state */
  unsigned armed_at;         /* the SIGINT count when it was armed */
} wr_plat_loop;

/* wr_plat_loop.armed */
#define WR_SIG_OFF      0    /* not yet asked to block */
#define WR_SIG_ARMED    1    /* SIGINT wakes this loop */
#define WR_SIG_NOHANDLE 2    /* SIGINT is SIG_DFL or SIG_IGN: left alone */

#endif
