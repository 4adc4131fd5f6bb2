/*
** lmsg.c -- wsarecv.msg, a reusable WSAMSG, and its control messages.
**
** Exports: msg (constructor); fields flags (read: output flags; write:
**          input flags), inflags, length, buffers, controlbuf, controllen,
**          pending; methods name, control; __gc, __tostring.  For the
**          module (lmsg.h): lwr_open_msg; inline: (in lmsg.h, for lrecv.c)
**          lwr_checkmsg, lwr_msg_core, lwr_msg_control.  (sock:WSARecvMsg
**          is in lrecv.c.)
**
** A msg owns its control buffer (or borrows the caller's) and a private
** kernel control space in the core, so a receive allocates nothing.  Only
** msg:control() builds tables, and only when called.
*/
#define LWR_HOME_MSG           /* the msg's fields keep their names */
#include <string.h>
#ifndef _WIN32
#include <sys/socket.h>
#include <net/if.h>
#endif

#include "lbuffer.h"
#include "lmsg.h"

/* msg.length before the first message: nil (the core sets the field with
** each message it receives, as it sets the name) */
#define NO_LENGTH ((size_t)-1)

static void check_idle(lua_State *L, lwr_msg *mo) {
  if (wr_msg_pending(&mo->m))
    luaL_error(L, "msg is in use by a pending WSARecvMsg or WSASendMsg");
}

/* msg.buffers = value: any WSABUF array (checked for type now) */
static void set_buffers(lua_State *L, int msgidx, int vidx) {
  if (lua_isnil(L, vidx)) lua_newtable(L);   /* no buffers at all */
  else {
    lwr_count_bufs(L, vidx, 1);
    lua_pushvalue(L, vidx);
  }
  lua_setiuservalue(L, msgidx, MSG_UVAL_BUFFERS);
}

/* The control-message types a send carries: their names and kinds. */
static const struct { const char *type, *level; int kind; } send_types[] = {
  {"IP_PKTINFO", "IPPROTO_IP", WR_CM_PKTINFO},
  {"IPV6_PKTINFO", "IPPROTO_IPV6", WR_CM_PKTINFO6},
  {"IP_TOS", "IPPROTO_IP", WR_CM_TOS},
  {"IPV6_TCLASS", "IPPROTO_IPV6", WR_CM_TCLASS},
  {"IP_TTL", "IPPROTO_IP", WR_CM_TTL},
  {"IPV6_HOPLIMIT", "IPPROTO_IPV6", WR_CM_HOPLIMIT},
  {NULL, NULL, 0}
};

/* Raise about control[i], which came in argument argn. */
static int bad_record(lua_State *L, int argn, lua_Integer i, const char *why) {
  return luaL_argerror(L, argn, lua_pushfstring(L, "control[%d]: %s",
                                                (int)i, why));
}

/* The table on the stack top (control[i]) into *c, or raise. */
static void read_record(lua_State *L, int argn, lua_Integer i, wr_cmsg *c) {
  const char *type, *level;
  int k, isint;
  memset(c, 0, sizeof *c);
  if (!lua_istable(L, -1)) bad_record(L, argn, i, "not a table");
  lua_getfield(L, -1, "type");
  type = lua_tostring(L, -1);
  for (k = 0; type && send_types[k].type; k++)
    if (strcmp(type, send_types[k].type) == 0) break;
  if (type == NULL || send_types[k].type == NULL)
    bad_record(L, argn, i, "type must be IP_PKTINFO, IPV6_PKTINFO, IP_TOS, "
               "IPV6_TCLASS, IP_TTL or IPV6_HOPLIMIT");
  c->kind = send_types[k].kind;
  lua_getfield(L, -2, "level");
  level = lua_tostring(L, -1);
  if (!lua_isnil(L, -1) && (level == NULL ||
                            strcmp(level, send_types[k].level) != 0))
    bad_record(L, argn, i, lua_pushfstring(L, "%s goes with level %s", type,
                                           send_types[k].level));
  lua_pop(L, 2);
  if (c->kind == WR_CM_PKTINFO || c->kind == WR_CM_PKTINFO6) {
    int fam = c->kind == WR_CM_PKTINFO ? AF_INET : AF_INET6;
    lua_getfield(L, -1, "addr");
    if (!lua_isnil(L, -1) &&
        (lua_type(L, -1) != LUA_TSTRING ||
         wr_addr_parse(fam, 0, lua_tostring(L, -1), 0, &c->addr,
                       &c->addrlen) != 0 || c->addr.ss_family != fam))
      bad_record(L, argn, i, "addr must be an address of the type's "
                 "family");
    lua_getfield(L, -2, "ifindex");
    c->ifindex = (unsigned)lua_tointegerx(L, -1, &isint);
    if (!lua_isnil(L, -1) && (!isint || lua_tointeger(L, -1) < 0 ||
                              lua_tointeger(L, -1) > 0xffffffffLL))
      bad_record(L, argn, i, "ifindex must be an interface index");
    lua_pop(L, 2);
    return;
  }
  lua_getfield(L, -1, "value");
  c->value = lua_tointegerx(L, -1, &isint);
  if (!isint || c->value < 0 || c->value > 255)
    bad_record(L, argn, i, "value must be an integer in 0..255");
  lua_pop(L, 1);
}

