/* bench/soak/soak_send.c -- the sending side of `make soak`.
 *
 *   soak_send tcp PORT BYTES
 *   soak_send udp PORT CTLPORT COUNT SIZE RATE
 *
 * tcp: connects to 127.0.0.1:PORT, writes BYTES of the stream pattern,
 * closes.  udp: connects a TCP control connection to 127.0.0.1:CTLPORT,
 * sends COUNT datagrams of SIZE bytes to 127.0.0.1:PORT (sendmmsg in
 * batches of 32, paced to RATE datagrams a second; 0 = as fast as it
 * can), then writes "DONE <sent>\n" on the control connection and closes
 * it.  Either prints one line at the end:
 *   SENT bytes=<n> secs=<s>       SENT datagrams=<n> secs=<s>
 * and exits 0 when everything was sent.
 *
 * The patterns (bench/soak/soak.lua checks them):
 *   fill(j)  a byte from a 64-bit mixer of j (splitmix64's finalizer)
 *   stream   blocks of PERIOD bytes (a prime, so blocks straddle buffer
 *            edges everywhere); the block starting at stream offset o
 *            holds o as 8 bytes big endian, then fill(8) .. fill(PERIOD-1)
 *   datagram seq as 8 bytes big endian, then byte i (i >= 8) is
 *            fill(i + seq % 61)
 *
 * SOAK_FAULT=KIND:N breaks the stream on purpose, so that soak.lua's
 * --selftest can see each check fail: flip (a wrong bit in stream byte or
 * datagram N), skip (byte or datagram N is never sent, yet counted),
 * dup (datagram N+1 carries N's sequence number), swap (datagrams N and
 * N+1 trade places).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PERIOD 4093         /* the stream's block: a prime */
#define BLOCKS 64           /* blocks per write */
#define ROT    61           /* datagram payload rotations: a prime */
#define BATCH  32           /* datagrams per sendmmsg */
#define MAXDG  1472

static enum { NONE, FLIP, SKIP, DUP, SWAP } fault;
static uint64_t fault_at;

static void parse_fault(void) {
  static const char *names[] = { "none", "flip", "skip", "dup", "swap" };
  const char *s = getenv("SOAK_FAULT");
  if (s == NULL || *s == 0) return;
  for (int k = 1; k < 5; k++) {
    size_t n = strlen(names[k]);
    if (strncmp(s, names[k], n) == 0 && s[n] == ':') {
      fault = k;
      fault_at = strtoull(s + n + 1, NULL, 10);
      return;
    }
  }
  fprintf(stderr, "soak_send: bad SOAK_FAULT %s\n", s);
  exit(2);
}

static unsigned char fill(uint64_t j) {
  uint64_t z = (j + 1) * 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return (unsigned char)(z ^ (z >> 31));
}

static void put_be64(unsigned char *p, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8) p[i] = (unsigned char)v;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  fprintf(stderr, "soak_send: %s: %s\n", what, strerror(errno));
  exit(2);
}

static int connect_to(int type, int port) {
  struct sockaddr_in a = { .sin_family = AF_INET };
  int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket");
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons((uint16_t)port);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
  return fd;
}

/* write all of p[0..len), or die */
static void write_all(int fd, const unsigned char *p, size_t len) {
  while (len > 0) {
    ssize_t r = write(fd, p, len);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("write");
    p += r;
    len -= (size_t)r;
  }
}

/* =====================================================================
** TCP: the stream, BLOCKS blocks per write
** =================================================================== */

static int send_tcp(int port, uint64_t total) {
  static unsigned char chunk[PERIOD * BLOCKS];
  int fd = connect_to(SOCK_STREAM, port);
  uint64_t off = 0;
  double t0 = now_s();
  for (size_t b = 0; b < BLOCKS; b++)
    for (size_t j = 8; j < PERIOD; j++) chunk[b * PERIOD + j] = fill(j);
  while (off < total) {
    uint64_t len = total - off < sizeof chunk ? total - off : sizeof chunk;
    uint64_t f = fault_at - off;           /* the fault's place in chunk */
    for (size_t b = 0; b < BLOCKS; b++)
      put_be64(chunk + b * PERIOD, off + b * PERIOD);
    if (fault_at < off || f >= len) {
      write_all(fd, chunk, (size_t)len);
    } else if (fault == FLIP) {
      chunk[f] ^= 1;
      write_all(fd, chunk, (size_t)len);
      chunk[f] ^= 1;
    } else if (fault == SKIP) {
      write_all(fd, chunk, (size_t)f);
      write_all(fd, chunk + f + 1, (size_t)(len - f - 1));
    } else {
      write_all(fd, chunk, (size_t)len);
    }
    off += len;
  }
  close(fd);
  printf("SENT bytes=%llu secs=%.3f\n", (unsigned long long)off, now_s() - t0);
  return 0;
}

