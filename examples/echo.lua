-- examples/echo.lua: a TCP and UDP echo server on wsarecv.async.  One
-- task accepts (async.accept: an AcceptEx, the loop never blocks), one
-- task per connection echoes what it receives (async.recv, then async.send
-- of the same bytes) until the peer closes or stays idle too long, and one
-- task echoes UDP datagrams back to their source (async.recvmsg,
-- async.sendto).  Buffers are reused: an echo allocates nothing.
--
--   lua5.4 examples/echo.lua [-h] [-b ADDR] [-p PORT] [-t SECONDS]
--                            [-c COUNT] [--selftest]
--
-- It serves TCP and UDP on the same port until Ctrl-C, or with -c until
-- COUNT TCP connections have ended.
-- --selftest serves on a free loopback port, drives it with its own TCP
-- and UDP clients, checks every byte and exits (status 0: all echoed).
--
-- Required as a module (require "examples.echo", as the specs and
-- examples/tcpproxy.lua do), it returns its parts and starts nothing.
local wsarecv = require "wsarecv"
local async = require "wsarecv.async"

local M = {}

-- fn(...) bounded by ms when ms is set (async.timeout), plain otherwise.
local function within(ms, fn, ...)
  if ms then return async.timeout(ms, fn, ...) end
  return fn(...)
end
M.within = within

--- Echo one TCP connection until the peer closes (its half-close is
-- answered with ours), an error, or `idle` ms without data; then close.
function M.tcp_conn(sock, idle)
  local buf = wsarecv.buffer(65536)
  local slice = { buf, 0, 0 }          -- {buffer, offset, length}: reused
  local data = { slice }               -- the WSABUF array: one slice
  while true do
    local n = within(idle, async.recv, sock, buf)
    if n == 0 then sock:shutdown("send") end
    if not n or n == 0 then break end
    slice[3] = n
    if not async.send(sock, data) then break end
  end
  sock:close()
end

--- Accept connections on `listener` and echo each in a task of its own,
-- until the listener is closed or `count` connections were accepted; then
-- wait until those have ended.  Returns how many were accepted.
function M.tcp_server(listener, idle, count)
  local accepted, live = 0, 0
  local function conn(sock)
    M.tcp_conn(sock, idle)
    live = live - 1
  end
  while not count or accepted < count do
    local sock, err = async.accept(listener)
    if not sock then
      if err == "WSA_OPERATION_ABORTED" or err == "WSAENOTSOCK" then break end
      io.stderr:write("echo: accept failed: ", err, "\n")
    else
      accepted = accepted + 1
      live = live + 1
      async.spawn(conn, sock)
    end
  end
  while live > 0 do async.sleep(10) end
  return accepted
end

--- Echo datagrams on `sock` back to their source until it is closed.
-- Returns how many were echoed.
function M.udp_server(sock)
  local buf = wsarecv.buffer(65536)
  local msg = wsarecv.msg { buffers = buf }
  local slice = { buf, 0, 0 }
  local data = { slice }
  local echoed = 0
  while true do
    local n, err = async.recvmsg(sock, msg)
    if n then
      slice[3] = n
      local addr, port = msg:name()
      if async.sendto(sock, data, addr, port) then echoed = echoed + 1 end
    elseif err == "WSA_OPERATION_ABORTED" or err == "WSAENOTSOCK" then
      break
    end                  -- others (a truncated datagram, ICMP): go on
  end
  return echoed
end

--- Make the two sockets on addr, port (0: a free port, the same for
-- both).  Returns the listener, the UDP socket and the port, or nil and
-- the failure.
function M.open(addr, port)
  local family = addr:find(":", 1, true) and "inet6" or "inet"
  local l = assert(wsarecv.socket(family, "stream"))
  local r, err = l:bind(addr, port)
  if r then r, err = l:listen() end
  if not r then
    l:close()
    return nil, "TCP " .. addr .. ":" .. port .. ": " .. err
  end
  local _, bound = l:getsockname()
  local u = assert(wsarecv.socket(family, "dgram"))
  r, err = u:bind(addr, bound)
  if not r then
    l:close()
    u:close()
    return nil, "UDP " .. addr .. ":" .. bound .. ": " .. err
  end
  return l, u, bound
end

--- Serve TCP and UDP on addr, port in tasks (run them with async.run or
-- under an adapter), until both sockets are closed, or with `count` until
-- that many TCP connections have ended (then it closes both).  -> the
-- listener, the UDP socket and the port, or nil and the failure.
function M.serve(addr, port, idle, count)
  local l, u, bound = M.open(addr, port)
  if not l then return nil, u end
  async.spawn(function()
    M.tcp_server(l, idle, count)
    l:close()
    u:close()
  end)
  async.spawn(M.udp_server, u)
  return l, u, bound
