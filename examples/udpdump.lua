-- examples/udpdump.lua: a tcpdump-like receiver for UDP ports, built on
-- WSARecvMsg.  It keeps several receive operations posted, and prints one
-- line per datagram: time, source -> destination, interface, length,
-- TTL/hop limit, TOS/ECN, output flags, drops, and optionally a hex dump.
-- It stops after -c datagrams, after -t idle seconds, or at Ctrl-C, and
-- then prints a summary line on stderr.
--
--   lua5.4 examples/udpdump.lua [-h] [-p PORT] [-b ADDR] [-4 | -6 | -d]
--                               [-c COUNT] [-t SECONDS] [-n OPS] [-s SIZE]
--                               [-x] [--selftest]
--
-- (-h lists the options.)  Exit status: 0 when it stopped as asked, 1 when
-- the socket could not be set up, 2 for a bad command line.
local argparse = require "argparse"
local wsarecv = require "wsarecv"

local function die(code, ...)
  io.stderr:write("udpdump: ", ...)
  io.stderr:write("\n")
  os.exit(code)
end

-- options -----------------------------------------------------------------

-- Converters for argparse: the value, or nil and the one-line message.
local function integer(name, lo, hi)
  local want = hi == math.maxinteger and string.format("an integer, at least %d", lo)
    or string.format("an integer from %d to %d", lo, hi)
  return function(s)
    local n = math.tointeger(tonumber(s))
    if n and n >= lo and n <= hi then return n end
    return nil, string.format("%s: bad value '%s' (%s)", name, s, want)
  end
end

local function seconds(name)
  return function(s)
    local n = tonumber(s)
    if n and n > 0 and n < math.huge then return n end
    return nil, string.format("%s: bad value '%s' (seconds, more than 0)", name, s)
  end
end

local function options(args)
  local p = argparse("udpdump", "A tcpdump-like receiver for UDP ports, "
    .. "on WSARecvMsg: one line per datagram.")
    :help_max_width(79):help_description_margin(20)
  p:epilog("Each line: time, source -> destination, interface, length "
    .. "(\"len N (M placed)\" when the datagram did not fit), "
    .. "TTL or hop limit, TOS or traffic class with ECN, output flags, "
    .. "kernel drops.  Stops after -c datagrams, -t idle seconds or "
    .. "Ctrl-C, then prints a summary line on stderr.")
  p:option("-p", "UDP port to listen on (0: any free port).", "9000")
    :target("port"):argname("<port>"):convert(integer("-p", 0, 65535))
  p:option("-b", "Address to bind (default: 0.0.0.0 with -4, "
    .. ":: otherwise).")
    :target("bind"):argname("<addr>")
  p:mutex(
    p:flag("-4", "IPv4 only."),
    p:flag("-6", "IPv6 only."),
    p:flag("-d", "Dual-stack: IPv4 and IPv6 (the default)."))
  p:option("-c", "Stop after <count> datagrams.")
    :target("count"):argname("<count>"):convert(integer("-c", 1, math.maxinteger))
  p:option("-t", "Stop after <seconds> without traffic.")
    :target("idle"):argname("<seconds>"):convert(seconds("-t"))
  p:option("-n", "Receive operations kept posted.", "8")
    :target("ops"):argname("<ops>"):convert(integer("-n", 1, 1024))
  p:option("-s", "Buffer size per operation, in bytes.", "2048")
    :target("size"):argname("<size>"):convert(integer("-s", 1, 65536))
  p:flag("-x", "Hex dump each datagram."):target("hex")
  p:flag("--selftest", "Send a built-in sequence to itself over loopback "
    .. "(IPv4 and IPv6, TTLs, TOS values, a truncated datagram, a burst "
    .. "that overflows the socket) and exit.")
  local ok, opt = p:pparse(args)
  if not ok then die(2, (opt:match("[^\n]*"))) end
  opt.mode = opt["4"] and "4" or opt["6"] and "6" or "d"
  if opt.selftest then
    opt.port, opt.mode, opt.size, opt.idle = 0, "d", 512, opt.idle or 2
  end
  return opt
end

local opt = options(arg)
io.stdout:setvbuf("line")           -- a line as soon as it is known, in pipes too

-- the socket --------------------------------------------------------------

-- setsockopt, or exit with a message
local function set(sock, name, value)
  local ok, err = sock:setsockopt(name, value)
  if not ok then die(1, "setsockopt ", name, ": ", err) end
