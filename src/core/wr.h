/*
** wr.h -- the wsarecv core: Winsock-style overlapped receive on libuv.
**
** This header reads like the Winsock pages it implements (WSARecv,
** WSARecvMsg, WSAGetOverlappedResult, WSAWaitForMultipleEvents, SleepEx,
** CancelIoEx).  It knows sockets, WSABUF arrays, operation queues,
** errno -> WSA codes and completion routines as C function pointers.  It
** knows nothing of Lua: the binding (src/l*.c) sits on top.  The core's
** rooms and floors: docs/ARCHITECTURE.md.
**
** Every call that can fail returns 0 or a WSA error code (never -1 plus a
** thread-local "last error"): WSA_IO_PENDING (997) means "started, will
** complete later", as WSARecv's SOCKET_ERROR + WSA_IO_PENDING does.
*/
#ifndef WR_H
#define WR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#ifdef _WIN32
/* Winsock's own types: SOCKADDR_STORAGE, WSABUF, socklen_t, AF_UNIX */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <afunix.h>
#include <iphlpapi.h>        /* if_nametoindex, if_indextoname, IF_NAMESIZE */
/* the BSD names of shutdown's `how` */
#define SHUT_RD SD_RECEIVE
#define SHUT_WR SD_SEND
#define SHUT_RDWR SD_BOTH
#else
#include <sys/socket.h>
#include <sys/uio.h>
#endif

/*
** The library exports one symbol, luaopen_wsarecv_core.  Everything the
** core and the binding declare is internal to it: each header brackets
** its declarations with these two (after its #includes, which must stay
** outside), so that the library hides them whatever flags its build
** passes (LuaRocks' builtin build passes none).  A Windows DLL exports
** only what is marked dllexport, so there they are empty.
*/
#if defined(__GNUC__) && !defined(_WIN32)
#define WR_INTERNAL_BEGIN _Pragma("GCC visibility push(hidden)")
#define WR_INTERNAL_END _Pragma("GCC visibility pop")
#else
#define WR_INTERNAL_BEGIN
#define WR_INTERNAL_END
#endif

WR_INTERNAL_BEGIN

/* ---------------------------------------------------------------------
** Error codes (the Windows values; on Windows, Winsock's own)
** ------------------------------------------------------------------- */
#define WR_ERROR_INVALID_HANDLE   6
#define WR_ERROR_NOT_FOUND        1168
#ifndef _WIN32
#define WSA_INVALID_PARAMETER     87
#define WSA_NOT_ENOUGH_MEMORY     8
#define WSA_OPERATION_ABORTED     995
#define WSA_IO_INCOMPLETE         996
#define WSA_IO_PENDING            997
#define WSAEINTR                  10004
#define WSAEBADF                  10009
#define WSAEACCES                 10013
#define WSAEFAULT                 10014
#define WSAEINVAL                 10022
#define WSAEMFILE                 10024
#define WSAEWOULDBLOCK            10035
#define WSAEINPROGRESS            10036
#define WSAEALREADY               10037
#define WSAENOTSOCK               10038
#define WSAEDESTADDRREQ           10039
#define WSAEMSGSIZE               10040
#define WSAEPROTOTYPE             10041
#define WSAENOPROTOOPT            10042
#define WSAEPROTONOSUPPORT        10043
#define WSAESOCKTNOSUPPORT        10044
#define WSAEOPNOTSUPP             10045
#define WSAEPFNOSUPPORT           10046
#define WSAEAFNOSUPPORT           10047
#define WSAEADDRINUSE             10048
#define WSAEADDRNOTAVAIL          10049
#define WSAENETDOWN               10050
#define WSAENETUNREACH            10051
#define WSAENETRESET              10052
#define WSAECONNABORTED           10053
#define WSAECONNRESET             10054
#define WSAENOBUFS                10055
#define WSAEISCONN                10056
#define WSAENOTCONN               10057
#define WSAESHUTDOWN              10058
#define WSAETIMEDOUT              10060
#define WSAECONNREFUSED           10061
#define WSAELOOP                  10062
#define WSAENAMETOOLONG           10063
#define WSAEHOSTDOWN              10064
#define WSAEHOSTUNREACH           10065
#define WSASYSNOTREADY            10091
#define WSANOTINITIALISED         10093
#define WSAEDISCON                10101
#define WSASYSCALLFAILURE         10107
#define WSAHOST_NOT_FOUND         11001
#define WSATRY_AGAIN              11002
#define WSANO_RECOVERY            11003
#define WSANO_DATA                11004
#endif

/* wait results (WaitForMultipleObjectsEx / SleepEx) */
#define WR_WAIT_OBJECT_0          0
#define WR_WAIT_IO_COMPLETION     0xC0
#define WR_WAIT_TIMEOUT           0x102
#define WR_INFINITE               (-1L)

