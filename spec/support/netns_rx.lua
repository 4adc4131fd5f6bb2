-- Receiving side of spec/netns_spec.lua, run inside a network namespace:
--   ip netns exec NS lua5.4 spec/support/netns_rx.lua \
--      FAMILY COUNT PKTINFO GROUP IFACE
-- FAMILY "inet" or "inet6"; PKTINFO "1" enables IP_PKTINFO (inet) or
-- IPV6_PKTINFO (inet6); GROUP the multicast group to join on IFACE (inet: a
-- local IPv4 address, inet6: an interface name).
-- Binds the wildcard address, port 0 (inet: with SO_BROADCAST), joins the
-- group, prints "READY <port>", then receives up to COUNT datagrams with
-- WSARecvMsg (overlapped, the routine reposts) for at most about 4 seconds,
-- printing one line per datagram:
--   DGRAM <payload> <err|ok> <bytes> <flags> <msg.flags> <src> <n>
--         <types,...|-> <getsockopt PKTINFO> <pktinfo addr|->
-- and finally "DONE <received>".  LUA_PATH / LUA_CPATH come from the spec.
io.stdout:setvbuf("line")
local wsarecv = require "wsarecv"

local family = arg[1] or "inet"
local count = tonumber(arg[2]) or 4
local pktinfo = arg[3] == "1"
local group = arg[4] or "239.1.2.3"
local iface = arg[5] or "198.18.0.2"
local v6 = family == "inet6"
local PKTOPT = v6 and "IPV6_PKTINFO" or "IP_PKTINFO"

local function die(...)
  print("ERROR", ...)
  os.exit(1)
end

local function check(what, r, e)
  if r ~= 0 then die(what, e) end
end

local s = wsarecv.socket(family, "dgram")
if not s then die("socket") end
if v6 then
  check("IPV6_V6ONLY", s:setsockopt("IPV6_V6ONLY", true))
  check("bind", s:bind("::", 0))
  check("IPV6_ADD_MEMBERSHIP",
    s:setsockopt("IPV6_ADD_MEMBERSHIP", { group, iface }))
else
  check("SO_BROADCAST", s:setsockopt("SO_BROADCAST", true))
  check("bind", s:bind("0.0.0.0", 0))
  check("IP_ADD_MEMBERSHIP", s:setsockopt("IP_ADD_MEMBERSHIP", { group, iface }))
end
if pktinfo then check(PKTOPT, s:setsockopt(PKTOPT, true)) end
local _, port = s:getsockname()

local buf = wsarecv.buffer(256)
local msg = wsarecv.msg { buffers = buf, control = 512 }
local ov = wsarecv.overlapped()
local got = 0
local post

local function report(err, bytes, flags, m)
  local types, pi = {}, "-"
  for i, c in ipairs(m:control()) do
    types[i] = c.type
    if c.type == "IP_PKTINFO" or c.type == "IPV6_PKTINFO" then pi = c.addr end
  end
  local src = m:name()
  print(("DGRAM %s %s %d %d %d %s %d %s %s %s"):format(
    bytes > 0 and buf:sub(1, bytes) or "<empty>", err or "ok", bytes, flags,
    m.flags, tostring(src), #types,
    #types > 0 and table.concat(types, ",") or "-",
    tostring(s:getsockopt(PKTOPT)), pi))
end

local function routine(err, bytes, _, flags, m)
  got = got + 1
  report(err, bytes, flags, m)
  if got < count then post() end
end

post = function()
  local r, name = s:WSARecvMsg(msg, ov, routine)
  if r ~= 0 and name ~= "WSA_IO_PENDING" then die("WSARecvMsg", name) end
end

post()
print("READY " .. port)
for _ = 1, 80 do
  if got >= count then break end
  wsarecv.SleepEx(50, true)
end
print("DONE " .. got)
s:close()
