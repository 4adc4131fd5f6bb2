/*
** probe.c -- a throwaway C module that proves the Windows test harness:
** mingw-w64 builds it against build-win/lua54.dll, Wine loads it into
** build-win/lua.exe, busted checks what it returns
** (scripts/windows/probe_spec.lua, overlapped_spec.lua).  It also records what Wine's ws2_32 does
** at the corners the native backend will meet (observe(), printed by
** scripts/windows/observe.lua).  Not part of wsarecv.
**
** Exports: luaopen_probe -> { roundtrip, apc, iocp, observe, wine }
*/
#define WIN32_LEAN_AND_MEAN
#include <winsock2.h>
#include <ws2tcpip.h>
#include <mswsock.h>
#include <windows.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lua.h"
#include "lauxlib.h"

#define WAIT_MS 2000            /* every wait here is bounded */

/* ====================================================== helpers */

static int fail(lua_State *L, const char *what) {
  return luaL_error(L, "probe: %s failed (%d)", what, WSAGetLastError());
}

static void startup(lua_State *L) {
  WSADATA wd;
  if (WSAStartup(MAKEWORD(2, 2), &wd) != 0)
    luaL_error(L, "probe: WSAStartup failed");
}

/* An overlapped-capable UDP socket; bound to 127.0.0.1:0 when sa is
** given, its address returned there. */
static SOCKET udp(lua_State *L, struct sockaddr_in *sa) {
  SOCKET s = WSASocketW(AF_INET, SOCK_DGRAM, IPPROTO_UDP, NULL, 0,
                        WSA_FLAG_OVERLAPPED);
  int len = sizeof *sa;
  if (s == INVALID_SOCKET) fail(L, "WSASocket");
  if (sa == NULL) return s;
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, (struct sockaddr *)sa, sizeof *sa) != 0 ||
      getsockname(s, (struct sockaddr *)sa, &len) != 0) {
    closesocket(s);
    fail(L, "bind");
  }
  return s;
}

static void send_to(lua_State *L, SOCKET s, const struct sockaddr_in *sa,
                    const char *p, int n) {
  if (sendto(s, p, n, 0, (const struct sockaddr *)sa, sizeof *sa) != n)
    fail(L, "sendto");
}

static LPFN_WSARECVMSG get_recvmsg(lua_State *L, SOCKET s) {
  GUID id = WSAID_WSARECVMSG;
  LPFN_WSARECVMSG fn = NULL;
  DWORD n = 0;
  if (WSAIoctl(s, SIO_GET_EXTENSION_FUNCTION_POINTER, &id, sizeof id,
               &fn, sizeof fn, &n, NULL, NULL) != 0)
    fail(L, "WSAIoctl(WSAID_WSARECVMSG)");
  return fn;
}

/* lua_pushfstring knows no %x: format here. */
static void pushf(lua_State *L, const char *fmt, ...) {
  char line[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  lua_pushstring(L, line);
}

static void setint(lua_State *L, const char *k, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, k);
}

/* ================================================ plain round trip */

/* roundtrip(s): sendto a bound socket's own address, recvfrom it. */
static int p_roundtrip(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  struct sockaddr_in sa;
  DWORD tmo = WAIT_MS;
  char buf[2048];
  SOCKET sk;
  int got;
  luaL_argcheck(L, n <= sizeof buf, 1, "too long");
  startup(L);
  sk = udp(L, &sa);
  setsockopt(sk, SOL_SOCKET, SO_RCVTIMEO, (const char *)&tmo, sizeof tmo);
  send_to(L, sk, &sa, s, (int)n);
  got = recvfrom(sk, buf, sizeof buf, 0, NULL, NULL);
  if (got < 0) { closesocket(sk); return fail(L, "recvfrom"); }
  closesocket(sk);
  WSACleanup();
  lua_pushlstring(L, buf, (size_t)got);
  return 1;
}

/* ================================ completion routines (APC) */

