-- examples/udpdump.lua: a tcpdump-like receiver for UDP ports, built on
-- WSARecvMsg.  It keeps several receive operations posted, and prints one
-- line per datagram: time, source -> destination, interface, length,
-- TTL/hop limit, TOS/ECN, output flags, drops, and optionally a hex dump.
--
--   lua5.4 examples/udpdump.lua [options]
--     -p PORT      port to listen on (default 9000; 0 = any)
--     -b ADDR      address to bind (default: "::" with -d, "0.0.0.0" with
--                  -4, "::" with -6)
--     -4 | -6 | -d IPv4 only, IPv6 only, or dual-stack (default -d)
--     -c COUNT     stop after COUNT datagrams (default: no limit)
--     -t SECONDS   stop after SECONDS without traffic (default: none)
--     -n OPS       receive operations kept posted (default 8)
--     -s SIZE      buffer size per operation (default 2048)
--     -x           hex dump each datagram
--     --selftest   send a built-in sequence to itself over loopback (IPv4
--                  and IPv6, several TTLs and TOS values, a truncated
--                  datagram, a burst that overflows the socket) and exit
local wsarecv = require "wsarecv"

-- options -----------------------------------------------------------------
local opt = { port = 9000, mode = "d", ops = 8, size = 2048 }
do
  local i = 1
  while i <= #arg do
    local a = arg[i]
    local function val() i = i + 1; return assert(arg[i], a .. " needs a value") end
    if a == "-p" then opt.port = tonumber(val())
    elseif a == "-b" then opt.bind = val()
    elseif a == "-4" or a == "-6" or a == "-d" then opt.mode = a:sub(2)
    elseif a == "-c" then opt.count = tonumber(val())
    elseif a == "-t" then opt.idle = tonumber(val())
    elseif a == "-n" then opt.ops = tonumber(val())
    elseif a == "-s" then opt.size = tonumber(val())
    elseif a == "-x" then opt.hex = true
    elseif a == "--selftest" then opt.selftest = true
    else io.stderr:write("udpdump: unknown option ", a, "\n"); os.exit(2) end
    i = i + 1
  end
end
if opt.selftest then
  opt.port, opt.mode, opt.size, opt.idle = 0, "d", 512, opt.idle or 2
end

-- the socket --------------------------------------------------------------
local family = opt.mode == "4" and "inet" or "inet6"
local sock = assert(wsarecv.socket(family, "dgram"))
if family == "inet6" then assert(sock:setsockopt("IPV6_V6ONLY", opt.mode == "6")) end
local bindaddr = opt.bind or (family == "inet" and "0.0.0.0" or "::")
local ok, err = sock:bind(bindaddr, opt.port)
if not ok then io.stderr:write("udpdump: bind: ", err, "\n"); os.exit(1) end
local _, port = sock:getsockname()

-- everything the line shows
for _, o in ipairs { "IP_PKTINFO", "IP_RECVTTL", "IP_RECVTOS", "SO_TIMESTAMP", "SO_RXQ_OVFL" } do
  assert(sock:setsockopt(o, true))
end
if family == "inet6" then
  for _, o in ipairs { "IPV6_PKTINFO", "IPV6_HOPLIMIT", "IPV6_RECVTCLASS" } do
    assert(sock:setsockopt(o, true))
  end
end
if opt.selftest then assert(sock:setsockopt("SO_RCVBUF", 4096)) end

-- one line per datagram ---------------------------------------------------
local seen, lastdrops = 0, 0
local function line(err, n, msg)
  local src, sport = msg:name()
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
  local fmt = function(a, p) return (a and a:find(":") and "[" .. a .. "]" or a or "?") .. ":" .. tostring(p) end
  local extra = ""
  if t.drops and t.drops ~= lastdrops then
    extra = string.format(" drops %d (+%d)", t.drops, t.drops - lastdrops)
    lastdrops = t.drops
  end
  print(string.format("%s %s -> %s %s len %d %s %s flags %s%s%s", t.time,
    fmt(src, sport), fmt(t.dst, port), t.ifname or "?", n, t.ttl or "ttl ?",
    t.tos or "tos ?", wsarecv.flagnames(msg.flags), err and (" " .. err) or "", extra))
  if opt.hex then print(wsarecv.hexdump(msg.buffers, n)) end
end

-- keep opt.ops operations posted -----------------------------------------
local quiet = 0
local function on_datagram(err, n, ov, flags, msg)
  if err == "WSA_OPERATION_ABORTED" then return end
  quiet = 0
  if err == nil or err == "WSAEMSGSIZE" then
    seen = seen + 1
    line(err, n, msg)
  else
    print("receive failed: " .. err)
  end
  if opt.count and seen >= opt.count then return end
  -- repost; a datagram already waiting completes at once (its routine
  -- runs in the next alertable wait), and a truncated one fails at once
  local r, name, _, placed = sock:WSARecvMsg(msg, ov, on_datagram)
  while r == nil and name == "WSAEMSGSIZE" do
    seen = seen + 1
    line(name, placed, msg)
    r, name, _, placed = sock:WSARecvMsg(msg, ov, on_datagram)
  end
end

for _ = 1, opt.ops do
  local m = wsarecv.msg { buffers = wsarecv.buffer(opt.size), control = 256 }
  local r, name = sock:WSARecvMsg(m, wsarecv.overlapped(), on_datagram)
  assert(r == 0 or name == "WSA_IO_PENDING", name)
end
io.stderr:write(string.format("udpdump: listening on %s port %d (%s), %d operations posted\n",
  bindaddr, port, opt.mode == "d" and "dual-stack" or "IPv" .. opt.mode, opt.ops))

-- the built-in sender -----------------------------------------------------
local function selftest()
  local v4 = assert(wsarecv.socket("inet", "dgram"))
  local v6 = assert(wsarecv.socket("inet6", "dgram"))
  local function send(s, addr, data, o)
    for k, v in pairs(o or {}) do assert(s:setsockopt(k, v)) end
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

if opt.selftest then selftest() end

-- the main wait -----------------------------------------------------------
while not (opt.count and seen >= opt.count) do
  if wsarecv.SleepEx(100, true) ~= "WAIT_IO_COMPLETION" then
    quiet = quiet + 1
    if opt.idle and quiet * 0.1 >= opt.idle then break end
  end
end
sock:close()
wsarecv.run()
io.stderr:write(string.format("udpdump: %d datagrams, %d dropped by the kernel\n", seen, lastdrops))