/*
** msg control = {records}: what a WSASendMsg sends, encoded now, once, so
** that a send builds nothing.  User value 4 keeps the table, for reading.
*/
static void set_send_control(lua_State *L, lwr_msg *mo, int msgidx, int vidx,
                             int argn) {
  wr_cmsg recs[16];
  lua_Integer i, n = (lua_Integer)lua_rawlen(L, vidx);
  size_t bad = 0;
  if (n > 16) luaL_argerror(L, argn, "at most 16 control messages");
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, vidx, i);
    read_record(L, argn, i, &recs[i - 1]);
    lua_pop(L, 1);
  }
  if (wr_msg_put_control(&mo->m, recs, (size_t)n, &bad) != 0)
    bad_record(L, argn, (lua_Integer)bad + 1, "this platform cannot send it");
  lua_pushvalue(L, vidx);
  lua_setiuservalue(L, msgidx, MSG_UVAL_SENDCTL);
}

/* msg.to = {addr, port} | nil: where a WSASendMsg sends (parsed then, for
** the socket's family). */
static void set_to(lua_State *L, int msgidx, int vidx, int argn) {
  if (!lua_isnoneornil(L, vidx)) {
    luaL_argcheck(L, lua_istable(L, vidx), argn, "to must be {addr, port}");
    lua_rawgeti(L, vidx, 1);
    luaL_argcheck(L, lua_type(L, -1) == LUA_TSTRING, argn,
                  "to[1] must be an address");
    lua_rawgeti(L, vidx, 2);
    luaL_argcheck(L, lua_isnil(L, -1) || lua_isinteger(L, -1), argn,
                  "to[2] must be a port");
    lua_pop(L, 2);
  }
  lua_pushvalue(L, vidx);
  lua_setiuservalue(L, msgidx, MSG_UVAL_TO);
}

/* Drop the send control messages (putting none frees them). */
static void clear_send_control(lwr_msg *mo) {
  size_t bad;
  wr_msg_put_control(&mo->m, NULL, 0, &bad);
}

/*
** msg control = size | buffer | nil: the value at vidx, which came in
** argument argn (the table of wsarecv.msg{...}, or the value of
** msg.control = ...): errors name that argument.
*/
static void set_control(lua_State *L, lwr_msg *mo, int msgidx, int vidx,
                        int argn) {
  lwr_buf *b = NULL;
  if (lua_istable(L, vidx) && lwr_tobuffer(L, vidx) == NULL) {
    set_send_control(L, mo, msgidx, vidx, argn);
    return;
  }
  /* a receive's control buffer replaces the records a send would carry */
  clear_send_control(mo);
  lua_pushnil(L);
  lua_setiuservalue(L, msgidx, MSG_UVAL_SENDCTL);
  if (lua_isnoneornil(L, vidx)) {
    lua_pushnil(L);
  } else if (lua_type(L, vidx) == LUA_TNUMBER) {
    int isint;
    lua_Integer n = lua_tointegerx(L, vidx, &isint);
    luaL_argcheck(L, isint && n >= 0 && n <= 1 << 20, argn,
                  "control size must be an integer in 0..1 MiB");
    b = lwr_newbuffer(L, (size_t)n);
  } else {
    b = lwr_tobuffer(L, vidx);
    luaL_argcheck(L, b != NULL, argn, "control must be a size or a buffer");
    luaL_argcheck(L, !lwr_buf_closed(b), argn, "control buffer is closed");
    lua_pushvalue(L, vidx);
  }
  if (wr_msg_init(&mo->m, b ? lwr_buf_data(b) : NULL,
                  b ? lwr_buf_len(b) : 0) != 0)
    luaL_error(L, "not enough memory");
  mo->ctl = b;
  lua_setiuservalue(L, msgidx, MSG_UVAL_CONTROL);
}

