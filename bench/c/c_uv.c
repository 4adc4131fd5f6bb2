/* bench/c/c_uv.c -- plain C on libuv: uv_udp_recv_start, without and with
 * UV_UDP_RECVMMSG (WR_MMSG=1), and uv_read_start for TCP.  The alloc
 * callbacks hand out one static buffer (no malloc per datagram): 64 KiB for
 * recv/read, and 64 x 64 KiB with RECVMMSG, because libuv 1.44 splits the
 * buffer into 64 KiB chunks, one per message, at most 20 (UV__MMSG_MAXWIDTH)
 * per recvmmsg call.  See common.h for the environment and output line. */
#include "common.h"
#include <uv.h>

static const char *mode;
static int drain, is_tcp;
static long n, size;
static long long recv_count, bytes, err;
static int64_t c0, t0, c1, t1;
static int finished;
static char *buffer;
static size_t buffer_len;
static uv_udp_t udp;
static uv_tcp_t tcp;
static uv_timer_t deadline;

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h; (void)suggested;
  buf->base = buffer;
  buf->len = buffer_len;
}

static void finish(void) {
  if (finished) return;
  finished = 1;
  t1 = now_ns(); c1 = cpu_ns();
  if (is_tcp) uv_close((uv_handle_t *)&tcp, NULL);
  else uv_close((uv_handle_t *)&udp, NULL);
  uv_close((uv_handle_t *)&deadline, NULL);
}

static void udp_cb(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                   const struct sockaddr *addr, unsigned flags) {
  (void)h;
  if (finished) return;
  if (nread < 0) { fprintf(stderr, "recv: %s\n", uv_strerror((int)nread)); finish(); return; }
  if (addr == NULL) return;               /* EAGAIN, or UV_UDP_MMSG_FREE */
  unsigned char b = (unsigned char)buf->base[0];
  if (b == MARKER && !drain) { finish(); return; }
  if (nread != size || (flags & UV_UDP_PARTIAL)) err++;
  else if (drain ? b != (unsigned char)(recv_count % 251) : b > 250) err++;
  recv_count++;
  bytes += nread;
  if (drain && recv_count >= n) finish();
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  (void)s;
  if (nread == 0) return;
  if (nread < 0) {
    if (nread != UV_EOF) fprintf(stderr, "read: %s\n", uv_strerror((int)nread));
    finish();
    return;
  }
  if ((unsigned char)buf->base[0] != (unsigned char)(bytes % 251)) err++;
  recv_count++;
  bytes += nread;
}

static void on_deadline(uv_timer_t *t) {
  (void)t;
  fprintf(stderr, "c_uv: deadline reached\n");
  finish();
}

int main(void) {
  int fd = (int)env_long("WR_FD", -1);
  mode = env_str("WR_MODE", "udp");
  n = env_long("WR_N", 0);
  size = env_long("WR_SIZE", 64);
  int mmsg = env_long("WR_MMSG", 0) != 0;
  if (fd < 0) { fprintf(stderr, "c_uv: WR_FD not set\n"); return 2; }
  drain = strcmp(mode, "drain") == 0;
  is_tcp = strcmp(mode, "tcp") == 0;

  uv_loop_t *loop = uv_default_loop();
  uv_timer_init(loop, &deadline);
  uv_timer_start(&deadline, on_deadline, 60000, 0);
  uv_unref((uv_handle_t *)&deadline);

  if (is_tcp) {
    buffer_len = 65536;
    buffer = malloc(buffer_len);
    if (uv_tcp_init(loop, &tcp) || uv_tcp_open(&tcp, fd)) die("uv_tcp_open");
    ready();
    c0 = cpu_ns(); t0 = now_ns();
    uv_read_start((uv_stream_t *)&tcp, alloc_cb, read_cb);
  } else {
    buffer_len = mmsg ? 64 * 65536 : 65536;
    buffer = malloc(buffer_len);
    int r = mmsg ? uv_udp_init_ex(loop, &udp, AF_UNSPEC | UV_UDP_RECVMMSG)
                 : uv_udp_init(loop, &udp);
    if (r || uv_udp_open(&udp, fd)) die("uv_udp_open");
    if (mmsg && !uv_udp_using_recvmmsg(&udp)) {
      fprintf(stderr, "c_uv: recvmmsg not in use\n");
      return 2;
    }
    if (!drain) ready();
    c0 = cpu_ns(); t0 = now_ns();
    uv_udp_recv_start(&udp, alloc_cb, udp_cb);
  }
  uv_run(loop, UV_RUN_DEFAULT);
  result(recv_count, bytes, err, c1 - c0, t1 - t0);
  return 0;
}
