-- bench/lua/port_scale.lua -- many UDP sockets on one completion port.
--
--   lua5.4 bench/lua/port_scale.lua K N [ops [variant [size]]]
--
-- K sockets on 127.0.0.1, each associated with one port (its key is its
-- index) with `ops` (default 2) receives posted; a child process (not
-- traced by valgrind) sends N datagrams of `size` (default 64) bytes, byte
-- 1 = the socket's own sequence number mod 251, round robin over the
-- sockets, so all are queued in the kernel before the drain starts (each
-- socket gets SO_RCVBUFFORCE room for its share: run as root).  Then the
-- drain: GetQueuedCompletionStatusEx in batches of 64, each entry checked
-- (length, first byte in the socket's own order) and reposted -- variant
-- "repost" (default) with sock:WSARecv, "rearm" with ov.rearm.
--
-- Prints one line:
--   SCALE k=K n=N ops=O variant=V recv=R err=E cpu_ns=C
--         op_bytes=B (Lua heap per posted operation: object + buffer)
-- Instructions per datagram: run it under callgrind for N and 2N and take
-- (Ir(2N) - Ir(N)) / N (the setup, the same in both, cancels out).
local wsarecv = require "wsarecv"

local K = assert(tonumber(arg[1]), "K")
local N = assert(tonumber(arg[2]), "N")
local OPS = tonumber(arg[3]) or 2
local VARIANT = arg[4] or "repost"
local SIZE = tonumber(arg[5]) or 64
local rearm = VARIANT == "rearm"

local port = wsarecv.CreateIoCompletionPort()
local socks, addrs = {}, {}
local per = N // K + 1
for i = 1, K do
  local s = assert(wsarecv.socket("inet", "dgram"))
  assert(s:bind("127.0.0.1", 0) == 0)
  -- room for this socket's share (a loopback datagram's truesize < 2 KiB)
  assert(s:setsockopt("SO_RCVBUFFORCE", math.min((per + 8) * 2304, 1 << 30)))
  local _, p = s:getsockname()
  socks[i], addrs[i] = s, p
  assert(wsarecv.CreateIoCompletionPort(s, port, i) == port)
end

-- the operations, and what they cost on the Lua heap
collectgarbage()
local heap0 = collectgarbage("count")
local bufof, sockof = {}, {}
local ovs = {}
for i = 1, K do
  for _ = 1, OPS do
    local ov, buf = wsarecv.overlapped(), wsarecv.buffer(SIZE < 256 and 256 or SIZE)
    ov.rearm = rearm
    ovs[#ovs + 1] = ov
    bufof[ov], sockof[ov] = buf, socks[i]
  end
end
collectgarbage()
local op_bytes = (collectgarbage("count") - heap0) * 1024 / (K * OPS)
for _, ov in ipairs(ovs) do
  local ok, name = sockof[ov]:WSARecv(bufof[ov], 0, ov)
  assert(ok or name == "WSA_IO_PENDING", name)
end

-- the sender, a child process
local list = os.tmpname()
local f = assert(io.open(list, "w"))
for i = 1, K do f:write(addrs[i], "\n") end
f:close()
local dir = debug.getinfo(1, "S").source:sub(2):match("^(.*)/") or "."
local sender = ([[%s -e '
local s = assert(require "wsarecv".socket("inet", "dgram"))
local ports = {} for l in io.lines(%q) do ports[#ports + 1] = tonumber(l) end
local k, n, size, seq = #ports, %d, %d, {}
for i = 1, k do seq[i] = 0 end
for j = 0, n - 1 do
  local i = j %% k + 1
  local d = string.char(seq[i]) .. string.rep("x", size - 1)
  seq[i] = (seq[i] + 1) %% 251
  assert(s:sendto(d, "127.0.0.1", ports[i]) == size)
end']]):format(arg[-1] or "lua5.4", list, N, SIZE)
assert(os.execute(sender))
os.remove(list)

-- the drain
local entries = {}
for i = 1, 64 do
  entries[i] = { bytes = 0, key = 0, ov = false, error = false, flags = 0 }
end
local seqs = {}
for i = 1, K do seqs[i] = 0 end
local recv, err = 0, 0
local c0 = os.clock()
while recv < N do
  local got, name = port:GetQueuedCompletionStatusEx(entries, 2000)
  if not got then
    io.stderr:write("port_scale: ", name, " after ", recv, " datagrams\n")
    break
  end
  for i = 1, got do
    local e = entries[i]
    local ov, key = e.ov, e.key
    local buf = bufof[ov]
    if e.bytes ~= SIZE or buf:byte(1) ~= seqs[key] or e.error then
      err = err + 1
    end
    local s = seqs[key] + 1
    seqs[key] = s < 251 and s or 0
    if not rearm then sockof[ov]:WSARecv(buf, 0, ov) end
  end
  recv = recv + got
end
local cpu = os.clock() - c0
for i = 1, K do socks[i]:close() end
port:close()
io.stdout:write(("SCALE k=%d n=%d ops=%d variant=%s recv=%d err=%d cpu_ns=%.0f op_bytes=%.0f\n")
  :format(K, N, OPS, VARIANT, recv, err, cpu * 1e9, op_bytes))
