/* bench/c/udp_run.c -- scenario 1: a UDP sender that outruns the receiver.
 *
 *   udp_run SIZE SECONDS RCVBUF -- receiver [args...]
 *
 * Creates the receiving socket (127.0.0.1, ephemeral port, SO_RCVBUFFORCE
 * RCVBUF so every receiver gets the same buffer), starts the receiver with
 * the socket inherited (WR_FD, WR_MODE=udp, WR_SIZE) pinned to CPU 0 and its
 * stdout on a pipe, waits for its "READY", then, pinned to CPU 1, sends
 * SIZE-byte datagrams for SECONDS with UDP GSO (UDP_SEGMENT, 64 segments
 * per send, fewer when 64 x SIZE exceeds 64 KiB; WR_SENDER=mmsg uses
 * sendmmsg batches of 64 instead: slower).  After a 100 ms pause it sends
 * an end-marker datagram every 20 ms until the receiver exits (10 s at
 * most, then SIGKILL).  It passes the receiver's output
 * through and adds
 *   SENDER sent=<datagrams> secs=<send period> markers=<n> gso=<0|1>
 *          busy=<s> own=<s>
 * busy: CPU seconds the whole machine was busy (/proc/stat) from READY to
 * the receiver's exit; own: the sender's and the receiver's CPU seconds
 * (busy - own is other load, which the driver uses to spot disturbed runs).
 */
#include "common.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#define SEGS 64


int main(int argc, char **argv) {
  if (argc < 6 || strcmp(argv[4], "--") != 0) {
    fprintf(stderr, "usage: udp_run SIZE SECONDS RCVBUF -- receiver [args...]\n");
    return 2;
  }
  long size = atol(argv[1]);
  double secs = atof(argv[2]);
  int rcvbuf = atoi(argv[3]);
  int use_gso = strcmp(env_str("WR_SENDER", "gso"), "gso") == 0;
  if (size < 5 || size > 1472) { fprintf(stderr, "udp_run: bad size\n"); return 2; }

  int rfd = socket(AF_INET, SOCK_DGRAM, 0);
  if (rfd < 0) die("socket");
  struct sockaddr_in a = { .sin_family = AF_INET };
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(rfd, (struct sockaddr *)&a, sizeof a)) die("bind");
  if (setsockopt(rfd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) &&
      setsockopt(rfd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf))
    die("SO_RCVBUF");
  socklen_t alen = sizeof a;
  getsockname(rfd, (struct sockaddr *)&a, &alen);
  int keep = fcntl(rfd, F_DUPFD_CLOEXEC, 0);
  int rcvbuf0 = so_rcvbuf(keep);

  int sfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sfd < 0) die("socket");
  if (connect(sfd, (struct sockaddr *)&a, sizeof a)) die("connect");
  int sndbuf = 4 << 20;
  setsockopt(sfd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf);
  if (use_gso) {
    int seg = (int)size;
    if (setsockopt(sfd, IPPROTO_UDP, UDP_SEGMENT, &seg, sizeof seg)) {
      fprintf(stderr, "udp_run: UDP_SEGMENT unavailable, using sendmmsg\n");
      use_gso = 0;
    }
  }

  char val[32];
  int outfd;
  snprintf(val, sizeof val, "%ld", size);
  pid_t pid = launch_receiver(argv + 5, rfd, "udp", "WR_SIZE", val,
                              &outfd, "udp_run");
  if (pid < 0) return 3;

  /* other load on the machine during the run: busy CPU time (all CPUs)
   * minus the sender's and the receiver's own */
  double busy0 = machine_busy_s();
  int64_t self0 = cpu_ns();

  /* the payload: SEGS datagrams back to back; only the headers change */
  static unsigned char flat[SEGS * 1472];
  struct mmsghdr mm[SEGS];
  struct iovec iov[SEGS];
  for (int i = 0; i < SEGS; i++) {
    iov[i].iov_base = flat + i * size;
    iov[i].iov_len = size;
    memset(&mm[i], 0, sizeof mm[i]);
    mm[i].msg_hdr.msg_iov = &iov[i];
    mm[i].msg_hdr.msg_iovlen = 1;
  }
  /* a GSO send must fit one IP packet (64 KiB) */
  int gsegs = (int)(65000 / size) < SEGS ? (int)(65000 / size) : SEGS;
  uint64_t seq = 0, sent = 0;
  int64_t t0 = now_ns(), limit = t0 + (int64_t)(secs * 1e9), t1 = t0;
  for (;;) {
    for (int i = 0; i < SEGS; i++) fill_dgram(flat + i * size, 5, seq + i);
    int r;
    if (use_gso) {
      r = (int)send(sfd, flat, gsegs * size, 0);
      r = r < 0 ? -1 : (int)(r / size);
    } else {
      r = sendmmsg(sfd, mm, SEGS, 0);
    }
    if (r < 0) {
      if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) r = 0;
      else { perror("udp_run: send"); break; }
    }
    seq += r;
    sent += r;
    t1 = now_ns();
    if (t1 >= limit) break;
  }
  double period = (t1 - t0) / 1e9;

  /* end markers until the receiver exits */
  usleep(100000);
  unsigned char marker[1472];
  memset(marker, 0, sizeof marker);
  marker[0] = MARKER;
  if (use_gso) { int z = 0; setsockopt(sfd, IPPROTO_UDP, UDP_SEGMENT, &z, sizeof z); }
  int markers = 0, eof = 0;
  int64_t give_up = now_ns() + 10000000000LL;
  struct pollfd p = { .fd = outfd, .events = POLLIN };
  char out[65536];
  size_t outlen = 0;
  while (!eof && now_ns() < give_up) {
    if (send(sfd, marker, size, 0) > 0) markers++;
    int pr = poll(&p, 1, 20);
    while (pr > 0) {
      ssize_t k = read(outfd, out + outlen, sizeof out - 1 - outlen);
      if (k <= 0) { eof = 1; break; }
      outlen += k;
      if (outlen >= sizeof out - 1) outlen = 0;   /* absurd output: drop */
      pr = poll(&p, 1, 0);
    }
  }
  int status;
  double child = reap_receiver(pid, eof, "udp_run", &status);
  double busy = machine_busy_s() - busy0;
  double own = (cpu_ns() - self0) / 1e9 + child;
  out[outlen] = 0;
  fputs(out, stdout);
  printf("SENDER sent=%llu secs=%.6f markers=%d gso=%d busy=%.3f own=%.3f "
         "rcvbuf=%d rcvbuf_end=%d\n", (unsigned long long)sent, period, markers,
         use_gso, busy, own, rcvbuf0, so_rcvbuf(keep));
  return eof && WIFEXITED(status) ? WEXITSTATUS(status) : 4;
}
