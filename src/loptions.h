/*
** loptions.h -- the socket's option methods (loptions.c), for the socket
** type.
*/
#ifndef LOPTIONS_H
#define LOPTIONS_H

#include "lwr_aux.h"

WR_INTERNAL_BEGIN

/* setsockopt, getsockopt */
extern const luaL_Reg lwr_option_methods[];

WR_INTERNAL_END

#endif
