-- What the completion_*_spec files share.  Call it once at a file's top
-- level with busted's after_each (the spec file's environment has it, a
-- module's does not): it makes the file's tracker (its sockets are closed
-- after each test, pending operations drained) and registers that; it
-- returns the tracker, a UDP receiver on 127.0.0.1 whose nonoverlapped
-- receives time out after 3 s (a missing datagram fails instead of
-- hanging), the child scripts' prelude and their clean-exit check.
local H = require "spec.support.helpers"

return function(after_each)
  local T = H.tracker()
  after_each(function()
    T.cleanup(function() H.drain(50, true) end)
  end)
  local C = { T = T }

  -- rx, send(str)
  function C.udp()
    local ch = H.udp("inet", "127.0.0.1", { socket = T.socket, rcvtimeo = 3000 })
    return ch.rx, ch.send
  end

  -- the prelude of child scripts: wsarecv, a UDP pair, show(...)
  C.CHILD = 'local wsarecv = require "wsarecv"\n' .. H.CHILD_UDP .. [[
local function show(...)
  local t = table.pack(...)
  for i = 1, t.n do t[i] = tostring(t[i]) end
  print(table.concat(t, " "))
end
]]

  function C.assert_clean_exit(out, how, rc)
    H.assert_exit(out, how, rc, 0,
      { "Segmentation", "AddressSanitizer", "runtime error" })
  end

  return C
end
