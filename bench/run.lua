-- bench/run.lua -- the wsarecv benchmark driver.
--
--   lua5.4 bench/run.lua [--quick]        (from the repository root)
--
-- Builds the module (`make`) and the C programs (`make -C bench`, into
-- build/bench), then runs four scenarios over loopback, interleaving the
-- receivers round-robin across repetitions, and prints medians, ratios to
-- the anchors (raw C, C libuv, luv, LuaSocket) and the status of every
-- target.  The same report goes to bench/results.md.  Every child runs
-- under `timeout`, every loop is bounded, and the whole run has a time
-- budget (450 s; 240 s with --quick) after which no new measurement starts.
-- TCP on loopback is the noisiest measurement, so scenario 2 repeats more.
-- Children's stderr goes to build/bench/run.log.  See bench/README.md.
local quick = false
for _, a in ipairs(arg) do
  if a == "--quick" then quick = true
  elseif a == "-h" or a == "--help" then
    print("usage: lua5.4 bench/run.lua [--quick]") os.exit(0)
  else io.stderr:write("unknown option ", a, "\n") os.exit(2) end
end

---------------------------------------------------------------- settings
local P = quick and {
  reps = 3, udp_secs = 0.5, udp_sizes = { 64, 1200 }, tcp_bytes = 256 << 20, tcp_reps = 5,
  n1 = 5000, n2 = 25000, n_wall = 50000, n_heap = 20000, budget = 240,
} or {
  reps = 5, udp_secs = 1.0, udp_sizes = { 64, 1200 }, tcp_bytes = 1 << 30, tcp_reps = 9,
  n1 = 10000, n2 = 50000, n_wall = 200000, n_heap = 50000, budget = 450,
}
P.rcvbuf = 4 << 20          -- scenario 1: SO_RCVBUFFORCE for every receiver
P.drain_size = 64           -- scenarios 3 and 4: datagram size
P.wsa_ops = 64              -- wsarecv UDP: operations posted
P.luv_mmsgs = 20            -- luv {mmsgs=N}: libuv 1.44 takes at most 20

---------------------------------------------------------------- paths
local function sh_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function capture(cmd)
  local f = io.popen(cmd .. " 2>/dev/null")
  local out = f:read("a") or ""
  f:close()
  return (out:gsub("%s+$", ""))
end

local script = arg[0]
if script:sub(1, 1) ~= "/" then script = capture("pwd") .. "/" .. script end
local BENCH = script:match("^(.*)/[^/]*$")
local ROOT = capture("cd " .. sh_quote(BENCH .. "/..") .. " && pwd")
BENCH = ROOT .. "/bench"
local BIN = ROOT .. "/build/bench"
local LOG = BIN .. "/run.log"
local LUA = "lua5.4"
do
  local i = -1
  while arg[i] do LUA = arg[i]; i = i - 1 end
end

local T_START = os.time()
local function elapsed() return os.time() - T_START end
local function over_budget() return elapsed() > P.budget end

local function say(...)
  io.stderr:write(string.format("[%4ds] ", elapsed()), string.format(...), "\n")
end

---------------------------------------------------------------- build
local function build()
  -- the module: someone may be editing src/ right now; retry a little
  local so = ROOT .. "/build/wsarecv/core.so"
  local mlog = BIN .. "/make.log"
  os.execute("mkdir -p " .. sh_quote(BIN))
  for attempt = 1, 4 do
    local ok = os.execute("make -s -C " .. sh_quote(ROOT) .. " all >" .. sh_quote(mlog) .. " 2>&1")
    if ok then break end
    if attempt == 4 then
      if io.open(so) then
        say("warning: `make` failed (see %s); using the existing %s", mlog, so)
      else
        error("`make` failed and there is no " .. so .. " (see " .. mlog .. ")")
      end
    else
      say("`make` failed (attempt %d); retrying in 20 s", attempt)
      os.execute("sleep 20")
    end
  end
  assert(os.execute("make -s -C " .. sh_quote(BENCH) .. " BUILD=" .. sh_quote(BIN)),
         "building the benchmark's C programs failed")
  os.remove(LOG)
end

---------------------------------------------------------------- running
local ENV_BASE = {
  LUA_PATH = BENCH .. "/lua/?.lua;" .. ROOT .. "/lua/?.lua;" .. ROOT .. "/lua/?/init.lua;;",
  LUA_CPATH = ROOT .. "/build/?.so;;",
}

local function parse_kv(line)
  local t = {}
  for k, v in line:gmatch("(%w[%w_]*)=(%S+)") do t[k] = tonumber(v) or v end
  return t
end

