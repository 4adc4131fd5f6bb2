-- Overlapped receive as the native backend will use it, checked under
-- whatever Windows runs this (Wine or the real thing).
local probe = require "probe"

local WSA_IO_PENDING, WAIT_IO_COMPLETION = 997, 0xC0

describe("overlapped WSARecv", function()
  it("runs its completion routine only in an alertable wait", function()
    local r = probe.apc("routine")
    assert.equal(WSA_IO_PENDING, r.post_err)
    assert.equal(0, r.early)          -- not during a plain Sleep
    assert.equal(1, r.calls)
    assert.equal(0, r.err)
    assert.equal(WAIT_IO_COMPLETION, r.wait)
    assert.equal("routine", r.data)
  end)

  it("completes through a completion port", function()
    local r = probe.iocp("port")
    assert.equal(WSA_IO_PENDING, r.post_err)
    assert.equal(1, r.ok)
    assert.equal(42, r.key)
    assert.is_true(r.same_overlapped)
    assert.equal("port", r.data)
  end)
end)
