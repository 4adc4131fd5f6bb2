/*
** loptions.c -- a socket's options: setsockopt and getsockopt by Winsock or
** BSD name, for the socket type.
**
** Exports: socket methods setsockopt, getsockopt, which
**          lwr_open_options (loptions.h, for the module) adds to the
**          socket's method table.
**
** The core keeps the table of options and their kinds (wr_sockopt_find);
** here each kind's Lua value is checked and converted: booleans, integers
** within the option's C type, {group, interface} memberships, and the
** multicast interface (a name, an index, or an IPv4 address).
*/
#include <limits.h>
#include <string.h>
#ifndef _WIN32
#include <netinet/in.h>
#endif

#include "loptions.h"
#include "lsocket.h"

static const wr_sockopt *checkopt(lua_State *L, int idx) {
  const char *name = lwr_checkcstring(L, idx, "option name");
  const wr_sockopt *o = wr_sockopt_find(name);
  if (o == NULL)
    luaL_argerror(L, idx, lua_pushfstring(L, "unknown option '%s'", name));
  return o;
}

/* Field i (or the named one) of the table at idx, as a C string. */
static const char *member_field(lua_State *L, int idx, int i,
                                const char *name) {
  size_t len;
  const char *text;
  lua_rawgeti(L, idx, i);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_getfield(L, idx, name);
  }
  text = lua_tolstring(L, -1, &len);
  if (text && strlen(text) != len)
    luaL_argerror(L, idx, lua_pushfstring(L, "%s contains an embedded zero",
                                          name));
  return text;
}

/*
** The value of an integer-valued option, as the core takes it.  Booleans
** read any integer as true or false; the others must fit the C type the
** option has (an int, or SO_RCVTIMEO's DWORD of milliseconds; a negative
** timeout is the core's to refuse), or 2^40 would quietly become 0.
*/
static long check_optvalue(lua_State *L, int idx, const wr_sockopt *o) {
  lua_Integer v;
  if (lua_isboolean(L, idx)) return lua_toboolean(L, idx);
  v = luaL_checkinteger(L, idx);
  switch (o->kind) {
    case WR_OPT_BOOL:
    case WR_OPT_FIONBIO:
      return v != 0;
    case WR_OPT_RCVTIMEO:
      luaL_argcheck(L, v <= 0xFFFFFFFF, idx, "value out of range");
      return (long)v;
    default:
      return lwr_checkint(L, idx, INT_MIN, INT_MAX, "value");
  }
}

/* An interface: a name or address text (in *iface), or an index. */
static void check_iface(lua_State *L, int idx, const char **iface,
                        unsigned *index) {
  *iface = NULL;
  *index = 0;
  if (lua_type(L, idx) == LUA_TSTRING)
    *iface = lwr_checkcstring(L, idx, "interface");
  else if (lua_type(L, idx) == LUA_TNUMBER)
    *index = (unsigned)lwr_checkint(L, idx, 0, INT_MAX, "interface index");
  else
    luaL_typeerror(L, idx, "interface name, address or index");
}

/*** @module wsarecv */

/***
Set a socket option (the reference lists them all, with their kinds).
@function socket:setsockopt
@tparam string name the Winsock or BSD name, `"SO_RCVBUF"`, `"IP_PKTINFO"`...
@param value a boolean or an integer; `{group, interface}` for the
membership options; an interface name, index or (IPv4) address for
`IP_MULTICAST_IF` / `IPV6_MULTICAST_IF`
@treturn[1] int 0
@return[2] nil
@treturn[2] string the WSA error name
@treturn[2] int its code: `WSAENOPROTOOPT`, `WSAEINVAL`, `WSAEACCES`,
`WSAEADDRNOTAVAIL` (no such interface)
@raise an unknown name; a read-only option; a value of the wrong kind or
out of range
*/
static int l_setsockopt(lua_State *L) {
  wr_socket *s = lwr_checksocket(L, 1);
  const wr_sockopt *o = checkopt(L, 2);
  int r;
  if (o->kind == WR_OPT_GETONLY)
    return luaL_argerror(L, 2, "option can only be read");
  if (o->kind == WR_OPT_MEMBERSHIP) {
    const char *group, *iface;
    luaL_checktype(L, 3, LUA_TTABLE);
    group = member_field(L, 3, 1, "group");
    luaL_argcheck(L, group != NULL, 3, "expected {group, interface}");
    iface = member_field(L, 3, 2, "interface");
    LWR_CHECK_OPEN(L, s);
    r = wr_membership(s, o, group, iface);
  } else if (o->kind == WR_OPT_MULTICAST_IF) {
    const char *iface;
    unsigned index;
    check_iface(L, 3, &iface, &index);
    LWR_CHECK_OPEN(L, s);
    r = wr_set_multicast_if(s, o, iface, index);
  } else {
    long v = check_optvalue(L, 3, o);
    LWR_CHECK_OPEN(L, s);
    r = wr_setsockopt_int(s, o, v);
  }
  if (r) return lwr_fail(L, r);
  lua_pushinteger(L, 0);
  return 1;
}

/* IP_MULTICAST_IF reads back as address text, IPV6_MULTICAST_IF as an
** index, as each is on Windows. */
static int get_multicast_if(lua_State *L, wr_socket *s, const wr_sockopt *o) {
  char addr[INET6_ADDRSTRLEN];
  unsigned index;
  int r = wr_get_multicast_if(s, o, addr, sizeof addr, &index);
  if (r) return lwr_fail(L, r);
  if (addr[0]) lua_pushstring(L, addr);
  else lua_pushinteger(L, index);
  return 1;
}

/***
Read a socket option.
@function socket:getsockopt
@tparam string name the option's name
@treturn[1] bool|int|string the value: a boolean for on/off options,
address text for `IP_MULTICAST_IF`, else an integer
@return[2] nil
@treturn[2] string the WSA error name
@treturn[2] int its code: `WSAENOPROTOOPT`
@raise an unknown name; a set-only (membership) option
*/
static int l_getsockopt(lua_State *L) {
  wr_socket *s = lwr_checksocket(L, 1);
  const wr_sockopt *o = checkopt(L, 2);
  long v;
  int r;
  if (o->kind == WR_OPT_MEMBERSHIP)
    return luaL_argerror(L, 2, "option can only be set");
  LWR_CHECK_OPEN(L, s);
  if (o->kind == WR_OPT_MULTICAST_IF) return get_multicast_if(L, s, o);
  if ((r = wr_getsockopt_int(s, o, &v)) != 0) return lwr_fail(L, r);
  if (o->kind == WR_OPT_BOOL || o->kind == WR_OPT_FIONBIO)
    lua_pushboolean(L, v != 0);
  else
    lua_pushinteger(L, v);
  return 1;
}

static const luaL_Reg methods[] = {
  {"setsockopt", l_setsockopt},
  {"getsockopt", l_getsockopt},
  {NULL, NULL}
};

void lwr_open_options(lua_State *L) {
  lwr_add_methods(L, LWR_SOCKET, methods);
}
