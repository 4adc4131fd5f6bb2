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
-- Errors.  luv prints an error raised in a callback and exits the process.
-- The adapter catches a routine's error instead, stops watching, stops
-- luv's loop (uv.stop) and keeps the error: adapter.run() raises it once
-- uv.run() returns; adapter.error() hands it over to code that calls
-- uv.run() itself.  Watching resumes at the next adapter.run().
--
-- @module wsarecv.luv

local wsarecv = require "wsarecv"

local M = {}

local st          -- the attached state: { uv, poll, timer }
local failure     -- a routine's error, not yet handed over
local busy = false

local arm

-- luv's callback: one alertable wait, then a new timeout.
local function step()
  if busy then
    -- a routine runs uv.run itself: stay out of its way (the outer step
    -- watches again when the routine returns)
    st.poll:stop()
    return
  end
  busy = true
  local ok, err = pcall(wsarecv.run, "nowait")
  busy = false
  if not st then                -- a routine detached the adapter
    if not ok then failure = err end
    return
  end
  if not ok then
    failure = err
    st.poll:stop()
    st.timer:stop()
    st.uv.stop()
    return
  end
  arm()
end

-- Watch pollfd() and wsarecv.timeout() (again).
function arm()
  local t = wsarecv.timeout()
  if not st.poll:is_active() then st.poll:start("r", step) end
  if t == nil then
    st.timer:stop()
  else
    st.timer:start(math.ceil(t * 1000), 0, step)
  end
end

--- Watch wsarecv from luv's default loop: a poll handle on
-- `wsarecv.pollfd()` and a timer for `wsarecv.timeout()`.
-- @tparam[opt] table uv the luv module (default `require "luv"`)
-- @return the adapter module
-- @raise `wsarecv.luv: already attached`; the error name when
-- `wsarecv.pollfd()` fails
function M.attach(uv)
  uv = uv or require "luv"
  if st then error("wsarecv.luv: already attached", 2) end
  local fd = assert(wsarecv.pollfd())
  st = { uv = uv, poll = assert(uv.new_poll(fd)), timer = uv.new_timer() }
  arm()
  return M
end

--- Stop watching and close the two handles; wsarecv keeps its operations.
-- Does nothing when not attached.  Call it outside routines, and let
-- luv's loop run once afterwards (`uv.run("nowait")`): luv frees closed
-- handles only in a run, and a process that exits before can crash in
-- luv's cleanup.
function M.detach()
  if not st then return end
  st.poll:stop()
  st.poll:close()
  st.timer:stop()
  st.timer:close()
  st = nil
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
