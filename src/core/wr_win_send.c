/*
** wr_win_send.c -- the Windows platform's writing half: WSASend,
** WSASendTo, WSASendMsg, AcceptEx and ConnectEx, each the real call with
** the op's OVERLAPPED (wr_win.c owns the ops and relays their packets).
**
** Exports for the Windows platform: wr__win_extension, wr__win_post_io,
** wr__win_io_result.
**
** The kernel does what the Linux platform emulates: a stream send
** completes once all of it was taken, sends on a socket go out in posting
** order, a datagram goes whole.  What is left here is what the calls need
** around them.  WSASendMsg, AcceptEx and ConnectEx are extension
** functions, looked up once per socket.  AcceptEx writes the first data
** and the two addresses into one block of its own: the op's buffer, from
** which the data is copied into the caller's WSABUFs when it completes (so
** the kernel never holds them).  ConnectEx sends one block: several
** WSABUFs are gathered into the op's buffer first.  After either, the
** socket takes its new state (SO_UPDATE_ACCEPT_CONTEXT,
** SO_UPDATE_CONNECT_CONTEXT) so that getpeername, getsockname, shutdown
** and the rest work on it, as the AcceptEx and ConnectEx pages ask.
*/
#include "wr_sys.h"      /* WR_SOCK; setsockopt as the BSD files see it */
#include <stdlib.h>
#include <string.h>

#include "wr_win_int.h"

/* AcceptEx's room for each address: the largest one, and the 16 bytes
** more its page asks for. */
#define ADDR_ROOM ((DWORD)sizeof(SOCKADDR_STORAGE) + 16)

int wr__win_extension(wr_socket *s, GUID id, void *fn, size_t size) {
  DWORD n = 0;
  void *known = NULL;
  /* *fn is a function pointer: looked at as bytes, not converted */
  memcpy(&known, fn, sizeof known < size ? sizeof known : size);
  if (known) return 0;
  if (WSAIoctl(WR_SOCK(s->fd), SIO_GET_EXTENSION_FUNCTION_POINTER, &id,
               sizeof id, fn, (DWORD)size, &n, NULL, NULL) != 0)
    return WSAGetLastError();
  return 0;
}

/* op's own buffer, at least n bytes: 0 when memory is short. */
static int room(wr_win_op *op, size_t n) {
  char *p;
  if (n <= op->cap) return 1;
  if ((p = realloc(op->buf, n)) == NULL) return 0;
  op->buf = p;
  op->cap = n;
  return 1;
}

/* =====================================================================
** Sends
** =================================================================== */

static DWORD send_flags(const wr_overlapped *ov) {
  DWORD f = 0;
  if (ov->in_flags & WR_MSG_OOB) f |= MSG_OOB;
  if (ov->in_flags & WR_MSG_DONTROUTE) f |= MSG_DONTROUTE;
  return f;
}

/* WSASendMsg: the msg's destination (when it names one) and its control
** messages, encoded for Windows already (wr_msg_put_control). */
static int post_sendmsg(wr_socket *s, wr_overlapped *ov, wr_win_op *op) {
  wr_msg *m = ov->msg;
  DWORD n = 0;
  int r = wr__win_extension(s, (GUID)WSAID_WSASENDMSG, &s->plat.sendmsg,
                            sizeof s->plat.sendmsg);
  if (r) return r;
  op->msg.name = m->namelen ? (LPSOCKADDR)&m->name : NULL;
  op->msg.namelen = m->namelen;
  op->msg.lpBuffers = ov->iov;
  op->msg.dwBufferCount = (DWORD)ov->iovcnt;
  op->msg.Control.buf = m->sendctllen ? m->sendctl : NULL;
  op->msg.Control.len = (ULONG)m->sendctllen;
  op->msg.dwFlags = 0;           /* ignored on input, says the page */
  r = s->plat.sendmsg(WR_SOCK(s->fd), &op->msg, send_flags(ov), &n, &op->o,
                      NULL);
  return r == 0 ? 0 : WSAGetLastError();
}

static int post_send(wr_socket *s, wr_overlapped *ov, wr_win_op *op) {
  SOCKET h = WR_SOCK(s->fd);
  DWORD n = 0;
  int r;
  if (ov->msg) return post_sendmsg(s, ov, op);
  if (ov->addrlen)
    r = WSASendTo(h, ov->iov, (DWORD)ov->iovcnt, &n, send_flags(ov),
                  (const struct sockaddr *)&ov->addr, (int)ov->addrlen,
                  &op->o, NULL);
  else
    r = WSASend(h, ov->iov, (DWORD)ov->iovcnt, &n, send_flags(ov), &op->o,
                NULL);
  return r == 0 ? 0 : WSAGetLastError();
}

/* =====================================================================
** AcceptEx and ConnectEx
** =================================================================== */

