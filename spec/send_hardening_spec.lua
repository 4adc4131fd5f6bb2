-- Hardening of the sending half (WSASend, AcceptEx, ConnectEx) as a
-- hostile caller would use it: each test is a bug that was found and
-- fixed, and stays fixed.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local wait_for = H.wait_for

local T = H.tracker()
after_each(function()
  T.cleanup(function() H.drain(50, true) end)
end)

-- Linux only: a unix stream listener whose backlog is full makes a
-- nonblocking connect fail with EAGAIN (nothing under way; TCP never
-- says that), and Windows has no ConnectEx on unix sockets.
describe("#linux ConnectEx to a unix listener with a full backlog", function()
  it("completes with WSAECONNREFUSED, not pending forever", function()
    local p = T.path(H.unix_path(".wsarecv-hard"))
    local l = T.socket("unix", "stream")
    assert.equal(0, l:bind(p))
    assert.equal(0, l:listen(0))
    -- backlog 0: one connection waits, the next is turned away
    assert.equal(0, T.socket("unix", "stream"):connect(p))
    local c = T.socket("unix", "stream")
    local got
    local r, name = c:ConnectEx(p, nil, "hi", wsarecv.overlapped(),
      function(err, bytes) got = { err, bytes } end)
    if r == nil then assert.equal("WSA_IO_PENDING", name) end
    assert.is_true(wait_for(function() return got ~= nil end, 100),
      "ConnectEx never completed")
    assert.same({ "WSAECONNREFUSED", 0 }, got)
    -- nothing is under way: the socket can try again
    assert.is_false(c:getpeername() ~= nil)
  end)
end)