/*
** msg{...}: every key of the table is a field the constructor takes, so a
** typo (`buffer`) raises instead of making a msg without buffers.
*/
static void check_ctor_keys(lua_State *L) {
  static const char *const ctor_fields[] = {"buffers", "control", "flags",
                                            "to", NULL};
  lua_pushnil(L);
  while (lua_next(L, 1) != 0) {
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2)
                                                   : NULL;
    const char *guess;
    lua_pop(L, 1);
    if (k != NULL && lwr_inlist(k, ctor_fields)) continue;
    if (k != NULL && (guess = lwr_nearest(k, ctor_fields)) != NULL)
      luaL_argerror(L, 1, lua_pushfstring(L, "unknown field '%s'; did you "
                                          "mean '%s'?", k, guess));
    if (k == NULL) k = luaL_tolstring(L, -1, NULL);   /* msg{b}: "1" */
    luaL_argerror(L, 1, lua_pushfstring(L, "unknown field '%s'; the fields "
                                        "are buffers, control, flags and to",
                                        k));
  }
}

/*** @module wsarecv */

/***
A new msg: a reusable WSAMSG, which owns the memory a receive through it
needs (a `WSARecvMsg` allocates nothing).
@function msg
@tparam table fields `buffers` (a WSABUF array; nil: none), `control` (the
control buffer: a size 0..1 MiB, or a buffer; nil: none; or, for
`WSASendMsg`, an array of control messages shaped like `msg:control()`'s
entries), `flags` (input flags, 0 or `MSG_PEEK`; a send does not read
them), `to` (`{addr, port}`: where `WSASendMsg` sends; nil: the connected
peer)
@treturn msg the msg
@raise a wrong type in any field; any other key (`unknown field 'buffer';
did you mean 'buffers'?`)
*/
static int l_msg(lua_State *L) {
  lwr_msg *mo;
  int idx;
  luaL_checktype(L, 1, LUA_TTABLE);
  check_ctor_keys(L);
  mo = (lwr_msg *)lua_newuserdatauv(L, sizeof *mo, MSG_UVAL_COUNT);
  memset(mo, 0, sizeof *mo);
  mo->m.length = NO_LENGTH;
  mo->h.tag = LWR_TAG(LWR_T_MSG);
  luaL_setmetatable(L, LWR_MSG);
  idx = lua_gettop(L);
  lua_getfield(L, 1, "buffers");
  set_buffers(L, idx, lua_gettop(L));
  lua_pop(L, 1);
  if (wr_msg_init(&mo->m, NULL, 0) != 0) luaL_error(L, "not enough memory");
  lua_getfield(L, 1, "control");
  set_control(L, mo, idx, lua_gettop(L), 1);
  lua_pop(L, 1);
  lua_getfield(L, 1, "to");
  set_to(L, idx, lua_gettop(L), 1);
  lua_pop(L, 1);
  lua_getfield(L, 1, "flags");
  mo->m.in_flags = lwr_flags(luaL_optinteger(L, -1, 0));
  lua_settop(L, idx);
  return 1;
}

/***
A msg.  Fields: `msg.buffers` (the WSABUF array), `msg.controlbuf` (the
control buffer, or nil), `msg.control = size or buffer` (sets the control
buffer, and drops the control messages a send would carry), `msg.control
= {records}` (what `WSASendMsg` sends; `msg.sendcontrol` reads them
back), `msg.to` (`{addr, port}`, `WSASendMsg`'s destination), `msg.flags` (read: the last receive's output flags; write: the
input flags), `msg.inflags` (the input flags), `msg.controllen` (control
bytes the last receive placed; read-only), `msg.length` (the full length
of the last datagram as the kernel reported it, bytes placed plus
discarded, so above the bytes exactly when `MSG_TRUNC` is set; nil before
the first; read-only), `msg.pending` (true from the post until the
completion is delivered; read-only).  Assigning any field
while it is pending raises, as does assigning a read-only field (`msg
field 'NAME' is read-only`) or an unknown one (`msg has no field
'NAME'`).
@type msg
*/

