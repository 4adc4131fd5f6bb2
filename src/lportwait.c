/*
** lportwait.c -- a completion port's waits: entries handed out to Lua.
**
** Exports: port methods GetQueuedCompletionStatus,
**          GetQueuedCompletionStatusEx (a closure over the entry field
**          names) and PostQueuedCompletionStatus, which lwr_open_port_waits
**          (lportwait.h, for the module) adds to the port's method table.
**
** The core keeps the queue (core/wr_port.c); this file turns entries into
** Lua values.  GetQueuedCompletionStatusEx writes into tables the caller
** made once, with raw sets of field names held as upvalues: no string is
** made or hashed per entry, and nothing is allocated once the tables have
** their fields.  An operation's object is handed out anchored and stays so
** until the port's next wait (lwr_port_unhold_all, lport.c), so taking an
** entry and reposting its object costs no registry traffic.
**
** Writing an entry can run Lua code: an allocation steps the collector,
** and a finalizer may wait on the port, close it, or post to it; an
** allocation may fail.  So an entry is written while it is still queued,
** and taken only once it is written (wr_port_peek, then wr_port_take):
** one that another wait took or a close dropped meanwhile is not taken,
** and the next head is written over it; a memory error leaves it, and
** every entry after it, queued in order.  Each entry is handed out once,
** by the wait that wrote it; a nested wait takes entries of its own.
** Only an error name makes a write run Lua code (runs_lua): until one is
** written the queue is as the wait peeked it, and entries are taken
** without asking again (wr_port_take_head, wr_port_take_op), with no mark
** on the port; the careful path begins at the first name.
*/
#define LWR_HOME_PORT          /* the port's fields keep their names */
#include <stdlib.h>

#include "loverlapped.h"
#include "lport.h"
#include "lportwait.h"
#include "lsocket.h"

/* Most entries one wait takes (the rest wait for the next one). */
#define MAX_BATCH 1024

/* the entry fields, upvalues 2.. of GetQueuedCompletionStatusEx */
enum { F_BYTES = 2, F_KEY, F_OV, F_ERROR, F_FLAGS, F_LAST = F_FLAGS };

/* Room for n held objects (a memory error raises). */
static void reserve(lua_State *L, lwr_port *po, size_t n) {
  lwr_ov **h;
  if (n <= po->cap) return;
  h = (lwr_ov **)realloc(po->held, n * sizeof *h);
  if (h == NULL) luaL_error(L, "not enough memory");
  po->held = h;
  po->cap = n;
}

/*
** While a wait writes its batch the port is marked (po->writing), so that
** a wait nested in it leaves that batch's rearmed objects alone.  The mark
** is a to-be-closed guard on the writer's stack (the port's own, made with
** it in lport.c: nothing is allocated per wait): Lua clears it when the
** call returns, and when an error (a memory error mid-batch) unwinds it,
** so no mark is left behind.  Mark the port as writing until the slot
** pushed here is closed (the call returns, an error unwinds it, or
** lua_settop below it).
*/
static void begin_writing(lua_State *L, lwr_port *po) {
  lua_getiuservalue(L, 1, PORT_UVAL_GUARD);
  lua_toclose(L, -1);
  po->writing++;
}

/*
** The port's wait, alertable or not, bracketed for routines: 0 with the
** wait's result in *res (WR_WAIT_OBJECT_0: entries are queued), or a WSA
** code.  A wait nested in the writing of a batch (a finalizer's, a
** routine's) does not repost the objects that batch took with rearm set:
** their buffers are its caller's to read until its next wait.
*/
static int wait_port(lua_State *L, lwr_port *po, long ms, int alertable,
                     unsigned *res) {
  lwr_ctx *c = lwr_ctx_get(L);
  lua_State *saved;
  int r;
  lwr_port_unhold_all(L, po);
  saved = lwr_wait_enter(c, L);
  r = wr_port_get(po->p, ms, alertable, po->writing == 0, res);
  lwr_wait_leave(c, L, saved);
  return r;
}

