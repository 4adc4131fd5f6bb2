-- MSG_BCAST and MSG_MCAST for real: two network namespaces joined by a veth
-- pair (198.18.0.1/24 sends, 198.18.0.2/24 receives; IPv6 uses the
-- documentation prefix 2001:db8::/64), built and torn down by each test.
-- The receiver (spec/support/netns_rx.lua) and the sender run as
-- `ip netns exec` subprocesses; the receiver reports what WSARecvMsg gave
-- for each datagram.  Needs root; elsewhere every test reports itself
-- pending.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

---------------------------------------------------------------------------
-- local helpers
---------------------------------------------------------------------------

local MSG_BCAST, MSG_MCAST = wsarecv.MSG_BCAST, wsarecv.MSG_MCAST

-- `make asan-test` preloads the ASan runtime into everything; /usr/bin/ip
-- trips over it, so ip runs without it and the Lua subprocesses get it back.
local PRELOAD = os.getenv("LD_PRELOAD")
if PRELOAD == "" then PRELOAD = nil end

-- run a shell command (ip runs without LD_PRELOAD); ok (exit status 0),
-- its output (stdout + stderr)
local function sh(cmd)
  return H.run((cmd:gsub("^ip ", H.NO_PRELOAD .. "ip ")))
end

local q = H.shq

local function cwd()
  local pwd = os.getenv("PWD")
  if pwd and pwd ~= "" then return pwd end
  local f = io.popen("pwd")
  pwd = f:read("l")
  f:close()
  return pwd
end
local CWD = cwd()

local function absolute(p)
  if p:sub(1, 1) == "/" then return p end
  return CWD .. "/" .. p:gsub("^%./", "")
end

