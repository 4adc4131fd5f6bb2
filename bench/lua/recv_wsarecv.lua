-- bench/lua/recv_wsarecv.lua -- the receivers under test.
--
--   lua5.4 recv_wsarecv.lua WSARecv    [ops]        UDP: ops (64) WSARecv posted,
--                                                   each reposted from its routine
--   lua5.4 recv_wsarecv.lua WSARecvMsg [ops]        UDP: ops (64) WSARecvMsg posted,
--                                                   IP_PKTINFO on, control = 64
--   lua5.4 recv_wsarecv.lua port [ops [batch]]      UDP: the socket associated with a
--                                                   completion port, ops (64) WSARecv
--                                                   posted without routine, each
--                                                   ov.rearm, a loop of
--                                                   port:GetQueuedCompletionStatusEx
--                                                   (batch 64, columns form)
--   lua5.4 recv_wsarecv.lua port-repost [ops [batch]]  the same, each entry reposted
--                                                   with sock:WSARecv (no rearm)
--   WR_MODE=tcp: the same with ops (4) 64 KiB WSARecv outstanding (WSARecv, port*)
--   WR_NSOCK=S (scenario 5): S sockets, ops per socket (WSARecv, port*)
--
-- Nothing is allocated per datagram by this script: every operation is
-- reposted with the same overlapped object and buffer (and msg).  The port
-- variants need wsarecv.CreateIoCompletionPort; without it the script
-- prints "SKIP ..." and exits 0 (WR_MODE=probe only asks).
-- bench/lua/recv_floor.lua runs this very script against a stub of the C
-- module, to measure what the Lua side alone costs.  Routines run in
-- wsarecv.SleepEx(1000, true).  The clock is LuaSocket's socket.gettime()
-- (gettimeofday, microseconds), read once at each end of the measured
-- period (and, in scenario 5, at the start of the steady-state window).
local C = require "benchcommon"
local wsarecv = C.wsarecv()
local gettime = require "socket".gettime

local variant = arg[1] or "WSARecv"
local tcp = C.mode == "tcp"
local ops = tonumber(arg[2]) or (tcp and 4 or 64)
local batch = tonumber(arg[3]) or 64
local size, n, drain, MARKER = C.size, C.n, C.drain, C.MARKER
local heapmark, nsock, scale = C.heapmark, C.nsock, C.scale

local onport = variant == "port" or variant == "port-repost"
if onport and not wsarecv.CreateIoCompletionPort then
  C.skip("not available: this wsarecv has no CreateIoCompletionPort")
end
if scale and variant == "WSARecvMsg" then
  C.skip("not available: scenario 5 runs WSARecv and port only")
end
if C.mode == "probe" then C.available() end

local recv, bytes, err, done = 0, 0, 0, false
local failures = 0
local t0, c0, t1, c1, heap0, heap1, tw0
local nxt = {}                -- scenario 5: next sequence number per socket
for j = 1, nsock do nxt[j] = j - 1 end

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
  make = function(sock, buf)
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
elseif scale then
  make = function(sock, buf, _, j)
    local routine
    routine = function(e, nb, ov)
      if e then
        if e ~= "WSA_OPERATION_ABORTED" then failures = failures + 1; err = err + 1 end
        if e == "WSA_OPERATION_ABORTED" or done then return end
      end
      if done then return end
      local x = nxt[j]
      if nb ~= size or buf:byte(1) ~= x % 251 then err = err + 1 end
      nxt[j] = x + nsock
      recv = recv + 1
      bytes = bytes + nb
      if recv == heapmark then tw0 = gettime() end
      if recv >= n then stop() return end
      sock:WSARecv(buf, 0, ov, routine)
    end
    return routine
  end
elseif variant == "WSARecvMsg" then
  make = function(sock, buf, msg)
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
  make = function(sock, buf)
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

