-- Helpers shared by the spec files:  local H = require "spec.support.helpers"
-- (busted runs from the checkout, so "./?.lua" in the search path finds it).
--
-- Busted's own globals (assert, pending, ...) live in the spec files'
-- environment, not in _G, so this module takes luassert (the same object
-- busted exports as `assert`) and never calls pending itself.
local wsarecv = require "wsarecv"
local assert = require "luassert"

local H = {}

---------------------------------------------------------------------------
-- results
---------------------------------------------------------------------------

-- all results, nils included: { n = select("#", ...), ... }
H.pack = table.pack

-- what a pending WSARecv / WSARecvMsg returns (as packed by H.pack)
H.PENDING = { nil, "WSA_IO_PENDING", 997, n = 3 }

-- assert that a call went pending: its results are exactly H.PENDING
function H.assert_pending(...)
  assert.same(H.PENDING, H.pack(...))
end

-- the error message a function raises (nil if it did not raise)
function H.raised(f, ...)
  local ok, err = pcall(f, ...)
  if ok then return nil end
  return tostring(err)
end

-- assert a failure triple nil, name, code; returns the packed results
function H.assert_fail(name, code, ...)
  local r = H.pack(...)
  assert.is_nil(r[1], "expected a failure, got " .. tostring(r[1]))
  assert.are.equal(name, r[2])
  assert.are.equal(code, r[3])
  return r
end

---------------------------------------------------------------------------
-- bounded waits
---------------------------------------------------------------------------

local function poll(pred, budget, alertable)
  for _ = 1, budget or 300 do
    if pred() then return true end
    wsarecv.SleepEx(10, alertable)
  end
  return pred() and true or false
end

-- Alertable waits of at most 10 ms each (routines may run) until pred()
-- holds or `budget` waits (default 300, about 3 s) are used up.  Returns
-- whether pred() held.
function H.wait_for(pred, budget) return poll(pred, budget, true) end

-- The same with non-alertable waits: I/O progresses, no routine runs.
function H.progress_until(pred, budget) return poll(pred, budget, false) end

-- wall clock in seconds (10 ms resolution); os.clock is CPU time.
-- Windows has no /proc: the module's monotonic clock there.
function H.now()
  local f = io.open("/proc/uptime")
  if not f then return wsarecv.now() end
  local t = f:read("n")
  f:close()
  return t
end

-- running on Windows (or Wine)
H.windows = package.config:sub(1, 1) == "\\"

-- alertable waits until cond() holds, at most `limit` seconds (default 3)
-- of wall clock
function H.wait_until(cond, limit)
  local deadline = H.now() + (limit or 3)
  while not cond() do
    if H.now() > deadline then return false end
    wsarecv.SleepEx(10, true)
  end
  return true
end

-- alertable waits for `ms` milliseconds in total (routines may run)
function H.settle(ms)
  local deadline = H.now() + ms / 1000
  repeat wsarecv.SleepEx(10, true) until H.now() >= deadline
end

-- five SleepEx(0, true) calls: whatever routines a test left queued run
function H.quiesce()
  for _ = 1, 5 do wsarecv.SleepEx(0, true) end
end

-- Run queued routines without blocking: at most `rounds` (default 50)
-- SleepEx(0, true) calls, stopping at the first that runs none.  With
-- `protect`, an error a routine raises is swallowed and draining goes on;
-- without, it escapes.
function H.drain(rounds, protect)
  for _ = 1, rounds or 50 do
    local ok, r
    if protect then
      ok, r = pcall(wsarecv.SleepEx, 0, true)
    else
      ok, r = true, wsarecv.SleepEx(0, true)
    end
    if ok and r ~= "WAIT_IO_COMPLETION" then break end
  end
end

---------------------------------------------------------------------------
-- sockets
---------------------------------------------------------------------------

-- a socket, or a failed assertion that says which and why
function H.socket(family, type, proto)
  local s, name, code = wsarecv.socket(family, type, proto)
  assert(s, ("socket(%s, %s) failed: %s %s"):format(family, type,
    tostring(name), tostring(code)))
  return s
end

-- A fresh unix socket path (the file os.tmpname creates is removed); with
-- `suffix`, that is appended (and whatever has the name is removed too).
function H.unix_path(suffix)
  local p = os.tmpname()
  os.remove(p)
  if suffix then
    p = p .. suffix
    os.remove(p)
  end
  return p
end

--[[ What a spec file opens, undone after each test:
  local T = H.tracker()
  T.track(s) -> s             close s after the test
  T.socket(family, type, proto) -> H.socket(...), tracked
  T.path(p) -> p              remove the file p after the test
  T.cleanup(between)          close the sockets (newest first), call
                              between() if given, remove the paths ]]
