/*
** lbuffer.h -- wsarecv.buffer and WSABUF arrays, for the files above it
** (lbuffer.c says what each does): the buffer's layout and its accessors.
*/
#ifndef LBUFFER_H
#define LBUFFER_H

#include "lwr_aux.h"

WR_INTERNAL_BEGIN

/* The fields are lbuffer.c's (lwr_aux.h says how). */
#ifdef LWR_HOME_BUFFER
#define LWR_BUF_PRIVATE(name) name
#else
#define LWR_BUF_PRIVATE(name) name##_private_to_lbuffer
#endif

/*
** wsarecv.buffer: fixed capacity.  `data` points at the bytes: into
** small[] for a small buffer, into calloc'd memory for a large one
** (lbuffer.c says why), WR_HEADROOM bytes past the start either way (the
** core's, in front of the caller's bytes: wr.h).  Either way it is 8-byte aligned (control buffers hold cmsghdrs)
** and never moves.
*/
typedef struct lwr_buf {
  lwr_hdr h;
  size_t LWR_BUF_PRIVATE(len);
  size_t LWR_BUF_PRIVATE(closed);  /* a size_t: keeps small[] 8-byte
                                      aligned */
  unsigned char *LWR_BUF_PRIVATE(data);
  unsigned char LWR_BUF_PRIVATE(small)[1];  /* a small buffer's bytes */
} lwr_buf;

/* The buffer at idx, closed or not, or NULL. */
static inline lwr_buf *lwr_tobuffer(lua_State *L, int idx) {
  return (lwr_buf *)lwr_testtype(L, idx, LWR_T_BUFFER);
}
/* Its bytes, its capacity, and whether close() marked it. */
static inline unsigned char *lwr_buf_data(const lwr_buf *b) {
  return b->LWR_BUF_PRIVATE(data);
}
static inline size_t lwr_buf_len(const lwr_buf *b) {
  return b->LWR_BUF_PRIVATE(len);
}
static inline int lwr_buf_closed(const lwr_buf *b) {
  return b->LWR_BUF_PRIVATE(closed) != 0;
}

void lwr_open_buffer(lua_State *L);
lwr_buf *lwr_newbuffer(lua_State *L, size_t len);
/* WSABUF arrays: count them, read them into iovecs, or only check them */
size_t lwr_count_bufs(lua_State *L, int idx, int argn);
int lwr_fill_bufs(lua_State *L, int idx, int argn, wr_wsabuf *iov, size_t n);
void lwr_check_bufs(lua_State *L, int idx, int argn);

WR_INTERNAL_END

#endif