/*
** A failed wait's result: nil, name, code (a timeout is WAIT_TIMEOUT, 258;
** routines that ran with nothing taken, WAIT_IO_COMPLETION, 192).
*/
static int wait_failed(lua_State *L, int r, unsigned res) {
  if (r) return lwr_fail(L, r);
  if (res == WR_WAIT_IO_COMPLETION) {
    luaL_pushfail(L);
    lua_pushliteral(L, "WAIT_IO_COMPLETION");
    lua_pushinteger(L, WR_WAIT_IO_COMPLETION);
    return 3;
  }
  return lwr_fail(L, WR_WAIT_TIMEOUT);
}

/*
** The core took an entry, written: it is the caller's.  An operation's
** object is held until the port's next wait (hold); a packet's values are
** let go.  A nested wait lets go of the held list and fills it anew, so
** the room reserved may be used up: an object past it is let go at once
** (it loses only the anchor's reuse).  Neither runs Lua code: the raw
** sets of luaL_unref and lwr_ov_unhold go to keys that are there.
*/
static inline void hold(lua_State *L, lwr_port *po, wr_overlapped *ov) {
  lwr_ov *o = lwr_ov_of(ov);
  lwr_ov_hold(o);
  if (po->nheld < po->cap) po->held[po->nheld++] = o;
  else lwr_ov_unhold(L, o);
}

static void let_go_packet(lua_State *L, const wr_port_entry *e) {
  lua_getiuservalue(L, 1, PORT_UVAL_POSTED);
  luaL_unref(L, -1, (int)e->key);
  lua_pop(L, 1);
}

static inline void taken(lua_State *L, lwr_port *po,
                         const wr_port_entry *e) {
  if (e->posted) let_go_packet(L, e);
  else hold(L, po, e->ov);
}

/* Take the entry e, written: 1, and it is the caller's; 0 if another wait
** took it or a close dropped it meanwhile. */
static int take(lua_State *L, lwr_port *po, const wr_port_entry *e) {
  if (!wr_port_take(po->p, e)) return 0;
  taken(L, po, e);
  return 1;
}

/*
** Push the key and the object of entry e: key, ov; or, with a name index
** (GetQueuedCompletionStatusEx's "ov"), key, name, ov -- ready for a raw
** set of each, with no stack rotation.  keyidx holds the key of the core
** key *last (the one a batch from one socket repeats).  Nothing here runs
** Lua code: e is still the head when both are pushed.
*/
static void push_key_ov(lua_State *L, const wr_port_entry *e, int nameidx,
                        int keyidx, uintptr_t *last) {
  int k;
  if (e->key == *last && !e->posted) {
    lua_pushvalue(L, keyidx);
    if (nameidx) lua_pushvalue(L, nameidx);
    lwr_ov_push(L, e->ov);
    return;
  }
  lua_pushnil(L);                                    /* the key's slot */
  k = lua_gettop(L);
  if (nameidx) lua_pushvalue(L, nameidx);
  if (e->posted) {
    lua_getiuservalue(L, 1, PORT_UVAL_POSTED);
    if (lua_rawgeti(L, -1, (lua_Integer)e->key) != LUA_TTABLE) {
      lua_pop(L, 2);                   /* dropped: its values let go */
      lua_pushnil(L);
      return;
    }
    lua_rawgeti(L, -1, 1);                            /* {key, ov} */
    lua_replace(L, k);
    lua_rawgeti(L, -1, 2);
    lua_replace(L, -3);                               /* ov, over the table */
    lua_pop(L, 1);
    return;
  }
  if (lwr_ov_push(L, e->ov) == NULL) return;
  lua_getiuservalue(L, -1, OV_UVAL_SOCKET);
  lua_getiuservalue(L, -1, SOCK_UVAL_KEY);
  lua_copy(L, -1, keyidx);
  lua_replace(L, k);
  lua_pop(L, 1);
  *last = e->key;
}