/* =====================================================================
** UDP: sequence-numbered datagrams, paced
** =================================================================== */

/* sleep until t (CLOCK_MONOTONIC seconds) */
static void sleep_until(double t) {
  struct timespec ts;
  ts.tv_sec = (time_t)t;
  ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
}

/* the datagram sent in place n: datagram n, unless a fault says else */
static void fill_dgram(unsigned char *p, size_t size, uint64_t n) {
  uint64_t seq = n;
  if (fault == DUP && n == fault_at + 1) seq = fault_at;
  if (fault == SWAP && n == fault_at) seq = fault_at + 1;
  if (fault == SWAP && n == fault_at + 1) seq = fault_at;
  put_be64(p, seq);
  for (size_t i = 8; i < size; i++) p[i] = fill(i + seq % ROT);
  if (fault == FLIP && n == fault_at) p[size - 1] ^= 1;
}

static int send_udp(int port, int ctlport, uint64_t count, size_t size,
                    double rate) {
  static unsigned char bufs[BATCH][MAXDG];
  struct mmsghdr mm[BATCH];
  struct iovec iov[BATCH];
  char done[64];
  int ctl = connect_to(SOCK_STREAM, ctlport);
  int fd = connect_to(SOCK_DGRAM, port);
  int sndbuf = 4 << 20;
  uint64_t seq = 0;
  double t0;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  memset(mm, 0, sizeof mm);
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = bufs[i];
    iov[i].iov_len = size;
    mm[i].msg_hdr.msg_iov = &iov[i];
    mm[i].msg_hdr.msg_iovlen = 1;
  }
  t0 = now_s();
  while (seq < count) {
    unsigned n = count - seq < BATCH ? (unsigned)(count - seq) : BATCH;
    if (fault == SKIP && seq == fault_at) { seq++; continue; }
    if (fault == SKIP && seq < fault_at && seq + n > fault_at)
      n = (unsigned)(fault_at - seq);
    for (unsigned i = 0; i < n; i++) fill_dgram(bufs[i], size, seq + i);
    int r = sendmmsg(fd, mm, n, 0);
    if (r < 0 && (errno == EINTR || errno == ENOBUFS)) continue;
    if (r < 0) die("sendmmsg");
    seq += (uint64_t)r;
    /* pacing: the next batch leaves when its time has come */
    if (rate > 0) sleep_until(t0 + (double)seq / rate);
  }
  double secs = now_s() - t0;
  snprintf(done, sizeof done, "DONE %llu\n", (unsigned long long)seq);
  write_all(ctl, (const unsigned char *)done, strlen(done));
  close(ctl);
  close(fd);
  printf("SENT datagrams=%llu secs=%.3f\n", (unsigned long long)seq, secs);
  return 0;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  parse_fault();
  if (argc == 4 && strcmp(argv[1], "tcp") == 0)
    return send_tcp(atoi(argv[2]), strtoull(argv[3], NULL, 10));
  if (argc == 7 && strcmp(argv[1], "udp") == 0) {
    size_t size = strtoul(argv[5], NULL, 10);
    if (size < 8 || size > MAXDG) {
      fprintf(stderr, "soak_send: SIZE must be 8..%d\n", MAXDG);
      return 2;
    }
    return send_udp(atoi(argv[2]), atoi(argv[3]),
                    strtoull(argv[4], NULL, 10), size, atof(argv[6]));
  }
  fprintf(stderr, "usage: soak_send tcp PORT BYTES\n"
                  "       soak_send udp PORT CTLPORT COUNT SIZE RATE\n");
  return 2;
}