/* ---------------------------------------------------------------------
** Flags (the Windows values, not Linux's)
** ------------------------------------------------------------------- */
#define WR_MSG_OOB                0x1
#define WR_MSG_PEEK               0x2
#define WR_MSG_WAITALL            0x8
#define WR_MSG_PUSH_IMMEDIATE     0x20
#define WR_MSG_TRUNC              0x100
#define WR_MSG_CTRUNC             0x200
#define WR_MSG_BCAST              0x400
#define WR_MSG_MCAST              0x800
#define WR_MSG_PARTIAL            0x8000

/*
** Fields that belong to the core.  Inside src/core (which defines WR_CORE)
** they keep their names; anywhere else each is renamed, so code outside the
** core that reaches for one does not compile.  The layout is the same, so
** the binding can still embed the structures.
*/
#ifdef WR_CORE
#define WR_PRIVATE(name) name
#else
#define WR_PRIVATE(name) name##_private_to_the_core
#endif

/*
** Most operations one socket may have outstanding.  Past it WSARecv fails
** with WSAEWOULDBLOCK ("too many outstanding overlapped I/O requests").
*/
#define WR_MAX_PENDING            4096

/* How many WSABUFs an overlapped object holds without a malloc. */
#define WR_IOV_INLINE             4

/*
** Bytes a caller may reserve in front of a receive's first WSABUF
** (wr_overlapped.headroom): the io_uring engine has the kernel write a
** datagram's header, source address and control messages there, so that
** a WSARecvMsg's payload lands at the start of the caller's buffer.
** Windows needs none.
*/
#ifdef _WIN32
#define WR_HEADROOM               0
#else
#define WR_HEADROOM               512
#endif

/*
** A WSABUF is the kernel's own layout, so the queue hands the array to the
** receive call unchanged: on Linux a struct iovec { iov_base, iov_len }, on
** Windows the WSABUF { len, buf } itself (its fields in the other order,
** its length a ULONG).  Read and write one only through these macros.
*/
#ifdef _WIN32
typedef WSABUF wr_wsabuf;
#define WR_WSABUF_SET(b, p, n) ((b)->buf = (char *)(p), (b)->len = (ULONG)(n))
#define WR_WSABUF_BUF(b)       ((void *)(b)->buf)
#define WR_WSABUF_LEN(b)       ((size_t)(b)->len)
#else
typedef struct iovec wr_wsabuf;
#define WR_WSABUF_SET(b, p, n) ((b)->iov_base = (p), (b)->iov_len = (n))
#define WR_WSABUF_BUF(b)       ((b)->iov_base)
#define WR_WSABUF_LEN(b)       ((b)->iov_len)
#endif

typedef struct wr_loop wr_loop;
typedef struct wr_socket wr_socket;
typedef struct wr_port wr_port;
typedef struct wr_overlapped wr_overlapped;
typedef struct wr_msg wr_msg;

/*
** LPWSAOVERLAPPED_COMPLETION_ROUTINE: dwError (0 or a WSA code),
** cbTransferred, lpOverlapped, dwFlags.  Runs only inside an alertable
** wait; never nested for one socket.
*/
typedef void (*wr_completion_routine)(unsigned error, size_t bytes,
                                      wr_overlapped *ov, unsigned flags);

/* What an operation does (the core's; wr_overlapped_kind reads it). */
enum wr_op_kind {
  WR_OP_RECV = 0,      /* WSARecv, WSARecvMsg */
  WR_OP_SEND,          /* WSASend, WSASendTo, WSASendMsg */
  WR_OP_ACCEPT,        /* AcceptEx (posted on the listener) */
  WR_OP_CONNECT        /* ConnectEx */
};

/* The life of an overlapped object, seen as an event object. */
enum wr_ov_state {
  WR_OV_IDLE = 0,      /* never posted: event not signalled */
  WR_OV_PENDING,       /* posted, not complete */
  WR_OV_DONE           /* complete: event signalled until reposted */
};

typedef struct wr_link {
  wr_overlapped *prev, *next;
} wr_link;

typedef struct wr_list {
  wr_overlapped *head, *tail;
} wr_list;

/*
** WSAMSG, the part the core needs: where the source address and the
** control messages go.  Filled by wr_recvmsg on completion.
*/
struct wr_msg {
  /* the caller's */
  struct sockaddr_storage name;   /* out: the source address */
  socklen_t namelen;              /* out: its size (0: none) */
  unsigned in_flags;              /* in: 0 or MSG_PEEK (kept apart so a
                                     msg reuses) */
  unsigned flags;                 /* out: MSG_TRUNC, MSG_CTRUNC, MSG_BCAST,
                                     MSG_MCAST */
  size_t length;                  /* out: the message's full length, as the
                                     kernel reported it (bytes placed plus
                                     bytes discarded); set with the name */
  /* the core's (wr_msg_init sets them; read with the accessors below) */
  void *WR_PRIVATE(control);      /* control buffer (caller's memory) */
  size_t WR_PRIVATE(controllen);  /* its capacity */
  size_t WR_PRIVATE(controlused); /* bytes of control messages placed */
  void *WR_PRIVATE(sysctl);       /* what the kernel writes: the caller's
                                     messages plus wsarecv's own */
  size_t WR_PRIVATE(sysctlcap);
  void *WR_PRIVATE(sendctl);      /* a send's control messages, encoded */
  size_t WR_PRIVATE(sendctllen);  /* (wr_msg_put_control), and their size */
  int WR_PRIVATE(pending);        /* an operation holds it: from the post
                                     until its completion is delivered (the
                                     routine is called, or, without one,
                                     the object is signalled) */
};

