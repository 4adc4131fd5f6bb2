/*
** wr_platform.h -- the seam between the portable engine and the kernel.
**
** Exports: wr_upcalls; wr__plat_loop_init, wr__plat_loop_close,
**          wr__plat_pump, wr__plat_now, wr__plat_delivered,
**          wr__plat_engine, wr__plat_set_engine, wr__plat_peek,
**          wr__plat_resume,
**          wr__plat_socket_init, wr__plat_socket_close,
**          wr__plat_msg_prepare, wr__plat_start, wr__plat_watch,
**          wr__plat_cancel, wr__plat_poll_fd; wr__plat_pollfd,
**          wr__plat_timeout, wr__plat_wake, wr__plat_apc_queued,
**          wr__plat_clock; wr__plat_flush, wr__plat_port_queued,
**          wr__plat_port_pollfd, wr__plat_port_timeout,
**          wr__plat_port_close; wr__plat_wait_begin, wr__plat_wait_end,
**          wr__plat_signals, wr__plat_poll_wait; wr_cmsg_level,
**          wr_cmsg_rule, wr_cmsg_numbers, wr__plat_cmsg, wr__plat_pktinfo4,
**          wr__plat_pktinfo6, wr__plat_put_pktinfo4, wr__plat_put_pktinfo6,
**          wr__plat_ee.
**
** The engine (wr_ov.c, wr_recv.c, wr_socket.c, wr_loop.c, wr_port.c, and
** beside them wr_bsd.c and wr_cmsg.c) keeps the operations: their queues
** in posting order, their results, completion delivery, the waits.  It
** calls down into the platform only through the functions below.  The
** platform never calls the engine: it answers through return values, and
** reports an operation that finished later through the wr_upcalls the
** engine handed it at wr__plat_loop_init.
**
** Linux (wr_linux_*.c): a libuv poll handle watches each socket; when it
** fires, the platform serves the engine's queues from their heads with
** recvmsg and recvmmsg (sendmsg and sendmmsg, accept4, connect for the
** send queue and AcceptEx), emulating what the Linux kernel does not do the Winsock
** way (MSG_PARTIAL, MSG_WAITALL, MSG_OOB, sticky stream errors, error-queue
** reports).
**
** Windows (wr_win.c, wr_win_msg.c, wr_win_plat.h): the kernel has real
** overlapped I/O, so the platform hands each operation to WSARecv,
** WSARecvMsg, WSASend(To, Msg), AcceptEx or ConnectEx with an OVERLAPPED of its own (a wr_win_op, which the
** operation's private `plat` field points to while the kernel holds it)
** and relays the completion from the loop's completion port.  What each
** function does there is said with it ("Windows:").
*/
#ifndef WR_PLATFORM_H
#define WR_PLATFORM_H

#include "wr.h"

#ifdef _WIN32
#include "wr_win_plat.h"   /* wr_plat_socket, wr_plat_port, wr_plat_loop */
#else
#include "wr_linux.h"
#endif

WR_INTERNAL_BEGIN

/*
** The only ways up.  Both run inside a platform callback or call; neither
** runs a completion routine (those wait for an alertable wait).
*/
typedef struct wr_upcalls {
  /* ov, queued on s, has finished: its error, bytes and flags are set. */
  void (*complete)(wr_socket *s, wr_overlapped *ov);
  /* Every queued operation of s fails with err (the watch cannot start). */
  void (*fail_all)(wr_socket *s, unsigned err);
} wr_upcalls;

/* ---------------------------------------------------------------------
** The loop
** ------------------------------------------------------------------- */

/* 0 or a WSA code.  Windows: WSAStartup, the loop's completion port. */
int wr__plat_loop_init(wr_loop *loop, const wr_upcalls *up);
/*
** After every socket is closed: drop what the platform still holds, then
** free.  Windows: drop the packets still coming for orphaned operations
** (bounded), free the spare ops, close the port.
*/
void wr__plat_loop_close(wr_loop *loop);
/*
** Let I/O progress: wait up to ms (< 0: until something happens, 0: not at
** all) and report what finished through up->complete.  Windows:
** GetQueuedCompletionStatusEx on the loop's port (an orphan's packet is
** dropped).
*/
void wr__plat_pump(wr_loop *loop, long ms);
/* WR_ENGINE_*: the engine the loop uses.  Windows: WR_ENGINE_IOCP. */
int wr__plat_engine(const wr_loop *loop);
/*
** Change engines (the loop has no socket and no port): 0, or
** WSAEOPNOTSUPP (the kernel refuses it; wr__why notes why).  Windows:
** WSAEOPNOTSUPP for any but its own.
*/
int wr__plat_set_engine(wr_loop *loop, int engine);
/*
** Report what the kernel has already finished, with no syscall where the
** kernel posts completions in shared memory (io_uring's completion ring).
** Windows: nothing (a wait relays the port's packets).
*/
void wr__plat_peek(wr_loop *loop);
/*
** The engine took operations of s back (CancelIoEx, forget): what is
** still queued goes on as before.  Windows: nothing.
*/
void wr__plat_resume(wr_socket *s);
/* A monotonic clock in milliseconds.  Windows: QueryPerformanceCounter. */
uint64_t wr__plat_now(wr_loop *loop);
/*
** A delivery pass ended, having run `ran` routines: serve the receives
** they posted.  With none run it completes nothing: its caller, a wait,
** has looked at its objects and may block next (the pump serves what is
** held, then does not block).  Windows: nothing (each post went to the
** kernel at once).
*/
void wr__plat_delivered(wr_loop *loop, size_t ran);

