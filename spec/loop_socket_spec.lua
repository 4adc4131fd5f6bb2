-- LuaSocket (Debian's lua-socket): socket.select on the module table
-- (it has getfd), wsarecv.socket's alertable select, and a LuaSocket
-- descriptor adopted without both libraries closing it.
local wsarecv = require "wsarecv"
local socket = require "socket"
local ws = require "wsarecv.socket"
local H = require "spec.support.helpers"

local T = H.tracker()

after_each(function()
  T.cleanup(function() H.drain(50, true) end)
  wsarecv.run("nowait")
end)

-- a LuaSocket UDP socket bound on loopback, and its port
local function luaudp()
  local u = assert(socket.udp())
  assert(u:setsockname("127.0.0.1", 0))
  local _, port = u:getsockname()
  return u, tonumber(port)
end

-- a reposting receive on rx that logs what arrives
local function receive_into(rx, log, count)
  for _ = 1, count or 1 do
    local buf = wsarecv.buffer(64)
    local function routine(err, n, ov)
      if err then return end
      log[#log + 1] = buf:sub(1, n)
      rx:WSARecv(buf, 0, ov, routine)
    end
    rx:WSARecv(buf, 0, nil, routine)
  end
end

describe("#linux LuaSocket", function()
  it("socket.select watches the module table (getfd is pollfd)", function()
    local ch = H.udp("inet", "127.0.0.1", { socket = T.socket })
    local log = {}
    receive_into(ch.rx, log)
    local tx = assert(socket.udp())
    for i = 1, 5 do tx:sendto("ls" .. i, "127.0.0.1", ch.port) end
    for _ = 1, 50 do
      if #log == 5 then break end
      local r = socket.select({ wsarecv }, nil, wsarecv.timeout() or 1)
      if r[wsarecv] then wsarecv.run("nowait") end
    end
    tx:close()
    assert.are.same({ "ls1", "ls2", "ls3", "ls4", "ls5" }, log)
  end)

  it("ws.select runs routines while waiting on LuaSocket's own sockets", function()
    local ch = H.udp("inet", "127.0.0.1", { socket = T.socket })
    local log = {}
    receive_into(ch.rx, log, 2)
    local u, uport = luaudp()
    local tx = assert(socket.udp())
    for i = 1, 3 do tx:sendto("w" .. i, "127.0.0.1", ch.port) end
    -- nothing for LuaSocket yet: a timeout, but wsarecv's datagrams arrive
    local r, w, err = ws.select({ u }, nil, 0.2)
    assert.are.same({}, r)
    assert.are.same({}, w)
    assert.are.equal("timeout", err)
    assert.are.same({ "w1", "w2", "w3" }, log)
    -- LuaSocket's socket ready: returned as socket.select would
    tx:sendto("for luasocket", "127.0.0.1", uport)
    r = ws.select({ u }, nil, 2)
    assert.are.equal(u, r[1])
    assert.are.equal(1, r[u])
    assert.is_nil(r[wsarecv])
    assert.are.equal("for luasocket", u:receive())
    u:close()
    tx:close()
  end)

  it("wrap(fd, {dup = true}): each library closes its own descriptor", function()
    local u, port = luaudp()
    local s = T.track(assert(ws.wrap(u)))
    assert.are_not.equal(math.tointeger(u:getfd()), s:fileno())
    assert.are.same({ "127.0.0.1", port }, { s:getsockname() })
    local log = {}
    receive_into(s, log)
    local tx = assert(socket.udp())
    tx:sendto("one", "127.0.0.1", port)
    assert.is_true(H.wait_for(function() return #log == 1 end))
    u:close()                            -- LuaSocket's: wsarecv's stays open
    tx:sendto("two", "127.0.0.1", port)
    assert.is_true(H.wait_for(function() return #log == 2 end))
    assert.are.same({ "one", "two" }, log)
    -- and the other way round: wsarecv closes its own, LuaSocket's lives
    local u2, port2 = luaudp()
    local s2 = assert(wsarecv.wrap(u2:getfd(), { dup = true }))
    s2:close()
    u2:settimeout(2)
    tx:sendto("three", "127.0.0.1", port2)
    assert.are.equal("three", u2:receive())
    u2:close()
    tx:close()
  end)

  it("wrap(fd) after setfd(-1): LuaSocket hands the descriptor over", function()
    local u, port = luaudp()
    local fd = math.tointeger(u:getfd())
    u:setfd(-1)                          -- LuaSocket forgets it
    local s = T.track(assert(wsarecv.wrap(fd)))
    assert.are.equal(fd, s:fileno())
    u:close()                            -- closes nothing now
    local log = {}
    receive_into(s, log)
    local tx = assert(socket.udp())
    tx:sendto("mine", "127.0.0.1", port)
    assert.is_true(H.wait_for(function() return #log == 1 end))
    tx:close()
  end)

  it("wrap checks its options; a bad descriptor to dup is WSAENOTSOCK", function()
    assert.matches("bad argument #2 to '[%w.]*wrap' %(table expected",
      H.raised(wsarecv.wrap, 0, "dup"))
    H.assert_fail("WSAENOTSOCK", 10038, wsarecv.wrap(0x7ffffff0, { dup = true }))
  end)
end)

-- issue 14 item 11: select() takes descriptors below FD_SETSIZE only, and
-- LuaSocket raises for one past it.  pollfd() is made once per state, so a
-- child with more than 1024 descriptors open makes it high.
describe("#linux ws.select past FD_SETSIZE", function()
  it("returns an error naming what to use instead; it does not raise", function()
    local out, how, rc = H.run_child([[
      local files = {}
      for i = 1, 1100 do files[i] = assert(io.open("/dev/null")) end
      local wsarecv = require "wsarecv"
      local socket = require "socket"
      local ws = require "wsarecv.socket"
      local fd = assert(wsarecv.pollfd())
      assert(fd >= socket._SETSIZE, "pollfd " .. fd .. " is not high")
      local ok, r, w, err = pcall(ws.select, {}, nil, 0)
      print("END", ok, type(r) == "table" and #r or r, type(w) == "table" and #w, err)
    ]])
    H.assert_exit(out, how, rc, 0)
    assert.matches("^END\ttrue\t0\t0\twsarecv.pollfd%(%) %d+ is past "
      .. "socket._SETSIZE: use wsarecv.luv, cqueues or poll/epoll\n$", out)
  end)
end)