/***
The source of the last message.
@function msg:name
@treturn[1] string the address (a path on a unix socket)
@treturn[1] int|nil the port (nil on a unix socket)
@return[2] nil before any message
*/
static int l_name(lua_State *L) {
  lwr_msg *mo = lwr_checkmsg(L, 1);
  if (mo->m.namelen == 0) {
    lua_pushnil(L);
    return 1;
  }
  lwr_push_addr(L, &mo->m.name, mo->m.namelen);
  return 2;
}

static void field_addr(lua_State *L, const char *k,
                       const struct sockaddr_storage *sa, socklen_t len) {
  if (len == 0) return;
  lwr_push_addr(L, sa, len);
  lua_pop(L, 1);                    /* the port: not wanted here */
  lua_setfield(L, -2, k);
}

static void field_int(lua_State *L, const char *k, lua_Integer v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, k);
}

static void field_ifindex(lua_State *L, unsigned ifindex) {
  char name[IF_NAMESIZE];
  field_int(L, "ifindex", ifindex);
  if (ifindex && wr_ifname(ifindex, name)) {
    lua_pushstring(L, name);
    lua_setfield(L, -2, "ifname");
  }
}

/* One control message as a table (pushed). */
static void push_cmsg(lua_State *L, const wr_cmsg *c) {
  lua_createtable(L, 0, 6);
  if (c->kind == WR_CM_RAW || c->type_name == NULL) {
    field_int(L, "level", c->level);
    field_int(L, "type", c->type);
    lua_pushlstring(L, (const char *)c->data, c->len);
    lua_setfield(L, -2, "data");
    return;
  }
  lua_pushstring(L, c->level_name);
  lua_setfield(L, -2, "level");
  lua_pushstring(L, c->type_name);
  lua_setfield(L, -2, "type");
  switch (c->kind) {
    case WR_CM_PKTINFO:
      field_addr(L, "addr", &c->addr, c->addrlen);
      field_addr(L, "spec_dst", &c->spec_dst, c->spec_dstlen);
      field_ifindex(L, c->ifindex);
      break;
    case WR_CM_PKTINFO6:
      field_addr(L, "addr", &c->addr, c->addrlen);
      field_ifindex(L, c->ifindex);
      break;
    case WR_CM_TOS:
      field_int(L, "tos", c->value);
      field_int(L, "ecn", c->value & 3);
      break;
    case WR_CM_TCLASS:
      field_int(L, "tclass", c->value);
      field_int(L, "ecn", c->value & 3);
      break;
    case WR_CM_TTL: field_int(L, "ttl", c->value); break;
    case WR_CM_HOPLIMIT: field_int(L, "hoplimit", c->value); break;
    case WR_CM_ORIGDSTADDR:
      lwr_push_addr(L, &c->addr, c->addrlen);
      lua_setfield(L, -3, "port");
      lua_setfield(L, -2, "addr");
      break;
    case WR_CM_TIMESTAMP:
      field_int(L, "sec", c->sec);
      field_int(L, "nsec", c->nsec);
      break;
    case WR_CM_RXQ_OVFL: field_int(L, "drops", c->value); break;
    case WR_CM_GRO: field_int(L, "segment_size", c->value); break;
    case WR_CM_RECVERR:
      lwr_push_error_name(L, (unsigned)c->ee.error);
      lua_setfield(L, -2, "error");
      field_int(L, "code", c->ee.error);
      lua_pushstring(L, wr_ee_origin_name(c->ee.origin));
      lua_setfield(L, -2, "origin");
      field_int(L, "icmp_type", c->ee.type);
      field_int(L, "icmp_code", c->ee.code);
      field_int(L, "info", c->ee.info);
      field_addr(L, "offender", &c->addr, c->addrlen);
      break;
    default: break;
  }
}

/***
The last message's control messages, one new table each (`level`, `type`
and the decoded fields; undecodable ones as `{level, type, data}`), in
the kernel's order.  It allocates: skip it in a hot loop that does not
need them.
@function msg:control
@treturn table an array of control-message tables
*/
static int l_control(lua_State *L) {
  lwr_msg *mo = lwr_checkmsg(L, 1);
  size_t pos = 0;
  int i = 0;
  wr_cmsg c;
  lua_newtable(L);
  while (mo->ctl && wr_cmsg_next(lwr_buf_data(mo->ctl),
                                 wr_msg_control_used(&mo->m), &pos, &c)) {
    push_cmsg(L, &c);
    lua_rawseti(L, -2, ++i);
  }
  return 1;
}

