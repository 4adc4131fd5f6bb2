/* bench/c/common.h -- shared helpers for the benchmark's C programs.
 *
 * Datagram pattern: byte 1 (index 0) = seq % 251, bytes 2..5 = seq (big
 * endian), the rest zero.  End marker datagrams have byte 1 = 255.
 * TCP pattern: the byte at stream offset i is i % 251.
 *
 * Receivers are told what to do through the environment:
 *   WR_FD    the socket to adopt (inherited)
 *   WR_MODE  "udp"   receive until an end marker (scenario 1)
 *            "drain" receive exactly WR_N datagrams (scenarios 3 and 4)
 *            "tcp"   receive until end of stream (scenario 2)
 *   WR_N     datagram count for drain mode
 *   WR_SIZE  expected datagram size (udp, drain)
 *   WR_BYTES expected stream length (tcp)
 * and print "READY" (udp, tcp) before receiving, then one line
 *   RESULT recv=<n> bytes=<b> err=<content errors> cpu_ns=<n> wall_ns=<n>
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MARKER 255

static inline int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t cpu_ns(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
         ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static inline long env_long(const char *name, long def) {
  const char *s = getenv(name);
  return s && *s ? strtol(s, NULL, 10) : def;
}

static inline const char *env_str(const char *name, const char *def) {
  const char *s = getenv(name);
  return s && *s ? s : def;
}

static inline void die(const char *what) {
  fprintf(stderr, "%s: %s\n", what, strerror(errno));
  exit(2);
}

static inline void ready(void) {
  fputs("READY\n", stdout);
  fflush(stdout);
}

static inline void result(long long recv, long long bytes, long long err,
                          int64_t cpu, int64_t wall) {
  printf("RESULT recv=%lld bytes=%lld err=%lld cpu_ns=%lld wall_ns=%lld\n",
         recv, bytes, err, (long long)cpu, (long long)wall);
  fflush(stdout);
}

/* fill one datagram of the pattern */
static inline void fill_dgram(unsigned char *p, size_t size, uint64_t seq) {
  memset(p, 0, size);
  p[0] = (unsigned char)(seq % 251);
  if (size >= 5) {
    p[1] = (unsigned char)(seq >> 24); p[2] = (unsigned char)(seq >> 16);
    p[3] = (unsigned char)(seq >> 8);  p[4] = (unsigned char)seq;
  }
}

/* the payload of every datagram a sender sends (scenario 6): byte i (from
 * 0) is 'a' + i % 26; bench/lua/sendcommon.lua makes the same */
static inline void send_payload(unsigned char *p, size_t size) {
  for (size_t i = 0; i < size; i++) p[i] = (unsigned char)('a' + i % 26);
}

/* busy CPU seconds of the whole machine so far (all CPUs, /proc/stat) */
static inline double machine_busy_s(void) {
  FILE *f = fopen("/proc/stat", "r");
  unsigned long long v[10] = { 0 };
  if (!f) return 0;
  if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
             &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) < 7) v[0] = 0;
  fclose(f);
  /* user nice system [idle iowait] irq softirq steal */
  double hz = 100.0;
#ifdef _SC_CLK_TCK
  hz = (double)sysconf(_SC_CLK_TCK);
#endif
  return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / hz;
}

/* SO_RCVBUF as getsockopt reads it (the kernel doubles what it is given) */
static inline int so_rcvbuf(int fd) {
  int v = -1;
  socklen_t len = sizeof v;
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, &len)) return -1;
  return v;
}

/* Run on one CPU only (best effort). */
static inline void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
}

/*
** Start the receiver argv with socket rfd as WR_FD, WR_MODE = mode and
** key = value in its environment, its stdout on a pipe, pinned to CPU 0
** (this process moves to CPU 1), and wait for its READY line (lines
** before it are passed through).  Returns its pid with *out the pipe's
** read end, or -1 if it never got ready (it is killed).
*/
static inline pid_t launch_receiver(char **argv, int rfd, const char *mode,
                                    const char *key, const char *value,
                                    int *out, const char *who) {
  int pfd[2];
  pid_t pid;
  char line[4096];
  size_t ll = 0;
  if (pipe(pfd)) die("pipe");
  fflush(stdout);
  pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    char v[32];
    close(pfd[0]);
    dup2(pfd[1], 1);
    close(pfd[1]);
    snprintf(v, sizeof v, "%d", rfd);
    setenv("WR_FD", v, 1);
    setenv(key, value, 1);
    setenv("WR_MODE", mode, 1);
    pin(0);
    execvp(argv[0], argv);
    perror("exec");
    _exit(127);
  }
  close(pfd[1]);
  close(rfd);
  pin(1);
  /* the receiver's lines, byte by byte until READY (no stdio buffer) */
  for (;;) {
    char c;
    ssize_t k = read(pfd[0], &c, 1);
    if (k <= 0) break;
    if (c != '\n' && ll < sizeof line - 2) { line[ll++] = c; continue; }
    line[ll] = 0;
    if (strcmp(line, "READY") == 0) {
      *out = pfd[0];
      return pid;
    }
    puts(line);
    ll = 0;
  }
  fprintf(stderr, "%s: receiver did not get ready\n", who);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  return -1;
}

/*
** End of a run: kill the receiver if it did not finish, reap it, and
** return the CPU seconds it used; *status gets its wait status.
*/
static inline double reap_receiver(pid_t pid, int finished, const char *who,
                                   int *status) {
  struct rusage ru;
  if (!finished) {
    fprintf(stderr, "%s: receiver did not finish, killing it\n", who);
    kill(pid, SIGKILL);
  }
  *status = 0;
  wait4(pid, status, 0, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

#endif
