-- cqueues (Debian's lua-cqueues): cqueues.poll(wsarecv) inside a
-- controller, the module table as the pollable object.  Two cqueues
-- tasks: one drives wsarecv, one sends bursts; every datagram delivered,
-- the process idle between bursts, the added latency printed.
local wsarecv = require "wsarecv"
local cqueues = require "cqueues"
local async = require "wsarecv.async"
local H = require "spec.support.helpers"

local T = H.tracker()

after_each(function()
  T.cleanup(function() H.drain(50, true) end)
end)

local function udp() return H.udp("inet", "127.0.0.1", { socket = T.socket }) end

-- the recipe: a cqueues task that is wsarecv's alertable wait
local function driver(cq, done)
  cq:wrap(function()
    while not done() do
      cqueues.poll(wsarecv)
      wsarecv.run("nowait")
    end
  end)
end

local function median(t)
  table.sort(t)
  return t[(#t + 1) // 2] or 0
end

describe("#linux cqueues.poll(wsarecv)", function()
  it("delivers every datagram between two cqueues tasks; idle between bursts", function()
    local ch = udp()
    local log, lat, sent_at = {}, {}, 0
    for _ = 1, 4 do
      local buf = wsarecv.buffer(64)
      local function routine(err, n, ov)
        if err then return end
        log[#log + 1] = buf:sub(1, n)
        if #log % 20 == 1 then lat[#lat + 1] = wsarecv.now() - sent_at end
        ch.rx:WSARecv(buf, 0, ov, routine)
      end
      ch.rx:WSARecv(buf, 0, nil, routine)
    end
    local cq = cqueues.new()
    local finished = false
    local idle_cpu, idle_wall
    driver(cq, function() return finished end)
    cq:wrap(function()
      for b = 1, 10 do
        cqueues.sleep(0.05)
        for k = 1, 20 do ch.send(("%d.%d"):format(b, k)) end
        sent_at = wsarecv.now()
      end
      cqueues.sleep(0.05)
      local c0, t0 = os.clock(), wsarecv.now()
      cqueues.sleep(0.5)
      idle_cpu, idle_wall = os.clock() - c0, wsarecv.now() - t0
      finished = true
      wsarecv.wake()                  -- the driver sleeps in poll: wake it
    end)
    local ok, err = cq:loop(20)
    assert.is_true(ok, tostring(err))
    assert.are.equal(200, #log)
    for j = 1, 200 do
      assert.are.equal(("%d.%d"):format((j - 1) // 20 + 1, (j - 1) % 20 + 1),
        log[j])
    end
    print(("[measure] cqueues: idle CPU %.2f ms over %.0f ms; latency, "
      .. "sender's send returns -> routine, first datagram of a burst: "
      .. "median %.0f us, max %.0f us (%d bursts)"):format(idle_cpu * 1000,
      idle_wall * 1000, median(lat) * 1e6, lat[#lat] * 1e6, #lat))
    assert.is_true(idle_cpu < 0.05, "idle CPU " .. idle_cpu)
  end)

  it("a routine's error comes out of the controller's loop", function()
    local ch = udp()
    ch.rx:WSARecv(wsarecv.buffer(8), 0, nil, function() error("in a routine") end)
    ch.send("a")
    local cq = cqueues.new()
    driver(cq, function() return false end)
    local ok, err = cq:loop(5)
    assert.is_false(ok)
    assert.matches("in a routine", tostring(err))
  end)

  it("runs wsarecv.async tasks, their timers included", function()
    local ch = udp()
    local got, woke = {}, nil
    async.spawn(function()
      local buf = wsarecv.buffer(16)
      for _ = 1, 3 do
        local n = assert(async.recv(ch.rx, buf))
        got[#got + 1] = buf:sub(1, n)
      end
    end)
    async.spawn(function()
      local t0 = wsarecv.now()
      async.sleep(30)
      woke = wsarecv.now() - t0
      for i = 1, 3 do ch.send("c" .. i) end
    end)
    local cq = cqueues.new()
    local deadline = wsarecv.now() + 5
    driver(cq, function()
      return async.count() == 0 or wsarecv.now() > deadline
    end)
    local ok, err = cq:loop(10)
    assert.is_true(ok, tostring(err))
    assert.are.same({ "c1", "c2", "c3" }, got)
    assert.is_true(woke >= 0.029, "woke after " .. tostring(woke))
  end)

  -- issue 14 item 3: a port's datagram socket holds a receive posted
  -- outside a wait for the next wait's flush; the port's descriptor must
  -- say so (it slept for ever: no kernel event announces data already
  -- queued before the post)
  it("cqueues.poll(port) wakes for a receive posted outside a wait, data "
    .. "already there", function()
    local port = assert(wsarecv.CreateIoCompletionPort())
    local ch = udp()
    assert.are.equal(port, wsarecv.CreateIoCompletionPort(ch.rx, port, 7))
    assert(port:pollfd())
    ch.send("hello")
    H.progress_until(function() return false end, 3)   -- it is queued
    local ov = wsarecv.overlapped()
    local buf = wsarecv.buffer(16)
    local r = H.pack(ch.rx:WSARecv(buf, 0, ov))
    if wsarecv.engine() == "io_uring" then
      -- done at once (the data is there), its entry on the port
      assert.are.same({ 0, 5, 0, n = 3 }, r)
    else
      H.assert_pending(table.unpack(r, 1, r.n))
    end
    local timeout = port:timeout()          -- 0: a wait has work now
    local cq = cqueues.new()
    local polled, got, entries = nil, nil, { {} }
    cq:wrap(function()
      polled = cqueues.poll(port, 3)          -- bounded: nil when it slept
      got = port:GetQueuedCompletionStatusEx(entries, 0)
    end)
    local ok, err = cq:loop(10)
    port:close()
    assert.is_true(ok, tostring(err))
    assert.are.equal(port, polled, "cqueues.poll(port) timed out")
    assert.are.equal(0, timeout)
    assert.are.equal(1, got)
    assert.are.same({ 7, 5, "hello" }, { entries[1].key, entries[1].bytes,
      buf:sub(1, 5) })
  end)
end)