/*
** WSAOVERLAPPED.  Public fields are read by the caller after completion;
** the rest belong to the core.  The caller owns the memory and keeps it
** valid while the operation is pending (or calls wr_overlapped_forget).
*/
struct wr_overlapped {
  /* what WSAGetOverlappedResult reports */
  int state;                  /* enum wr_ov_state */
  unsigned error;             /* 0 or a WSA code */
  size_t bytes;
  unsigned flags;             /* output flags */
  void *hEvent;               /* free for the caller (context); with its
                                 low bit set (WR_NOPORT), a completion
                                 never goes to a port, as on Windows */
  unsigned char headroom;     /* set before a post: the WR_HEADROOM bytes
                                 in front of the first WSABUF are the
                                 core's while the operation is pending */

  /* the core's */
  wr_completion_routine WR_PRIVATE(routine);
  wr_socket *WR_PRIVATE(sock);
  wr_link WR_PRIVATE(link);   /* in a socket queue or the APC queue */
  int WR_PRIVATE(where);      /* which list holds it (WR_IN_*) */
  unsigned WR_PRIVATE(in_flags);
  wr_wsabuf *WR_PRIVATE(iov); /* captured WSABUF array (shrinks under
                                 MSG_WAITALL) */
  size_t WR_PRIVATE(iovcnt);
  size_t WR_PRIVATE(total);   /* capacity of the whole array */
  size_t WR_PRIVATE(filled);  /* bytes placed so far (MSG_WAITALL) */
  wr_msg *WR_PRIVATE(msg);    /* WSARecvMsg only */
  unsigned long WR_PRIVATE(seq);     /* order of arrival in the APC queue,
                                        or a port's queue */
  unsigned WR_PRIVATE(internal) : 1; /* a nonoverlapped call's stack object */
  unsigned WR_PRIVATE(packet) : 1;   /* wr_port_post's, the core's memory */
  unsigned WR_PRIVATE(rearm) : 1;    /* repost when its entry was taken */
  uintptr_t WR_PRIVATE(key);  /* in a port's queue: the completion key */
  size_t WR_PRIVATE(nbufs);   /* the WSABUFs captured (a rearm's count) */
  unsigned char WR_PRIVATE(kind);    /* WR_OP_*: what it does */
  unsigned char WR_PRIVATE(phase);   /* how far an accept or connect got
                                        (the platform's) */
  socklen_t WR_PRIVATE(addrlen);     /* WSASendTo's or ConnectEx's address */
  struct sockaddr_storage WR_PRIVATE(addr);
  wr_socket *WR_PRIVATE(peer);       /* AcceptEx: the accept socket (held) */
  wr_wsabuf WR_PRIVATE(iov_inline)[WR_IOV_INLINE];
  wr_wsabuf *WR_PRIVATE(iov_heap);
  size_t WR_PRIVATE(iov_cap);
#ifdef _WIN32
  struct wr_win_op *WR_PRIVATE(plat);  /* its OVERLAPPED while the kernel
                                          has it (wr_win_plat.h) */
#endif
};

/* ---------------------------------------------------------------------
** The loop: one per Lua state (one per thread in C).
** ------------------------------------------------------------------- */

/*
** Called when an operation without a routine completes (its event is
** signalled), from inside libuv's poll phase.  Must not reenter the core.
*/
typedef void (*wr_event_hook)(wr_overlapped *ov, void *data);

int wr_loop_new(wr_loop **out, wr_event_hook hook, void *data);
/* Drops every operation (no routine runs), closes every socket, frees. */
void wr_loop_destroy(wr_loop *loop);
/* From inside a completion routine: stop delivering after this one. */
void wr_loop_interrupt(wr_loop *loop);
/* Nonzero if a delivery was interrupted; clears the mark. */
int wr_loop_interrupted(wr_loop *loop);
/*
** Why the last call failed with `code`, when the code has several causes:
** a short static sentence the core noted where it returned the code
** ("the socket is not bound"), or NULL (none noted, or the last note was
** for another code).  Reading it forgets the note.
*/
const char *wr_loop_reason(wr_loop *loop, int code);

