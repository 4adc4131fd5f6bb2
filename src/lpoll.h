/*
** lpoll.h -- the module functions for another event loop (lpoll.c).
*/
#ifndef LPOLL_H
#define LPOLL_H

#include "lwr_aux.h"

WR_INTERNAL_BEGIN

/* Adds pollfd, events, timeout, ready, wake, now to the module table at
** the stack top (the context just above it). */
void lwr_open_poll(lua_State *L);

WR_INTERNAL_END

#endif
