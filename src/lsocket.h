/*
** lsocket.h -- wsarecv.socket (lsocket.c), for the module.
*/
#ifndef LSOCKET_H
#define LSOCKET_H

#include "lwr_aux.h"

void lwr_open_socket(lua_State *L);

#endif
