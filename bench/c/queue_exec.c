/* bench/c/queue_exec.c -- scenario 3: queue N datagrams, then exec.
 *
 *   queue_exec N SIZE -- receiver [args...]
 *
 * Creates a UDP socket bound to 127.0.0.1, raises its receive buffer with
 * SO_RCVBUFFORCE (root) to hold N datagrams, sends it N SIZE-byte datagrams
 * (byte 1 = seq % 251) with sendmmsg, checks that the kernel dropped none
 * (the socket's "drops" column in /proc/net/udp, and its rx_queue), then
 * execs the receiver with the socket inherited: WR_FD, WR_N, WR_SIZE,
 * WR_MODE=drain.  The receiver drains exactly N datagrams (its own check).
 */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

/* the /proc/net/udp line of our socket: rx_queue (bytes) and drops */
static int udp_stats(unsigned port, unsigned long *rxq, unsigned long *drops) {
  FILE *f = fopen("/proc/net/udp", "r");
  if (!f) return -1;
  char line[512];
  int found = -1;
  while (fgets(line, sizeof line, f)) {
    unsigned sl, laddr, lport, raddr, rport, st, txq, rq;
    unsigned long d;
    /* sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref ptr drops */
    if (sscanf(line, " %u: %x:%x %x:%x %x %x:%x %*x:%*x %*x %*u %*u %*u %*u %*x %lu",
               &sl, &laddr, &lport, &raddr, &rport, &st, &txq, &rq, &d) == 9 &&
        lport == port && laddr == 0x0100007F) {
      *rxq = rq;
      *drops = d;
      found = 0;
    }
  }
  fclose(f);
  return found;
}

int main(int argc, char **argv) {
  if (argc < 5 || strcmp(argv[3], "--") != 0) {
    fprintf(stderr, "usage: queue_exec N SIZE -- receiver [args...]\n");
    return 2;
  }
  long n = atol(argv[1]);
  long size = atol(argv[2]);
  if (n < 1 || size < 5 || size > 1472) { fprintf(stderr, "queue_exec: bad N or SIZE\n"); return 2; }

  int rfd = socket(AF_INET, SOCK_DGRAM, 0);
  if (rfd < 0) die("socket");
  struct sockaddr_in a = { .sin_family = AF_INET };
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(rfd, (struct sockaddr *)&a, sizeof a)) die("bind");
  /* a datagram's truesize on loopback is under 2 KiB for these sizes; the
   * kernel doubles the value it is given, and caps it at INT_MAX */
  long want = (n + 64) * (size + 2048L) / 2;
  if (want > 0x3fffffff) want = 0x3fffffff;
  int rcvbuf = (int)want;
  if (setsockopt(rfd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf))
    die("SO_RCVBUFFORCE (needs root or CAP_NET_ADMIN)");
  socklen_t alen = sizeof a;
  getsockname(rfd, (struct sockaddr *)&a, &alen);

  int sfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sfd < 0 || connect(sfd, (struct sockaddr *)&a, sizeof a)) die("connect");
  static unsigned char bufs[64][1472];
  struct mmsghdr mm[64];
  struct iovec iov[64];
  long seq = 0;
  while (seq < n) {
    int k = n - seq < 64 ? (int)(n - seq) : 64;
    for (int i = 0; i < k; i++) {
      fill_dgram(bufs[i], size, seq + i);
      iov[i].iov_base = bufs[i];
      iov[i].iov_len = size;
      memset(&mm[i], 0, sizeof mm[i]);
      mm[i].msg_hdr.msg_iov = &iov[i];
      mm[i].msg_hdr.msg_iovlen = 1;
    }
    int r = sendmmsg(sfd, mm, k, 0);
    if (r < 0) { if (errno == EINTR || errno == ENOBUFS) continue; die("sendmmsg"); }
    seq += r;
  }
  close(sfd);

  unsigned long rxq = 0, drops = 0;
  if (udp_stats(ntohs(a.sin_port), &rxq, &drops)) {
    fprintf(stderr, "queue_exec: socket not found in /proc/net/udp\n");
    return 3;
  }
  if (drops) {
    fprintf(stderr, "queue_exec: the kernel dropped %lu of %ld datagrams "
            "(rcvbuf %d, rx_queue %lu)\n", drops, n, rcvbuf, rxq);
    return 3;
  }

  char v[32];
  snprintf(v, sizeof v, "%d", rfd); setenv("WR_FD", v, 1);
  snprintf(v, sizeof v, "%ld", n); setenv("WR_N", v, 1);
  snprintf(v, sizeof v, "%ld", size); setenv("WR_SIZE", v, 1);
  setenv("WR_MODE", "drain", 1);
  snprintf(v, sizeof v, "%lu", rxq); setenv("WR_RXQ", v, 1);
  execvp(argv[4], argv + 4);
  perror("queue_exec: exec");
  return 127;
}
