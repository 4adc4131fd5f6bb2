/*
** lfloor.c -- a stub of wsarecv's C module for measuring the floor: what
** the Lua side of a receiver costs on this interpreter when wsarecv's C
** work is taken away.  bench/lua/recv_floor.lua installs it as "wsarecv"
** and runs bench/lua/recv_wsarecv.lua unchanged.
**
** Each stub does the least a real implementation must: WSARecv returns the
** pending triple; buf:byte returns the expected byte; SleepEx delivers one
** completion per posted operation, round robin, with lua_pcall and the
** routine's four arguments, as wsarecv does, until WR_N were delivered.
*/
#include <stdlib.h>
#include <lua.h>
#include <lauxlib.h>

#define MAXOPS 256

static int nops, nextop, pending_ref = LUA_NOREF;
static int op_ov[MAXOPS], op_routine[MAXOPS];
static lua_Integer delivered, limit;

static int s_WSARecv(lua_State *L) {         /* sock:WSARecv(buf, 0, ov, r) */
  if (nops < MAXOPS && delivered == 0) {     /* the first posts: remember */
    lua_pushvalue(L, 4);
    op_ov[nops] = luaL_ref(L, LUA_REGISTRYINDEX);
    lua_pushvalue(L, 5);
    op_routine[nops++] = luaL_ref(L, LUA_REGISTRYINDEX);
  }
  lua_pushnil(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, pending_ref);
  lua_pushinteger(L, 997);
  return 3;
}

static int s_byte(lua_State *L) {            /* buf:byte(1) */
  lua_pushinteger(L, (delivered - 1) % 251);
  return 1;
}

static int s_SleepEx(lua_State *L) {
  int k = 0;
  while (delivered < limit && k++ < 1000 && nops > 0) {
    int i = nextop++ % nops;
    delivered++;
    lua_rawgeti(L, LUA_REGISTRYINDEX, op_routine[i]);
    lua_pushnil(L);                          /* err */
    lua_pushinteger(L, 64);                  /* bytes */
    lua_rawgeti(L, LUA_REGISTRYINDEX, op_ov[i]);
    lua_pushinteger(L, 0);                   /* flags */
    if (lua_pcall(L, 4, 0, 0) != LUA_OK) return lua_error(L);
  }
  lua_pushliteral(L, "WAIT_IO_COMPLETION");
  return 1;
}

static int s_nop(lua_State *L) { lua_pushinteger(L, 0); return 1; }

static void object(lua_State *L, const luaL_Reg *methods) {
  lua_newuserdatauv(L, 8, 0);
  lua_newtable(L);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, -2);
}

static int s_wrap(lua_State *L) {
  static const luaL_Reg m[] = {
    {"WSARecv", s_WSARecv}, {"setsockopt", s_nop}, {"close", s_nop},
    {NULL, NULL}
  };
  object(L, m);
  return 1;
}

static int s_buffer(lua_State *L) {
  static const luaL_Reg m[] = { {"byte", s_byte}, {NULL, NULL} };
  object(L, m);
  return 1;
}

static int s_overlapped(lua_State *L) {
  lua_newuserdatauv(L, 8, 0);
  return 1;
}

int luaopen_benchfloor(lua_State *L) {
  static const luaL_Reg f[] = {
    {"wrap", s_wrap}, {"buffer", s_buffer}, {"overlapped", s_overlapped},
    {"SleepEx", s_SleepEx}, {"run", s_nop}, {NULL, NULL}
  };
  const char *n = getenv("WR_N");
  limit = n ? atoll(n) : 0;
  lua_pushliteral(L, "WSA_IO_PENDING");
  pending_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  luaL_newlib(L, f);
  return 1;
}