---------------------------------------------------------------- the port loop
-- The columns form of GetQueuedCompletionStatusEx: ovc[i] and nbc[i] (and
-- keyc[i] over several sockets) are entry i, written into arrays made once;
-- its second result counts the failed entries, whose error the object
-- itself tells (ov.error: Windows too keeps an entry's status in the
-- OVERLAPPED).  The buffer is found by the object in a Lua table (bufof[ov],
-- the CONTAINING_RECORD of Lua), its first byte read by the buffer's own
-- byte method, kept in a local.  Variant "port" marks every object
-- ov.rearm, so the port's next wait posts it again with the same buffer;
-- "port-repost" reposts each with sock:WSARecv.  One loop per scenario, so
-- no datagram pays for the others' tests.
local port, cols, ovc, nbc, keyc, bufof, socks
local rearm = variant == "port"
local byte = getmetatable(wsarecv.buffer(1)).__index.byte

-- A batch with failures, one entry at a time: 1 to go on, nil when done.
local function port_failed(i)
  local ov = ovc[i]
  local why = ov.error
  if why == nil then return 1 end
  if why ~= "WSA_OPERATION_ABORTED" then failures = failures + 1; err = err + 1 end
  if why == "WSA_OPERATION_ABORTED" or done or tcp then stop() return nil end
  -- a survivable datagram failure (WSAEMSGSIZE ...): rearmed, or reposted
  if not rearm then socks[keyc and keyc[i] or 1]:WSARecv(bufof[ov], 0, ov) end
  return nil
end

-- entries i0..i1 of a drain (sequence checked) or a flood (marker ends it)
-- (what the loops use is copied to locals: registers, not upvalues)
local function udp_batch(i0, i1)
  local r, e, sock = recv, err, socks[1]
  local ovc, nbc, bufof, byte, size, rearm = ovc, nbc, bufof, byte, size, rearm
  if drain then
    for i = i0, i1 do
      local ov = ovc[i]
      local buf = bufof[ov]
      if nbc[i] ~= size or byte(buf, 1) ~= r % 251 then e = e + 1 end
      r = r + 1
      if not rearm then sock:WSARecv(buf, 0, ov) end
    end
  else
    for i = i0, i1 do
      local ov = ovc[i]
      local buf = bufof[ov]
      local b = byte(buf, 1)
      if b > 250 or nbc[i] ~= size then
        if b == MARKER then
          bytes, recv, err = bytes + (r - recv) * size, r, e
          stop()
          return
        end
        e = e + 1
      end
      r = r + 1
      if not rearm then sock:WSARecv(buf, 0, ov) end
    end
  end
  bytes = bytes + (r - recv) * size
  recv, err = r, e
end

local function tcp_batch(i0, i1)
  for i = i0, i1 do
    local ov, nb = ovc[i], nbc[i]
    local buf = bufof[ov]
    if nb == 0 then stop() return end                     -- peer closed
    if byte(buf, 1) ~= bytes % 251 then err = err + 1 end
    recv = recv + 1
    bytes = bytes + nb
    if not rearm then socks[1]:WSARecv(buf, 0, ov) end
  end
end

local function scale_batch(i0, i1)
  local r, e = recv, err
  local ovc, nbc, keyc, bufof, byte, size, rearm = ovc, nbc, keyc, bufof, byte, size, rearm
  for i = i0, i1 do
    local ov, j = ovc[i], keyc[i]
    local buf = bufof[ov]
    local x = nxt[j]
    if nbc[i] ~= size or byte(buf, 1) ~= x % 251 then e = e + 1 end
    nxt[j] = x + nsock
    r = r + 1
    if not rearm then socks[j]:WSARecv(buf, 0, ov) end
  end
  bytes = bytes + (r - recv) * size
  recv, err = r, e
end

local port_batch = tcp and tcp_batch or scale and scale_batch or udp_batch

-- the steady-state window begins after datagram heapmark exactly
local function port_mark()
  if scale then tw0 = gettime() else heap0 = collectgarbage("count") end
end

local function port_wait(ms)
  local k, name = port:GetQueuedCompletionStatusEx(cols, ms)
  if not k then
    if name ~= "WAIT_TIMEOUT" then
      io.stderr:write("recv_wsarecv: GetQueuedCompletionStatusEx: ", tostring(name), "\n")
      failures = failures + 1
      stop()
    end
    return
  end
  if done then return end
  if name > 0 then                        -- failures: entry by entry
    for i = 1, k do
      if port_failed(i) then port_batch(i, i) end
      if done then return end
    end
  elseif drain and recv < heapmark and recv + k >= heapmark then
    local m = heapmark - recv
    port_batch(1, m)
    port_mark()
    port_batch(m + 1, k)
  else
    port_batch(1, k)
  end
  if drain and recv >= n then stop() end
