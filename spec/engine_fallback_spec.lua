-- When the kernel refuses io_uring (here: a seccomp filter refusing
-- io_uring_setup with EPERM, as a container's profile does; an old kernel
-- or kernel.io_uring_disabled look the same to wsarecv), the poll engine
-- takes over, and forcing io_uring says why it cannot.
local wsarecv = require "wsarecv"
local P = require "spec.support.processes"

local build = os.getenv("WSARECV_BUILD") or "build"
local nouring = build .. "/nouring"

-- Run code in a child lua5.4 under the filter, with WSARECV_ENGINE=engine
-- (nil: unset): its output, exit kind and code.
local function under_filter(code, engine)
  return P.run_child(code, 20,
    engine and "WSARECV_ENGINE=" .. engine or "-u WSARECV_ENGINE",
    P.shq(nouring))
end

describe("#linux the poll engine as the fallback", function()
  it("the filter itself works: io_uring_setup is refused under it", function()
    -- (this machine's own engine, outside the filter, for the record)
    assert.is_truthy(({ io_uring = true, poll = true })[wsarecv.engine()])
    local out = under_filter([[
      local w = require "wsarecv"
      print("engine " .. w.engine())
      print(w.engine("io_uring"))
    ]])
    assert.matches("engine poll", out)
    assert.matches("nil\tWSAEOPNOTSUPP\t10045", out, 1, true)
  end)

  it("unset, WSARECV_ENGINE falls back to poll, and receives work", function()
    local out, how, rc = under_filter([[
      local w = require "wsarecv"
      local rx = w.socket("inet", "dgram")
      assert(rx:bind("127.0.0.1", 0) == 0)
      local _, port = rx:getsockname()
      local tx = w.socket("inet", "dgram")
      local buf, ov = w.buffer(16), w.overlapped()
      assert(select(2, rx:WSARecv(buf, 0, ov)) == "WSA_IO_PENDING")
      assert(tx:sendto("fallback", "127.0.0.1", port) == 8)
      for _ = 1, 200 do
        if not ov.pending then break end
        w.SleepEx(10)
      end
      print(w.engine(), ov.bytes, buf:sub(1, ov.bytes or 0))
    ]])
    P.assert_exit(out, how, rc, 0)
    assert.matches("poll\t8\tfallback", out, 1, true)
  end)

  it("WSARECV_ENGINE=io_uring under the filter: require says why", function()
    local out, how, rc = under_filter([[require "wsarecv"]], "io_uring")
    assert.are.same({ "exit", 1 }, { how, rc })
    assert.matches("WSARECV_ENGINE=io_uring: this kernel refuses io_uring",
      out, 1, true)
  end)

  it("WSARECV_ENGINE=poll under the filter: poll, no attempt", function()
    local out = under_filter([[print(require "wsarecv".engine())]], "poll")
    assert.matches("^poll", out)
  end)
end)