end

-- the self-test -----------------------------------------------------------

-- distinct bytes for client k: its data shows order and owner
local function data_for(k, n)
  local t = {}
  for i = 1, n do t[i] = string.char((k * 7 + i) % 251) end
  return table.concat(t)
end

-- One TCP client: send `data` in pieces, half-close, read all back.
-- -> true, or false and why
local function tcp_client(port, data)
  local c = assert(wsarecv.socket("inet", "stream"))
  local ok, err = async.connect(c, "127.0.0.1", port)
  if not ok then return false, "connect: " .. err end
  local got, buf = {}, wsarecv.buffer(65536)
  async.spawn(function()               -- the writer, beside the reader
    for i = 1, #data, 10000 do
      if not async.send(c, data:sub(i, i + 9999)) then return end
    end
    c:shutdown("send")
  end)
  while true do
    local n, e = async.recv(c, buf)
    if not n then c:close() return false, "recv: " .. e end
    if n == 0 then break end
    got[#got + 1] = buf:sub(1, n)
  end
  c:close()
  got = table.concat(got)
  if got ~= data then
    return false, ("%d bytes back of %d, or different"):format(#got, #data)
  end
  return true
end

local function udp_client(port, k)
  local s = assert(wsarecv.socket("inet", "dgram"))
  local buf = wsarecv.buffer(2048)
  for i = 1, 5 do
    local d = data_for(k + i, 100 + k)
    assert(async.sendto(s, d, "127.0.0.1", port))
    local n, err = within(2000, async.recv, s, buf)
    if not n then s:close() return false, "udp: " .. err end
    if buf:sub(1, n) ~= d then s:close() return false, "udp: different" end
  end
  s:close()
  return true
end

local function selftest()
  local N = 20
  local l, u, port = M.serve("127.0.0.1", 0, 5000)
  if not l then error(u) end
  print(("echo: serving TCP and UDP on 127.0.0.1:%d"):format(port))
  local fails, ok_tcp, ok_udp = {}, 0, 0
  for k = 1, N do
    async.spawn(function()
      local ok, why = tcp_client(port, data_for(k, 1000 * k))
      if ok then ok_tcp = ok_tcp + 1 else fails[#fails + 1] = why end
    end)
    async.spawn(function()
      local ok, why = udp_client(port, k)
      if ok then ok_udp = ok_udp + 1 else fails[#fails + 1] = why end
    end)
  end
  async.spawn(function()        -- a client failed: the servers wait no more
    while ok_tcp + ok_udp + #fails < 2 * N do async.sleep(50) end
    l:close()
    u:close()
  end)
  async.run()
  print(("echo: selftest: %d/%d TCP clients, %d/%d UDP clients echoed "
    .. "exactly"):format(ok_tcp, N, ok_udp, N))
  for _, why in ipairs(fails) do print("  failed: " .. why) end
  return #fails == 0 and ok_tcp == N and ok_udp == N
end

-- the command line --------------------------------------------------------

local function main(args)
  local argparse = require "argparse"
  local p = argparse("echo", "A TCP and UDP echo server on wsarecv.async.")
    :help_max_width(79)
  p:option("-b", "Address to bind.", "127.0.0.1"):target("bind")
  p:option("-p", "Port, TCP and UDP (0: any free port).", "7007")
    :target("port"):convert(math.tointeger)
  p:option("-t", "Close a TCP connection idle this long.", "60")
    :target("idle"):convert(tonumber)
  p:option("-c", "Exit once COUNT TCP connections have ended.")
    :target("count"):convert(math.tointeger)
  p:flag("--selftest", "Serve a free loopback port, drive it with TCP "
    .. "and UDP clients, check every byte, exit.")
  local ok, opt = p:pparse(args)
  if not ok then
    io.stderr:write("echo: ", opt, "\n")
    os.exit(2)
  end
  if opt.selftest then os.exit(selftest() and 0 or 1) end
  local l, u, port = M.serve(opt.bind, opt.port or 0, opt.idle * 1000,
                             opt.count)
  if not l then
    io.stderr:write("echo: ", u, "\n")
    os.exit(1)
  end
  print(("echo: serving TCP and UDP on %s:%d"):format(opt.bind, port))
  io.stdout:flush()
  async.run()
end

if ... == "examples.echo" then return M end
main(arg)
