/*
** lsend.h -- the socket's sending methods (lsend.c): lwr_open_send, for
** the module.
*/
#ifndef LSEND_H
#define LSEND_H

#include "lwr_aux.h"

WR_INTERNAL_BEGIN

/* Add WSASend, WSASendTo, WSASendMsg, AcceptEx and ConnectEx to the
** socket's methods (after lwr_open_socket; the context on the stack top). */
void lwr_open_send(lua_State *L);

WR_INTERNAL_END

#endif
