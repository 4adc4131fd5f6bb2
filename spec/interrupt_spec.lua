-- Ctrl-C in a wait: every wait that blocks ends promptly on SIGINT, lua.c
-- raises "interrupted!" (in a script and in the REPL), and nothing posted
-- is lost: what completed while the signal came stays queued for the next
-- wait, and a pending operation stays pending.
--
-- Each test runs a child lua5.4 (bounded by `timeout 10`, so a wait that
-- holds the signal for its 30 s, or for ever, is a failure, not a hang),
-- waits for the line it prints before it enters the wait and for it to
-- sleep there, then sends it SIGINT.
--
-- #linux: lua.c's SIGINT (a POSIX signal, `kill -INT`) is what these send;
-- on Windows a console Ctrl-C reaches lua.exe on a thread of its own, and
-- the waits hold it, as before (docs/platforms.md, "Linux and Windows").
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local KILL = H.NO_PRELOAD .. "kill -%s %s"

local function kill(sig, pid)
  assert(os.execute(KILL:format(sig, pid)))
end

-- The prelude of every child: ready(n) says it is about to wait (its pid,
-- and a number the parent may need, e.g. a port).
local PRELUDE = [[
local wsarecv = require "wsarecv"
io.stdout:setvbuf("no")
local function ready(n)
  local f = io.open("/proc/self/stat")
  local pid = f:read("l"):match("^(%d+)")
  f:close()
  print("READY " .. pid .. " " .. (n or 0))
end
local function udp()
  local rx = wsarecv.socket("inet", "dgram")
  assert(rx:bind("127.0.0.1", 0) == 0)
  local _, port = rx:getsockname()
  local tx = wsarecv.socket("inet", "dgram")
  assert(tx:bind("127.0.0.1", 0) == 0)
  return rx, function(s) assert(tx:sendto(s, "127.0.0.1", port)) end, port
end
-- a completion port with a receive posted on its socket (under key):
-- port, the socket's port number, the receive's buffer and object
local function port_rx(key)
  local port = wsarecv.CreateIoCompletionPort()
  local rx, _, uport = udp()
  wsarecv.CreateIoCompletionPort(rx, port, key)
  local b, ov = wsarecv.buffer(16), wsarecv.overlapped()
  rx:WSARecv(b, 0, ov)
  return port, uport, b, ov
end
]]

-- Wait (bounded) until process pid sleeps: it is inside the wait.
local function wait_sleeping(pid)
  local deadline = H.now() + 5
  repeat
    local f = io.open("/proc/" .. pid .. "/stat")
    local st = f and f:read("a")
    if f then f:close() end
    if st and st:match("%) (%a)") == "S" then return end
    wsarecv.SleepEx(5)
  until H.now() > deadline
end

