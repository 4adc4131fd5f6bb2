/*
** loptions.h -- the socket's option methods (loptions.c):
** lwr_open_options, for the module.
*/
#ifndef LOPTIONS_H
#define LOPTIONS_H

#include "lwr_aux.h"

WR_INTERNAL_BEGIN

/* Add setsockopt and getsockopt to the socket's methods (after
** lwr_open_socket; the context on the stack top). */
void lwr_open_options(lua_State *L);

WR_INTERNAL_END

#endif
