/*
** loverlapped.h -- wsarecv.overlapped and the completion path, for the
** files above it (loverlapped.c traces the path).
*/
#ifndef LOVERLAPPED_H
#define LOVERLAPPED_H

#include "lwr_aux.h"

WR_INTERNAL_BEGIN

void lwr_open_overlapped(lua_State *L);

/* A post under way: the object, its stack slot, the WSABUFs it took. */
typedef struct lwr_post {
  lwr_ov *o;
  int ovidx;
  wr_wsabuf *bufs;     /* the core's storage inside o, filled */
  size_t n;
} lwr_post;

int lwr_ov_begin(lua_State *L, wr_socket *s, int bufidx, int ovidx,
                 int rtidx, lwr_post *p);
int lwr_ov_end(lua_State *L, lwr_ov *o, int r, size_t bytes);

/* What the core calls: the routine of a post, the loop's event hook. */
void lwr_routine(unsigned err, size_t bytes, wr_overlapped *ov,
                 unsigned flags);
void lwr_event_hook(wr_overlapped *ov, void *data);

/* A port's wait pushes the object of a queued entry, and once it took the
** entry holds it anchored until the port's next wait calls
** lwr_ov_unhold. */
lwr_ov *lwr_ov_push(lua_State *L, wr_overlapped *ov);
static inline void lwr_ov_hold(lwr_ov *o) { o->held++; }
void lwr_ov_unhold(lua_State *L, lwr_ov *o);

/* Around every wait that may run routines (the saved thread, for nesting) */
lua_State *lwr_wait_enter(lwr_ctx *c, lua_State *L);
void lwr_wait_leave(lwr_ctx *c, lua_State *L, lua_State *saved);

WR_INTERNAL_END

#endif
