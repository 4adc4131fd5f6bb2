-- issue 16: wsarecv.async sends, accepts and connects.  async.send,
-- sendto, sendmsg, accept and connect post WSASend, WSASendTo, WSASendMsg,
-- AcceptEx (on the listener) and ConnectEx; the task waits, nothing
-- blocks the process.  async.timeout, async.cancel and coroutine.close end
-- just the operation the task waits on.
--
-- Every test runs its tasks under a watchdog: a stuck task makes the test
-- fail after a few seconds (its sockets closed), never hang the run.
local wsarecv = require "wsarecv"
local async = require "wsarecv.async"
local H = require "spec.support.helpers"

local T = require "spec.support.tasks"(before_each, after_each)

-- async.run with a watchdog task: after `secs` (default 10) it closes the
-- test's sockets (every pending operation aborts) and fails the test.
local function run(secs)
  local stuck = false
  async.spawn(function()
    local deadline = wsarecv.now() + (secs or 10)
    while async.count() > 1 do
      if wsarecv.now() > deadline then
        stuck = true
        T.cleanup()
        return
      end
      async.sleep(20)
    end
  end)
  async.run()
  assert.is_false(stuck, "the tasks did not end in time")
end

local function listener(family)
  local l = T.socket(family or "inet", "stream")
  assert.are.equal(0, l:bind(family == "inet6" and "::1" or "127.0.0.1", 0))
  assert.are.equal(0, l:listen())
  local _, port = l:getsockname()
  return l, port
end

-- A connected TCP pair made by the tasks' own calls: client, server side.
local function tcp_pair()
  local l, port = listener()
  local c = T.socket("inet", "stream")
  local a
  async.spawn(function() a = T.track((assert(async.accept(l)))) end)
  async.spawn(function() assert(async.connect(c, "127.0.0.1", port)) end)
  run()
  return c, a
end

-- the stream's byte at offset i (0-based): a pattern that shows order
local function pattern(from, n)
  local t = {}
  for i = 0, n - 1 do t[i + 1] = string.char((from + i) % 251) end
  return table.concat(t)
end

