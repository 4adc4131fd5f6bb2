-- wsarecv.luv: wsarecv driven from luv's loop (Debian's lua-luv).  Every
-- datagram delivered, the process idle between bursts, the added latency
-- printed; routines never nested; errors out of adapter.run().
local wsarecv = require "wsarecv"
local uv = require "luv"
local adapter = require "wsarecv.luv"
local async = require "wsarecv.async"
local H = require "spec.support.helpers"

local T = H.tracker()

before_each(function() adapter.attach(uv) end)

after_each(function()
  adapter.detach()
  T.cleanup(function() H.drain(50, true) end)
  uv.run("nowait")                   -- let luv close the adapter's handles
end)

local function udp() return H.udp("inet", "127.0.0.1", { socket = T.socket }) end

-- a luv timer calling f(i) every `ms` for n ticks, then after(): returns
-- nothing; the loop ends when every handle is closed
local function every(ms, n, f, after)
  local t, i = uv.new_timer(), 0
  t:start(ms, ms, function()
    i = i + 1
    if i > n then
      t:close()
      if after then after() end
      return
    end
    f(i)
  end)
end

-- a luv timer that stops the loop after `s` seconds, whatever happens
local function guard(s)
  local t = uv.new_timer()
  t:start(math.floor(s * 1000), 0, function() t:close(); uv.stop() end)
  return t
end

