-- msg:control() over a control buffer the caller has rewritten: the buffer
-- is the caller's (buf:write, or the data buffer of another receive), so
-- its cmsghdr records are untrusted input.  Each test does a real
-- WSARecvMsg over loopback that fills all 120 bytes of the control buffer,
-- overwrites them with hostile records, and calls control() in a child
-- interpreter bounded in time and memory: a walk that does not advance, or
-- a decoder that reads outside its record, fails the test instead of
-- hanging the run (under `make asan-test` ASan and UBSan see the reads).
--
-- Record layout (x86_64 Linux): size_t cmsg_len, int level, int type, then
-- the data at offset 16; every record starts 8-byte aligned.
local H = require "spec.support.helpers"

---------------------------------------------------------------------------
-- records
---------------------------------------------------------------------------

local HDR = 16
local USED = 120          -- SO_TIMESTAMP 32 + IP_PKTINFO 32 + IP_TTL 24
                          -- + IP_ORIGDSTADDR 32, as the kernel writes them

local IPPROTO_IP, IPPROTO_IPV6, SOL_SOCKET, SOL_UDP = 0, 41, 1, 17
local IP_TOS, IP_TTL, IP_PKTINFO, IP_RECVERR, IP_ORIGDSTADDR = 1, 2, 8, 11,
  20
local IPV6_RECVERR, IPV6_PKTINFO, IPV6_HOPLIMIT, IPV6_TCLASS,
  IPV6_ORIGDSTADDR = 25, 50, 52, 67, 74
local SO_TIMESTAMP, SO_TIMESTAMPNS, SO_RXQ_OVFL, UDP_GRO = 29, 35, 40, 104
local AF_INET, AF_INET6 = 2, 10

