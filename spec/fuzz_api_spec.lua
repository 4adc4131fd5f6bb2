-- The API-sequence fuzzer (fuzz/api_fuzz.lua) in a child process, a few
-- seeds of a few hundred steps: receives and, since issue 16, sends
-- (fuzz/ops_send.lua), every byte sent checked at its receiver exactly
-- once, in order.  `make fuzz` and CI's fuzz-asan leg run it for longer.
-- #linux: the fuzzer reads /proc/uptime and uses unix sockets and
-- 127.0.0.2.
local H = require "spec.support.helpers"

-- every known defect demanded fixed but s1 and s2 (spec/fuzz_found_spec.lua
-- reproduces those)
local KNOWN = "1,2a,3,4,5,6,7,10,11,12,timer,rest,p1,p2,p3,p4,p4w,p5,p8,p12"

describe("#linux fuzz/api_fuzz.lua", function()
  it("runs 3 seeds with sends, every byte checked, no invariant broken",
     function()
    local dir = debug.getinfo(1, "S").source:match("^@(.*)[/\\]spec[/\\]")
      or "."
    local out, how, rc = H.run_child(([[
      arg = { [0] = %q, "--seed", "16001", "--seeds", "3", "--iterations",
              "500", "--seconds", "100", "--known-bugs", %q }
      dofile(arg[0])
    ]]):format(dir .. "/fuzz/api_fuzz.lua", KNOWN), 150)
    assert.are.same({ "exit", 0 }, { how, rc }, out)
    assert.truthy(out:find("api_fuzz: ok: seeds 16001..16003", 1, true), out)
    -- the sending half ran: sends completed, bytes and datagrams checked
    -- at the receivers, connections made by AcceptEx and ConnectEx
    local sends = tonumber(out:match("api_fuzz: sends (%d+)"))
    local checked = tonumber(out:match("(%d+) checked at the receivers"))
    local dgrams = tonumber(out:match("datagrams %d+ sent, (%d+) received"))
    local accepts = tonumber(out:match("AcceptEx (%d+)"))
    assert.truthy(sends and sends > 50, out)
    assert.truthy(checked and checked > 0, out)
    assert.truthy(dgrams and dgrams > 0, out)
    assert.truthy(accepts and accepts > 0, out)
  end)
end)