static int l_msg_index(lua_State *L) {
  lwr_msg *mo = lwr_checkmsg(L, 1);
  const char *k = luaL_checkstring(L, 2);
  if (strcmp(k, "flags") == 0) lua_pushinteger(L, mo->m.flags);
  else if (strcmp(k, "inflags") == 0) lua_pushinteger(L, mo->m.in_flags);
  else if (strcmp(k, "length") == 0) {
    if (mo->m.length == NO_LENGTH) lua_pushnil(L);
    else lua_pushinteger(L, (lua_Integer)mo->m.length);
  }
  else if (strcmp(k, "buffers") == 0)
    lua_getiuservalue(L, 1, MSG_UVAL_BUFFERS);
  else if (strcmp(k, "controlbuf") == 0)
    lua_getiuservalue(L, 1, MSG_UVAL_CONTROL);
  else if (strcmp(k, "controllen") == 0)
    lua_pushinteger(L, (lua_Integer)wr_msg_control_used(&mo->m));
  else if (strcmp(k, "pending") == 0) lua_pushboolean(L, wr_msg_pending(&mo->m));
  else if (strcmp(k, "name") == 0) lua_pushcfunction(L, l_name);
  else if (strcmp(k, "control") == 0) lua_pushcfunction(L, l_control);
  else if (strcmp(k, "to") == 0) lua_getiuservalue(L, 1, MSG_UVAL_TO);
  else if (strcmp(k, "sendcontrol") == 0)
    lua_getiuservalue(L, 1, MSG_UVAL_SENDCTL);
  else lua_pushnil(L);
  return 1;
}

/* The fields a msg reads (l_msg_index). */
static const char *const fields[] = {"flags", "inflags", "length", "buffers",
  "controlbuf", "controllen", "pending", "name", "control", "to",
  "sendcontrol", NULL};

static int l_msg_newindex(lua_State *L) {
  lwr_msg *mo = lwr_checkmsg(L, 1);
  const char *k = luaL_checkstring(L, 2);
  int settable = strcmp(k, "flags") == 0 || strcmp(k, "inflags") == 0 ||
                 strcmp(k, "buffers") == 0 || strcmp(k, "control") == 0 ||
                 strcmp(k, "controlbuf") == 0 || strcmp(k, "to") == 0;
  if (!settable) {
    if (lwr_inlist(k, fields))
      return luaL_error(L, "msg field '%s' is read-only", k);
    return lwr_nofield(L, "msg", k, fields);          /* a typo, likely */
  }
  check_idle(L, mo);
  if (k[0] == 'f' || k[0] == 'i')                   /* flags, inflags */
    mo->m.in_flags = lwr_flags(luaL_checkinteger(L, 3));
  else if (k[0] == 'b') set_buffers(L, 1, 3);
  else if (k[0] == 't') set_to(L, 1, 3, 3);
  else set_control(L, mo, 1, 3, 3);                 /* control(buf) */
  return 0;
}

static int l_msg_gc(lua_State *L) {
  lwr_msg *mo = lwr_checkmsg(L, 1);
  clear_send_control(mo);
  wr_msg_free(&mo->m);
  return 0;
}

static int l_msg_tostring(lua_State *L) {
  lwr_msg *mo = lwr_checkmsg(L, 1);
  lua_pushfstring(L, "wsarecv.msg (%s, %d control bytes): %p",
                  wr_msg_pending(&mo->m) ? "pending" : "idle",
                  mo->ctl ? (int)lwr_buf_len(mo->ctl) : 0,
                  mo);
  return 1;
}

static const luaL_Reg meta[] = {
  {"__index", l_msg_index},
  {"__newindex", l_msg_newindex},
  {"__gc", l_msg_gc},
  {"__tostring", l_msg_tostring},
  {NULL, NULL}
};

static const luaL_Reg ctors[] = {
  {"msg", l_msg},
  {NULL, NULL}
};

void lwr_open_msg(lua_State *L) {
  lwr_register(L, LWR_MSG, meta, NULL, ctors);
}
