-- What the port_*_spec files share.  Call it once at a file's top level
-- with busted's after_each (the spec file's environment has it, a module's
-- does not): it makes the file's tracker, registers its cleanup, and
-- returns it (P.T) with the helpers below.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"
local assert = require "luassert"          -- (busted's, as helpers.lua takes it)

return function(after_each)
  local T = H.tracker()
  after_each(function()
    T.cleanup(function() H.drain(50, true) end)
  end)
  local P = { T = T }          -- the tracker, for sockets a spec makes itself

  -- a UDP receiver associated with port under key, and its sender
  function P.udp_on(port, key)
    local ch = H.udp("inet", "127.0.0.1", { socket = T.socket })
    assert.equal(port, wsarecv.CreateIoCompletionPort(ch.rx, port, key))
    return ch.rx, ch.send
  end

  -- n entry tables for GetQueuedCompletionStatusEx
  function P.entries(n)
    local t = {}
    for i = 1, n do t[i] = {} end
    return t
  end

  return P
end
