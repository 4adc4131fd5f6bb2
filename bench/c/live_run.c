/* bench/c/live_run.c -- scenario 8: live traffic at a paced rate.
 *
 *   live_run RATE SECONDS SIZE RCVBUF [BATCH] -- receiver [args...]
 *
 * Creates the receiving socket (127.0.0.1, ephemeral port, SO_RCVBUFFORCE
 * RCVBUF, the same for every receiver), starts the receiver with it
 * inherited (WR_FD, WR_MODE=udp, WR_SIZE) pinned to CPU 0, waits for its
 * "READY", then, pinned to CPU 1, sends SIZE-byte datagrams for SECONDS:
 *   RATE > 0  paced: BATCH datagrams (default 1; one send(), or one
 *             sendmmsg() when BATCH > 1) every BATCH/RATE seconds on an
 *             absolute CLOCK_MONOTONIC schedule, waited for by a busy
 *             loop (clock_nanosleep's timer slack is tens of microseconds,
 *             the spacing at 100k/s is 10); a sender that falls behind the
 *             schedule sends at once, never skips;
 *   RATE = 0  as fast as it can: sendmmsg() batches of 64.
 * Then, as udp_run does, an end-marker datagram every 20 ms (after a
 * 100 ms pause) until the receiver exits (10 s at most, then SIGKILL).  It
 * passes the receiver's output (its RESULT line: cpu_ns is the receiver
 * process's user+sys CPU from before it posted its receives to the marker)
 * through and adds
 *   SENDER sent=<datagrams> secs=<send period> rate=<target/s> batch=<n>
 *          busy=<s> own=<s> rcvbuf=<B> rcvbuf_end=<B> drops=<n>
 *          rusage_ns=<receiver's user+sys CPU, whole process, from wait4>
 * busy/own as in udp_run (other load = busy - own); drops = the socket's
 * drop count in /proc/net/udp when the receiver exited.
 */
#include "common.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <unistd.h>

#define MAXBATCH 64

/* the drop counter of the socket bound to port (host order) on 127.0.0.1,
 * or -1 (/proc/net/udp can miss a line while other sockets come and go:
 * udp_drops tries again) */
static long udp_drops_once(unsigned port) {
  FILE *f = fopen("/proc/net/udp", "r");
  char line[512];
  long drops = -1;
  if (!f) return -1;
  while (fgets(line, sizeof line, f)) {
    unsigned la, lp;
    long d;
    /* sl local rem st tx:rx tr:tm retr uid timeout inode ref pointer drops */
    if (sscanf(line, " %*d: %x:%x %*x:%*x %*x %*x:%*x %*x:%*x %*x %*u %*d %*u %*d %*x %ld",
               &la, &lp, &d) == 3 && lp == port && la == htonl(INADDR_LOOPBACK)) {
      drops = d;
      break;
    }
  }
  fclose(f);
  return drops;
}

static long udp_drops(unsigned port) {
  long d = -1;
  for (int tries = 0; tries < 5 && d < 0; tries++) {
    if (tries) usleep(10000);
    d = udp_drops_once(port);
  }
  return d;
}

int main(int argc, char **argv) {
  int argi = 5;
  long batch = 1;
  if (argc > 6 && strcmp(argv[5], "--") != 0) { batch = atol(argv[5]); argi = 6; }
  if (argc < argi + 2 || strcmp(argv[argi], "--") != 0) {
    fprintf(stderr, "usage: live_run RATE SECONDS SIZE RCVBUF [BATCH] -- receiver [args...]\n");
    return 2;
  }
  double rate = atof(argv[1]);
  double secs = atof(argv[2]);
  long size = atol(argv[3]);
  int rcvbuf = atoi(argv[4]);
  if (size < 5 || size > 1472) { fprintf(stderr, "live_run: bad size\n"); return 2; }
  if (batch < 1 || batch > MAXBATCH) { fprintf(stderr, "live_run: bad batch\n"); return 2; }
  if (rate <= 0) batch = MAXBATCH;

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
  long drops0 = udp_drops(ntohs(a.sin_port));

  int sfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sfd < 0) die("socket");
  if (connect(sfd, (struct sockaddr *)&a, sizeof a)) die("connect");
  int sndbuf = 4 << 20;
  setsockopt(sfd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf);

  char val[32];
  int outfd;
  snprintf(val, sizeof val, "%ld", size);
  pid_t pid = launch_receiver(argv + argi + 1, rfd, "udp", "WR_SIZE", val,
                              &outfd, "live_run");
  if (pid < 0) return 3;

  double busy0 = machine_busy_s();
  int64_t self0 = cpu_ns();

  static unsigned char flat[MAXBATCH * 1472];
  struct mmsghdr mm[MAXBATCH];
  struct iovec iov[MAXBATCH];
  for (int i = 0; i < MAXBATCH; i++) {
    iov[i].iov_base = flat + i * size;
    iov[i].iov_len = size;
    memset(&mm[i], 0, sizeof mm[i]);
    mm[i].msg_hdr.msg_iov = &iov[i];
    mm[i].msg_hdr.msg_iovlen = 1;
  }
  uint64_t seq = 0;
  int64_t t0 = now_ns(), limit = t0 + (int64_t)(secs * 1e9), t1 = t0;
  double gap = rate > 0 ? 1e9 / rate : 0;      /* ns per datagram */
  for (;;) {
    if (rate > 0) {                            /* wait for the schedule */
      int64_t due = t0 + (int64_t)(seq * gap);
      while ((t1 = now_ns()) < due) { }
      if (t1 >= limit) break;
    }
    for (int i = 0; i < batch; i++) fill_dgram(flat + i * size, 5, seq + i);
    int r;
    if (batch == 1) r = send(sfd, flat, size, 0) == size ? 1 : -1;
    else r = sendmmsg(sfd, mm, (unsigned)batch, 0);
    if (r < 0) {
      if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) r = 0;
      else { perror("live_run: send"); break; }
    }
    seq += r;
    if (rate <= 0 && (t1 = now_ns()) >= limit) break;
  }
  double period = (t1 - t0) / 1e9;

  usleep(100000);
  unsigned char marker[1472];
  memset(marker, 0, sizeof marker);
  marker[0] = MARKER;
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
      if (outlen >= sizeof out - 1) outlen = 0;
      pr = poll(&p, 1, 0);
    }
  }
  long drops1 = udp_drops(ntohs(a.sin_port));
  int status;
  double child = reap_receiver(pid, eof, "live_run", &status);
  double busy = machine_busy_s() - busy0;
  double own = (cpu_ns() - self0) / 1e9 + child;
  out[outlen] = 0;
  fputs(out, stdout);
  printf("SENDER sent=%llu secs=%.6f rate=%.0f batch=%ld markers=%d busy=%.3f own=%.3f "
         "rcvbuf=%d rcvbuf_end=%d drops=%ld rusage_ns=%.0f\n", (unsigned long long)seq,
         period, rate, batch, markers, busy, own, rcvbuf0, so_rcvbuf(keep),
         drops0 >= 0 && drops1 >= 0 ? drops1 - drops0 : -1, child * 1e9);
  return eof && WIFEXITED(status) ? WEXITSTATUS(status) : 4;
}
