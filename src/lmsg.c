/*
** lmsg.c -- wsarecv.msg (a reusable WSAMSG) and sock:WSARecvMsg.
**
** Exports: msg (constructor); fields flags (read: output flags; write:
**          input flags), buffers, controlbuf, controllen; methods name,
**          control; __gc, __tostring.  Adds WSARecvMsg to the socket type.
**
** A msg owns its control buffer (or borrows the caller's) and a private
** kernel control space in the core, so a receive allocates nothing.  Only
** msg:control() builds tables, and only when called.
*/
#include <string.h>
#include <sys/socket.h>
#include <net/if.h>

#include "lwsarecv.h"

enum { MUV_BUFFERS = 1, MUV_CONTROL, MUV_COUNT = 2 };

static lwr_msg *checkmsg(lua_State *L, int idx) {
  return (lwr_msg *)lwr_checktype(L, idx, LWR_T_MSG);
}

static void check_idle(lua_State *L, lwr_msg *mo) {
  if (wr_msg_pending(&mo->m))
    luaL_error(L, "msg is in use by a pending WSARecvMsg");
}

/* msg.buffers = value: any WSABUF array (checked for type now) */
static void set_buffers(lua_State *L, int msgidx, int vidx) {
  if (lua_isnil(L, vidx)) lua_newtable(L);   /* no buffers at all */
  else {
    lwr_count_bufs(L, vidx, 1);
    lua_pushvalue(L, vidx);
  }
  lua_setiuservalue(L, msgidx, MUV_BUFFERS);
}

/*
** msg control = size | buffer | nil: the value at vidx, which came in
** argument argn (the table of wsarecv.msg{...}, or the value of
** msg.control = ...): errors name that argument.
*/
static void set_control(lua_State *L, lwr_msg *mo, int msgidx, int vidx,
                        int argn) {
  lwr_buf *b = NULL;
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
    luaL_argcheck(L, !b->closed, argn, "control buffer is closed");
    lua_pushvalue(L, vidx);
  }
  if (wr_msg_init(&mo->m, b ? b->data : NULL, b ? b->len : 0) != 0)
    luaL_error(L, "not enough memory");
  mo->ctl = b;
  lua_setiuservalue(L, msgidx, MUV_CONTROL);
}

/*** wsarecv.msg{buffers = ..., control = n | buffer, flags = 0} -> msg */
static int l_msg(lua_State *L) {
  lwr_msg *mo;
  int idx;
  luaL_checktype(L, 1, LUA_TTABLE);
  mo = (lwr_msg *)lua_newuserdatauv(L, sizeof *mo, MUV_COUNT);
  memset(mo, 0, sizeof *mo);
  mo->h.tag = LWR_TAG(LWR_T_MSG);
  luaL_setmetatable(L, LWR_MSG);
  idx = lua_gettop(L);
  lua_getfield(L, 1, "buffers");
  set_buffers(L, idx, lua_gettop(L));
  lua_pop(L, 1);
  lua_getfield(L, 1, "control");
  set_control(L, mo, idx, lua_gettop(L), 1);
  lua_pop(L, 1);
  lua_getfield(L, 1, "flags");
  mo->m.in_flags = lwr_flags(luaL_optinteger(L, -1, 0));
  lua_settop(L, idx);
  return 1;
}