/* AcceptEx on the listener ls into ov->peer: the first data (up to
** ov->total bytes, none when 0) and both addresses in op's buffer. */
static int post_accept(wr_socket *ls, wr_overlapped *ov, wr_win_op *op) {
  DWORD n = 0;
  int r = wr__win_extension(ls, (GUID)WSAID_ACCEPTEX, &ls->plat.acceptex,
                            sizeof ls->plat.acceptex);
  if (r) return r;
  if (ov->total > (DWORD)-1 - 2 * ADDR_ROOM) return WSAENOBUFS;
  if (!room(op, ov->total + 2 * ADDR_ROOM)) return WSA_NOT_ENOUGH_MEMORY;
  if (ls->plat.acceptex(WR_SOCK(ls->fd), WR_SOCK(ov->peer->fd), op->buf,
                        (DWORD)ov->total, ADDR_ROOM, ADDR_ROOM, &n, &op->o))
    return 0;
  return WSAGetLastError();
}

/* ConnectEx's one block of data: ov's only WSABUF, or all of them gathered
** into op's buffer.  0 or WSA_NOT_ENOUGH_MEMORY. */
static int connect_data(wr_overlapped *ov, wr_win_op *op, void **data) {
  size_t i, at = 0;
  *data = NULL;
  if (ov->total == 0) return 0;
  if (ov->iovcnt == 1) {
    *data = WR_WSABUF_BUF(&ov->iov[0]);
    return 0;
  }
  if (!room(op, ov->total)) return WSA_NOT_ENOUGH_MEMORY;
  for (i = 0; i < ov->iovcnt; i++) {
    size_t len = WR_WSABUF_LEN(&ov->iov[i]);
    if (len) memcpy(op->buf + at, WR_WSABUF_BUF(&ov->iov[i]), len);
    at += len;
  }
  *data = op->buf;
  return 0;
}

static int post_connect(wr_socket *s, wr_overlapped *ov, wr_win_op *op) {
  DWORD n = 0;
  void *data;
  int r = wr__win_extension(s, (GUID)WSAID_CONNECTEX, &s->plat.connectex,
                            sizeof s->plat.connectex);
  if (r) return r;
  if (ov->total > (DWORD)-1) return WSAENOBUFS;
  if ((r = connect_data(ov, op, &data)) != 0) return r;
  if (s->plat.connectex(WR_SOCK(s->fd), (const struct sockaddr *)&ov->addr,
                        (int)ov->addrlen, data, (DWORD)ov->total, &n, &op->o))
    return 0;
  return WSAGetLastError();
}

int wr__win_post_io(wr_socket *s, wr_overlapped *ov, wr_win_op *op) {
  switch (ov->kind) {
    case WR_OP_SEND: return post_send(s, ov, op);
    case WR_OP_ACCEPT: return post_accept(s, ov, op);
    default: return post_connect(s, ov, op);
  }
}

/* =====================================================================
** Results
** =================================================================== */

/* The first n bytes of op's buffer into ov's WSABUFs (n <= ov->total). */
static void scatter(wr_overlapped *ov, const wr_win_op *op, size_t n) {
  size_t i, at = 0;
  for (i = 0; i < ov->iovcnt && at < n; i++) {
    size_t len = WR_WSABUF_LEN(&ov->iov[i]);
    if (len > n - at) len = n - at;
    if (len) memcpy(WR_WSABUF_BUF(&ov->iov[i]), op->buf + at, len);
    at += len;
  }
}

/* The connection AcceptEx made on ls becomes the accept socket's own:
** 0 or the WSA code. */
static unsigned accepted(wr_socket *ls, wr_overlapped *ov,
                         const wr_win_op *op, size_t n) {
  SOCKET lh = WR_SOCK(ls->fd);
  scatter(ov, op, n < ov->total ? n : ov->total);
  if (setsockopt(WR_SOCK(ov->peer->fd), SOL_SOCKET, SO_UPDATE_ACCEPT_CONTEXT,
                 (const char *)&lh, sizeof lh) != 0)
    return (unsigned)WSAGetLastError();
  return 0;
}

void wr__win_io_result(wr_socket *s, wr_overlapped *ov, wr_win_op *op,
                       unsigned err, size_t n) {
  switch (ov->kind) {
    case WR_OP_SEND:
      /* what left before a cancel or a close (the engine reports it) */
      ov->filled = n;
      break;
    case WR_OP_ACCEPT:
      if (err == 0 && ov->peer) err = accepted(s, ov, op, n);
      break;
    default:
      if (err == 0 &&
          setsockopt(WR_SOCK(s->fd), SOL_SOCKET, SO_UPDATE_CONNECT_CONTEXT,
                     NULL, 0) != 0)
        err = (unsigned)WSAGetLastError();
      break;
  }
  wr__finish(ov, err, n, 0);
}
