-- The module's constants: WSA error codes and their texts (the Windows
-- Sockets Error Codes page) and the MSG_* flags with their Windows values.
local wsarecv = require "wsarecv"

local ERRORS = {
  WSAEINTR = 10004, WSAEFAULT = 10014, WSAEINVAL = 10022,
  WSAEWOULDBLOCK = 10035, WSAEINPROGRESS = 10036, WSAENOTSOCK = 10038,
  WSAEMSGSIZE = 10040, WSAEOPNOTSUPP = 10045, WSAENETDOWN = 10050,
  WSAENETRESET = 10052, WSAECONNABORTED = 10053, WSAECONNRESET = 10054,
  WSAENOTCONN = 10057, WSAESHUTDOWN = 10058, WSAETIMEDOUT = 10060,
  WSAECONNREFUSED = 10061, WSANOTINITIALISED = 10093, WSAEDISCON = 10101,
  WSA_OPERATION_ABORTED = 995, WSA_IO_INCOMPLETE = 996, WSA_IO_PENDING = 997,
}

describe("wsarecv.errors and strerror", function()
  for name, code in pairs(ERRORS) do
    it(("%s is %d in both directions"):format(name, code), function()
      assert.are.equal(code, wsarecv.errors[name])
      assert.are.equal(name, wsarecv.errors[code])
      assert.are.equal("integer", math.type(wsarecv.errors[name]))
    end)

    it(("strerror gives one line for %s by name and by code"):format(name),
       function()
      local a, b = wsarecv.strerror(name), wsarecv.strerror(code)
      assert.are.equal("string", type(a))
      assert.is_true(#a > 5)
      assert.is_falsy(a:find("\n", 1, true))
      assert.are.equal(a, b)
      assert.is_falsy(a:find("unknown error", 1, true))
    end)
  end

  it("strerror meanings say what the error is", function()
    assert.is_truthy(wsarecv.strerror("WSAECONNRESET"):lower():find("reset"))
    assert.is_truthy(wsarecv.strerror(10060):lower():find("timed out"))
    assert.is_truthy(wsarecv.strerror("WSAENOTCONN"):lower():find("not connected"))
  end)

  it("different errors have different meanings", function()
    local seen = {}
    for name in pairs(ERRORS) do
      local m = wsarecv.strerror(name)
      assert.is_nil(seen[m], name .. " shares its text with " .. tostring(seen[m]))
      seen[m] = name
    end
  end)
end)

describe("MSG_* constants", function()
  local want = {
    MSG_OOB = 0x1, MSG_PEEK = 0x2, MSG_WAITALL = 0x8,
    MSG_PUSH_IMMEDIATE = 0x20, MSG_TRUNC = 0x100, MSG_CTRUNC = 0x200,
    MSG_BCAST = 0x400, MSG_MCAST = 0x800, MSG_PARTIAL = 0x8000,
  }
  for name, v in pairs(want) do
    it(("%s has the Windows value 0x%x"):format(name, v), function()
      assert.are.equal(v, wsarecv[name])
      assert.are.equal("integer", math.type(wsarecv[name]))
    end)
  end

  it("MAX_PENDING is 4096", function()
    assert.are.equal(4096, wsarecv.MAX_PENDING)
  end)
end)
