-- Defects the sending half of the API-sequence fuzzer (fuzz/ops_send.lua)
-- found, each reduced to a few calls; the ids are its known-bug ids
-- (fuzz/api_fuzz.lua's header).  Real loopback sockets.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local pack = H.pack

-- a UDP receiver and a sender, both on 127.0.0.1; the sender's msg sends
-- to the receiver with its source address chosen by IP_PKTINFO
local function udp_pair()
  local rx = wsarecv.socket("inet", "dgram")
  assert.are.equal(0, rx:bind("127.0.0.1", 0))
  local tx = wsarecv.socket("inet", "dgram")
  assert.are.equal(0, tx:bind("127.0.0.1", 0))
  local _, port = rx:getsockname()
  return rx, tx, port
end

local PKTINFO2 = { { level = "IPPROTO_IP", type = "IP_PKTINFO",
                     addr = "127.0.0.2" } }

-- the source address of the next datagram rx receives
local function source(rx)
  local m = wsarecv.msg { buffers = wsarecv.buffer(64) }
  local r = pack(rx:WSARecvMsg(m))
  assert.are.equal(0, r[1])
  return (m:name())
end

describe("found by fuzz/api_fuzz.lua", function()
  -- s1: the records encoded for msg.control = {records} outlived a later
  -- msg.control = size | buffer | nil, and went out with the next send
  it("#linux msg.control = size, buffer or nil ends the control messages "
     .. "a send sends (s1)", function()
    -- (#linux: 127.0.0.2 is a loopback address on Linux only)
    local rx, tx, port = udp_pair()
    local m = wsarecv.msg { buffers = wsarecv.buffer("one"),
                            to = { "127.0.0.1", port }, control = PKTINFO2 }
    -- (another array frees the records: s2 must not fail this run's leak
    -- check at exit)
    finally(function() m.control = {} end)
    assert.are.same({ n = 3, 0, 3, 0 }, pack(tx:WSASendMsg(m)))
    assert.are.equal("127.0.0.2", source(rx))
    for _, v in ipairs { 0, 64, wsarecv.buffer(64), false } do
      m.control = PKTINFO2
      if v == false then m.control = nil else m.control = v end
      assert.are.same({ n = 3, 0, 3, 0 }, pack(tx:WSASendMsg(m)))
      assert.are.equal("127.0.0.1", source(rx), "after msg.control = "
        .. tostring(v))
    end
    rx:close()
    tx:close()
  end)

  -- s2: the encoded records were never freed: every collected msg that
  -- had some leaked them.  Measured in a child: under ASan its
  -- LeakSanitizer reports at exit; without, its resident size grows by
  -- the records of 100000 msgs (about 9 MB) where it must stay flat.
  it("#linux a collected msg frees its send control messages (s2)",
     function()
    local out, how, rc = H.run_child([[
      local w = require "wsarecv"
      local asan = (os.getenv("LD_PRELOAD") or ""):find("asan", 1, true)
      local recs = { { level = "IPPROTO_IP", type = "IP_PKTINFO",
                       addr = "127.0.0.2" } }
      local function rss()
        local f = assert(io.open("/proc/self/statm"))
        local _, r = f:read("n", "n")
        f:close()
        return r * 4096
      end
      local function churn(n)
        for i = 1, n do
          local m = w.msg { control = recs }
          m.control = recs                  -- (a second set frees the first)
          if i % 1000 == 0 then collectgarbage() end
        end
        collectgarbage()
        collectgarbage()
      end
      churn(20000)                           -- the heap at its working size
      local before = rss()
      churn(asan and 20000 or 100000)
      local grew = rss() - before
      print(asan and "asan" or "grew", grew)
      if not asan and grew > 4000000 then print("LEAK") end
      print("done")
    ]], 60)
    assert.is_nil(out:find("LeakSanitizer", 1, true), out)
    assert.is_nil(out:find("LEAK", 1, true), out)
    assert.truthy(out:find("done", 1, true), out)
    assert.are.same({ "exit", 0 }, { how, rc }, out)
  end)
end)
