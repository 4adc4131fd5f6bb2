-- Completion: alertable waits, completion routines, event-style waits,
-- WSAGetOverlappedResult, cancelling, closing, the overlapped object's
-- fields and the per-socket cap on outstanding operations.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

---------------------------------------------------------------------------
-- local helpers
---------------------------------------------------------------------------

local T = H.tracker()

-- A bound UDP receiver on 127.0.0.1 and a function sending it a datagram.
-- Nonoverlapped receives here expect data that is already there: should
-- it not be, a timeout turns a hang into a failure.
local function udp()
  local ch = H.udp("inet", "127.0.0.1", { socket = T.socket, rcvtimeo = 3000 })
  return ch.rx, ch.send
end

local pack, PENDING = H.pack, H.PENDING
local wait_for, progress_until = H.wait_for, H.progress_until
local run_child = H.run_child

-- Shared prelude of child scripts.
local CHILD = 'local wsarecv = require "wsarecv"\n' .. H.CHILD_UDP .. [[
local function show(...)
  local t = table.pack(...)
  for i = 1, t.n do t[i] = tostring(t[i]) end
  print(table.concat(t, " "))
end
]]

local function assert_clean_exit(out, how, rc)
  H.assert_exit(out, how, rc, 0,
    { "Segmentation", "AddressSanitizer", "runtime error" })
end

after_each(function()
  T.cleanup(function() H.drain(50, true) end)
end)

---------------------------------------------------------------------------
-- alertable waits
---------------------------------------------------------------------------

