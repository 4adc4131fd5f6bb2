-- bench/lua/recv_wsarecv.lua -- the receivers under test.
--
--   lua5.4 recv_wsarecv.lua WSARecv      [ops]   UDP: ops (64) WSARecv posted
--   lua5.4 recv_wsarecv.lua WSARecvMsg   [ops]   UDP: ops (64) WSARecvMsg posted,
--                                                IP_PKTINFO on, control = 64
--   lua5.4 recv_wsarecv.lua WSARecv      [ops]   TCP (WR_MODE=tcp): ops (4)
--                                                64 KiB WSARecv outstanding
--   lua5.4 recv_wsarecv.lua port         [ops]   a completion port: batches of
--                                                64 entries, WSARecv reposts
--   lua5.4 recv_wsarecv.lua port-rearm   [ops]   ... ov.rearm: the port reposts
--   lua5.4 recv_wsarecv.lua port-msg     [ops]   ... WSARecvMsg (UDP), reposted
--   lua5.4 recv_wsarecv.lua port-cols    [ops]   port, entries in columns
--   lua5.4 recv_wsarecv.lua port-cols-rearm [ops] ... and ov.rearm
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

-- The completion-port receivers: the socket associated with a port, ops
-- operations posted without routines, a loop that takes a batch of 64
-- entries per GetQueuedCompletionStatusEx into tables made once, checks
-- each entry's length and first byte, and posts its object again:
--   port        with sock:WSARecv(buf, 0, ov), one call per datagram
--   port-rearm  with ov.rearm = true: the port's next wait reposts it
--   port-msg    WSARecvMsg (IP_PKTINFO on, control = 64), reposted
-- (UDP, the drain and live modes; TCP with WR_MODE=tcp.)
local function port_receiver(kind)
  local rearm, usemsg = kind:match("rearm") ~= nil, kind == "port-msg" and not tcp
  local columns = kind:match("cols") ~= nil
  local port = assert(wsarecv.CreateIoCompletionPort(sock, nil, 1))
  local ovs, bufof, msgof = {}, {}, {}
  for i = 1, ops do
    local ov, buf = wsarecv.overlapped(), wsarecv.buffer(tcp and 65536 or 2048)
    ovs[i], bufof[ov] = ov, buf
    if usemsg then msgof[ov] = wsarecv.msg{ buffers = buf, control = 64 } end
    ov.rearm = rearm
  end
  if usemsg then assert(sock:setsockopt("IP_PKTINFO", true)) end
  local entries = {}
  for i = 1, 64 do
    entries[i] = { bytes = 0, key = 0, ov = false, error = false, flags = 0 }
  end
  local cols = { bytes = {}, key = {}, ov = {}, error = {}, flags = {} }
  for i = 1, 64 do
    cols.bytes[i], cols.key[i], cols.ov[i], cols.flags[i] = 0, 0, false, 0
  end
  local lens, covs, cerrs = cols.bytes, cols.ov, cols.error
  local function check(ok, name, code)
    if not ok and name ~= "WSA_IO_PENDING" then
      error(string.format("posting failed: %s %s", tostring(name), tostring(code)))
    end
  end
  local post
  if usemsg then
    post = function(ov) check(sock:WSARecvMsg(msgof[ov], ov)) end
  else
    post = function(ov) check(sock:WSARecv(bufof[ov], 0, ov)) end
  end
  -- an entry that is not the next datagram: a failure, the marker, a lost
  -- or damaged one.  Returns whether to take it (and repost its object).
  local function odd(e, b, total)
    local name = e.error
    if name then
      if name ~= "WSA_OPERATION_ABORTED" then failures = failures + 1; err = err + 1 end
      return false
    end
    if tcp then
      if e.bytes == 0 then stop() return false end        -- peer closed
      if b ~= total % 251 then err = err + 1 end
      return true
    end
    if b == MARKER and not drain then stop() return false end
    if drain or e.bytes ~= size or b > 250 then err = err + 1 end
    return true                      -- live traffic may lose datagrams
  end
  if not drain then C.ready() end
  t0, c0 = gettime(), os.clock()
  for i = 1, ops do post(ovs[i]) end
  -- the receiving loop keeps what it uses in registers: per datagram it
  -- reads the entry's length, error and object, the first byte (in order),
  -- and reposts
  -- (TCP: every entry goes through odd)
  local deadline, size, seq, recvd, total = t0 + 60, tcp and -1 or size, 0, 0, 0
  local sock, PENDING = sock, "WSA_IO_PENDING"
  while not done do
    local got = port:GetQueuedCompletionStatusEx(columns and cols or entries, 1000)
    for i = 1, got or 0 do
      local e, ov, len, bad
      if columns then
        ov, len, bad = covs[i], lens[i], cerrs[i]
      else
        e = entries[i]
        ov, len, bad = e.ov, e.bytes, e.error
      end
      local buf = bufof[ov]
      local b = buf:byte(1)
      if len ~= size or b ~= seq or bad then
        if columns then e = { bytes = len, error = bad } end
        if not odd(e, b, total) then goto next end
        seq = b
      end
      seq = seq < 250 and seq + 1 or 0
      recvd, total = recvd + 1, total + len
      if not rearm then
        local ok, name
        if usemsg then ok, name = sock:WSARecvMsg(msgof[ov], ov)
        else ok, name = sock:WSARecv(buf, 0, ov) end
        if not ok and name ~= PENDING then check(ok, name) end
      end
      ::next::
    end
    recv, bytes = recvd, total
    if drain then
      if not heap0 and recvd >= heapmark then heap0 = collectgarbage("count") end
      if recvd >= n then stop() end
    end
    if gettime() > deadline then
      io.stderr:write("recv_wsarecv: deadline reached\n")
      stop()
    end
  end
  sock:close()
  port:close()
end

-- The routine receivers (WSARecv, WSARecvMsg): each operation reposted
-- from its completion routine, in alertable waits.
local function routine_receiver()
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
end

if variant:match("^port") then port_receiver(variant) else routine_receiver() end

if failures > 0 then io.stderr:write("recv_wsarecv: ", failures, " failed receives\n") end
C.result{ recv = recv, bytes = bytes, err = err, cpu = c1 - c0, wall = t1 - t0,
          heap0 = heap0, heap1 = heap1 }