/*** msg:name() -> source addr, port (a path for unix; nil if none) */
static int l_name(lua_State *L) {
  lwr_msg *mo = checkmsg(L, 1);
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

/*** msg:control() -> array of control-message tables */
static int l_control(lua_State *L) {
  lwr_msg *mo = checkmsg(L, 1);
  size_t pos = 0;
  int i = 0;
  wr_cmsg c;
  lua_newtable(L);
  while (mo->ctl &&
         wr_cmsg_next(mo->ctl->data, wr_msg_control_used(&mo->m), &pos, &c)) {
    push_cmsg(L, &c);
    lua_rawseti(L, -2, ++i);
  }
  return 1;
}

static int l_index(lua_State *L) {
  lwr_msg *mo = checkmsg(L, 1);
  const char *k = luaL_checkstring(L, 2);
  if (strcmp(k, "flags") == 0) lua_pushinteger(L, mo->m.flags);
  else if (strcmp(k, "inflags") == 0) lua_pushinteger(L, mo->m.in_flags);
  else if (strcmp(k, "buffers") == 0)
    lua_getiuservalue(L, 1, MUV_BUFFERS);
  else if (strcmp(k, "controlbuf") == 0)
    lua_getiuservalue(L, 1, MUV_CONTROL);
  else if (strcmp(k, "controllen") == 0)
    lua_pushinteger(L, (lua_Integer)wr_msg_control_used(&mo->m));
  else if (strcmp(k, "pending") == 0) lua_pushboolean(L, wr_msg_pending(&mo->m));
  else if (strcmp(k, "name") == 0) lua_pushcfunction(L, l_name);
  else if (strcmp(k, "control") == 0) lua_pushcfunction(L, l_control);
  else lua_pushnil(L);
  return 1;
}

static int l_newindex(lua_State *L) {
  lwr_msg *mo = checkmsg(L, 1);
  const char *k = luaL_checkstring(L, 2);
  check_idle(L, mo);
  if (strcmp(k, "flags") == 0 || strcmp(k, "inflags") == 0)
    mo->m.in_flags = lwr_flags(luaL_checkinteger(L, 3));
  else if (strcmp(k, "buffers") == 0) set_buffers(L, 1, 3);
  else if (strcmp(k, "control") == 0 || strcmp(k, "controlbuf") == 0)
    set_control(L, mo, 1, 3, 3);
  else return luaL_error(L, "msg field '%s' cannot be set", k);
  return 0;
}

static int l_gc(lua_State *L) {
  lwr_msg *mo = checkmsg(L, 1);
  wr_msg_free(&mo->m);
  return 0;
}

static int l_tostring(lua_State *L) {
  lwr_msg *mo = checkmsg(L, 1);
  lua_pushfstring(L, "wsarecv.msg (%s, %d control bytes): %p",
                  wr_msg_pending(&mo->m) ? "pending" : "idle",
                  mo->ctl ? (int)mo->ctl->len : 0,
                  mo);
  return 1;
}

/* =====================================================================
** sock:WSARecvMsg(msg, ov, routine)
** =================================================================== */

#define STACK_BUFS 16

static int l_WSARecvMsg(lua_State *L) {
  wr_socket *s = lwr_checksocket(L, 1);
  lwr_msg *mo = checkmsg(L, 2);
  int has_ov = !lua_isnoneornil(L, 3);
  int has_routine = !lua_isnoneornil(L, 4);
  int r, bi;
  size_t n, bytes = 0;
  if (has_ov) lwr_checkov(L, 3);
  if (has_routine) luaL_checktype(L, 4, LUA_TFUNCTION);
  lua_settop(L, 4);
  if (mo->ctl && mo->ctl->closed)
    return luaL_argerror(L, 2, "msg's control buffer is closed");
  lua_getiuservalue(L, 2, MUV_BUFFERS);
  bi = lua_gettop(L);
  if (!has_ov && !has_routine) {
    wr_wsabuf stackbufs[STACK_BUFS], *iov = stackbufs;
    n = lwr_count_bufs(L, bi, 2);
    if (n > STACK_BUFS)
      iov = (wr_wsabuf *)lua_newuserdatauv(L, n * sizeof *iov, 0);
    if ((r = lwr_fill_bufs(L, bi, 2, iov, n)) != 0) return lwr_fail(L, r);
    LWR_CHECK_OPEN(L, s);
    r = wr_recvmsg(s, &mo->m, iov, n, &bytes, NULL, NULL);
    if (r) return lwr_recv_fail(L, r, bytes);
  } else {
    lwr_ov *o = has_ov ? (lwr_ov *)lua_touserdata(L, 3) : NULL;
    const wr_msg *prev;
    int ovidx;
    if (wr_msg_pending(&mo->m)) {
      lwr_check_bufs(L, bi, 2);               /* still a type error first */
      return lwr_fail(L, WSAEINVAL);
    }
    if ((r = lwr_ov_begin(L, s, bi, o, 3, 4, &o, &ovidx, &n)) != 0)
      return lwr_fail(L, r);
    prev = wr_overlapped_msg(&o->ov);
    r = wr_recvmsg(s, &mo->m, lwr_ov_bufs(o, n), n, &bytes, &o->ov,
                   has_routine ? lwr_routine : NULL);
    if ((r == 0 || r == WSA_IO_PENDING) && prev != &mo->m) {
      /* the object now refers to this msg (ov->msg): keep it alive.  Set
      ** only after a post that started (a failed one clears ov->msg), and
      ** only when it changes: while ov->msg is set, user value 5 holds it */
      lua_pushvalue(L, 2);
      lua_setiuservalue(L, ovidx, UV_MSG);
    }
    return lwr_ov_end(L, o, r, bytes);
  }
  lua_pushinteger(L, 0);
  lua_pushinteger(L, (lua_Integer)bytes);
  lua_pushinteger(L, mo->m.flags);
  return 3;
}

void lwr_open_msg(lua_State *L) {
  static const luaL_Reg meta[] = {
    {"__index", l_index},
    {"__newindex", l_newindex},
    {"__gc", l_gc},
    {"__tostring", l_tostring},
    {NULL, NULL}
  };
  lwr_register(L, LWR_MSG, meta, NULL);
  lua_pushvalue(L, -1);
  lua_pushcclosure(L, l_msg, 1);
  lua_setfield(L, -3, "msg");
  /* the socket method */
  luaL_getmetatable(L, LWR_SOCKET);
  lua_getfield(L, -1, "__index");
  lua_pushvalue(L, -3);
  lua_pushcclosure(L, l_WSARecvMsg, 1);
  lua_setfield(L, -2, "WSARecvMsg");
  lua_pop(L, 2);
}