/*** @module wsarecv */

/***
An I/O completion port: a queue of the completions of the operations
posted without a routine on its sockets, in completion order (posting
order within one socket).  An operation's object stays busy until its
entry is taken.  There is no kernel port on Linux: the port's waits do the
I/O themselves.  `pollfd`, `events` and `timeout` make it a cqueues
pollable.  `__close` and `__gc` close it; `tostring(port)` gives
`wsarecv.port (N queued): 0x...` or `wsarecv.port (closed): 0x...`.
@type port
*/

/***
Take one entry, waiting up to `ms` milliseconds.  Not alertable.
@function port:GetQueuedCompletionStatus
@tparam[opt] int ms the timeout (nil, -1 or 0xFFFFFFFF: none)
@treturn[1] int the bytes transferred
@return[1] the key: the socket's, or a posted packet's
@treturn[1] overlapped|nil the operation's object, or a packet's (nil
when it was posted without one)
@return[2] nil
@treturn[2] string a failed operation's WSA error name (then its key and
object follow), `WAIT_TIMEOUT` (nothing within `ms`),
`ERROR_INVALID_HANDLE` (closed port), `WSAEINVAL` (a too long timeout, or
an infinite wait nothing could end), `WSAEINTR` (SIGINT ended it, nothing
taken: see `run`)
@treturn[2] int its code
@return[2] a failed operation's key
@treturn[2] overlapped a failed operation's object
@raise a timeout that is not an integer, or negative other than -1
*/
static int l_GetQueuedCompletionStatus(lua_State *L) {
  lwr_port *po = lwr_checkport(L, 1);
  long ms;
  int bad = lwr_check_ms(L, 2, &ms), r;
  unsigned res = 0;
  wr_port_entry e;
  if (bad) return lwr_fail(L, bad);
  lua_settop(L, 1);
  lua_pushnil(L);                                    /* 2: the key slot */
  reserve(L, po, 1);
  for (;;) {
    r = wait_port(L, po, ms, 0, &res);
    if (r || res != WR_WAIT_OBJECT_0) return wait_failed(L, r, res);
    /* what the wait found may go to another wait, or a close, while it
    ** is pushed (the error name can step the collector): then the next
    ** head, else wait again */
    begin_writing(L, po);                            /* 3: the guard */
    while (wr_port_peek(po->p, &e, 1)) {
      uintptr_t last = 0;
      lua_settop(L, 3);
      if (e.error == 0) lua_pushinteger(L, (lua_Integer)e.bytes);
      push_key_ov(L, &e, 0, 2, &last);
      if (e.error) {
        lwr_fail(L, (int)e.error);
        lua_rotate(L, 4, 3);              /* nil, name, code, key, ov */
      }
      if (take(L, po, &e)) return e.error ? 5 : 3;
    }
    lua_settop(L, 2);                                /* the guard closed */
  }
}

/* entries[i][field] = v, the field's name at kidx + field: a raw set of
** a string already made (no hashing, no string cache lookup). */
#define SET(L, t, kidx, field, push) \
  (lua_pushvalue(L, (kidx) + (field)), push, lua_rawset(L, t))

/* Write entry e into the table at t; the field names are at kidx + F_*,
** the last key looked up at kidx + F_LAST + 1. */
static void fill(lua_State *L, int t, int kidx, const wr_port_entry *e,
                 uintptr_t *last) {
  SET(L, t, kidx, F_BYTES, lua_pushinteger(L, (lua_Integer)e->bytes));
  lua_pushvalue(L, kidx + F_KEY);
  push_key_ov(L, e, kidx + F_OV, kidx + F_LAST + 1, last);
  lua_rawset(L, t);                                  /* ov */
  lua_rawset(L, t);                                  /* key */
  SET(L, t, kidx, F_ERROR, e->error ? lwr_push_error_name(L, e->error)
                                    : lua_pushnil(L));
  SET(L, t, kidx, F_FLAGS, lua_pushinteger(L, (lua_Integer)e->flags));
}