-- Run cmd (a shell command); each time the child says READY and then
-- sleeps, send it SIGINT (`signal(pid, n)` instead, when given).
-- -> output, how, rc
local function interrupt_cmd(cmd, signal)
  local p = assert(io.popen(cmd .. " 2>&1"))
  local out = {}
  for line in p:lines() do
    out[#out + 1] = line
    local pid, n = line:match("READY (%d+) (%d+)")
    if pid then
      wait_sleeping(pid)
      if signal then signal(pid, tonumber(n)) else kill("INT", pid) end
    end
  end
  local _, how, rc = p:close()
  return table.concat(out, "\n") .. "\n", how, rc
end

local function lua_cmd(args)
  return ("LUA_PATH=%s LUA_CPATH=%s timeout -k 2 10 lua5.4 %s")
    :format(H.shq(package.path), H.shq(package.cpath), args)
end

-- A child running PRELUDE .. code.
local function interrupt(code, signal)
  return interrupt_cmd(lua_cmd("-e " .. H.shq(PRELUDE .. code)), signal)
end

-- The child caught "interrupted!" (CAUGHT) and went on to the END.
local function assert_caught(out, how, rc)
  H.assert_no_crash(out)
  assert.truthy(out:find("CAUGHT\tfalse\t[^\n]*interrupted!"), out)
  assert.truthy(out:find("END", 1, true), out)
  assert.same({ "exit", 0 }, { how, rc }, out)
end

-- Each wait: setup code, then `wait` (a function body) waits for 30 s or
-- for ever; after the interrupt, `after` checks what is left.
local WAITS = {
  { "SleepEx(30000)", "", "wsarecv.SleepEx(30000)", "" },
  { "SleepEx(30000, true) with a receive pending", [[
      local rx = udp()
      rx:WSARecv(wsarecv.buffer(8), 0, wsarecv.overlapped(), function() end)
    ]], "wsarecv.SleepEx(30000, true)", "" },
  { "SleepEx(INFINITE, true)", [[
      local rx = udp()
      rx:WSARecv(wsarecv.buffer(8), 0, wsarecv.overlapped(), function() end)
    ]], "wsarecv.SleepEx(nil, true)", "" },
  { "run()", [[
      local rx = udp()
      rx:WSARecv(wsarecv.buffer(8), 0, wsarecv.overlapped(), function() end)
    ]], "wsarecv.run()", "" },
  { "run('once')", [[
      local rx = udp()
      rx:WSARecv(wsarecv.buffer(8), 0, wsarecv.overlapped(), function() end)
    ]], "wsarecv.run('once')", "" },
  { "WSAWaitForMultipleEvents(INFINITE)", [[
      local rx = udp()
      local ov = wsarecv.overlapped()
      rx:WSARecv(wsarecv.buffer(8), 0, ov)
    ]], "wsarecv.WSAWaitForMultipleEvents({ ov }, false, nil)",
    "assert(ov.pending)" },
  { "port:GetQueuedCompletionStatus(30000)", [[
      local port, _, _, ov = port_rx(1)
    ]], "port:GetQueuedCompletionStatus(30000)", "assert(ov.pending)" },
  { "port:GetQueuedCompletionStatusEx(INFINITE, true)", [[
      local port = port_rx(1)
    ]], "port:GetQueuedCompletionStatusEx({ {} }, nil, true)", "" },
  { "WSAGetOverlappedResult(ov, true)", [[
      local rx = udp()
      local ov = wsarecv.overlapped()
      rx:WSARecv(wsarecv.buffer(8), 0, ov)
    ]], "rx:WSAGetOverlappedResult(ov, true)", "assert(ov.pending)" },
  { "a nonoverlapped WSARecv", "local rx, send = udp()",
    "rx:WSARecv(wsarecv.buffer(8))", [[
      -- the socket still receives, nonoverlapped
      send("next")
      local b = wsarecv.buffer(8)
      local r, n = rx:WSARecv(b)
      assert(r == 0 and b:sub(1, n) == "next")
    ]] },
  { "a blocking accept", [[
      local l = wsarecv.socket("inet", "stream")
      assert(l:bind("127.0.0.1", 0) == 0 and l:listen() == 0)
    ]], "l:accept()", "" },
  { "a blocking send into a full stream", [[
      local l = wsarecv.socket("inet", "stream")
      assert(l:bind("127.0.0.1", 0) == 0 and l:listen() == 0)
      local _, lport = l:getsockname()
      local c = wsarecv.socket("inet", "stream")
      assert(c:connect("127.0.0.1", lport) == 0)
      local a = assert(l:accept())
      local chunk = ("x"):rep(65536)
      assert(c:setsockopt("FIONBIO", true) == 0)
      while c:send(chunk) do end          -- until WSAEWOULDBLOCK
      assert(c:setsockopt("FIONBIO", false) == 0)
    ]], "c:send(chunk)", "" },
}

describe("#linux Ctrl-C (SIGINT) in a wait", function()
  for _, w in ipairs(WAITS) do
    it("ends " .. w[1] .. " with 'interrupted!', and the script goes on",
      function()
        local out, how, rc = interrupt(w[2] .. [[
          ready()
          local ok, err = pcall(function() ]] .. w[3] .. [[ end)
          print("CAUGHT", ok, err)
        ]] .. w[4] .. [[
          print("END")
        ]])
        assert_caught(out, how, rc)
      end)
  end

  -- luv's uv_signal_t is a SIGINT handler that sets no hook: the wait's
  -- own result shows, and luv still gets the signal (at its next run)
  for _, w in ipairs(WAITS) do
    it("under a handler without lua.c's hook (luv's), " .. w[1]
      .. " returns nil, WSAEINTR, 10004; the handler still runs", function()
        local out, how, rc = interrupt([[
          local uv = require "luv"
          local luvgot = 0
          local sig = uv.new_signal()
          sig:start("sigint", function() luvgot = luvgot + 1 end)
        ]] .. w[2] .. [[
          ready()
          print("RESULT", ]] .. w[3] .. [[)
          uv.run("nowait")
          print("LUV", luvgot)
        ]] .. w[4] .. [[
          print("END")
        ]])
        H.assert_no_crash(out)
        assert.truthy(out:find("RESULT\tnil\tWSAEINTR\t10004", 1, false), out)
        assert.truthy(out:find("LUV\t1\n", 1, true), out)
        assert.truthy(out:find("END", 1, true), out)
        assert.same({ "exit", 0 }, { how, rc }, out)
      end)
  end

  it("a second Ctrl-C after 'interrupted!' ends the process: lua.c's "
    .. "SIG_DFL stays in place", function()
      local out, how, rc = interrupt([[
        ready()
        local ok, err = pcall(wsarecv.SleepEx, 30000)
        print("CAUGHT", ok, err)
        ready()
        wsarecv.SleepEx(30000)
        print("NOT REACHED")
      ]])
      assert.truthy(out:find("CAUGHT\tfalse\t[^\n]*interrupted!"), out)
      assert.falsy(out:find("NOT REACHED", 1, true), out)
      -- killed by SIGINT (timeout reports it as 128 + 2)
      assert.truthy((how == "signal" and rc == 2) or
        (how == "exit" and rc == 130), out)
    end)

  it("ends a blocking connect; the attempt goes on in the kernel",
    function()
      -- a listener whose backlog is full: the next SYN is dropped, and a
      -- blocking connect waits for its retransmissions
      local out, how, rc = interrupt([[
        local l = wsarecv.socket("inet", "stream")
        assert(l:bind("127.0.0.1", 0) == 0 and l:listen(0) == 0)
        local _, lport = l:getsockname()
        local fill = {}
        for i = 1, 8 do
          local c = wsarecv.socket("inet", "stream")
          assert(c:setsockopt("FIONBIO", true) == 0)
          c:connect("127.0.0.1", lport)
          fill[i] = c
        end
        local c = wsarecv.socket("inet", "stream")
        ready()
        local ok, err = pcall(function() return c:connect("127.0.0.1", lport) end)
        print("CAUGHT", ok, err)
        print("END")
      ]])
      assert_caught(out, how, rc)
    end)

  it("without pcall ends the script with 'interrupted!'", function()
    local out, how, rc = interrupt([[
      ready()
      wsarecv.SleepEx(30000)
      print("NOT REACHED")
    ]])
    assert.truthy(out:find("interrupted!", 1, true), out)
    assert.falsy(out:find("NOT REACHED", 1, true), out)
    assert.same({ "exit", 1 }, { how, rc }, out)
  end)

  it("a receive pending before the interrupt completes afterwards, once",
    function()
      local out, how, rc = interrupt([[
        local rx, send = udp()
        local got = {}
        local ov = wsarecv.overlapped()
        rx:WSARecv(wsarecv.buffer(16), 0, ov, function(err, n, o)
          got[#got + 1] = tostring(err) .. " " .. n
        end)
        ready()
        local ok, err = pcall(wsarecv.SleepEx, 30000, true)
        print("CAUGHT", ok, err)
        print("PENDING", ov.pending, #got)
        send("hello")
        print(wsarecv.SleepEx(5000, true), table.concat(got, ","))
        print("END")
      ]])
      assert_caught(out, how, rc)
      assert.truthy(out:find("PENDING\ttrue\t0", 1, true), out)
      assert.truthy(out:find("WAIT_IO_COMPLETION\tnil 5\n", 1, true), out)
    end)

  -- The datagram and the signal come in the same wakeup: the child is
  -- stopped, the datagram queued, SIGINT made pending, then it goes on.
  local function same_wakeup(pid, port)
    kill("STOP", pid)
    local tx = wsarecv.socket("inet", "dgram")
    assert(tx:sendto("both", "127.0.0.1", port))
    tx:close()
    kill("INT", pid)
    kill("CONT", pid)
  end

  it("a completion that came with the signal is not lost: its routine "
    .. "runs in the next wait, once", function()
      local out, how, rc = interrupt([[
        local rx, _, port = udp()
        local got = {}
        local b = wsarecv.buffer(16)
        rx:WSARecv(b, 0, wsarecv.overlapped(), function(err, n)
          got[#got + 1] = tostring(err) .. " " .. b:sub(1, n)
        end)
        ready(port)
        local ok, err = pcall(wsarecv.SleepEx, 30000, true)
        print("CAUGHT", ok, err)
        for _ = 1, 3 do wsarecv.SleepEx(0, true) end
        print("GOT " .. table.concat(got, ","))
        print("END")
      ]], same_wakeup)
      assert_caught(out, how, rc)
      assert.truthy(out:find("GOT nil both\n", 1, true), out)
    end)

  it("an entry that came with the signal stays on the port for the next "
    .. "wait, once", function()
      local out, how, rc = interrupt([[
        local port, uport, b, ov = port_rx("k")
        ready(uport)
        local ok, err = pcall(port.GetQueuedCompletionStatus, port, 30000)
        print("CAUGHT", ok, err)
        local n, key, o = port:GetQueuedCompletionStatus(0)
        print("TAKEN", n, key, o == ov, n and b:sub(1, n))
        print("AGAIN", port:GetQueuedCompletionStatus(0))
        print("END")
      ]], same_wakeup)
      assert_caught(out, how, rc)
      assert.truthy(out:find("TAKEN\t4\tk\ttrue\tboth\n", 1, true), out)
      assert.truthy(out:find("AGAIN\tnil\tWAIT_TIMEOUT", 1, true), out)
    end)

  it("GetQueuedCompletionStatusEx: the entries that came with the signal "
    .. "are taken by the next wait", function()
      local out, how, rc = interrupt([[
        local port, uport, b, ov = port_rx("k")
        local e = { {}, {} }
        ready(uport)
        local ok, err = pcall(port.GetQueuedCompletionStatusEx, port, e, 30000)
        print("CAUGHT", ok, err)
        local n = port:GetQueuedCompletionStatusEx(e, 0)
        print("TAKEN", n, e[1].key, e[1].ov == ov, n and b:sub(1, e[1].bytes))
        print("END")
      ]], same_wakeup)
      assert_caught(out, how, rc)
      assert.truthy(out:find("TAKEN\t1\tk\ttrue\tboth\n", 1, true), out)
    end)

  it("in the REPL (lua5.4 -i fed from a pipe): the line raises "
    .. "'interrupted!', the next line runs", function()
      local lines = {
        "wsarecv = require 'wsarecv'",
        "io.stdout:setvbuf('no')",
        "f = io.open('/proc/self/stat') pid = f:read('l'):match('^(%d+)') f:close()",
        "print('READY ' .. pid .. ' 0') print('WAITED', wsarecv.SleepEx(30000))",
        "print('AFTER', 1 + 1)",
      }
      local out, how, rc = interrupt_cmd("printf '%s\\n' "
        .. table.concat((function()
          local q = {}
          for i, l in ipairs(lines) do q[i] = H.shq(l) end
          return q
        end)(), " ") .. " | " .. lua_cmd("-i"))
      H.assert_no_crash(out)
      assert.truthy(out:find("interrupted!", 1, true), out)
      assert.falsy(out:find("\nWAITED", 1, true), out)
      assert.truthy(out:find("AFTER\t2", 1, true), out)
      assert.same({ "exit", 0 }, { how, rc }, out)
    end)
end)
