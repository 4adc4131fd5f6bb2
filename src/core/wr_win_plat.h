/*
** wr_win_plat.h -- what the Windows platform keeps in a socket, in a loop
** and for each operation the kernel holds (named apart from wr_win.c: the
** engine's headers include it, and wr_win.c includes theirs).
**
** Exports (types): wr_plat_socket, wr_plat_port, wr_plat_loop,
**          struct wr_win_op;
**          IOV_MAX.  (A socket's int descriptor is a SOCKET through
**          WR_SOCK, wr_sys.h.)
**
** wr_platform.h includes this header on Windows, as it includes
** wr_linux.h on Linux.  Only the wr_win_*.c files read these fields.
**
** Each posted operation gets a wr_win_op: its OVERLAPPED (and the WSAMSG
** of a WSARecvMsg, which the kernel writes back at completion, or of a
** WSASendMsg; and the memory of its own that AcceptEx writes the first
** data and the two addresses into, or that gathers ConnectEx's data from
** several WSABUFs, kept with the op for its next use).  The op is the
** platform's, not the caller's: a completion packet can still be queued
** on the port after the engine is done with the wr_overlapped (the
** receive finished at once, or was cancelled) and even after its memory
** is gone, and such a packet must find live memory that says "nobody
** waits for me".  Ops are recycled through the loop's free list.
*/
#ifndef WR_WIN_PLAT_H
#define WR_WIN_PLAT_H

#include <stdint.h>
#include <mswsock.h>

#include "wr.h"

struct wr_upcalls;

/* As many WSABUFs as Linux takes, so both refuse the same arrays. */
#ifndef IOV_MAX
#define IOV_MAX 1024
#endif

typedef struct wr_win_op {
  OVERLAPPED o;              /* first: a packet's pointer is the op */
  wr_overlapped *ov;         /* who waits; NULL: drop the packet */
  WSAMSG msg;                /* a WSARecvMsg's, written back at completion;
                                a WSASendMsg's */
  char *buf;                 /* AcceptEx's output, ConnectEx's data (kept
                                when the op is reused) */
  size_t cap;                /* its size */
  struct wr_win_op *next;    /* the loop's free list */
} wr_win_op;

typedef struct wr_plat_socket {
  int port;                  /* associated with the loop's port */
  LPFN_WSARECVMSG recvmsg;   /* WSARecvMsg, looked up on first use */
  LPFN_WSASENDMSG sendmsg;   /* the same for WSASendMsg, */
  LPFN_ACCEPTEX acceptex;    /* AcceptEx (on a listener) */
  LPFN_CONNECTEX connectex;  /* and ConnectEx */
} wr_plat_socket;

/* A completion port's platform part: none (its queue is the engine's). */
typedef struct wr_plat_port {
  int unused;
} wr_plat_port;

typedef struct wr_plat_loop {
  HANDLE port;               /* the completion port every socket uses */
  const struct wr_upcalls *up;   /* the engine's, from wr__plat_loop_init */
  wr_win_op *spare;          /* ops to reuse */
  size_t live;               /* ops the kernel may still hold */
  LARGE_INTEGER freq;        /* QueryPerformanceCounter's */
} wr_plat_loop;

#endif
