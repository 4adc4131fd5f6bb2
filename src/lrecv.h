/*
** lrecv.h -- the socket's receive methods (lrecv.c), for the socket type.
*/
#ifndef LRECV_H
#define LRECV_H

#include "lwr_aux.h"

/* WSARecv, WSARecvMsg, WSAGetOverlappedResult, CancelIoEx */
extern const luaL_Reg lwr_recv_methods[];

#endif
