/*
** lbuffer.h -- wsarecv.buffer and WSABUF arrays, for the files above it
** (lbuffer.c says what each does).
*/
#ifndef LBUFFER_H
#define LBUFFER_H

#include "lwr_aux.h"

WR_INTERNAL_BEGIN

void lwr_open_buffer(lua_State *L);
lwr_buf *lwr_newbuffer(lua_State *L, size_t len);
/* WSABUF arrays: count them, read them into iovecs, or only check them */
size_t lwr_count_bufs(lua_State *L, int idx, int argn);
int lwr_fill_bufs(lua_State *L, int idx, int argn, wr_wsabuf *iov, size_t n);
void lwr_check_bufs(lua_State *L, int idx, int argn);

WR_INTERNAL_END

#endif
