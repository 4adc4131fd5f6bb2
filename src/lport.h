/*
** lport.h -- wsarecv.port, the I/O completion port: its layout, checks
** and lwr_port_unhold_all for its two files (lport.c, lportwait.c, which
** stands above it), lwr_open_port for the module file.
*/
#ifndef LPORT_H
#define LPORT_H

#include "loverlapped.h"

WR_INTERNAL_BEGIN

/* The fields are lport.c's and lportwait.c's (lwr_aux.h says how). */
#ifdef LWR_HOME_PORT
#define LWR_PORT_PRIVATE(name) name
#else
#define LWR_PORT_PRIVATE(name) name##_private_to_lport
#endif

/* wsarecv.port.  User value 1: the posted packets' {key, ov} pairs;
** 2: its guard (lportwait.c), a userdata holding the lwr_port pointer. */
typedef struct lwr_port {
  lwr_hdr h;
  wr_port *LWR_PORT_PRIVATE(p);          /* NULL once collected */
  uintptr_t LWR_PORT_PRIVATE(nkeys);     /* associations made: the core
                                            key of each */
  lwr_ov **LWR_PORT_PRIVATE(held);       /* the objects the last wait
                                            handed out */
  size_t LWR_PORT_PRIVATE(cap);          /* held has room for cap */
  size_t LWR_PORT_PRIVATE(nheld);        /* (grown, kept), nheld in use */
  int LWR_PORT_PRIVATE(writing);         /* batches being written
                                            (lportwait.c) */
} lwr_port;

enum { PORT_UVAL_POSTED = 1, PORT_UVAL_GUARD, PORT_UVAL_COUNT = 2 };

void lwr_open_port(lua_State *L);
/* Let go of what the last wait handed out (before a wait, or a close). */
void lwr_port_unhold_all(lua_State *L, lwr_port *po);

/* The port at idx, collected or not, or a raised type error. */
static inline lwr_port *lwr_checkport_any(lua_State *L, int idx) {
  return (lwr_port *)lwr_checktype(L, idx, LWR_T_PORT);
}
/* An open port, or a raised error for a collected one too. */
static inline lwr_port *lwr_checkport(lua_State *L, int idx) {
  lwr_port *po = lwr_checkport_any(L, idx);
  if (po->LWR_PORT_PRIVATE(p) == NULL)
    luaL_argerror(L, idx, "port was collected");
  return po;
}

WR_INTERNAL_END

#endif