/* ---------------------------------------------------------------------
** Sockets
** ------------------------------------------------------------------- */

/*
** s is new (fd, loop and type set).  A descriptor the platform cannot
** watch is still adopted: its receives fail.  Windows: associate the
** socket with the loop's port, and make it non-blocking underneath.
*/
void wr__plat_socket_init(wr_socket *s);
/*
** s is closing (its operations already cancelled): stop watching it.  The
** engine closes the descriptor after.  Windows: nothing.
*/
void wr__plat_socket_close(wr_socket *s);
/*
** Before the first WSARecvMsg: what the platform needs to derive
** MSG_BCAST and MSG_MCAST.  Windows: nothing (the kernel sets them).
*/
void wr__plat_msg_prepare(wr_socket *s);

/* ---------------------------------------------------------------------
** Operations
** ------------------------------------------------------------------- */

/*
** Start ov (its buffers captured, ov->sock set, not yet queued).  Returns
** 1 when ov finished at once (its error, bytes and flags set: a failure
** here means it never started), or 0 when it must wait: the engine then
** queues it, calls wr__plat_watch, and hears of it through up->complete.
** Windows: WSARecv(Msg), WSASend(To, Msg), AcceptEx or ConnectEx with the
** platform's OVERLAPPED: WSA_IO_PENDING is 0; finished at once (a
** receive's WSAEMSGSIZE too) is 1 with its result, and the packet it
** still queues is dropped; any other failure is 1 with it.
*/
int wr__plat_start(wr_socket *s, wr_overlapped *ov);
/* ov was queued on s after wr__plat_start said 0.  Windows: nothing. */
void wr__plat_watch(wr_socket *s);
/*
** The engine takes ov back before it finished (cancel, close, shutdown,
** forget): when this returns, the kernel touches ov's buffers no more.
** Returns 0 when ov was taken back unfinished (its result is the engine's
** to set), or 1 when the kernel had finished it first: its result is set,
** and the data it placed must be reported, not lost.  A send's bytes that
** left before the cancel are in ov->filled either way.  Windows:
** CancelIoEx, wait for that OVERLAPPED, take its result unless it was
** cancelled (a send's count all the same), and drop its completion
** packet.
*/
int wr__plat_cancel(wr_socket *s, wr_overlapped *ov);

/*
** Poll one descriptor for events (POLLIN, POLLOUT, ...) for up to ms
** (< 0: forever).  >0 ready (*revents set), 0 timed out, <0 failed
** (errno).  Windows: select (WSAPoll misses a failed connect on older
** Windows).
*/
int wr__plat_poll_fd(int fd, int events, long ms, short *revents);

/* ---------------------------------------------------------------------
** The loop inside another event loop (wr_loop_pollfd and friends)
** ------------------------------------------------------------------- */

/*
** The integrator's descriptor: readable while the loop has I/O to move or
** completions wait for an alertable wait (made on first call; 0 or a WSA
** code).  Windows: WSAEOPNOTSUPP (a completion port is no descriptor
** another loop could poll).
*/
int wr__plat_pollfd(wr_loop *loop, int *fd);
/* ms until the loop must run again for the platform's sake, or -1.
** Windows: -1. */
long wr__plat_timeout(wr_loop *loop);
/* Keep the descriptor readable until the next alertable delivery.
** Windows: nothing. */
void wr__plat_wake(wr_loop *loop);
/* A completion went onto the APC queue.  Windows: nothing. */
void wr__plat_apc_queued(wr_loop *loop);
/* Monotonic seconds.  Windows: QueryPerformanceCounter. */
double wr__plat_clock(void);

/* ---------------------------------------------------------------------
** Completion ports (wr_port.c keeps the queue; the platform only its
** descriptor, and the posts it defers)
** ------------------------------------------------------------------- */

/*
** Serve the receives posted since the last wait that the platform kept
** back (a port's sockets defer them, as routines' reposts are).  Windows:
** nothing.
*/
void wr__plat_flush(wr_loop *loop);
/* An entry went on port's queue.  Windows: nothing. */
void wr__plat_port_queued(wr_port *port);
/* The port's descriptor (made on first call): readable while the port
** has entries, or the loop has I/O to move.  0 or a WSA code.  Windows:
** WSAEOPNOTSUPP, as wr__plat_pollfd. */
int wr__plat_port_pollfd(wr_port *port, int *fd);
/* ms until the loop must run again for the port's sake, or -1. */
long wr__plat_port_timeout(wr_port *port);
/* The port closes (or its loop goes): drop its descriptor. */
void wr__plat_port_close(wr_port *port);

