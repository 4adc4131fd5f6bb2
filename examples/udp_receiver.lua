-- examples/udp_receiver.lua: keep N WSARecv operations posted on a UDP
-- socket, repost each from its completion routine, and count.
--
--   lua5.4 examples/udp_receiver.lua [count] [posted] [size] [host]
--
-- With no sender of your own, it starts examples/sender.lua to send
-- `count` datagrams to it over loopback, then reports what arrived.
package.path = (debug.getinfo(1, "S").source:sub(2):match("^(.*)/") or ".")
  .. "/?.lua;" .. package.path
local wsarecv = require "wsarecv"
local spawn = require "spawn"

local count = tonumber(arg[1]) or 20000
local posted = tonumber(arg[2]) or 8
local size = tonumber(arg[3]) or 64
local host = arg[4] or "127.0.0.1"

local sock = assert(wsarecv.socket(host:find(":") and "inet6" or "inet", "dgram"))
assert(sock:setsockopt("SO_RCVBUF", 4 * 1024 * 1024))
assert(sock:bind(host, 0))
local _, port = sock:getsockname()

local received, bytes, last, outoforder = 0, 0, 0, 0

local function on_datagram(err, n, ov)
  if err == "WSA_OPERATION_ABORTED" then return end
  local buf = ov.context
  if err then
    io.stderr:write("receive failed: ", err, "\n")
  else
    received = received + 1
    bytes = bytes + n
    local seq = buf:unpack(">I4")
    if seq < last then outoforder = outoforder + 1 end
    last = seq
  end
  if received < count then
    -- repost the same overlapped object and buffer: no allocation
    local ok, name = sock:WSARecv(buf, 0, ov, on_datagram)
    if not ok and name ~= "WSA_IO_PENDING" then
      io.stderr:write("repost failed: ", name, "\n")
    end
  end
end

for _ = 1, posted do
  local ov = wsarecv.overlapped()
  ov.context = wsarecv.buffer(math.max(size, 4))
  sock:WSARecv(ov.context, 0, ov, on_datagram)
end

local t0 = os.clock()
local child = spawn.lua(spawn.dir() .. "/sender.lua", "udp", host, port, count, size)
-- wait alertably until everything arrived or the sender is done and quiet
local idle = 0
while received < count and idle < 20 do
  local r = wsarecv.SleepEx(50, true)
  if r == "WAIT_IO_COMPLETION" then idle = 0 else idle = idle + 1 end
end
child:close()
local cpu = os.clock() - t0
sock:close()                     -- cancels the operations still posted
wsarecv.run()                    -- their routines see WSA_OPERATION_ABORTED

print(string.format(
  "udp: %d/%d datagrams (%d bytes) with %d operations posted; loss %.2f%%; "
  .. "out of order %d; receiver CPU %.0f ns/datagram",
  received, count, bytes, posted, 100 * (count - received) / count,
  outoforder, received > 0 and cpu * 1e9 / received or 0))
