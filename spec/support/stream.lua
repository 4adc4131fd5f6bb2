-- What the stream_*_spec files share.  Call it once at a file's top
-- level with busted's after_each (the spec file's environment has it, a
-- module's does not): it registers five SleepEx(0, true) calls after each
-- test (whatever routines a test left queued run there, not in the next
-- test) and returns the helpers below.  Each test closes its own pair.
local sockets = require "spec.support.sockets"
local quiesce = require "spec.support.wait".quiesce

return function(after_each)
  after_each(quiesce)
  local S = {}

  -- a connected stream pair: client, accepted side, done() closing both
  -- (family "inet" by default, "inet6" or "unix"; sockets.stream_conn)
  S.pair = sockets.stream_conn

  return S
end
