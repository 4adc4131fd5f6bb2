-- examples/tcpproxy.lua: a TCP proxy on wsarecv.async.  It accepts
-- (async.accept), connects to the upstream (async.connect, bounded by a
-- connect timeout), and relays both ways in two tasks per connection
-- (async.recv, async.send of the same bytes), passing each half-close on.
-- A connection with no data either way for the idle time is closed.
-- Nothing blocks: a slow peer holds only its own tasks.
--
--   lua5.4 examples/tcpproxy.lua -u HOST:PORT [-h] [-b ADDR] [-p PORT]
--                                [-t SECONDS] [-c COUNT] [--selftest]
--
-- With -c it stops after COUNT connections have been accepted and have
-- ended.  --selftest runs examples/echo.lua as the upstream and 100
-- concurrent clients through the proxy, checks every byte and the idle
-- timeout, and exits (status 0: all passed).
--
-- Required as a module (require "examples.tcpproxy", as the specs do), it
-- returns its parts and starts nothing.
local wsarecv = require "wsarecv"
local async = require "wsarecv.async"

local M = {}

local ABORTED = "WSA_OPERATION_ABORTED"

-- Relay from `from` to `to` until end of stream, an error, or the
-- connection's idle time passed with no data either way.
local function pump(conn, from, to)
  local buf = wsarecv.buffer(65536)
  local slice = { buf, 0, 0 }
  local data = { slice }
  while true do
    local n, err = async.timeout(conn.idle, async.recv, from, buf)
    if n == nil and err == "WAIT_TIMEOUT" then
      -- only this direction was quiet: wait on while the other moves
      if wsarecv.now() - conn.last < conn.idle / 1000 then goto continue end
      conn.timedout = true
    end
    if n == 0 then                      -- end of stream: pass it on
      to:shutdown("send")
      return
    end
    if n == nil then break end
    conn.last = wsarecv.now()
    slice[3] = n
    if not async.send(to, data) then break end
    conn.bytes = conn.bytes + n
    ::continue::
  end
  -- an error or the idle time: the whole connection ends (the other
  -- task's operation aborts)
  conn.client:close()
  conn.upstream:close()
end

-- The other direction's task: it wakes the relay's task when it is done.
local function pump_back(conn)
  pump(conn, conn.upstream, conn.client)
  conn.back_done = true
  if conn.waiter then async.cancel(conn.waiter) end
end

--- Relay one accepted connection to host:port, then close both sides.
-- `opts`: idle (ms, default 60000), connect_timeout (ms, default 5000).
-- Returns the connection's record { bytes, timedout, failed }.
function M.relay(client, host, port, opts)
  local family = host:find(":", 1, true) and "inet6" or "inet"
  local up = assert(wsarecv.socket(family, "stream"))
  local conn = { client = client, upstream = up, bytes = 0,
                 idle = opts.idle or 60000, last = wsarecv.now() }
  local ok, err = async.timeout(opts.connect_timeout or 5000,
                                async.connect, up, host, port)
  if not ok then
    conn.failed = "connect " .. host .. ":" .. port .. ": " .. err
    client:close()
    up:close()
    return conn
  end
  async.spawn(pump_back, conn)
  pump(conn, client, up)
  if not conn.back_done then           -- until pump_back cancels the sleep
    conn.waiter = coroutine.running()
    async.sleep(math.huge)
  end
  client:close()
  up:close()
  return conn
end

--- Accept on `listener` and relay each connection in its own task until
-- the listener is closed or `opts.count` connections were accepted; then
-- wait for those to end.  `opts.log(conn)` is called as each ends.
function M.serve(listener, host, port, opts)
  local accepted, live = 0, 0
  while not opts.count or accepted < opts.count do
    local client, err = async.accept(listener)
    if not client then
      if err == ABORTED or err == "WSAENOTSOCK" then break end
      io.stderr:write("tcpproxy: accept failed: ", err, "\n")
    else
      accepted = accepted + 1
      live = live + 1
      async.spawn(function()
        local conn = M.relay(client, host, port, opts)
        live = live - 1
        if opts.log then opts.log(conn) end
      end)
    end
  end
  while live > 0 do async.sleep(10) end
  return accepted
end

--- Listen on addr, port (0: a free port).  -> the listener and its port,
-- or nil and the failure.
function M.listen(addr, port)
  local family = addr:find(":", 1, true) and "inet6" or "inet"
  local l = assert(wsarecv.socket(family, "stream"))
  local r, err = l:bind(addr, port)
  if r then r, err = l:listen() end
  if not r then
    l:close()
    return nil, addr .. ":" .. port .. ": " .. err
  end
  local _, bound = l:getsockname()
  return l, bound
end

-- the self-test -----------------------------------------------------------

local function data_for(k, n)
  local t = {}
  for i = 1, n do t[i] = string.char((k * 13 + i) % 251) end
  return table.concat(t)
end

-- One client: write `data` (in a task of its own) while reading the echo.
-- -> nil, or why it failed
function M.client(port, data)
  local c = assert(wsarecv.socket("inet", "stream"))
  local ok, err = async.connect(c, "127.0.0.1", port)
  if not ok then
    c:close()
    return "connect: " .. err
  end
  async.spawn(function()
    for i = 1, #data, 16384 do
      if not async.send(c, data:sub(i, i + 16383)) then return end
    end
    c:shutdown("send")
  end)
  local got, buf = {}, wsarecv.buffer(65536)
  while true do
    local n, e = async.recv(c, buf)
    if not n then
      c:close()
      return "recv: " .. e
    end
    if n == 0 then break end
    got[#got + 1] = buf:sub(1, n)
  end
  c:close()
  got = table.concat(got)
  if got ~= data then
    return ("%d bytes back of %d, or different"):format(#got, #data)
  end
end

local function here()
  return (arg and arg[0] or ""):match("^(.*[/\\])") or "./"
end

local function selftest()
  local N = 100
  local echo = assert(loadfile(here() .. "echo.lua"))("examples.echo")
  local el, eu, eport = echo.serve("127.0.0.1", 0, 10000, N + 1)
  if not el then error(eu) end
  local l, port = assert(M.listen("127.0.0.1", 0))
  local ended, timedout = 0, 0
  async.spawn(M.serve, l, "127.0.0.1", eport, { idle = 300, count = N + 1,
    log = function(conn)
      ended = ended + 1
      if conn.timedout then timedout = timedout + 1 end
    end })
  print(("tcpproxy: 127.0.0.1:%d -> echo on 127.0.0.1:%d"):format(port, eport))
  local fails, ok = {}, 0
  for k = 1, N do
    async.spawn(function()
      local why = M.client(port, data_for(k, 2000 * k))
      if why then fails[#fails + 1] = why else ok = ok + 1 end
    end)
  end
  local idle_result
  async.spawn(function()           -- a silent client: closed after 300 ms
    local c = assert(wsarecv.socket("inet", "stream"))
    assert(async.connect(c, "127.0.0.1", port))
    local t0 = wsarecv.now()
    local n, err = async.timeout(10000, async.recv, c, wsarecv.buffer(16))
    idle_result = { n, err, wsarecv.now() - t0 }
    c:close()
  end)
  async.run()
  print(("tcpproxy: selftest: %d/%d clients got every byte back; the silent "
    .. "one: %s %s after %.2f s; %d connections ended, %d on the idle time")
    :format(ok, N, tostring(idle_result[1]), tostring(idle_result[2]),
      idle_result[3], ended, timedout))
  for _, why in ipairs(fails) do print("  failed: " .. why) end
  return ok == N and idle_result[1] == 0 and timedout == 1 and ended == N + 1
end

-- the command line --------------------------------------------------------

local function main(args)
  local argparse = require "argparse"
  local p = argparse("tcpproxy", "A TCP proxy on wsarecv.async.")
    :help_max_width(79)
  p:option("-u", "The upstream, HOST:PORT.")
    :target("upstream")
  p:option("-b", "Address to listen on.", "127.0.0.1"):target("bind")
  p:option("-p", "Port to listen on (0: any free port).", "8080")
    :target("port"):convert(math.tointeger)
  p:option("-t", "Close a connection idle this long (seconds).", "60")
    :target("idle"):convert(tonumber)
  p:option("-c", "Stop after COUNT connections have ended.")
    :target("count"):convert(math.tointeger)
  p:flag("--selftest", "Relay 100 concurrent clients to an echo upstream, "
    .. "check every byte and the idle timeout, exit.")
  local ok, opt = p:pparse(args)
  if not ok then
    io.stderr:write("tcpproxy: ", opt, "\n")
    os.exit(2)
  end
  if opt.selftest then os.exit(selftest() and 0 or 1) end
  local host, uport = (opt.upstream or ""):match("^%[?(.-)%]?:(%d+)$")
  if not host then
    io.stderr:write("tcpproxy: -u HOST:PORT is needed\n")
    os.exit(2)
  end
  local l, port = M.listen(opt.bind, opt.port or 0)
  if not l then
    io.stderr:write("tcpproxy: ", port, "\n")
    os.exit(1)
  end
  print(("tcpproxy: %s:%d -> %s:%s"):format(opt.bind, port, host, uport))
  io.stdout:flush()
  async.spawn(M.serve, l, host, tonumber(uport), {
    idle = opt.idle * 1000, count = opt.count,
    log = function(conn)
      if conn.failed then io.stderr:write("tcpproxy: ", conn.failed, "\n") end
    end })
  async.run()
end

if ... == "examples.tcpproxy" then return M end
main(arg)
