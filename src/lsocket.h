/*
** lsocket.h -- wsarecv.socket (lsocket.c): its layout and lwr_checksocket,
** for the files that take a socket argument; lwr_open_socket for the
** module.
*/
#ifndef LSOCKET_H
#define LSOCKET_H

#include "lwr_aux.h"

WR_INTERNAL_BEGIN

/* The fields are lsocket.c's (lwr_aux.h says how). */
#ifdef LWR_HOME_SOCKET
#define LWR_SOCK_PRIVATE(name) name
#else
#define LWR_SOCK_PRIVATE(name) name##_private_to_lsocket
#endif

/* wsarecv.socket.  User value 1: its completion key (lport.c). */
typedef struct lwr_sock {
  lwr_hdr h;
  wr_socket *LWR_SOCK_PRIVATE(s);  /* NULL once collected */
} lwr_sock;

enum { SOCK_UVAL_KEY = 1, SOCK_UVAL_COUNT = 1 };

void lwr_open_socket(lua_State *L);

/* The core's socket of the socket at idx; a raised error for another
** type, or a collected one. */
static inline wr_socket *lwr_checksocket(lua_State *L, int idx) {
  lwr_sock *so = (lwr_sock *)lwr_checktype(L, idx, LWR_T_SOCKET);
  if (so->LWR_SOCK_PRIVATE(s) == NULL)
    luaL_argerror(L, idx, "socket was collected");
  return so->LWR_SOCK_PRIVATE(s);
}

/* An address argument: text at idx, and the port at idx + 1 (none on a
** unix socket).  Checked (a wrong type raises) before the socket is
** looked at; parsed after: 0 or the WSA code of wr_addr_parse. */
typedef struct lwr_addr_arg {
  const char *text;
  int port;
} lwr_addr_arg;
void lwr_check_addr(lua_State *L, wr_socket *s, int idx, lwr_addr_arg *a);
int lwr_parse_addr(wr_socket *s, const lwr_addr_arg *a,
                   struct sockaddr_storage *sa, socklen_t *len);

WR_INTERNAL_END

#endif