/*
** The engine that moves the loop's I/O.  Linux has two: io_uring (the
** kernel fills posted buffers while the thread computes, as on Windows)
** and poll (libuv readiness, then recvmsg inside wsarecv's calls).  The
** loop takes WSARECV_ENGINE's ("io_uring" or "poll") or, unset, io_uring
** where the kernel allows it.  Windows has one: iocp.
*/
enum { WR_ENGINE_POLL = 1, WR_ENGINE_URING, WR_ENGINE_IOCP };
int wr_loop_engine(const wr_loop *loop);
/* Its name: "io_uring", "poll", "iocp". */
const char *wr_engine_name(int engine);
/*
** Use another engine: 0, WSAEINVAL while the loop has sockets or ports
** (an operation cannot change engines), or WSAEOPNOTSUPP when the kernel
** refuses it (wr_loop_reason says why).
*/
int wr_loop_set_engine(wr_loop *loop, int engine);
/*
** Let the completions the kernel has already posted land, without a
** syscall and without running a routine (ports get their entries, events
** are signalled): what HasOverlappedIoCompleted sees on Windows.  Nothing
** on an engine that moves data only inside a wait.
*/
void wr_loop_peek(wr_loop *loop);
/* Does an operation pending in the loop use bytes of [p, p + len)? */
int wr_loop_holds(const wr_loop *loop, const void *p, size_t len);

/* ---------------------------------------------------------------------
** Sockets (the BSD calls; each returns 0 or a WSA code)
** ------------------------------------------------------------------- */

int wr_socket_open(wr_loop *loop, int family, int type, int protocol,
                   wr_socket **out);
/* Adopt an existing descriptor (WSAENOTSOCK is reported on use). */
int wr_socket_adopt(wr_loop *loop, int fd, wr_socket **out);
/* Adopt a duplicate of fd (F_DUPFD_CLOEXEC): the caller keeps and closes fd. */
int wr_socket_adopt_dup(wr_loop *loop, int fd, wr_socket **out);
/* Cancels every pending operation (WSA_OPERATION_ABORTED), closes the fd. */
void wr_close(wr_socket *s);
/* Drop the caller's reference; memory goes when nothing else holds it. */
void wr_socket_release(wr_socket *s);

int wr_socket_fd(const wr_socket *s);      /* -1 once closed */
int wr_socket_type(const wr_socket *s);    /* SOCK_STREAM, ... */
int wr_socket_family(const wr_socket *s);
int wr_socket_closed(const wr_socket *s);
/* IPV6_V6ONLY is on (an inet6 socket that takes no IPv4 traffic) */
int wr_socket_v6only(const wr_socket *s);
size_t wr_socket_pending(const wr_socket *s);

int wr_bind(wr_socket *s, const struct sockaddr *sa, socklen_t len);
int wr_connect(wr_socket *s, const struct sockaddr *sa, socklen_t len);
int wr_listen(wr_socket *s, int backlog);
int wr_accept(wr_socket *s, wr_socket **out, struct sockaddr_storage *peer,
              socklen_t *len);
/* The BSD send (send, sendto): it blocks unless FIONBIO is set (the name
** wr_send is left for an overlapped WSASend).  flags: 0 or WR_MSG_OOB (TCP
** urgent data). */
int wr_send_blocking(wr_socket *s, const void *data, size_t len,
                     unsigned flags, const struct sockaddr *to,
                     socklen_t tolen, size_t *sent);
int wr_shutdown(wr_socket *s, int how);     /* SHUT_RD/SHUT_WR/SHUT_RDWR */
int wr_getsockname(wr_socket *s, struct sockaddr_storage *sa, socklen_t *len);
int wr_getpeername(wr_socket *s, struct sockaddr_storage *sa, socklen_t *len);

/* Socket options by Winsock/BSD name. */
enum wr_opt_kind {
  WR_OPT_BOOL, WR_OPT_INT, WR_OPT_FIONBIO, WR_OPT_RCVTIMEO,
  WR_OPT_MEMBERSHIP, WR_OPT_GETONLY, WR_OPT_MULTICAST_IF
};
typedef struct wr_sockopt {
  const char *name;
  int level, optname;
  int kind;             /* enum wr_opt_kind */
} wr_sockopt;
const wr_sockopt *wr_sockopt_find(const char *name);
int wr_setsockopt_int(wr_socket *s, const wr_sockopt *o, long value);
int wr_getsockopt_int(wr_socket *s, const wr_sockopt *o, long *value);
/*
** IP_ADD_MEMBERSHIP and IPV6_ADD_MEMBERSHIP (and the DROP pair).  iface
** (NULL: none) as wr_set_multicast_if reads it.  WSAEINVAL: a group that
** is no address of the option's family; WSAEADDRNOTAVAIL: no such
** interface.
*/
int wr_membership(wr_socket *s, const wr_sockopt *o, const char *group,
                  const char *iface);
/*
** IP_MULTICAST_IF and IPV6_MULTICAST_IF: the interface multicast is sent
** from.  iface names it, read in this order: "*" or "" (the system's
** choice again), for IPv4 an address of the interface ("127.0.0.1";
** 0.0.0.x is index x, as on Windows), a decimal index, an interface name
** ("lo"); iface NULL: by index alone (0: the system's choice).
** WSAEADDRNOTAVAIL: no such interface.
*/
int wr_set_multicast_if(wr_socket *s, const wr_sockopt *o, const char *iface,
                        unsigned index);
/*
** Read back: IPv4 gives the interface's address as text in addr (at least
** 16 bytes; "0.0.0.0": the system's choice), IPv6 its index in *index
** (0: the system's choice) and "" in addr.
*/
int wr_get_multicast_if(wr_socket *s, const wr_sockopt *o, char *addr,
                        size_t addrsize, unsigned *index);

