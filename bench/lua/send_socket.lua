-- bench/lua/send_socket.lua -- a Lua user's choice: LuaSocket (Debian
-- lua-socket), blocking calls.
--
--   UDP: s = socket.udp(); s:setfd(fd); a loop of s:sendto(data, addr, port)
-- The same string every time.  The clock is socket.gettime(), read once at
-- each end.
local C = require "sendcommon"
local socket = require "socket"
local gettime = socket.gettime

if C.tcp then C.skip("not available: scenario 7 has no LuaSocket sender") end
if C.mode == "probe" then C.available() end

local data = C.payload(C.size)
local len, n, dest, dport, heapmark = #data, C.n, C.dest, C.port, C.heapmark
local sent, err, failures = 0, 0, 0
local heap0

local s = socket.udp()
s:setfd(C.fd)
local t0, c0 = gettime(), os.clock()
local deadline = t0 + 50
while sent < n do
  local r = s:sendto(data, dest, dport)
  if r == len then
    sent = sent + 1
    if sent == heapmark then heap0 = collectgarbage("count") end
  else
    err = err + 1
    if gettime() > deadline then failures = failures + 1 break end
  end
end
local t1, c1, heap1 = gettime(), os.clock(), collectgarbage("count")

C.result{ sent = sent, bytes = sent * len, err = err, cpu = c1 - c0, wall = t1 - t0,
          heap0 = heap0, heap1 = heap1 }
os.exit(failures == 0 and 0 or 1)
