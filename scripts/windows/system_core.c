/*
** system_core.c -- system.core for busted under Windows: the three
** functions of luasystem 0.2 that busted 2.1 calls (busted/core.lua:
** gettime, monotime, sleep), on Win32.  Debian's lua-system source is
** not on every mirror this build may use, and busted needs no more.
**
** Exports: luaopen_system_core -> { gettime, monotime, sleep }
*/
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include "lua.h"
#include "lauxlib.h"

/* 100 ns ticks from 1601-01-01 (FILETIME's epoch) to 1970-01-01 */
#define EPOCH_DIFF 116444736000000000ULL

/* gettime(): seconds since the Unix epoch, as a float */
static int s_gettime(lua_State *L) {
  FILETIME ft;
  ULARGE_INTEGER t;
  GetSystemTimeAsFileTime(&ft);
  t.LowPart = ft.dwLowDateTime;
  t.HighPart = ft.dwHighDateTime;
  lua_pushnumber(L, (lua_Number)(t.QuadPart - EPOCH_DIFF) / 1e7);
  return 1;
}

/* monotime(): seconds on a clock that never steps back */
static int s_monotime(lua_State *L) {
  LARGE_INTEGER freq, now;
  QueryPerformanceFrequency(&freq);
  QueryPerformanceCounter(&now);
  lua_pushnumber(L, (lua_Number)now.QuadPart / (lua_Number)freq.QuadPart);
  return 1;
}

/* sleep(seconds) */
static int s_sleep(lua_State *L) {
  lua_Number s = luaL_checknumber(L, 1);
  Sleep(s > 0 ? (DWORD)(s * 1000 + 0.5) : 0);
  return 0;
}

__declspec(dllexport) int luaopen_system_core(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"gettime", s_gettime}, {"monotime", s_monotime}, {"sleep", s_sleep},
    {NULL, NULL}
  };
  luaL_newlib(L, fns);
  return 1;
}
