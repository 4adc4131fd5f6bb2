-- Completion routines (the WSARecv page, lpCompletionRoutine): chains of
-- reposts, no nesting per socket, errors raised in routines, closing the
-- socket inside its own routine.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

---------------------------------------------------------------------------
-- local helpers
---------------------------------------------------------------------------

local C = require "spec.support.completion"(after_each)
local udp, CHILD, assert_clean_exit = C.udp, C.CHILD, C.assert_clean_exit

local pack, assert_pending = H.pack, H.assert_pending
local wait_for, progress_until = H.wait_for, H.progress_until
local run_child = H.run_child

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
      assert_pending(rx:WSARecv(b, 0, wsarecv.overlapped(), rt))
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
        return function(_, _, ov)
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
        assert_pending(rxa:WSARecv(wsarecv.buffer(8), 0, ov, ra))
      end
      for i = 1, 2 do
        local ov = wsarecv.overlapped()
        ov.context = i
        ovs[#ovs + 1] = ov
        assert_pending(rxb:WSARecv(wsarecv.buffer(8), 0, ov, rb))
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
      local function rt(_, _, ov)
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
        assert_pending(rx:WSARecv(wsarecv.buffer(8), 0, ovs[i], rt))
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

  it("an error object with __tostring comes out of the wait as its text, "
    .. "with a traceback", function()
      local rx, send = udp()
      local obj = setmetatable({}, { __tostring = function() return "boom-obj" end })
      assert_pending(rx:WSARecv(wsarecv.buffer(8), 0, nil, function() error(obj) end))
      send("x")
      assert.is_true(progress_until(function() return wsarecv.ready() > 0 end))
      local ok, msg = pcall(wsarecv.SleepEx, 100, true)
      assert.is_false(ok)
      assert.truthy(tostring(msg):find("boom-obj", 1, true), tostring(msg))
      assert.truthy(tostring(msg):find("traceback", 1, true), tostring(msg))
    end)

  it("each of several failing routines stops its own wait; every routine "
    .. "still runs exactly once", function()
      local rx, send = udp()
      local calls = {}
      local function rt(_, _, ov)
        calls[#calls + 1] = ov.context
        if ov.context % 2 == 1 then error("odd-" .. ov.context) end
      end
      local ovs = {}
      for i = 1, 5 do
        ovs[i] = wsarecv.overlapped()
        ovs[i].context = i
        assert_pending(rx:WSARecv(wsarecv.buffer(8), 0, ovs[i], rt))
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
      local function rt(err, _, ov)
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
        assert_pending(rx:WSARecv(wsarecv.buffer(8), 0, ovs[i], rt))
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