/* ---------------------------------------------------------------------
** Ctrl-C in a wait
** ------------------------------------------------------------------- */

/*
** A wait that may block ms (< 0: forever; 0: it will not block) begins,
** and ends (brackets nest; pair them).  While one that may block is open,
** SIGINT wakes the loop, when the process handles SIGINT (lua.c's
** handler, a host's): that handler is chained to, never replaced, and is
** back when the outermost bracket ends.  Windows: nothing (a wait holds a
** console Ctrl-C).
*/
void wr__plat_wait_begin(wr_loop *loop, long ms);
void wr__plat_wait_end(wr_loop *loop);
/*
** How many SIGINTs have woken waits so far: a wait that sees it change
** since it began ends with WSAEINTR.  Windows: always 0.
*/
unsigned wr__plat_signals(void);
/*
** wr__plat_poll_fd for a blocking call inside a wait bracket: also ends,
** -1 with errno EINTR, when a SIGINT comes.  Windows: wr__plat_poll_fd.
*/
int wr__plat_poll_wait(wr_loop *loop, int fd, int events, long ms,
                       short *revents);

/* ---------------------------------------------------------------------
** Control messages: the numbers the portable decoder (wr_cmsg.c) reads
** ------------------------------------------------------------------- */

/* How a record's payload reads (wr_cmsg_rule.how) */
enum wr_cmsg_how {
  WR_CD_INT = 1,       /* an int */
  WR_CD_INT_OR_BYTE,   /* an int, or a single byte (Linux's IP_TOS) */
  WR_CD_U32,           /* a 32-bit count */
  WR_CD_PKTINFO4,      /* the platform's IPv4 packet info (wr__plat_pktinfo4) */
  WR_CD_PKTINFO6,      /* the platform's IPv6 packet info (wr__plat_pktinfo6) */
  WR_CD_SOCKADDR4,     /* a sockaddr_in */
  WR_CD_SOCKADDR6,     /* a sockaddr_in6 */
  WR_CD_EE,            /* the platform's extended error (wr__plat_ee), then
                          the offender's sockaddr when one follows */
  WR_CD_TIMEVAL,       /* a struct timeval */
  WR_CD_TIMESPEC       /* a struct timespec */
};

/* A level the platform's records carry, and its name ("SOL_SOCKET"). */
typedef struct wr_cmsg_level {
  int level;
  const char *name;
} wr_cmsg_level;

/* One (level, type) the platform's kernel writes, and how it decodes. */
typedef struct wr_cmsg_rule {
  int level, type;
  int how;             /* enum wr_cmsg_how */
  int kind;            /* enum wr_cmsg_kind */
  const char *name;    /* the type's name, "IP_PKTINFO" */
} wr_cmsg_rule;

typedef struct wr_cmsg_numbers {
  size_t hdr_len;                 /* a record's header: CMSG_LEN(0) */
  size_t align;                   /* records start at multiples of it */
  const wr_cmsg_level *levels;    /* ends with name NULL */
  const wr_cmsg_rule *rules;      /* ends with name NULL */
} wr_cmsg_numbers;

/* The platform's numbers.  Windows: WSACMSGHDR's, and no Linux extras. */
extern const wr_cmsg_numbers wr__plat_cmsg;
/*
** The packet info in o's payload: 0 when it is too short; else *addr and
** *ifindex set, and 1, or 2 when the platform's structure also gives
** spec_dst (Linux's in_pktinfo; Windows' IN_PKTINFO has none).
*/
int wr__plat_pktinfo4(const wr_cmsg *o, struct in_addr *addr,
                      struct in_addr *spec_dst, unsigned *ifindex);
int wr__plat_pktinfo6(const wr_cmsg *o, struct in6_addr *addr,
                      unsigned *ifindex);
/*
** A send's packet info payload into out (room for 64 bytes): the source
** address (NULL: the system's choice) and the interface (0: any), the
** platform's structure (Linux takes the source from ipi_spec_dst, Windows
** from ipi_addr).  Its size.
*/
size_t wr__plat_put_pktinfo4(unsigned char *out, const struct in_addr *src,
                             unsigned ifindex);
size_t wr__plat_put_pktinfo6(unsigned char *out, const struct in6_addr *src,
                             unsigned ifindex);
/*
** The extended error in o's payload into o->ee: the size of the platform's
** structure (the offender's address may follow it), or 0 when the payload
** is too short.  Windows: 0 (it has no extended errors).
*/
size_t wr__plat_ee(wr_cmsg *o);

WR_INTERNAL_END

#endif
