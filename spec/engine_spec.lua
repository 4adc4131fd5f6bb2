-- The Linux engines (io_uring and poll): which one runs and how it is
-- chosen (WSARECV_ENGINE, wsarecv.engine), and what io_uring changes:
-- the kernel fills posted buffers while Lua computes, with no wsarecv
-- call (ov.pending reads the completion ring), and a burst overflowing
-- the socket's queue finds them posted.  make test runs this file once per
-- engine (scripts/each-engine.sh); the burst runs a child per engine.
-- All #linux: the engines are Linux's (Windows has one, "iocp").
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local T = H.tracker()
local track = T.track
local assert_pending, assert_exit = H.assert_pending, H.assert_exit
local run_child = H.run_child

after_each(function()
  T.cleanup(function() H.drain(50, true) end)
end)

-- What `require "wsarecv"` gives a child whose environment is changed by
-- `env` (run_child's): the engine's name, or the error it raised.
local function child_engine(env)
  local out, how, rc = run_child([[
local ok, w = pcall(require, "wsarecv")
if ok then print("engine=" .. w.engine()) else print("raised=" .. w) end
]], 20, env)
  assert_exit(out, how, rc, 0)
  return out:match("engine=(%S+)"), out:match("raised=([^\n]*)"), out
end

-- Whether io_uring may be absent here: the kernel refuses it and
-- REQUIRE_ENGINES (scripts/each-engine.sh; .ci/run requires both) does
-- not name it.  Then the io_uring halves report themselves pending.
local function uring_refused()
  local _, raised = child_engine("WSARECV_ENGINE=io_uring")
  if not (raised and raised:find("refuses io_uring", 1, true)) then
    return false
  end
  for e in (os.getenv("REQUIRE_ENGINES") or ""):gmatch("%S+") do
    if e == "io_uring" then return false end
  end
  return true
end

-- Source of two helpers, loaded here and prepended to the burst's child:
-- start_sender(port, count, size, gap) starts a python3 sender
-- (scripts/deps.sh installs python3) sending to 127.0.0.1:port `count`
-- datagrams of `size` bytes (the first 4 a big-endian sequence number,
-- from 1), `gap` seconds apart (slept: at least that), bounded by
-- timeout; it returns the pipe and the file the sender writes "sent N" to
-- when done.  compute_until_sent(cpu, done) computes in Lua (no wsarecv
-- call) for at least `cpu` seconds of CPU time and on until `done` says the
-- sender finished, plus 20 ms, at most 10 s; it returns what `done` said.
local HELPERS = [==[
local SENDER = [[
import socket, struct, sys, time
port, count, size, gap, done = (int(sys.argv[1]), int(sys.argv[2]),
    int(sys.argv[3]), float(sys.argv[4]), sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
pad = b"x" * (size - 4)
for i in range(1, count + 1):
    s.sendto(struct.pack(">I", i) + pad, ("127.0.0.1", port))
    time.sleep(gap)
with open(done, "w") as f:
    f.write("sent %d\n" % count)
]]

local function shq(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function start_sender(port, count, size, gap)
  local done = os.tmpname()
  os.remove(done)
  -- (env -u LD_PRELOAD: make asan-test's preload is not python's)
  local p = io.popen(("env -u LD_PRELOAD timeout 20 python3 -c %s %d %d %d "
    .. "%s %s 2>&1"):format(shq(SENDER), port, count, size, gap, shq(done)))
  return p, done
end

local function compute_until_sent(cpu, done)
  local t0, x, finished = os.clock(), 0, nil
  while os.clock() - t0 < 10 do
    for i = 1, 20000 do x = x + i % 7 end
    if os.clock() - t0 >= cpu then
      if not finished then
        local f = io.open(done)
        local said = f and f:read("l")
        if f then f:close() end
        if said then finished = { os.clock(), said } end
      elseif os.clock() - finished[1] >= 0.02 then
        break
      end
    end
  end
  os.remove(done)
  return finished and finished[2], x
end

return start_sender, compute_until_sent
]==]
local start_sender, compute_until_sent = assert(load(HELPERS, "=helpers"))()

---------------------------------------------------------------------------
-- choosing the engine
---------------------------------------------------------------------------

describe("#linux the engine (Linux has two: io_uring and poll)", function()
  it("wsarecv.engine() names the engine this state runs on: "
    .. "WSARECV_ENGINE's when set", function()
      local e = wsarecv.engine()
      assert.is_true(e == "io_uring" or e == "poll", e)
      local want = os.getenv("WSARECV_ENGINE")
      if want and want ~= "" then assert.equal(want, e) end
    end)

  it("WSARECV_ENGINE chooses it in each process; unset, io_uring where the "
    .. "kernel allows it", function()
      assert.equal("poll", (child_engine("WSARECV_ENGINE=poll")))
      local unset = child_engine("-u WSARECV_ENGINE")
      if uring_refused() then
        assert.equal("poll", unset)
        pending("this kernel refuses io_uring (REQUIRE_ENGINES does not "
          .. "name it): its half is not shown here")
      end
      local e, raised, out = child_engine("WSARECV_ENGINE=io_uring")
      assert.equal("io_uring", e, out)
      assert.is_nil(raised)
      assert.equal("io_uring", unset)
    end)

  it("an unknown WSARECV_ENGINE raises at require, naming the value",
    function()
      for _, v in ipairs { "epoll", "IO_URING", "iocp" } do
        local e, raised, out = child_engine("WSARECV_ENGINE=" .. v)
        assert.is_nil(e, out)
        assert.is_truthy(raised, out)
        assert.is_truthy(raised:find("WSARECV_ENGINE=" .. v, 1, true), out)
      end
    end)

  it("wsarecv.engine(name) switches while no socket or port is open; with "
    .. "one open it fails with WSAEINVAL", function()
      local refused = uring_refused()
      local out, how, rc = run_child([[
local w = require "wsarecv"
local function show(...) print(select("#", ...), ...) end
show(w.engine("poll"))
show(w.engine("io_uring"))
show(w.engine("poll"))
show(w.engine())
local s = w.socket("inet", "dgram")
show(w.engine("io_uring"))
show(w.engine("poll"))
s:close()
local ok = pcall(w.engine, "epoll")
show(ok)
]], 20, "WSARECV_ENGINE=poll")
      assert_exit(out, how, rc, 0)
      local lines = {}
      for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
      assert.equal("1\tpoll", lines[1], out)
      if refused then
        assert.equal("3\tnil\tWSAEOPNOTSUPP\t10045", lines[2], out)
      else
        assert.equal("1\tio_uring", lines[2], out)
      end
      assert.equal("1\tpoll", lines[3], out)
      assert.equal("1\tpoll", lines[4], out)
      -- a socket is open: no switch; asking for the engine in use is fine
      assert.equal("3\tnil\tWSAEINVAL\t10022", lines[5], out)
      assert.equal("1\tpoll", lines[6], out)
      assert.equal("1\tfalse", lines[7], out)

      -- the same from io_uring, with a port open
      if refused then
        pending("this kernel refuses io_uring: the switch from it is not "
          .. "shown here")
      end
      out, how, rc = run_child([[
local w = require "wsarecv"
local function show(...) print(select("#", ...), ...) end
show(w.engine())
local cp = w.CreateIoCompletionPort()
show(w.engine("poll"))
show(w.engine())
]], 20, "WSARECV_ENGINE=io_uring")
      assert_exit(out, how, rc, 0)
      assert.equal("1\tio_uring\n3\tnil\tWSAEINVAL\t10022\n1\tio_uring\n",
        out)
    end)
end)

---------------------------------------------------------------------------
-- filled while Lua computes
---------------------------------------------------------------------------

describe("#linux posted receives while Lua computes", function()
  it("64 WSARecv posted, 200 ms of Lua with no wsarecv call while 50 "
    .. "datagrams arrive: 50 objects done on io_uring (in posting order), "
    .. "0 on poll (data moves only in a wsarecv wait there)", function()
      local engine = wsarecv.engine()
      local rx, port = H.bound(track(wsarecv.socket("inet", "dgram")),
        "127.0.0.1")
      local bufs, ovs = {}, {}
      for i = 1, 64 do
        bufs[i], ovs[i] = wsarecv.buffer(64), wsarecv.overlapped()
        assert_pending(rx:WSARecv(bufs[i], 0, ovs[i]))
      end
      local p, done = start_sender(port, 50, 16, 0.001)
      local said = compute_until_sent(0.2, done)
      -- no wsarecv call but reading ov.pending
      local finished = 0
      for i = 1, 64 do
        if not ovs[i].pending then finished = finished + 1 end
      end
      local sender_out = p:read("a")
      p:close()
      assert.equal("sent 50", said, sender_out)
      print(("\n[engine] %s: %d of 64 posted receives done after 200 ms of "
        .. "Lua while 50 datagrams arrived"):format(engine, finished))
      if engine == "io_uring" then
        assert.equal(50, finished)
      else
        assert.equal(0, finished)
        -- one wait moves them
        assert.is_true(H.progress_until(function()
          return not ovs[50].pending
        end))
      end
      -- the k-th posted buffer has the k-th datagram, whole
      for i = 1, 50 do
        assert.is_false(ovs[i].pending)
        assert.is_nil(ovs[i].error)
        assert.equal(16, ovs[i].bytes)
        assert.equal(i, string.unpack(">I4", bufs[i]:sub(1, 4)))
      end
      for i = 51, 64 do assert.is_true(ovs[i].pending) end
    end)
end)

---------------------------------------------------------------------------
-- a burst overflowing the socket's queue
---------------------------------------------------------------------------

-- The receiver, run once per engine: SO_RCVBUF asked 32 KiB (the kernel
-- doubles it), SO_RXQ_OVFL on, 1,024 WSARecv of 1 KiB posted; a sender
-- (python3, started before Lua computes) sends 2x SO_RCVBUF bytes in
-- 1 KiB datagrams, at least 200 us apart (about 30 ms in all; the poll
-- engine's queue holds about 28 of them whatever the pace, and a faster
-- burst makes io_uring's count depend on how busy the machine's other
-- core is), while Lua computes, and is done before Lua stops.  Then waits
-- let the rest of the queue in, the receives left are cancelled, and a last
-- datagram carries SO_RXQ_OVFL's drop count.  Prints
-- "engine=E rcvbuf=N sent=N received=N drops=N early=N" (early: done
-- before any wsarecv call), after checking that the received datagrams
-- are in order, each whole.
local BURST = [[
local wsarecv = require "wsarecv"
local rx = wsarecv.socket("inet", "dgram")
assert(rx:bind("127.0.0.1", 0) == 0)
local _, port = rx:getsockname()
assert(rx:setsockopt("SO_RCVBUF", 32768) == 0)
local rcvbuf = rx:getsockopt("SO_RCVBUF")
assert(rx:setsockopt("SO_RXQ_OVFL", true) == 0)
assert(rx:setsockopt("SO_RCVTIMEO", 3000) == 0)
local SIZE = 1024
local count = 2 * rcvbuf // SIZE
local bufs, ovs = {}, {}
for i = 1, 1024 do
  bufs[i], ovs[i] = wsarecv.buffer(SIZE), wsarecv.overlapped()
  local r, e = rx:WSARecv(bufs[i], 0, ovs[i])
  assert(r == nil and e == "WSA_IO_PENDING", e)
end
local p, done = start_sender(port, count, SIZE, 0.0002)
local said = compute_until_sent(0.2, done)
local early = 0
for i = 1, 1024 do if not ovs[i].pending then early = early + 1 end end
local sender_out = p:read("a")
p:close()
assert(said == "sent " .. count, sender_out)
-- let what is queued in; stop once 5 waits in a row moved nothing
local received, idle = 0, 0
for _ = 1, 300 do
  wsarecv.SleepEx(10, false)
  local n = 0
  for i = 1, 1024 do if not ovs[i].pending then n = n + 1 end end
  if n == received then idle = idle + 1 else idle = 0 end
  received = n
  if idle >= 5 then break end
end
assert(rx:CancelIoEx() == 0)
for _ = 1, 300 do
  if rx:pending() == 0 then break end
  wsarecv.SleepEx(10, false)
end
assert(rx:pending() == 0)
local last = 0
for i = 1, received do
  assert(ovs[i].error == nil and ovs[i].bytes == SIZE, ovs[i].error)
  local seq = string.unpack(">I4", bufs[i]:sub(1, 4))
  assert(seq > last, "out of order")
  last = seq
end
for i = received + 1, 1024 do
  assert(ovs[i].error == "WSA_OPERATION_ABORTED", ovs[i].error)
end
local tx = wsarecv.socket("inet", "dgram")
assert(tx:sendto("last", "127.0.0.1", port) == 4)
local m = wsarecv.msg { buffers = wsarecv.buffer(SIZE), control = 64 }
local r, n = rx:WSARecvMsg(m)
assert(r == 0 and n == 4, n)
local drops = 0
for _, c in ipairs(m:control()) do
  if c.type == "SO_RXQ_OVFL" then drops = c.drops end
end
print(("engine=%s rcvbuf=%d sent=%d received=%d drops=%d early=%d")
  :format(wsarecv.engine(), rcvbuf, count, received, drops, early))
tx:close()
rx:close()
]]

describe("#linux a burst while Lua computes", function()
  it("2x SO_RCVBUF arriving with 1,024 receives posted: SO_RXQ_OVFL counts "
    .. "fewer drops on io_uring than on poll (both printed)", function()
      local refused = uring_refused()
      local code = "local start_sender, compute_until_sent = "
        .. "(function()\n" .. HELPERS .. "\nend)()\n" .. BURST
      local got = {}
      for _, engine in ipairs { "poll", "io_uring" } do
        if engine == "io_uring" and refused then
          pending("this kernel refuses io_uring: poll dropped "
            .. got.poll.drops .. "; io_uring's count is not shown here")
        end
        local out, how, rc = run_child(code, 60, "WSARECV_ENGINE=" .. engine)
        assert_exit(out, how, rc, 0)
        local line = out:match("engine=[^\n]*")
        assert.is_truthy(line, out)
        print("\n[burst] " .. line)
        local t = {}
        for k, v in line:gmatch("(%w+)=(%S+)") do t[k] = tonumber(v) or v end
        assert.equal(engine, t.engine, out)
        -- every datagram of the burst was received or dropped
        assert.equal(t.sent, t.received + t.drops, out)
        got[engine] = t
      end
      print(("[burst] SO_RXQ_OVFL drops: io_uring %d, poll %d (of %d "
        .. "datagrams, 2x SO_RCVBUF)"):format(got.io_uring.drops,
        got.poll.drops, got.poll.sent))
      assert.is_true(got.poll.drops > 0, "the burst overflowed no queue")
      assert.is_true(got.io_uring.drops < got.poll.drops)
    end)
end)
