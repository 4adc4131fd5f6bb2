/*
** memfail.c -- for the specs only: a real memory error inside a call.
**
** Exports: luaopen_memfail; memfail.pcall(k, f, ...).
**
** Lua raises LUA_ERRMEM where its allocator returns NULL: a table that
** must grow, a new string, a longer stack.  No Lua code can make that
** happen at a chosen point, so this module puts an allocator in front of
** the state's own (lua_setallocf) that refuses every growth from the k-th
** one on, calls f under lua_pcall, and puts the state's allocator back
** before anything else runs.  Walking k from 1 up makes the error strike
** at each allocation point of f in turn.  Frees and shrinks always pass:
** the emergency collection Lua runs before it gives up still works.
*/
#include <lua.h>
#include <lauxlib.h>

static lua_Alloc real;
static void *real_ud;
static lua_Integer left;          /* growths still allowed */
static lua_Integer seen;          /* growths asked for while armed */

static void *failing(void *ud, void *p, size_t osize, size_t nsize) {
  /* p NULL: osize is the kind of object, not a size */
  if (nsize > 0 && (p == NULL || nsize > osize)) {
    seen++;
    if (left-- <= 0) return NULL;
  }
  return real(ud, p, osize, nsize);
}

/*
** memfail.pcall(k, f, ...) -> ok, status, err, growths
**   calls f(...) with the k-th growth and every later one refused; ok and
**   the error as pcall gives them, status LUA_ERRMEM (4) for a memory
**   error, growths how many were asked for (k past it: f ran whole).
*/
static int l_pcall(lua_State *L) {
  lua_Integer k = luaL_checkinteger(L, 1);
  int status;
  luaL_checktype(L, 2, LUA_TFUNCTION);
  real = lua_getallocf(L, &real_ud);
  left = k - 1;
  seen = 0;
  lua_setallocf(L, failing, real_ud);
  status = lua_pcall(L, lua_gettop(L) - 2, 0, 0);
  lua_setallocf(L, real, real_ud);
  if (status == LUA_OK) lua_pushnil(L);
  lua_pushboolean(L, status == LUA_OK);
  lua_pushinteger(L, status);
  lua_rotate(L, -3, 2);                   /* ok, status, err */
  lua_pushinteger(L, seen);
  return 4;
}

int luaopen_memfail(lua_State *L) {
  static const luaL_Reg f[] = { { "pcall", l_pcall }, { NULL, NULL } };
  luaL_newlib(L, f);
  return 1;
}
