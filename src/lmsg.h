/*
** lmsg.h -- wsarecv.msg (lmsg.c), for the module.
*/
#ifndef LMSG_H
#define LMSG_H

#include "lwr_aux.h"

WR_INTERNAL_BEGIN

void lwr_open_msg(lua_State *L);

WR_INTERNAL_END

#endif
