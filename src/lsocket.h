/*
** lsocket.h -- wsarecv.socket (lsocket.c), for the module.
*/
#ifndef LSOCKET_H
#define LSOCKET_H

#include "lwr_aux.h"

WR_INTERNAL_BEGIN

void lwr_open_socket(lua_State *L);

WR_INTERNAL_END

#endif
