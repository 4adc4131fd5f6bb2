/*
** lpoll.h -- the module functions for another event loop (lpoll.c).
*/
#ifndef LPOLL_H
#define LPOLL_H

#include <lua.h>

/* Adds pollfd, events, timeout, ready, wake, now to the module table at
** the stack top (the context just above it). */
void lwr_open_poll(lua_State *L);

#endif
