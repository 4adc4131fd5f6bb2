-- WSARecvMsg on raw sockets: a ping to 127.0.0.1 built in Lua and sent on
-- an inet/raw/icmp socket; the echo reply comes back with its IPv4 header.
-- Also ICMPv6 over ::1 (no IP header on IPv6 raw sockets), control
-- messages on raw sockets, a header/body WSABUF split and truncation.
-- Raw sockets need root (CAP_NET_RAW); elsewhere the tests are pending.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

---------------------------------------------------------------------------
-- local helpers
---------------------------------------------------------------------------

local MSG_TRUNC = wsarecv.MSG_TRUNC

local T = H.tracker()

local pack = H.pack

-- A raw socket, or a visible skip when this process may not open one.
local function raw(family, proto)
  local s, name, code = wsarecv.socket(family, "raw", proto)
  if not s then
    pending(("needs root / CAP_NET_RAW: socket(%s, raw, %s) gave %s %s")
      :format(family, proto, tostring(name), tostring(code)))
  end
  T.track(s)
  assert(s:setsockopt("SO_RCVTIMEO", 2000) == 0)
  return s
end

local function echo_ignored(v6)
  local f = io.open(v6 and "/proc/sys/net/ipv6/icmp/echo_ignore_all"
    or "/proc/sys/net/ipv4/icmp_echo_ignore_all")
  if not f then return false end
  local v = f:read("l")
  f:close()
  return v == "1"
end

-- the Internet checksum (RFC 1071) of s
local function cksum(s)
  if #s % 2 == 1 then s = s .. "\0" end
  local sum = 0
  for i = 1, #s, 2 do sum = sum + (s:byte(i) << 8 | s:byte(i + 1)) end
  while sum > 0xffff do sum = (sum & 0xffff) + (sum >> 16) end
  return ~sum & 0xffff
end

-- an ICMP echo request (type 8; 128 for ICMPv6, whose checksum the kernel
-- computes) with id, seq and payload
local function echo_request(id, seq, payload, v6)
  local typ = v6 and 128 or 8
  local pkt = string.pack(">BBI2I2I2", typ, 0, 0, id, seq) .. payload
  if v6 then return pkt end
  return string.pack(">BBI2I2I2", typ, 0, cksum(pkt), id, seq) .. payload
end

local PID = H.pid()
local ID = (PID and tonumber(PID) or os.time()) & 0xffff
local SEQ = os.time() & 0x7fff

local function next_seq()
  SEQ = (SEQ + 1) & 0xffff
  return SEQ
end

local function ipv4_header(s)
  local vihl, _, total, _, _, ttl, proto, hsum, src1, src2, src3, src4,
    dst1, dst2, dst3, dst4 = string.unpack(">BBI2I2I2BBI2BBBBBBBB", s)
  return {
    version = vihl >> 4, ihl = (vihl & 15) * 4, total = total, ttl = ttl,
    proto = proto, checksum = hsum,
    src = ("%d.%d.%d.%d"):format(src1, src2, src3, src4),
    dst = ("%d.%d.%d.%d"):format(dst1, dst2, dst3, dst4),
  }
end