end

---------------------------------------------------------------- set up
-- everything that is not receiving; scenario 5 measures what it costs
if scale then collectgarbage("stop") end
local mem0 = C.rss()
socks = {}
for j = 1, nsock do socks[j] = assert(wsarecv.wrap(C.fd + j - 1)) end
if onport then
  port = assert(wsarecv.CreateIoCompletionPort())
  for j = 1, nsock do assert(wsarecv.CreateIoCompletionPort(socks[j], port, j)) end
  ovc, nbc, keyc, bufof = {}, {}, scale and {} or nil, {}
  for i = 1, batch do
    ovc[i], nbc[i] = false, 0
    if keyc then keyc[i] = 0 end
  end
  cols = { ov = ovc, bytes = nbc, key = keyc }
end
local mem1, heapk1 = C.rss(), collectgarbage("count")
local nops = ops * nsock
local ovs, bufs, msgs, routines, sockof = {}, {}, {}, {}, {}
for i = 1, nops do
  local j = (i - 1) % nsock + 1
  sockof[i] = socks[j]
  ovs[i] = wsarecv.overlapped()
  bufs[i] = wsarecv.buffer(tcp and 65536 or 2048)
  if variant == "WSARecvMsg" and not tcp then
    msgs[i] = wsarecv.msg{ buffers = bufs[i], control = 64 }
  end
  if onport then
    bufof[ovs[i]] = bufs[i]
    ovs[i].rearm = rearm
  else
    routines[i] = make(socks[j], bufs[i], msgs[i], j)
  end
end
if variant == "WSARecvMsg" and not tcp then
  assert(socks[1]:setsockopt("IP_PKTINFO", true))
end

if not drain then C.ready() end
t0, c0 = gettime(), os.clock()
for i = 1, nops do
  local ok, name, code
  if msgs[i] then
    ok, name, code = sockof[i]:WSARecvMsg(msgs[i], ovs[i], routines[i])
  elseif routines[i] then
    ok, name, code = sockof[i]:WSARecv(bufs[i], 0, ovs[i], routines[i])
  else
    ok, name, code = sockof[i]:WSARecv(bufs[i], 0, ovs[i])
  end
  if not ok and name ~= "WSA_IO_PENDING" then
    error(string.format("posting failed: %s %s", tostring(name), tostring(code)))
  end
end
local mem2, heapk2 = C.rss(), collectgarbage("count")
if scale then collectgarbage("restart") end

-- wait (alertably: routines run here); bounded in time (60 s)
local deadline = t0 + 60
while not done do
  if port then port_wait(1000) else wsarecv.SleepEx(1000, true) end
  if gettime() > deadline then
    io.stderr:write("recv_wsarecv: deadline reached\n")
    stop()
  end
end
for j = 1, nsock do socks[j]:close() end   -- cancels the operations still posted
if port then
  -- their WSA_OPERATION_ABORTED go to the port: take them, then close it
  -- (not wsarecv.run(), which a port might keep busy)
  for _ = 1, nops + 1 do
    local k = port:GetQueuedCompletionStatusEx(cols, 10)
    if not k or k == 0 then break end
  end
  port:close()
else
  wsarecv.run()                             -- delivers their WSA_OPERATION_ABORTED
end

if failures > 0 then io.stderr:write("recv_wsarecv: ", failures, " failed receives\n") end
local r = { recv = recv, bytes = bytes, err = err, cpu = c1 - c0, wall = t1 - t0,
            heap0 = heap0, heap1 = heap1 }
if scale then
  r.tw0, r.tw1 = tw0, t1
  r.mem_sock = (mem1 - mem0) / nsock
  r.mem_op = (mem2 - mem1) / nops
  r.heap_op = (heapk2 - heapk1) * 1024 / nops
end
C.result(r)