/*
** The columns form: entries.ov, and whichever of entries.bytes, .key,
** .error and .flags the caller gave, are arrays and entry i is their item
** i.  Raw sets into array parts, and only of the columns given: a receiver
** that reads the object and the length pays for those two alone.  The
** columns are at c + F_*, nil where not given.
*/
typedef struct columns {
  int c;                   /* column f at c + f */
  int has[F_LAST + 1];     /* column f given */
  int probe;               /* put_ov still looks for objects in place */
} columns;

/*
** The object of entry e into the ov column col at i.  One already there
** is left there: a receiver that takes as many entries a wait as it keeps
** operations posted finds each object in the same slot every time, and
** then pays no registry read and no table write.  (The userdata at o's
** address can only be o.)  What the look read stays on the stack, dropped
** when the call returns (room for it reserved): a pop per entry costs more
** than the look.  The first object not in place ends the looking for the
** rest of the batch: slots that moved (a short batch, several sockets)
** cost one look a wait.
*/
static inline void put_ov(lua_State *L, int col, lua_Integer i,
                          wr_overlapped *ov, int *probe) {
  lwr_ov *o = lwr_ov_of(ov);
  if (*probe) {
    if (lua_rawgeti(L, col, i) == LUA_TUSERDATA &&
        lua_touserdata(L, -1) == (void *)o)
      return;
    *probe = 0;
  }
  lwr_ov_push(L, ov);
  lua_rawseti(L, col, i);
}

static void fill_columns(lua_State *L, columns *cs, lua_Integer i,
                         const wr_port_entry *e, int keyidx,
                         uintptr_t *last) {
  int c = cs->c;
  if (cs->has[F_BYTES]) {
    lua_pushinteger(L, (lua_Integer)e->bytes);
    lua_rawseti(L, c + F_BYTES, i);
  }
  if (cs->has[F_KEY]) {
    push_key_ov(L, e, 0, keyidx, last);
    lua_rawseti(L, c + F_OV, i);
    lua_rawseti(L, c + F_KEY, i);
  } else if (!e->posted) {
    put_ov(L, c + F_OV, i, e->ov, &cs->probe);
  } else {                                 /* a packet: its key unread */
    push_key_ov(L, e, 0, keyidx, last);
    lua_rawseti(L, c + F_OV, i);
    lua_pop(L, 1);
  }
  if (cs->has[F_ERROR]) {
    if (e->error) lwr_push_error_name(L, e->error);
    else lua_pushnil(L);
    lua_rawseti(L, c + F_ERROR, i);
  }
  if (cs->has[F_FLAGS]) {
    lua_pushinteger(L, (lua_Integer)e->flags);
    lua_rawseti(L, c + F_FLAGS, i);
  }
}

/*
** Push the columns of entries (at 2), nil for those not given, and note
** which are in cs: returns how many entries they hold (#entries.ov), or -1
** if entries is an array of tables (entries.ov is not a table).
*/
static int push_columns(lua_State *L, columns *cs) {
  size_t n;
  int f;
  cs->c = 0;
  lua_pushvalue(L, lua_upvalueindex(F_OV));
  if (lua_rawget(L, 2) != LUA_TTABLE) {
    lua_pop(L, 1);
    return -1;
  }
  lua_pop(L, 1);
  cs->c = lua_gettop(L) - F_BYTES + 1;
  for (f = F_BYTES; f <= F_LAST; f++) {
    int t;
    lua_pushvalue(L, lua_upvalueindex(f));
    t = lua_rawget(L, 2);
    if (t != LUA_TTABLE && t != LUA_TNIL)
      luaL_error(L, "bad argument #1 to 'GetQueuedCompletionStatusEx' "
                 "(entries.%s is not a table)", lua_tostring(L,
                 lua_upvalueindex(f)));
    cs->has[f] = t == LUA_TTABLE;
  }
  n = lua_rawlen(L, cs->c + F_OV);
  if (n == 0)
    luaL_error(L, "bad argument #1 to 'GetQueuedCompletionStatusEx' "
               "(entries.ov is empty: the columns form takes up to "
               "#entries.ov entries; fill it with false to size the batch)");
  return (int)(n < MAX_BATCH ? n : MAX_BATCH);
}

