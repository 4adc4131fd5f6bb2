/* bench/c/c_send.c -- the C send anchors of scenarios 6 and 7, run by
 * send_run (see there for the environment).  WR_SENDER says which:
 *
 *   sendto    UDP: one sendto() per datagram, the destination each time
 *   sendmmsg  UDP: sendmmsg() of 64 datagrams, each with its destination
 *   gso       UDP: sendmsg() of 64 x SIZE bytes with a UDP_SEGMENT control
 *             message of SIZE (UDP GSO: 64 datagrams on the wire per call)
 *   write     TCP: write() of 64 KiB at a time (blocking) until WR_BYTES
 *   writepoll TCP: the same on a nonblocking descriptor, poll() for POLLOUT
 *             when a write finds no room (what an event loop does,
 *             without the event loop)
 *
 * Blocking descriptor, no event loop, the same payload buffer every time.
 * Prints
 *   RESULT sent=<datagrams or writes> bytes=<b> err=<failed calls>
 *          cpu_ns=<n> wall_ns=<n>
 * cpu and wall from the first send to the last. */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#define BATCH 64

static unsigned char flat[BATCH * 1472];
static unsigned char chunk[65536 + 256];   /* byte i = i & 255 */

static void out(long long sent, long long bytes, long long err, int64_t c0, int64_t t0) {
  int64_t cpu = cpu_ns() - c0, wall = now_ns() - t0;
  printf("RESULT sent=%lld bytes=%lld err=%lld cpu_ns=%lld wall_ns=%lld\n",
         sent, bytes, err, (long long)cpu, (long long)wall);
  fflush(stdout);
}

static int tcp_write(int fd, int use_poll) {
  long long total = atoll(env_str("WR_BYTES", "0")), sent = 0, writes = 0, err = 0;
  for (size_t i = 0; i < sizeof chunk; i++) chunk[i] = (unsigned char)i;
  if (use_poll) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  int64_t c0 = cpu_ns(), t0 = now_ns();
  while (sent < total) {
    size_t want = total - sent < 65536 ? (size_t)(total - sent) : 65536;
    /* a partial write leaves the stream at an offset: go on from there */
    ssize_t r = write(fd, chunk + (sent & 255), want);
    if (r < 0 && use_poll && errno == EAGAIN) {
      struct pollfd p = { .fd = fd, .events = POLLOUT };
      if (poll(&p, 1, 30000) == 0) { fprintf(stderr, "c_send: poll timeout\n"); err++; break; }
      continue;
    }
    if (r < 0) { if (errno == EINTR) continue; perror("c_send: write"); err++; break; }
    sent += r;
    writes++;
  }
  out(writes, sent, err, c0, t0);
  close(fd);
  return err != 0;
}

int main(void) {
  int fd = (int)env_long("WR_FD", -1);
  const char *how = env_str("WR_SENDER", "sendto");
  long n = env_long("WR_N", 0), size = env_long("WR_SIZE", 64);
  if (fd < 0) { fprintf(stderr, "c_send: WR_FD not set\n"); return 2; }
  if (strcmp(how, "write") == 0) return tcp_write(fd, 0);
  if (strcmp(how, "writepoll") == 0) return tcp_write(fd, 1);
  if (size < 1 || size > 1472 || n < 1) { fprintf(stderr, "c_send: bad WR_N or WR_SIZE\n"); return 2; }

  struct sockaddr_in to = { .sin_family = AF_INET };
  to.sin_port = htons((unsigned short)env_long("WR_PORT", 0));
  inet_pton(AF_INET, env_str("WR_DEST", "127.0.0.1"), &to.sin_addr);
  for (int i = 0; i < BATCH; i++) send_payload(flat + i * size, size);

  long long sent = 0, err = 0;
  int64_t c0 = cpu_ns(), t0 = now_ns();
  if (strcmp(how, "sendto") == 0) {
    while (sent < n) {
      if (sendto(fd, flat, size, 0, (struct sockaddr *)&to, sizeof to) < 0) {
        if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN) { err++; continue; }
        die("sendto");
      }
      sent++;
    }
  } else if (strcmp(how, "sendmmsg") == 0) {
    struct mmsghdr mm[BATCH];
    struct iovec iov[BATCH];
    for (int i = 0; i < BATCH; i++) {
      iov[i].iov_base = flat + i * size;
      iov[i].iov_len = size;
      memset(&mm[i], 0, sizeof mm[i]);
      mm[i].msg_hdr.msg_name = &to;
      mm[i].msg_hdr.msg_namelen = sizeof to;
      mm[i].msg_hdr.msg_iov = &iov[i];
      mm[i].msg_hdr.msg_iovlen = 1;
    }
    while (sent < n) {
      int k = n - sent < BATCH ? (int)(n - sent) : BATCH;
      int r = sendmmsg(fd, mm, k, 0);
      if (r < 0) {
        if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN) { err++; continue; }
        die("sendmmsg");
      }
      sent += r;
    }
  } else if (strcmp(how, "gso") == 0) {
    union { char buf[CMSG_SPACE(sizeof(uint16_t))]; struct cmsghdr align; } u;
    struct iovec iov = { .iov_base = flat };
    struct msghdr mh = { .msg_name = &to, .msg_namelen = sizeof to, .msg_iov = &iov,
                         .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf };
    struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
    cm->cmsg_level = SOL_UDP;
    cm->cmsg_type = UDP_SEGMENT;
    cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    *(uint16_t *)(void *)CMSG_DATA(cm) = (uint16_t)size;
    while (sent < n) {
      long k = n - sent < BATCH ? n - sent : BATCH;
      iov.iov_len = (size_t)(k * size);
      ssize_t r = sendmsg(fd, &mh, 0);
      if (r < 0) {
        if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN) { err++; continue; }
        die("sendmsg UDP_SEGMENT");
      }
      sent += r / size;
    }
  } else {
    fprintf(stderr, "c_send: WR_SENDER=%s?\n", how);
    return 2;
  }
  out(sent, sent * size, err, c0, t0);
  return 0;
}
