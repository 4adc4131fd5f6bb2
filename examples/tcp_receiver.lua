-- examples/tcp_receiver.lua: receive a TCP stream with several WSARecv
-- operations outstanding at once, verify every byte, report throughput.
--
--   lua5.4 examples/tcp_receiver.lua [megabytes] [outstanding] [opsize]
--
-- It starts examples/sender.lua as the peer over loopback.  The buffers
-- are filled in posting order, so the routine checks each one against the
-- byte pattern at the stream offset it was posted for.
package.path = (debug.getinfo(1, "S").source:sub(2):match("^(.*)/") or ".")
  .. "/?.lua;" .. package.path
local wsarecv = require "wsarecv"
local spawn = require "spawn"

local total = math.floor((tonumber(arg[1]) or 64) * 1024 * 1024)
local outstanding = tonumber(arg[2]) or 4
local opsize = tonumber(arg[3]) or 65536

local lsock = assert(wsarecv.socket("inet", "stream"))
assert(lsock:setsockopt("SO_REUSEADDR", true))
assert(lsock:bind("127.0.0.1", 0))
assert(lsock:listen())
local _, port = lsock:getsockname()
local child = spawn.lua(spawn.dir() .. "/sender.lua", "tcp", "127.0.0.1", port, total, 65536)
local conn = assert(lsock:accept())

local received, closed, bad, completions = 0, false, 0, 0
local pattern = {}
for i = 0, 250 do pattern[#pattern + 1] = string.char(i) end
pattern = string.rep(table.concat(pattern), math.ceil(opsize / 251) + 2)

local function on_data(err, n, ov)
  completions = completions + 1
  if err then
    if err ~= "WSA_OPERATION_ABORTED" then io.stderr:write("receive: ", err, "\n") end
    return
  end
  if n == 0 then closed = true return end       -- graceful close
  -- check every byte against where the stream is (routines run in order)
  local off = received % 251
  if ov.context:sub(1, n) ~= pattern:sub(off + 1, off + n) then bad = bad + 1 end
  received = received + n
  conn:WSARecv(ov.context, 0, ov, on_data)
end

for _ = 1, outstanding do
  local ov = wsarecv.overlapped()
  ov.context = wsarecv.buffer(opsize)
  conn:WSARecv(ov.context, 0, ov, on_data)
end

local c0 = os.clock()
local deadline = os.time() + 60
while not closed and os.time() < deadline do wsarecv.SleepEx(100, true) end
local cpu = os.clock() - c0
conn:close()
wsarecv.run()
child:close()
lsock:close()

print(string.format(
  "tcp: %d/%d bytes, %d outstanding x %d-byte operations, %d completions, "
  .. "%d bad buffers; receiver CPU %.3f s (%.2f s/GB, %.0f MB/s of CPU)",
  received, total, outstanding, opsize, completions, bad, cpu,
  cpu / (received / 1e9), received / 1e6 / math.max(cpu, 1e-9)))
os.exit(received == total and bad == 0 and 0 or 1)