-- A record padded to 8 bytes; `len` (default 16 + #data) is cmsg_len as
-- written, a signed 64-bit value (-1 is 2^64 - 1).
local function rec(level, typ, data, len)
  local r = string.pack("=i8i4i4", len or HDR + #data, level, typ) .. data
  return r .. ("\0"):rep((-#r) % 8)
end

-- just a header (what follows it is whatever comes next)
local function hdr(len, level, typ)
  return string.pack("=i8i4i4", len, level, typ)
end

local function ttl_rec(v)
  return rec(IPPROTO_IP, IP_TTL, string.pack("=i4", v))
end
local TTL64 = { level = "IPPROTO_IP", type = "IP_TTL", ttl = 64 }

-- fill the rest of the used bytes with zeros (a zero cmsg_len: the end)
local function pad(s)
  assert(#s <= USED, "hostile bytes longer than the control data")
  return s .. ("\0"):rep(USED - #s)
end

-- struct sock_extended_err: errno, origin, type, code, pad, info, data
local function ee(errno, origin, typ, code)
  return string.pack("=I4BBBBI4I4", errno, origin, typ, code, 0, 0, 0)
end

local function sin(port, a, b, c, d)       -- struct sockaddr_in
  return string.pack("=I2>I2BBBB", AF_INET, port, a, b, c, d)
    .. ("\0"):rep(8)
end

---------------------------------------------------------------------------
-- the child
---------------------------------------------------------------------------

-- The child: a real receive with four control messages on (120 bytes),
-- then the hostile bytes go into msg.controlbuf (by buf:write, or as the
-- data of a second receive) and control() runs; it prints its tables.
local CHILD = [=[
local wsarecv = require "wsarecv"
local HOSTILE, VIA = %q, %q
local function udp()
  local rx = wsarecv.socket("inet", "dgram")
  assert(rx:bind("127.0.0.1", 0) == 0)
  assert(rx:setsockopt("SO_RCVTIMEO", 2000) == 0)
  local _, port = rx:getsockname()
  local tx = wsarecv.socket("inet", "dgram")
  assert(tx:bind("127.0.0.1", 0) == 0)
  return rx, function(s) assert(tx:sendto(s, "127.0.0.1", port)) end
end
local rx, send = udp()
for _, o in ipairs { "SO_TIMESTAMP", "IP_PKTINFO", "IP_RECVTTL",
  "IP_RECVORIGDSTADDR" } do
  assert(rx:setsockopt(o, true) == 0)
end
local m = wsarecv.msg { buffers = wsarecv.buffer(16), control = %d }
send("x")
assert(rx:WSARecvMsg(m) == 0)
assert(m.controllen == %d, "controllen " .. m.controllen)
local cb = m.controlbuf
if VIA == "none" then         -- the kernel's records, as received
elseif VIA == "recv" then        -- the control buffer as another receive's data
  local rx2, send2 = udp()
  send2(HOSTILE)
  local r, n = rx2:WSARecv(cb, 0)
  assert(r == 0 and n == #HOSTILE, "WSARecv " .. tostring(n))
else
  cb:write(1, HOSTILE)
end
assert(m.controllen == %d)
local function ser(v)
  if type(v) ~= "table" then return string.format("%%q", v) end
  local keys, out = {}, {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
  for _, k in ipairs(keys) do
    out[#out + 1] = "[" .. ser(k) .. "]=" .. ser(v[k])
  end
  return "{" .. table.concat(out, ",") .. "}"
end
print("RESULT " .. ser(m:control()))
]=]

-- Bounded memory for the child, so a walk that never ends fails fast: on
-- the plain build ulimit -v; ASan reserves terabytes of address space, and
-- its RSS limit needs a thread an uninstrumented lua5.4 does not start, so
-- there no allocation may pass 32 MiB (the array control() fills).
local function limits()
  local pre = os.getenv("LD_PRELOAD") or ""
  if pre:find("asan", 1, true) then
    return "ASAN_OPTIONS=" .. H.shq((os.getenv("ASAN_OPTIONS") or "")
      .. ":max_allocation_size_mb=32:allocator_may_return_null=1") .. " "
  end
  return "ulimit -v 1048576; "
end

-- control() of a msg whose 120 control bytes were replaced by `bytes`:
-- the array of tables, or a failed assertion with the child's output.
local function control_of(bytes, via)
  local code = CHILD:format(via == "none" and "" or pad(bytes),
    via or "write", USED, USED, USED)
  local f = os.tmpname()
  local h = assert(io.open(f, "w"))
  h:write(code)
  h:close()
  local cmd = ("%sLUA_PATH=%s LUA_CPATH=%s timeout -k 2 20 lua5.4 %s 2>&1")
    :format(limits(), H.shq(package.path), H.shq(package.cpath), H.shq(f))
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  local _, how, rc = p:close()
  os.remove(f)
  H.assert_exit(out, how, rc, 0)
  local res = out:match("RESULT ([^\n]*)")
  assert(res, out)
  return assert(load("return " .. res))()
end

local function raw(level, typ, data)
  return { level = level, type = typ, data = data }
end

---------------------------------------------------------------------------
-- the walk
---------------------------------------------------------------------------

describe("#linux msg:control() over a rewritten control buffer: the walk", function()
  it("the real records decode (the setup is sound)", function()
    local t = control_of("", "none")
    local types = {}
    for i, c in ipairs(t) do types[i] = c.type end
    assert.same({ "SO_TIMESTAMP", "IP_PKTINFO", "IP_TTL", "IP_ORIGDSTADDR" },
      types)
  end)

  -- cmsg_len values whose pos + cmsg_len wraps, or whose CMSG_SPACE does
  for _, c in ipairs {
    { -1, "2^64-1 (CMSG_SPACE rounds to 0)" },
    { -8, "2^64-8" },
    { -16, "2^64-16" },
    { -24, "2^64-24 (steps back to the first record)" },
    { math.mininteger, "2^63" },
    { (1 << 32) + HDR, "2^32+16" },
  } do
    it("a cmsg_len of " .. c[2] .. " ends the walk", function()
      -- a TTL, then the hostile header at every position that still holds
      -- a header (a raw record fills the gap; the last header ends at USED)
      local lead = ttl_rec(64)
      for at = #lead, USED - HDR, 8 do
        local s, want = lead, { TTL64 }
        if at > #lead then
          local gap = ("f"):rep(at - #lead - HDR)
          s = s .. rec(99, 7, gap)
          want[2] = raw(99, 7, gap)
        end
        s = s .. hdr(c[1], IPPROTO_IP, IP_TTL)
        assert.same(want, control_of(s), "header at " .. at)
      end
    end)
  end

  it("a wrapping cmsg_len right after the first record", function()
    assert.same({ TTL64 },
      control_of(ttl_rec(64) .. hdr(-24, IPPROTO_IP, IP_TTL)))
    assert.same({ TTL64 },
      control_of(ttl_rec(64) .. hdr(-1, SOL_SOCKET, SO_TIMESTAMP)))
  end)

  it("a wrapping cmsg_len in the last header of the buffer", function()
    local s = ttl_rec(64) .. rec(99, 7, ("y"):rep(64))
    assert.equal(USED - HDR, #s)
    assert.same({ TTL64, raw(99, 7, ("y"):rep(64)) },
      control_of(s .. hdr(-1, IPPROTO_IP, IP_TTL)))
  end)

  it("a cmsg_len smaller than the header ends the walk", function()
    for _, len in ipairs { 0, 1, 8, HDR - 1 } do
      assert.same({ TTL64 },
        control_of(ttl_rec(64) .. hdr(len, IPPROTO_IP, IP_TTL)))
      assert.same({}, control_of(hdr(len, IPPROTO_IP, IP_TTL)))
    end
  end)

  it("a record that ends past the used bytes ends the walk", function()
    local past = USED - 24 + 1
    assert.same({ TTL64 },
      control_of(ttl_rec(64) .. hdr(past, 99, 7)))
    assert.same({ TTL64 },
      control_of(ttl_rec(64) .. hdr(USED, IPPROTO_IP, IP_TTL)))
  end)

  it("a record whose padding reaches the end of the used bytes is the last",
    function()
      -- 93 bytes: CMSG_SPACE rounds the step to 96, right to the end
      local s = ttl_rec(64) .. rec(99, 7, ("z"):rep(93 - HDR))
      assert.equal(USED, #s)
      assert.same({ TTL64, raw(99, 7, ("z"):rep(93 - HDR)) }, control_of(s))
    end)

  it("hostile records written by another receive into the control buffer",
    function()
      local s = ttl_rec(64) .. rec(99, 7, ("y"):rep(64))
        .. hdr(-1, IPPROTO_IP, IP_TTL)
      assert.same({ TTL64, raw(99, 7, ("y"):rep(64)) },
        control_of(s, "recv"))
      assert.same({ TTL64 }, control_of(ttl_rec(64)
        .. hdr(-24, SOL_SOCKET, SO_TIMESTAMP), "recv"))
    end)
end)

---------------------------------------------------------------------------
-- the decoders
---------------------------------------------------------------------------

describe("#linux msg:control() over a rewritten control buffer: decoders", function()
  it("SO_TIMESTAMP with tv_usec out of 0..999999 is reported raw", function()
    for _, usec in ipairs { 1 << 62, math.maxinteger, math.mininteger, -1,
      1000000 } do
      local data = string.pack("=i8i8", 5, usec)
      assert.same({ raw(SOL_SOCKET, SO_TIMESTAMP, data) },
        control_of(rec(SOL_SOCKET, SO_TIMESTAMP, data)))
    end
  end)

  it("SO_TIMESTAMPNS with tv_nsec out of 0..999999999 is reported raw",
    function()
      for _, nsec in ipairs { 1000000000, -1, math.maxinteger,
        math.mininteger } do
        local data = string.pack("=i8i8", 5, nsec)
        assert.same({ raw(SOL_SOCKET, SO_TIMESTAMPNS, data) },
          control_of(rec(SOL_SOCKET, SO_TIMESTAMPNS, data)))
      end
    end)

  it("timestamps in range decode, extreme seconds included", function()
    assert.same({ { level = "SOL_SOCKET", type = "SO_TIMESTAMP",
      sec = math.maxinteger, nsec = 999999000 } },
      control_of(rec(SOL_SOCKET, SO_TIMESTAMP,
        string.pack("=i8i8", math.maxinteger, 999999))))
    assert.same({ { level = "SOL_SOCKET", type = "SO_TIMESTAMPNS",
      sec = math.mininteger, nsec = 999999999 } },
      control_of(rec(SOL_SOCKET, SO_TIMESTAMPNS,
        string.pack("=i8i8", math.mininteger, 999999999))))
  end)

  -- level, type, the payload size the kernel writes
  local SIZES = {
    { IPPROTO_IP, IP_PKTINFO, 12 }, { IPPROTO_IP, IP_TOS, 1 },
    { IPPROTO_IP, IP_TTL, 4 }, { IPPROTO_IP, IP_ORIGDSTADDR, 16 },
    { IPPROTO_IP, IP_RECVERR, 16 }, { IPPROTO_IPV6, IPV6_PKTINFO, 20 },
    { IPPROTO_IPV6, IPV6_TCLASS, 4 }, { IPPROTO_IPV6, IPV6_HOPLIMIT, 4 },
    { IPPROTO_IPV6, IPV6_ORIGDSTADDR, 28 },
    { IPPROTO_IPV6, IPV6_RECVERR, 16 }, { SOL_SOCKET, SO_TIMESTAMP, 16 },
    { SOL_SOCKET, SO_TIMESTAMPNS, 16 }, { SOL_SOCKET, SO_RXQ_OVFL, 4 },
    { SOL_UDP, UDP_GRO, 4 },
  }

  it("a payload shorter than its type's is reported raw, never read past",
    function()
      for _, c in ipairs(SIZES) do
        for _, n in ipairs { 0, c[3] - 1, c[3] > 2 and 2 or 0 } do
          if n ~= 1 or c[2] ~= IP_TOS then
            -- the record ends as near the used bytes' end as alignment
            -- lets (a raw record fills the space before it)
            local data = ("\7"):rep(n)
            local at = (USED - HDR - n) - (USED - HDR - n) % 8
            local gap = ("f"):rep(at - HDR)
            local s = rec(99, 1, gap) .. hdr(HDR + n, c[1], c[2]) .. data
            assert.same({ raw(99, 1, gap),
              raw(c[1], c[2], data) }, control_of(s),
              ("level %d type %d, %d bytes"):format(c[1], c[2], n))
          end
        end
      end
    end)

  it("an original destination of the wrong family is reported raw",
    function()
      local d4 = string.pack("=I2", 1) .. ("p"):rep(14)   -- AF_UNIX
      assert.same({ raw(IPPROTO_IP, IP_ORIGDSTADDR, d4) },
        control_of(rec(IPPROTO_IP, IP_ORIGDSTADDR, d4)))
      local d6 = sin(9, 127, 0, 0, 1) .. ("\0"):rep(12)    -- AF_INET
      assert.same({ raw(IPPROTO_IPV6, IPV6_ORIGDSTADDR, d6) },
        control_of(rec(IPPROTO_IPV6, IPV6_ORIGDSTADDR, d6)))
      assert.same({ { level = "IPPROTO_IP", type = "IP_ORIGDSTADDR",
        addr = "127.0.0.1", port = 9 } },
        control_of(rec(IPPROTO_IP, IP_ORIGDSTADDR, sin(9, 127, 0, 0, 1))))
    end)

  it("IP_RECVERR: a cut offender is left out; any errno is named",
    function()
      local base = { level = "IPPROTO_IP", type = "IP_RECVERR",
        error = "WSAECONNRESET", code = 10054, origin = "icmp",
        icmp_type = 3, icmp_code = 3, info = 0 }
      local e = ee(111, 2, 3, 3)                  -- ECONNREFUSED, ICMP
      local full = e .. sin(53, 10, 1, 2, 3)
      local want = {}
      for k, v in pairs(base) do want[k] = v end
      want.offender = "10.1.2.3"
      assert.same({ want }, control_of(rec(IPPROTO_IP, IP_RECVERR, full)))
      -- the offender one byte short, and an AF_INET6 one that is cut
      assert.same({ base }, control_of(rec(IPPROTO_IP, IP_RECVERR,
        full:sub(1, #full - 1))))
      assert.same({ base }, control_of(rec(IPPROTO_IP, IP_RECVERR,
        e .. string.pack("=I2", AF_INET6) .. ("\0"):rep(20))))
      local odd = control_of(rec(IPPROTO_IP, IP_RECVERR,
        ee(0xffffffff, 0xff, 0xff, 0xff)))
      assert.equal("IP_RECVERR", odd[1].type)
      assert.equal("other", odd[1].origin)
      assert.equal(255, odd[1].icmp_type)
      assert.is_string(odd[1].error)
    end)

  it("ints decode from whatever bytes the record holds", function()
    assert.same({ { level = "IPPROTO_IP", type = "IP_TTL", ttl = -1 },
      { level = "IPPROTO_IP", type = "IP_TOS", tos = 255, ecn = 3 },
      { level = "IPPROTO_UDP", type = "UDP_GRO",
        segment_size = -2147483648 } },
      control_of(ttl_rec(-1) .. rec(IPPROTO_IP, IP_TOS, "\255")
        .. rec(SOL_UDP, UDP_GRO, string.pack("=i4", -2147483648))))
  end)
end)
