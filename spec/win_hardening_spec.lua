-- The sending half under attack: AcceptEx's first data into an array of
-- slices (in order, never past a slice), ConnectEx gathering several
-- buffers, a live count back to nothing.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local assert_pending, recorder, wait_for = H.assert_pending, H.recorder,
  H.wait_for

local T = H.tracker()
after_each(function()
  T.cleanup(function() H.drain(50, true) end)
end)

local function listener()
  local l = T.socket("inet", "stream")
  assert.equal(0, l:bind("127.0.0.1", 0))
  assert.equal(0, l:listen())
  local _, port = l:getsockname()
  return l, port
end

describe("AcceptEx into several slices", function()
  it("the first data goes into each slice in order, none past its end",
    function()
    local l, port = listener()
    local as, rec = T.socket("inet", "stream"), recorder()
    local a, b = wsarecv.buffer(8), wsarecv.buffer(8)
    a:fill(string.byte("."))
    b:fill(string.byte("."))
    assert_pending(l:AcceptEx(as, { { a, 2, 3 }, { b, 0, 4 } },
      wsarecv.overlapped(), rec.fn))
    local c = T.socket("inet", "stream")
    assert.equal(0, c:connect("127.0.0.1", port))
    c:send("abcdefghij")
    assert.is_true(wait_for(function() return rec.calls == 1 end))
    assert.same({ nil, 7 }, { rec[1].err, rec[1].bytes })
    assert.equal("..abc...", a:sub(1, 8))
    assert.equal("defg....", b:sub(1, 8))
  end)
end)

describe("ConnectEx with several buffers", function()
  it("sends them gathered, in order", function()
    local l, port = listener()
    local c, rec = T.socket("inet", "stream"), recorder()
    assert.equal(0, c:bind("127.0.0.1", 0))
    local d = wsarecv.buffer(8)
    d:write(1, "xabcdefy")
    assert_pending(c:ConnectEx("127.0.0.1", port,
      { { d, 1, 2 }, { d, 3, 3 }, { d, 6, 1 } },
      wsarecv.overlapped(), rec.fn))
    local as = l:accept()
    assert.is_true(wait_for(function() return rec.calls == 1 end))
    assert.same({ nil, 6 }, { rec[1].err, rec[1].bytes })
    local buf = wsarecv.buffer(16)
    local got = ""
    for _ = 1, 50 do
      if #got >= 6 then break end
      local r, n = as:WSARecv(buf)
      if r ~= 0 or n == 0 then break end
      got = got .. buf:sub(1, n)
    end
    as:close()
    assert.equal("abcdef", got)
  end)
end)
