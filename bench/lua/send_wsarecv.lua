-- bench/lua/send_wsarecv.lua -- the senders under test (scenarios 6, 7).
--
--   lua5.4 send_wsarecv.lua WSASendTo [ops]       UDP: ops (64) WSASendTo posted
--                                                 with routines, each reposted
--                                                 from its routine
--   lua5.4 send_wsarecv.lua port [ops [batch]]    UDP: the socket associated with a
--                                                 completion port, ops (64)
--                                                 WSASendTo posted without routine,
--                                                 each ov.rearm, a loop of
--                                                 port:GetQueuedCompletionStatusEx
--                                                 (batch 64, columns form)
--   lua5.4 send_wsarecv.lua port-repost [ops [batch]]  the same, each entry
--                                                 reposted with sock:WSASendTo
--   WR_MODE=tcpsend: the same with WSASend, ops (4) x 64 KiB outstanding
--                    (variants WSASend, port, port-repost)
--
-- Exactly WR_N datagrams (WR_BYTES / 64 KiB sends on TCP) are posted, every
-- one with the same overlapped object and buffer it had; nothing is
-- allocated per send by this script.  Routines run in
-- wsarecv.SleepEx(1000, true).  The port variants need
-- wsarecv.CreateIoCompletionPort (else "SKIP ...").  The clock is
-- LuaSocket's socket.gettime(), read once at each end.
local C = require "sendcommon"
local wsarecv = require "wsarecv"
local gettime = require "socket".gettime

local variant = arg[1] or "WSASendTo"
local tcp = C.tcp
local ops = tonumber(arg[2]) or (tcp and 4 or 64)
local batch = tonumber(arg[3]) or 64
local onport = variant == "port" or variant == "port-repost"
local rearm = variant == "port"
if onport and not wsarecv.CreateIoCompletionPort then
  C.skip("not available: this wsarecv has no CreateIoCompletionPort")
end
if not wsarecv.socket("inet", "dgram").WSASendTo then
  C.skip("not available: this wsarecv has no WSASendTo")
end
if C.mode == "probe" then C.available() end

local data = tcp and C.chunk() or C.payload(C.size)
local len = #data
local n = tcp and C.bytes // len or C.n
local dest, dport, heapmark = C.dest, C.port, C.heapmark
local sent, posted, err, failures, done = 0, 0, 0, 0, false
local t0, c0, t1, c1, heap0, heap1

local function stop()
  done = true
  t1, c1 = gettime(), os.clock()
  heap1 = collectgarbage("count")
end

local function fail(what, name, code)
  io.stderr:write("send_wsarecv: ", what, ": ", tostring(name), " ", tostring(code), "\n")
  failures = failures + 1
  err = err + 1
  stop()
end

local sock = assert(wsarecv.wrap(C.fd))

-- one routine per operation, closing over its buffer
local function make(buf)
  local routine
  if tcp then
    routine = function(e, nb, ov)
      if e then if not done then fail("completion", e) end return end
      if nb ~= len then err = err + 1 end
      sent = sent + 1
      if sent == heapmark then heap0 = collectgarbage("count") end
      if posted < n then
        posted = posted + 1
        local ok, name, code = sock:WSASend(buf, 0, ov, routine)
        if not ok and name ~= "WSA_IO_PENDING" then fail("WSASend", name, code) end
      elseif sent >= n then
        stop()
      end
    end
  else
    routine = function(e, nb, ov)
      if e then if not done then fail("completion", e) end return end
      if nb ~= len then err = err + 1 end
      sent = sent + 1
      if sent == heapmark then heap0 = collectgarbage("count") end
      if posted < n then
        posted = posted + 1
        local ok, name, code = sock:WSASendTo(buf, 0, dest, dport, ov, routine)
        if not ok and name ~= "WSA_IO_PENDING" then fail("WSASendTo", name, code) end
      elseif sent >= n then
        stop()
      end
    end
  end
  return routine
