/*
** lmsg.h -- wsarecv.msg (lmsg.c): its layout, and its accessors for the
** receive calls (lrecv.c); lwr_open_msg for the module.
*/
#ifndef LMSG_H
#define LMSG_H

#include "lbuffer.h"

WR_INTERNAL_BEGIN

/* The fields are lmsg.c's (lwr_aux.h says how). */
#ifdef LWR_HOME_MSG
#define LWR_MSG_PRIVATE(name) name
#else
#define LWR_MSG_PRIVATE(name) name##_private_to_lmsg
#endif

/* wsarecv.msg: a reusable WSAMSG.  User values: 1 the WSABUF array,
** 2 the control buffer (a wsarecv.buffer, or nil), 3 a send's
** destination {addr, port}, 4 a send's control-message records. */
typedef struct lwr_msg {
  lwr_hdr h;
  wr_msg LWR_MSG_PRIVATE(m);
  lwr_buf *LWR_MSG_PRIVATE(ctl);  /* the control buffer (user value 2
                                     keeps it) */
} lwr_msg;

enum { MSG_UVAL_BUFFERS = 1, MSG_UVAL_CONTROL, MSG_UVAL_TO, MSG_UVAL_SENDCTL,
       MSG_UVAL_COUNT = 4 };

void lwr_open_msg(lua_State *L);

/* The msg at idx, or a raised type error. */
static inline lwr_msg *lwr_checkmsg(lua_State *L, int idx) {
  return (lwr_msg *)lwr_checktype(L, idx, LWR_T_MSG);
}
/* The core's WSAMSG inside mo, and its control buffer (NULL: none). */
static inline wr_msg *lwr_msg_core(lwr_msg *mo) {
  return &mo->LWR_MSG_PRIVATE(m);
}
static inline lwr_buf *lwr_msg_control(const lwr_msg *mo) {
  return mo->LWR_MSG_PRIVATE(ctl);
}

WR_INTERNAL_END

#endif
