/*
** lportwait.h -- a completion port's waits (lportwait.c), for the port
** type.
*/
#ifndef LPORTWAIT_H
#define LPORTWAIT_H

#include "lport.h"

WR_INTERNAL_BEGIN

/* the entry fields, upvalues 2.. of GetQueuedCompletionStatusEx */
enum { F_BYTES = 2, F_KEY, F_OV, F_ERROR, F_FLAGS, F_LAST = F_FLAGS };

/* GetQueuedCompletionStatus, PostQueuedCompletionStatus */
extern const luaL_Reg lwr_port_wait_methods[];
/* GetQueuedCompletionStatusEx: a closure over the field names (F_*). */
int lwr_GetQueuedCompletionStatusEx(lua_State *L);
/* Let go of what the last wait handed out (before a wait, or a close). */
void lwr_port_unhold_all(lua_State *L, lwr_port *po);
/* A new port's guard, pushed (its user value PORT_UVAL_GUARD); the guards'
** metatable, made once. */
void lwr_port_new_guard(lua_State *L, lwr_port *po);
void lwr_open_port_guard(lua_State *L);

WR_INTERNAL_END

#endif