/* What a completion routine saw; its OVERLAPPED's hEvent points here
** (hEvent is the caller's to use when a routine is given). */
typedef struct Seen {
  int calls;
  DWORD err, bytes, flags;
  int order;                    /* delivery position, 1-based */
} Seen;

static int delivered;           /* deliveries so far, for Seen.order */

static void CALLBACK routine(DWORD err, DWORD bytes, LPWSAOVERLAPPED ov,
                             DWORD flags) {
  Seen *seen = (Seen *)ov->hEvent;
  seen->calls++;
  seen->err = err;
  seen->bytes = bytes;
  seen->flags = flags;
  seen->order = ++delivered;
}

typedef struct Op {
  WSAOVERLAPPED ov;
  WSABUF wb;
  char buf[256];
  Seen seen;
  int rc, err;                  /* what the posting call returned */
} Op;

/* Post one WSARecv; with_routine: the completion goes to routine(). */
static void post(SOCKET s, Op *op, int with_routine, ULONG len) {
  DWORD flags = 0;
  memset(op, 0, sizeof *op);
  op->wb.buf = op->buf;
  op->wb.len = len;
  if (with_routine) op->ov.hEvent = (HANDLE)&op->seen;
  op->rc = WSARecv(s, &op->wb, 1, NULL, &flags, &op->ov,
                   with_routine ? routine : NULL);
  op->err = op->rc == 0 ? 0 : WSAGetLastError();
}

/* Alertable waits until `want` routines have run or time is up. */
static DWORD alertable(int want) {
  DWORD r = 0, start = GetTickCount();
  while (delivered < want && GetTickCount() - start < WAIT_MS)
    r = SleepEx(WAIT_MS, TRUE);
  return r;
}

/* apc(s): WSARecv with a completion routine, the datagram sent after
** posting; the routine must wait for SleepEx(alertable). */
static int p_apc(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  struct sockaddr_in sa;
  Op op;
  int early;
  DWORD w;
  SOCKET sk;
  startup(L);
  sk = udp(L, &sa);
  delivered = 0;
  post(sk, &op, 1, sizeof op.buf);
  send_to(L, sk, &sa, s, (int)n);
  Sleep(50);                    /* not alertable: nothing may run */
  early = op.seen.calls;
  w = alertable(1);
  closesocket(sk);
  WSACleanup();
  lua_createtable(L, 0, 6);
  setint(L, "post_err", op.err);
  setint(L, "early", early);
  setint(L, "calls", op.seen.calls);
  setint(L, "err", op.seen.err);
  setint(L, "wait", w);
  lua_pushlstring(L, op.buf, op.seen.bytes <= sizeof op.buf ?
                  op.seen.bytes : 0);
  lua_setfield(L, -2, "data");
  return 1;
}

/* ================================================ completion port */

/* iocp(s): the socket on a completion port, WSARecv without routine,
** GetQueuedCompletionStatus returns the key and our OVERLAPPED. */
static int p_iocp(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  struct sockaddr_in sa;
  Op op;
  DWORD bytes = 0;
  ULONG_PTR key = 0;
  LPOVERLAPPED got = NULL;
  BOOL ok;
  HANDLE port;
  SOCKET sk;
  startup(L);
  sk = udp(L, &sa);
  port = CreateIoCompletionPort((HANDLE)sk, NULL, 42, 0);
  if (port == NULL) { closesocket(sk); return fail(L, "CreateIoCompletionPort"); }
  post(sk, &op, 0, sizeof op.buf);
  send_to(L, sk, &sa, s, (int)n);
  ok = GetQueuedCompletionStatus(port, &bytes, &key, &got, WAIT_MS);
  closesocket(sk);
  CloseHandle(port);
  WSACleanup();
  lua_createtable(L, 0, 5);
  setint(L, "post_err", op.err);
  setint(L, "ok", ok);
  setint(L, "key", (lua_Integer)key);
  lua_pushboolean(L, got == &op.ov);
  lua_setfield(L, -2, "same_overlapped");
  lua_pushlstring(L, op.buf, ok && bytes <= sizeof op.buf ? bytes : 0);
  lua_setfield(L, -2, "data");
  return 1;
}

