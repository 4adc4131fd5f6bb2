/* bench/c/echo_load.c -- the async echo benchmark's load (bench/echo.lua).
 *
 *   echo_load PORT CONNS SECONDS SIZE
 *
 * Opens CONNS TCP connections to 127.0.0.1:PORT (TCP_NODELAY) and keeps
 * one request of SIZE bytes outstanding on each: send it, read the echo
 * back whole, check it, send the next (request k of connection c carries
 * bytes (c + k + i) % 251).  After a warm-up of SECONDS / 5 it counts
 * completed requests for SECONDS, then lets each connection finish its
 * request in flight and closes it (the server exits once all have ended;
 * nothing unread, so no reset) and prints
 *   RESULT req=<n> rps=<requests per second> err=<content errors>
 *          wall_ns=<measured period>
 * One epoll loop, nonblocking sockets, no allocation per request.  Exit
 * status 1 when a connection fails.
 */
#include "common.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/epoll.h>

#define MAXSIZE 65536

typedef struct {
  int fd;
  long k;                 /* the request in flight */
  size_t sent, got;       /* of it */
  unsigned char out[MAXSIZE];
} conn_t;

static size_t size;

static void fill(conn_t *c, int idx) {
  for (size_t i = 0; i < size; i++)
    c->out[i] = (unsigned char)((idx + c->k + (long)i) % 251);
  c->sent = c->got = 0;
}

/* Send what is left of c's request; -1 on failure. */
static int pump_out(conn_t *c) {
  while (c->sent < size) {
    ssize_t n = send(c->fd, c->out + c->sent, size - c->sent, MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN ? 0 : -1;
    c->sent += (size_t)n;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: echo_load PORT CONNS SECONDS SIZE\n");
    return 2;
  }
  int port = atoi(argv[1]), nconn = atoi(argv[2]);
  double secs = atof(argv[3]);
  size = (size_t)atol(argv[4]);
  if (nconn < 1 || size < 1 || size > MAXSIZE || secs <= 0) return 2;
  conn_t *conns = calloc((size_t)nconn, sizeof *conns);
  int ep = epoll_create1(0);
  if (!conns || ep < 0) die("setup");
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  for (int i = 0; i < nconn; i++) {
    conn_t *c = &conns[i];
    int one = 1;
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa) != 0)
      die("connect");
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)i };
    if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) die("epoll_ctl");
    fill(c, i);
    if (pump_out(c) != 0) die("send");
  }
  int64_t start = now_ns();
  int64_t t0 = start + (int64_t)(secs / 5 * 1e9);
  int64_t t1 = t0 + (int64_t)(secs * 1e9);
  long counted = 0, errs = 0;
  int measuring = 0, live = nconn;
  int64_t wall = 0;
  unsigned char in[MAXSIZE];
  struct epoll_event evs[256];
  for (;;) {
    int64_t t = now_ns();
    if (!measuring && t >= t0) { measuring = 1; counted = 0; t0 = t; }
    if (t >= t1 && !wall) wall = t - t0;      /* from now on: finishing */
    if (live == 0 || t >= t1 + 5000000000LL) break;
    int n = epoll_wait(ep, evs, 256, 100);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int e = 0; e < n; e++) {
      int i = (int)evs[e].data.u32;
      conn_t *c = &conns[i];
      if (pump_out(c) != 0) die("send");
      for (;;) {
        ssize_t r = recv(c->fd, in, size - c->got, 0);
        if (r < 0 && errno == EAGAIN) break;
        if (r <= 0) {
          fprintf(stderr, "echo_load: connection %d: %s\n", i,
                  r == 0 ? "closed by the server" : strerror(errno));
          return 1;
        }
        if (memcmp(in, c->out + c->got, (size_t)r) != 0) errs++;
        c->got += (size_t)r;
        if (c->got == size) {
          if (wall) {                       /* finished: close it */
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            close(c->fd);
            c->fd = -1;
            live--;
            break;
          }
          if (measuring) counted++;
          c->k++;
          fill(c, i);
          if (pump_out(c) != 0) die("send");
        }
      }
    }
  }
  if (live > 0) {
    fprintf(stderr, "echo_load: %d connections did not finish\n", live);
    return 1;
  }
  printf("RESULT req=%ld rps=%.0f err=%ld wall_ns=%lld\n", counted,
         counted / (wall / 1e9), errs, (long long)wall);
  return 0;
}
