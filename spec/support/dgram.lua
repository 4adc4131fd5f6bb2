-- What the dgram_*_spec files share.  Call it once at a file's top level
-- with busted's after_each (the spec file's environment has it, a
-- module's does not): it makes the file's tracker (its sockets are closed
-- and its unix socket paths removed after each test, queued routines
-- drained: an error one raises is the test's) and registers that; it
-- returns the tracker with the helpers below.
local sockets = require "spec.support.sockets"
local drain = require "spec.support.wait".drain
local assert = require "luassert"          -- (busted's, see results.lua)

return function(after_each)
  local T = sockets.tracker()
  after_each(function()
    T.cleanup(function() drain(20) end)
  end)
  local D = { T = T }

  -- a channel of `kind` ("inet", "inet6", "unix"): rx receives,
  -- send(str) delivers one message to rx (sockets.dgram_channel)
  function D.channel(kind) return sockets.dgram_channel(T, kind) end

  -- Nonoverlapped receives in these specs expect data that is already
  -- there; should it not be, SO_RCVTIMEO turns a hang into WSAETIMEDOUT.
  function D.bound_wait(s)
    assert(s:setsockopt("SO_RCVTIMEO", 3000) == 0)
    return s
  end

  return D
end
