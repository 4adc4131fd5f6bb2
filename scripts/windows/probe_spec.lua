-- The harness itself: a mingw-built C module loads into lua.exe under
-- Wine and talks UDP over loopback (scripts/windows/probe.c).
local probe = require "probe"

describe("the Windows harness", function()
  it("round-trips a datagram through a C module's socket", function()
    assert.equal("hello from probe.dll", probe.roundtrip("hello from probe.dll"))
  end)
end)
