-- WSARecv on the other stream families (the WSARecv page holds for any
-- connection-oriented socket): TCP over ::1 and unix streams.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local pair = require "spec.support.stream"(after_each).pair

local pack, assert_pending = H.pack, H.assert_pending
local wait_until = H.wait_until
local recorder = H.recorder

describe("WSARecv on a stream socket", function()
  describe("other stream families", function()
    for _, family in ipairs { "inet6", "unix" } do
      it(("#wine works over %s: nonoverlapped, overlapped, close"):format(family),
         function()
        local c, a, done = pair(family)
        assert.are.equal(6, c:send("first!"))
        local buf = wsarecv.buffer(16)
        assert.are.same({ n = 3, 0, 6, 0 }, pack(a:WSARecv(buf, 0)))
        assert.are.equal("first!", buf:sub(1, 6))
        local rec = recorder()
        local b1, b2 = wsarecv.buffer(3), wsarecv.buffer(3)
        assert_pending(a:WSARecv(b1, 0, nil, rec.fn))
        assert_pending(a:WSARecv(b2, 0, nil, rec.fn))
        assert.are.equal(3, c:send("sec"))
        assert.are.equal(3, c:send("ond"))
        assert.is_true(wait_until(function() return rec.calls >= 2 end))
        assert.are.equal("sec", b1:sub())
        assert.are.equal("ond", b2:sub())
        assert_pending(a:WSARecv(buf, 0, nil, rec.fn))
        c:close()
        assert.is_true(wait_until(function() return rec.calls >= 3 end))
        assert.is_nil(rec[3].err)
        assert.are.equal(0, rec[3].bytes)
        done()
      end)
    end
  end)
end)