/* Entries peeked at a time (a run, on the C stack). */
#define RUN 64

/*
** Whether writing entry e can run Lua code.  Only its error name can: a
** string pushed steps the collector, and a step may run finalizers.  The
** rest of a write is raw reads and raw sets of values that allocate
** nothing (integers, nil, objects and keys already made), with no
** metamethod and no collector step; a raw set to a key a table lacks may
** grow it, and so fail with a memory error, but runs no Lua code either
** (an emergency collection runs no finalizer).  So while entries that
** push no name are written, the queue stays as peeked.
*/
static int runs_lua(const columns *cs, const wr_port_entry *e) {
  return e->error != 0 && (cs->c == 0 || cs->has[F_ERROR]);
}

/*
** The columns form without a key column, from row got + 1: the entries of
** operations, read in place on their objects (wr_port_first_op), each
** written then taken, until a packet, an error name to push (runs_lua),
** n rows or the end of the queue.  The new row count.  Nothing here runs
** Lua code (see runs_lua), so the head is still the entry written.
*/
static int write_ops(lua_State *L, lwr_port *po, int n, columns *cs,
                     int got, lua_Integer *failed) {
  wr_port *p = po->p;
  int c = cs->c, bytes = cs->has[F_BYTES], error = cs->has[F_ERROR],
      flags = cs->has[F_FLAGS];
  lua_Integer bad = 0;
  wr_overlapped *ov = wr_port_first_op(p), *next;
  while (ov != NULL && got < n) {
    lua_Integer i = got + 1;
    if (ov->error != 0) {
      if (error) break;
      bad++;
    }
    if (bytes) {
      lua_pushinteger(L, (lua_Integer)ov->bytes);
      lua_rawseti(L, c + F_BYTES, i);
    }
    put_ov(L, c + F_OV, i, ov, &cs->probe);
    if (error) {
      lua_pushnil(L);
      lua_rawseti(L, c + F_ERROR, i);
    }
    if (flags) {
      lua_pushinteger(L, (lua_Integer)ov->flags);
      lua_rawseti(L, c + F_FLAGS, i);
    }
    next = wr_port_take_op(p, ov);
    hold(L, po, ov);
    ov = next;
    got = (int)i;
  }
  *failed += bad;
  return got;
}

/*
** Write up to n entries, each taken once written: how many.  Each entry
** is taken as soon as it is written, so a memory error leaves the entry
** it struck, and those after it, queued.  While no Lua code ran since the
** peek, the entry written is the head: taken unasked, and the columns
** form without keys reads the entries of operations in place
** (write_ops); the rest are peeked a run at a time.  From the first entry
** whose write can run Lua code on, the port is marked as writing (a
** nested wait leaves this batch's rearmed objects alone) and the batch
** goes careful: one entry peeked at a time, taken only if still queued
** (another wait may have taken it, a close dropped it), else the next
** head is written over it.
*/
static int write_batch(lua_State *L, lwr_port *po, int n, columns *cs,
                       int kidx, int lastidx, lua_Integer *failed) {
  wr_port_entry run[RUN];
  uintptr_t last = 0;
  int got = 0, careful = 0, ops = cs->c && !cs->has[F_KEY];
  size_t k, j;
  cs->probe = 1;
  for (;;) {
    if (ops) got = write_ops(L, po, n, cs, got, failed);
    if (got >= n) break;
    /* a packet or an error name next (ops), or any entry: peek */
    k = careful || ops ? 1 : (size_t)(n - got < RUN ? n - got : RUN);
    if ((k = wr_port_peek(po->p, run, k)) == 0) break;
    for (j = 0; j < k; j++) {
      const wr_port_entry *e = &run[j];
      int lua = runs_lua(cs, e);
      if (lua && !careful) {
        begin_writing(L, po);
        careful = 1;
      }
      if (cs->c)
        fill_columns(L, cs, got + 1, e, lastidx, &last);
      else
        fill(L, 5 + got, kidx, e, &last);
      if (lua) {
        if (take(L, po, e)) {
          *failed += 1;
          got++;
        }
        break;                     /* the queue may have changed: peek */
      }
      wr_port_take_head(po->p, e);
      taken(L, po, e);
      *failed += e->error != 0;
      got++;
    }
  }
  return got;
}

