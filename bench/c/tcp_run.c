/* bench/c/tcp_run.c -- scenario 2: a TCP stream sender.
 *
 *   tcp_run BYTES -- receiver [args...]
 *
 * Makes a connected loopback TCP pair, starts the receiver with its end
 * inherited (WR_FD, WR_MODE=tcp, WR_BYTES) pinned to CPU 0, waits for its
 * "READY", then, pinned to CPU 1, writes BYTES of the pattern (byte at
 * offset i = i % 251) in 256 KiB writes and closes.  It passes the
 * receiver's output through and adds
 *   SENDER sent=<bytes> secs=<send period> busy=<s> own=<s> rcvbuf=<b>
 * rcvbuf: the receiving end's SO_RCVBUF when the receiver starts (not
 * locked: the kernel tunes it during the run, for every receiver alike);
 * busy: CPU seconds the whole machine was busy (/proc/stat) from READY to
 * the receiver's exit; own: the sender's and the receiver's CPU seconds
 * (busy - own is other load, which the driver uses to spot disturbed runs).
 * The receiver gets 60 s, then SIGKILL.
 */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <unistd.h>


#define CHUNK (256 * 1024)

int main(int argc, char **argv) {
  if (argc < 4 || strcmp(argv[2], "--") != 0) {
    fprintf(stderr, "usage: tcp_run BYTES -- receiver [args...]\n");
    return 2;
  }
  long long total = atoll(argv[1]);
  signal(SIGPIPE, SIG_IGN);

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = { .sin_family = AF_INET };
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 1)) die("listen");
  socklen_t alen = sizeof a;
  getsockname(lfd, (struct sockaddr *)&a, &alen);
  int sfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (connect(sfd, (struct sockaddr *)&a, sizeof a)) die("connect");
  int rfd = accept(lfd, NULL, NULL);
  if (rfd < 0) die("accept");
  close(lfd);
  int rcvbuf0 = so_rcvbuf(rfd);

  char val[32];
  int outfd;
  snprintf(val, sizeof val, "%lld", total);
  pid_t pid = launch_receiver(argv + 3, rfd, "tcp", "WR_BYTES", val,
                              &outfd, "tcp_run");
  if (pid < 0) return 3;

  /* pattern buffer: CHUNK + 251 bytes, so any offset mod 251 can start */
  static unsigned char pat[CHUNK + 251];
  for (size_t i = 0; i < sizeof pat; i++) pat[i] = (unsigned char)(i % 251);
  long long sent = 0;
  double busy0 = machine_busy_s();
  int64_t self0 = cpu_ns();
  int64_t t0 = now_ns();
  /* the receiver gets 60 s in all: a send timeout keeps us from hanging */
  struct timeval tv = { 60, 0 };
  setsockopt(sfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  while (sent < total) {
    size_t want = total - sent < CHUNK ? (size_t)(total - sent) : CHUNK;
    ssize_t r = write(sfd, pat + sent % 251, want);
    if (r < 0) { if (errno == EINTR) continue; perror("tcp_run: write"); break; }
    sent += r;
  }
  double period = (now_ns() - t0) / 1e9;
  close(sfd);

  char out[65536];
  size_t outlen = 0;
  int eof = 0;
  int64_t give_up = now_ns() + 60000000000LL;
  struct pollfd p = { .fd = outfd, .events = POLLIN };
  while (!eof && now_ns() < give_up) {
    if (poll(&p, 1, 100) <= 0) continue;
    ssize_t k = read(outfd, out + outlen, sizeof out - 1 - outlen);
    if (k <= 0) { eof = 1; break; }
    outlen += k;
    if (outlen >= sizeof out - 1) outlen = 0;
  }
  int status;
  double child = reap_receiver(pid, eof, "tcp_run", &status);
  double busy = machine_busy_s() - busy0;
  double own = (cpu_ns() - self0) / 1e9 + child;
  out[outlen] = 0;
  fputs(out, stdout);
  printf("SENDER sent=%lld secs=%.6f busy=%.3f own=%.3f rcvbuf=%d\n", sent, period,
         busy, own, rcvbuf0);
  return eof && WIFEXITED(status) ? WEXITSTATUS(status) : 4;
}