end

local family = opt.mode == "4" and "inet" or "inet6"
local sock, serr = wsarecv.socket(family, "dgram")
if not sock then die(1, "socket: ", serr) end
if family == "inet6" then set(sock, "IPV6_V6ONLY", opt.mode == "6") end
local bindaddr = opt.bind or (family == "inet" and "0.0.0.0" or "::")
do
  local ok, err = sock:bind(bindaddr, opt.port)
  if not ok then die(1, "bind ", bindaddr, " port ", opt.port, ": ", err) end
end
local _, port = sock:getsockname()

-- everything the line shows; an option this system does not have
-- (Windows: SO_TIMESTAMP, SO_RXQ_OVFL) only leaves its field out
local missing = {}
for _, o in ipairs { "IP_PKTINFO", "IP_RECVTTL", "IP_RECVTOS", "SO_TIMESTAMP", "SO_RXQ_OVFL" } do
  local ok, err = sock:setsockopt(o, true)
  if not ok and err == "WSAENOPROTOOPT" and o:find("^SO_") then
    missing[#missing + 1] = o
  elseif not ok then
    die(1, "setsockopt ", o, ": ", err)
  end
end
if #missing > 0 then
  io.stderr:write("udpdump: not on this system, left out: ", table.concat(missing, ", "), "\n")
end
if family == "inet6" then
  for _, o in ipairs { "IPV6_PKTINFO", "IPV6_HOPLIMIT", "IPV6_RECVTCLASS" } do
    set(sock, o, true)
  end
end
if opt.selftest then set(sock, "SO_RCVBUF", 4096) end

-- one line per datagram ---------------------------------------------------
local seen, lastdrops = 0, 0

local function endpoint(a, p)
  return (a and a:find(":") and "[" .. a .. "]" or a or "?") .. ":" .. tostring(p)
end

-- What the control messages say, as the line's fields.
local function fields(msg)
  local t = { time = os.date("%H:%M:%S") }
  for _, c in ipairs(msg:control()) do
    if c.type == "IP_PKTINFO" or c.type == "IPV6_PKTINFO" then
      t.dst, t.ifname = c.addr, c.ifname or tostring(c.ifindex)
    elseif c.type == "IP_TTL" then t.ttl = "ttl " .. c.ttl
    elseif c.type == "IPV6_HOPLIMIT" then t.ttl = "hlim " .. c.hoplimit
    elseif c.type == "IP_TOS" then t.tos = string.format("tos 0x%02x ecn %d", c.tos, c.ecn)
    elseif c.type == "IPV6_TCLASS" then t.tos = string.format("tclass 0x%02x ecn %d", c.tclass, c.ecn)
    elseif c.type == "SO_TIMESTAMP" then
      t.time = os.date("%H:%M:%S", c.sec) .. string.format(".%06d", c.nsec // 1000)
    elseif c.type == "SO_RXQ_OVFL" then t.drops = c.drops
    end
  end
  return t
end

--[[ The length field.  MSG_TRUNC means the datagram was longer than the
  buffers: n bytes were placed and the rest is gone; msg.length is its
  full length, as the kernel reported it.  (A kernel that does not report
  it, as for ICMP ping sockets, gives the bytes placed: then all the line
  can say is "more than n".  WSAEMSGSIZE with MSG_CTRUNC alone means the
  control buffer was short: all the data is there.) ]]
local function length(n, msg)
  if msg.flags & wsarecv.MSG_TRUNC == 0 then return "len " .. n end
  -- (Windows does not report the full length: msg.length is nil there)
  if msg.length and msg.length > n then
    return string.format("len %d (%d placed)", msg.length, n)
  end
  return string.format("len >%d (%d placed)", n, n)
end

local function line(err, n, msg)
  local src, sport = msg:name()
  local t = fields(msg)
  local extra = ""
  if t.drops and t.drops ~= lastdrops then
    extra = string.format(" drops %d (+%d)", t.drops, t.drops - lastdrops)
    lastdrops = t.drops
  end
  print(string.format("%s %s -> %s %s %s %s %s flags %s%s%s", t.time,
    endpoint(src, sport), endpoint(t.dst, port), t.ifname or "?",
    length(n, msg), t.ttl or "ttl ?", t.tos or "tos ?",
    wsarecv.flagnames(msg.flags), err and (" " .. err) or "", extra))
  if opt.hex then print(wsarecv.hexdump(msg.buffers, n)) end
end

-- keep opt.ops operations posted -----------------------------------------
local quiet = 0                     -- 100 ms waits in a row that ran no routine

local function plural(n, what) return n .. " " .. what .. (n == 1 and "" or "s") end

local function done() return opt.count ~= nil and seen >= opt.count end

-- one datagram delivered, whole or truncated
local function got(err, n, msg)
  if done() then return end         -- past -c: received, not shown
  seen = seen + 1
  line(err, n, msg)
end

-- Post msg on ov.  A datagram already waiting completes at once: its
-- routine runs in the next alertable wait, a truncated one too (with
-- WSAEMSGSIZE), so every datagram reaches on_datagram.
local on_datagram
local function post(msg, ov)
  if done() then return true end
  local r, name = sock:WSARecvMsg(msg, ov, on_datagram)
  if r == 0 or name == "WSA_IO_PENDING" then return true end
  return false, name
end

function on_datagram(err, n, ov, _, msg)
  if err == "WSA_OPERATION_ABORTED" or done() then return end
  quiet = 0
  if err == nil or err == "WSAEMSGSIZE" then
    got(err, n, msg)
  else
    print("receive failed: " .. err)
  end
  local ok, perr = post(msg, ov)
  if not ok then print("receive failed: " .. perr) end
end

-- the built-in sender -----------------------------------------------------
local function selftest()
  local v4 = assert(wsarecv.socket("inet", "dgram"))
  local v6 = assert(wsarecv.socket("inet6", "dgram"))
  local function send(s, addr, data, o)
    -- an option the system refuses (Windows: IPV6_TCLASS) shows as sent
    -- without it
    for k, v in pairs(o or {}) do s:setsockopt(k, v) end
    assert(s:sendto(data, addr, port))
    wsarecv.SleepEx(20, true)           -- let udpdump print it
  end
  send(v4, "127.0.0.1", "hello over IPv4", { IP_TTL = 64, IP_TOS = 0 })
  send(v4, "127.0.0.1", "low TTL, DSCP EF, ECT(1)", { IP_TTL = 7, IP_TOS = 0xb8 | 1 })
  send(v4, "127.0.0.2", "to another loopback address, CE", { IP_TTL = 200, IP_TOS = 0x03 })
  send(v6, "::1", "hello over IPv6", { IPV6_UNICAST_HOPS = 3, IPV6_TCLASS = 0x28 | 2 })
  send(v4, "127.0.0.1", string.rep("T", 1400) .. " (truncated)", { IP_TTL = 64, IP_TOS = 0 })
  -- a burst while udpdump is not waiting: the 4 KiB socket buffer overflows
  for i = 1, 40 do v4:sendto(string.format("burst %02d ", i) .. string.rep("b", 200), "127.0.0.1", port) end
  wsarecv.SleepEx(50, true)
  send(v4, "127.0.0.1", "after the burst", {})
  v4:close(); v6:close()
end

-- the main wait -----------------------------------------------------------
local function capture()
  for _ = 1, opt.ops do
    local m = wsarecv.msg { buffers = wsarecv.buffer(opt.size), control = 256 }
    local ok, err = post(m, wsarecv.overlapped())
    if not ok then die(1, "WSARecvMsg: ", err) end
  end
  io.stderr:write(string.format("udpdump: listening on %s port %d (%s), %s posted\n",
    bindaddr, port, opt.mode == "d" and "dual-stack" or "IPv" .. opt.mode,
    plural(opt.ops, "operation")))
  if opt.selftest then selftest() end
  while not done() do
    if wsarecv.SleepEx(100, true) ~= "WAIT_IO_COMPLETION" then
      quiet = quiet + 1
      if opt.idle and quiet * 0.1 >= opt.idle then break end
    end
  end
end

--[[ Ctrl-C: the standalone interpreter turns SIGINT into an
  "interrupted!" error at the next Lua instruction -- in this loop or in a
  routine, whose error comes out of the wait that ran it.  Either way it
  ends the capture like -c and -t do; any other error is a bug, raised. ]]
local ok, err = xpcall(capture, debug.traceback)
if not ok and not tostring(err):find("interrupted!", 1, true) then error(err, 0) end
sock:close()
wsarecv.run()                       -- deliver the cancelled operations
io.stderr:write(string.format("udpdump: %s, %d dropped by the kernel%s\n",
  plural(seen, "datagram"), lastdrops, ok and "" or " (interrupted)"))
