-- issue 16: the async examples.  examples/echo.lua (a TCP and UDP echo
-- server) and examples/tcpproxy.lua (a TCP proxy with per-connection idle
-- timeouts), driven by real clients over loopback: in this process through
-- their parts (require "examples.echo"), and on Linux as the commands
-- users run, in child processes bounded by `timeout`.
local wsarecv = require "wsarecv"
local async = require "wsarecv.async"
local H = require "spec.support.helpers"

local T = require "spec.support.tasks"(before_each, after_each)

-- async.run with a watchdog: after `secs` it runs `stop` (which closes
-- what the tasks wait on) and fails the test.
local function run(secs, stop)
  local stuck = false
  async.spawn(function()
    local deadline = wsarecv.now() + secs
    while async.count() > 1 do
      if wsarecv.now() > deadline then
        stuck = true
        stop()
        T.cleanup()
        return
      end
      async.sleep(20)
    end
  end)
  async.run()
  assert.is_false(stuck, "the tasks did not end in time")
end

-- client k's bytes: distinct per client and per offset
local function data_for(k, n)
  local t = {}
  for i = 1, n do t[i] = string.char((k * 31 + i) % 251) end
  return table.concat(t)
end

local N = 100

describe("examples/tcpproxy.lua", function()
  it("relays 100 concurrent clients to an echo upstream: every byte back, "
     .. "in order; a silent connection ends on the idle time", function()
    local echo = require "examples.echo"
    local proxy = require "examples.tcpproxy"
    local el, eu, eport = echo.serve("127.0.0.1", 0, 20000, N + 1)
    assert.is_truthy(el, eu)
    T.track(el)
    T.track(eu)
    local l, port = proxy.listen("127.0.0.1", 0)
    T.track(assert(l, port))
    local ended, timedout, relayed = 0, 0, 0
    async.spawn(proxy.serve, l, "127.0.0.1", eport, { idle = 300,
      count = N + 1, log = function(conn)
        ended = ended + 1
        relayed = relayed + conn.bytes
        if conn.timedout then timedout = timedout + 1 end
        assert.is_nil(conn.failed)
      end })
    local results, total = {}, 0
    for k = 1, N do
      local data = data_for(k, 1500 * k)     -- 1.5 KB .. 150 KB
      total = total + 2 * #data
      async.spawn(function() results[k] = proxy.client(port, data) or "ok" end)
    end
    local silent
    async.spawn(function()
      local c = T.socket("inet", "stream")
      assert(async.connect(c, "127.0.0.1", port))
      silent = H.pack(async.recv(c, wsarecv.buffer(8)))
    end)
    run(60, function() l:close() el:close() end)
    for k = 1, N do assert.are.equal("ok", results[k], "client " .. k) end
    assert.are.same({ 0, 0, n = 2 }, silent)      -- closed by the proxy
    assert.are.equal(N + 1, ended)
    assert.are.equal(1, timedout)
    assert.are.equal(total, relayed)
    print(("[measure] tcpproxy: %d clients, %.1f MB relayed both ways")
      :format(N, relayed / 1e6))
  end)

  it("an idle direction is not closed while the other one moves", function()
    local proxy = require "examples.tcpproxy"
    -- the upstream: reads nothing, writes a byte every 50 ms for 0.5 s
    local ul = T.socket("inet", "stream")
    assert.are.equal(0, ul:bind("127.0.0.1", 0))
    assert.are.equal(0, ul:listen())
    local _, uport = ul:getsockname()
    async.spawn(function()
      local s = T.track((assert(async.accept(ul))))
      for _ = 1, 10 do
        async.sleep(50)
        assert(async.send(s, "."))
      end
      s:shutdown("send")
    end)
    local l, port = proxy.listen("127.0.0.1", 0)
    T.track(l)
    local conn
    async.spawn(proxy.serve, l, "127.0.0.1", uport, { idle = 200, count = 1,
      log = function(c) conn = c end })
    local got
    async.spawn(function()
      local c = T.socket("inet", "stream")
      assert(async.connect(c, "127.0.0.1", port))
      local buf, parts = wsarecv.buffer(8), {}
      while true do
        local n = assert(async.recv(c, buf))
        if n == 0 then break end
        parts[#parts + 1] = buf:sub(1, n)
      end
      got = table.concat(parts)
      c:shutdown("send")
    end)
    run(20, function() l:close() end)
    assert.are.equal("..........", got)
    assert.is_falsy(conn.timedout)
  end)

  it("an upstream that refuses: the client is closed, the failure logged",
     function()
    local proxy = require "examples.tcpproxy"
    local dead = T.socket("inet", "stream")
    assert.are.equal(0, dead:bind("127.0.0.1", 0))
    local _, dport = dead:getsockname()
    dead:close()
    local l, port = proxy.listen("127.0.0.1", 0)
    T.track(l)
    local conn, r
    async.spawn(proxy.serve, l, "127.0.0.1", dport, { count = 1,
      log = function(c) conn = c end })
    async.spawn(function()
      local c = T.socket("inet", "stream")
      assert(async.connect(c, "127.0.0.1", port))
      r = H.pack(async.recv(c, wsarecv.buffer(8)))
    end)
    run(20, function() l:close() end)
    assert.are.equal(0, r[1])
    assert.matches("WSAECONNREFUSED", conn.failed)
  end)
end)

describe("examples/echo.lua", function()
  it("echoes TCP connections and UDP datagrams to their sources", function()
    local echo = require "examples.echo"
    local l, u, port = echo.serve("127.0.0.1", 0, 5000)
    assert.is_truthy(l, u)
    T.track(l)
    T.track(u)
    local tcp, udp = {}, {}
    for k = 1, 3 do
      async.spawn(function()
        local c = T.socket("inet", "stream")
        local data = data_for(k, 100000 * k)
        assert(async.connect(c, "127.0.0.1", port, data))
        c:shutdown("send")
        local buf, parts = wsarecv.buffer(65536), {}
        while true do
          local n = assert(async.recv(c, buf))
          if n == 0 then break end
          parts[#parts + 1] = buf:sub(1, n)
        end
        tcp[k] = table.concat(parts) == data
        c:close()
      end)
      async.spawn(function()
        local s = T.socket("inet", "dgram")
        local buf = wsarecv.buffer(2048)
        local same = true     -- udp[k] is set once both came back: the
        for i = 1, 2 do       -- task below counts the finished clients
          local d = data_for(k * 10 + i, 1000)
          assert(async.sendto(s, d, "127.0.0.1", port))
          local n = assert(echo.within(5000, async.recv, s, buf))
          same = same and buf:sub(1, n) == d
        end
        udp[k] = same
      end)
    end
    async.spawn(function()          -- the clients are done: stop the server
      while #tcp + #udp < 6 do async.sleep(10) end
      l:close()
      u:close()
    end)
    run(30, function() l:close() u:close() end)
    assert.are.same({ true, true, true }, tcp)
    assert.are.same({ true, true, true }, udp)
  end)
end)

-- The commands as users run them: children bounded by `timeout`, their
-- "serving" lines read through a pipe (Linux: the Windows harness runs
-- children to their end only).
describe("#linux the example commands", function()
  local function command(script, args)
    return ("env LUA_PATH=%s LUA_CPATH=%s timeout -k 2 40 lua5.4 %s %s 2>&1")
      :format(H.shq(package.path), H.shq(package.cpath), script, args)
  end

  -- a child: its pipe, its first line; a failed test kills it (timeout's
  -- pid, which passes the signal on) rather than wait for its bound
  local function start(script, args)
    local p = assert(io.popen("echo $$; exec " .. command(script, args)))
    local pid = p:read("l")
    finally(function() os.execute("kill " .. pid .. " 2>/dev/null") end)
    return p, p:read("l")
  end

  it("echo.lua and tcpproxy.lua in their own processes: 100 clients", function()
    local e, eline = start("examples/echo.lua", "-p 0 -c " .. N)
    local eport = tonumber(eline and eline:match(":(%d+)$"))
    assert.is_truthy(eport, eline)
    local p, pline = start("examples/tcpproxy.lua",
      ("-p 0 -c %d -t 20 -u 127.0.0.1:%d"):format(N, eport))
    local port = tonumber(pline and pline:match("127%.0%.0%.1:(%d+) %->"))
    assert.is_truthy(port, pline)
    local proxy = require "examples.tcpproxy"
    local results = {}
    for k = 1, N do
      async.spawn(function()
        results[k] = proxy.client(port, data_for(k, 1000 * k)) or "ok"
      end)
    end
    run(60, function() end)
    for k = 1, N do assert.are.equal("ok", results[k], "client " .. k) end
    -- each ends by itself after its N connections
    local pout = p:read("a")
    local _, phow, prc = p:close()
    assert.are.same({ "exit", 0 }, { phow, prc }, pout)
    local eout = e:read("a")
    local _, ehow, erc = e:close()
    assert.are.same({ "exit", 0 }, { ehow, erc }, eout)
  end)

  it("--selftest of each", function()
    for _, script in ipairs { "examples/echo.lua", "examples/tcpproxy.lua" } do
      local f = assert(io.popen(command(script, "--selftest")))
      local out = f:read("a")
      local _, how, rc = f:close()
      assert.are.same({ "exit", 0 }, { how, rc }, out)
      assert.matches("selftest: ", out)
    end
  end)
end)

-- `make tour` (examples/demo.lua): its send section runs to the end.
-- #linux: it runs in a child process, which the Windows harness cannot
-- bound (no `timeout` there), and `make tour` is a Linux target.
describe("#linux the tour", function()
  it("shows WSASendTo with a routine, AcceptEx/ConnectEx and async.send",
     function()
    local out, how, rc = H.run_child('dofile("examples/demo.lua")', 60)
    H.assert_exit(out, how, rc, 0)
    out = out:gsub("\r", "")
    assert.matches("5%. The sending half", out)
    assert.matches("routine%(err=nil, bytes=4%)", out)
    assert.matches("a datagram too big: nothing sent, no routine %-> nil, "
      .. "WSAEMSGSIZE, 10040", out)
    assert.matches('accept routine%(err=nil, bytes=2%): "hi" from 127%.0%.0%.1', out)
    assert.matches("connect routine%(err=nil, bytes=2%)", out)
    assert.matches("async%.send #4 %-> 1048576", out)
    assert.matches("the reader: 4194304 bytes, then the end of the stream", out)
    assert.matches("async%.timeout%(50, async%.accept, ls%) %-> nil, "
      .. "WAIT_TIMEOUT, 258", out)
    assert.matches("\ndone%.\n$", out)
  end)
end)
