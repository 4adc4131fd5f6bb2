-- What the recvmsg_*_spec files share.  Call it once at a file's top
-- level with busted's after_each (the spec file's environment has it, a
-- module's does not): it makes the file's tracker (its sockets are closed
-- after each test, queued routines drained: an error one raises is the
-- test's) and registers that; it returns the tracker with the helpers
-- below.
local sockets = require "spec.support.sockets"
local drain = require "spec.support.wait".drain
local CMSG_SPACE = require "spec.support.results".CMSG_SPACE

return function(after_each)
  local T = sockets.tracker()
  after_each(function()
    T.cleanup(function() drain(50) end)
  end)
  local R = { T = T }

  -- sockets as T.socket makes them; nonoverlapped receives never block
  -- more than 2 s (a missing datagram fails instead of hanging)
  R.sock = sockets.timed_sockets(T, 2000)

  -- rx bound to addr:0, tx bound to addr:0 (default inet, 127.0.0.1);
  -- send(str) goes tx -> rx (sockets.udp's fields)
  function R.udp(family, addr)
    return sockets.udp(family or "inet", addr or "127.0.0.1",
      { socket = R.sock })
  end

  -- a fresh unix socket path, removed after the test
  function R.tmppath(tag)
    return T.path(sockets.unix_path(".wsarecv-recvmsg-" .. tag))
  end

  -- CMSG_SPACE of the common payloads
  R.SZ_PKTINFO = CMSG_SPACE(12)    -- struct in_pktinfo
  R.SZ_INT = CMSG_SPACE(4)         -- IP_TTL
  R.SZ_BYTE = CMSG_SPACE(1)        -- IP_TOS

  return R
end
