/*
** lrecv.h -- the socket's receive methods (lrecv.c), for the socket type.
*/
#ifndef LRECV_H
#define LRECV_H

#include "lwr_aux.h"

WR_INTERNAL_BEGIN

/* WSARecv, WSARecvMsg, WSAGetOverlappedResult, CancelIoEx */
extern const luaL_Reg lwr_recv_methods[];

WR_INTERNAL_END

#endif