/* ---------------------------------------------------------------------
** Addresses
** ------------------------------------------------------------------- */

/*
** Text + port -> sockaddr for a socket of family `family` (AF_UNIX takes a
** path).  "*" is any, "localhost" the loopback address.  Numeric text is
** parsed without a lookup (nor an allocation); an AF_INET6 socket takes
** IPv4 text as a v4-mapped address unless v6only.  Other text that can be
** a host name is looked up (getaddrinfo, the socket's family; the first
** address it gives; this blocks while it runs).
** WSAEAFNOSUPPORT: IPv6 text for AF_INET, IPv4 text for a v6only socket.
** WSAHOST_NOT_FOUND: no address (text that is no address nor a name, a
** name that does not exist, a scope -- fe80::1%eth0 -- that is neither a
** number nor an interface name).  A lookup that failed otherwise, as
** Windows' getaddrinfo says it: WSATRY_AGAIN (no answer yet: the name
** server could not be reached), WSANO_RECOVERY, WSANO_DATA (the name
** exists, with no address of this family).
*/
int wr_addr_parse(int family, int v6only, const char *text, int port,
                  struct sockaddr_storage *sa, socklen_t *len);
/* sockaddr -> text (buf of at least 108 bytes) and port (-1 for unix) */
int wr_addr_format(const struct sockaddr *sa, socklen_t len, char *buf,
                   size_t bufsize, int *port);

/* ---------------------------------------------------------------------
** Overlapped receive
** ------------------------------------------------------------------- */

/* Zero an overlapped object before first use. */
void wr_overlapped_init(wr_overlapped *ov);
/*
** Still in use: pending, or complete with its routine not yet run.  Such an
** object cannot be posted again (WSAEINVAL), as on Windows an OVERLAPPED
** belongs to its operation until the completion has been delivered.
*/
int wr_overlapped_busy(const wr_overlapped *ov);
/* Why a post of a busy object fails (wr_loop_reason), and of a busy msg. */
#define WR_WHY_BUSY "the overlapped object is in use: its operation is " \
  "pending, or its completion not yet delivered (a routine to run, a " \
  "port entry to take)"
#define WR_WHY_MSG_BUSY "the msg is in use by a WSARecvMsg whose " \
  "completion is not yet delivered"
/* Storage for n WSABUFs inside ov (NULL on out-of-memory). */
wr_wsabuf *wr_overlapped_bufs(wr_overlapped *ov, size_t n);
/* Unlink a (pending) operation without completing it; frees ov's memory. */
void wr_overlapped_forget(wr_overlapped *ov);
/* The msg of the WSARecvMsg ov last carried (NULL for a WSARecv). */
wr_msg *wr_overlapped_msg(const wr_overlapped *ov);

/*
** WSARecv.  ov == NULL and routine == NULL: nonoverlapped (bufs is read in
** place; blocks unless FIONBIO; SO_RCVTIMEO -> WSAETIMEDOUT).  Otherwise
** overlapped: bufs must be the array returned by wr_overlapped_bufs(ov).
** *flags is read (the input flags) and written (the output flags).
** Returns 0 (completed at once: *bytes and *flags set, and the routine is
** queued), WSA_IO_PENDING, or a WSA code (no completion will follow; when
** data was placed, *bytes says how much).  A datagram too big for the
** buffers is WSAEMSGSIZE with the bytes placed: returned by a
** nonoverlapped call; an overlapped one returns WSA_IO_PENDING even when
** the datagram was already there, and the result (WSAEMSGSIZE, bytes,
** flags) comes through its completion -- the routine, or the signalled
** object -- as on Windows.
*/
int wr_recv(wr_socket *s, wr_wsabuf *bufs, size_t nbufs, size_t *bytes,
            unsigned *flags, wr_overlapped *ov,
            wr_completion_routine routine);

/*
** WSARecvMsg: the same queue and completion path, with msg filled in.
** Data or control messages that do not fit fail the receive with
** WSAEMSGSIZE, the bytes placed, MSG_TRUNC / MSG_CTRUNC in msg->flags;
** msg->length says how long the datagram was.
*/
int wr_recvmsg(wr_socket *s, wr_msg *msg, wr_wsabuf *bufs, size_t nbufs,
               size_t *bytes, wr_overlapped *ov,
               wr_completion_routine routine);

/*
** A WSAMSG's private control space: sized for `controllen` bytes of the
** caller's messages plus wsarecv's own packet info (for MSG_BCAST and
** MSG_MCAST).  0 or WSA_NOT_ENOUGH_MEMORY.  wr_msg_free releases it (and
** the control messages wr_msg_put_control encoded for a send).
*/
int wr_msg_init(wr_msg *m, void *control, size_t controllen);
void wr_msg_free(wr_msg *m);
/* Bytes of control messages the last receive placed in the caller's buffer */
size_t wr_msg_control_used(const wr_msg *m);
/* Held by an operation (posted, its completion not yet delivered). */
int wr_msg_pending(const wr_msg *m);