-- An unreferenced luv timer (it keeps no loop alive) that stops the loop
-- after `s` seconds if it still runs: returns fired() -> whether it did.
-- Closed after the test (after_each's uv.run("nowait") frees it).
local function bound(s)
  local t, fired = uv.new_timer(), false
  t:unref()
  t:start(math.floor(s * 1000), 0, function() fired = true; uv.stop() end)
  T.track({ close = function() if not t:is_closing() then t:close() end end })
  return function() return fired end
end

local function median(t)
  table.sort(t)
  return t[(#t + 1) // 2] or 0
end

describe("#linux wsarecv.luv", function()
  it("delivers every datagram from luv callbacks; idle between bursts", function()
    local chans, logs, lat = {}, {}, {}
    local depth, maxdepth = 0, 0
    local sent_at = 0
    for i = 1, 2 do
      chans[i], logs[i] = udp(), {}
      for _ = 1, 4 do
        local buf = wsarecv.buffer(64)
        local function routine(err, n, ov)
          if err then return end
          depth = depth + 1
          maxdepth = math.max(maxdepth, depth)
          local log = logs[i]
          log[#log + 1] = buf:sub(1, n)
          if #log % 20 == 1 then lat[#lat + 1] = wsarecv.now() - sent_at end
          chans[i].rx:WSARecv(buf, 0, ov, routine)
          depth = depth - 1
        end
        chans[i].rx:WSARecv(buf, 0, nil, routine)
      end
    end
    local idle_cpu, idle_wall
    local g = guard(20)
    -- 10 bursts of 20 datagrams per socket, 50 ms apart; then 500 ms idle
    -- (latency: from the end of the sending callback -- the loop is then
    -- free -- to the first routine of the burst)
    every(50, 10, function(b)
      for k = 1, 20 do
        for i = 1, 2 do chans[i].send(("%d.%d"):format(b, k)) end
      end
      sent_at = wsarecv.now()
    end, function()
      local c0, t0 = os.clock(), wsarecv.now()
      local t = uv.new_timer()
      t:start(500, 0, function()
        idle_cpu, idle_wall = os.clock() - c0, wsarecv.now() - t0
        t:close()
        g:close()
        adapter.detach()             -- nothing left: uv.run returns
      end)
    end)
    adapter.run()
    for i = 1, 2 do
      assert.are.equal(200, #logs[i])
      for j = 1, 200 do
        assert.are.equal(("%d.%d"):format((j - 1) // 20 + 1, (j - 1) % 20 + 1),
          logs[i][j])
      end
    end
    assert.are.equal(1, maxdepth)
    print(("[measure] luv: idle CPU %.2f ms over %.0f ms; latency, sender's "
      .. "callback returns -> routine, first datagram of a burst: median %.0f us, max %.0f us "
      .. "(%d bursts)"):format(idle_cpu * 1000, idle_wall * 1000,
      median(lat) * 1e6, lat[#lat] * 1e6, #lat))
    assert.is_true(idle_cpu < 0.05, "idle CPU " .. idle_cpu)
  end)

  it("raises a routine's error from adapter.run(), then goes on", function()
    local ch = udp()
    local seen = {}
    local function routine(err, n, ov)
      if err then return end
      seen[#seen + 1] = n
      if #seen == 1 then error("routine failed") end
      if #seen < 3 then ch.rx:WSARecv(wsarecv.buffer(8), 0, ov, routine) end
    end
    ch.rx:WSARecv(wsarecv.buffer(8), 0, nil, routine)
    ch.rx:WSARecv(wsarecv.buffer(8), 0, nil, routine)
    ch.send("a")
    ch.send("bb")
    local g = guard(5)
    local ok, err = pcall(adapter.run)
    assert.is_false(ok)
    assert.matches("routine failed", tostring(err))
    assert.are.same({ 1 }, seen)
    -- the second completion was kept; the next run delivers it, then more
    every(10, 1, function() ch.send("ccc") end)
    local t = uv.new_timer()
    t:start(200, 0, function() t:close(); g:close(); uv.stop() end)
    adapter.run()
    assert.are.same({ 1, 2, 3 }, seen)
  end)

  it("hands the error over with adapter.error() after a bare uv.run()", function()
    local ch = udp()
    ch.rx:WSARecv(wsarecv.buffer(8), 0, nil, function() error("oops") end)
    ch.send("a")
    local g = guard(5)
    uv.run()                            -- stopped by the adapter
    g:close()
    assert.matches("oops", tostring(adapter.error()))
    assert.is_nil(adapter.error())
  end)

  it("a routine may detach the adapter: the run ends, nothing crashes", function()
    local ch = udp()
    local got
    ch.rx:WSARecv(wsarecv.buffer(8), 0, nil, function(err, n)
      got = { err, n }
      adapter.detach()
    end)
    ch.send("abc")
    local g = guard(5)
    uv.run()                            -- ends when the adapter's handles close
    if not g:is_closing() then g:close() end
    assert.are.same({ nil, 3 }, got)
    assert.is_nil(adapter.error())
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
      for i = 1, 3 do ch.send("t" .. i) end
    end)
    local g = guard(5)
    local t = uv.new_timer()
    t:start(10, 10, function()
      if async.count() == 0 then t:close(); g:close(); adapter.detach() end
    end)
    adapter.run()
    assert.are.same({ "t1", "t2", "t3" }, got)
    assert.is_true(woke >= 0.029, "woke after " .. tostring(woke))
  end)

  -- issue 14 item 4: a receive posted outside a wait on a port's datagram
  -- socket is held for the next wait's flush; the adapter slept on a
  -- descriptor that never said so (the data already queued)
  it("serves a receive held for a port's flush: adapter.run() returns", function()
    local port = assert(wsarecv.CreateIoCompletionPort())
    T.track(port)
    local ch = udp()
    assert.are.equal(port, wsarecv.CreateIoCompletionPort(ch.rx, port, 1))
    ch.send("hello")
    H.progress_until(function() return false end, 3)   -- queued in the kernel
    uv.run("nowait")
    local ov = wsarecv.overlapped()
    ov.noport = true                   -- signalled, not queued on the port
    local buf = wsarecv.buffer(16)
    local r = H.pack(ch.rx:WSARecv(buf, 0, ov))
    if wsarecv.engine() == "io_uring" then
      -- nothing is held: the data there completes the post at once, as
      -- Windows does
      assert.are.same({ 0, 5, 0, n = 3 }, r)
    else
      H.assert_pending(table.unpack(r, 1, r.n))
    end
    local fired = bound(5)
    adapter.run()
    assert.is_false(fired(), "adapter.run() did not return")
    assert.are.same({ 5, "hello" }, { ov.bytes, buf:sub(1, 5) })
  end)

  -- issue 14 item 19: idle, the adapter keeps luv's loop no more alive
  -- than an unreferenced handle would; busy, it does
  it("uv.run() returns when wsarecv is idle, not before its work is done", function()
    local fired = bound(5)
    uv.run()
    assert.is_false(fired(), "uv.run() did not return with wsarecv idle")
    local ch = udp()
    local got = {}
    local function routine(err, n) got[#got + 1] = err or n end
    ch.rx:WSARecv(wsarecv.buffer(8), 0, nil, routine)
    every(30, 1, function() ch.send("abc") end)
    uv.run()                           -- the receive keeps it going
    assert.is_false(fired(), "uv.run() did not return after the receive")
    assert.are.same({ 3 }, got)
    -- a receive posted from luv's last callback keeps the loop alive too
    local t = uv.new_timer()
    t:start(10, 0, function()
      t:close()
      ch.rx:WSARecv(wsarecv.buffer(8), 0, nil, routine)
      ch.send("abcd")
    end)
    uv.run()
    assert.is_false(fired())
    assert.are.same({ 3, 4 }, got)
  end)

  it("detach() in the callback that closes a socket runs its aborted "
    .. "routines", function()
    local ch = udp()
    local got = {}
    for _ = 1, 2 do
      ch.rx:WSARecv(wsarecv.buffer(8), 0, nil, function(err) got[#got + 1] = err end)
    end
    local fired = bound(5)
    every(10, 1, function()
      ch.rx:close()
      adapter.detach()
    end)
    uv.run()
    assert.is_false(fired())
    assert.are.same({ "WSA_OPERATION_ABORTED", "WSA_OPERATION_ABORTED" }, got)
    assert.are.equal(0, wsarecv.ready())
  end)
end)

-- Child processes: what may end the process must not end busted's.
local CHILD = 'local wsarecv = require "wsarecv"\nio.stdout:setvbuf("no")\n'
  .. H.CHILD_UDP .. [[
local uv = require "luv"
local adapter = require "wsarecv.luv"
local async = require "wsarecv.async"
]]

describe("#linux wsarecv.luv in a child process", function()
  -- issue 14 item 6: timer:start was given math.huge (no integer form),
  -- in a luv callback, outside the adapter's protection: luv exited
  it("async.sleep(math.huge) under the adapter", function()
    local out, how, rc = H.run_child(CHILD .. [[
      adapter.attach(uv)
      local rx, send = udp()
      local got
      async.spawn(function() async.sleep(math.huge) end)
      async.spawn(function()
        local b = wsarecv.buffer(8)
        got = b:sub(1, assert(async.recv(rx, b)))
      end)
      local t = uv.new_timer()
      t:start(20, 0, function() t:close(); send("data") end)
      local g = uv.new_timer()             -- the sleeper keeps it running
      g:start(300, 0, function() g:close(); uv.stop() end)
      adapter.run()
      print("END", got, async.count(), wsarecv.timeout() ~= nil)
    ]])
    H.assert_exit(out, how, rc, 0)
    assert.are.equal("END\tdata\t1\tfalse\n", out)
  end)

  -- issue 14 item 19: luv crashed at exit on the handles detach() closed
  -- when no uv.run freed them
  for _, v in ipairs {
    { "right after attach()", "" },
    { "after a run that delivered", [[
      local rx, send = udp()
      rx:WSARecv(wsarecv.buffer(8), 0, nil, function(e, n) print("got", n) end)
      send("abc")
      adapter.run()
    ]] },
  } do
    it("detach() " .. v[1] .. " and no uv.run after it: a clean exit", function()
      local out, how, rc = H.run_child(CHILD .. "adapter.attach(uv)\n" .. v[2]
        .. [[
        adapter.detach()
        print("END")
      ]])
      H.assert_exit(out, how, rc, 0)
      assert.matches("END\n$", out)
    end)
  end
end)
