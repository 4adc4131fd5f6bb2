-- Sockets and addresses for the specs: a socket or a failed assertion,
-- the tracker that closes a test's sockets and removes its paths, UDP
-- pairs and datagram channels, connected stream pairs, bound sockets,
-- ports nothing listens on, fresh unix paths.  Part of
-- spec/support/helpers.lua's union (the specs take it from there).
local wsarecv = require "wsarecv"
local assert = require "luassert"          -- (busted's, see results.lua)

local M = {}

-- a socket, or a failed assertion that says which and why
function M.socket(family, type, proto)
  local s, name, code = wsarecv.socket(family, type, proto)
  assert(s, ("socket(%s, %s) failed: %s %s"):format(family, type,
    tostring(name), tostring(code)))
  return s
end

-- A fresh unix socket path (the file os.tmpname creates is removed); with
-- `suffix`, that is appended (and whatever has the name is removed too).
function M.unix_path(suffix)
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
function M.tracker()
  local opened, paths = {}, {}
  local T = {}
  function T.track(s)
    assert(s, "socket creation failed")
    opened[#opened + 1] = s
    return s
  end
  function T.socket(family, type, proto)
    return T.track(M.socket(family, type, proto))
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
  opts.socket(family, "dgram") makes each socket (default M.socket; pass a
  tracker's T.socket to have them closed after the test); opts.rcvtimeo
  sets SO_RCVTIMEO on rx (ms), so a nonoverlapped receive expecting data
  that is not there fails instead of hanging. ]]
function M.udp(family, addr, opts)
  opts = opts or {}
  local make = opts.socket or M.socket
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
function M.closed_udp_port(family, addr)
  local t = wsarecv.socket(family, "dgram")
  assert(t:bind(addr, 0) == 0)
  local _, port = t:getsockname()
  t:close()
  return port
end

-- A connected stream pair: client, accepted server side, the listener (left
-- open) and the address.  addr defaults to 127.0.0.1 (inet), ::1 (inet6)
-- or a fresh path (unix); family defaults to "inet".
function M.stream_pair(family, addr)
  family = family or "inet"
  addr = addr or family == "inet" and "127.0.0.1"
    or family == "inet6" and "::1" or M.unix_path()
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
-- accepted side, and done() closing both (family as M.stream_pair).
function M.stream_conn(family)
  local c, a, l, addr = M.stream_pair(family)
  l:close()
  if family == "unix" then os.remove(addr) end
  return c, a, function()
    a:close()
    c:close()
  end
end

-- s bound to addr (port 0 unless given), asserted; returns s and its port
function M.bound(s, addr, port)
  assert(s:bind(addr, port or 0) == 0)
  local _, p = s:getsockname()
  return s, p
end

-- A maker of sockets like T.socket (T a tracker) whose nonoverlapped
-- receives wait at most `ms` (SO_RCVTIMEO on dgram and raw sockets), so a
-- missing datagram fails the test instead of hanging the run.
function M.timed_sockets(T, ms)
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
  SO_RCVTIMEO 3000.  kind: "inet" | "inet6" (M.udp's fields too) | "unix"
  (rx bound to a fresh path, tx unbound). ]]
function M.dgram_channel(T, kind)
  if kind == "unix" then
    local p = T.path(M.unix_path(".wsarecv-dgram"))
    local rx = T.socket("unix", "dgram")
    assert(rx:bind(p) == 0)
    assert(rx:setsockopt("SO_RCVTIMEO", 3000) == 0)
    local tx = T.socket("unix", "dgram")
    return {
      rx = rx, tx = tx, name = "unix dgram",
      send = function(str) return assert(tx:sendto(str, p)) end,
    }
  end
  local ch = M.udp(kind, kind == "inet" and "127.0.0.1" or "::1",
    { socket = T.socket, rcvtimeo = 3000 })
  ch.name = kind .. " udp"
  return ch
end

return M