/* ======================================= observations for the backend */

/* Two WSARecv pending with routines; closesocket (after CancelIoEx of
** each in posting order when cancel is set); the errors the routines
** get, in delivery order, as "err,err". */
static void close_pending(lua_State *L, int cancel) {
  SOCKET sk;
  struct sockaddr_in sa;
  Op a, b;
  startup(L);
  sk = udp(L, &sa);
  delivered = 0;
  post(sk, &a, 1, sizeof a.buf);
  post(sk, &b, 1, sizeof b.buf);
  if (cancel) {
    CancelIoEx((HANDLE)sk, &a.ov);
    CancelIoEx((HANDLE)sk, &b.ov);
  }
  closesocket(sk);
  alertable(2);
  pushf(L, "post %d,%d; delivered %s%d then %s%d",
                  a.err, b.err,
                  a.seen.order == 1 ? "first:" : "second:", (int)a.seen.err,
                  b.seen.order == 1 ? "first:" : "second:", (int)b.seen.err);
  WSACleanup();
}

/* The same with a completion port: GetQueuedCompletionStatus's last
** error and the NTSTATUS left in Internal. */
static void close_pending_iocp(lua_State *L) {
  SOCKET sk;
  struct sockaddr_in sa;
  Op a;
  DWORD bytes = 0, gle;
  ULONG_PTR key = 0;
  LPOVERLAPPED got = NULL;
  HANDLE port;
  BOOL ok;
  startup(L);
  sk = udp(L, &sa);
  port = CreateIoCompletionPort((HANDLE)sk, NULL, 7, 0);
  post(sk, &a, 0, sizeof a.buf);
  closesocket(sk);
  ok = GetQueuedCompletionStatus(port, &bytes, &key, &got, WAIT_MS);
  gle = GetLastError();
  pushf(L, "post %d; GQCS ok=%d error=%d overlapped=%s "
                  "Internal=0x%08x", a.err, ok, (int)gle,
                  got == &a.ov ? "ours" : "none",
                  (unsigned)a.ov.Internal);
  CloseHandle(port);
  WSACleanup();
}

/* A 100-byte datagram into a 10-byte buffer with WSARecvMsg: once
** already queued (immediate), once arriving while pending. */
static void recvmsg_trunc(lua_State *L, int pending) {
  SOCKET sk;
  struct sockaddr_in sa, from;
  LPFN_WSARECVMSG recvmsg_fn;
  WSAMSG msg;
  WSABUF wb;
  WSAOVERLAPPED ov;
  char buf[10], big[100];
  DWORD n = 0, flags = 0;
  int rc, err, ok = -1, oerr = 0;
  startup(L);
  sk = udp(L, &sa);
  recvmsg_fn = get_recvmsg(L, sk);
  memset(big, 'x', sizeof big);
  memset(&msg, 0, sizeof msg);
  memset(&ov, 0, sizeof ov);
  ov.hEvent = WSACreateEvent();
  wb.buf = buf;
  wb.len = sizeof buf;
  msg.name = (LPSOCKADDR)&from;
  msg.namelen = sizeof from;
  msg.lpBuffers = &wb;
  msg.dwBufferCount = 1;
  if (!pending) { send_to(L, sk, &sa, big, sizeof big); Sleep(50); }
  rc = recvmsg_fn(sk, &msg, &n, &ov, NULL);
  err = rc == 0 ? 0 : WSAGetLastError();
  if (pending) send_to(L, sk, &sa, big, sizeof big);
  /* an immediate failure may still have filled the OVERLAPPED: look */
  {
    WSAWaitForMultipleEvents(1, &ov.hEvent, TRUE,
                             rc == 0 || err == WSA_IO_PENDING ? WAIT_MS : 50,
                             FALSE);
    ok = WSAGetOverlappedResult(sk, &ov, &n, FALSE, &flags);
    oerr = ok ? 0 : WSAGetLastError();
  }
  pushf(L, "call rc=%d err=%d; result ok=%d err=%d bytes=%d "
                  "flags=0x%x; msg.dwFlags=0x%x (MSG_TRUNC=0x%x)",
                  rc, err, ok, oerr, (int)n, (unsigned)flags,
                  (unsigned)msg.dwFlags, MSG_TRUNC);
  WSACloseEvent(ov.hEvent);
  closesocket(sk);
  WSACleanup();
}

