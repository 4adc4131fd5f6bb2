/*
** lport.h -- wsarecv.port, the I/O completion port, for the module file.
*/
#ifndef LPORT_H
#define LPORT_H

#include "lwr_aux.h"

WR_INTERNAL_BEGIN

void lwr_open_port(lua_State *L);

WR_INTERNAL_END

#endif
