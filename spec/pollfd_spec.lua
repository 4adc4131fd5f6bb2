-- One descriptor for any loop: wsarecv.pollfd(), events(), timeout(),
-- ready(), wake(), now().  Readability is checked with LuaSocket's
-- select (any poller would do).  The rule under test: after
-- run("nowait") either nothing is ready or pollfd() is readable again.
local wsarecv = require "wsarecv"
local socket = require "socket"
local H = require "spec.support.helpers"

local T = H.tracker()

after_each(function()
  T.cleanup(function() H.drain(50, true) end)
  wsarecv.run("nowait")
end)

-- Is fd readable within t seconds (default: now)?
local function readable(fd, t)
  local r = socket.select({ { getfd = function() return fd end } }, nil,
    t or 0)
  return #r > 0
end

local function pollable() return readable(wsarecv.pollfd()) end

-- run("nowait") until nothing is readable (at most n rounds)
local function settle(n)
  for _ = 1, n or 20 do
    if not pollable() then return true end
    wsarecv.run("nowait")
  end
  return not pollable()
end

local function udp() return H.udp("inet", "127.0.0.1", { socket = T.socket }) end

-- A routine that counts and reposts on the same buffer.
local function reposting(rx, log)
  local buf = wsarecv.buffer(64)
  local function routine(err, n, ov)
    if err then return end
    log[#log + 1] = buf:sub(1, n)
    rx:WSARecv(buf, 0, ov, routine)
  end
  return buf, routine
end

describe("#linux pollfd()", function()
  it("is one descriptor; events() is 'r'; each ignores its arguments", function()
    local fd = wsarecv.pollfd()
    assert.is_true(math.type(fd) == "integer" and fd >= 0)
    assert.are.equal(fd, wsarecv.pollfd(wsarecv))        -- as a method
    assert.are.equal("r", wsarecv.events())
    assert.are.equal("r", wsarecv.events(wsarecv))
  end)

  it("is quiet when wsarecv has nothing to do, and timeout() is nil", function()
    wsarecv.pollfd()
    assert.is_true(settle())
    assert.is_nil(wsarecv.timeout())
    assert.are.equal(0, wsarecv.ready())
  end)

  it("is quiet with receives pending and no data: an integrator may sleep", function()
    local ch = udp()
    local log = {}
    local buf, routine = reposting(ch.rx, log)
    assert.are.same(H.PENDING, H.pack(ch.rx:WSARecv(buf, 0, nil, routine)))
    if wsarecv.engine() == "poll" then
      -- posted from outside a wait: libuv applies the watch only in a run
      assert.is_true(pollable())
      assert.are.equal(0, wsarecv.timeout())
    else
      -- io_uring: the kernel holds the receive already; nothing to apply
      assert.is_false(pollable())
    end
    assert.is_true(settle())
    assert.is_nil(wsarecv.timeout())
    ch.send("x")
    assert.is_true(readable(wsarecv.pollfd(), 3))
    wsarecv.run("nowait")
    assert.are.same({ "x" }, log)
    assert.is_true(settle())
  end)

  it("stays readable while completions wait, though the socket is not", function()
    -- the 0.1 workaround polled sock:fileno(): the datagram is already in
    -- the posted buffer, the socket is no longer readable, nobody calls back
    local ch = udp()
    local log = {}
    local buf, routine = reposting(ch.rx, log)
    ch.rx:WSARecv(buf, 0, nil, routine)
    settle()
    for i = 1, 3 do ch.send("d" .. i) end
    assert.is_true(readable(wsarecv.pollfd(), 3))
    local stranded_before = false
    for _ = 1, 20 do
      wsarecv.run("nowait")
      -- the rule, after every run
      assert.is_true(wsarecv.ready() == 0 or pollable(),
        "completions ready but pollfd() not readable")
      if wsarecv.ready() > 0 and not readable(ch.rx:fileno()) then
        stranded_before = true
      end
      if #log == 3 and not pollable() then break end
    end
    assert.are.same({ "d1", "d2", "d3" }, log)
    -- (io_uring: the kernel's completion ring holds the datagrams, and its
    -- eventfd keeps pollfd() readable; the routines run in the same run)
    assert.is_true(stranded_before or wsarecv.engine() == "io_uring",
      "the case fileno() polling misses did not occur")
    assert.is_true(settle())
  end)

  it("keeps the rule over bursts on several sockets", function()
    local chans, logs = {}, {}
    for i = 1, 3 do
      chans[i], logs[i] = udp(), {}
      for _ = 1, 2 do
        local buf, routine = reposting(chans[i].rx, logs[i])
        chans[i].rx:WSARecv(buf, 0, nil, routine)
      end
    end
    settle()
    for burst = 1, 5 do
      for i = 1, 3 do
        for k = 1, 7 do chans[i].send(("%d.%d"):format(burst, k)) end
      end
      local rounds = 0
      while readable(wsarecv.pollfd(), 0.5) and rounds < 200 do
        wsarecv.run("nowait")
        assert.is_true(wsarecv.ready() == 0 or pollable())
        rounds = rounds + 1
      end
    end
    for i = 1, 3 do
      assert.are.equal(35, #logs[i])
      for j = 1, 35 do
        local b, k = (j - 1) // 7 + 1, (j - 1) % 7 + 1
        assert.are.equal(("%d.%d"):format(b, k), logs[i][j])
      end
    end
  end)

  it("stays readable after a routine's error, until the rest is delivered", function()
    local ch = udp()
    local seen = 0
    local function routine(err)
      if err then return end
      seen = seen + 1
      if seen == 1 then error("boom") end
    end
    for _ = 1, 2 do ch.rx:WSARecv(wsarecv.buffer(8), 0, nil, routine) end
    ch.send("a")
    ch.send("b")
    assert.is_true(H.progress_until(function() return wsarecv.ready() == 2 end))
    local ok, err = pcall(wsarecv.run, "nowait")
    assert.is_false(ok)
    assert.matches("boom", tostring(err))
    assert.are.equal(1, wsarecv.ready())
    assert.is_true(pollable())
    wsarecv.run("nowait")
    assert.are.equal(2, seen)
    assert.is_true(settle())
  end)

  it("does not make wsarecv's own non-alertable waits spin", function()
    local ch = udp()
    ch.rx:WSARecv(wsarecv.buffer(8), 0, nil, function() end)
    ch.send("a")
    assert.is_true(H.progress_until(function() return wsarecv.ready() == 1 end))
    assert.is_true(pollable())
    local c0, t0 = os.clock(), wsarecv.now()
    wsarecv.SleepEx(300, false)              -- the routine waits; so do we
    local cpu, wall = os.clock() - c0, wsarecv.now() - t0
    print(("[measure] non-alertable SleepEx(300) with a completion ready: "
      .. "%.1f ms CPU over %.0f ms"):format(cpu * 1000, wall * 1000))
    assert.is_true(cpu < 0.1, "CPU " .. cpu)
    assert.are.equal(1, wsarecv.ready())
    wsarecv.run("nowait")
    assert.are.equal(0, wsarecv.ready())
  end)

  it("is readable after a close, until a run frees the handle", function()
    local ch = udp()
    ch.rx:WSARecv(wsarecv.buffer(8), 0, nil, function() end)
    settle()
    ch.rx:close()
    assert.is_true(pollable())
    assert.is_true(settle())
  end)
end)

-- issue 14 items 3 and 4: every post on a port's datagram socket is held
-- on the loop's flush list for the next wait (one recvmmsg for the
-- batch).  Posted outside a wait, with the datagram already queued, no
-- kernel event will announce it: the descriptors must, or an integrator
-- sleeps for ever next to the data.
describe("#linux pollfd() with receives held for a flush", function()
  local port
  after_each(function()
    if port then port:close() end
    port = nil
  end)

  -- a port's UDP socket with "hello" queued in the kernel, the
  -- descriptors quiet; then ov (noport: it is signalled, off the port)
  -- posted outside a wait
  local function held()
    port = assert(wsarecv.CreateIoCompletionPort())
    local ch = udp()
    assert.are.equal(port, wsarecv.CreateIoCompletionPort(ch.rx, port, 3))
    local pfd = assert(port:pollfd())
    ch.send("hello")
    wsarecv.run("nowait")                 -- the new descriptor's first run
    assert.is_true(settle())
    assert.is_false(readable(pfd))
    local ov = wsarecv.overlapped()
    ov.noport = true
    local buf = wsarecv.buffer(16)
    local r = H.pack(ch.rx:WSARecv(buf, 0, ov))
    if wsarecv.engine() == "io_uring" then
      assert.are.same({ 0, 5, 0, n = 3 }, r)      -- done at once: see below
    else
      H.assert_pending(table.unpack(r, 1, r.n))
    end
    return ov, buf, pfd
  end

  -- (io_uring holds nothing back: with "hello" there the post completes
  -- at once, as Windows does; no descriptor has anything left for a run)
  local uring = wsarecv.engine() == "io_uring"

  it("pollfd() is readable and timeout() 0 until a run serves it", function()
    local ov, buf = held()
    local r, t = pollable(), wsarecv.timeout()
    wsarecv.run("nowait")
    if uring then
      assert.are.same({ false, nil }, { r, t })
    else
      assert.are.same({ true, 0 }, { r, t })
    end
    assert.are.same({ 5, "hello" }, { ov.bytes, buf:sub(1, 5) })
    assert.is_true(settle())
  end)

  it("port:pollfd() is readable and port:timeout() 0 too", function()
    local ov, buf, pfd = held()
    local r, t = readable(pfd), port:timeout()
    wsarecv.run("nowait")
    if uring then
      assert.are.same({ false, nil }, { r, t })
    else
      assert.are.same({ true, 0 }, { r, t })
    end
    assert.are.same({ 5, "hello" }, { ov.bytes, buf:sub(1, 5) })
  end)
end)

describe("#linux ready()", function()
  it("counts completions waiting for an alertable wait", function()
    local ch = udp()
    local n = 0
    for _ = 1, 3 do
      ch.rx:WSARecv(wsarecv.buffer(8), 0, nil, function() n = n + 1 end)
    end
    for i = 1, 3 do ch.send("x" .. i) end
    assert.is_true(H.progress_until(function() return wsarecv.ready() == 3 end))
    assert.are.equal(0, n)
    wsarecv.SleepEx(0, true)
    assert.are.equal(3, n)
    assert.are.equal(0, wsarecv.ready())
  end)
end)

describe("#linux wake()", function()
  it("keeps pollfd() readable until the next alertable wait", function()
    wsarecv.pollfd()
    settle()
    wsarecv.wake()
    assert.is_true(pollable())
    assert.are.equal(0, wsarecv.timeout())
    wsarecv.SleepEx(0, false)                 -- not alertable: still awake
    assert.is_true(pollable())
    wsarecv.run("nowait")
    assert.is_false(pollable())
  end)
end)

describe("#linux now()", function()
  it("is a monotonic float clock in seconds", function()
    local a = wsarecv.now()
    assert.are.equal("float", math.type(a))
    wsarecv.SleepEx(50, false)
    local b = wsarecv.now()
    assert.is_true(b - a >= 0.045 and b - a < 5, "elapsed " .. (b - a))
    assert.is_true(wsarecv.now() >= b)
  end)
end)