/***
Take up to `#entries` entries (1024 at most) into tables the caller made
once, allocating nothing in the steady state: entry i goes into
`entries[i]` as its fields `bytes`, `key`, `ov`, `error` (nil for a
success) and `flags`; or, when `entries.ov` is a table (the columns
form), into `entries.ov[i]` and, for each of the other four columns
given, `entries.bytes[i]`, `.key[i]`, `.error[i]`, `.flags[i]`, up to
`#entries.ov` (fill it with false to size the batch).
Tables past n are left as they were, but the one at n + 1 may hold part
of an entry a finalizer's nested wait or close took or dropped, or that a
memory error struck, while it was written: read only the first n.  With
`alertable`, routines run in
the same wait, after the entries are taken.  Each entry is handed out
once, by the wait that wrote it: it is taken only once written, so a
nested wait on the port (a finalizer's, a routine's) takes entries of its
own, a close mid-batch ends the batch, and a memory error leaves the
entry it struck and those after it queued.
@function port:GetQueuedCompletionStatusEx
@tparam table entries an array of tables, or the five columns
@tparam[opt] int ms the timeout (nil, -1 or 0xFFFFFFFF: none)
@tparam[opt=false] bool alertable let completion routines run
@treturn[1] int n, the entries taken
@treturn[1] int how many of them are failed operations (their error is
also in each object's `ov.error`, where Windows keeps an entry's status)
@return[2] nil
@treturn[2] string `WAIT_TIMEOUT`, `WAIT_IO_COMPLETION` (routines ran,
nothing was taken), `WSA_INVALID_PARAMETER` (an empty entries array),
`ERROR_INVALID_HANDLE`, `WSAEINVAL`, `WSAEINTR` (SIGINT, nothing taken)
@treturn[2] int its code
@raise an entry or a column that is not a table; an empty `entries.ov`; a
bad timeout; the error a routine raised
*/
static int l_GetQueuedCompletionStatusEx(lua_State *L) {
  lwr_port *po = lwr_checkport(L, 1);
  long ms;
  int bad, r, i, n, kidx = 0, lastidx, got;
  lua_Integer failed = 0;
  columns cs;
  unsigned res = 0;
  luaL_checktype(L, 2, LUA_TTABLE);
  bad = lwr_check_ms(L, 3, &ms);
  lua_settop(L, 4);
  n = push_columns(L, &cs);
  /* the guard, what a fill pushes, what put_ov leaves */
  luaL_checkstack(L, n + 16, "too many entries");
  if (n < 0) {
    n = (int)(lua_rawlen(L, 2) < MAX_BATCH ? lua_rawlen(L, 2) : MAX_BATCH);
    luaL_checkstack(L, n + 16, "too many entries");
    /* every entry checked before anything is taken */
    for (i = 1; i <= n; i++)
      if (lua_rawgeti(L, 2, i) != LUA_TTABLE)
        return luaL_error(L, "bad argument #1 to "
                          "'GetQueuedCompletionStatusEx' (entries[%d] is "
                          "not a table)", i);
    kidx = lua_gettop(L) - F_BYTES + 1;     /* names at kidx + F_BYTES.. */
    for (i = F_BYTES; i <= F_LAST; i++)
      lua_pushvalue(L, lua_upvalueindex(i));
  }
  lua_pushnil(L);                                    /* the last key */
  lastidx = lua_gettop(L);
  if (bad) return lwr_fail(L, bad);
  if (n == 0) return lwr_fail(L, WSA_INVALID_PARAMETER);
  reserve(L, po, (size_t)n);
  for (;;) {  /* until it wrote one: what it found may have gone elsewhere */
    r = wait_port(L, po, ms, lua_toboolean(L, 4), &res);
    if (r || res != WR_WAIT_OBJECT_0) return wait_failed(L, r, res);
    got = write_batch(L, po, n, &cs, kidx, lastidx, &failed);
    if (got > 0) break;
    lua_settop(L, lastidx);                    /* a guard, if any, closed */
  }
  lua_pushinteger(L, (lua_Integer)got);
  lua_pushinteger(L, failed);
  return 2;
}