end

---------------------------------------------------------------- the port loop
-- The columns form: ovc[i], nbc[i] are entry i.  "port": every object is
-- ov.rearm, so the next wait posts again what this one took; when that
-- would post more than n, the excess objects of this batch are let go
-- (ov.rearm = false takes one off the rearm list).  "port-repost": each
-- entry is posted again with sock:WSASendTo / sock:WSASend.
local port, cols, ovc, nbc, bufof

local function port_wait(ms)
  local k, nfail = port:GetQueuedCompletionStatusEx(cols, ms)
  if not k then
    if nfail ~= "WAIT_TIMEOUT" then fail("GetQueuedCompletionStatusEx", nfail) end
    return
  end
  if nfail > 0 then
    for i = 1, k do
      local why = ovc[i].error
      if why then fail("completion", why) return end
    end
  end
  local e = err
  for i = 1, k do if nbc[i] ~= len then e = e + 1 end end
  err = e
  local before = sent
  sent = sent + k
  if before < heapmark and sent >= heapmark then heap0 = collectgarbage("count") end
  if rearm then
    local room = n - posted
    if k > room then
      for i = room + 1, k do ovc[i].rearm = false end
      posted = n
    else
      posted = posted + k
    end
  else
    for i = 1, k do
      if posted >= n then break end
      posted = posted + 1
      local ov = ovc[i]
      local ok, name, code
      if tcp then ok, name, code = sock:WSASend(bufof[ov], 0, ov)
      else ok, name, code = sock:WSASendTo(bufof[ov], 0, dest, dport, ov) end
      if not ok and name ~= "WSA_IO_PENDING" then fail("repost", name, code) return end
    end
  end
  if sent >= n then stop() end
end

---------------------------------------------------------------- set up
if onport then
  port = assert(wsarecv.CreateIoCompletionPort())
  assert(wsarecv.CreateIoCompletionPort(sock, port, 1))
  ovc, nbc, bufof = {}, {}, {}
  for i = 1, batch do ovc[i], nbc[i] = false, 0 end
  cols = { ov = ovc, bytes = nbc }
end
local ovs, bufs, routines = {}, {}, {}
for i = 1, ops do
  ovs[i] = wsarecv.overlapped()
  bufs[i] = wsarecv.buffer(data)
  if onport then
    bufof[ovs[i]] = bufs[i]
    ovs[i].rearm = rearm
  else
    routines[i] = make(bufs[i])
  end
end

t0, c0 = gettime(), os.clock()
for i = 1, math.min(ops, n) do
  posted = posted + 1
  local ok, name, code
  if tcp then ok, name, code = sock:WSASend(bufs[i], 0, ovs[i], routines[i])
  else ok, name, code = sock:WSASendTo(bufs[i], 0, dest, dport, ovs[i], routines[i]) end
  if not ok and name ~= "WSA_IO_PENDING" then
    error(string.format("posting failed: %s %s", tostring(name), tostring(code)))
  end
end

-- wait (alertably: routines run here); bounded in time (50 s)
local deadline = t0 + 50
while not done do
  if port then port_wait(1000) else wsarecv.SleepEx(1000, true) end
  if gettime() > deadline then
    io.stderr:write("send_wsarecv: deadline reached\n")
    failures = failures + 1
    stop()
  end
end
sock:close()
if port then
  for _ = 1, ops + 1 do
    local k = port:GetQueuedCompletionStatusEx(cols, 10)
    if not k or k == 0 then break end
  end
  port:close()
else
  wsarecv.run()
end

if failures > 0 then io.stderr:write("send_wsarecv: ", failures, " failures\n") end
C.result{ sent = sent, bytes = sent * len, err = err, cpu = c1 - c0, wall = t1 - t0,
          heap0 = heap0, heap1 = heap1 }
os.exit(failures == 0 and 0 or 1)