-- run argv under `timeout`, with env; returns {result=, sender=, ok=, out=}
local function run(argv, env, limit)
  local parts = { "exec env" }
  for k, v in pairs(ENV_BASE) do parts[#parts + 1] = k .. "=" .. sh_quote(v) end
  for k, v in pairs(env or {}) do parts[#parts + 1] = k .. "=" .. sh_quote(v) end
  parts[#parts + 1] = "timeout -k 5 " .. math.floor(limit or 60)
  for _, a in ipairs(argv) do parts[#parts + 1] = sh_quote(a) end
  local cmd = table.concat(parts, " ")
  local lf = io.open(LOG, "a")
  if lf then lf:write("$ ", cmd, "\n") lf:close() end
  local f = io.popen(cmd .. " 2>>" .. sh_quote(LOG))
  local out = f:read("a") or ""
  local ok, how, code = f:close()
  local r = { ok = ok, how = how, code = code, out = out }
  for line in out:gmatch("[^\n]+") do
    if line:match("^RESULT ") then r.result = parse_kv(line)
    elseif line:match("^SENDER ") then r.sender = parse_kv(line) end
  end
  lf = io.open(LOG, "a")
  if lf then lf:write(out, "(exit: ", tostring(how), " ", tostring(code), ")\n") lf:close() end
  return r
end

---------------------------------------------------------------- receivers
local function lua_recv(file, ...) return { LUA, BENCH .. "/lua/" .. file, ... } end

-- UDP receivers (scenarios 1, 3, 4)
local UDP = {
  { key = "raw", name = "C raw recvmmsg (batch 64)", argv = { BIN .. "/c_raw" } },
  { key = "uv", name = "C libuv uv_udp_recv_start", argv = { BIN .. "/c_uv" }, env = { WR_MMSG = "0" } },
  { key = "uvmmsg", name = "C libuv + UV_UDP_RECVMMSG", argv = { BIN .. "/c_uv" }, env = { WR_MMSG = "1" } },
  { key = "luv", name = "luv udp:recv_start", argv = lua_recv("recv_luv.lua"), lua = true },
  { key = "luvmmsg", name = "luv new_udp{mmsgs=" .. P.luv_mmsgs .. "}", argv = lua_recv("recv_luv.lua", P.luv_mmsgs), lua = true },
  { key = "socket", name = "LuaSocket udp:receive()", argv = lua_recv("recv_socket.lua"), lua = true },
  { key = "wsa", name = "wsarecv WSARecv x" .. P.wsa_ops, argv = lua_recv("recv_wsarecv.lua", "WSARecv", P.wsa_ops), lua = true, wsa = true },
  { key = "wsamsg", name = "wsarecv WSARecvMsg x" .. P.wsa_ops .. " +PKTINFO", argv = lua_recv("recv_wsarecv.lua", "WSARecvMsg", P.wsa_ops), lua = true, wsa = true },
}
-- scenario 3's instruction counts add the floor: recv_wsarecv.lua itself,
-- run against a stub of the C module that does no receive work
local UDP3 = { table.unpack(UDP) }
UDP3[#UDP3 + 1] = { key = "floor", name = "floor: the WSARecv receiver's Lua on a no-op C stub",
                    argv = lua_recv("recv_floor.lua", P.wsa_ops), lua = true }
-- TCP receivers (scenario 2)
local TCP = {
  { key = "raw", name = "C read() 64 KiB, blocking", argv = { BIN .. "/c_raw" } },
  { key = "rawpoll", name = "C read() 64 KiB, nonblocking + poll()", argv = { BIN .. "/c_raw" }, env = { WR_POLL = "1" } },
  { key = "uv", name = "C libuv uv_read_start", argv = { BIN .. "/c_uv" } },
  { key = "luv", name = "luv tcp:read_start", argv = lua_recv("recv_luv.lua") },
  { key = "socket", name = "LuaSocket tcp:receive(65536)", argv = lua_recv("recv_socket.lua") },
  { key = "wsa", name = "wsarecv WSARecv 4 x 64 KiB", argv = lua_recv("recv_wsarecv.lua", "WSARecv", 4), wsa = true },
}
local ANCHORS = { { "raw", "raw C" }, { "uv", "C libuv" }, { "luv", "luv" }, { "socket", "LuaSocket" } }

---------------------------------------------------------------- statistics
local function median(t)
  if #t == 0 then return nil end
  local s = {}
  for i, v in ipairs(t) do s[i] = v end
  table.sort(s)
  local m = #s // 2
  if #s % 2 == 1 then return s[m + 1] end
  return (s[m] + s[m + 1]) / 2
end

local function spread(t)
  if #t < 2 then return nil end
  local lo, hi = math.huge, -math.huge
  for _, v in ipairs(t) do lo = math.min(lo, v); hi = math.max(hi, v) end
  local m = median(t)
  if not m or m == 0 then return nil end
  return (hi - lo) / m * 100
end

local function commas(n)
  local s = string.format("%.0f", n)
  local neg = s:sub(1, 1) == "-"
  if neg then s = s:sub(2) end
  s = s:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^,", "")
  return (neg and "-" or "") .. s
end

local function fmt(v, kind)
  if v == nil then return "n/a" end
  if kind == "int" then return commas(v) end
  if kind == "1" then return string.format("%.1f", v) end
  if kind == "2" then return string.format("%.2f", v) end
  if kind == "3" then return string.format("%.3f", v) end
  return tostring(v)
end

local function ratio(a, b)
  if not a or not b or b == 0 then return "n/a" end
  local r = a / b
  if r >= 100 then return string.format("%.0fx", r) end
  if r >= 10 then return string.format("%.1fx", r) end
  return string.format("%.2fx", r)
end

---------------------------------------------------------------- report
local report = {}
local problems = {}
local targets = {}
local allruns = {}

local function out(s)
  s = s or ""
  report[#report + 1] = s
  io.stdout:write(s, "\n")
  io.stdout:flush()
end

local function problem(fmt_, ...)
  local s = string.format(fmt_, ...)
  problems[#problems + 1] = s
  say("PROBLEM: %s", s)
end

-- met: true/false, or nil when a value is missing
local function check(a, b, ok)
  if a == nil or b == nil then return nil end
  return ok(a, b) and true or false
end

local function target(desc, value, limit, met, detail)
  local s = string.format("target %s : %s (%s vs limit %s)%s", desc,
    met == nil and "NOT MEASURED" or (met and "MET" or "NOT MET"),
    value or "n/a", limit, detail and ("; " .. detail) or "")
  targets[#targets + 1] = s
  out("- " .. s)
end

-- values[key] = list; rows = receivers; kind = number format.
-- extra = list of {title, fn(key) -> string}
local function metric_table(title, rows, values, kind, better, extra, runscol)
  out("")
  out("**" .. title .. "**" .. (better and (" (" .. better .. ")") or ""))
  out("")
  local head = { "receiver", "median", "spread", "runs" }
  for _, e in ipairs(extra or {}) do head[#head + 1] = e[1] end
  for _, a in ipairs(ANCHORS) do head[#head + 1] = "/ " .. a[2] end
  out("| " .. table.concat(head, " | ") .. " |")
  local sep = {}
  for i = 1, #head do sep[i] = i == 1 and "---" or "---:" end
  out("|" .. table.concat(sep, "|") .. "|")
  for _, r in ipairs(rows) do
    local v = values[r.key] or {}
    local m = median(v)
    local sp = spread(v)
    local cells = { r.name, fmt(m, kind), sp and string.format("%.0f%%", sp) or "-",
                    runscol and runscol(r.key) or tostring(#v) }
    for _, e in ipairs(extra or {}) do cells[#cells + 1] = e[2](r.key) end
    for _, a in ipairs(ANCHORS) do
      local av = median(values[a[1]] or {})
      cells[#cells + 1] = (a[1] == r.key) and "1" or ratio(m, av)
    end
    out("| " .. table.concat(cells, " | ") .. " |")
  end
end

---------------------------------------------------------------- scenarios 1, 2: run records
-- This machine is shared (a VM; other work may run at the same time), so
-- every streaming run is classified, and runs that were disturbed are not
-- used (and are made up for, a bounded number of times):
--   "receiver"  the receiver was busy all along (CPU >= 90 % of the send
--               period): the rate is the receiver's
--   "sender"    it kept up (loss < 0.5 %) with CPU to spare: the rate is
--               the sender's
--   "disturbed" other load took more than 15 % of a CPU (and 30 ms) during
--               the run (/proc/stat busy time minus sender's and receiver's),
--               or datagrams were lost while the receiver was not busy
-- Per receiver, the medians use the runs of the kind most of its runs have.
local FOREIGN_MAX = 0.15
local FOREIGN_MIN_S = 0.03   -- /proc/stat counts in 10 ms ticks on 2 CPUs

local function select_runs(list)
  local n = { receiver = 0, sender = 0, ok = 0 }
  for _, rec in ipairs(list or {}) do n[rec.kind] = (n[rec.kind] or 0) + 1 end
  local kind = n.sender > n.receiver and "sender" or n.receiver > 0 and "receiver" or n.ok > 0 and "ok" or nil
  local used = {}
  for _, rec in ipairs(list or {}) do if rec.kind == kind then used[#used + 1] = rec end end
  return used, kind
end

local function field(runs, name)
  local t = {}
  for key, list in pairs(runs) do
    local used = select_runs(list)
    t[key] = {}
    for i, rec in ipairs(used) do t[key][i] = rec[name] end
  end
  return t
end

local function runs_col(runs)
  return function(key)
    local list = runs[key] or {}
    return string.format("%d/%d", #(select_runs(list)), #list)
  end
end

---------------------------------------------------------------- scenario 1
local S1 = {}   -- S1[size].runs[key] = list of run records

local function s1_once(size, r, tag)
  say("scenario 1: %d B, %s, %s", size, tag, r.name)
  local res = run({ BIN .. "/udp_run", size, P.udp_secs, P.rcvbuf, "--", table.unpack(r.argv) },
                  r.env, P.udp_secs + 40)
  local x, s = res.result, res.sender
  allruns[#allruns + 1] = string.format("s1 %dB %-8s %s: %s | %s", size, r.key, tag,
    (res.out:gsub("\n", " | ")), tostring(res.how) .. " " .. tostring(res.code))
  if not (res.ok and x and s) then
    problem("scenario 1: %s at %d B failed (exit %s %s; see %s)", r.name, size, tostring(res.how), tostring(res.code), LOG)
    return
  elseif x.err ~= 0 or x.recv < 1 or x.recv > s.sent then
    problem("scenario 1: %s at %d B: %d content errors, %d received of %d sent", r.name, size, x.err, x.recv, s.sent)
    return
  end
  local rec = {
    rate = x.recv / s.secs, loss = 100 * (s.sent - x.recv) / s.sent, cpu = x.cpu_ns / x.recv,
    sender = s.sent / s.secs, sat = x.cpu_ns / 1e9 / s.secs,
    foreign = ((s.busy or 0) - (s.own or 0)) / s.secs,
  }
  if rec.foreign > FOREIGN_MAX and rec.foreign * s.secs > FOREIGN_MIN_S then rec.kind = "disturbed"
  elseif rec.sat >= 0.9 then rec.kind = "receiver"
  elseif rec.loss < 0.5 then rec.kind = "sender"
  else rec.kind = "disturbed" end
  allruns[#allruns] = allruns[#allruns] .. string.format(" | kind=%s cpu/period=%.2f other-load=%.2f",
    rec.kind, rec.sat, rec.foreign)
  local list = S1[size].runs
  list[r.key] = list[r.key] or {}
  table.insert(list[r.key], rec)
end

local function scenario1()
  for _, size in ipairs(P.udp_sizes) do S1[size] = { runs = {} } end
  for rep = 1, P.reps do
    for _, size in ipairs(P.udp_sizes) do
      for i = 0, #UDP - 1 do
        local r = UDP[(i + rep - 1) % #UDP + 1]     -- rotate the order per rep
        if over_budget() then
          problem("scenario 1: time budget reached, skipped %s %d B rep %d", r.key, size, rep)
        else
          s1_once(size, r, string.format("rep %d/%d", rep, P.reps))
        end
      end
    end
  end
  -- make up for disturbed runs: at most P.reps more per receiver and size
  for _, size in ipairs(P.udp_sizes) do
    for _, r in ipairs(UDP) do
      local tries = 0
      while #(select_runs(S1[size].runs[r.key])) < P.reps and tries < P.reps and not over_budget() do
        tries = tries + 1
        s1_once(size, r, "extra " .. tries)
      end
    end
  end
end

local function report1()
  out("")
  out("## Scenario 1: UDP receive rate (sender on CPU 1, receiver on CPU 0, "
      .. P.udp_secs .. " s per run, SO_RCVBUFFORCE " .. (P.rcvbuf >> 20) .. " MiB)")
  out("")
  out("Rate = datagrams received / sender's send period.  \"limited by\": *receiver* = the "
      .. "receiver was busy the whole period (its rate is its own); *sender* = it kept up "
      .. "(loss < 0.5 %) with CPU to spare, so its rate is the sender's (one sender CPU cannot "
      .. "outrun every receiver; compare those by CPU ns per datagram).  \"runs\" = runs used / "
      .. "runs made: runs disturbed by other load on the machine are not used.")
  for _, size in ipairs(P.udp_sizes) do
    local runs = S1[size].runs
    local rate, loss, cpu, sender = field(runs, "rate"), field(runs, "loss"), field(runs, "cpu"), field(runs, "sender")
    local function medcol(t, kind) return function(k) return fmt(median(t[k] or {}), kind) end end
    metric_table(size .. "-byte datagrams: received datagrams/s", UDP, rate, "int", "higher is better",
      { { "loss %", medcol(loss, "1") }, { "sender dgram/s", medcol(sender, "int") },
        { "limited by", function(k) local _, kind = select_runs(runs[k]) return kind or "n/a" end } },
      runs_col(runs))
    metric_table(size .. "-byte datagrams: receiver CPU ns per datagram", UDP, cpu, "int", "lower is better",
      nil, runs_col(runs))
  end
  if S1[64] then
    local rate = field(S1[64].runs, "rate")
    out("")
    for _, w in ipairs({ { "wsa", "WSARecv" }, { "wsamsg", "WSARecvMsg" } }) do
      local v, luv, uv = median(rate[w[1]] or {}), median(rate.luv or {}), median(rate.uv or {})
      target(string.format("S1 %s 64 B rate >= 2x luv", w[2]),
        v and luv and string.format("%s/s = %.2fx luv's %s/s", commas(v), v / luv, commas(luv)),
        "2.00x", check(v, luv, function(a, b) return a >= 2 * b end))
      target(string.format("S1 %s 64 B rate >= C libuv (uv_udp_recv_start)", w[2]),
        v and uv and string.format("%s/s = %.2fx C libuv's %s/s", commas(v), v / uv, commas(uv)),
        "1.00x", check(v, uv, function(a, b) return a >= b end))
    end
  end
end

---------------------------------------------------------------- scenario 2
local S2 = { runs = {} }

local function s2_once(r, tag)
  say("scenario 2: %s, %s", tag, r.name)
  local res = run({ BIN .. "/tcp_run", P.tcp_bytes, "--", table.unpack(r.argv) }, r.env, 90)
  local x, s = res.result, res.sender
  allruns[#allruns + 1] = string.format("s2 %-8s %s: %s | %s", r.key, tag,
    (res.out:gsub("\n", " | ")), tostring(res.how) .. " " .. tostring(res.code))
  if not (res.ok and x and s) then
    problem("scenario 2: %s failed (exit %s %s; see %s)", r.name, tostring(res.how), tostring(res.code), LOG)
    return
  elseif x.err ~= 0 or x.bytes ~= P.tcp_bytes then
    problem("scenario 2: %s: %d content errors, %d of %d bytes", r.name, x.err, x.bytes, P.tcp_bytes)
    return
  end
  local wall = x.wall_ns / 1e9
  local rec = {
    mbs = x.bytes / wall / 1e6, cpu = (x.cpu_ns / 1e9) / (x.bytes / 1e9),
    foreign = ((s.busy or 0) - (s.own or 0)) / wall,
  }
  rec.kind = (rec.foreign > FOREIGN_MAX and rec.foreign * wall > FOREIGN_MIN_S) and "disturbed" or "ok"
  allruns[#allruns] = allruns[#allruns] .. string.format(" | kind=%s other-load=%.2f", rec.kind, rec.foreign)
  S2.runs[r.key] = S2.runs[r.key] or {}
  table.insert(S2.runs[r.key], rec)
end

local function scenario2()
  for rep = 1, P.tcp_reps do
    for i = 0, #TCP - 1 do
      local r = TCP[(i + rep - 1) % #TCP + 1]
      if over_budget() then
        problem("scenario 2: time budget reached, skipped %s rep %d", r.key, rep)
      else
        s2_once(r, string.format("rep %d/%d", rep, P.tcp_reps))
      end
    end
  end
  for _, r in ipairs(TCP) do
    local tries = 0
    while #(select_runs(S2.runs[r.key])) < P.tcp_reps and tries < P.tcp_reps and not over_budget() do
      tries = tries + 1
      s2_once(r, "extra " .. tries)
    end
  end
end

local function report2()
  out("")
  out(string.format("## Scenario 2: TCP stream receive, 64 KiB reads, %d MiB per run", P.tcp_bytes >> 20))
  out("")
  out("\"runs\" = runs used / runs made: runs disturbed by other load on the machine are not used.")
  local mbs, cpu = field(S2.runs, "mbs"), field(S2.runs, "cpu")
  metric_table("throughput MB/s (receiver's READY to end of stream)", TCP, mbs, "int", "higher is better",
    nil, runs_col(S2.runs))
  metric_table("receiver CPU s/GB", TCP, cpu, "3", "lower is better", nil, runs_col(S2.runs))
  out("")
  local v, c = median(cpu.wsa or {}), median(cpu.raw or {})
  target("S2 WSARecv CPU s/GB <= 1.15x C read()",
    v and c and string.format("%.3f s/GB = %.2fx C read()'s %.3f", v, v / c, c),
    "1.15x", check(v, c, function(a, b) return a <= 1.15 * b end))
  local p = median(cpu.rawpoll or {})
  if v and p then
    out(string.format("- (for information: %.2fx the nonblocking read()+poll() loop's %.3f s/GB)", v / p, p))
  end
end

---------------------------------------------------------------- scenario 3
local S3 = { instr = {}, wall = {} }

local function callgrind_total(file)
  local f = io.open(file)
  if not f then return nil end
  local total
  for line in f:lines() do
    local v = line:match("^totals:%s*(%d+)") or line:match("^summary:%s*(%d+)")
    if v then total = tonumber(v) end
  end
  f:close()
  return total
end

local function scenario3_instr()
  for _, r in ipairs(UDP3) do
    if over_budget() then problem("scenario 3: time budget reached, skipped callgrind of %s", r.key) goto next end
    do
      local totals = {}
      for _, n in ipairs({ P.n1, P.n2 }) do
        say("scenario 3: callgrind, %s, N=%d", r.name, n)
        local file = string.format("%s/callgrind.%s.%d.out", BIN, r.key, n)
        os.remove(file)
        local res = run({ BIN .. "/queue_exec", n, P.drain_size, "--", "valgrind", "--tool=callgrind",
                          "--callgrind-out-file=" .. file, table.unpack(r.argv) }, r.env, 120)
        local x = res.result
        allruns[#allruns + 1] = string.format("s3 callgrind %-8s N=%d: %s | %s", r.key, n,
          (res.out:gsub("\n", " | ")), tostring(res.how) .. " " .. tostring(res.code))
        if not (res.ok and x) then
          problem("scenario 3: callgrind of %s N=%d failed (exit %s %s; see %s)", r.name, n, tostring(res.how), tostring(res.code), LOG)
        elseif x.recv ~= n or x.err ~= 0 then
          problem("scenario 3: callgrind of %s N=%d: received %d, %d content errors", r.name, n, x.recv, x.err)
        else
          totals[n] = callgrind_total(file)
          if not totals[n] then problem("scenario 3: no totals in %s", file) end
        end
        os.remove(file)
      end
      if totals[P.n1] and totals[P.n2] then
        S3.instr[r.key] = { (totals[P.n2] - totals[P.n1]) / (P.n2 - P.n1) }
      end
    end
    ::next::
  end
end

-- A drain never waits (everything is queued), so its wall time is its CPU
-- time unless something else took the CPU: a run whose wall time exceeds
-- its CPU time by more than 5 % is "disturbed", not used, and made up for.
local function s3_wall_once(r, tag)
  say("scenario 3: wall, %s, %s, N=%d", tag, r.name, P.n_wall)
  local res = run({ "taskset", "-c", "0", BIN .. "/queue_exec", P.n_wall, P.drain_size, "--",
                    table.unpack(r.argv) }, r.env, 90)
  local x = res.result
  allruns[#allruns + 1] = string.format("s3 wall %-8s %s: %s | %s", r.key, tag,
    (res.out:gsub("\n", " | ")), tostring(res.how) .. " " .. tostring(res.code))
  if not (res.ok and x) then
    problem("scenario 3: %s N=%d failed (exit %s %s; see %s)", r.name, P.n_wall, tostring(res.how), tostring(res.code), LOG)
  elseif x.recv ~= P.n_wall or x.err ~= 0 then
    problem("scenario 3: %s N=%d: received %d, %d content errors", r.name, P.n_wall, x.recv, x.err)
  else
    local rec = { wall = x.wall_ns / x.recv }
    rec.kind = (x.wall_ns - x.cpu_ns) > 0.05 * x.wall_ns and "disturbed" or "ok"
    allruns[#allruns] = allruns[#allruns] .. " | kind=" .. rec.kind
    S3.wallruns[r.key] = S3.wallruns[r.key] or {}
    table.insert(S3.wallruns[r.key], rec)
  end
end

local function scenario3_wall()
  S3.wallruns = {}
  for rep = 1, P.reps do
    for i = 0, #UDP - 1 do
      local r = UDP[(i + rep - 1) % #UDP + 1]
      if over_budget() then
        problem("scenario 3: time budget reached, skipped wall run %s rep %d", r.key, rep)
      else
        s3_wall_once(r, string.format("rep %d/%d", rep, P.reps))
      end
    end
  end
  for _, r in ipairs(UDP) do
    local tries = 0
    while #(select_runs(S3.wallruns[r.key])) < P.reps and tries < P.reps and not over_budget() do
      tries = tries + 1
      s3_wall_once(r, "extra " .. tries)
    end
  end
  S3.wall = field(S3.wallruns, "wall")
end

local function report3()
  out("")
  out(string.format("## Scenario 3: per-datagram cost, draining %d-byte datagrams queued in advance", P.drain_size))
  out("")
  out("Instructions: user space only, receiver process only, startup cancelled by the difference of two "
      .. "counts.  Wall: the drain never waits, so a run whose wall time exceeds its CPU time by more "
      .. "than 5 % was disturbed by other load and is not used (\"runs\" = used / made).")
  metric_table(string.format("user-space instructions per datagram (callgrind, (I(%d)-I(%d))/%d)",
    P.n2, P.n1, P.n2 - P.n1), UDP3, S3.instr, "int", "lower is better")
  out("")
  out("The floor row runs the wsarecv receiver script unchanged against a stub module whose WSARecv "
      .. "and buf:byte do nothing and whose SleepEx only lua_pcall()s the routines: it is what the "
      .. "interpreter alone costs for that routine (the pcall into Lua, the routine's own code, its two "
      .. "calls into C).  No C module can go below it; wsarecv's own share is the difference.")
  metric_table(string.format("wall ns per datagram (N=%d, pinned to CPU 0)", P.n_wall), UDP, S3.wall, "int",
    "lower is better", nil, runs_col(S3.wallruns))
  out("")
  for _, w in ipairs({ { "wsa", "WSARecv" }, { "wsamsg", "WSARecvMsg" } }) do
    local v = median(S3.instr[w[1]] or {})
    local fl = median(S3.instr.floor or {})
    target(string.format("S3 %s instructions/datagram <= 600", w[2]),
      v and (commas(v) .. (fl and string.format(" (the Lua floor alone is %s; wsarecv's share %s)",
        commas(fl), commas(v - fl)) or "")), "600", check(v, 600, function(a, b) return a <= b end))
    local wv, raw, uv = median(S3.wall[w[1]] or {}), median(S3.wall.raw or {}), median(S3.wall.uv or {})
    target(string.format("S3 %s wall ns/datagram <= 1.25x raw recvmmsg", w[2]),
      wv and raw and string.format("%.0f ns = %.2fx raw's %.0f ns", wv, wv / raw, raw),
      "1.25x", check(wv, raw, function(a, b) return a <= 1.25 * b end))
    target(string.format("S3 %s wall ns/datagram <= C libuv (uv_udp_recv_start)", w[2]),
      wv and uv and string.format("%.0f ns = %.2fx C libuv's %.0f ns", wv, wv / uv, uv),
      "1.00x", check(wv, uv, function(a, b) return a <= b end))
  end
end

---------------------------------------------------------------- scenario 4
local S4 = { heap = {} }

local function scenario4()
  for _, r in ipairs(UDP) do
    if r.lua then
      if over_budget() then problem("scenario 4: time budget reached, skipped %s", r.key) goto next end
      say("scenario 4: heap, %s, N=%d", r.name, P.n_heap)
      do
        local env = { WR_HEAP = "1" }
        for k, v in pairs(r.env or {}) do env[k] = v end
        local res = run({ "taskset", "-c", "0", BIN .. "/queue_exec", P.n_heap, P.drain_size, "--",
                          table.unpack(r.argv) }, env, 90)
        local x = res.result
        allruns[#allruns + 1] = string.format("s4 heap %-8s: %s | %s", r.key,
          (res.out:gsub("\n", " | ")), tostring(res.how) .. " " .. tostring(res.code))
        if not (res.ok and x and x.heap_bytes) then
          problem("scenario 4: %s failed (exit %s %s; see %s)", r.name, tostring(res.how), tostring(res.code), LOG)
        elseif x.recv ~= P.n_heap or x.err ~= 0 then
          problem("scenario 4: %s: received %d, %d content errors", r.name, x.recv, x.err)
        else
          S4.heap[r.key] = { x.heap_bytes / x.heap_n, x.heap_bytes }
        end
      end
    end
    ::next::
  end
end

local function report4()
  out("")
  out(string.format("## Scenario 4: Lua heap growth per datagram, collector stopped (N=%d, steady state = datagrams %d..%d)",
    P.n_heap, P.n_heap // 10 + 1, P.n_heap))
  out("")
  out("| receiver | bytes/datagram | bytes in window | / luv | / LuaSocket |")
  out("|---|---:|---:|---:|---:|")
  local luv, sock = S4.heap.luv, S4.heap.socket
  for _, r in ipairs(UDP) do
    if r.lua then
      local h = S4.heap[r.key]
      out(string.format("| %s | %s | %s | %s | %s |", r.name, h and fmt(h[1], "2") or "n/a",
        h and commas(h[2]) or "n/a",
        r.key == "luv" and "1" or ratio(h and h[1], luv and luv[1]),
        r.key == "socket" and "1" or ratio(h and h[1], sock and sock[1])))
    end
  end
  out("")
  for _, w in ipairs({ { "wsa", "WSARecv" }, { "wsamsg", "WSARecvMsg (no msg:control())" } }) do
    local h = S4.heap[w[1]]
    target(string.format("S4 %s Lua heap per datagram = 0", w[2]),
      h and string.format("%.3f B/datagram, %s B over %d datagrams", h[1], commas(h[2]), P.n_heap - P.n_heap // 10),
      "0 B", check(h and h[2], 0, function(a, b) return a == b end))
  end
end

---------------------------------------------------------------- main
local function machine()
  local function dpkg(p) local v = capture("dpkg-query -W -f='${Version}' " .. p) return v ~= "" and v or "?" end
  local m = {}
  m.date = capture("date -u '+%Y-%m-%d %H:%M UTC'")
  m.kernel = capture("uname -r")
  m.cpus = capture("nproc") .. " x " .. capture("lscpu | sed -n 's/^Model name: *//p' | head -1")
  m.lua = capture(LUA .. " -v")
  m.libuv = capture(LUA .. " -e 'print(require\"luv\".version_string())'") .. " (libuv1 " .. dpkg("libuv1") .. ")"
  m.luv = dpkg("lua-luv")
  m.luasocket = capture(LUA .. " -e 'print(require\"socket\"._VERSION)'") .. " (lua-socket " .. dpkg("lua-socket") .. ")"
  m.gcc = capture("gcc --version | head -1")
  m.valgrind = capture("valgrind --version")
  m.wsarecv = capture("git -C " .. sh_quote(ROOT) .. " rev-parse --short HEAD")
  local dirty = capture("git -C " .. sh_quote(ROOT) .. " status --porcelain -- src lua Makefile | wc -l")
  if dirty ~= "0" then m.wsarecv = m.wsarecv .. " + uncommitted changes in src/ (" .. dirty .. " files)" end
  return m
end

local function main()
  say("building")
  build()
  if capture("command -v valgrind") == "" then error("valgrind is not installed") end
  local m = machine()

  out("# wsarecv benchmark results" .. (quick and " (--quick)" or ""))
  out("")
  out("| | |")
  out("|---|---|")
  out("| date | " .. m.date .. " |")
  out("| kernel | " .. m.kernel .. " |")
  out("| CPUs | " .. m.cpus .. " |")
  out("| Lua | " .. m.lua .. " |")
  out("| libuv | " .. m.libuv .. " |")
  out("| luv | lua-luv " .. m.luv .. " |")
  out("| LuaSocket | " .. m.luasocket .. " |")
  out("| gcc | " .. m.gcc .. " |")
  out("| valgrind | " .. m.valgrind .. " |")
  out("| wsarecv | " .. m.wsarecv .. " |")
  out(string.format("| settings | %d reps (scenario 2: %d), medians, receivers interleaved round-robin; ratios are receiver / anchor; spread = (max - min) / median of the runs used |", P.reps, P.tcp_reps))

  say("scenario 4 (heap) and scenario 3 (callgrind) first: they are deterministic")
  scenario4()
  scenario3_instr()
  scenario3_wall()
  scenario1()
  scenario2()

  report1()
  report2()
  report3()
  report4()

  out("")
  out("## Targets")
  out("")
  for _, t in ipairs(targets) do out("- " .. t) end
  out("")
  if #problems > 0 then
    out("## Problems")
    out("")
    for _, p in ipairs(problems) do out("- " .. p) end
    out("")
  end
  out(string.format("Total run time: %d s.", elapsed()))

  local f = io.open(BENCH .. "/results.md", "w")
  if f then
    f:write(table.concat(report, "\n"), "\n\n<details><summary>every run's raw output</summary>\n\n```text\n",
      table.concat(allruns, "\n"), "\n```\n\n</details>\n")
    f:close()
    say("wrote %s (logs of every command: %s)", BENCH .. "/results.md", LOG)
  end
  return #problems == 0
end

local ok, res = xpcall(main, debug.traceback)
if not ok then
  io.stderr:write("bench/run.lua: ", tostring(res), "\n")
  os.exit(1)
end
os.exit(res and 0 or 1)