/***
Queue an entry of the program's own, handed back as it was posted.
@function port:PostQueuedCompletionStatus
@tparam int bytes 0..0xFFFFFFFF
@param key any value
@tparam[opt] overlapped ov an object (not touched), or nil
@treturn[1] int 0
@return[2] nil
@treturn[2] string `ERROR_INVALID_HANDLE` (closed port)
@treturn[2] int its code
@raise bytes out of range; no key; ov not an overlapped object
*/
static int l_PostQueuedCompletionStatus(lua_State *L) {
  lwr_port *po = lwr_checkport(L, 1);
  lua_Integer bytes = luaL_checkinteger(L, 2);
  int ref, r;
  luaL_argcheck(L, bytes >= 0 && bytes <= 0xFFFFFFFF, 2,
                "bytes must be a DWORD (0 .. 0xFFFFFFFF)");
  luaL_checkany(L, 3);
  if (!lua_isnoneornil(L, 4)) lwr_checkov(L, 4);
  lua_settop(L, 4);
  if (wr_port_closed(po->p)) return lwr_fail(L, WR_ERROR_INVALID_HANDLE);
  lua_getiuservalue(L, 1, PORT_UVAL_POSTED);
  lua_createtable(L, 2, 0);
  lua_pushvalue(L, 3);
  lua_rawseti(L, -2, 1);
  lua_pushvalue(L, 4);
  lua_rawseti(L, -2, 2);
  ref = luaL_ref(L, -2);
  r = wr_port_post(po->p, (size_t)bytes, (uintptr_t)ref, NULL);
  if (r) {
    luaL_unref(L, -1, ref);
    return lwr_fail(L, r);
  }
  lua_pushinteger(L, 0);
  return 1;
}

static const luaL_Reg methods[] = {
  {"GetQueuedCompletionStatus", l_GetQueuedCompletionStatus},
  {"PostQueuedCompletionStatus", l_PostQueuedCompletionStatus},
  {NULL, NULL}
};

void lwr_open_port_waits(lua_State *L) {
  static const char *const fields[] = {"bytes", "key", "ov", "error",
                                       "flags"};
  int i;
  lwr_add_methods(L, LWR_PORT, methods);
  luaL_getmetatable(L, LWR_PORT);
  lua_getfield(L, -1, "__index");
  lua_pushvalue(L, -3);                              /* the context */
  for (i = 0; i <= F_LAST - F_BYTES; i++) lua_pushstring(L, fields[i]);
  lua_pushcclosure(L, l_GetQueuedCompletionStatusEx, F_LAST);
  lua_setfield(L, -2, "GetQueuedCompletionStatusEx");
  lua_pop(L, 2);
}
