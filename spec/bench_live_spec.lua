-- The live-traffic benchmark (scenario 8 of bench/run.lua) and its engine
-- switch, with tiny counts: bench/c/live_run.c paces datagrams to a
-- receiver that keeps its receives posted (the C recvmmsg loop, wsarecv's
-- routines, its port with ov.rearm), on each engine (WSARECV_ENGINE); a
-- receiver whose engine this build or kernel refuses says "SKIP io_uring:
-- unavailable" instead of failing; and the driver itself runs the scenario
-- (`--smoke --only live`) on both engines and reports every row.  No
-- timing is asserted: counts, contents and what the report says.
-- Linux only (#linux): live_run is a Linux program (fork, SO_RCVBUFFORCE,
-- /proc/net/udp, sched_setaffinity); the counts need root for
-- SO_RCVBUFFORCE (a buffer that holds the whole run, so nothing is lost).
local H = require "spec.support.helpers"

local function kv(out, tag)
  local line = out:match("\n" .. tag .. " ([^\n]*)") or out:match("^" .. tag .. " ([^\n]*)")
  if not line then return nil end
  local t = {}
  for k, v in line:gmatch("(%w[%w_]*)=(%S+)") do t[k] = tonumber(v) or v end
  return t
end

describe("bench live traffic #linux", function()
  local dir, live, craw

  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -p " .. H.shq(dir)))
    live, craw = dir .. "/live_run", dir .. "/c_raw"
    for _, p in ipairs({ { live, "live_run" }, { craw, "c_raw" } }) do
      local ok, out = H.run(H.NO_PRELOAD .. "gcc -O2 -o " .. H.shq(p[1]) .. " bench/c/" .. p[2] .. ".c")
      assert(ok, out)
    end
  end)

  teardown(function() os.execute("rm -rf " .. H.shq(dir)) end)

  -- live_run RATE SECONDS 64 RCVBUF -- receiver...: its output, RESULT, SENDER
  local function run(rate, secs, env, ...)
    local argv = {}
    for i, a in ipairs({ ... }) do argv[i] = H.shq(a) end
    local cmd = ("%sLUA_PATH=%s LUA_CPATH=%s timeout -k 2 60 %s %s %s 64 %d -- %s 2>&1"):format(env or "",
      H.shq("bench/lua/?.lua;" .. package.path), H.shq(package.cpath), H.shq(live), tostring(rate),
      tostring(secs), 4 << 20, table.concat(argv, " "))
    local _, out = H.run(cmd)
    return out, kv(out, "RESULT"), kv(out, "SENDER")
  end

  -- which engines this build offers, as the driver asks
  local function offers(engine)
    local _, out = H.run(("WSARECV_ENGINE=%s LUA_PATH=%s LUA_CPATH=%s lua5.4 -e %s 2>&1"):format(engine,
      H.shq(package.path), H.shq(package.cpath),
      H.shq("local ok, w = pcall(require, 'wsarecv') io.write(ok and w.engine() or 'refused')")))
    return out == engine
  end

  it("paced at 20,000/s for 0.1 s: the C recvmmsg loop gets every datagram intact", function()
    if not H.is_root() then pending("needs root (SO_RCVBUFFORCE)") return end
    local out, r, s = run(20000, 0.1, nil, craw)
    assert(r and s, out)
    -- (a sender kept off its CPU falls behind its schedule: up to 2,000)
    assert.is_true(s.sent > 0 and s.sent <= 2000, out)
    assert.are.same({ 0, 0 }, { r.err, s.drops }, out)
    assert.are.same({ s.sent, s.sent * 64 }, { r.recv, r.bytes }, out)
  end)

  for _, engine in ipairs({ "poll", "io_uring" }) do
    for _, variant in ipairs({ "WSARecv", "port" }) do
      it(("wsarecv %s on %s, paced at 20,000/s for 0.1 s: every datagram intact, or the engine "
          .. "unavailable"):format(variant, engine), function()
        if not H.is_root() then pending("needs root (SO_RCVBUFFORCE)") return end
        local out, r, s = run(20000, 0.1, "WSARECV_ENGINE=" .. engine .. " ", "lua5.4",
          "bench/lua/recv_wsarecv.lua", variant, "64", "64")
        if offers(engine) then
          assert(r and s, out)
          assert.is_true(s.sent > 0 and s.sent <= 2000, out)
          assert.are.same({ 0, 0 }, { r.err, s.drops }, out)
          assert.are.same({ s.sent, s.sent * 64 }, { r.recv, r.bytes }, out)
        else
          assert.are.equal(engine .. ": unavailable", out:match("SKIP (%S+: unavailable)"), out)
          assert.is_nil(r, out)
        end
      end)
    end
  end

  it("as fast as the sender can for 0.1 s: what arrives is intact and counted, loss is measured", function()
    if not H.is_root() then pending("needs root (SO_RCVBUFFORCE)") return end
    local out, r, s = run(0, 0.1, "WSARECV_ENGINE=poll ", "lua5.4", "bench/lua/recv_wsarecv.lua", "port", "64", "64")
    assert(r and s, out)
    assert.are.same({ 0, 64 }, { r.err, s.batch }, out)
    assert.is_true(s.sent > 0 and r.recv > 0 and r.recv <= s.sent, out)
    assert.are.equal(r.recv * 64, r.bytes, out)
  end)

  it("the driver runs scenario 8 on both engines, every row measured or 'io_uring: unavailable'", function()
    if not H.is_root() then pending("needs root (SO_RCVBUFFORCE)") return end
    if os.getenv("LD_PRELOAD") then pending("the driver builds and runs the plain module, not this pass's") return end
    local report = dir .. "/report.md"
    local ok, out = H.run(H.NO_PRELOAD .. "timeout -k 5 170 lua5.4 bench/run.lua --smoke --only live --out "
      .. H.shq(report) .. " 2>&1")
    assert(ok, out)
    local f = assert(io.open(report))
    local text = f:read("a")
    f:close()
    local uring = offers("io_uring")
    for _, name in ipairs({ "WSARecv x64, routines", "port, GQCSEx batch 64, columns, ov.rearm" }) do
      for _, engine in ipairs({ "poll", "io_uring" }) do
        local pat = "\n| wsarecv WSARecv x64, " .. name:gsub("^WSARecv x64, ", "") .. " [" .. engine .. "] | "
        local b = text:find(pat, 1, true)
        assert(b, "no row " .. pat .. " in\n" .. text)
        local value = text:sub(b + #pat):match("^([^|]*)")
        if engine == "io_uring" and not uring then
          assert.are.equal("io_uring: unavailable ", value, text)
        else
          assert.is_truthy(value:match("^[%d,]+"), text)
        end
      end
    end
    -- one targets line per io_uring target, measured or not
    local n = 0
    for _ in text:gmatch("\n%- target io_uring [^\n]* : [MN][EO]") do n = n + 1 end
    assert.are.equal(10, n, text)
    assert.is_truthy(text:find("| engines (WSARECV_ENGINE", 1, true), text)
  end)
end)
