/*
** loverlapped.h -- wsarecv.overlapped and the completion path, for the
** files above it (loverlapped.c traces the path).
*/
#ifndef LOVERLAPPED_H
#define LOVERLAPPED_H

#include <stddef.h>

#include "lwr_aux.h"

WR_INTERNAL_BEGIN

/* The fields are loverlapped.c's (lwr_aux.h says how). */
#ifdef LWR_HOME_OV
#define LWR_OV_PRIVATE(name) name
#else
#define LWR_OV_PRIVATE(name) name##_private_to_loverlapped
#endif

/*
** wsarecv.overlapped.  User values: 1 the socket, 2 the routine, 3 the
** buffers it pins (one buffer, a send's string, or its own reusable
** table), 4 the caller's context, 5 the msg of a WSARecvMsg or a
** WSASendMsg, 6 an AcceptEx's accept socket.  While an operation is pending (or
** its routine is queued) `ref` anchors it in the registry, and through it
** everything the kernel may still write to (loverlapped.c).
*/
typedef struct lwr_ov {
  lwr_hdr h;
  wr_overlapped LWR_OV_PRIVATE(ov);  /* the core hands back &ov:
                                        lwr_ov_of finds o around it */
  lwr_ctx *LWR_OV_PRIVATE(ctx);
  int LWR_OV_PRIVATE(ref);
  int LWR_OV_PRIVATE(npins);
  int LWR_OV_PRIVATE(held);  /* ports whose last wait handed it out
                                (lport.c): the anchor stays until their
                                next wait */
  /* what user values 1-3 hold now, so a repost with the same ones sets
  ** none (loverlapped.c, lwr_ov_begin) */
  const void *LWR_OV_PRIVATE(uval_sock);  /* the socket userdata */
  const void *LWR_OV_PRIVATE(uval_buf);   /* a lone buffer pinned (NULL: a
                                             table, or none) */
  int LWR_OV_PRIVATE(uval_routine);       /* a routine is held */
} lwr_ov;

enum { OV_UVAL_SOCKET = 1, OV_UVAL_ROUTINE, OV_UVAL_PINS, OV_UVAL_CONTEXT,
       OV_UVAL_MSG, OV_UVAL_PEER, OV_UVAL_COUNT = 6 };

void lwr_open_overlapped(lua_State *L);

/* The object at idx, or a raised type error; the core's object inside o. */
static inline lwr_ov *lwr_checkov(lua_State *L, int idx) {
  return (lwr_ov *)lwr_checktype(L, idx, LWR_T_OV);
}
static inline wr_overlapped *lwr_ov_core(lwr_ov *o) {
  return &o->LWR_OV_PRIVATE(ov);
}
/* The object around a core pointer the core handed back. */
static inline lwr_ov *lwr_ov_of(wr_overlapped *ov) {
  return (lwr_ov *)(void *)((char *)ov - offsetof(lwr_ov, LWR_OV_PRIVATE(ov)));
}

/* A post under way: the object, its stack slot, the WSABUFs it took. */
typedef struct lwr_post {
  lwr_ov *o;
  int ovidx;
  wr_wsabuf *bufs;     /* the core's storage inside o, filled */
  size_t n;
} lwr_post;

/*
** Begin a post on the object at ovidx (none: a new one is pushed): it
** takes the WSABUF array at bufidx, holds the socket (argument 1) and the
** routine at rtidx.  A send (send = 1) also takes a string, read in
** place, or bufidx 0: no buffers.  0, or a WSA code (nothing held).
*/
int lwr_ov_begin(lua_State *L, wr_socket *s, int bufidx, int ovidx,
                 int rtidx, int send, lwr_post *p);
int lwr_ov_end(lua_State *L, lwr_ov *o, int r, size_t bytes);

/* What the core calls: the routine of a post, the loop's event hook. */
void lwr_routine(unsigned err, size_t bytes, wr_overlapped *ov,
                 unsigned flags);
void lwr_event_hook(wr_overlapped *ov, void *data);

/* A port's wait pushes the object of a queued entry, and once it took the
** entry holds it anchored until the port's next wait calls
** lwr_ov_unhold: while another port holds it too, or it was posted again,
** only the count goes (inline: a wait lets go of a whole batch); the last
** hold on an idle object takes its anchor along (lwr_ov_unhold_last). */
lwr_ov *lwr_ov_push(lua_State *L, wr_overlapped *ov);
void lwr_ov_unhold_last(lua_State *L, lwr_ov *o);
static inline void lwr_ov_hold(lwr_ov *o) { o->LWR_OV_PRIVATE(held)++; }
static inline void lwr_ov_unhold(lua_State *L, lwr_ov *o) {
  if (o->LWR_OV_PRIVATE(held) > 1 || wr_overlapped_busy(lwr_ov_core(o)))
    o->LWR_OV_PRIVATE(held)--;
  else
    lwr_ov_unhold_last(L, o);
}

/* Around every wait that may run routines (the saved thread, for nesting) */
lua_State *lwr_wait_enter(lwr_ctx *c, lua_State *L);
void lwr_wait_leave(lwr_ctx *c, lua_State *L, lua_State *saved);

WR_INTERNAL_END

#endif
