/* bench/c/send_run.c -- scenarios 6 and 7: the launcher and sink of a sender.
 *
 *   send_run udp N SIZE -- sender [args...]     (scenario 6)
 *   send_run tcp BYTES  -- sender [args...]     (scenario 7)
 *
 * udp: makes the receiving socket (127.0.0.1, ephemeral port, its buffer
 * raised with SO_RCVBUFFORCE to hold all N datagrams, as queue_exec does)
 * and the sending socket (bound to 127.0.0.1, SO_SNDBUFFORCE SNDBUF, the
 * same for every sender), and execs the sender pinned to CPU 0 with the
 * sending socket inherited: WR_FD, WR_MODE=send, WR_N, WR_SIZE, WR_DEST,
 * WR_PORT.  Nothing receives while the sender runs, so the sender's CPU is
 * its own and the kernel's send path (on loopback, the delivery into the
 * receiving socket's queue too), with no receiver to wake and none that
 * could fall behind.  When the sender has exited, the queue is drained:
 * every datagram must be SIZE bytes of the payload (send_payload), the
 * kernel must have dropped none ("drops" in /proc/net/udp), and the count
 * is printed for the driver to compare with what the sender says it sent.
 *
 * tcp: makes a connected loopback pair and execs the sender on one end
 * (WR_FD, WR_MODE=tcpsend, WR_BYTES), pinned to CPU 0; a reader thread of
 * this process, on CPU 1, reads the other end 64 KiB at a time until end
 * of stream and compares every byte with the pattern (byte at offset i =
 * i & 255).  Socket buffers are left to the kernel (autotuned alike for
 * every sender).
 *
 * It passes the sender's output through (it inherits stdout) and adds
 *   SINK recv=<datagrams or bytes> bad=<wrong ones> drops=<n> busy=<s>
 *        own=<s> softirqd_ns=<n> sndbuf=<b> rcvbuf=<b>
 * busy: CPU seconds the whole machine was busy (/proc/stat) while the
 * sender ran (and, for tcp, the reader); own: the sender's and this
 * process's CPU seconds (busy - own is other load); softirqd_ns: the run
 * time of ksoftirqd/0 meanwhile (/proc/PID/schedstat): the network
 * softirq work that the kernel deferred to that thread instead of doing
 * it in the sender's own time on CPU 0 -- on loopback, delivery into the
 * receiving socket (UDP GSO's segmentation too) lands there under load,
 * and the sender's getrusage misses it.  The sender gets 60 s, then
 * SIGKILL.
 */
#include "common.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define SNDBUF (4 << 20)
#define BATCH 64

/* the ksoftirqd thread of CPU 0, found once: its schedstat path */
static char softirqd_path[64];

static void find_softirqd(void) {
  for (int pid = 2; pid < 200 && !softirqd_path[0]; pid++) {
    char p[64], comm[64] = "";
    snprintf(p, sizeof p, "/proc/%d/comm", pid);
    FILE *f = fopen(p, "r");
    if (!f) continue;
    if (fgets(comm, sizeof comm, f) && strcmp(comm, "ksoftirqd/0\n") == 0)
      snprintf(softirqd_path, sizeof softirqd_path, "/proc/%d/schedstat", pid);
    fclose(f);
  }
}

/* ns ksoftirqd/0 has run so far (0 when it was not found) */
static long long softirqd_ns(void) {
  long long v = 0;
  FILE *f = softirqd_path[0] ? fopen(softirqd_path, "r") : NULL;
  if (!f) return 0;
  if (fscanf(f, "%lld", &v) != 1) v = 0;
  fclose(f);
  return v;
}

static volatile sig_atomic_t expired;
static pid_t child;
static void on_alarm(int sig) {
  (void)sig;
  expired = 1;
  if (child > 0) kill(child, SIGKILL);
}

/* run argv pinned to CPU 0 with the environment set; its wait status and
 * CPU seconds */
static int run_sender(char **argv, int keep_fd, double *cpu) {
  struct rusage ru;
  int status = 0;
  fflush(stdout);
  child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    char v[32];
    snprintf(v, sizeof v, "%d", keep_fd);
    setenv("WR_FD", v, 1);
    pin(0);
    execvp(argv[0], argv);
    perror("send_run: exec");
    _exit(127);
  }
  signal(SIGALRM, on_alarm);
  alarm(60);
  while (wait4(child, &status, 0, &ru) < 0 && errno == EINTR) {}
  alarm(0);
  if (expired) fprintf(stderr, "send_run: the sender did not finish in 60 s\n");
  *cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  return status;
}