-- package.path / package.cpath with every relative entry made absolute
local function abs_searchpath(path)
  local out = {}
  for entry in path:gmatch("[^;]+") do out[#out + 1] = absolute(entry) end
  return table.concat(out, ";") .. ";;"
end

-- prefix of `ip netns exec NS <lua>`: ip without the preload, lua with
-- the search paths (and the preload, if there was one)
local function netns_lua(ns)
  return (H.NO_PRELOAD .. "ip netns exec %s env LUA_PATH=%s LUA_CPATH=%s%s "
    .. "lua5.4"):format(ns, q(abs_searchpath(package.path)),
      q(abs_searchpath(package.cpath)),
      PRELOAD and (" LD_PRELOAD=" .. q(PRELOAD)) or "")
end

local RX_SCRIPT = (function()
  local src = debug.getinfo(1, "S").source:gsub("^@", "")
  local dir = src:match("^(.*)/[^/]*$") or "."
  return absolute(dir .. "/support/netns_rx.lua")
end)()

local PID = H.pid() or tostring(os.time() % 1000000)

local is_root = H.is_root

-- Delete namespaces and links left by earlier runs that died (their pid
-- is gone), and anything of ours.
local function cleanup_stale()
  local _, list = sh("ip netns list")
  for name in list:gmatch("(wrns%d+[ab])") do
    local pid = name:match("^wrns(%d+)")
    local f = io.open("/proc/" .. pid .. "/stat")
    if f then f:close() end
    if pid == PID or not f then sh("ip netns del " .. name) end
  end
  local _, links = sh("ip -o link show")
  for name in links:gmatch("(wrv%d+[ab])[@:]") do
    local pid = name:match("^wrv(%d+)")
    local f = io.open("/proc/" .. pid .. "/stat")
    if f then f:close() end
    if pid == PID or not f then sh("ip link del " .. name) end
  end
end

local NS_A, NS_B = "wrns" .. PID .. "a", "wrns" .. PID .. "b"
local VA, VB = "wrv" .. PID .. "a", "wrv" .. PID .. "b"

local function destroy()
  sh("ip netns del " .. NS_A)
  sh("ip netns del " .. NS_B)
  sh("ip link del " .. VA)       -- only if it never left the root ns
end

-- Build the pair or skip the test (visibly).  opts.brd: give the IPv4
-- addresses an explicit broadcast address (`brd +`); opts.v6: IPv6.
local function setup(opts)
  if not is_root() then
    pending("needs root (ip netns); not root here")
  end
  cleanup_stale()
  local ok, out = sh("ip netns add " .. NS_A)
  if not ok then
    pending("ip netns add failed: " .. out:gsub("%s+$", ""))
  end
  local steps = {
    "ip netns add " .. NS_B,
    ("ip link add %s type veth peer name %s"):format(VA, VB),
    ("ip link set %s netns %s"):format(VA, NS_A),
    ("ip link set %s netns %s"):format(VB, NS_B),
    ("ip -n %s link set lo up"):format(NS_A),
    ("ip -n %s link set lo up"):format(NS_B),
  }
  if opts.v6 then
    steps[#steps + 1] = ("ip -n %s addr add 2001:db8::1/64 dev %s nodad")
      :format(NS_A, VA)
    steps[#steps + 1] = ("ip -n %s addr add 2001:db8::2/64 dev %s nodad")
      :format(NS_B, VB)
  else
    local brd = opts.brd and " brd +" or ""
    steps[#steps + 1] = ("ip -n %s addr add 198.18.0.1/24%s dev %s")
      :format(NS_A, brd, VA)
    steps[#steps + 1] = ("ip -n %s addr add 198.18.0.2/24%s dev %s")
      :format(NS_B, brd, VB)
  end
  steps[#steps + 1] = ("ip -n %s link set %s up"):format(NS_A, VA)
  steps[#steps + 1] = ("ip -n %s link set %s up"):format(NS_B, VB)
  for _, cmd in ipairs(steps) do
    ok, out = sh(cmd)
    assert(ok, cmd .. ": " .. out)
  end
  if opts.router then
    -- NS_B forwards; NS_A reaches 198.18.0.128/25 through it
    for _, cmd in ipairs {
      ("ip -n %s route add 198.18.0.128/25 via 198.18.0.2"):format(NS_A),
      ("ip netns exec %s sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'")
        :format(NS_B),
    } do
      ok, out = sh(cmd)
      assert(ok, cmd .. ": " .. out)
    end
  end
  if not opts.v6 then
    -- the sender binds its address, which already picks the veth for
    -- broadcast and multicast; the routes make it explicit
    sh(("ip -n %s route add 239.0.0.0/8 dev %s"):format(NS_A, VA))
    sh(("ip -n %s route add 255.255.255.255/32 dev %s"):format(NS_A, VA))
  end
end

-- Start the receiver in NS_B; returns the pipe and the port it bound.
local function start_rx(family, count, pktinfo, group, iface)
  local cmd = ("timeout 15 %s %s %s %d %s %s %s 2>&1")
    :format(netns_lua(NS_B), q(RX_SCRIPT), family, count,
      pktinfo and "1" or "0", group, iface)
  local f = io.popen(cmd)
  local first = f:read("l")
  local port = first and tonumber(first:match("^READY (%d+)$"))
  if not port then
    local rest = f:read("a") or ""
    f:close()
    error("receiver did not start: " .. tostring(first) .. "\n" .. rest)
  end
  return f, port
end

-- The rest of the receiver's report: payload -> record
local function finish_rx(f)
  local out = f:read("a")
  f:close()
  local got = {}
  for line in out:gmatch("[^\n]+") do
    local p, err, bytes, flags, mflags, src, n, types, opt, pi = line:match(
      "^DGRAM (%S+) (%S+) (%d+) (%d+) (%d+) (%S+) (%d+) (%S+) (%S+) (%S+)$")
    if p then
      got[p] = { err = err, bytes = tonumber(bytes), flags = tonumber(flags),
        msgflags = tonumber(mflags), src = src, n = tonumber(n),
        types = types, opt = opt, pktinfo = pi }
    end
  end
  return got, out
end

local SENDER = [[
local wsarecv = require "wsarecv"
local family, bindaddr, port = arg[1], arg[2], tonumber(arg[3])
local s = assert(wsarecv.socket(family, "dgram"))
local function check(what, r, e)
  if r ~= 0 then print("FAIL " .. what .. " " .. tostring(e)) os.exit(1) end
end
if family == "inet" then
  check("SO_BROADCAST", s:setsockopt("SO_BROADCAST", true))
  check("IP_MULTICAST_TTL", s:setsockopt("IP_MULTICAST_TTL", 1))
else
  check("IPV6_MULTICAST_HOPS", s:setsockopt("IPV6_MULTICAST_HOPS", 1))
end
check("bind", s:bind(bindaddr, 0))
for i = 4, #arg, 2 do
  local n, e = s:sendto(arg[i], arg[i + 1], port)
  print(n == #arg[i] and ("SENT " .. arg[i]) or ("FAIL " .. arg[i] .. " "
    .. tostring(e)))
end
]]

-- Send (payload, destination) pairs from NS_A; returns the sender output
local function send_from_a(family, bindaddr, port, pairs_)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(SENDER)
  f:close()
  local args = {}
  for _, p in ipairs(pairs_) do
    args[#args + 1] = q(p[1])
    args[#args + 1] = q(p[2])
  end
  local ok, out = sh(("timeout 10 %s %s %s %s %d %s")
    :format(netns_lua(NS_A), q(path), family, bindaddr, port,
      table.concat(args, " ")))
  os.remove(path)
  return ok, out
end

-- Run a Lua chunk in namespace ns; returns ok, its output
local function run_in(ns, chunk)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write(chunk)
  f:close()
  local ok, out = sh(("timeout 10 %s %s"):format(netns_lua(ns), q(path)))
  os.remove(path)
  return ok, out
end

local V4_CASES = {
  { "unicast", "198.18.0.2", 0 },
  { "dirbcast", "198.18.0.255", MSG_BCAST },
  { "limbcast", "255.255.255.255", MSG_BCAST },
  { "mcast", "239.1.2.3", MSG_MCAST },
}

local function v4_exchange(pktinfo)
  local rx, port = start_rx("inet", #V4_CASES, pktinfo, "239.1.2.3",
    "198.18.0.2")
  local ok, out = send_from_a("inet", "198.18.0.1", port, V4_CASES)
  local got, report = finish_rx(rx)
  assert(ok, "sender failed: " .. out)
  return got, report, out
end

-- Compare everything at once, so a failure shows every datagram's outcome.
local function check_v4(got, report, pktinfo)
  local want, have = {}, {}
  for _, c in ipairs(V4_CASES) do
    local payload, dest, flags = c[1], c[2], c[3]
    local r = got[payload]
    assert(r, ("no report for the %s datagram (to %s); receiver said:\n%s")
      :format(payload, dest, report))
    want[payload] = { err = "ok", bytes = #payload, flags = flags,
      msgflags = flags, src = "198.18.0.1",
      types = pktinfo and "IP_PKTINFO" or "-",
      pktinfo = pktinfo and dest or "-",
      opt = tostring(pktinfo) }
    have[payload] = { err = r.err, bytes = r.bytes, flags = r.flags,
      msgflags = r.msgflags, src = r.src, types = r.types,
      pktinfo = r.pktinfo, opt = r.opt }
  end
  assert.same(want, have)
end

---------------------------------------------------------------------------
-- the tests
---------------------------------------------------------------------------

describe("#linux MSG_BCAST / MSG_MCAST across two namespaces", function()

  teardown(function()
    if is_root() then cleanup_stale() end
  end)

  it("IPv4 (addresses with brd +): unicast none, directed and limited "
    .. "broadcast MSG_BCAST, group MSG_MCAST, without IP_PKTINFO and no "
    .. "IP_PKTINFO table", function()
      finally(destroy)
      setup { brd = true }
      local got, report = v4_exchange(false)
      check_v4(got, report, false)
    end)

  it("IPv4 with IP_PKTINFO on: the same flags, and the table shows each "
    .. "destination", function()
      finally(destroy)
      setup { brd = true }
      local got, report = v4_exchange(true)
      check_v4(got, report, true)
    end)

  it("IPv4 addresses configured without an explicit broadcast address "
    .. "(plain `ip addr add A/24`): the same flags", function()
      finally(destroy)
      setup { brd = false }
      -- the kernel still treats 198.18.0.255 as this subnet's broadcast
      local ok, routes = sh(("ip -n %s route show table local"):format(NS_B))
      assert(ok and routes:find("broadcast 198.18.0.255", 1, true),
        "kernel has no broadcast route:\n" .. routes)
      local got, report = v4_exchange(false)
      check_v4(got, report, false)
    end)

  it("IPv6: a group datagram (ff15::1:2:3 and all-nodes ff02::1) gets "
    .. "MSG_MCAST, a unicast one none, no IPV6_PKTINFO table", function()
      finally(destroy)
      setup { v6 = true }
      local cases = {
        { "unicast6", "2001:db8::2", 0 },
        { "mcast6", "ff15::1:2:3", MSG_MCAST },
        { "allnodes6", "ff02::1%" .. VA, MSG_MCAST },
      }
      local rx, port = start_rx("inet6", #cases, false, "ff15::1:2:3", VB)
      local ok, out = send_from_a("inet6", "2001:db8::1", port, cases)
      local got, report = finish_rx(rx)
      assert(ok, "sender failed: " .. out)
      for _, c in ipairs(cases) do
        local r = got[c[1]]
        assert(r, ("no report for %s; receiver said:\n%s"):format(c[1],
          report))
        assert.equal("ok", r.err)
        assert.equal(#c[1], r.bytes)
        assert.equal(c[3], r.flags, c[1])
        assert.equal(c[3], r.msgflags, c[1])
        assert.equal("2001:db8::1", r.src)
        assert.equal(0, r.n)
        assert.equal("false", r.opt)
      end
    end)

  it("ICMP time exceeded (TTL 1 through a forwarding namespace) with "
    .. "IP_RECVERR: WSAENETRESET and an IP_RECVERR table of type 11",
    function()
      finally(destroy)
      setup { brd = true, router = true }
      local ok, out = run_in(NS_A, [[
local wsarecv = require "wsarecv"
local s = assert(wsarecv.socket("inet", "dgram"))
assert(s:setsockopt("SO_RCVTIMEO", 3000) == 0)
assert(s:bind("198.18.0.1", 0) == 0)
assert(s:setsockopt("IP_RECVERR", true) == 0)
assert(s:setsockopt("IP_TTL", 1) == 0)
assert(s:connect("198.18.0.130", 9) == 0)
assert(s:send("expires") == 7)
local m = wsarecv.msg { buffers = wsarecv.buffer(16), control = 256 }
local r, name, code = s:WSARecvMsg(m)
print("RESULT", tostring(r), tostring(name), tostring(code))
for _, c in ipairs(m:control()) do
  if c.type == "IP_RECVERR" then
    print("RECVERR", c.error, c.origin, c.icmp_type, c.icmp_code, c.offender)
  end
end
]])
      assert(ok, "subprocess failed:\n" .. out)
      local r, name, code = out:match("RESULT\t(%S+)\t(%S+)\t(%S+)")
      assert(r, "no result:\n" .. out)
      local e = { out:match("RECVERR\t(%S+)\t(%S+)\t(%S+)\t(%S+)\t(%S+)") }
      -- the WSARecvMsg page: "WSAENETRESET: For a datagram socket, this
      -- error indicates that the time to live has expired."
      assert.same({ "nil", "WSAENETRESET", "10052" }, { r, name, code })
      assert.same({ "WSAENETRESET", "icmp", "11", "0", "198.18.0.2" }, e)
    end)
end)
