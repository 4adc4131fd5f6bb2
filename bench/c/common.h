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
#include <sys/resource.h>
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

#endif