-- Read sock until the peer closes; -> the bytes, or nil and the error.
local function read_all(sock, bufsize)
  local buf, parts = wsarecv.buffer(bufsize or 65536), {}
  while true do
    local n, err = async.recv(sock, buf)
    if n == nil then return nil, err end
    if n == 0 then return table.concat(parts) end
    parts[#parts + 1] = buf:sub(1, n)
  end
end

describe("async.send", function()
  -- The issue's first case: with the blocking sock:send the 5th MiB
  -- blocked the whole process and the reader never ran.  Small socket
  -- buffers make sure the reader must run while the sends are under way.
  it("two tasks on one TCP connection: 8 x 1 MiB sent while the other "
     .. "reads; every byte arrives, in order", function()
    local c, a = tcp_pair()
    assert.are.equal(0, c:setsockopt("SO_SNDBUF", 65536))
    assert.are.equal(0, a:setsockopt("SO_RCVBUF", 65536))
    local MiB = 1 << 20
    local chunks = {}
    for i = 1, 8 do chunks[i] = pattern((i - 1) * MiB, MiB) end
    local sent, read_when_sent, received = {}, {}, 0
    local got
    async.spawn(function()
      local buf, parts = wsarecv.buffer(65536), {}
      while true do
        local n = assert(async.recv(a, buf))
        if n == 0 then break end
        received = received + n
        parts[#parts + 1] = buf:sub(1, n)
      end
      got = table.concat(parts)
    end)
    async.spawn(function()
      for i = 1, 8 do
        sent[i] = H.pack(async.send(c, chunks[i]))
        read_when_sent[i] = received
      end
      c:shutdown("send")
    end)
    run(30)
    for i = 1, 8 do assert.are.same({ MiB, n = 1 }, sent[i]) end
    assert.are.equal(8 * MiB, #got)
    assert.is_true(got == table.concat(chunks), "the bytes differ")
    -- the reader ran while the sends waited
    assert.is_true(read_when_sent[8] > 0 and read_when_sent[1] < 8 * MiB)
  end)

  it("sends of several tasks on one socket go out whole, in the order "
     .. "they were made", function()
    local c, a = tcp_pair()
    assert.are.equal(0, c:setsockopt("SO_SNDBUF", 32768))
    local SIZE, N = 200000, 4
    local order, done = {}, 0
    for _, who in ipairs { "A", "B", "C" } do
      async.spawn(function()
        local buf = wsarecv.buffer(string.rep(who, SIZE))
        for _ = 1, N do
          order[#order + 1] = who       -- made now, in this order
          assert.are.equal(SIZE, async.send(c, buf))
          done = done + 1
        end
        if done == 3 * N then c:shutdown("send") end
      end)
    end
    local got
    async.spawn(function() got = assert(read_all(a)) end)
    run(30)
    assert.are.equal(3 * N * SIZE, #got)
    for k = 1, 3 * N do
      local block = got:sub((k - 1) * SIZE + 1, k * SIZE)
      assert.are.equal(string.rep(order[k], SIZE), block, "block " .. k)
    end
  end)

  it("a slice array and a string; flags; a send that fails to start",
     function()
    local c, a = tcp_pair()
    local r = {}
    async.spawn(function()
      local head, body = wsarecv.buffer("HEAD"), wsarecv.buffer("xxbodyxx")
      r.arr = H.pack(async.send(c, { head, { body, 2, 4 } }))
      r.str = H.pack(async.send(c, "tail", 0))
      c:shutdown("send")
      r.shut = H.pack(async.send(c, "more"))
      local closed = T.socket("inet", "stream")
      closed:close()
      r.closed = H.pack(async.send(closed, "x"))
    end)
    local got
    async.spawn(function() got = read_all(a) end)
    run()
    assert.are.same({ 8, n = 1 }, r.arr)
    assert.are.same({ 4, n = 1 }, r.str)
    assert.are.same({ nil, "WSAESHUTDOWN", 10058, n = 3 }, r.shut)
    assert.are.same({ nil, "WSAENOTSOCK", 10038, n = 3 }, r.closed)
    assert.are.equal("HEADbodytail", got)
  end)

  it("keeps a steady stream of sends free of allocation", function()
    local ch = H.udp("inet", "127.0.0.1", { socket = T.socket })
    assert.are.equal(0, ch.tx:connect("127.0.0.1", ch.port))
    local N = 10000
    local kb, done
    local received = 0
    async.spawn(function()
      local buf = wsarecv.buffer("0123456789")
      local send = async.send
      for i = 1, N do
        if i == 1001 then
          collectgarbage("collect")
          collectgarbage("stop")
          kb = collectgarbage("count")
        end
        if send(ch.tx, buf) ~= 10 then error("send failed") end
        -- bursts of 50: let the receiver keep up (the kernel's buffer
        -- holds a burst)
        if i % 50 == 0 then
          while received < i do async.sleep(0) end
        end
      end
      kb = collectgarbage("count") - kb
      collectgarbage("restart")
      done = true
    end)
    async.spawn(function()
      local buf = wsarecv.buffer(64)
      for _ = 1, N do
        if async.recv(ch.rx, buf) ~= 10 then error("receive failed") end
        received = received + 1
      end
    end)
    run(30)
    collectgarbage("restart")
    assert.is_true(done)
    print(("[measure] async.send: %.1f KiB of Lua heap growth over %d "
      .. "sends (after 1000 to warm up)"):format(kb, N - 1000))
    assert.is_true(kb < 64, kb .. " KiB")
  end)
end)

describe("async.sendto and async.sendmsg", function()
  it("send datagrams to an address, whole, in order", function()
    local ch = H.udp("inet", "127.0.0.1", { socket = T.socket })
    local tx = T.socket("inet", "dgram")          -- unbound: bound by the call
    local r, got = {}, {}
    async.spawn(function()
      r[1] = H.pack(async.sendto(tx, "one", "127.0.0.1", ch.port))
      r[2] = H.pack(async.sendto(tx, wsarecv.buffer("two"), "127.0.0.1",
        ch.port, 0))
      local msg = wsarecv.msg { buffers = wsarecv.buffer("three"),
        to = { "127.0.0.1", ch.port } }
      r[3] = H.pack(async.sendmsg(tx, msg))
      r[4] = H.pack(async.sendto(tx, string.rep("x", 70000), "127.0.0.1",
        ch.port))
    end)
    async.spawn(function()
      local buf = wsarecv.buffer(16)
      for i = 1, 3 do
        local n = assert(async.recv(ch.rx, buf))
        got[i] = buf:sub(1, n)
      end
    end)
    run()
    assert.are.same({ 3, n = 1 }, r[1])
    assert.are.same({ 3, n = 1 }, r[2])
    assert.are.same({ 5, n = 1 }, r[3])
    assert.are.same({ nil, "WSAEMSGSIZE", 10040, n = 3 }, r[4])
    assert.are.same({ "one", "two", "three" }, got)
    local _, port = tx:getsockname()
    assert.are_not.equal(0, port)
  end)

  -- (WSAEINVAL on Windows; what the call itself answers, either way)
  it("sendmsg on a stream socket fails at once, as WSASendMsg does",
     function()
    local c = tcp_pair()
    local msg = wsarecv.msg { buffers = wsarecv.buffer("x") }
    local direct = H.pack(c:WSASendMsg(msg, 0, wsarecv.overlapped()))
    local r
    async.spawn(function() r = H.pack(async.sendmsg(c, msg)) end)
    run()
    assert.is_nil(direct[1])
    assert.are_not.equal("WSA_IO_PENDING", direct[2])
    assert.are.same({ nil, direct[2], direct[3], n = 3 }, r)
  end)
end)

describe("async.accept and async.connect", function()
  it("accept returns the connection and the peer; connect binds an "
     .. "unbound socket and sends its first data", function()
    local l, port = listener()
    local c = T.socket("inet", "stream")
    local acc, con, first
    async.spawn(function()
      acc = H.pack(async.accept(l))
      T.track(acc[1])
      local buf = wsarecv.buffer(16)
      local n = assert(async.recv(acc[1], buf))
      first = buf:sub(1, n)
    end)
    async.spawn(function()
      con = H.pack(async.connect(c, "127.0.0.1", port, "hello"))
    end)
    run()
    assert.are.same({ 0, 5, n = 2 }, con)
    assert.are.equal("hello", first)
    local caddr, cport = c:getsockname()
    assert.are.equal("127.0.0.1", caddr)
    assert.are.same({ "127.0.0.1", cport }, { acc[2], acc[3] })
    assert.are.same({ "127.0.0.1", cport }, { acc[1]:getpeername() })
    assert.are.same({ "127.0.0.1", port }, { c:getpeername() })
    assert.matches("^wsarecv%.socket %(inet/stream", tostring(acc[1]))
  end)

  it("inet6 and an already bound socket", function()
    local l, port = listener("inet6")
    local c = T.socket("inet6", "stream")
    assert.are.equal(0, c:bind("::1", 0))
    local _, cport = c:getsockname()
    local acc, con
    async.spawn(function()
      acc = H.pack(async.accept(l))
      T.track(acc[1])
    end)
    async.spawn(function() con = H.pack(async.connect(c, "::1", port)) end)
    run()
    assert.are.same({ 0, 0, n = 2 }, con)
    assert.are.same({ "::1", cport }, { acc[2], acc[3] })
  end)

  it("many accepts pending on one listener each take one connection",
     function()
    local l, port = listener()
    local N = 10
    local seen, peers = {}, {}
    for _ = 1, N do
      async.spawn(function()
        local s, _, p = assert(async.accept(l))
        T.track(s)
        seen[#seen + 1] = p
      end)
    end
    for i = 1, N do
      async.spawn(function()
        local c = T.socket("inet", "stream")
        assert(async.connect(c, "127.0.0.1", port))
        local _, p = c:getsockname()
        peers[i] = p
      end)
    end
    run()
    table.sort(seen)
    table.sort(peers)
    assert.are.same(peers, seen)
  end)

  it("fail with nil, name, code", function()
    local _, port = listener()
    local notl = T.socket("inet", "stream")
    local udp = T.socket("inet", "dgram")
    local dead = T.socket("inet", "stream")
    assert.are.equal(0, dead:bind("127.0.0.1", 0))
    local _, deadport = dead:getsockname()
    dead:close()
    local r = {}
    async.spawn(function()
      r.notlistening = H.pack(async.accept(notl))
      r.dgram = H.pack(async.accept(udp))
      local closed = T.socket("inet", "stream")
      closed:close()
      r.closed = H.pack(async.accept(closed))
      r.refused = H.pack(async.connect(T.socket("inet", "stream"),
        "127.0.0.1", deadport))
      local c = T.socket("inet", "stream")
      assert(async.connect(c, "127.0.0.1", port))
      r.isconn = H.pack(async.connect(c, "127.0.0.1", port))
      r.connect_dgram = H.pack(async.connect(T.socket("inet", "dgram"),
        "127.0.0.1", port))
    end)
    run()
    assert.are.same({ nil, "WSAEINVAL", 10022, n = 3 }, r.notlistening)
    assert.are.same({ nil, "WSAEOPNOTSUPP", 10045, n = 3 }, r.dgram)
    assert.are.same({ nil, "WSAENOTSOCK", 10038, n = 3 }, r.closed)
    assert.are.same({ nil, "WSAECONNREFUSED", 10061, n = 3 }, r.refused)
    assert.are.same({ nil, "WSAEISCONN", 10056, n = 3 }, r.isconn)
    assert.are.same({ nil, "WSAEOPNOTSUPP", 10045, n = 3 }, r.connect_dgram)
  end)

  it("refuse a wrong type and calls outside a task", function()
    local l = listener()
    local e = {}
    async.spawn(function()
      e.accept = H.raised(async.accept, "nope")
      e.connect = H.raised(async.connect, 42, "127.0.0.1", 1)
      e.port = H.raised(async.connect, T.socket("inet", "stream"),
        "127.0.0.1", 70000)
      e.send = H.raised(async.send, T.socket("inet", "stream"), 42)
    end)
    run()
    assert.matches("bad argument #1 to 'accept'", e.accept)
    assert.matches("bad argument #1 to 'connect'", e.connect)
    assert.matches("port", e.port)
    assert.matches("bad argument", e.send)
    assert.matches("not inside a task", H.raised(async.accept, l))
    assert.matches("not inside a task", H.raised(async.send, l, "x"))
    assert.matches("not inside a task",
      H.raised(async.connect, T.socket("inet", "stream"), "127.0.0.1", 1))
  end)
end)

-- A connect that stays pending: the listener's backlog is full, so Linux
-- drops the next SYN (Windows refuses it instead, hence #linux).
local function full_listener()
  local l, port = listener()
  assert.are.equal(0, l:close())
  l = T.socket("inet", "stream")
  assert.are.equal(0, l:bind("127.0.0.1", port))
  assert.are.equal(0, l:listen(0))
  for _ = 1, 2 do                     -- backlog 0 takes one: two to be sure
    local c = T.socket("inet", "stream")
    assert.are.equal(0, c:setsockopt("FIONBIO", true))
    c:connect("127.0.0.1", port)
  end
  return l, port
end

-- A send that stays pending: the peer does not read, the buffers are
-- small, the data large.
local BIG = string.rep("z", 8 << 20)
local function stuck_pair()
  local c, a = tcp_pair()
  assert.are.equal(0, c:setsockopt("SO_SNDBUF", 16384))
  assert.are.equal(0, a:setsockopt("SO_RCVBUF", 16384))
  return c, a
end

describe("async.timeout and async.cancel on the new operations", function()
  it("a send that does not finish in time ends, says how much left, and "
     .. "exactly that much arrives", function()
    local c, a = stuck_pair()
    local r, inner, after
    async.spawn(function()
      r = H.pack(async.timeout(50, function()
        inner = H.pack(async.send(c, BIG))
        return "returned"
      end))
      after = H.pack(async.send(c, "END"))
      c:shutdown("send")
    end)
    local got
    async.spawn(function()
      async.sleep(100)
      got = read_all(a)
    end)
    run(20)
    assert.are.same({ nil, "WAIT_TIMEOUT", 258, n = 3 }, r)
    assert.are.equal(4, inner.n)
    assert.are.same({ nil, "WSA_OPERATION_ABORTED", 995 },
      { inner[1], inner[2], inner[3] })
    assert.is_true(inner[4] > 0 and inner[4] < #BIG, tostring(inner[4]))
    assert.are.same({ 3, n = 1 }, after)
    assert.are.equal(inner[4] + 3, #got)
    assert.is_true(got == BIG:sub(1, inner[4]) .. "END")
  end)

  it("async.cancel ends a task's send; the task goes on", function()
    local c, a = stuck_pair()
    local r, after, ended
    local task = async.spawn(function()
      r = H.pack(async.send(c, BIG))
      after = H.pack(async.send(c, "!"))
      c:shutdown("send")
    end)
    async.spawn(function()
      async.sleep(30)
      ended = async.cancel(task)
    end)
    local got
    async.spawn(function()
      async.sleep(60)
      got = read_all(a)
    end)
    run(20)
    assert.is_true(ended)
    assert.are.same({ nil, "WSA_OPERATION_ABORTED", 995 }, { r[1], r[2], r[3] })
    assert.are.same({ 1, n = 1 }, after)
    assert.are.equal(r[4] + 1, #got)
  end)

  it("an accept that does not come in time: only that AcceptEx ends; the "
     .. "listener accepts the next", function()
    local l, port = listener()
    local r, second, con
    async.spawn(function()
      r = H.pack(async.timeout(20, async.accept, l))
      local s = assert(async.accept(l))
      T.track(s)
      second = { s:getpeername() }
    end)
    local c = T.socket("inet", "stream")
    async.spawn(function()
      async.sleep(60)
      con = H.pack(async.connect(c, "127.0.0.1", port))
    end)
    run()
    assert.are.same({ nil, "WAIT_TIMEOUT", 258, n = 3 }, r)
    assert.are.same({ 0, 0, n = 2 }, con)
    assert.are.same({ c:getsockname() }, second)
  end)

  it("async.cancel ends an accept; another task's accept stays", function()
    local l, port = listener()
    local r, other, ended
    local ta = async.spawn(function() r = H.pack(async.accept(l)) end)
    async.spawn(function()
      local s = assert(async.accept(l))
      T.track(s)
      other = true
    end)
    async.spawn(function()
      async.sleep(10)
      ended = async.cancel(ta)
      async.sleep(10)
      assert(async.connect(T.socket("inet", "stream"), "127.0.0.1", port))
    end)
    run()
    assert.is_true(ended)
    assert.are.same({ nil, "WSA_OPERATION_ABORTED", 995, n = 3 }, r)
    assert.is_true(other)
  end)

  it("a connect that does not finish in time: only that ConnectEx ends "
     .. "#linux", function()
    local _, port = full_listener()
    local r, kept
    local other = H.udp("inet", "127.0.0.1", { socket = T.socket })
    async.spawn(function()
      r = H.pack(async.timeout(50, async.connect, T.socket("inet", "stream"),
        "127.0.0.1", port))
    end)
    async.spawn(function()
      local buf = wsarecv.buffer(8)
      kept = buf:sub(1, assert(async.recv(other.rx, buf)))
    end)
    async.spawn(function()
      async.sleep(100)
      other.send("kept")
    end)
    run()
    assert.are.same({ nil, "WAIT_TIMEOUT", 258, n = 3 }, r)
    assert.are.equal("kept", kept)
  end)

  it("async.cancel ends a connect #linux", function()
    local _, port = full_listener()
    local r, ended
    local task = async.spawn(function()
      r = H.pack(async.connect(T.socket("inet", "stream"), "127.0.0.1", port))
    end)
    async.spawn(function()
      async.sleep(20)
      ended = async.cancel(task)
    end)
    run()
    assert.is_true(ended)
    assert.are.same({ nil, "WSA_OPERATION_ABORTED", 995, n = 3 }, r)
  end)
end)

describe("coroutine.close on a task blocked in", function()
  -- rounds of the tasks' loop, as an adapter runs them, at most n
  local function rounds(n, pred)
    for _ = 1, n do
      wsarecv.run("nowait")
      if pred() then return true end
    end
    return false
  end

  local function close_blocked(body)
    local running = false
    local task = async.spawn(function()
      running = true
      body()
      error("a closed task must not resume")
    end)
    assert.is_true(rounds(20, function() return running end))
    assert.are.equal("suspended", coroutine.status(task))
    assert.is_true(coroutine.close(task))
    assert.are.equal(0, async.count())
    async.run()                              -- returns at once
    H.drain(20)
  end

  it("a send: cancelled; the socket goes on sending", function()
    local c, a = stuck_pair()
    close_blocked(function() async.send(c, BIG) end)
    local got
    async.spawn(function()
      assert(async.send(c, "tail"))
      c:shutdown("send")
    end)
    async.spawn(function() got = assert(read_all(a)) end)
    run(20)
    assert.are.equal("tail", got:sub(-4))
  end)

  it("an accept: cancelled; the next accept takes the connection",
     function()
    local l, port = listener()
    close_blocked(function() async.accept(l) end)
    local s
    async.spawn(function() s = T.track((assert(async.accept(l)))) end)
    async.spawn(function()
      assert(async.connect(T.socket("inet", "stream"), "127.0.0.1", port))
    end)
    run()
    assert.is_truthy(s:getpeername())
  end)

  it("a connect: cancelled, forgotten #linux", function()
    local _, port = full_listener()
    local c = T.socket("inet", "stream")
    close_blocked(function() async.connect(c, "127.0.0.1", port) end)
  end)
end)