-- Receive on s with WSARecvMsg (overlapped, routine) until accept(bytes)
-- is true; at most `limit` datagrams and about 3 s.  Returns the accepted
-- datagram's bytes and every datagram seen as { bytes, data }.
local function recv_until(s, msg, buf, accept, limit)
  local seen, done = {}, nil
  local ov = wsarecv.overlapped()
  for _ = 1, limit or 64 do
    local result
    local r = pack(s:WSARecvMsg(msg, ov, function(err, bytes)
      result = { err = err, bytes = bytes }
    end))
    assert(r[1] == 0 or r[2] == "WSA_IO_PENDING",
      "WSARecvMsg failed: " .. tostring(r[2]))
    H.wait_for(function() return result ~= nil end)
    assert(result, "no datagram within 3 s")
    assert.is_nil(result.err)
    seen[#seen + 1] = { result.bytes, buf:sub(1, result.bytes) }
    if accept(buf:sub(1, result.bytes)) then
      done = result.bytes
      break
    end
  end
  return done, seen
end

after_each(function()
  T.cleanup(function() H.drain(20) end)
end)

---------------------------------------------------------------------------
-- the tests
---------------------------------------------------------------------------

describe("#linux WSARecvMsg on an inet/raw/icmp socket", function()

  it("receives the echo reply of its own ping to 127.0.0.1, with the IPv4 "
    .. "header", function()
      local s = raw("inet", "icmp")
      if echo_ignored(false) then
        pending("net.ipv4.icmp_echo_ignore_all is 1: no echo replies")
      end
      local seq, payload = next_seq(), "wsarecv raw ping \1\2\3\255"
      local req = echo_request(ID, seq, payload)
      assert.equal(#req, s:sendto(req, "127.0.0.1", 0))
      local buf = wsarecv.buffer(1500)
      local m = wsarecv.msg { buffers = buf, control = 128 }
      local saw_request = false
      local n = recv_until(s, m, buf, function(d)
        local h = ipv4_header(d)
        if h.proto ~= 1 or #d < h.ihl + 8 then return false end
        local typ, _, _, id, sq = string.unpack(">BBI2I2I2", d, h.ihl + 1)
        if id ~= ID or sq ~= seq then return false end
        if typ == 8 then saw_request = true end
        return typ == 0
      end)
      assert(n, "no echo reply with id " .. ID .. " seq " .. seq)
      -- the request went past the raw socket too (on its way in)
      assert.is_true(saw_request)
      local d = buf:sub(1, n)
      local h = ipv4_header(d)
      assert.equal(4, h.version)
      assert.equal(20, h.ihl)
      assert.equal(1, h.proto)
      assert.equal(n, h.total)
      assert.equal("127.0.0.1", h.src)
      assert.equal("127.0.0.1", h.dst)
      assert.equal(0, cksum(d:sub(1, h.ihl)))      -- header checksum holds
      local icmp = d:sub(h.ihl + 1)
      assert.equal(8 + #payload, #icmp)
      local typ, code, _, id, sq = string.unpack(">BBI2I2I2", icmp)
      assert.same({ 0, 0, ID, seq }, { typ, code, id, sq })
      assert.equal(payload, icmp:sub(9))
      assert.equal(0, cksum(icmp))                 -- ICMP checksum holds
      assert.equal("127.0.0.1", (m:name()))
      assert.equal(0, m.flags)
      assert.same({}, m:control())
    end)

  it("nonoverlapped, with IP_PKTINFO and IP_RECVTTL: the tables match the "
    .. "header", function()
      local s = raw("inet", "icmp")
      if echo_ignored(false) then
        pending("net.ipv4.icmp_echo_ignore_all is 1: no echo replies")
      end
      assert(s:setsockopt("IP_PKTINFO", true) == 0)
      assert(s:setsockopt("IP_RECVTTL", true) == 0)
      local seq, payload = next_seq(), "nonoverlapped"
      assert.equal(8 + #payload,
        s:sendto(echo_request(ID, seq, payload), "127.0.0.1", 0))
      local buf = wsarecv.buffer(1500)
      local m = wsarecv.msg { buffers = buf, control = 256 }
      local reply
      for _ = 1, 64 do
        local r = pack(s:WSARecvMsg(m))
        assert.equal(0, r[1], tostring(r[2]))
        local d = buf:sub(1, r[2])
        local h = ipv4_header(d)
        if h.proto == 1 and #d >= h.ihl + 8 then
          local typ, _, _, id, sq = string.unpack(">BBI2I2I2", d, h.ihl + 1)
          if typ == 0 and id == ID and sq == seq then
            reply = { h = h, d = d }
            break
          end
        end
      end
      assert(reply, "no echo reply")
      assert.equal(payload, reply.d:sub(reply.h.ihl + 9))
      assert.equal("127.0.0.1", (m:name()))
      local ctl = {}
      for _, c in ipairs(m:control()) do ctl[c.type] = c end
      assert.is_not_nil(ctl.IP_PKTINFO)
      assert.equal("127.0.0.1", ctl.IP_PKTINFO.addr)
      assert.equal("lo", ctl.IP_PKTINFO.ifname)
      assert.is_not_nil(ctl.IP_TTL)
      assert.equal(reply.h.ttl, ctl.IP_TTL.ttl)
    end)

  it("header and body in two WSABUFs; a too-small array truncates with "
    .. "WSAEMSGSIZE", function()
      local s = raw("inet", "icmp")
      if echo_ignored(false) then
        pending("net.ipv4.icmp_echo_ignore_all is 1: no echo replies")
      end
      local seq, payload = next_seq(), "split across buffers"
      assert.equal(8 + #payload,
        s:sendto(echo_request(ID, seq, payload), "127.0.0.1", 0))
      local hdr, body = wsarecv.buffer(20), wsarecv.buffer(64)
      local m = wsarecv.msg { buffers = { hdr, body }, control = 0 }
      local found
      for _ = 1, 64 do
        local r = pack(s:WSARecvMsg(m))
        assert.equal(0, r[1], tostring(r[2]))
        local typ, _, _, id, sq = body:unpack(">BBI2I2I2")
        if ipv4_header(hdr:sub()).proto == 1 and typ == 0 and id == ID
          and sq == seq then
          assert.equal(20 + 8 + #payload, r[2])
          found = true
          break
        end
      end
      assert(found, "no echo reply")
      assert.equal(4, ipv4_header(hdr:sub()).version)
      assert.equal(payload, body:sub(9, 8 + #payload))

      -- room for the IP and ICMP headers only: the payload is cut
      seq = next_seq()
      assert.equal(8 + #payload,
        s:sendto(echo_request(ID, seq, payload), "127.0.0.1", 0))
      local ih, ic = wsarecv.buffer(20), wsarecv.buffer(8)
      local tm = wsarecv.msg { buffers = { ih, ic }, control = 0 }
      local hits = 0
      for _ = 1, 64 do
        local r = pack(s:WSARecvMsg(tm))
        local typ, _, _, id, sq = ic:unpack(">BBI2I2I2")
        if id == ID and sq == seq then
          -- the request (type 8) and then the reply (type 0)
          hits = hits + 1
          assert.same({ nil, "WSAEMSGSIZE", 10040, 28, n = 4 }, r)
          assert.equal(MSG_TRUNC, tm.flags)
          assert.equal(hits == 1 and 8 or 0, typ)
          local h = ipv4_header(ih:sub())
          assert.equal(4, h.version)
          assert.equal(1, h.proto)
          assert.equal(20 + 8 + #payload, h.total)
          if hits == 2 then break end
        end
      end
      assert.equal(2, hits)
    end)
end)

describe("#linux WSARecvMsg on an inet6/raw/icmpv6 socket", function()

  it("receives the echo reply of its own ping to ::1 (no IP header), with "
    .. "IPV6_PKTINFO and IPV6_HOPLIMIT", function()
      local s = raw("inet6", "icmpv6")
      if echo_ignored(true) then
        pending("net.ipv6.icmp.echo_ignore_all is 1: no echo replies")
      end
      assert(s:setsockopt("IPV6_PKTINFO", true) == 0)
      assert(s:setsockopt("IPV6_HOPLIMIT", true) == 0)
      local seq, payload = next_seq(), "v6 raw ping"
      assert.equal(8 + #payload,
        s:sendto(echo_request(ID, seq, payload, true), "::1", 0))
      local buf = wsarecv.buffer(1500)
      local m = wsarecv.msg { buffers = buf, control = 256 }
      local n = recv_until(s, m, buf, function(d)
        if #d < 8 then return false end
        local typ, _, _, id, sq = string.unpack(">BBI2I2I2", d)
        return typ == 129 and id == ID and sq == seq
      end)
      assert(n, "no ICMPv6 echo reply")
      assert.equal(8 + #payload, n)
      assert.equal(payload, buf:sub(9, n))
      assert.equal("::1", (m:name()))
      local ctl = {}
      for _, c in ipairs(m:control()) do ctl[c.type] = c end
      assert.same({ level = "IPPROTO_IPV6", type = "IPV6_PKTINFO",
        addr = "::1", ifindex = ctl.IPV6_PKTINFO and
          ctl.IPV6_PKTINFO.ifindex, ifname = "lo" }, ctl.IPV6_PKTINFO)
      assert.is_not_nil(ctl.IPV6_HOPLIMIT)
      assert.is_true(ctl.IPV6_HOPLIMIT.hoplimit >= 1
        and ctl.IPV6_HOPLIMIT.hoplimit <= 255)
    end)
end)
