-- Host names in bind, connect and sendto (getaddrinfo in the core, after
-- the numeric fast path), and the address family an inet6 socket with
-- IPV6_V6ONLY takes.  No query ever leaves the machine: the names used in
-- this process are in /etc/hosts (found there first), and everything else
-- runs in a child with its own /etc/hosts, nsswitch.conf and resolv.conf
-- (a mount namespace; for "the name server does not answer", a network
-- namespace with loopback alone).  The children need root; elsewhere
-- those tests report themselves pending.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local T = H.tracker()
local sock = H.timed_sockets(T, 2000)
local pack, q = H.pack, H.shq

after_each(function() T.cleanup() end)

local AF = { nil, "WSAEAFNOSUPPORT", 10047, n = 3 }
local NF = { nil, "WSAHOST_NOT_FOUND", 11001, n = 3 }

local function hostname()
  local f = assert(io.open("/proc/sys/kernel/hostname"))
  local name = f:read("l")
  f:close()
  return name
end

-- the IPv4 addresses /etc/hosts gives `name` (a set), or nil
local function hosts_v4(name)
  local f = io.open("/etc/hosts")
  if not f then return nil end
  local found
  for l in f:lines() do
    local words = {}
    for w in l:gsub("#.*", ""):gmatch("%S+") do words[#words + 1] = w end
    if words[1] and words[1]:match("^%d+%.%d+%.%d+%.%d+$") then
      for i = 2, #words do
        if words[i]:lower() == name:lower() then
          found = found or {}
          found[words[1]] = true
        end
      end
    end
  end
  f:close()
  return found
end

-- the address a datagram socket connects to for `text` (or the failure)
local function resolves(family, text, v6only)
  local s = sock(family, "dgram")
  if v6only ~= nil then assert(s:setsockopt("IPV6_V6ONLY", v6only) == 0) end
  local r = pack(s:connect(text, 9))
  if r[1] ~= 0 then return r end
  return (s:getpeername())
end

---------------------------------------------------------------------------
-- in this process: names /etc/hosts has, and text never looked up
---------------------------------------------------------------------------

describe("host names", function()

  it("the machine's own host name works in bind, connect and sendto "
    .. "(an inet socket; it is in /etc/hosts)", function()
      local name = hostname()
      local addrs = hosts_v4(name)
      if not addrs then
        pending("/etc/hosts has no IPv4 address for " .. name)
        return
      end
      local rx = sock("inet", "dgram")
      assert.equal(0, rx:bind(name, 0))
      local addr, port = rx:getsockname()
      assert.is_true(addrs[addr] ~= nil, addr)
      local tx = sock("inet", "dgram")
      assert.equal(5, tx:sendto("hello", name, port))
      local b = wsarecv.buffer(16)
      assert.same({ 0, 5, 0, n = 3 }, pack(rx:WSARecv(b, 0)))
      assert.equal("hello", b:sub(1, 5))
      assert.equal(0, tx:connect(name, port))
      assert.same({ addr, port }, { tx:getpeername() })
      assert.equal(3, tx:send("bye"))
      assert.same({ 0, 3, 0, n = 3 }, pack(rx:WSARecv(b, 0)))
    end)

  it("localhost is the loopback address of the socket's family, in any "
    .. "case, without a lookup", function()
      for _, text in ipairs { "localhost", "LocalHost", "LOCALHOST" } do
        assert.equal("127.0.0.1", resolves("inet", text))
        assert.equal("::1", resolves("inet6", text))
        assert.equal("::1", resolves("inet6", text, true))
      end
    end)

  it("text that is no address and cannot be a name is never looked up: "
    .. "WSAHOST_NOT_FOUND", function()
      local s = sock("inet", "dgram")
      local s6 = sock("inet6", "dgram")
      for _, text in ipairs { "127.1", "0x7f000001", "10.0.0.300",
        "1.2.3.4.5", "no such host", "a..b", ".", "host/1",
        "fe80::1%nosuchif0", string.rep("a", 64) .. ".example",
        string.rep("abc.", 64) .. "com" } do
        assert.same(NF, pack(s:bind(text, 0)), text)
        assert.same(NF, pack(s:connect(text, 9)), text)
        assert.same(NF, pack(s:sendto("x", text, 9)), text)
        assert.same(NF, pack(s6:connect(text, 9)), text)
      end
    end)
end)

describe("IPV6_V6ONLY and IPv4 text", function()

  it("on: IPv4 text is of the wrong family, WSAEAFNOSUPPORT from bind, "
    .. "connect and sendto, and the socket stays usable", function()
      local s = sock("inet6", "dgram")
      assert.equal(0, s:setsockopt("IPV6_V6ONLY", true))
      for _, text in ipairs { "127.0.0.1", "0.0.0.0", "192.0.2.1" } do
        assert.same(AF, pack(s:bind(text, 0)), text)
        assert.same(AF, pack(s:connect(text, 9)), text)
        assert.same(AF, pack(s:sendto("x", text, 9)), text)
      end
      assert.equal(0, s:bind("::1", 0))
      local _, port = s:getsockname()
      local tx = sock("inet6", "dgram")
      assert.equal(2, tx:sendto("v6", "::1", port))
      assert.same({ 0, 2, 0, n = 3 }, pack(s:WSARecv(wsarecv.buffer(4), 0)))
    end)

  -- #linux: Windows makes inet6 sockets IPV6_V6ONLY by default
  it("#linux off (the default, or set): IPv4 text is the v4-mapped address",
    function()
      assert.equal("::ffff:127.0.0.1", resolves("inet6", "127.0.0.1"))
      assert.equal("::ffff:127.0.0.1", resolves("inet6", "127.0.0.1", false))
      local rx = sock("inet6", "dgram")
      assert.equal(0, rx:setsockopt("IPV6_V6ONLY", false))
      assert.equal(0, rx:bind("127.0.0.1", 0))
      local addr, port = rx:getsockname()
      assert.equal("::ffff:127.0.0.1", addr)
      local tx = sock("inet", "dgram")
      assert.equal(4, tx:sendto("dual", "127.0.0.1", port))
      assert.same({ 0, 4, 0, n = 3 }, pack(rx:WSARecv(wsarecv.buffer(8), 0)))
    end)

  it("a descriptor adopted with IPV6_V6ONLY already on counts as on",
    function()
      local s = sock("inet6", "dgram")
      assert.equal(0, s:setsockopt("IPV6_V6ONLY", true))
      local w = T.track(assert(wsarecv.wrap(s:fileno(), { dup = true })))
      assert.same(AF, pack(w:bind("127.0.0.1", 0)))
    end)
end)

---------------------------------------------------------------------------
-- in a child with its own name service
---------------------------------------------------------------------------

local PRELOAD = os.getenv("LD_PRELOAD")
if PRELOAD == "" then PRELOAD = nil end

local HOSTS = [[
127.0.0.1 localhost
127.0.0.1 %s
127.0.0.7 wr-v4.test wr-v4
::1 wr-v6.test wr-v6
fd00:7::6 wr-v6only
127.0.0.8 wr-both
::1 wr-both
]]

-- What the child checks: one line per case, "label|result|...".
local CHILD = [[
local wsarecv = require "wsarecv"
local function out(label, ...)
  local t = table.pack(...)
  for i = 1, t.n do t[i] = tostring(t[i]) end
  print(label .. "|" .. table.concat(t, "|", 1, t.n))
end
local function connect(family, text, v6only)
  local s = assert(wsarecv.socket(family, "dgram"))
  if v6only then assert(s:setsockopt("IPV6_V6ONLY", true) == 0) end
  local r, name = s:connect(text, 9)
  local addr = r == 0 and s:getpeername() or name
  s:close()
  return addr
end
for line in io.lines(arg[1]) do
  local family, v6only, text = line:match("^(%S+) (%S+) (%S+)$")
  out(line, connect(family, text, v6only == "v6only"))
end
-- by name, for real: bind, sendto, receive
local rx = assert(wsarecv.socket("inet6", "dgram"))
assert(rx:setsockopt("IPV6_V6ONLY", true) == 0)
local r = rx:bind("wr-v6", 0)
local _, port = rx:getsockname()
local tx = assert(wsarecv.socket("inet6", "dgram"))
local sent = tx:sendto("by name", "wr-v6.test", port)
local n = rx:WSARecv(wsarecv.buffer(16), 0)
out("roundtrip", r, sent, n)
]]

-- Run CHILD under `unshare -m [-n]` with the name service files given;
-- cases are lines "family v6only|dual text".  Returns label -> result, or
-- nil and why the child could not be set up.
local function child(cases, nss, resolv, netns)
  if not H.is_root() or not H.have_cmd("unshare") then
    return nil, "needs root and unshare (a mount namespace)"
  end
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir " .. q(dir)))
  local function put(name, text)
    local f = assert(io.open(dir .. "/" .. name, "w"))
    f:write(text)
    f:close()
    return dir .. "/" .. name
  end
  local files = {
    ["/etc/hosts"] = put("hosts", HOSTS:format(hostname())),
    ["/etc/nsswitch.conf"] = put("nsswitch.conf", nss),
    ["/etc/resolv.conf"] = put("resolv.conf", resolv),
  }
  local script = put("child.lua", CHILD)
  local list = put("cases", table.concat(cases, "\n") .. "\n")
  local setup = {}
  if netns then setup[#setup + 1] = "ip link set lo up" end
  for target, file in pairs(files) do
    setup[#setup + 1] = ("mount --bind %s %s"):format(q(file), target)
  end
  setup[#setup + 1] = ("exec env LUA_PATH=%s LUA_CPATH=%s%s timeout -k 2 20 "
    .. "lua5.4 %s %s"):format(q(package.path), q(package.cpath),
      PRELOAD and (" LD_PRELOAD=" .. q(PRELOAD)) or "", q(script), q(list))
  local ok, out = H.run(("%sunshare -m%s sh -ec %s"):format(H.NO_PRELOAD,
    netns and " -n" or "", q(table.concat(setup, "\n"))))
  os.execute("rm -rf " .. q(dir))
  local results = {}
  for label, rest in out:gmatch("([^\n|]+)|([^\n]*)") do results[label] = rest end
  if not ok and next(results) == nil then
    return nil, "the child could not be set up: " .. out
  end
  assert(ok, out)
  return results, out
end

-- #linux: the lookups run in a Linux mount namespace (unshare)
describe("#linux host names looked up (a child's own /etc/hosts)", function()

  it("each family takes the names it has an address for; a dual-stack "
    .. "socket takes an IPv4 name v4-mapped, an IPv6 address first; a name "
    .. "nobody has is WSAHOST_NOT_FOUND", function()
      local me = hostname()
      local want = {
        ["inet dual wr-v4"] = "127.0.0.7",
        ["inet dual wr-v4.test"] = "127.0.0.7",
        ["inet dual WR-V4"] = "127.0.0.7",
        ["inet6 dual wr-v4"] = "::ffff:127.0.0.7",
        ["inet6 v6only wr-v4"] = "WSAHOST_NOT_FOUND",
        -- (glibc gives an inet socket 127.0.0.1 for a name on ::1's line)
        ["inet dual wr-v6only"] = "WSAHOST_NOT_FOUND",
        ["inet6 dual wr-v6"] = "::1",
        ["inet6 v6only wr-v6.test"] = "::1",
        ["inet6 dual wr-both"] = "::1",
        ["inet6 v6only wr-both"] = "::1",
        ["inet dual nonsense"] = "WSAHOST_NOT_FOUND",
        ["inet6 dual nonsense"] = "WSAHOST_NOT_FOUND",
        ["inet dual " .. me] = "127.0.0.1",
        ["inet6 dual " .. me] = "::ffff:127.0.0.1",
      }
      local cases = {}
      for k in pairs(want) do cases[#cases + 1] = k end
      table.sort(cases)
      local got, why = child(cases, "hosts: files\n", "")
      if not got then
        pending(why)
        return
      end
      for _, k in ipairs(cases) do assert.equal(want[k], got[k], k) end
      assert.equal("0|7|0", got.roundtrip)
    end)

  it("a name server that does not answer: WSATRY_AGAIN; names the hosts "
    .. "file has, and text never looked up, are not held up", function()
      local cases = {
        "inet dual nonsense", "inet6 dual nonsense", "inet dual wr-v4",
        "inet dual 127.1", "inet dual no-such-host.", "inet dual a..b",
      }
      -- nothing listens on 127.0.0.1:53 in a namespace of its own
      local got, why = child(cases, "hosts: files dns\n",
        "nameserver 127.0.0.1\noptions attempts:1 timeout:1\n", true)
      if not got then
        pending(why)
        return
      end
      assert.equal("WSATRY_AGAIN", got["inet dual nonsense"])
      assert.equal("WSATRY_AGAIN", got["inet6 dual nonsense"])
      assert.equal("WSATRY_AGAIN", got["inet dual no-such-host."])
      assert.equal("127.0.0.7", got["inet dual wr-v4"])
      assert.equal("WSAHOST_NOT_FOUND", got["inet dual 127.1"])
      assert.equal("WSAHOST_NOT_FOUND", got["inet dual a..b"])
      assert.equal(11002, wsarecv.errors.WSATRY_AGAIN)
    end)

  it("the lookup errors are in the error table, with their Windows codes",
    function()
      for name, code in pairs { WSAHOST_NOT_FOUND = 11001, WSATRY_AGAIN = 11002,
        WSANO_RECOVERY = 11003, WSANO_DATA = 11004 } do
        assert.equal(code, wsarecv.errors[name])
        assert.equal(name, wsarecv.errors[code])
        assert.truthy(#wsarecv.strerror(name) > 0)
      end
    end)
end)