/* WSARecv of a queued oversized datagram fails at once with
** WSAEMSGSIZE: does a completion still follow -- a routine run by an
** alertable wait, a packet on the port? */
static void trunc_then_completion(lua_State *L) {
  SOCKET sk;
  struct sockaddr_in sa;
  char big[100];
  Op a, b;
  DWORD bytes = 0, w;
  ULONG_PTR key = 0;
  LPOVERLAPPED got = NULL;
  HANDLE port;
  BOOL ok;
  startup(L);
  memset(big, 'x', sizeof big);
  sk = udp(L, &sa);
  send_to(L, sk, &sa, big, sizeof big);
  Sleep(50);
  delivered = 0;
  post(sk, &a, 1, 10);
  w = SleepEx(200, TRUE);
  pushf(L, "routine: post rc=%d err=%d; SleepEx=%u calls=%d err=%u "
        "bytes=%u flags=0x%x; ", a.rc, a.err, (unsigned)w, a.seen.calls,
        (unsigned)a.seen.err, (unsigned)a.seen.bytes,
        (unsigned)a.seen.flags);
  closesocket(sk);
  sk = udp(L, &sa);
  port = CreateIoCompletionPort((HANDLE)sk, NULL, 9, 0);
  send_to(L, sk, &sa, big, sizeof big);
  Sleep(50);
  post(sk, &b, 0, 10);
  ok = GetQueuedCompletionStatus(port, &bytes, &key, &got, 200);
  pushf(L, "port: post rc=%d err=%d; GQCS ok=%d error=%u overlapped=%s "
        "bytes=%u", b.rc, b.err, ok, ok ? 0u : (unsigned)GetLastError(),
        got == &b.ov ? "ours" : "none", (unsigned)bytes);
  lua_concat(L, 2);
  closesocket(sk);
  CloseHandle(port);
  WSACleanup();
}

/* A connected UDP socket whose peer port has nothing bound: send, then
** receive (posted before the send when pending). */
static void icmp_refused(lua_State *L, int pending) {
  SOCKET sk, dead;
  struct sockaddr_in sa, to;
  Op op;
  DWORD n = 0, flags = 0;
  int ok = -1, oerr = 0;
  startup(L);
  dead = udp(L, &to);           /* take a port, then free it */
  closesocket(dead);
  sk = udp(L, &sa);
  if (connect(sk, (struct sockaddr *)&to, sizeof to) != 0) fail(L, "connect");
  if (pending) post(sk, &op, 0, sizeof op.buf);
  if (send(sk, "ping", 4, 0) != 4) fail(L, "send");
  Sleep(100);                   /* let the ICMP error come back */
  if (!pending) post(sk, &op, 0, sizeof op.buf);
  if (op.rc == 0 || op.err == WSA_IO_PENDING) {
    DWORD start = GetTickCount();
    while (!(ok = WSAGetOverlappedResult(sk, &op.ov, &n, FALSE, &flags))
           && WSAGetLastError() == WSA_IO_INCOMPLETE
           && GetTickCount() - start < 500)
      Sleep(10);
    oerr = ok ? 0 : WSAGetLastError();
    if (oerr == WSA_IO_INCOMPLETE) CancelIoEx((HANDLE)sk, &op.ov);
  }
  pushf(L, "call rc=%d err=%d; result ok=%d err=%d%s",
                  op.rc, op.err, ok, oerr,
                  oerr == WSA_IO_INCOMPLETE ? " (still pending after 500 ms)"
                                            : "");
  closesocket(sk);
  WSACleanup();
}

