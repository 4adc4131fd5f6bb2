/* bench/c/queue_exec.c -- scenarios 3, 4 and 5: queue N datagrams, then exec.
 *
 *   queue_exec N SIZE [SOCKETS] -- receiver [args...]
 *
 * Creates SOCKETS (default 1) UDP sockets bound to 127.0.0.1 on
 * consecutive descriptors, raises each one's receive buffer with
 * SO_RCVBUFFORCE (root) to hold its share of the N datagrams, sends N
 * SIZE-byte datagrams with sendmmsg, datagram seq to socket seq % SOCKETS
 * (byte 1 = seq % 251), checks that the kernel dropped none (the sockets'
 * "drops" column in /proc/net/udp), prints one line
 *   QUEUE sockets=<n> rcvbuf=<SO_RCVBUF as getsockopt reads it> nofile=<soft>
 * and execs the receiver with the sockets inherited: WR_FD (the first
 * descriptor), WR_N, WR_SIZE, WR_MODE=drain, and with SOCKETS given,
 * WR_NSOCK (the sockets are WR_FD .. WR_FD + WR_NSOCK - 1).  The receiver
 * drains exactly N datagrams (its own check).  When SOCKETS descriptors do
 * not fit under RLIMIT_NOFILE, the soft limit is raised to the hard one.
 * Inherited descriptors above 2 are closed first.
 */
#include "common.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64

/* sum rx_queue and drops over our sockets' lines of /proc/net/udp */
static long udp_stats(const unsigned char *ours, unsigned long *rxq,
                      unsigned long *drops) {
  FILE *f = fopen("/proc/net/udp", "r");
  if (!f) return -1;
  char line[512];
  long found = 0;
  *rxq = *drops = 0;
  while (fgets(line, sizeof line, f)) {
    unsigned sl, laddr, lport, raddr, rport, st, txq, rq;
    unsigned long d;
    /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref ptr drops */
    if (sscanf(line, " %u: %x:%x %x:%x %x %x:%x %*x:%*x %*x %*u %*u %*u %*u %*x %lu",
               &sl, &laddr, &lport, &raddr, &rport, &st, &txq, &rq, &d) == 9 &&
        laddr == 0x0100007F && lport < 65536 && ours[lport]) {
      *rxq += rq;
      *drops += d;
      found++;
    }
  }
  fclose(f);
  return found;
}

/* room for k more descriptors: raise the soft limit to the hard one */
static void fd_room(long k) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl)) die("getrlimit");
  if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)k + 64 > rl.rlim_cur) {
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl)) die("setrlimit");
  }
  if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)k + 64 > rl.rlim_cur) {
    fprintf(stderr, "queue_exec: %ld sockets do not fit RLIMIT_NOFILE %lu\n",
            k, (unsigned long)rl.rlim_cur);
    exit(2);
  }
}

/*
** One bound socket at descriptor want (or wherever socket() puts it when
** want < 0); its address in *a.
*/
static int bound_socket(int want, int rcvbuf, struct sockaddr_in *a) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) die("socket");
  if (want >= 0 && fd != want) {
    if (fcntl(want, F_GETFD) != -1) {
      fprintf(stderr, "queue_exec: descriptor %d is taken\n", want);
      exit(2);
    }
    if (dup2(fd, want) < 0) die("dup2");
    close(fd);
    fd = want;
  }
  memset(a, 0, sizeof *a);
  a->sin_family = AF_INET;
  a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)a, sizeof *a)) die("bind");
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf))
    die("SO_RCVBUFFORCE (needs root or CAP_NET_ADMIN)");
  socklen_t alen = sizeof *a;
  getsockname(fd, (struct sockaddr *)a, &alen);
  return fd;
}