/* the "drops" column of the line of 127.0.0.1:port in /proc/net/udp */
static long udp_drops(unsigned port) {
  FILE *f = fopen("/proc/net/udp", "r");
  char line[512];
  long drops = -1;
  if (!f) return -1;
  while (fgets(line, sizeof line, f)) {
    unsigned sl, laddr, lport, raddr, rport, st, txq, rq;
    unsigned long d;
    if (sscanf(line, " %u: %x:%x %x:%x %x %x:%x %*x:%*x %*x %*u %*u %*u %*u %*x %lu",
               &sl, &laddr, &lport, &raddr, &rport, &st, &txq, &rq, &d) == 9 &&
        laddr == 0x0100007F && lport == port)
      drops = (long)d;
  }
  fclose(f);
  return drops;
}

static int udp(long n, long size, char **argv) {
  struct sockaddr_in a = { .sin_family = AF_INET }, s = { .sin_family = AF_INET };
  unsigned char want[1472];
  a.sin_addr.s_addr = s.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (rfd < 0) die("socket");
  if (bind(rfd, (struct sockaddr *)&a, sizeof a)) die("bind");
  /* a datagram's truesize on loopback is under 2 KiB for these sizes; the
   * kernel doubles the value it is given */
  long rb = (n + 64) * (size + 2048L) / 2;
  int rcvbuf = rb > 0x3fffffff ? 0x3fffffff : (int)rb;
  if (setsockopt(rfd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf))
    die("SO_RCVBUFFORCE (needs root or CAP_NET_ADMIN)");
  socklen_t alen = sizeof a;
  getsockname(rfd, (struct sockaddr *)&a, &alen);

  int sfd = socket(AF_INET, SOCK_DGRAM, 0);
  int sndbuf = SNDBUF;
  if (sfd < 0) die("socket");
  if (bind(sfd, (struct sockaddr *)&s, sizeof s)) die("bind");
  if (setsockopt(sfd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf))
    die("SO_SNDBUFFORCE");
  int sndbuf_got = 0;
  socklen_t gl = sizeof sndbuf_got;
  getsockopt(sfd, SOL_SOCKET, SO_SNDBUF, &sndbuf_got, &gl);

  char v[32];
  setenv("WR_MODE", "send", 1);
  snprintf(v, sizeof v, "%ld", n); setenv("WR_N", v, 1);
  snprintf(v, sizeof v, "%ld", size); setenv("WR_SIZE", v, 1);
  setenv("WR_DEST", "127.0.0.1", 1);
  snprintf(v, sizeof v, "%u", ntohs(a.sin_port)); setenv("WR_PORT", v, 1);

  pin(1);
  double busy0 = machine_busy_s(), cpu;
  int64_t self0 = cpu_ns();
  long long soft0 = softirqd_ns();
  int status = run_sender(argv, sfd, &cpu);
  long long soft = softirqd_ns() - soft0;
  double busy = machine_busy_s() - busy0;
  double own = (cpu_ns() - self0) / 1e9 + cpu;
  close(sfd);

  /* what arrived: every datagram checked */
  long drops = udp_drops(ntohs(a.sin_port));
  static unsigned char bufs[BATCH][2048];
  struct mmsghdr mm[BATCH];
  struct iovec iov[BATCH];
  long recv = 0, bad = 0;
  send_payload(want, size);
  for (;;) {
    for (int i = 0; i < BATCH; i++) {
      iov[i].iov_base = bufs[i];
      iov[i].iov_len = sizeof bufs[i];
      memset(&mm[i], 0, sizeof mm[i]);
      mm[i].msg_hdr.msg_iov = &iov[i];
      mm[i].msg_hdr.msg_iovlen = 1;
    }
    int r = recvmmsg(rfd, mm, BATCH, MSG_DONTWAIT, NULL);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    for (int i = 0; i < r; i++) {
      if (mm[i].msg_len != (unsigned)size || memcmp(bufs[i], want, size)) bad++;
      recv++;
    }
  }
  printf("SINK recv=%ld bad=%ld drops=%ld busy=%.3f own=%.3f softirqd_ns=%lld sndbuf=%d "
         "rcvbuf=%d\n", recv, bad, drops, busy, own, soft, sndbuf_got, so_rcvbuf(rfd));
  fflush(stdout);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 4;
}