/* The same, but a non-blocking recv() 100 ms after the send. */
static void icmp_refused_nonblocking(lua_State *L) {
  SOCKET sk, dead;
  struct sockaddr_in sa, to;
  u_long on = 1;
  char buf[16];
  int rc, err;
  startup(L);
  dead = udp(L, &to);
  closesocket(dead);
  sk = udp(L, &sa);
  if (connect(sk, (struct sockaddr *)&to, sizeof to) != 0) fail(L, "connect");
  ioctlsocket(sk, FIONBIO, &on);
  if (send(sk, "ping", 4, 0) != 4) fail(L, "send");
  Sleep(100);
  rc = recv(sk, buf, sizeof buf, 0);
  err = rc < 0 ? WSAGetLastError() : 0;
  pushf(L, "recv rc=%d err=%d; then ", rc, err);
  rc = recv(sk, buf, sizeof buf, 0);
  err = rc < 0 ? WSAGetLastError() : 0;
  pushf(L, "recv rc=%d err=%d", rc, err);
  lua_concat(L, 2);
  closesocket(sk);
  WSACleanup();
}

/* WSARecv on a UDP socket that was never bound. */
static void unbound(lua_State *L) {
  SOCKET sk;
  Op op;
  DWORD n = 0, flags = 0;
  int ok = -1, oerr = 0;
  startup(L);
  sk = udp(L, NULL);
  post(sk, &op, 0, sizeof op.buf);
  if (op.rc == 0 || op.err == WSA_IO_PENDING) {
    Sleep(200);
    ok = WSAGetOverlappedResult(sk, &op.ov, &n, FALSE, &flags);
    oerr = ok ? 0 : WSAGetLastError();
    if (oerr == WSA_IO_INCOMPLETE) CancelIoEx((HANDLE)sk, &op.ov);
  }
  pushf(L, "call rc=%d err=%d; after 200 ms ok=%d err=%d",
                  op.rc, op.err, ok, oerr);
  closesocket(sk);
  WSACleanup();
}

/* observe(): { name = "what happened" } for each corner above. */
static int p_observe(lua_State *L) {
  lua_newtable(L);
  close_pending(L, 0);    lua_setfield(L, -2, "close_pending_apc");
  close_pending(L, 1);    lua_setfield(L, -2, "cancel_then_close_apc");
  close_pending_iocp(L);  lua_setfield(L, -2, "close_pending_iocp");
  recvmsg_trunc(L, 0);    lua_setfield(L, -2, "recvmsg_trunc_queued");
  recvmsg_trunc(L, 1);    lua_setfield(L, -2, "recvmsg_trunc_pending");
  trunc_then_completion(L);
  lua_setfield(L, -2, "recv_trunc_queued_completion");
  icmp_refused(L, 0);     lua_setfield(L, -2, "icmp_refused_after");
  icmp_refused(L, 1);     lua_setfield(L, -2, "icmp_refused_pending");
  icmp_refused_nonblocking(L);
  lua_setfield(L, -2, "icmp_refused_nonblocking");
  unbound(L);             lua_setfield(L, -2, "recv_unbound");
  return 1;
}

/* wine(): Wine's version string, nil on Windows. */
static int p_wine(lua_State *L) {
  typedef const char *(CDECL *version_fn)(void);
  HMODULE nt = GetModuleHandleA("ntdll.dll");
  version_fn v = nt ? (version_fn)(void (*)(void))
                      GetProcAddress(nt, "wine_get_version") : NULL;
  if (v) lua_pushstring(L, v()); else lua_pushnil(L);
  return 1;
}

__declspec(dllexport) int luaopen_probe(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"roundtrip", p_roundtrip}, {"apc", p_apc}, {"iocp", p_iocp},
    {"observe", p_observe}, {"wine", p_wine}, {NULL, NULL}
  };
  luaL_newlib(L, fns);
  return 1;
}