/* Control messages, decoded (the caller's buffer after a WSARecvMsg). */
enum wr_cmsg_kind {
  WR_CM_RAW = 0,       /* unknown: level, type, data */
  WR_CM_PKTINFO,       /* IP_PKTINFO: addr, spec_dst, ifindex */
  WR_CM_PKTINFO6,      /* IPV6_PKTINFO: addr, ifindex */
  WR_CM_TOS,           /* IP_TOS: value (ecn = value & 3) */
  WR_CM_TCLASS,        /* IPV6_TCLASS: value (ecn = value & 3) */
  WR_CM_TTL,           /* IP_TTL: value */
  WR_CM_HOPLIMIT,      /* IPV6_HOPLIMIT: value */
  WR_CM_ORIGDSTADDR,   /* IP_ORIGDSTADDR / IPV6_ORIGDSTADDR: addr */
  WR_CM_TIMESTAMP,     /* SO_TIMESTAMP / SO_TIMESTAMPNS: sec, nsec */
  WR_CM_RXQ_OVFL,      /* SO_RXQ_OVFL: value (drops) */
  WR_CM_GRO,           /* UDP_GRO: value (segment size) */
  WR_CM_RECVERR        /* IP_RECVERR / IPV6_RECVERR: ee, addr (offender) */
};

typedef struct wr_cmsg {
  int kind;                      /* enum wr_cmsg_kind */
  int level, type;               /* the Linux numbers */
  const char *level_name;        /* "IPPROTO_IP", ... or NULL */
  const char *type_name;         /* "IP_PKTINFO", ... or NULL */
  const unsigned char *data;     /* payload, len bytes */
  size_t len;
  struct sockaddr_storage addr;  /* PKTINFO dest, ORIGDSTADDR, offender */
  socklen_t addrlen;             /* 0: none */
  struct sockaddr_storage spec_dst;
  socklen_t spec_dstlen;
  unsigned ifindex;
  long long value;
  long long sec;
  long nsec;
  struct {
    int error;                   /* WSA code of ee_errno */
    int origin, type, code;      /* SO_EE_ORIGIN_*, ICMP type and code */
    unsigned info, data;
  } ee;
} wr_cmsg;

/* The next control message at *pos (start at 0): 1, or 0 at the end. */
int wr_cmsg_next(const void *control, size_t used, size_t *pos,
                 wr_cmsg *out);
/* Interface name of an index into buf (IF_NAMESIZE bytes): 1, or 0. */
int wr_ifname(unsigned ifindex, char *buf);
/* SO_EE_ORIGIN_* name */
const char *wr_ee_origin_name(int origin);

/* ---------------------------------------------------------------------
** Overlapped send, accept and connect (wr_send.c).  Same objects, same
** completion paths and waits, same results as the receives: 0 (completed
** at once, the completion follows), WSA_IO_PENDING, or a failure after
** which no completion follows.
** ------------------------------------------------------------------- */

/*
** WSASend, WSASendTo (to set) and WSASendMsg (msg set: its name, when
** namelen > 0, is the destination, and its send control messages go
** along).  flags: 0, WR_MSG_OOB (stream), WR_MSG_DONTROUTE.  A stream send
** completes once every byte was taken by the kernel (partial writes go
** on); a datagram goes whole or not at all, and one too big for the
** protocol fails at the call with WSAEMSGSIZE.  ov == NULL and routine ==
** NULL: nonoverlapped, blocks until all is sent unless FIONBIO.
*/
#define WR_MSG_DONTROUTE          0x4
int wr_send(wr_socket *s, wr_wsabuf *bufs, size_t nbufs, unsigned flags,
            const struct sockaddr *to, socklen_t tolen, wr_msg *msg,
            size_t *bytes, wr_overlapped *ov, wr_completion_routine routine);
/*
** AcceptEx on the listener ls: the next connection becomes as (fresh,
** unbound, of ls's family and type).  With buffers, it completes once the
** first data arrived (bytes: how much), or the peer closed (0).  The
** operation is ls's: its port entry carries ls's key, wr_cancel on ls
** ends it; closing either socket aborts it.  ov is required.
*/
int wr_accept_ex(wr_socket *ls, wr_socket *as, wr_wsabuf *bufs,
                 size_t nbufs, size_t *bytes, wr_overlapped *ov,
                 wr_completion_routine routine);
/*
** ConnectEx: s must be bound (WSAEINVAL), not connected (WSAEISCONN), not
** connecting (WSAEALREADY).  Always WSA_IO_PENDING when it starts; the
** outcome (WSAECONNREFUSED...) comes through the completion.  buffers are
** sent once connected (bytes: how much).  ov is required.
*/
int wr_connect_ex(wr_socket *s, const struct sockaddr *sa, socklen_t len,
                  wr_wsabuf *bufs, size_t nbufs, size_t *bytes,
                  wr_overlapped *ov, wr_completion_routine routine);
