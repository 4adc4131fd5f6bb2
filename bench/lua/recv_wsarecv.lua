-- bench/lua/recv_wsarecv.lua -- the receivers under test.
--
--   lua5.4 recv_wsarecv.lua WSARecv      [ops]   UDP: ops (64) WSARecv posted
--   lua5.4 recv_wsarecv.lua WSARecvMsg   [ops]   UDP: ops (64) WSARecvMsg posted,
--                                                IP_PKTINFO on, control = 64
--   lua5.4 recv_wsarecv.lua WSARecv      [ops]   TCP (WR_MODE=tcp): ops (4)
--                                                64 KiB WSARecv outstanding
--
-- Every operation is reposted from its completion routine with the same
-- overlapped object, buffer (and msg): nothing is allocated per datagram by
-- this script.  bench/lua/recv_floor.lua runs this very script against a
-- stub of the C module, to measure what the Lua side alone costs.  Waiting is alertable: wsarecv.SleepEx(1000, true).  The
-- clock is LuaSocket's socket.gettime() (gettimeofday, microseconds), read
-- once at each end of the measured period.
local C = require "benchcommon"
local wsarecv = require "wsarecv"
local gettime = require "socket".gettime

local variant = arg[1] or "WSARecv"
local tcp = C.mode == "tcp"
local ops = tonumber(arg[2]) or (tcp and 4 or 64)
local size, n, drain, MARKER = C.size, C.n, C.drain, C.MARKER
local heapmark = C.heapmark

local sock = assert(wsarecv.wrap(C.fd))
local recv, bytes, err, done = 0, 0, 0, false
local failures = 0
local t0, c0, t1, c1, heap0, heap1

local function stop()
  done = true
  t1, c1 = gettime(), os.clock()
  if drain then heap1 = collectgarbage("count") end
end

-- One routine per operation, closing over its buffer (and msg): the
-- idiomatic form that needs no C call to find the buffer (ov.context is a
-- C __index call, about 100 instructions, twice per datagram here).
local make
if tcp then
  make = function(buf)
    local routine
    routine = function(e, nb, ov)
      if e then
        if e ~= "WSA_OPERATION_ABORTED" then failures = failures + 1; stop() end
        return
      end
      if done then return end
      if nb == 0 then stop() return end                   -- peer closed
      if buf:byte(1) ~= bytes % 251 then err = err + 1 end
      recv = recv + 1
      bytes = bytes + nb
      sock:WSARecv(buf, 0, ov, routine)
    end
    return routine
  end
elseif variant == "WSARecvMsg" then
  make = function(buf, msg)
    local routine
    routine = function(e, nb, ov)
      if e then
        if e ~= "WSA_OPERATION_ABORTED" then failures = failures + 1; err = err + 1 end
        if e == "WSA_OPERATION_ABORTED" or done then return end
      end
      if done then return end
      local b = buf:byte(1)
      if b == MARKER and not drain then stop() return end
      if nb ~= size or (drain and b ~= recv % 251 or b > 250) then err = err + 1 end
      recv = recv + 1
      bytes = bytes + nb
      if recv == heapmark and drain then heap0 = collectgarbage("count") end
      if drain and recv >= n then stop() return end
      sock:WSARecvMsg(msg, ov, routine)
    end
    return routine
  end
else
  make = function(buf)
    local routine
    routine = function(e, nb, ov)
      if e then
        if e ~= "WSA_OPERATION_ABORTED" then failures = failures + 1; err = err + 1 end
        if e == "WSA_OPERATION_ABORTED" or done then return end
      end
      if done then return end
      local b = buf:byte(1)
      if b == MARKER and not drain then stop() return end
      if nb ~= size or (drain and b ~= recv % 251 or b > 250) then err = err + 1 end
      recv = recv + 1
      bytes = bytes + nb
      if recv == heapmark and drain then heap0 = collectgarbage("count") end
      if drain and recv >= n then stop() return end
      sock:WSARecv(buf, 0, ov, routine)
    end
    return routine
  end
end

-- set up everything that is not receiving
local ovs, bufs, msgs, routines = {}, {}, {}, {}
for i = 1, ops do
  ovs[i] = wsarecv.overlapped()
  bufs[i] = wsarecv.buffer(tcp and 65536 or 2048)
  if variant == "WSARecvMsg" and not tcp then
    msgs[i] = wsarecv.msg{ buffers = bufs[i], control = 64 }
  end
  routines[i] = make(bufs[i], msgs[i])
end
if variant == "WSARecvMsg" and not tcp then
  assert(sock:setsockopt("IP_PKTINFO", true))
end

if not drain then C.ready() end
t0, c0 = gettime(), os.clock()
for i = 1, ops do
  local ok, name, code
  if msgs[i] then
    ok, name, code = sock:WSARecvMsg(msgs[i], ovs[i], routines[i])
  else
    ok, name, code = sock:WSARecv(bufs[i], 0, ovs[i], routines[i])
  end
  if not ok and name ~= "WSA_IO_PENDING" then
    error(string.format("posting failed: %s %s", tostring(name), tostring(code)))
  end
end

-- wait alertably; bounded in time (60 s) in case something goes wrong
local deadline = t0 + 60
while not done do
  wsarecv.SleepEx(1000, true)
  if gettime() > deadline then
    io.stderr:write("recv_wsarecv: deadline reached\n")
    stop()
  end
end
sock:close()          -- cancels the operations still posted
wsarecv.run()         -- and delivers their WSA_OPERATION_ABORTED

if failures > 0 then io.stderr:write("recv_wsarecv: ", failures, " failed receives\n") end
C.result{ recv = recv, bytes = bytes, err = err, cpu = c1 - c0, wall = t1 - t0,
          heap0 = heap0, heap1 = heap1 }
