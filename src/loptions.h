/*
** loptions.h -- the socket's option methods (loptions.c), for the socket
** type.
*/
#ifndef LOPTIONS_H
#define LOPTIONS_H

#include "lwr_aux.h"

/* setsockopt, getsockopt */
extern const luaL_Reg lwr_option_methods[];

#endif
