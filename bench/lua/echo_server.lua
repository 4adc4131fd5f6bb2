-- bench/lua/echo_server.lua -- the servers of the async echo benchmark
-- (bench/echo.lua): a TCP echo server on 127.0.0.1, a free port.
--
--   lua5.4 echo_server.lua async CONNS   wsarecv.async: examples/echo.lua's
--                                        server (async.accept, one task per
--                                        connection: async.recv, async.send)
--   lua5.4 echo_server.lua luv CONNS     luv: listen, accept, read_start,
--                                        write of each read
-- Both set TCP_NODELAY on each connection and read at most 64 KiB at a
-- time.  It prints "READY port=<port>", serves until CONNS connections
-- have ended, then prints "RESULT cpu_ns=<its CPU time> conns=<n>".
local impl, conns = arg[1], tonumber(arg[2])
assert((impl == "async" or impl == "luv") and conns, "usage: echo_server.lua async|luv CONNS")

local function ready(port)
  io.stdout:write("READY port=", port, "\n")
  io.stdout:flush()
end

local function result(ended)
  io.stdout:write(("RESULT cpu_ns=%d conns=%d\n"):format(os.clock() * 1e9 // 1, ended))
end

if impl == "async" then
  local wsarecv = require "wsarecv"
  local async = require "wsarecv.async"
  local echo = require "examples.echo"
  local l = assert(wsarecv.socket("inet", "stream"))
  assert(l:bind("127.0.0.1", 0))
  assert(l:listen())
  local _, port = l:getsockname()
  ready(port)
  local ended = 0
  async.spawn(function()
    for _ = 1, conns do
      local s = assert(async.accept(l))
      assert(s:setsockopt("TCP_NODELAY", true))
      async.spawn(function()
        echo.tcp_conn(s)
        ended = ended + 1
      end)
    end
    l:close()
  end)
  async.run()
  result(ended)
else
  local uv = require "luv"
  local server = uv.new_tcp()
  assert(server:bind("127.0.0.1", 0))
  local ended, accepted = 0, 0
  assert(server:listen(1024, function(err)
    assert(not err, err)
    local client = uv.new_tcp()
    assert(server:accept(client))
    client:nodelay(true)
    accepted = accepted + 1
    if accepted == conns then server:close() end
    client:read_start(function(e, data)
      if data then
        client:write(data)
      else
        if e then io.stderr:write("echo_server luv: ", e, "\n") end
        client:close()
        ended = ended + 1
      end
    end)
  end))
  ready(server:getsockname().port)
  uv.run()
  result(ended)
end