/* send N datagrams, seq to socket seq % nsock, 64 per sendmmsg */
static void send_all(const struct sockaddr_in *to, long nsock, long n, long size) {
  int sfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sfd < 0) die("socket");
  static unsigned char bufs[BATCH][1472];
  struct mmsghdr mm[BATCH];
  struct iovec iov[BATCH];
  long seq = 0;
  while (seq < n) {
    int k = n - seq < BATCH ? (int)(n - seq) : BATCH;
    for (int i = 0; i < k; i++) {
      fill_dgram(bufs[i], size, seq + i);
      iov[i].iov_base = bufs[i];
      iov[i].iov_len = size;
      memset(&mm[i], 0, sizeof mm[i]);
      mm[i].msg_hdr.msg_name = (void *)&to[(seq + i) % nsock];
      mm[i].msg_hdr.msg_namelen = sizeof to[0];
      mm[i].msg_hdr.msg_iov = &iov[i];
      mm[i].msg_hdr.msg_iovlen = 1;
    }
    int r = sendmmsg(sfd, mm, k, 0);
    if (r < 0) { if (errno == EINTR || errno == ENOBUFS) continue; die("sendmmsg"); }
    seq += r;
  }
  close(sfd);
}

int main(int argc, char **argv) {
  int cmd = 4;
  long nsock = 1;
  if (argc >= 6 && strcmp(argv[4], "--") == 0) { nsock = atol(argv[3]); cmd = 5; }
  if (argc < cmd + 1 || strcmp(argv[cmd - 1], "--") != 0) {
    fprintf(stderr, "usage: queue_exec N SIZE [SOCKETS] -- receiver [args...]\n");
    return 2;
  }
  long n = atol(argv[1]);
  long size = atol(argv[2]);
  if (n < 1 || size < 5 || size > 1472) { fprintf(stderr, "queue_exec: bad N or SIZE\n"); return 2; }
  if (nsock < 1 || nsock > 60000) { fprintf(stderr, "queue_exec: bad SOCKETS\n"); return 2; }
  fd_room(nsock);
  /* the receiver gets our sockets only (and the range is free for them) */
  close_range(3, ~0U, 0);

  /* a datagram's truesize on loopback is under 2 KiB for these sizes; the
   * kernel doubles the value it is given, and caps it at INT_MAX */
  long per = (n + nsock - 1) / nsock;
  long want = (per + 64) * (size + 2048L) / 2;
  if (want > 0x3fffffff) want = 0x3fffffff;
  int rcvbuf = (int)want;

  struct sockaddr_in *to = calloc(nsock, sizeof *to);
  static unsigned char ours[65536];
  if (!to) die("calloc");
  int first = -1;
  for (long i = 0; i < nsock; i++) {
    int fd = bound_socket(first < 0 ? -1 : first + (int)i, rcvbuf, &to[i]);
    if (first < 0) first = fd;
    ours[ntohs(to[i].sin_port)] = 1;
  }
  send_all(to, nsock, n, size);

  /* /proc/net/udp can miss a line while other sockets come and go */
  unsigned long rxq = 0, drops = 0;
  long found = -1;
  for (int tries = 0; tries < 10 && found != nsock; tries++) {
    if (tries) usleep(20000 * tries);          /* let the churn settle */
    found = udp_stats(ours, &rxq, &drops);
  }
  if (found != nsock) {
    fprintf(stderr, "queue_exec: %ld of %ld sockets found in /proc/net/udp\n", found, nsock);
    return 3;
  }
  if (drops) {
    fprintf(stderr, "queue_exec: the kernel dropped %lu of %ld datagrams "
            "(rcvbuf %d, rx_queue %lu)\n", drops, n, rcvbuf, rxq);
    return 3;
  }

  int got = 0;
  socklen_t gl = sizeof got;
  getsockopt(first, SOL_SOCKET, SO_RCVBUF, &got, &gl);
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  printf("QUEUE sockets=%ld rcvbuf=%d nofile=%lu\n", nsock, got, (unsigned long)rl.rlim_cur);
  fflush(stdout);

  char v[32];
  snprintf(v, sizeof v, "%d", first); setenv("WR_FD", v, 1);
  snprintf(v, sizeof v, "%ld", n); setenv("WR_N", v, 1);
  snprintf(v, sizeof v, "%ld", size); setenv("WR_SIZE", v, 1);
  setenv("WR_MODE", "drain", 1);
  snprintf(v, sizeof v, "%lu", rxq); setenv("WR_RXQ", v, 1);
  if (cmd == 5) { snprintf(v, sizeof v, "%ld", nsock); setenv("WR_NSOCK", v, 1); }
  execvp(argv[cmd], argv + cmd);
  perror("queue_exec: exec");
  return 127;
}
