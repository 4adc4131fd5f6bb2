-- The send benchmark's senders (bench/lua/send_wsarecv.lua, run by
-- bench/c/send_run.c as `make bench` runs them, only shorter): each one
-- sends exactly what it was asked to, every datagram and every byte
-- arrives intact (send_run checks them), and a sender that reuses its
-- objects and buffers grows the Lua heap by 0 bytes per send.
-- Linux only (#linux): send_run is a Linux program (fork, SO_RCVBUFFORCE,
-- /proc/net/udp, ksoftirqd); it needs root for SO_RCVBUFFORCE.
local H = require "spec.support.helpers"

local function kv(out, tag)
  local line = out:match("\n" .. tag .. " ([^\n]*)") or out:match("^" .. tag .. " ([^\n]*)")
  if not line then return nil end
  local t = {}
  for k, v in line:gmatch("(%w[%w_]*)=(%S+)") do t[k] = tonumber(v) or v end
  return t
end

describe("bench senders #linux", function()
  local bin

  setup(function()
    bin = os.tmpname()
    local ok, out = H.run(H.NO_PRELOAD .. "gcc -O2 -pthread -o " .. H.shq(bin)
      .. " bench/c/send_run.c")
    assert(ok, out)
  end)

  teardown(function() os.remove(bin) end)

  -- send_run MODE AMOUNT [SIZE] -- lua5.4 send_wsarecv.lua VARIANT;
  -- its output, and the RESULT and SINK lines as tables
  local function send(mode, amount, variant, env)
    local cmd = ("%sLUA_PATH=%s LUA_CPATH=%s timeout -k 2 60 %s %s %d %s -- lua5.4 "
      .. "bench/lua/send_wsarecv.lua %s 2>&1"):format(env or "",
      H.shq("bench/lua/?.lua;" .. package.path), H.shq(package.cpath), H.shq(bin),
      mode, amount, mode == "udp" and "64" or "", variant)
    local _, out = H.run(cmd)
    return out, kv(out, "RESULT"), kv(out, "SINK")
  end

  local function check_udp(variant)
    if not H.is_root() then pending("needs root (SO_RCVBUFFORCE)") return end
    local out, r, k = send("udp", 3000, variant)
    assert(r and k, out)
    assert.are.same({ 3000, 192000, 0 }, { r.sent, r.bytes, r.err }, out)
    assert.are.same({ 3000, 0, 0 }, { k.recv, k.bad, k.drops }, out)
  end

  it("WSASendTo with routines: 3,000 datagrams sent, all arrive intact", function()
    check_udp("WSASendTo")
  end)

  it("WSASendTo through a port, ov.rearm: exactly 3,000 datagrams, all intact", function()
    check_udp("port")
  end)

  it("WSASendTo through a port, reposted: 3,000 datagrams, all intact", function()
    check_udp("port-repost")
  end)

  it("posted WSASendTo with reused objects and buffers: 0 B of Lua heap per send", function()
    if not H.is_root() then pending("needs root (SO_RCVBUFFORCE)") return end
    for _, variant in ipairs { "WSASendTo", "port", "port-repost" } do
      local out, r = send("udp", 5000, variant, "WR_HEAP=1 ")
      assert(r and r.heap_bytes, out)
      assert.are.same({ variant, 0, 4500 }, { variant, r.heap_bytes, r.heap_n }, out)
    end
  end)

  it("WSASend 4 x 64 KiB with routines and through a port: 8 MiB, every byte intact", function()
    for _, variant in ipairs { "WSASend", "port-repost" } do
      local out, r, k = send("tcp", 8 << 20, variant)
      assert(r and k, out)
      assert.are.same({ 8 << 20, 0 }, { r.bytes, r.err }, out)
      assert.are.same({ 8 << 20, 0 }, { k.recv, k.bad }, out)
    end
  end)
end)