function H.tracker()
  local opened, paths = {}, {}
  local T = {}
  function T.track(s)
    assert(s, "socket creation failed")
    opened[#opened + 1] = s
    return s
  end
  function T.socket(family, type, proto)
    return T.track(H.socket(family, type, proto))
  end
  function T.path(p)
    paths[#paths + 1] = p
    return p
  end
  function T.cleanup(between)
    for i = #opened, 1, -1 do
      opened[i]:close()
      opened[i] = nil
    end
    if between then between() end
    for i = #paths, 1, -1 do
      os.remove(paths[i])
      paths[i] = nil
    end
  end
  return T
end

--[[ A UDP receiver and a sender, both bound to addr, port 0:
  { rx, tx, addr, port (rx's), txport, send(str) -> bytes sent }
  opts.socket(family, "dgram") makes each socket (default H.socket; pass a
  tracker's T.socket to have them closed after the test); opts.rcvtimeo
  sets SO_RCVTIMEO on rx (ms), so a nonoverlapped receive expecting data
  that is not there fails instead of hanging. ]]
function H.udp(family, addr, opts)
  opts = opts or {}
  local make = opts.socket or H.socket
  local rx = make(family, "dgram")
  assert(rx:bind(addr, 0) == 0)
  if opts.rcvtimeo then
    assert(rx:setsockopt("SO_RCVTIMEO", opts.rcvtimeo) == 0)
  end
  local _, port = rx:getsockname()
  local tx = make(family, "dgram")
  assert(tx:bind(addr, 0) == 0)
  local _, txport = tx:getsockname()
  return {
    rx = rx, tx = tx, port = port, txport = txport, addr = addr,
    send = function(str)
      local n, e = tx:sendto(str, addr, port)
      assert(n == #str, "sendto failed: " .. tostring(e))
      return n
    end,
  }
end

-- A UDP port nothing listens on (bound then closed).
function H.closed_udp_port(family, addr)
  local t = wsarecv.socket(family, "dgram")
  assert(t:bind(addr, 0) == 0)
  local _, port = t:getsockname()
  t:close()
  return port
end

-- A connected stream pair: client, accepted server side, the listener (left
-- open) and the address.  addr defaults to 127.0.0.1 (inet), ::1 (inet6)
-- or a fresh path (unix); family defaults to "inet".
function H.stream_pair(family, addr)
  family = family or "inet"
  addr = addr or family == "inet" and "127.0.0.1"
    or family == "inet6" and "::1" or H.unix_path()
  local l = assert(wsarecv.socket(family, "stream"))
  if family == "unix" then
    assert.are.equal(0, l:bind(addr))
  else
    assert.are.equal(0, l:bind(addr, 0))
  end
  assert.are.equal(0, l:listen())
  local _, port = l:getsockname()
  local c = assert(wsarecv.socket(family, "stream"))
  assert.are.equal(0, c:connect(addr, port))
  local a = assert(l:accept())
  return c, a, l, addr
end

-- A connected stream pair with the listener already closed: client,
-- accepted side, and done() closing both (family as H.stream_pair).
function H.stream_conn(family)
  local c, a, l, addr = H.stream_pair(family)
  l:close()
  if family == "unix" then os.remove(addr) end
  return c, a, function()
    a:close()
    c:close()
  end
end

-- s bound to addr (port 0 unless given), asserted; returns s and its port
function H.bound(s, addr, port)
  assert(s:bind(addr, port or 0) == 0)
  local _, p = s:getsockname()
  return s, p
end

-- A maker of sockets like T.socket (T a tracker) whose nonoverlapped
-- receives wait at most `ms` (SO_RCVTIMEO on dgram and raw sockets), so a
-- missing datagram fails the test instead of hanging the run.
function H.timed_sockets(T, ms)
  return function(family, type, proto)
    local s = T.socket(family, type, proto)
    if type == "dgram" or type == "raw" then
      assert(s:setsockopt("SO_RCVTIMEO", ms) == 0)
    end
    return s
  end
end

--[[ A datagram "channel" whose sockets T (a tracker) closes after the test:
  { rx, tx, name, send(str) }, send delivering one message to rx; rx has
  SO_RCVTIMEO 3000.  kind: "inet" | "inet6" (H.udp's fields too) | "unix"
  (rx bound to a fresh path, tx unbound). ]]
function H.dgram_channel(T, kind)
  if kind == "unix" then
    local p = T.path(H.unix_path(".wsarecv-dgram"))
    local rx = T.socket("unix", "dgram")
    assert(rx:bind(p) == 0)
    assert(rx:setsockopt("SO_RCVTIMEO", 3000) == 0)
    local tx = T.socket("unix", "dgram")
    return {
      rx = rx, tx = tx, name = "unix dgram",
      send = function(str) return assert(tx:sendto(str, p)) end,
    }
  end
  local ch = H.udp(kind, kind == "inet" and "127.0.0.1" or "::1",
    { socket = T.socket, rcvtimeo = 3000 })
  ch.name = kind .. " udp"
  return ch
end

---------------------------------------------------------------------------
-- completion routines
---------------------------------------------------------------------------

-- A routine that records every call: rec.fn is the routine, rec.calls the
-- number of calls, rec[i] = { err =, bytes =, ov =, flags = } the i-th.
function H.recorder()
  local rec = { calls = 0 }
  rec.fn = function(err, bytes, ov, flags)
    rec.calls = rec.calls + 1
    rec[rec.calls] = { err = err, bytes = bytes, ov = ov, flags = flags }
  end
  return rec
end

---------------------------------------------------------------------------
-- control messages (WSARecvMsg)
---------------------------------------------------------------------------

-- the control tables of msg whose type is typ
function H.control_of(msg, typ)
  local out = {}
  for _, c in ipairs(msg:control()) do
    if c.type == typ then out[#out + 1] = c end
  end
  return out
end

-- the types of msg's control tables, in order
function H.control_types(msg)
  local t = {}
  for i, c in ipairs(msg:control()) do t[i] = c.type end
  return t
end

-- the interface index of lo (nil if /sys does not say)
function H.lo_ifindex()
  local f = io.open("/sys/class/net/lo/ifindex")
  if not f then return nil end
  local n = tonumber(f:read("l"))
  f:close()
  return n
end

-- CMSG_SPACE / CMSG_LEN on this machine (size_t alignment, as glibc does):
-- H.CMSG_W the alignment, H.CMSG_HDR the aligned header, H.CMSG_SPACE(n)
H.CMSG_W = string.packsize("T")
local function cmsg_align(n) return (n + H.CMSG_W - 1) // H.CMSG_W * H.CMSG_W end
H.CMSG_HDR = cmsg_align(H.CMSG_W + 8)
function H.CMSG_SPACE(n) return H.CMSG_HDR + cmsg_align(n) end

---------------------------------------------------------------------------
-- processes
---------------------------------------------------------------------------

-- a shell word
function H.shq(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- Prefix of external tools (perl, ip, python3, sh): `make asan-test`
-- preloads the ASan runtime into everything, and they must not get it.
-- Child lua5.4 processes of wsarecv tests keep it (see H.run_child).
H.NO_PRELOAD = "env -u LD_PRELOAD "

-- Run a shell command: ok (exit status 0), its output (stdout + stderr).
function H.run(cmd)
  local f = io.popen(cmd .. " 2>&1")
  local out = f:read("a")
  local ok = f:close()
  return ok == true, out
end

-- whether the external command `cmd` is installed
function H.have_cmd(cmd)
  local ok = os.execute(H.NO_PRELOAD .. "sh -c 'command -v " .. cmd
    .. "' >/dev/null 2>&1")
  return ok == true or ok == 0
end

function H.is_root()
  if os.getenv("USER") == "root" then return true end
  local ok, out = H.run("id -u")
  return ok and out:match("^%s*0%s*$") ~= nil
end

-- this process's pid as a string (nil if /proc is missing)
function H.pid()
  local f = io.open("/proc/self/stat")
  if not f then return nil end
  local pid = f:read("l"):match("^(%d+)")
  f:close()
  return pid
end

-- H.run_child on Windows (below)
local function run_child_windows(code)
  -- lua.exe's own default path starts at its directory: "<dir>\\lua\\?.lua"
  local dir = package.path:match("([^;]*)\\lua\\%?%.lua")
  local f = ("%s\\wsarecv-child-%d.lua"):format(os.getenv("TEMP") or ".",
    math.random(1, 1e9))
  local h = assert(io.open(f, "w"))
  -- the paths on the code's first line, so its line numbers hold
  h:write(("package.path = %q; package.cpath = %q; "):format(package.path,
    package.cpath), code)
  h:close()
  local p = assert(io.popen(('"%s\\lua.exe" %s 2>&1'):format(dir, f)))
  local out = p:read("a")
  local _, how, rc = p:close()
  os.remove(f)
  return out, how, rc
end

-- Run `code` in a child lua5.4 with our module paths, bounded by `limit`
-- seconds (default 20); the environment (LD_PRELOAD, ASAN_OPTIONS, ...) is
-- inherited.  Returns output (stdout and stderr), exit kind ("exit" /
-- "signal") and code.
function H.run_child(code, limit)
  -- Windows: lua.exe through cmd.exe; no `timeout` there (the whole run
  -- is bounded instead)
  if H.windows then return run_child_windows(code) end
  local f = os.tmpname()
  local h = assert(io.open(f, "w"))
  h:write(code)
  h:close()
  local cmd = ("LUA_PATH=%s LUA_CPATH=%s timeout -k 2 %d lua5.4 %s 2>&1")
    :format(H.shq(package.path), H.shq(package.cpath), limit or 20, H.shq(f))
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  local _, how, rc = p:close()
  os.remove(f)
  return out, how, rc
end

-- Source of udp() for child scripts (after `local wsarecv = require
-- "wsarecv"`): a bound receiver on 127.0.0.1 and a function sending to it.
H.CHILD_UDP = [[
local function udp()
  local rx = wsarecv.socket("inet", "dgram")
  assert(rx:bind("127.0.0.1", 0) == 0)
  local _, port = rx:getsockname()
  local tx = wsarecv.socket("inet", "dgram")
  assert(tx:bind("127.0.0.1", 0) == 0)
  return rx, function(s) assert(tx:sendto(s, "127.0.0.1", port)) end
end
]]

-- A TCP peer in a perl process, for what one thread of this API cannot do
-- (send urgent data, send while blocked in a receive).  H.have_perl() says
-- whether perl can run one; H.perl_listener() gives a listener on
-- 127.0.0.1; H.perl_peer(l, actions) starts the peer, which connects to
-- l and runs actions ({"sleep", s}, {"send", word}, {"oob", word}) then
-- closes, and returns the accepted socket and the perl process.  The peer
-- does not inherit the sanitizer preload.
local PERL = H.NO_PRELOAD .. "perl"
local have_perl

function H.have_perl()
  if have_perl == nil then
    have_perl = os.execute(PERL .. " -MSocket -e 1 >/dev/null 2>&1") == true
  end
  return have_perl
end

function H.perl_listener()
  local l = assert(wsarecv.socket("inet", "stream"))
  assert.are.equal(0, l:bind("127.0.0.1", 0))
  assert.are.equal(0, l:listen())
  return l
end

function H.perl_peer(l, actions)
  local _, port = l:getsockname()
  local body = {}
  for _, a in ipairs(actions) do
    if a[1] == "sleep" then
      body[#body + 1] = ("select(undef, undef, undef, %.3f);"):format(a[2])
    elseif a[1] == "send" then
      assert(a[2]:match("^[%w!]+$"))
      body[#body + 1] = ('send($s, "%s", 0) or die;'):format(a[2])
    elseif a[1] == "oob" then
      assert(a[2]:match("^[%w!]+$"))
      body[#body + 1] = ('send($s, "%s", MSG_OOB) or die;'):format(a[2])
    end
  end
  local script = table.concat({
    "alarm 5;",
    "socket(my $s, PF_INET, SOCK_STREAM, 0) or die;",
    ('connect($s, pack_sockaddr_in(%d, inet_aton("127.0.0.1"))) or die;')
      :format(port),
    table.concat(body, " "),
    "close($s);",
  }, " ")
  local p = assert(io.popen(PERL .. " -MSocket -e '" .. script .. "' 2>&1", "r"))
  -- accept without blocking forever
  assert.are.equal(0, l:setsockopt("FIONBIO", true))
  local a
  local deadline = H.now() + 3
  repeat
    a = l:accept()
    if not a then wsarecv.SleepEx(10, false) end
  until a or H.now() > deadline
  assert.is_truthy(a, "the perl peer did not connect")
  return a, p
end

-- what a crashed or sanitizer-flagged child prints
H.CRASH_MARKERS = { "Segmentation", "AddressSanitizer", "LeakSanitizer",
  "runtime error", "Aborted" }

-- assert that `out` shows none of `markers` (default H.CRASH_MARKERS)
function H.assert_no_crash(out, markers)
  for _, m in ipairs(markers or H.CRASH_MARKERS) do
    assert.is_nil(out:find(m, 1, true), out)
  end
end

-- assert a child (H.run_child's results) exited normally with `code`
function H.assert_exit(out, how, rc, code, markers)
  H.assert_no_crash(out, markers)
  assert.equal("exit", how, out)
  assert.equal(code, rc, out)
end

return H