/* The kind of the operation ov last carried (enum wr_op_kind). */
int wr_overlapped_kind(const wr_overlapped *ov);
/*
** A send's control messages for msg: each c's kind (WR_CM_PKTINFO with
** addr and ifindex, WR_CM_PKTINFO6 likewise, WR_CM_TOS, WR_CM_TCLASS,
** WR_CM_TTL, WR_CM_HOPLIMIT with value) encoded the platform's way, in
** order, replacing what it held (n 0: none).  0, WSAEINVAL (a kind or an
** address family a send cannot carry; *bad says which), or
** WSA_NOT_ENOUGH_MEMORY.  The msg must not be pending.
*/
int wr_msg_put_control(wr_msg *m, const wr_cmsg *c, size_t n, size_t *bad);

/* WSAGetOverlappedResult: 0, WSA_IO_INCOMPLETE, WSAEINTR (a wait ended
** by SIGINT: still pending), or the failure. */
int wr_get_overlapped_result(wr_socket *s, wr_overlapped *ov, size_t *bytes,
                             int wait, unsigned *flags);

/* CancelIoEx: ov NULL cancels all; WR_ERROR_NOT_FOUND if none matched. */
int wr_cancel(wr_socket *s, wr_overlapped *ov);

/* ---------------------------------------------------------------------
** Waits.  Only alertable waits run completion routines; all of them let
** I/O progress.  ms < 0 is INFINITE.  Every wait (these, a port's,
** WSAGetOverlappedResult's, a nonoverlapped receive's, a blocking
** connect/accept/send's) ends with WSAEINTR when a SIGINT comes while the
** process has a handler for it (Linux; lua.c's raises "interrupted!"):
** nothing is taken or run after the signal, pending operations stay
** pending.
** ------------------------------------------------------------------- */

/*
** SleepEx: *result is 0, or WR_WAIT_IO_COMPLETION if routines ran.
** Returns 0, WSAEINTR, or WSAEINVAL for an infinite sleep nothing could
** end.
*/
int wr_sleep_ex(wr_loop *loop, long ms, int alertable, unsigned *result);

/*
** WSAWaitForMultipleEvents over overlapped objects: *result is
** WR_WAIT_OBJECT_0 + i, WR_WAIT_TIMEOUT or WR_WAIT_IO_COMPLETION.  Returns
** 0, WSAEINTR, or WSAEINVAL when an infinite wait could never end (no
** object can become signalled).
*/
int wr_wait_for_multiple(wr_loop *loop, wr_overlapped *const *ovs, size_t n,
                         int waitall, long ms, int alertable, long *result);

/* run: WR_RUN_DEFAULT until nothing is outstanding; ONCE; NOWAIT. */
enum { WR_RUN_DEFAULT, WR_RUN_ONCE, WR_RUN_NOWAIT };
/*
** Returns 1 while operations or routines are still outstanding, 0 when
** none are, or WSAEINTR when a SIGINT ended it.
*/
int wr_run(wr_loop *loop, int mode);

/* ---------------------------------------------------------------------
** I/O completion ports (wr_port.c; the wait, wr_port_get, is wr_loop.c's)
**
** A port collects the completions of the routine-less operations of the
** sockets associated with it, in completion order (posting order within
** one socket), and hands them out in batches.  An operation posted with a
** routine on such a socket fails with WSAEINVAL (wr_recv.c, as Windows
** refuses it); one whose hEvent has its low bit set
** (WR_NOPORT, Windows' convention) is only signalled, for
** WSAGetOverlappedResult.  Closing a socket still completes its pending
** operations with WSA_OPERATION_ABORTED, to the port.
** ------------------------------------------------------------------- */

#define WR_NOPORT ((uintptr_t)1)

/* OVERLAPPED_ENTRY */
typedef struct wr_port_entry {
  uintptr_t key;          /* lpCompletionKey */
  wr_overlapped *ov;      /* lpOverlapped: an operation's object, or what
                             wr_port_post was given (NULL allowed) */
  size_t bytes;           /* dwNumberOfBytesTransferred */
  unsigned error;         /* 0 or the operation's WSA code */
  unsigned flags;         /* its output flags */
  int posted;             /* 1: a wr_port_post packet (ov is not ours) */
  unsigned long seq;      /* which queued entry it is (wr_port_take) */
} wr_port_entry;

/* CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 0) */
int wr_port_new(wr_loop *loop, wr_port **out);
/*
** CreateIoCompletionPort(s, port, key): 0, WSAENOTSOCK (s closed),
** WSA_INVALID_PARAMETER (s belongs to a port already, as on Windows) or
** WR_ERROR_INVALID_HANDLE (port closed).
*/
int wr_port_associate(wr_port *port, wr_socket *s, uintptr_t key);
/* PostQueuedCompletionStatus: 0, WSA_NOT_ENOUGH_MEMORY or
** WR_ERROR_INVALID_HANDLE. */
int wr_port_post(wr_port *port, size_t bytes, uintptr_t key,
                 wr_overlapped *ov);