/* the reader of the tcp sink */
struct reader { int fd; long long bytes, bad; int failed; };

static void *read_all(void *arg) {
  struct reader *r = arg;
  static unsigned char buf[65536], pat[65536 + 256];
  struct timeval tv = { 30, 0 };
  for (size_t i = 0; i < sizeof pat; i++) pat[i] = (unsigned char)i;
  setsockopt(r->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  pin(1);
  for (;;) {
    ssize_t k = read(r->fd, buf, sizeof buf);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) { perror("send_run: read"); r->failed = 1; break; }
    if (k == 0) break;
    if (memcmp(buf, pat + (r->bytes & 255), (size_t)k)) r->bad++;
    r->bytes += k;
  }
  return NULL;
}

static int tcp(long long total, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = { .sin_family = AF_INET };
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 1)) die("listen");
  socklen_t alen = sizeof a;
  getsockname(lfd, (struct sockaddr *)&a, &alen);
  int sfd = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(sfd, (struct sockaddr *)&a, sizeof a)) die("connect");
  int rfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
  if (rfd < 0) die("accept");
  close(lfd);
  int sndbuf = 0, rcvbuf = so_rcvbuf(rfd);
  socklen_t gl = sizeof sndbuf;
  getsockopt(sfd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &gl);

  char v[32];
  setenv("WR_MODE", "tcpsend", 1);
  snprintf(v, sizeof v, "%lld", total); setenv("WR_BYTES", v, 1);

  struct reader rd = { .fd = rfd };
  pthread_t th;
  double busy0 = machine_busy_s(), cpu;
  int64_t self0 = cpu_ns();
  long long soft0 = softirqd_ns();
  if (pthread_create(&th, NULL, read_all, &rd)) die("pthread_create");
  /* the sender's end is the child's only: its exit is the end of stream */
  int status;
  {
    /* run_sender forks; the parent's copy must close right after */
    fflush(stdout);
    child = fork();
    if (child < 0) die("fork");
    if (child == 0) {
      snprintf(v, sizeof v, "%d", sfd);
      setenv("WR_FD", v, 1);
      pin(0);
      execvp(argv[0], argv);
      perror("send_run: exec");
      _exit(127);
    }
    close(sfd);
    struct rusage ru;
    signal(SIGALRM, on_alarm);
    alarm(60);
    while (wait4(child, &status, 0, &ru) < 0 && errno == EINTR) {}
    alarm(0);
    if (expired) fprintf(stderr, "send_run: the sender did not finish in 60 s\n");
    cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
          (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  }
  long long soft = softirqd_ns() - soft0;
  pthread_join(th, NULL);
  double busy = machine_busy_s() - busy0;
  double own = (cpu_ns() - self0) / 1e9 + cpu;
  printf("SINK recv=%lld bad=%lld drops=0 busy=%.3f own=%.3f softirqd_ns=%lld sndbuf=%d "
         "rcvbuf=%d\n", rd.bytes, rd.bad + rd.failed, busy, own, soft, sndbuf, rcvbuf);
  fflush(stdout);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 4;
}

int main(int argc, char **argv) {
  find_softirqd();
  if (argc >= 6 && strcmp(argv[1], "udp") == 0 && strcmp(argv[4], "--") == 0) {
    long n = atol(argv[2]), size = atol(argv[3]);
    if (n < 1 || size < 5 || size > 1472) { fprintf(stderr, "send_run: bad N or SIZE\n"); return 2; }
    return udp(n, size, argv + 5);
  }
  if (argc >= 5 && strcmp(argv[1], "tcp") == 0 && strcmp(argv[3], "--") == 0) {
    long long total = atoll(argv[2]);
    if (total < 1) { fprintf(stderr, "send_run: bad BYTES\n"); return 2; }
    return tcp(total, argv + 4);
  }
  fprintf(stderr, "usage: send_run udp N SIZE -- sender [args...]\n"
                  "       send_run tcp BYTES -- sender [args...]\n");
  return 2;
}
