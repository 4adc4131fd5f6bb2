--- wsarecv.luv: drive wsarecv from luv's loop.
--
--     local uv = require "luv"
--     local adapter = require "wsarecv.luv"
--     adapter.attach(uv)
--     ... post receives with routines, spawn wsarecv.async tasks ...
--     adapter.run()          -- uv.run(), and a routine's error raised here
--
-- A luv poll handle watches wsarecv.pollfd(); its callback calls
-- wsarecv.run("nowait"), which is then the alertable wait: routines (and
-- wsarecv.async tasks) run from luv's callbacks, one delivery at a time,
-- never nested inside another wsarecv routine.  A luv timer covers
-- wsarecv.timeout() (wsarecv.async's timers).  Idle, nothing is readable
-- and no timer runs: the process sleeps in luv's own poll.
--
-- Liveness, as a luv handle has it.  While wsarecv has work (a receive
-- pending, a completion or an async task waiting, or a post since the
-- last step: wsarecv.timeout() is then 0) the adapter keeps uv.run()
-- going.  Once wsarecv.run says there is none, a prepare handle, which
-- luv runs before each poll, stops luv's loop if nothing else of luv's
-- is alive: uv.run() returns, as with only unreferenced handles left.
--
-- Errors.  luv prints an error raised in a callback and exits the process.
-- The adapter catches a routine's error instead, stops watching, stops
-- luv's loop (uv.stop) and keeps the error: adapter.run() raises it once
-- uv.run() returns; adapter.error() hands it over to code that calls
-- uv.run() itself.  Watching resumes at the next adapter.run().
--
-- The handles are never closed: detach() stops them and keeps them for the
-- next attach(), and luv closes them with its loop.  (A luv handle closed
-- and not yet freed by a run crashes luv when the process exits.)
--
-- @module wsarecv.luv

local wsarecv = require "wsarecv"

local M = {}

local st          -- the attached state: { uv, fd, poll, timer, prepare,
                  -- more (the last step found work) }
local spare       -- the handles of the last detach, for the next attach
local failure     -- a routine's error, not yet handed over
local busy = false

-- the longest timer luv is given: an async.sleep(math.huge) or a huge
-- one is waited for in such steps (the step re-arms it)
local MAX_MS = 0xFFFFFFFE

local arm

-- Before each poll: with wsarecv idle, end the run unless another luv
-- handle keeps the loop alive (ours is referenced so that a post made
-- between two runs finds the loop running).
local function prepare()
  if not st or st.more or wsarecv.timeout() ~= nil then return end
  st.poll:unref()
  local others = st.uv.loop_alive()
  st.poll:ref()
  if not others then st.uv.stop() end
end

-- One alertable wait, a routine's error kept: false when one was raised,
-- else whether wsarecv has more to do.
local function deliver()
  busy = true
  local ok, more = pcall(wsarecv.run, "nowait")
  busy = false
  if not ok then failure = more end
  return ok, more
end

-- luv's callback: one alertable wait, then a new timeout.
local function step()
  if busy then
    -- a routine runs uv.run itself: stay out of its way (the outer step
    -- watches again when the routine returns)
    if st then st.poll:stop() end
    return
  end
  local ok, more = deliver()
  if not st then                -- a routine detached the adapter:
    -- what the routines' closes aborted meanwhile is not left behind
    if ok and wsarecv.ready() > 0 then deliver() end
    return
  end
  if not ok then
    st.poll:stop()
    st.timer:stop()
    st.uv.stop()
    return
  end
  st.more = more
  arm()
end

-- Watch pollfd() and wsarecv.timeout() (again).
function arm()
  local t = wsarecv.timeout()
  if not st.poll:is_active() then st.poll:start("r", step) end
  if t == nil then
    st.timer:stop()
  else
    st.timer:start(math.min(math.ceil(t * 1000), MAX_MS), 0, step)
  end
end

--- Watch wsarecv from luv's default loop: a poll handle on
-- `wsarecv.pollfd()`, a timer for `wsarecv.timeout()`, and a prepare
-- handle that lets `uv.run()` return once wsarecv is idle (and nothing
-- else of luv's is alive).
-- @tparam[opt] table uv the luv module (default `require "luv"`)
-- @return the adapter module
-- @raise `wsarecv.luv: already attached`; the error name when
-- `wsarecv.pollfd()` fails
function M.attach(uv)
  uv = uv or require "luv"
  if st then error("wsarecv.luv: already attached", 2) end
  local fd = assert(wsarecv.pollfd())
  if spare and spare.uv == uv and spare.fd == fd then
    st, spare = spare, nil
  else
    st = { uv = uv, fd = fd, poll = assert(uv.new_poll(fd)),
           timer = uv.new_timer(), prepare = uv.new_prepare() }
    st.prepare:unref()
  end
  st.more = true       -- until a first step says whether wsarecv is idle
  st.prepare:start(prepare)
  wsarecv.wake()
  arm()
  return M
end

--- Stop watching; wsarecv keeps its operations.  The routines that are
-- ready run first (a socket closed in the same callback does not leave
-- its aborted routines behind; an error one raises is kept for
-- `adapter.error()`), unless `detach` is called from a routine.  Does
-- nothing when not attached.  The handles are stopped, not closed (the
-- next `attach` takes them again; luv closes them with its loop), so
-- nothing needs a `uv.run` afterwards.
function M.detach()
  if not st then return end
  if not busy and wsarecv.ready() > 0 then deliver() end
  if not st then return end     -- a routine detached it meanwhile
  st.poll:stop()
  st.timer:stop()
  st.prepare:stop()
  st, spare = nil, st
end

--- The error a routine raised, once (and watching resumes), or nil: for
-- code that calls `uv.run()` itself.
-- @return the error value, or nil
function M.error()
  local e = failure
  failure = nil
  if e ~= nil and st then arm() end
  return e
end

--- Run luv's loop, `uv.run(mode)`: an alertable wait, routines run from
-- luv callbacks.
-- @tparam[opt="default"] string mode `"default"`, `"once"` or `"nowait"`
-- @return what `uv.run` returns
-- @raise a routine's (or an async task's) error, with its traceback, once
-- `uv.run` has returned; `wsarecv.luv: not attached`
function M.run(mode)
  if not st then error("wsarecv.luv: not attached", 2) end
  local e = M.error()              -- one left from a bare uv.run()
  if e ~= nil then error(e, 0) end
  local r = st.uv.run(mode)
  e = M.error()
  if e ~= nil then error(e, 0) end
  return r
end

return M