/*
** GetQueuedCompletionStatusEx's wait: returns once the port has entries,
** taking none.  *result is WR_WAIT_OBJECT_0 (entries wait: wr_port_peek
** and wr_port_take hand them out), WR_WAIT_TIMEOUT or, alertable,
** WR_WAIT_IO_COMPLETION (routines ran, nothing queued).  With repost, the
** objects taken with rearm set (wr_overlapped_rearm) are posted again,
** with the same buffers and flags, when it begins (without: a wait nested
** in the writing of a batch leaves them to the caller who reads it).
** Returns 0, WR_ERROR_INVALID_HANDLE (port closed), WSANOTINITIALISED
** (loop gone), WSAEINTR (a signal came; nothing taken) or WSAEINVAL (an
** infinite wait nothing could end).
*/
int wr_port_get(wr_port *port, long ms, int alertable, int repost,
                unsigned *result);
/*
** The first n entries of the queue (fewer if fewer wait) into e[0..],
** still queued (their objects busy): how many.  A caller that must do
** more before an entry is its own (write it where another wait or a close
** of the port can run meanwhile) peeks, does it, then takes; it takes the
** entries it peeked in queue order, one at a time.
*/
size_t wr_port_peek(const wr_port *port, wr_port_entry *e, size_t n);
/*
** Take the entry *e that wr_port_peek gave, if it is still the head: 1,
** and it is the caller's (an operation's object is free, or waits to be
** rearmed; a packet is freed).  0 when it was taken or dropped meanwhile:
** peek again.
*/
int wr_port_take(wr_port *port, const wr_port_entry *e);
/*
** Take the entry *e that wr_port_peek gave, unasked: for a caller that
** took the entries peeked before it and ran nothing since the peek that
** could take or drop an entry (another wait, a close, a cancel), so e is
** the head.
*/
void wr_port_take_head(wr_port *port, const wr_port_entry *e);
/*
** The same queue seen without a copy, for the common entry: the object of
** the head entry when it is an operation's (its public fields bytes,
** error and flags are the entry's; its key is its socket's), or NULL when
** the queue is empty or its head is a packet (wr_port_peek it).
*/
wr_overlapped *wr_port_first_op(const wr_port *port);
/* Take the head entry op (from wr_port_first_op or wr_port_take_op, with
** nothing run since that could take or drop an entry), then the next
** head as wr_port_first_op gives it. */
wr_overlapped *wr_port_take_op(wr_port *port, wr_overlapped *op);
/* Completions waiting in the port. */
size_t wr_port_queued(const wr_port *port);
/*
** CloseHandle: what the queue holds is dropped (an operation's object is
** left signalled, through the event hook), later completions of its
** sockets are only signalled.  Idempotent.
*/
void wr_port_close(wr_port *port);
int wr_port_closed(const wr_port *port);
/* Close, and drop the caller's reference. */
void wr_port_release(wr_port *port);
/* The port of s, or NULL. */
wr_port *wr_socket_port(const wr_socket *s);
/*
** Rearm (on = 1): each time an entry of ov is taken from a port, ov stays
** busy and is posted again -- same socket, buffers, flags and msg -- when
** the next wr_port_get on that port begins; its buffers are the caller's
** to read until then.  Not after WSA_OPERATION_ABORTED, a failure of a
** stream receive, the end of a stream, or for MSG_WAITALL (which consumes
** its WSABUFs).  A repost that fails completes to the port with its error.
*/
void wr_overlapped_rearm(wr_overlapped *ov, int on);
int wr_overlapped_rearmed(const wr_overlapped *ov);
/* A descriptor readable while the port has entries or the loop has I/O to
** move (wr_loop_pollfd's rules); ms until the port must be asked again. */
int wr_port_pollfd(wr_port *port, int *fd);
long wr_port_timeout(wr_port *port);

/* ---------------------------------------------------------------------
** The loop inside another event loop (wr_loop.c; the platform does the work)
** ------------------------------------------------------------------- */

/*
** A descriptor that is readable whenever the loop has work: I/O to move,
** or completions waiting for an alertable wait.  Level-triggered: after
** wr_run(WR_RUN_NOWAIT) either nothing is ready or it is readable again.
** Made on first call (0 or a WSA code), closed by wr_loop_destroy.
*/
int wr_loop_pollfd(wr_loop *loop, int *fd);
/* Milliseconds until the loop must be run again, or -1 (none). */
long wr_loop_timeout(wr_loop *loop);
/* Completions waiting for an alertable wait. */
size_t wr_loop_ready(wr_loop *loop);
/* Keep the descriptor readable until the next alertable wait: for work
** kept outside the core (timers, new tasks) an integrator must notice. */
void wr_loop_wake(wr_loop *loop);
/* A monotonic clock, in seconds from an arbitrary start. */
double wr_now(void);

/* ---------------------------------------------------------------------
** Errors
** ------------------------------------------------------------------- */
typedef struct wr_error_info {
  int code;
  const char *name;
  const char *message;
} wr_error_info;

/* errno -> WSA code (a receive adds its own cases inside the core) */
int wr_wsa_from_errno(int err);
const wr_error_info *wr_error_by_code(int code);
const wr_error_info *wr_error_by_name(const char *name);
const wr_error_info *wr_error_table(size_t *n);

WR_INTERNAL_END

#endif
