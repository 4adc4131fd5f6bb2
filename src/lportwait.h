/*
** lportwait.h -- a completion port's waits (lportwait.c):
** lwr_open_port_waits, for the module.
*/
#ifndef LPORTWAIT_H
#define LPORTWAIT_H

#include "lwr_aux.h"

WR_INTERNAL_BEGIN

/* Add GetQueuedCompletionStatus, GetQueuedCompletionStatusEx and
** PostQueuedCompletionStatus to the port's methods (after lwr_open_port;
** the context on the stack top). */
void lwr_open_port_waits(lua_State *L);

WR_INTERNAL_END

#endif