describe("alertable waits", function()
  it("SleepEx(ms, false) lets I/O progress but runs no routine; "
    .. "SleepEx(0, true) then runs it", function()
      local rx, send = udp()
      local b = wsarecv.buffer(16)
      local ov = wsarecv.overlapped()
      local calls = {}
      assert.same(PENDING, pack(rx:WSARecv(b, 0, ov, function(...)
        calls[#calls + 1] = pack(...)
      end)))
      assert.is_true(ov.pending)
      assert.is_nil(ov.bytes)
      assert.is_nil(ov.flags)
      send("hello")
      assert.is_true(progress_until(function() return not ov.pending end))
      assert.equal(0, wsarecv.SleepEx(20, false))
      assert.is_false(ov.pending)
      assert.equal(5, ov.bytes)
      assert.equal(0, ov.flags)
      assert.is_nil(ov.error)
      assert.equal("hello", b:sub(1, 5))
      assert.equal(0, #calls)
      assert.equal("WAIT_IO_COMPLETION", wsarecv.SleepEx(0, true))
      assert.equal(1, #calls)
      assert.same({ nil, 5, ov, 0, n = 4 }, calls[1])
      assert.equal(0, wsarecv.SleepEx(0, true))
      assert.equal(1, #calls)
    end)

  it("SleepEx returns 0 on timeout", function()
    assert.equal(0, wsarecv.SleepEx(0, true))
    assert.equal(0, wsarecv.SleepEx(5, true))
    assert.equal(0, wsarecv.SleepEx(5, false))
    local rx = udp()
    local ran = false
    assert.same(PENDING, pack(rx:WSARecv(wsarecv.buffer(4), 0, nil,
      function() ran = true end)))
    assert.equal(0, wsarecv.SleepEx(20, true))
    assert.equal(0, wsarecv.SleepEx(5, false))
    assert.is_false(ran)
    assert.equal(1, rx:pending())
  end)

  it("an immediately completed overlapped operation returns 0, bytes, "
    .. "flags and its routine still runs exactly once later", function()
      local rx, send = udp()
      send("now!")
      wsarecv.SleepEx(5, false)
      local b = wsarecv.buffer(8)
      local ov = wsarecv.overlapped()
      local calls = {}
      local r = pack(rx:WSARecv(b, 0, ov, function(...)
        calls[#calls + 1] = pack(...)
      end))
      assert.same({ 0, 4, 0, n = 3 }, r)
      assert.equal("now!", b:sub(1, 4))
      assert.is_false(ov.pending)
      assert.equal(4, ov.bytes)
      assert.equal(0, #calls)           -- not before an alertable wait
      assert.equal(0, wsarecv.SleepEx(0, false))
      assert.equal(0, #calls)
      assert.equal("WAIT_IO_COMPLETION", wsarecv.SleepEx(0, true))
      assert.same({ { nil, 4, ov, 0, n = 4 } }, calls)
      for _ = 1, 3 do wsarecv.SleepEx(5, true) end
      assert.equal(1, #calls)
    end)

  it("a routine without an overlapped object gets a fresh one", function()
    local rx, send = udp()
    local seen = {}
    local function rt(err, bytes, ov, flags)
      seen[#seen + 1] = { err = err, bytes = bytes, ov = ov, flags = flags }
    end
    local b1, b2 = wsarecv.buffer(8), wsarecv.buffer(8)
    assert.same(PENDING, pack(rx:WSARecv(b1, 0, nil, rt)))
    assert.same(PENDING, pack(rx:WSARecv(b2, 0, nil, rt)))
    send("aa")
    send("bbb")
    assert.is_true(wait_for(function() return #seen == 2 end))
    for _, s in ipairs(seen) do
      assert.truthy(tostring(s.ov):find("wsarecv.overlapped", 1, true))
      assert.is_false(s.ov.pending)
      assert.equal(s.bytes, s.ov.bytes)
      assert.is_nil(s.err)
    end
    assert.are_not.equal(seen[1].ov, seen[2].ov)
    table.sort(seen, function(x, y) return x.bytes < y.bytes end)
    assert.equal(2, seen[1].bytes)
    assert.equal(3, seen[2].bytes)
    assert.equal("aa", b1:sub(1, 2))
    assert.equal("bbb", b2:sub(1, 3))
  end)

  it("routines queued while a delivery pass runs wait for the next "
    .. "alertable wait", function()
      local rx, send = udp()
      for i = 1, 3 do send("d" .. i) end
      wsarecv.SleepEx(5, false)
      local b = wsarecv.buffer(8)
      local got = {}
      local function rt(err, bytes, ov)
        got[#got + 1] = b:sub(1, bytes)
        if #got < 3 then
          -- the data is there, but a datagram repost made inside a routine
          -- is queued without a syscall and served by one recvmmsg when
          -- the delivery pass ends: pending now, its routine runs later
          local r = pack(rx:WSARecv(b, 0, ov, rt))
          assert(r[1] == nil and r[2] == "WSA_IO_PENDING",
                 "expected WSA_IO_PENDING, got " .. tostring(r[2]))
        end
      end
      assert.same({ 0, 2, 0, n = 3 }, pack(rx:WSARecv(b, 0, nil, rt)))
      assert.equal("WAIT_IO_COMPLETION", wsarecv.SleepEx(0, true))
      assert.same({ "d1" }, got)
      assert.equal("WAIT_IO_COMPLETION", wsarecv.SleepEx(0, true))
      assert.same({ "d1", "d2" }, got)
      assert.equal("WAIT_IO_COMPLETION", wsarecv.SleepEx(0, true))
      assert.same({ "d1", "d2", "d3" }, got)
      assert.equal(0, wsarecv.SleepEx(0, true))
    end)

  it("run('nowait') and run('once') report whether anything is outstanding",
    function()
      local rx, send = udp()
      local n = 0
      local ov = wsarecv.overlapped()
      assert.same(PENDING, pack(rx:WSARecv(wsarecv.buffer(4), 0, ov,
        function() n = n + 1 end)))
      assert.is_true(wsarecv.run("nowait"))
      assert.equal(0, n)
      send("x")
      assert.is_true(progress_until(function() return not ov.pending end))
      assert.equal(0, n)
      assert.is_false(wsarecv.run("once"))
      assert.equal(1, n)
      assert.is_false(wsarecv.run("nowait"))
      assert.equal(1, n)
    end)
end)

---------------------------------------------------------------------------
-- event-style operations
---------------------------------------------------------------------------

describe("event-style operations (overlapped object, no routine)", function()
  it("WSAWaitForMultipleEvents returns the 1-based index of the completed "
    .. "one, or WSA_WAIT_TIMEOUT", function()
      local rx1 = udp()
      local rx2, send2 = udp()
      local ov1, ov2 = wsarecv.overlapped(), wsarecv.overlapped()
      local b2 = wsarecv.buffer(8)
      assert.same(PENDING, pack(rx1:WSARecv(wsarecv.buffer(8), 0, ov1)))
      assert.same(PENDING, pack(rx2:WSARecv(b2, 0, ov2)))
      assert.equal("WSA_WAIT_TIMEOUT",
        wsarecv.WSAWaitForMultipleEvents({ ov1, ov2 }, false, 20, false))
      send2("second")
      assert.equal(2,
        wsarecv.WSAWaitForMultipleEvents({ ov1, ov2 }, false, 2000, false))
      assert.is_false(ov2.pending)
      assert.equal(6, ov2.bytes)
      assert.equal("second", b2:sub(1, 6))
      assert.is_true(ov1.pending)
      assert.equal("WSA_WAIT_TIMEOUT",
        wsarecv.WSAWaitForMultipleEvents({ ov1 }, false, 20, false))
      assert.same({ 6, 0, n = 2 }, pack(rx2:WSAGetOverlappedResult(ov2)))
    end)

  it("an event-style operation completing at once returns 0, bytes, flags "
    .. "and its object is signalled", function()
      local rx, send = udp()
      send("quick")
      wsarecv.SleepEx(5, false)
      local ov = wsarecv.overlapped()
      local b = wsarecv.buffer(8)
      assert.same({ 0, 5, 0, n = 3 }, pack(rx:WSARecv(b, 0, ov)))
      assert.is_false(ov.pending)
      assert.equal(5, ov.bytes)
      assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov }, false, 0,
        false))
      assert.same({ 5, 0, n = 2 }, pack(rx:WSAGetOverlappedResult(ov, true)))
      -- reposting resets the event
      assert.same(PENDING, pack(rx:WSARecv(b, 0, ov)))
      assert.is_true(ov.pending)
      assert.is_nil(ov.bytes)
      assert.equal("WSA_WAIT_TIMEOUT",
        wsarecv.WSAWaitForMultipleEvents({ ov }, false, 10, false))
    end)

  it("waitall returns #ovs once all are done", function()
    local rx, send = udp()
    local ovs, bufs = {}, {}
    for i = 1, 3 do
      ovs[i], bufs[i] = wsarecv.overlapped(), wsarecv.buffer(8)
      assert.same(PENDING, pack(rx:WSARecv(bufs[i], 0, ovs[i])))
    end
    send("a")
    send("b")
    assert.is_true(progress_until(function() return not ovs[2].pending end))
    assert.equal("WSA_WAIT_TIMEOUT",
      wsarecv.WSAWaitForMultipleEvents(ovs, true, 20, false))
    assert.equal(1, wsarecv.WSAWaitForMultipleEvents(ovs, false, 0, false))
    send("c")
    assert.equal(3, wsarecv.WSAWaitForMultipleEvents(ovs, true, 2000, false))
    for i, c in ipairs { "a", "b", "c" } do
      assert.equal(c, bufs[i]:sub(1, 1))
      assert.equal(1, ovs[i].bytes)
    end
  end)

  it("an alertable wait returns WSA_WAIT_IO_COMPLETION when routines ran; "
    .. "a non-alertable one runs none", function()
      local rxa = udp()
      local rxb, sendb = udp()
      local waiting = wsarecv.overlapped()
      assert.same(PENDING, pack(rxa:WSARecv(wsarecv.buffer(4), 0, waiting)))
      local n = 0
      local ovb = wsarecv.overlapped()
      assert.same(PENDING, pack(rxb:WSARecv(wsarecv.buffer(4), 0, ovb,
        function() n = n + 1 end)))
      sendb("zz")
      assert.is_true(progress_until(function() return not ovb.pending end))
      assert.equal("WSA_WAIT_TIMEOUT",
        wsarecv.WSAWaitForMultipleEvents({ waiting }, false, 10, false))
      assert.equal(0, n)
      assert.equal("WSA_WAIT_IO_COMPLETION",
        wsarecv.WSAWaitForMultipleEvents({ waiting }, false, 1000, true))
      assert.equal(1, n)
      assert.is_true(waiting.pending)
      assert.equal("WSA_WAIT_TIMEOUT",
        wsarecv.WSAWaitForMultipleEvents({ waiting }, false, 10, true))
      assert.equal(1, n)
    end)

  it("WSAGetOverlappedResult: WSA_IO_INCOMPLETE while pending, then bytes "
    .. "and flags", function()
      local rx, send = udp()
      local ov = wsarecv.overlapped()
      local b = wsarecv.buffer(8)
      assert.same(PENDING, pack(rx:WSARecv(b, 0, ov)))
      assert.same({ nil, "WSA_IO_INCOMPLETE", 996, n = 3 },
        pack(rx:WSAGetOverlappedResult(ov)))
      assert.same({ nil, "WSA_IO_INCOMPLETE", 996, n = 3 },
        pack(rx:WSAGetOverlappedResult(ov, false)))
      send("result")
      local r
      for _ = 1, 200 do
        r = pack(rx:WSAGetOverlappedResult(ov))
        if r[1] ~= nil then break end
        wsarecv.SleepEx(10, false)
      end
      assert.same({ 6, 0, n = 2 }, r)
      assert.equal("result", b:sub(1, 6))
      -- asking again gives the same answer
      assert.same({ 6, 0, n = 2 }, pack(rx:WSAGetOverlappedResult(ov, true)))
    end)

  it("WSAGetOverlappedResult with wait = true waits for an operation "
    .. "without a routine (child process)", function()
      local out, how, rc = run_child(CHILD .. [[
        local rx, send = udp()
        local ov = wsarecv.overlapped()
        local b = wsarecv.buffer(8)
        show(rx:WSARecv(b, 0, ov))
        send("waited")
        show(rx:WSAGetOverlappedResult(ov, true))
        show(b:sub(1, 6), ov.pending)
      ]], 10)
      assert_clean_exit(out, how, rc)
      assert.equal("nil WSA_IO_PENDING 997\n6 0\nwaited false\n", out)
    end)

  it("WSAGetOverlappedResult with wait = true is refused when the "
    .. "operation has a routine", function()
      local rx, send = udp()
      local ov = wsarecv.overlapped()
      local n, got = 0, nil
      assert.same(PENDING, pack(rx:WSARecv(wsarecv.buffer(8), 0, ov,
        function(err, bytes) n = n + 1; got = bytes end)))
      assert.same({ nil, "WSAEINVAL", 10022, n = 3 },
        pack(rx:WSAGetOverlappedResult(ov, true)))
      assert.is_true(ov.pending)
      assert.equal(1, rx:pending())
      send("abc")
      assert.is_true(wait_for(function() return n > 0 end))
      wsarecv.SleepEx(5, true)
      assert.equal(1, n)
      assert.equal(3, got)
    end)
end)

---------------------------------------------------------------------------
-- the overlapped object
---------------------------------------------------------------------------

describe("the overlapped object", function()
  it("context round-trips; the other fields are read-only", function()
    local rx, send = udp()
    local ov = wsarecv.overlapped()
    local ctx = { tag = "mine" }
    ov.context = ctx
    assert.equal(ctx, ov.context)
    local seen
    assert.same(PENDING, pack(rx:WSARecv(wsarecv.buffer(4), 0, ov,
      function(err, bytes, o) seen = o.context end)))
    assert.equal(ctx, ov.context)
    send("c")
    assert.is_true(wait_for(function() return seen ~= nil end))
    assert.equal(ctx, seen)
    ov.context = 42
    assert.equal(42, ov.context)
    ov.context = nil
    assert.is_nil(ov.context)
    for _, field in ipairs { "pending", "bytes", "flags", "error" } do
      assert.has_error(function() ov[field] = 1 end)
    end
    assert.is_false(ov.pending)
    assert.equal(1, ov.bytes)
    assert.equal(0, ov.flags)
  end)

  it("a fresh object is idle: not pending, no results", function()
    local ov = wsarecv.overlapped()
    assert.is_false(ov.pending)
    assert.is_nil(ov.bytes)
    assert.is_nil(ov.flags)
    assert.is_nil(ov.error)
  end)

  it("reposting a pending object gives WSAEINVAL and leaves the first "
    .. "operation alone", function()
      local rx, send = udp()
      local ov = wsarecv.overlapped()
      local b1, b2 = wsarecv.buffer(8), wsarecv.buffer(8)
      local first, second = 0, 0
      assert.same(PENDING, pack(rx:WSARecv(b1, 0, ov,
        function() first = first + 1 end)))
      assert.same({ nil, "WSAEINVAL", 10022, n = 3 },
        pack(rx:WSARecv(b2, 0, ov, function() second = second + 1 end)))
      -- on another socket too
      local other = udp()
      assert.same({ nil, "WSAEINVAL", 10022, n = 3 },
        pack(other:WSARecv(b2, 0, ov, function() second = second + 1 end)))
      assert.equal(1, rx:pending())
      assert.equal(0, other:pending())
      send("orig")
      assert.is_true(wait_for(function() return first > 0 end))
      wsarecv.SleepEx(5, true)
      assert.equal(1, first)
      assert.equal(0, second)
      assert.equal("orig", b1:sub(1, 4))
      assert.equal(string.rep("\0", 8), b2:sub())
    end)

  it("reposting an object whose routine is queued but has not run gives "
    .. "WSAEINVAL; once the routine ran it can be reposted (child process)",
    function()
      local out, how, rc = run_child(CHILD .. [[
        local rx, send = udp()
        local ov = wsarecv.overlapped()
        local b1, b2 = wsarecv.buffer(8), wsarecv.buffer(8)
        local calls = {}
        assert(select(2, rx:WSARecv(b1, 0, ov, function(e, n)
          calls[#calls + 1] = "A:" .. tostring(e) .. ":" .. n end))
          == "WSA_IO_PENDING")
        send("one")
        for _ = 1, 100 do
          if not ov.pending then break end
          wsarecv.SleepEx(10, false)
        end
        show("done", ov.pending, ov.bytes)
        local function rtb(e, n)
          calls[#calls + 1] = "B:" .. tostring(e) .. ":" .. n
        end
        show("repost", rx:WSARecv(b2, 0, ov, rtb))
        show("pending", rx:pending(), ov.pending, ov.bytes)
        send("two")
        for _ = 1, 10 do wsarecv.SleepEx(5, true) end
        show("calls", table.concat(calls, ","))
        show("data", b1:sub(1, 3), #b2:sub(1, 3):gsub("%z", ""))
        show("again", rx:WSARecv(b2, 0, ov, rtb))
        for _ = 1, 10 do wsarecv.SleepEx(5, true) end
        show("calls", table.concat(calls, ","))
        show("data", b2:sub(1, 3))
      ]])
      assert_clean_exit(out, how, rc)
      assert.equal("done false 3\n"
        .. "repost nil WSAEINVAL 10022\n"
        .. "pending 0 false 3\n"
        .. "calls A:nil:3\n"
        .. "data one 0\n"
        .. "again 0 3 0\n"
        .. "calls A:nil:3,B:nil:3\n"
        .. "data two\n", out)
    end)
end)

---------------------------------------------------------------------------
-- routines
---------------------------------------------------------------------------

describe("completion routines", function()
  it("a routine may post the next receive: a chain of N datagrams "
    .. "(bounded alertable waits)", function()
      local rx, send = udp()
      local N = 20
      local got = {}
      local b = wsarecv.buffer(16)
      local function rt(err, bytes, ov)
        assert(err == nil, err)
        got[#got + 1] = b:sub(1, bytes)
        if #got < N then
          local r = pack(rx:WSARecv(b, 0, ov, rt))
          assert(r[1] == 0 or r[2] == "WSA_IO_PENDING", r[2])
        end
      end
      assert.same(PENDING, pack(rx:WSARecv(b, 0, wsarecv.overlapped(), rt)))
      local expect = {}
      for i = 1, N do
        expect[i] = "msg-" .. i
        send(expect[i])
      end
      assert.is_true(wait_for(function() return #got == N end, 500))
      assert.same(expect, got)
      assert.equal(0, rx:pending())
    end)

  it("a chain driven by run() ends when nothing is outstanding "
    .. "(child process)", function()
      local out, how, rc = run_child(CHILD .. [[
        local rx, send = udp()
        local N, got = 25, {}
        local b = wsarecv.buffer(16)
        local function rt(err, bytes, ov)
          assert(err == nil, err)
          got[#got + 1] = b:sub(1, bytes)
          if #got < N then rx:WSARecv(b, 0, ov, rt) end
        end
        assert(select(2, rx:WSARecv(b, 0, wsarecv.overlapped(), rt))
          == "WSA_IO_PENDING")
        for i = 1, N do send("m" .. i) end
        local more = wsarecv.run()
        show("more", more)
        show("count", #got)
        local ok = true
        for i = 1, N do ok = ok and got[i] == "m" .. i end
        show("inorder", ok)
        show("pending", rx:pending())
        show("after", wsarecv.run())
      ]])
      assert_clean_exit(out, how, rc)
      assert.equal("more false\ncount 25\ninorder true\npending 0\n"
        .. "after false\n", out)
    end)

  it("routines of one socket never nest; another socket's may run inside",
    function()
      local rxa, senda = udp()
      local rxb, sendb = udp()
      local depth, maxdepth = { a = 0, b = 0 }, { a = 0, b = 0 }
      local order = {}
      local nested_other = false
      local inner_results = {}
      local function make(name)
        return function(err, bytes, ov)
          depth[name] = depth[name] + 1
          if depth[name] > maxdepth[name] then maxdepth[name] = depth[name] end
          order[#order + 1] = name .. ov.context
          if name == "b" and depth.a > 0 then nested_other = true end
          if name == "a" then
            -- more completions of this socket are queued: they must not run
            -- inside this routine
            inner_results[#inner_results + 1] = wsarecv.SleepEx(0, true)
            inner_results[#inner_results + 1] = wsarecv.run("nowait")
            inner_results[#inner_results + 1] = wsarecv.SleepEx(5, true)
          end
          depth[name] = depth[name] - 1
        end
      end
      local ra, rb = make("a"), make("b")
      local ovs = {}
      for i = 1, 3 do
        local ov = wsarecv.overlapped()
        ov.context = i
        ovs[#ovs + 1] = ov
        assert.same(PENDING, pack(rxa:WSARecv(wsarecv.buffer(8), 0, ov, ra)))
      end
      for i = 1, 2 do
        local ov = wsarecv.overlapped()
        ov.context = i
        ovs[#ovs + 1] = ov
        assert.same(PENDING, pack(rxb:WSARecv(wsarecv.buffer(8), 0, ov, rb)))
      end
      for i = 1, 3 do senda("a" .. i) end
      assert.is_true(progress_until(function()
        return not ovs[1].pending and not ovs[2].pending
          and not ovs[3].pending
      end))
      for i = 1, 2 do sendb("b" .. i) end
      assert.is_true(progress_until(function()
        return not ovs[4].pending and not ovs[5].pending
      end))
      assert.equal(0, #order)
      assert.equal("WAIT_IO_COMPLETION", wsarecv.SleepEx(0, true))
      for _ = 1, 5 do wsarecv.SleepEx(2, true) end
      assert.equal(1, maxdepth.a)
      assert.equal(1, maxdepth.b)
      assert.is_true(nested_other)
      table.sort(order)
      assert.same({ "a1", "a2", "a3", "b1", "b2" }, order)
    end)

  it("an error raised in a routine propagates out of the wait with a "
    .. "traceback; the rest are delivered later, none lost or duplicated",
    function()
      local rx, send = udp()
      local calls = {}
      local boom = true
      local function rt(err, bytes, ov)
        calls[#calls + 1] = ov.context
        if boom then
          boom = false
          error("routine-failure-xyzzy")
        end
      end
      local ovs = {}
      for i = 1, 4 do
        ovs[i] = wsarecv.overlapped()
        ovs[i].context = i
        assert.same(PENDING, pack(rx:WSARecv(wsarecv.buffer(8), 0, ovs[i], rt)))
      end
      for i = 1, 4 do send("e" .. i) end
      assert.is_true(progress_until(function() return not ovs[4].pending end))
      local ok, msg = pcall(wsarecv.SleepEx, 100, true)
      assert.is_false(ok)
      assert.is_string(msg)
      assert.truthy(msg:find("routine-failure-xyzzy", 1, true), msg)
      assert.truthy(msg:find("traceback", 1, true), msg)
      assert.equal(1, #calls)
      assert.is_true(wait_for(function() return #calls == 4 end))
      for _ = 1, 3 do wsarecv.SleepEx(2, true) end
      table.sort(calls)
      assert.same({ 1, 2, 3, 4 }, calls)
    end)

  it("each of several failing routines stops its own wait; every routine "
    .. "still runs exactly once", function()
      local rx, send = udp()
      local calls = {}
      local function rt(err, bytes, ov)
        calls[#calls + 1] = ov.context
        if ov.context % 2 == 1 then error("odd-" .. ov.context) end
      end
      local ovs = {}
      for i = 1, 5 do
        ovs[i] = wsarecv.overlapped()
        ovs[i].context = i
        assert.same(PENDING, pack(rx:WSARecv(wsarecv.buffer(8), 0, ovs[i], rt)))
      end
      for i = 1, 5 do send("p" .. i) end
      assert.is_true(progress_until(function() return not ovs[5].pending end))
      local errors = {}
      for _ = 1, 20 do
        local ok, msg = pcall(wsarecv.SleepEx, 0, true)
        if not ok then
          errors[#errors + 1] = msg:match("odd%-%d")
        elseif msg == 0 then
          break
        end
      end
      table.sort(errors)
      assert.same({ "odd-1", "odd-3", "odd-5" }, errors)
      table.sort(calls)
      assert.same({ 1, 2, 3, 4, 5 }, calls)
    end)

  it("an error raised in a routine propagates out of run() "
    .. "(child process)", function()
      local out, how, rc = run_child(CHILD .. [[
        local rx, send = udp()
        local calls, boom = {}, true
        local function rt(err, bytes, ov)
          calls[#calls + 1] = ov.context
          if boom then boom = false; error("run-failure-plugh") end
        end
        for i = 1, 3 do
          local ov = wsarecv.overlapped()
          ov.context = i
          rx:WSARecv(wsarecv.buffer(8), 0, ov, rt)
        end
        for i = 1, 3 do send("x" .. i) end
        local ok, msg = pcall(wsarecv.run)
        show("ok", ok)
        show("text", msg:find("run-failure-plugh", 1, true) ~= nil)
        show("traceback", msg:find("traceback", 1, true) ~= nil)
        show("calls", #calls)
        local more = wsarecv.run()
        table.sort(calls)
        show("more", more)
        show("all", table.concat(calls, ","))
      ]])
      assert_clean_exit(out, how, rc)
      assert.equal("ok false\ntext true\ntraceback true\ncalls 1\n"
        .. "more false\nall 1,2,3\n", out)
    end)

  it("closing the socket inside its own routine: pending operations abort "
    .. "once; completions already queued still arrive", function()
      local rx, send = udp()
      local res = {}
      local function rt(err, bytes, ov)
        res[ov.context] = (res[ov.context] or 0) + 1
        res["err" .. ov.context] = err or "ok"
        if ov.context == 1 then
          assert(rx:close() == 0)
        end
      end
      local ovs = {}
      for i = 1, 4 do
        ovs[i] = wsarecv.overlapped()
        ovs[i].context = i
        assert.same(PENDING, pack(rx:WSARecv(wsarecv.buffer(8), 0, ovs[i], rt)))
      end
      send("c1")
      send("c2")
      assert.is_true(progress_until(function() return not ovs[2].pending end))
      assert.is_true(ovs[3].pending)
      assert.is_true(wait_for(function() return res[4] ~= nil end))
      for _ = 1, 5 do wsarecv.SleepEx(2, true) end
      assert.same({ 1, 1, 1, 1, err1 = "ok", err2 = "ok",
        err3 = "WSA_OPERATION_ABORTED", err4 = "WSA_OPERATION_ABORTED" }, res)
      assert.equal(0, ovs[3].bytes)
      assert.same({ nil, "WSAENOTSOCK", 10038, n = 3 },
        pack(rx:WSARecv(wsarecv.buffer(8), 0)))
    end)
end)

---------------------------------------------------------------------------
-- cancelling and closing
---------------------------------------------------------------------------

describe("CancelIoEx and close", function()
  it("CancelIoEx(ov) cancels that one: it completes once with "
    .. "WSA_OPERATION_ABORTED, 0 bytes; the data goes to the next",
    function()
      local rx, send = udp()
      local calls = {}
      local function rt(err, bytes, ov, flags)
        calls[#calls + 1] = { ov.context, err, bytes, flags }
      end
      local ov1, ov2 = wsarecv.overlapped(), wsarecv.overlapped()
      ov1.context, ov2.context = 1, 2
      local b1, b2 = wsarecv.buffer(8), wsarecv.buffer(8)
      assert.same(PENDING, pack(rx:WSARecv(b1, 0, ov1, rt)))
      assert.same(PENDING, pack(rx:WSARecv(b2, 0, ov2, rt)))
      assert.same({ 0, n = 1 }, pack(rx:CancelIoEx(ov1)))
      assert.is_false(ov1.pending)
      assert.is_true(ov2.pending)
      assert.equal(1, rx:pending())
      assert.same({ nil, "ERROR_NOT_FOUND", 1168, n = 3 },
        pack(rx:CancelIoEx(ov1)))
      send("intact")
      assert.is_true(wait_for(function() return #calls == 2 end))
      wsarecv.SleepEx(5, true)
      table.sort(calls, function(a, b) return a[1] < b[1] end)
      assert.same({ { 1, "WSA_OPERATION_ABORTED", 0, 0 },
                    { 2, nil, 6, 0 } }, calls)
      assert.equal("intact", b2:sub(1, 6))
      assert.equal(string.rep("\0", 8), b1:sub())
      assert.same({ nil, "WSA_OPERATION_ABORTED", 995, n = 3 },
        pack(rx:WSAGetOverlappedResult(ov1)))
    end)

  it("CancelIoEx() cancels all; nothing was consumed", function()
    local rx, send = udp()
    local calls = {}
    local ovs = {}
    for i = 1, 5 do
      ovs[i] = wsarecv.overlapped()
      ovs[i].context = i
      assert.same(PENDING, pack(rx:WSARecv(wsarecv.buffer(8), 0, ovs[i],
        function(err, bytes, ov)
          calls[#calls + 1] = { ov.context, err, bytes }
        end)))
    end
    assert.same({ 0, n = 1 }, pack(rx:CancelIoEx()))
    assert.equal(0, rx:pending())
    assert.is_true(wait_for(function() return #calls == 5 end))
    for _ = 1, 3 do wsarecv.SleepEx(2, true) end
    table.sort(calls, function(a, b) return a[1] < b[1] end)
    for i = 1, 5 do
      assert.same({ i, "WSA_OPERATION_ABORTED", 0 }, calls[i])
      assert.equal("WSA_OPERATION_ABORTED", ovs[i].error)
    end
    send("after-cancel")
    local b = wsarecv.buffer(16)
    assert.same({ 0, 12, 0, n = 3 }, pack(rx:WSARecv(b, 0)))
    assert.equal("after-cancel", b:sub(1, 12))
  end)

  it("a cancelled event-style operation signals its object", function()
    local rx = udp()
    local ov = wsarecv.overlapped()
    assert.same(PENDING, pack(rx:WSARecv(wsarecv.buffer(8), 0, ov)))
    assert.equal(0, rx:CancelIoEx(ov))
    assert.equal(1, wsarecv.WSAWaitForMultipleEvents({ ov }, false, 100,
      false))
    assert.equal("WSA_OPERATION_ABORTED", ov.error)
    assert.equal(0, ov.bytes)
    assert.same({ nil, "WSA_OPERATION_ABORTED", 995, n = 3 },
      pack(rx:WSAGetOverlappedResult(ov)))
  end)

  it("CancelIoEx with nothing pending gives ERROR_NOT_FOUND", function()
    local rx, send = udp()
    assert.same({ nil, "ERROR_NOT_FOUND", 1168, n = 3 },
      pack(rx:CancelIoEx()))
    assert.same({ nil, "ERROR_NOT_FOUND", 1168, n = 3 },
      pack(rx:CancelIoEx(wsarecv.overlapped())))
    -- a completed operation cannot be cancelled
    local ov = wsarecv.overlapped()
    assert.same(PENDING, pack(rx:WSARecv(wsarecv.buffer(8), 0, ov)))
    send("done")
    assert.is_true(progress_until(function() return not ov.pending end))
    assert.same({ nil, "ERROR_NOT_FOUND", 1168, n = 3 },
      pack(rx:CancelIoEx(ov)))
    assert.equal(4, ov.bytes)
    -- an operation of another socket is not found on this one
    local other = udp()
    local ov2 = wsarecv.overlapped()
    assert.same(PENDING, pack(other:WSARecv(wsarecv.buffer(8), 0, ov2)))
    assert.same({ nil, "ERROR_NOT_FOUND", 1168, n = 3 },
      pack(rx:CancelIoEx(ov2)))
    assert.is_true(ov2.pending)
  end)

  it("close() with pending operations: each completes once with "
    .. "WSA_OPERATION_ABORTED; the closed socket answers WSAENOTSOCK",
    function()
      local rx = udp()
      local count, errs = {}, {}
      for i = 1, 3 do
        local ov = wsarecv.overlapped()
        ov.context = i
        assert.same(PENDING, pack(rx:WSARecv(wsarecv.buffer(8), 0, ov,
          function(err, bytes, o)
            count[o.context] = (count[o.context] or 0) + 1
            errs[o.context] = { err, bytes }
          end)))
      end
      local evov = wsarecv.overlapped()
      assert.same(PENDING, pack(rx:WSARecv(wsarecv.buffer(8), 0, evov)))
      assert.equal(4, rx:pending())
      assert.equal(0, rx:close())
      assert.equal(0, rx:pending())
      assert.is_false(evov.pending)
      assert.equal("WSA_OPERATION_ABORTED", evov.error)
      assert.is_true(wait_for(function() return count[3] ~= nil end))
      for _ = 1, 5 do wsarecv.SleepEx(2, true) end
      assert.same({ 1, 1, 1 }, count)
      for i = 1, 3 do
        assert.same({ "WSA_OPERATION_ABORTED", 0 }, errs[i])
      end
      assert.same({ nil, "WSAENOTSOCK", 10038, n = 3 },
        pack(rx:WSARecv(wsarecv.buffer(8), 0)))
      assert.same({ nil, "WSAENOTSOCK", 10038, n = 3 },
        pack(rx:WSARecv(wsarecv.buffer(8), 0, wsarecv.overlapped())))
      assert.same({ nil, "WSAENOTSOCK", 10038, n = 3 }, pack(rx:CancelIoEx()))
      assert.equal(0, rx:close())  -- closing twice is harmless
    end)

  it("the per-socket cap: MAX_PENDING operations pend, one more gets "
    .. "WSAEWOULDBLOCK; cancelling runs every routine once", function()
      assert.equal(4096, wsarecv.MAX_PENDING)
      local rx, send = udp()
      local b = wsarecv.buffer(1)
      local counts = {}
      local aborted = 0
      local function rt(err, bytes, ov)
        local i = ov.context
        counts[i] = (counts[i] or 0) + 1
        if err == "WSA_OPERATION_ABORTED" and bytes == 0 then
          aborted = aborted + 1
        end
      end
      for i = 1, wsarecv.MAX_PENDING do
        local ov = wsarecv.overlapped()
        ov.context = i
        local r, name = rx:WSARecv(b, 0, ov, rt)
        if name ~= "WSA_IO_PENDING" then
          error(("post %d: %s %s"):format(i, tostring(r), tostring(name)))
        end
      end
      assert.equal(4096, rx:pending())
      local extra = wsarecv.overlapped()
      extra.context = "extra"
      assert.same({ nil, "WSAEWOULDBLOCK", 10035, n = 3 },
        pack(rx:WSARecv(b, 0, extra, rt)))
      assert.is_false(extra.pending)
      assert.equal(4096, rx:pending())
      assert.equal(0, rx:CancelIoEx())
      assert.equal(0, rx:pending())
      assert.equal("WAIT_IO_COMPLETION", wsarecv.SleepEx(0, true))
      for _ = 1, 5 do wsarecv.SleepEx(2, true) end
      assert.equal(4096, aborted)
      local bad = 0
      for i = 1, 4096 do if counts[i] ~= 1 then bad = bad + 1 end end
      assert.equal(0, bad)
      assert.is_nil(counts.extra)
      -- below the cap again: posting works
      local got
      assert.same(PENDING, pack(rx:WSARecv(b, 0, nil,
        function(err, n) got = { err, n } end)))
      send("!")
      assert.is_true(wait_for(function() return got ~= nil end))
      assert.same({ nil, 1 }, got)
    end)
end)

---------------------------------------------------------------------------
-- infinite waits (in a child: a wrong answer would block forever)
---------------------------------------------------------------------------

describe("infinite waits", function()
  it("SleepEx(INFINITE, true) with nothing pending gives WSAEINVAL",
    function()
      local out, how, rc = run_child(CHILD .. [[
        show(wsarecv.SleepEx(nil, true))
        show(wsarecv.SleepEx(-1, true))
        show(wsarecv.SleepEx(wsarecv.INFINITE, true))
      ]], 10)
      assert_clean_exit(out, how, rc)
      assert.equal("nil WSAEINVAL 10022\nnil WSAEINVAL 10022\n"
        .. "nil WSAEINVAL 10022\n", out)
    end)

  it("SleepEx(INFINITE, true) returns WAIT_IO_COMPLETION once a pending "
    .. "operation's routine ran", function()
      local out, how, rc = run_child(CHILD .. [[
        local rx, send = udp()
        local n = 0
        rx:WSARecv(wsarecv.buffer(8), 0, nil, function() n = n + 1 end)
        send("x")
        show(wsarecv.SleepEx(nil, true), n)
      ]], 10)
      assert_clean_exit(out, how, rc)
      assert.equal("WAIT_IO_COMPLETION 1\n", out)
    end)

  it("WSAWaitForMultipleEvents(INFINITE) on objects that can never be "
    .. "signalled gives WSAEINVAL", function()
      local out, how, rc = run_child(CHILD .. [[
        local a, b = wsarecv.overlapped(), wsarecv.overlapped()
        show(wsarecv.WSAWaitForMultipleEvents({ a, b }, false, nil, false))
        show(wsarecv.WSAWaitForMultipleEvents({ a }, true, nil, true))
        local rx, send = udp()
        local ov = wsarecv.overlapped()
        rx:WSARecv(wsarecv.buffer(8), 0, ov)
        send("y")
        show(wsarecv.WSAWaitForMultipleEvents({ a, ov }, false, nil, false))
      ]], 10)
      assert_clean_exit(out, how, rc)
      assert.equal("nil WSAEINVAL 10022\nnil WSAEINVAL 10022\n2\n", out)
    end)

  it("a timeout longer than a DWORD holds gives WSAEINVAL without "
    .. "waiting; 0xFFFFFFFF is INFINITE; 0xFFFFFFFE is a timeout", function()
      local out, how, rc = run_child(CHILD .. [[
        show(wsarecv.SleepEx(2^62, true))
        show(wsarecv.SleepEx(0x100000000, false))
        show(wsarecv.SleepEx(math.maxinteger, true))
        show(wsarecv.SleepEx(math.huge, true))
        show(wsarecv.SleepEx(0xFFFFFFFF, true))   -- INFINITE, nothing to wait for
        local a = wsarecv.overlapped()
        show(wsarecv.WSAWaitForMultipleEvents({ a }, false, 2^40, true))
        show(wsarecv.WSAWaitForMultipleEvents(a, true, 0x100000000, false))
        -- the longest finite timeouts are accepted and end at the completion
        local rx, send = udp()
        local n = 0
        rx:WSARecv(wsarecv.buffer(8), 0, nil, function() n = n + 1 end)
        send("x")
        show(wsarecv.SleepEx(0xFFFFFFFE, true), n)
        local ov = wsarecv.overlapped()
        rx:WSARecv(wsarecv.buffer(8), 0, ov)
        send("y")
        show(wsarecv.WSAWaitForMultipleEvents({ ov }, false, 0xFFFFFFFE, true))
        -- refused before any waiting: a queued routine is not run
        rx:WSARecv(wsarecv.buffer(8), 0, nil, function() n = n + 1 end)
        send("z")
        wsarecv.SleepEx(20, false)
        local r = table.pack(wsarecv.SleepEx(2^62, true))
        show(r[1], r[2], r[3], n)
        r = table.pack(wsarecv.WSAWaitForMultipleEvents({ ov }, false, 2^33,
          true))
        show(r[1], r[2], r[3], n)
        show(wsarecv.SleepEx(0, true), n)
      ]], 10)
      assert_clean_exit(out, how, rc)
      assert.equal(("nil WSAEINVAL 10022\n"):rep(7)
        .. "WAIT_IO_COMPLETION 1\n1\n"
        .. "nil WSAEINVAL 10022 1\nnil WSAEINVAL 10022 1\n"
        .. "WAIT_IO_COMPLETION 2\n", out)
    end)

  it("timeouts: other negative values and non-integers still raise, "
    .. "and argument errors come before WSAEINVAL", function()
      assert.has_error(function() wsarecv.SleepEx(-2, true) end)
      assert.has_error(function() wsarecv.SleepEx(1.5, true) end)
      assert.has_error(function() wsarecv.SleepEx(0 / 0, true) end)
      assert.has_error(function() wsarecv.SleepEx("soon", true) end)
      assert.has_error(function()
        wsarecv.WSAWaitForMultipleEvents({ wsarecv.overlapped() }, false, -5)
      end)
      assert.matches("bad argument #1", H.raised(
        wsarecv.WSAWaitForMultipleEvents, "not ovs", false, 2^40))
    end)
end)
