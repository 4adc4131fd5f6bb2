-- make_corpus.lua -- writes the seed corpus of fuzz/cmsg_fuzz.c: control
-- buffers as Linux (x86_64) writes them, one file each, into the directory
-- given (default fuzz/corpus/cmsg).  Run from the checkout:
--   lua5.4 fuzz/make_corpus.lua [dir]
-- Record: size_t cmsg_len, int level, int type, data at 16, each record
-- padded to 8 bytes.
local dir = arg[1] or "fuzz/corpus/cmsg"

local IPPROTO_IP, IPPROTO_IPV6, SOL_SOCKET, SOL_UDP = 0, 41, 1, 17

local function rec(level, typ, data)
  local r = string.pack("=I8i4i4", 16 + #data, level, typ) .. data
  return r .. ("\0"):rep((-#r) % 8)
end

local function sin(port, a, b, c, d)
  return string.pack("=I2>I2BBBB", 2, port, a, b, c, d) .. ("\0"):rep(8)
end

local LOOP6 = ("\0"):rep(15) .. "\1"
local function sin6(port, addr)
  return string.pack("=I2>I2I4", 10, port, 0) .. addr
    .. string.pack("=I4", 0)
end

-- struct sock_extended_err
local function ee(errno, origin, typ, code)
  return string.pack("=I4BBBBI4I4", errno, origin, typ, code, 0, 0, 0)
end

local R = {
  pktinfo = rec(IPPROTO_IP, 8,
    string.pack("=i4", 1) .. "\127\0\0\1" .. "\127\0\0\1"),
  pktinfo6 = rec(IPPROTO_IPV6, 50, LOOP6 .. string.pack("=I4", 1)),
  ttl = rec(IPPROTO_IP, 2, string.pack("=i4", 64)),
  tos = rec(IPPROTO_IP, 1, "\x21"),
  tclass = rec(IPPROTO_IPV6, 67, string.pack("=i4", 0x22)),
  hoplimit = rec(IPPROTO_IPV6, 52, string.pack("=i4", 64)),
  origdst = rec(IPPROTO_IP, 20, sin(4000, 127, 0, 0, 1)),
  origdst6 = rec(IPPROTO_IPV6, 74, sin6(4000, LOOP6)),
  timestamp = rec(SOL_SOCKET, 29, string.pack("=i8i8", 1767225600, 123456)),
  timestampns = rec(SOL_SOCKET, 35,
    string.pack("=i8i8", 1767225600, 123456789)),
  rxq_ovfl = rec(SOL_SOCKET, 40, string.pack("=I4", 3)),
  gro = rec(SOL_UDP, 104, string.pack("=i4", 1200)),
  -- ICMP port unreachable from 10.1.2.3; ICMPv6 time exceeded from ::1
  recverr = rec(IPPROTO_IP, 11, ee(111, 2, 3, 3) .. sin(0, 10, 1, 2, 3)),
  recverr6 = rec(IPPROTO_IPV6, 25, ee(113, 3, 3, 0) .. sin6(0, LOOP6)),
  raw = rec(99, 7, "raw bytes"),
}

-- what the kernel writes with several options on, in its order
R.multi = R.timestamp .. R.pktinfo .. R.ttl .. R.tos .. R.origdst
R.multi6 = R.pktinfo6 .. R.tclass .. R.hoplimit .. R.origdst6
-- a wrapping cmsg_len after a real record (the bug this target guards)
R.wrap = R.ttl .. string.pack("=i8i4i4", -24, IPPROTO_IP, 2)

local names = {}
for name in pairs(R) do names[#names + 1] = name end
table.sort(names)
for _, name in ipairs(names) do
  local f = assert(io.open(dir .. "/" .. name, "wb"))
  f:write(R[name])
  f:close()
end
print(("%d seeds in %s"):format(#names, dir))
