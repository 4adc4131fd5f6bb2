/*
** lrecv.h -- the socket's receive methods (lrecv.c): lwr_open_recv, for
** the module.
*/
#ifndef LRECV_H
#define LRECV_H

#include "lwr_aux.h"

WR_INTERNAL_BEGIN

/* Add WSARecv, WSARecvMsg, WSAGetOverlappedResult and CancelIoEx to the
** socket's methods (after lwr_open_socket; the context on the stack top). */
void lwr_open_recv(lua_State *L);

WR_INTERNAL_END

#endif
