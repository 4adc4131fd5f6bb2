-- bench/lua/recv_socket.lua -- a Lua user's choice: LuaSocket (Debian
-- lua-socket), blocking calls.
--
--   UDP: s = socket.udp(); s:setfd(fd); loop s:receive()
--   TCP (WR_MODE=tcp): a connected client object (LuaSocket has no way to
--        make one from a bare fd, so one is made over loopback and then
--        given the inherited fd with setfd); loop c:receive(65536)
-- The clock is socket.gettime(), read once at each end of the measured
-- period.  The inherited descriptor is blocking; the launchers and the
-- driver bound the time.
local C = require "benchcommon"
local socket = require "socket"
local gettime = socket.gettime

local size, n, drain, MARKER = C.size, C.n, C.drain, C.MARKER
local heapmark = C.heapmark
local recv, bytes, err = 0, 0, 0
local t0, c0, t1, c1, heap0, heap1

if C.mode == "tcp" then
  local srv = assert(socket.bind("127.0.0.1", 0))
  local addr, port = srv:getsockname()
  local c = assert(socket.connect(addr, port))
  srv:close()
  c:setfd(C.fd)          -- the helper connection's own fd is left to exit
  C.ready()
  t0, c0 = gettime(), os.clock()
  while true do
    local data, e, partial = c:receive(65536)
    if not data then
      if e ~= "closed" then io.stderr:write("recv_socket: ", e, "\n") end
      data = partial
      if data and #data > 0 then
        if data:byte(1) ~= bytes % 251 then err = err + 1 end
        recv = recv + 1
        bytes = bytes + #data
      end
      break
    end
    if data:byte(1) ~= bytes % 251 then err = err + 1 end
    recv = recv + 1
    bytes = bytes + #data
  end
  t1, c1 = gettime(), os.clock()
else
  local s = assert(socket.udp())
  s:setfd(C.fd)
  if not drain then C.ready() end
  t0, c0 = gettime(), os.clock()
  while true do
    local data, e = s:receive()
    if not data then io.stderr:write("recv_socket: ", e, "\n") break end
    local b = data:byte(1)
    if b == MARKER and not drain then break end
    if #data ~= size or (drain and b ~= recv % 251 or b > 250) then err = err + 1 end
    recv = recv + 1
    bytes = bytes + #data
    if recv == heapmark and drain then heap0 = collectgarbage("count") end
    if drain and recv >= n then heap1 = collectgarbage("count") break end
  end
  t1, c1 = gettime(), os.clock()
end

C.result{ recv = recv, bytes = bytes, err = err, cpu = c1 - c0, wall = t1 - t0,
          heap0 = heap0, heap1 = heap1 }
