/* bench/c/c_raw.c -- the C limits: a raw recvmmsg loop (batch 64) for UDP,
 * a read() loop with 64 KiB reads for TCP.  Blocking descriptor, no event
 * loop.  With WR_POLL=1 (TCP only) the descriptor is nonblocking and the
 * loop reads until EAGAIN, then waits in poll() -- what an event loop does,
 * without the event loop.  See common.h for the environment and output. */
#include "common.h"
#include <sys/socket.h>
#include <sys/time.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#define BATCH 64
#define DGRAM_BUF 2048

static unsigned char bufs[BATCH][DGRAM_BUF];
static unsigned char tcpbuf[65536];

int main(void) {
  int fd = (int)env_long("WR_FD", -1);
  const char *mode = env_str("WR_MODE", "udp");
  long n = env_long("WR_N", 0);
  long size = env_long("WR_SIZE", 64);
  if (fd < 0) { fprintf(stderr, "c_raw: WR_FD not set\n"); return 2; }

  /* a safety net: a stalled receive fails after 10 s instead of hanging */
  struct timeval tv = { 10, 0 };
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

  long long recv = 0, bytes = 0, err = 0;
  int64_t c0, t0;

  if (strcmp(mode, "tcp") == 0) {
    int use_poll = env_long("WR_POLL", 0) != 0;
    if (use_poll) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    ready();
    c0 = cpu_ns(); t0 = now_ns();
    for (;;) {
      ssize_t r = read(fd, tcpbuf, sizeof tcpbuf);
      if (r < 0 && use_poll && errno == EAGAIN) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 10000) == 0) { fprintf(stderr, "c_raw: poll timeout\n"); return 2; }
        continue;
      }
      if (r < 0) { if (errno == EINTR) continue; die("read"); }
      if (r == 0) break;
      if (tcpbuf[0] != (unsigned char)(bytes % 251)) err++;  /* touch */
      recv++;
      bytes += r;
    }
    result(recv, bytes, err, cpu_ns() - c0, now_ns() - t0);
    return 0;
  }

  int drain = strcmp(mode, "drain") == 0;
  struct mmsghdr msgs[BATCH];
  struct iovec iov[BATCH];
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = DGRAM_BUF;
    memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  if (!drain) ready();
  c0 = cpu_ns(); t0 = now_ns();
  int done = 0;
  while (!done) {
    unsigned int want = BATCH;
    if (drain && n - recv < BATCH) want = (unsigned int)(n - recv);
    int r = recvmmsg(fd, msgs, want, MSG_WAITFORONE, NULL);
    if (r < 0) { if (errno == EINTR) continue; die("recvmmsg"); }
    for (int i = 0; i < r; i++) {
      unsigned len = msgs[i].msg_len;
      unsigned char b = bufs[i][0];
      if (b == MARKER && !drain) { done = 1; break; }
      if (len != (unsigned)size || (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)) err++;
      else if (drain ? b != (unsigned char)(recv % 251) : b > 250) err++;
      recv++;
      bytes += len;
    }
    if (drain && recv >= n) done = 1;
  }
  int64_t wall = now_ns() - t0, cpu = cpu_ns() - c0;
  result(recv, bytes, err, cpu, wall);
  return 0;
}
