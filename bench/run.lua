-- bench/run.lua -- the wsarecv benchmark driver.
--
--   lua5.4 bench/run.lua [--quick] [--only PARTS] [--engine poll|io_uring] [--out FILE]
--   (from anywhere; PARTS: recv, live, send, comma-separated)
--
-- Builds the module (`make`) and the C programs (`make -C bench`, into
-- build/bench), then runs five receive scenarios over loopback, interleaving the
-- receivers round-robin across repetitions, and prints medians and the
-- ratio of every wsarecv receiver to every anchor (raw C, C libuv plain and
-- with RECVMMSG, luv plain and with mmsgs, LuaSocket), then the targets;
-- then scenario 8, live traffic (paced senders at 20k and 100k datagrams/s
-- and one as fast as it can: the receiver's CPU per datagram and the loss);
-- then two send scenarios (6: UDP 64 B sends, 7: a TCP stream), the same
-- way against their own anchors (C sendto, sendmmsg, UDP GSO, write(); luv;
-- LuaSocket).
-- Every wsarecv receiver of scenarios 1-4 and 8 runs once per Linux engine
-- (WSARECV_ENGINE=poll, WSARECV_ENGINE=io_uring), as two rows against the
-- same anchors; `--engine E` keeps one.  An engine this build or kernel
-- refuses (the module does not load with it, or wsarecv.engine() names
-- another) is probed once at the start and its rows print
-- "io_uring: unavailable": not a failure.  Scenario 5 runs on poll.
-- The same report goes to FILE (default bench/results.md), rewritten whole
-- by every run: it names the run (date, commit, command, machine) and
-- holds nothing else.  `--only send` runs the send scenarios alone and
-- replaces only the send section of FILE (kept between two marker
-- comments), with a note that the rest comes from an older run; any other
-- `--only` rewrites FILE whole with what it ran (use --out for a subset).
--
-- A shared machine disturbs runs: they are flagged, counted and shown, and
-- a figure with too few clean runs is printed from all its runs with the
-- mark "disturbed".  Exit status 0 unless something failed (a build, a
-- child that crashed or timed out, a content error, a wrong count); a
-- target NOT MET, a disturbed figure or a skipped measurement is not a
-- failure.  Every child runs under `timeout`, every loop is bounded, and
-- each scenario has a share of the time budget (receive 320 s, live 100 s,
-- send 100 s; --quick 100, 40, 60) after which it starts nothing new.
-- Children's stderr goes to build/bench/run.log.  See bench/README.md.
local quick, smoke, outfile, only, only_engine = false, false, nil, nil, nil
do
  local i = 1
  local function usage(code)
    print("usage: lua5.4 bench/run.lua [--quick] [--only recv,live,send] [--engine poll|io_uring] [--out FILE]")
    os.exit(code)
  end
  while arg[i] do
    local a = arg[i]
    if a == "--quick" then quick = true
    elseif a == "--smoke" then quick, smoke = true, true     -- the spec's: tiny runs, meaningless figures
    elseif a == "--out" and arg[i + 1] then outfile = arg[i + 1]; i = i + 1
    elseif a == "--only" and arg[i + 1] then
      only = {}
      for part in arg[i + 1]:gmatch("[^,]+") do
        if part ~= "recv" and part ~= "live" and part ~= "send" then
          io.stderr:write("--only: unknown part ", part, "\n") usage(2)
        end
        only[part] = true
      end
      i = i + 1
    elseif a == "--engine" and (arg[i + 1] == "poll" or arg[i + 1] == "io_uring") then
      only_engine = arg[i + 1]; i = i + 1
    elseif a == "-h" or a == "--help" then usage(0)
    else io.stderr:write("unknown option ", a, "\n") os.exit(2) end
    i = i + 1
  end
end
-- which parts run; `--only send` alone keeps the rest of FILE
local function want(part) return not only or only[part] or false end
local send_alone = only and only.send and not only.recv and not only.live

---------------------------------------------------------------- settings
-- (with both engines: scenario 1 takes 4 reps instead of 5, scenario 2
-- 5 instead of 7, so that the whole `make bench` stays within 9 minutes)
local P = quick and {
  reps = 3, udp_secs = 0.3, tcp_bytes = 256 << 20, tcp_reps = 3, s1_reps = 3,
  n1 = 5000, n2 = 15000, n_wall = 50000, n_heap = 20000,
  scale_n1 = 10000, scale_n2 = 20000, scale_wall = 50000, scale_reps = 1,
  budget = 100,
} or {
  reps = 5, udp_secs = 0.6, tcp_bytes = 512 << 20, tcp_reps = 5, s1_reps = 4,
  n1 = 10000, n2 = 30000, n_wall = 100000, n_heap = 50000,
  scale_n1 = 20000, scale_n2 = 40000, scale_wall = 100000, scale_reps = 3,
  budget = 320,
}
-- the Linux engines every wsarecv receiver runs on (one row each)
local ENGINES = only_engine and { only_engine } or { "poll", "io_uring" }
-- scenario 8, live traffic: paced senders (datagrams/s; 0 = as fast as the
-- sender can), the same SO_RCVBUF for every receiver (the kernel's default
-- size, forced: it doubles it), its own budget
P.live_rates = { 20000, 100000, 0 }
P.live_secs = quick and 1 or 1.5         -- per paced run
P.live_max_secs = 1                      -- per run at the maximum rate
P.live_rcvbuf = 212992
P.live_batch = 1                         -- datagrams per paced send
P.live_reps = quick and 1 or 3
P.live_budget = quick and 40 or 100
if smoke then P.live_secs, P.live_max_secs, P.live_budget = 0.1, 0.1, 20 end
P.udp_sizes = { 64, 1200 }
P.rcvbuf = 4 << 20          -- scenario 1: SO_RCVBUFFORCE for every receiver
P.drain_size = 64           -- scenarios 3, 4, 5: datagram size
P.wsa_ops = 64              -- wsarecv UDP: operations posted
P.port_batch = 64           -- port: GetQueuedCompletionStatusEx batch
P.luv_mmsgs = 20            -- luv {mmsgs=N}: libuv 1.44 takes at most 20
P.scale_socks = { 1, 100, 1000, 10000 }
P.scale_ops = 4             -- scenario 5: operations posted per socket
-- each scenario's share of the budget (they run in this order)
local SHARE = { s4 = 0.04, s3i = 0.20, s3w = 0.12, s1 = 0.34, s2 = 0.12, s5 = 0.18 }
local ORDER = { "s4", "s3i", "s3w", "s1", "s2", "s5" }
-- the send scenarios (6, 7) have a budget of their own, shared the same way
P.send_budget = quick and 60 or 100
P.send_n = quick and 50000 or 100000        -- scenario 6: datagrams per timed run
P.send_n1, P.send_n2 = quick and 5000 or 10000, quick and 15000 or 30000   -- callgrind
P.send_heap_n = quick and 20000 or 50000    -- scenario 6: Lua heap per send
P.send_reps = quick and 3 or 5
P.send_size = 64
P.send_ops = 64                             -- wsarecv and luv UDP: sends outstanding
P.tcp_send_bytes = quick and (256 << 20) or (1 << 30)
P.tcp_send_reps = 3
P.tcp_send_ops = 4                          -- 64 KiB sends outstanding
local SEND_SHARE = { s6h = 0.06, s6i = 0.34, s6w = 0.32, s7 = 0.28 }
local SEND_ORDER = { "s6h", "s6i", "s6w", "s7" }

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
outfile = outfile or (BENCH .. "/results.md")

-- the command as typed, for the report
local COMMAND = (os.getenv("MAKELEVEL") and "make bench: " or "")
  .. LUA .. " bench/run.lua" .. (#arg > 0 and (" " .. table.concat(arg, " ")) or "")

local T_START = os.time()
local function elapsed() return os.time() - T_START end

local function say(...)
  io.stderr:write(string.format("[%4ds] ", elapsed()), string.format(...), "\n")
end

-- deadlines: scenario k may start runs until the end of its cumulative
-- share of its part's budget; each part's clock starts when the part does
-- (set_deadlines(part)), so that one part's overrun does not eat the next
local DEADLINE = {}
local function set_deadlines(part)
  local t = os.time()
  if part == "recv" then
    for _, k in ipairs(ORDER) do
      t = t + SHARE[k] * P.budget
      DEADLINE[k] = t
    end
  end
  if part == "live" then
    t = t + P.live_budget
    DEADLINE.s8 = t
  end
  if part == "send" then
    for _, k in ipairs(SEND_ORDER) do
      t = t + SEND_SHARE[k] * P.send_budget
      DEADLINE[k] = t
    end
  end
end
local function over(k) return os.time() > DEADLINE[k] end

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

-- run argv under `timeout`, with env; returns
-- {ok, how, code, out, result=, sender=, queue=, skip=}
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
    elseif line:match("^SENDER ") then r.sender = parse_kv(line)
    elseif line:match("^QUEUE ") then r.queue = parse_kv(line)
    elseif line:match("^SINK ") then r.sink = parse_kv(line)
    elseif line:match("^SKIP ") then r.skip = line:sub(6) end
  end
  lf = io.open(LOG, "a")
  if lf then lf:write(out, "(exit: ", tostring(how), " ", tostring(code), ")\n") lf:close() end
  return r
end

---------------------------------------------------------------- receivers
local function lua_recv(file, ...) return { LUA, BENCH .. "/lua/" .. file, ... } end

-- anchor = the column title when the receiver is a comparison point;
-- wsa = a receiver under test (a row of the headline); probe = ask the
-- receiver (WR_MODE=probe) whether this build can run it
local UDP = {
  { key = "raw", name = "C raw recvmmsg (batch 64)", anchor = "raw C",
    argv = { BIN .. "/c_raw" } },
  { key = "uv", name = "C libuv uv_udp_recv_start", anchor = "C libuv",
    argv = { BIN .. "/c_uv" }, env = { WR_MMSG = "0" } },
  { key = "uvmmsg", name = "C libuv + UV_UDP_RECVMMSG", anchor = "C libuv mmsg",
    argv = { BIN .. "/c_uv" }, env = { WR_MMSG = "1" } },
  { key = "luv", name = "luv udp:recv_start", anchor = "luv",
    argv = lua_recv("recv_luv.lua"), lua = true },
  { key = "luvmmsg", name = "luv new_udp{mmsgs=" .. P.luv_mmsgs .. "}", anchor = "luv mmsgs",
    argv = lua_recv("recv_luv.lua", P.luv_mmsgs), lua = true },
  { key = "socket", name = "LuaSocket udp:receive()", anchor = "LuaSocket",
    argv = lua_recv("recv_socket.lua"), lua = true },
  { key = "wsa", name = "wsarecv WSARecv x" .. P.wsa_ops .. ", routines", wsa = true, lua = true,
    argv = lua_recv("recv_wsarecv.lua", "WSARecv", P.wsa_ops) },
  { key = "wsamsg", name = "wsarecv WSARecvMsg x" .. P.wsa_ops .. " +PKTINFO, routines", wsa = true,
    lua = true, argv = lua_recv("recv_wsarecv.lua", "WSARecvMsg", P.wsa_ops) },
  { key = "port", name = string.format("wsarecv WSARecv x%d, port, GQCSEx batch %d, columns, ov.rearm",
      P.wsa_ops, P.port_batch),
    wsa = true, lua = true, probe = true,
    argv = lua_recv("recv_wsarecv.lua", "port", P.wsa_ops, P.port_batch) },
  { key = "portrepost", name = string.format("wsarecv WSARecv x%d, port, GQCSEx batch %d, columns, "
      .. "sock:WSARecv repost", P.wsa_ops, P.port_batch),
    wsa = true, lua = true, probe = true,
    argv = lua_recv("recv_wsarecv.lua", "port-repost", P.wsa_ops, P.port_batch) },
}
-- scenario 3's instruction counts add the floor: recv_wsarecv.lua itself,
-- run against a stub of the C module that does no receive work
local UDP3 = { table.unpack(UDP) }
UDP3[#UDP3 + 1] = { key = "floor", name = "floor: the WSARecv receiver's Lua on a no-op C stub",
                    argv = lua_recv("recv_floor.lua", P.wsa_ops), lua = true }
-- TCP receivers (scenario 2); the raw C column is the blocking read() loop
local TCP = {
  { key = "raw", name = "C read() 64 KiB, blocking", anchor = "raw C", argv = { BIN .. "/c_raw" } },
  { key = "rawpoll", name = "C read() 64 KiB, nonblocking + poll()", anchor = "C read+poll",
    argv = { BIN .. "/c_raw" }, env = { WR_POLL = "1" } },
  { key = "uv", name = "C libuv uv_read_start", anchor = "C libuv", argv = { BIN .. "/c_uv" } },
  { key = "luv", name = "luv tcp:read_start", anchor = "luv", argv = lua_recv("recv_luv.lua") },
  { key = "socket", name = "LuaSocket tcp:receive(65536)", anchor = "LuaSocket",
    argv = lua_recv("recv_socket.lua") },
  { key = "wsa", name = "wsarecv WSARecv 4 x 64 KiB, routines", wsa = true,
    argv = lua_recv("recv_wsarecv.lua", "WSARecv", 4) },
  { key = "port", name = "wsarecv WSARecv 4 x 64 KiB, port", wsa = true, probe = true,
    argv = lua_recv("recv_wsarecv.lua", "port", 4, P.port_batch) },
}
-- scenario 5: the receivers under test over S sockets, P.scale_ops each
local SCALE = {
  { key = "wsa", name = "wsarecv WSARecv, routines", argv = lua_recv("recv_wsarecv.lua", "WSARecv", P.scale_ops) },
  { key = "port", name = "wsarecv WSARecv, port, GQCSEx batch " .. P.port_batch, probe = true,
    argv = lua_recv("recv_wsarecv.lua", "port", P.scale_ops, P.port_batch) },
}


-- Every receiver under test (wsa = true) becomes one row per engine: the
-- same argv with WSARECV_ENGINE set, key unchanged for poll and
-- key .. "_uring" for io_uring, the engine in brackets after its name.
local function by_engine(list)
  local t = {}
  for _, r in ipairs(list) do
    if not r.wsa then t[#t + 1] = r goto next end
    for _, e in ipairs(ENGINES) do
      local c = {}
      for k, x in pairs(r) do c[k] = x end
      c.env = { WSARECV_ENGINE = e }
      for k, x in pairs(r.env or {}) do c.env[k] = x end
      c.engine, c.base = e, r.key
      c.key = e == "poll" and r.key or r.key .. "_uring"
      c.name = r.name .. " [" .. e .. "]"
      t[#t + 1] = c
    end
    ::next::
  end
  return t
end
UDP, TCP = by_engine(UDP), by_engine(TCP)
UDP3 = by_engine(UDP3)
for _, r in ipairs(SCALE) do
  r.env, r.engine, r.name = { WSARECV_ENGINE = "poll" }, "poll", r.name .. " [poll]"
end
-- scenario 8's receivers: the C recvmmsg loop and luv (the anchors), the
-- routines and the port with ov.rearm (on each engine), as in scenario 1
local LIVE = {}
for _, r in ipairs(UDP) do
  if r.key == "raw" or r.key == "luv" or r.base == "wsa" or r.base == "port" then LIVE[#LIVE + 1] = r end
end

local function anchors_of(rows)
  local t = {}
  for _, r in ipairs(rows) do if r.anchor then t[#t + 1] = r end end
  return t
end
local function wsa_of(rows)
  local t = {}
  for _, r in ipairs(rows) do if r.wsa then t[#t + 1] = r end end
  return t
end

---------------------------------------------------------------- statistics
local function median(t)
  if not t or #t == 0 then return nil end
  local s = {}
  for i, v in ipairs(t) do s[i] = v end
  table.sort(s)
  local m = #s // 2
  if #s % 2 == 1 then return s[m + 1] end
  return (s[m] + s[m + 1]) / 2
end

local function spread(t)
  if not t or #t < 2 then return nil end
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
local failures, notes = {}, {}
local targets = {}
local allruns = {}
local unavailable = {}          -- key -> why (probed receivers this build cannot run)
local ENGINE_WHY = {}           -- engine -> why it is unavailable (probe_engines)
local DEFAULT_ENGINE = "?"      -- what the module picks unasked (the senders, the echo)
local runs_made, runs_disturbed = 0, 0

local function out(s)
  s = s or ""
  report[#report + 1] = s
  io.stdout:write(s, "\n")
  io.stdout:flush()
end

-- something failed: the exit status says so
local function failure(fmt_, ...)
  local s = string.format(fmt_, ...)
  failures[#failures + 1] = s
  say("FAILURE: %s", s)
end

-- worth knowing, not a failure
local function note(fmt_, ...)
  local s = string.format(fmt_, ...)
  notes[#notes + 1] = s
  say("note: %s", s)
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
end

-- the output of a run, for the raw log at the end of the report
local function log_run(tag, res)
  allruns[#allruns + 1] = string.format("%s: %s | %s %s", tag, (res.out:gsub("\n", " | ")),
    tostring(res.how), tostring(res.code))
end

-- did the child fail?  A SKIP line marks the receiver unavailable instead.
local function failed(res, r, what)
  if res.skip then
    unavailable[r.key] = unavailable[r.key] or res.skip
    return true
  end
  if not (res.ok and res.result) then
    failure("%s: %s failed (exit %s %s; see %s)", what, r.name, tostring(res.how), tostring(res.code), LOG)
    return true
  end
  return false
end

---------------------------------------------------------------- run records
-- A figure is a median of run records {value fields..., disturbed = bool}.
-- Disturbed runs (other load on the machine took CPU during the run) are
-- kept and counted.  A figure uses its clean runs when there are at least
-- MIN_CLEAN of them, and all its runs otherwise, marked "disturbed".
local function min_clean(reps) return (reps + 1) // 2 end

local function record(list, key, rec)
  list[key] = list[key] or {}
  table.insert(list[key], rec)
  runs_made = runs_made + 1
  if rec.disturbed then runs_disturbed = runs_disturbed + 1 end
end

local function clean_count(recs)
  local k = 0
  for _, rec in ipairs(recs or {}) do if not rec.disturbed then k = k + 1 end end
  return k
end

-- -> used records, disturbed mark
local function select_runs(recs, reps)
  recs = recs or {}
  local used = {}
  for _, rec in ipairs(recs) do if not rec.disturbed then used[#used + 1] = rec end end
  if #used >= min_clean(reps) or #used == #recs then return used, false end
  return recs, true
end

-- fig[key] = {v = median, sp = spread, used, made, disturbed, mark = "..."}
local function figures(runs, field, reps, filter)
  local t = {}
  for key, recs in pairs(runs) do
    local used, dist = select_runs(recs, reps)
    if filter then used = filter(used) end
    local vals = {}
    for _, rec in ipairs(used) do vals[#vals + 1] = rec[field] end
    t[key] = { v = median(vals), sp = spread(vals), used = #vals, made = #recs,
               clean = clean_count(recs), disturbed = dist }
  end
  return t
end

-- a figure made once (callgrind, heap): deterministic, never disturbed
local function single(v) return { v = v, used = v and 1 or 0, made = 1, clean = 1 } end

-- make up for disturbed runs, while the machine is mostly quiet (when
-- most runs are disturbed, more runs do not help) and the scenario has time
local function make_up(list, rows, reps, once, scen)
  if runs_disturbed * 2 > runs_made then return end
  for _, r in ipairs(rows) do
    local tries = 0
    while not unavailable[r.key] and clean_count(list[r.key]) < reps and tries < reps and not over(scen) do
      tries = tries + 1
      once(r, "extra " .. tries)
    end
  end
end

---------------------------------------------------------------- tables
-- what a table shows for a receiver this build cannot run
local function na(key)
  return unavailable[key]:match("^(%S+: unavailable)") or "not available"
end

local function cell(fig, kind, key)
  if unavailable[key] then return na(key) end
  if not fig or fig.v == nil then return "n/a" end
  return fmt(fig.v, kind) .. (fig.disturbed and " (disturbed)" or "")
end

-- a ratio, "~" in front when either figure is disturbed
local function rcell(a, b)
  if not a or not b or a.v == nil or b.v == nil then return "n/a" end
  return ((a.disturbed or b.disturbed) and "~" or "") .. ratio(a.v, b.v)
end

local function runs_cell(fig)
  if not fig then return "0" end
  return string.format("%d/%d", fig.used, fig.made) .. (fig.made > fig.clean
    and string.format(" (%d disturbed)", fig.made - fig.clean) or "")
end

-- rows = receivers; figs[key] = figure; extra = list of {title, fn(key) -> string}
local function metric_table(title, rows, figs, kind, better, extra, anchors, who)
  anchors = anchors or anchors_of(rows)
  out("")
  out("**" .. title .. "**" .. (better and (" (" .. better .. ")") or ""))
  out("")
  local head = { who or "receiver", "median", "spread", "runs used/made" }
  for _, e in ipairs(extra or {}) do head[#head + 1] = e[1] end
  for _, a in ipairs(anchors) do head[#head + 1] = "/ " .. a.anchor end
  out("| " .. table.concat(head, " | ") .. " |")
  local sep = {}
  for i = 1, #head do sep[i] = i == 1 and "---" or "---:" end
  out("|" .. table.concat(sep, "|") .. "|")
  for _, r in ipairs(rows) do
    local f = figs[r.key]
    local cells = { r.name, cell(f, kind, r.key), f and f.sp and string.format("%.0f%%", f.sp) or "-",
                    unavailable[r.key] and "-" or runs_cell(f) }
    for _, e in ipairs(extra or {}) do cells[#cells + 1] = e[2](r.key) end
    for _, a in ipairs(anchors) do
      cells[#cells + 1] = (a.key == r.key) and "1" or (unavailable[r.key] and "-" or rcell(f, figs[a.key]))
    end
    out("| " .. table.concat(cells, " | ") .. " |")
  end
end

---------------------------------------------------------------- scenario 1
-- Every run is classified:
--   disturbed  other load took more than 15 % of a CPU (and 30 ms) during
--              the run (/proc/stat busy time minus sender's and receiver's),
--              or datagrams were lost while the receiver was not busy
--   receiver   the receiver was busy all along (CPU >= 90 % of the send
--              period): the rate is the receiver's
--   sender     it kept up (loss < 0.5 %) with CPU to spare: the rate is
--              the sender's
-- Per receiver, the medians use the runs of the kind most of its used runs have.
local FOREIGN_MAX = 0.15
local FOREIGN_MIN_S = 0.03   -- /proc/stat counts in 10 ms ticks on 2 CPUs
local S1 = {}                -- S1[size] = {runs = {key = records}, rcvbuf = {...}}

local function s1_once(size, r, tag)
  say("scenario 1: %d B, %s, %s", size, tag, r.name)
  local res = run({ BIN .. "/udp_run", size, P.udp_secs, P.rcvbuf, "--", table.unpack(r.argv) },
                  r.env, P.udp_secs + 40)
  local x, s = res.result, res.sender
  log_run(string.format("s1 %dB %-8s %s", size, r.key, tag), res)
  if failed(res, r, string.format("scenario 1, %d B", size)) then return end
  if not s then
    failure("scenario 1: %s at %d B: no SENDER line (see %s)", r.name, size, LOG)
    return
  elseif x.err ~= 0 or x.recv < 1 or x.recv > s.sent then
    failure("scenario 1: %s at %d B: %d content errors, %d received of %d sent", r.name, size, x.err, x.recv, s.sent)
    return
  end
  S1[size].rcvbuf[r.key] = { s.rcvbuf, s.rcvbuf_end }
  local rec = {
    rate = x.recv / s.secs, loss = 100 * (s.sent - x.recv) / s.sent, cpu = x.cpu_ns / x.recv,
    sender = s.sent / s.secs, sat = x.cpu_ns / 1e9 / s.secs,
    foreign = ((s.busy or 0) - (s.own or 0)) / s.secs,
  }
  if rec.foreign > FOREIGN_MAX and rec.foreign * s.secs > FOREIGN_MIN_S then rec.disturbed = true
  elseif rec.sat >= 0.9 then rec.kind = "receiver"
  elseif rec.loss < 0.5 then rec.kind = "sender"
  else rec.disturbed = true end
  allruns[#allruns] = allruns[#allruns] .. string.format(" | %s cpu/period=%.2f other-load=%.2f",
    rec.disturbed and "disturbed" or rec.kind, rec.sat, rec.foreign)
  record(S1[size].runs, r.key, rec)
end

-- of the runs used, those of the kind most of them have
local function majority(used)
  local n = { receiver = 0, sender = 0 }
  for _, rec in ipairs(used) do if rec.kind then n[rec.kind] = n[rec.kind] + 1 end end
  local kind = n.sender > n.receiver and "sender" or n.receiver > 0 and "receiver" or nil
  if not kind then return used end
  local t = {}
  for _, rec in ipairs(used) do if rec.kind == kind then t[#t + 1] = rec end end
  return t
end

local function limited_by(recs)
  local used, dist = select_runs(recs, P.s1_reps)
  used = majority(used)
  return used[1] and used[1].kind or (dist and "disturbed") or "n/a"
end

local function scenario1()
  for _, size in ipairs(P.udp_sizes) do S1[size] = { runs = {}, rcvbuf = {} } end
  for rep = 1, P.s1_reps do
    for _, size in ipairs(P.udp_sizes) do
      for i = 0, #UDP - 1 do
        local r = UDP[(i + rep - 1) % #UDP + 1]     -- rotate the order per rep
        if unavailable[r.key] then goto next end
        if over("s1") then
          note("scenario 1: time budget reached, skipped %s %d B rep %d", r.key, size, rep)
        else
          s1_once(size, r, string.format("rep %d/%d", rep, P.s1_reps))
        end
        ::next::
      end
    end
  end
  for _, size in ipairs(P.udp_sizes) do
    make_up(S1[size].runs, UDP, P.s1_reps, function(r, tag) s1_once(size, r, tag) end, "s1")
  end
end

local function s1_figs(size)
  local runs = S1[size] and S1[size].runs or {}
  local f = {}
  for _, name in ipairs({ "rate", "loss", "cpu", "sender" }) do f[name] = figures(runs, name, P.s1_reps, majority) end
  return f
end

-- "SO_RCVBUF X for every receiver, unchanged at exit" or what differed
local function rcvbuf_line(seen)
  local vals, changed = {}, {}
  for key, v in pairs(seen) do
    vals[v[1]] = (vals[v[1]] or 0) + 1
    if v[2] and v[2] ~= v[1] then changed[#changed + 1] = key .. " " .. v[1] .. " -> " .. v[2] end
  end
  local list = {}
  for v in pairs(vals) do list[#list + 1] = commas(v) end
  table.sort(list)
  if #list == 1 and #changed == 0 then
    local _, any = next(seen)
    return "SO_RCVBUF as getsockopt reads it: " .. list[1] .. " B for every receiver"
      .. (any[2] and ", unchanged when each run ended" or "")
  end
  return "SO_RCVBUF NOT THE SAME for every receiver: " .. table.concat(list, ", ")
    .. (#changed > 0 and ("; changed by: " .. table.concat(changed, "; ")) or "")
end

local function report1()
  out("")
  out("## Scenario 1: UDP receive rate (sender on CPU 1, receiver on CPU 0, "
      .. P.udp_secs .. " s per run)")
  out("")
  out("Rate = datagrams received / sender's send period.  \"limited by\": *receiver* = the "
      .. "receiver was busy the whole period (its rate is its own); *sender* = it kept up "
      .. "(loss < 0.5 %) with CPU to spare, so its rate is the sender's (one sender CPU cannot "
      .. "outrun every receiver; compare those by CPU ns per datagram).  A run is *disturbed* when "
      .. "other load took more than 15 % of a CPU during it, or when it lost datagrams while its "
      .. "receiver was not busy.")
  for _, size in ipairs(P.udp_sizes) do
    local runs = S1[size].runs
    local f = s1_figs(size)
    out("")
    out(string.format("udp_run set SO_RCVBUFFORCE %d on the socket before exec; %s.", P.rcvbuf,
      rcvbuf_line(S1[size].rcvbuf)))
    local function medcol(t, kind)
      return function(k) return unavailable[k] and "-" or fmt(t[k] and t[k].v, kind) end
    end
    metric_table(size .. "-byte datagrams: received datagrams/s", UDP, f.rate, "int", "higher is better",
      { { "loss %", medcol(f.loss, "1") }, { "sender dgram/s", medcol(f.sender, "int") },
        { "limited by", function(k) return limited_by(runs[k]) end } })
    metric_table(size .. "-byte datagrams: receiver CPU ns per datagram", UDP, f.cpu, "int", "lower is better")
  end
end

---------------------------------------------------------------- scenario 2
local S2 = { runs = {}, rcvbuf = {} }

local function s2_once(r, tag)
  say("scenario 2: %s, %s", tag, r.name)
  local res = run({ BIN .. "/tcp_run", P.tcp_bytes, "--", table.unpack(r.argv) }, r.env, 90)
  local x, s = res.result, res.sender
  log_run(string.format("s2 %-8s %s", r.key, tag), res)
  if failed(res, r, "scenario 2") then return end
  if not s then
    failure("scenario 2: %s: no SENDER line (see %s)", r.name, LOG)
    return
  elseif x.err ~= 0 or x.bytes ~= P.tcp_bytes then
    failure("scenario 2: %s: %d content errors, %d of %d bytes", r.name, x.err, x.bytes, P.tcp_bytes)
    return
  end
  S2.rcvbuf[r.key] = { s.rcvbuf }
  local wall = x.wall_ns / 1e9
  local rec = {
    mbs = x.bytes / wall / 1e6, cpu = (x.cpu_ns / 1e9) / (x.bytes / 1e9),
    foreign = ((s.busy or 0) - (s.own or 0)) / wall,
  }
  rec.disturbed = rec.foreign > FOREIGN_MAX and rec.foreign * wall > FOREIGN_MIN_S
  allruns[#allruns] = allruns[#allruns] .. string.format(" | %s other-load=%.2f",
    rec.disturbed and "disturbed" or "clean", rec.foreign)
  record(S2.runs, r.key, rec)
end

local function scenario2()
  for rep = 1, P.tcp_reps do
    for i = 0, #TCP - 1 do
      local r = TCP[(i + rep - 1) % #TCP + 1]
      if unavailable[r.key] then goto next end
      if over("s2") then
        note("scenario 2: time budget reached, skipped %s rep %d", r.key, rep)
      else
        s2_once(r, string.format("rep %d/%d", rep, P.tcp_reps))
      end
      ::next::
    end
  end
  make_up(S2.runs, TCP, P.tcp_reps, s2_once, "s2")
end

local function report2()
  out("")
  out(string.format("## Scenario 2: TCP stream receive, 64 KiB reads, %d MiB per run", P.tcp_bytes >> 20))
  out("")
  out("The raw C column is the blocking read() loop.  " .. rcvbuf_line(S2.rcvbuf)
      .. " (at the start: TCP's buffer is not locked, the kernel tunes it during the run for every "
      .. "receiver alike).  A run is *disturbed* when other load took more than 15 % of a CPU during it.")
  local mbs, cpu = figures(S2.runs, "mbs", P.tcp_reps), figures(S2.runs, "cpu", P.tcp_reps)
  metric_table("throughput MB/s (receiver's READY to end of stream)", TCP, mbs, "int", "higher is better")
  metric_table("receiver CPU s/GB", TCP, cpu, "3", "lower is better")
  return mbs, cpu
end

---------------------------------------------------------------- scenario 3
local S3 = { instr = {}, wallruns = {}, rcvbuf = {} }

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

-- user-space instructions of the receiver draining n datagrams (over
-- nsock sockets when given), or nil
local function callgrind_once(r, n, nsock, what)
  local file = string.format("%s/callgrind.%s.%d.%d.out", BIN, r.key, n, nsock or 0)
  os.remove(file)
  local argv = { BIN .. "/queue_exec", n, P.drain_size }
  if nsock then argv[#argv + 1] = nsock end
  argv[#argv + 1] = "--"
  for _, a in ipairs({ "valgrind", "--tool=callgrind", "--callgrind-out-file=" .. file, table.unpack(r.argv) }) do
    argv[#argv + 1] = a
  end
  local res = run(argv, r.env, 150)
  local x = res.result
  log_run(string.format("%s callgrind %-8s N=%d", what, r.key, n), res)
  local total
  if failed(res, r, what .. " callgrind N=" .. n) then
    total = nil
  elseif x.recv ~= n or x.err ~= 0 then
    failure("%s: callgrind of %s N=%d: received %d, %d content errors", what, r.name, n, x.recv, x.err)
  else
    total = callgrind_total(file)
    if not total then failure("%s: no totals in %s", what, file) end
  end
  os.remove(file)
  return total, res
end

local function scenario3_instr()
  for _, r in ipairs(UDP3) do
    if unavailable[r.key] then goto next end
    if over("s3i") then note("scenario 3: time budget reached, skipped callgrind of %s", r.key) goto next end
    do
      local totals = {}
      for _, n in ipairs({ P.n1, P.n2 }) do
        say("scenario 3: callgrind, %s, N=%d", r.name, n)
        local res
        totals[n], res = callgrind_once(r, n, nil, "scenario 3")
        if res.queue then S3.rcvbuf[n] = res.queue.rcvbuf end
      end
      if totals[P.n1] and totals[P.n2] then
        S3.instr[r.key] = single((totals[P.n2] - totals[P.n1]) / (P.n2 - P.n1))
      end
    end
    ::next::
  end
end

-- A drain never waits (everything is queued), so its wall time is its CPU
-- time unless something else took the CPU: a run whose wall time exceeds
-- its CPU time by more than 5 % is disturbed.
local function s3_wall_once(r, tag)
  say("scenario 3: wall, %s, %s, N=%d", tag, r.name, P.n_wall)
  local res = run({ "taskset", "-c", "0", BIN .. "/queue_exec", P.n_wall, P.drain_size, "--",
                    table.unpack(r.argv) }, r.env, 90)
  local x = res.result
  log_run(string.format("s3 wall %-8s %s", r.key, tag), res)
  if failed(res, r, "scenario 3 wall") then return end
  if x.recv ~= P.n_wall or x.err ~= 0 then
    failure("scenario 3: %s N=%d: received %d, %d content errors", r.name, P.n_wall, x.recv, x.err)
    return
  end
  if res.queue then S3.rcvbuf[P.n_wall] = res.queue.rcvbuf end
  local rec = { wall = x.wall_ns / x.recv }
  rec.disturbed = (x.wall_ns - x.cpu_ns) > 0.05 * x.wall_ns
  allruns[#allruns] = allruns[#allruns] .. (rec.disturbed and " | disturbed" or " | clean")
  record(S3.wallruns, r.key, rec)
end

local function scenario3_wall()
  for rep = 1, P.reps do
    for i = 0, #UDP - 1 do
      local r = UDP[(i + rep - 1) % #UDP + 1]
      if unavailable[r.key] then goto next end
      if over("s3w") then
        note("scenario 3: time budget reached, skipped wall run %s rep %d", r.key, rep)
      else
        s3_wall_once(r, string.format("rep %d/%d", rep, P.reps))
      end
      ::next::
    end
  end
  make_up(S3.wallruns, UDP, P.reps, s3_wall_once, "s3w")
end

local function queue_rcvbuf_line(t)
  local ns, parts = {}, {}
  for n in pairs(t) do ns[#ns + 1] = n end
  table.sort(ns)
  for _, n in ipairs(ns) do parts[#parts + 1] = string.format("N=%d: %s B", n, commas(t[n])) end
  return "queue_exec sized SO_RCVBUF to hold N datagrams, the same for every receiver at a given N ("
    .. table.concat(parts, ", ") .. ")"
end

local function report3()
  out("")
  out(string.format("## Scenario 3: per-datagram cost, draining %d-byte datagrams queued in advance", P.drain_size))
  out("")
  out("Instructions: user space only, receiver process only, startup cancelled by the difference of two "
      .. "counts.  Wall: pinned to CPU 0; the drain never waits, so a run whose wall time exceeds its CPU "
      .. "time by more than 5 % was *disturbed* by other load.  " .. queue_rcvbuf_line(S3.rcvbuf) .. ".")
  metric_table(string.format("user-space instructions per datagram (callgrind, (I(%d)-I(%d))/%d)",
    P.n2, P.n1, P.n2 - P.n1), UDP3, S3.instr, "int", "lower is better", nil, anchors_of(UDP))
  out("")
  out("The floor row runs the WSARecv receiver script unchanged against a stub module whose WSARecv "
      .. "and buf:byte do nothing and whose SleepEx only lua_pcall()s the routines: what the "
      .. "interpreter alone costs for that routine (the pcall into Lua, the routine's own code, its two "
      .. "calls into C).  No C module can take the routine path below it.")
  S3.wall = figures(S3.wallruns, "wall", P.reps)
  metric_table(string.format("wall ns per datagram (N=%d, pinned to CPU 0)", P.n_wall), UDP, S3.wall, "int",
    "lower is better")
end

---------------------------------------------------------------- scenario 4
local S4 = { heap = {} }

local function scenario4()
  for _, r in ipairs(UDP) do
    if not r.lua or unavailable[r.key] then goto next end
    if over("s4") then note("scenario 4: time budget reached, skipped %s", r.key) goto next end
    say("scenario 4: heap, %s, N=%d", r.name, P.n_heap)
    do
      local env = { WR_HEAP = "1" }
      for k, v in pairs(r.env or {}) do env[k] = v end
      local res = run({ "taskset", "-c", "0", BIN .. "/queue_exec", P.n_heap, P.drain_size, "--",
                        table.unpack(r.argv) }, env, 90)
      local x = res.result
      log_run(string.format("s4 heap %-8s", r.key), res)
      if failed(res, r, "scenario 4") then
        goto next
      elseif not x.heap_bytes or x.recv ~= P.n_heap or x.err ~= 0 then
        failure("scenario 4: %s: received %d, %d content errors", r.name, x.recv, x.err)
      else
        S4.heap[r.key] = single(x.heap_bytes / x.heap_n)
        S4.heap[r.key].total = x.heap_bytes
      end
    end
    ::next::
  end
end

local function report4()
  out("")
  out(string.format("## Scenario 4: Lua heap growth per datagram, collector stopped "
    .. "(N=%d, steady state = datagrams %d..%d)",
    P.n_heap, P.n_heap // 10 + 1, P.n_heap))
  local rows = {}
  for _, r in ipairs(UDP) do if r.lua then rows[#rows + 1] = r end end
  metric_table("Lua heap bytes per datagram", rows, S4.heap, "2", "lower is better",
    { { "bytes in window", function(k) return S4.heap[k] and commas(S4.heap[k].total) or "n/a" end } })
end

---------------------------------------------------------------- scenario 5
-- S sockets, P.scale_ops operations posted on each, N datagrams spread over
-- them (seq on socket seq % S).  Per datagram: instructions (callgrind,
-- difference of two N) and wall ns over the steady-state window (datagrams
-- N/10+1..N, after every operation was posted); memory per socket and per
-- posted operation from the receiver's RSS and Lua heap during setup.
local S5 = { instr = {}, runs = {}, mem = {}, rcvbuf = {} }

local function s5_key(r, s) return r.key .. "@" .. s end

local function scenario5()
  local sizes = P.scale_socks
  for _, s in ipairs(sizes) do
    for _, r in ipairs(SCALE) do
      if unavailable[r.key] then goto next end
      if over("s5") then note("scenario 5: time budget reached, skipped callgrind of %s at %d sockets", r.key, s)
        goto next end
      do
        say("scenario 5: callgrind, %s, %d sockets", r.name, s)
        local t1 = callgrind_once(r, P.scale_n1, s, "scenario 5")
        local t2 = t1 and callgrind_once(r, P.scale_n2, s, "scenario 5")
        if t1 and t2 then S5.instr[s5_key(r, s)] = single((t2 - t1) / (P.scale_n2 - P.scale_n1)) end
      end
      ::next::
    end
  end
  for rep = 1, P.scale_reps do
    for _, s in ipairs(sizes) do
      for _, r in ipairs(SCALE) do
        if unavailable[r.key] then goto next end
        if over("s5") then note("scenario 5: time budget reached, skipped wall run %s at %d sockets rep %d",
          r.key, s, rep) goto next end
        say("scenario 5: wall, rep %d/%d, %s, %d sockets", rep, P.scale_reps, r.name, s)
        do
          local res = run({ "taskset", "-c", "0", BIN .. "/queue_exec", P.scale_wall, P.drain_size, s, "--",
                            table.unpack(r.argv) }, r.env, 90)
          local x = res.result
          log_run(string.format("s5 wall %-5s S=%d rep %d", r.key, s, rep), res)
          if failed(res, r, "scenario 5 wall") then goto next end
          if x.recv ~= P.scale_wall or x.err ~= 0 or not x.win_ns then
            failure("scenario 5: %s at %d sockets: received %d, %d content errors", r.name, s, x.recv, x.err)
            goto next
          end
          if res.queue then S5.rcvbuf[s] = res.queue.rcvbuf end
          local rec = { wall = x.win_ns / x.win_n, mem_sock = x.mem_sock, mem_op = x.mem_op, heap_op = x.heap_op }
          rec.disturbed = (x.wall_ns - x.cpu_ns) > 0.05 * x.wall_ns
          allruns[#allruns] = allruns[#allruns] .. (rec.disturbed and " | disturbed" or " | clean")
          record(S5.runs, s5_key(r, s), rec)
        end
        ::next::
      end
    end
  end
end

local function report5()
  out("")
  out(string.format("## Scenario 5: scale, S sockets with %d operations posted on each, %d-byte datagrams "
    .. "spread over them", P.scale_ops, P.drain_size))
  out("")
  out(string.format("queue_exec binds S sockets on consecutive descriptors (RLIMIT_NOFILE raised to its hard "
    .. "limit when needed), queues N datagrams, datagram seq on socket seq %% S, and execs the receiver, "
    .. "which checks each socket's sequence.  Instructions: (I(%d)-I(%d))/%d under callgrind.  Wall: ns per "
    .. "datagram over datagrams N/10+1..N (every operation posted by then), N=%d, pinned to CPU 0, median "
    .. "of %d; *disturbed* when the run's wall time exceeds its CPU time by 5 %%.  Memory: the receiver's "
    .. "RSS growth while it wraps the sockets (per socket) and while it makes and posts the operations (per "
    .. "operation: overlapped object, 2 KiB buffer, routine, the posted operation), and the Lua heap's "
    .. "share of the latter; from the first wall run (page-granular: meaningless at 1 socket).  "
    .. "SO_RCVBUF per socket, sized to hold its share: %s.",
    P.scale_n2, P.scale_n1, P.scale_n2 - P.scale_n1, P.scale_wall, P.scale_reps,
    (function()
      local parts = {}
      for _, s in ipairs(P.scale_socks) do
        if S5.rcvbuf[s] then parts[#parts + 1] = string.format("S=%d: %s B", s, commas(S5.rcvbuf[s])) end
      end
      return #parts > 0 and table.concat(parts, ", ") or "n/a"
    end)()))
  out("")
  out("| receiver | sockets | instructions/datagram | / at 1 socket | wall ns/datagram | runs used/made "
    .. "| / at 1 socket | RSS B/socket | RSS B/operation | Lua heap B/operation |")
  out("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
  local wall = figures(S5.runs, "wall", P.scale_reps)
  for _, r in ipairs(SCALE) do
    local i1, w1 = S5.instr[s5_key(r, 1)], wall[s5_key(r, 1)]
    for _, s in ipairs(P.scale_socks) do
      local k = s5_key(r, s)
      local first = (S5.runs[k] or {})[1] or {}
      if unavailable[r.key] then
        out(string.format("| %s | %s | not available | | | | | | | |", r.name, commas(s)))
      else
        out(string.format("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |", r.name, commas(s),
          cell(S5.instr[k], "int", r.key), rcell(S5.instr[k], i1), cell(wall[k], "int", r.key), runs_cell(wall[k]),
          rcell(wall[k], w1), fmt(first.mem_sock, "int"), fmt(first.mem_op, "int"), fmt(first.heap_op, "int")))
      end
    end
  end
  return wall
end

---------------------------------------------------------------- scenario 8
-- Live traffic: live_run sends at a paced rate (P.live_rates, 0 = as fast
-- as it can with sendmmsg) for a bounded time while the receiver keeps its
-- receives posted (the routines and the port with ov.rearm: 64) and
-- reposts them.  Per run: the receiver process's user+sys CPU per datagram
-- received (its RESULT line: getrusage in C, os.clock() in Lua, from
-- before it posts to the end marker) and the loss.  A run is disturbed when
-- other load took more than 15 % of a CPU (as in scenario 1).
local S8 = {}                -- S8[rate] = {runs = {key = records}, rcvbuf = {...}}

local function rate_name(rate)
  return rate > 0 and (commas(rate) .. " datagrams/s") or "maximum rate (sendmmsg x64)"
end

local function s8_once(rate, r, tag)
  local secs = rate > 0 and P.live_secs or P.live_max_secs
  say("scenario 8: %s, %s, %s", rate_name(rate), tag, r.name)
  local res = run({ BIN .. "/live_run", rate, secs, P.drain_size, P.live_rcvbuf, P.live_batch, "--",
                    table.unpack(r.argv) }, r.env, secs + 40)
  local x, s = res.result, res.sender
  log_run(string.format("s8 %-7s %-10s %s", rate > 0 and tostring(rate) or "max", r.key, tag), res)
  if failed(res, r, "scenario 8, " .. rate_name(rate)) then return end
  if not s then
    failure("scenario 8: %s at %s: no SENDER line (see %s)", r.name, rate_name(rate), LOG)
    return
  elseif x.err ~= 0 or x.recv < 1 or x.recv > s.sent then
    failure("scenario 8: %s at %s: %d content errors, %d received of %d sent", r.name, rate_name(rate),
      x.err, x.recv, s.sent)
    return
  end
  S8[rate].rcvbuf[r.key] = { s.rcvbuf, s.rcvbuf_end }
  local rec = { cpu = x.cpu_ns / x.recv, loss = 100 * (s.sent - x.recv) / s.sent, rusage = s.rusage_ns / x.recv,
                sent = s.sent / s.secs, foreign = ((s.busy or 0) - (s.own or 0)) / s.secs }
  rec.disturbed = rec.foreign > FOREIGN_MAX and rec.foreign * s.secs > FOREIGN_MIN_S
  allruns[#allruns] = allruns[#allruns] .. string.format(" | %s other-load=%.2f",
    rec.disturbed and "disturbed" or "clean", rec.foreign)
  record(S8[rate].runs, r.key, rec)
end

local function scenario8()
  for _, rate in ipairs(P.live_rates) do S8[rate] = { runs = {}, rcvbuf = {} } end
  for rep = 1, P.live_reps do
    for _, rate in ipairs(P.live_rates) do
      for i = 0, #LIVE - 1 do
        local r = LIVE[(i + rep - 1) % #LIVE + 1]
        if unavailable[r.key] then goto next end
        if over("s8") then
          note("scenario 8: time budget reached, skipped %s at %s rep %d", r.key, rate_name(rate), rep)
        else
          s8_once(rate, r, string.format("rep %d/%d", rep, P.live_reps))
        end
        ::next::
      end
    end
  end
end

local function s8_figs(rate)
  local runs = S8[rate] and S8[rate].runs or {}
  local f = {}
  for _, name in ipairs({ "cpu", "loss", "rusage", "sent" }) do f[name] = figures(runs, name, P.live_reps) end
  return f
end

local function report8()
  out("")
  out(string.format("## Scenario 8: live traffic, %d-byte datagrams (sender on CPU 1, receiver on CPU 0)",
    P.drain_size))
  out("")
  out(string.format("`live_run RATE SECONDS %d %d %d` makes the socket (SO_RCVBUFFORCE %d, the kernel's default "
    .. "size, for every receiver), starts the receiver, and sends: paced, %d datagram(s) per send() on an "
    .. "absolute CLOCK_MONOTONIC schedule (a busy wait), for %s s; or as fast as it can, sendmmsg() batches of "
    .. "64, for %s s.  The receivers keep their receives posted: the C recvmmsg loop (batch 64, blocking), luv "
    .. "recv_start, wsarecv's 64 WSARecv reposted from their routines, and 64 WSARecv on a port marked "
    .. "ov.rearm.  CPU ns per datagram: the receiver process's user+sys CPU (getrusage in C, os.clock() in Lua) "
    .. "from before it posts its receives to the end marker, over the datagrams it received.  Loss: (sent - "
    .. "received) / sent.  %d run(s) per receiver and rate, interleaved; *disturbed*: other load took more "
    .. "than 15 %% of a CPU.", P.drain_size, P.live_rcvbuf, P.live_batch, P.live_rcvbuf, P.live_batch,
    tostring(P.live_secs), tostring(P.live_max_secs), P.live_reps))
  for _, rate in ipairs(P.live_rates) do
    local f = s8_figs(rate)
    local function medcol(t, kind)
      return function(k) return unavailable[k] and "-" or fmt(t[k] and t[k].v, kind) end
    end
    out("")
    local seen = S8[rate] and S8[rate].rcvbuf or {}
    out(string.format("%s: %s.", rate_name(rate), next(seen) and rcvbuf_line(seen) or "no run"))
    metric_table(string.format("%s: receiver CPU ns per datagram", rate_name(rate)), LIVE, f.cpu, "int",
      "lower is better", { { "loss %", medcol(f.loss, "2") }, { "sent/s", medcol(f.sent, "int") },
        { "whole process ns/datagram (wait4)", medcol(f.rusage, "int") } })
  end
end

---------------------------------------------------------------- headline
-- every receiver under test against every anchor, one row per measurement
local function headline(m, cols, title, intro, who)
  out("")
  out(title or "## Headline: every wsarecv receiver against every anchor, this run")
  out("")
  out(intro or ("Ratio = wsarecv receiver / anchor (for rates, higher is better; for costs, lower).  The anchors' "
      .. "own medians are on the first row of each measurement.  `(disturbed)` marks a figure with too few "
      .. "clean runs, taken from all its runs; `~` a ratio that uses one.  TCP: the raw C column is the "
      .. "blocking read() loop.  Details and every receiver's runs in the sections below."))
  cols = cols or anchors_of(UDP)
  out("")
  local head = { "measurement", who or "receiver", "value" }
  for _, a in ipairs(cols) do head[#head + 1] = "/ " .. a.anchor end
  out("| " .. table.concat(head, " | ") .. " |")
  local sep = {}
  for i = 1, #head do sep[i] = i <= 2 and "---" or "---:" end
  out("|" .. table.concat(sep, "|") .. "|")
  for _, row in ipairs(m) do
    local figs = row.figs
    local cells = { row.title, "anchors' medians", "" }
    for _, a in ipairs(cols) do
      cells[#cells + 1] = row.anchors[a.key] and cell(figs[a.key], row.kind, a.key) or "-"
    end
    out("| " .. table.concat(cells, " | ") .. " |")
    for _, r in ipairs(row.rows) do
      cells = { "", r.name, cell(figs[r.key], row.kind, r.key) }
      for _, a in ipairs(cols) do
        cells[#cells + 1] = (row.anchors[a.key] and not unavailable[r.key]) and rcell(figs[r.key], figs[a.key]) or "-"
      end
      out("| " .. table.concat(cells, " | ") .. " |")
    end
  end
end

local function lua_anchors()
  local t = {}
  for _, r in ipairs(UDP) do if r.anchor and r.lua then t[r.key] = true end end
  return t
end
local function all_anchors(rows)
  local t = {}
  for _, r in ipairs(rows) do if r.anchor then t[r.key] = true end end
  return t
end

---------------------------------------------------------------- targets
local function v(fig) return fig and fig.v end
local function dmark(...)
  for _, f in ipairs({ ... }) do if f and f.disturbed then return "from a disturbed figure" end end
end

-- the standing targets, for the rows of engine e (key suffix sfx)
local function engine_targets(s1f, s2cpu, e, sfx)
  local s3i, s3w, s4 = S3.instr, S3.wall, S4.heap
  local function k(key) return key .. sfx end
  local function gone(key) return unavailable[k(key)] end
  local eng = "[" .. e .. "] "
  -- the standing targets of the routine path
  for _, w in ipairs({ { "wsa", "WSARecv" }, { "wsamsg", "WSARecvMsg" } }) do
    local why = gone(w[1])
    local rate = s1f[64] and s1f[64].rate or {}
    local a, luv, uv = rate[k(w[1])], rate.luv, rate.uv
    target(string.format("%sS1 %s 64 B rate >= 2x luv", eng, w[2]),
      v(a) and v(luv) and string.format("%s/s = %.2fx luv's %s/s", commas(v(a)), v(a) / v(luv), commas(v(luv))),
      "2.00x", check(v(a), v(luv), function(x, y) return x >= 2 * y end), why or dmark(a, luv))
    target(string.format("%sS1 %s 64 B rate >= C libuv (uv_udp_recv_start)", eng, w[2]),
      v(a) and v(uv) and string.format("%s/s = %.2fx C libuv's %s/s", commas(v(a)), v(a) / v(uv), commas(v(uv))),
      "1.00x", check(v(a), v(uv), function(x, y) return x >= y end), why or dmark(a, uv))
    local ins, fl = v(s3i[k(w[1])]), v(s3i.floor)
    target(string.format("%sS3 %s instructions/datagram <= 600", eng, w[2]),
      ins and (commas(ins) .. (fl and string.format(" (the routine's Lua floor alone is %s)", commas(fl)) or "")),
      "600", check(ins, 600, function(x, y) return x <= y end), why)
    local wv, raw, uv3 = s3w[k(w[1])], s3w.raw, s3w.uv
    target(string.format("%sS3 %s wall ns/datagram <= 1.25x raw recvmmsg", eng, w[2]),
      v(wv) and v(raw) and string.format("%.0f ns = %.2fx raw's %.0f ns", v(wv), v(wv) / v(raw), v(raw)),
      "1.25x", check(v(wv), v(raw), function(x, y) return x <= 1.25 * y end), why or dmark(wv, raw))
    target(string.format("%sS3 %s wall ns/datagram <= C libuv (uv_udp_recv_start)", eng, w[2]),
      v(wv) and v(uv3) and string.format("%.0f ns = %.2fx C libuv's %.0f ns", v(wv), v(wv) / v(uv3), v(uv3)),
      "1.00x", check(v(wv), v(uv3), function(x, y) return x <= y end), why or dmark(wv, uv3))
    local h = s4[k(w[1])]
    target(string.format("%sS4 %s Lua heap per datagram = 0", eng, w[2]),
      h and string.format("%.3f B/datagram, %s B over %d datagrams", h.v, commas(h.total), P.n_heap - P.n_heap // 10),
      "0 B", check(h and h.total, 0, function(x, y) return x == y end), why)
  end
  local c, raw = s2cpu[k("wsa")], s2cpu.raw
  target(eng .. "S2 WSARecv (routines) CPU s/GB <= 1.15x C read()",
    v(c) and v(raw) and string.format("%.3f s/GB = %.2fx C read()'s %.3f", v(c), v(c) / v(raw), v(raw)),
    "1.15x", check(v(c), v(raw), function(x, y) return x <= 1.15 * y end), gone("wsa") or dmark(c, raw))
  -- issue 10: the completion port
  local why = gone("port")
  local pi = v(s3i[k("port")])
  local wi = v(s3i[k("wsa")])
  target(eng .. "S3 port instructions/datagram <= 1,200 (stretch 600)",
    pi and string.format("%s; %s the routine path's %s", commas(pi),
      wi and string.format("%.2fx", wi / pi) or "n/a x", wi and commas(wi) or "n/a"),
    "1,200", check(pi, 1200, function(x, y) return x <= y end), why)
  local ph = s4[k("port")]
  target(eng .. "S4 port Lua heap per datagram = 0", ph and string.format("%.3f B/datagram", ph.v), "0 B",
    check(ph and ph.total, 0, function(x, y) return x == y end), why)
  local pw, rw = s3w[k("port")], s3w.raw
  target(eng .. "S3 port drain wall ns/datagram <= 1.15x raw recvmmsg",
    v(pw) and v(rw) and string.format("%.0f ns = %.2fx raw's %.0f ns", v(pw), v(pw) / v(rw), v(rw)),
    "1.15x", check(v(pw), v(rw), function(x, y) return x <= 1.15 * y end), why or dmark(pw, rw))
  local pc = s2cpu[k("port")]
  target(eng .. "S2 port CPU s/GB <= 1.15x C read()",
    v(pc) and v(raw) and string.format("%.3f s/GB = %.2fx C read()'s %.3f", v(pc), v(pc) / v(raw), v(raw)),
    "1.15x", check(v(pc), v(raw), function(x, y) return x <= 1.15 * y end), why or dmark(pc, raw))
end

-- issue 17: the io_uring engine against the poll engine and recvmmsg
local function io_uring_targets(s8f)
  local s3w = S3.wall
  local down = ENGINE_WHY.io_uring and ("io_uring: unavailable (" .. ENGINE_WHY.io_uring .. ")")
    or ENGINE_WHY.poll and ("poll: unavailable (" .. ENGINE_WHY.poll .. ")")
  local function cmp(desc, a, b, unit, fmt_, limit, factor, extra)
    local why = down or unavailable[a.key] or unavailable[b.key]
    local va, vb = v(a.fig), v(b.fig)
    target("io_uring " .. desc,
      va and vb and string.format("%s %s = %s %s's %s %s", string.format(fmt_, va), unit,
        vb ~= 0 and string.format("%.2fx", va / vb) or "n/a x", b.who, string.format(fmt_, vb), unit),
      limit, check(va, vb, function(x, y) return x <= factor * y end), why or extra or dmark(a.fig, b.fig))
  end
  local function s3(key) return { key = key, fig = s3w[key] } end
  cmp("port drain wall ns/datagram (S3) <= poll's", s3("port_uring"),
    { key = "port", fig = s3w.port, who = "poll" }, "ns", "%.0f", "1.00x", 1)
  cmp("port drain wall ns/datagram (S3) <= 1.15x raw recvmmsg", s3("port_uring"),
    { key = "raw", fig = s3w.raw, who = "recvmmsg" }, "ns", "%.0f", "1.15x", 1.15)
  for _, w in ipairs({ { "wsa", "routines" }, { "port", "port" } }) do
    cmp(string.format("%s CPU ns/datagram in the drain (S3, wall = CPU) <= poll's", w[2]), s3(w[1] .. "_uring"),
      { key = w[1], fig = s3w[w[1]], who = "poll" }, "ns", "%.0f", "1.00x", 1)
    for _, rate in ipairs(P.live_rates) do
      local f = s8f[rate]
      if f then
        local ua, pa = f.cpu[w[1] .. "_uring"], f.cpu[w[1]]
        if rate > 0 then
          cmp(string.format("%s CPU ns/datagram, live %s (S8) <= poll's", w[2], rate_name(rate)),
            { key = w[1] .. "_uring", fig = ua }, { key = w[1], fig = pa, who = "poll" }, "ns", "%.0f", "1.00x", 1)
        else
          cmp(string.format("%s loss %% at the maximum rate (S8) <= poll's", w[2]),
            { key = w[1] .. "_uring", fig = f.loss[w[1] .. "_uring"] },
            { key = w[1], fig = f.loss[w[1]], who = "poll" }, "%", "%.2f", "1.00x", 1)
        end
      end
    end
  end
end

local function all_targets(s1f, s2cpu, s8f)
  if not want("recv") then
    if #ENGINES == 2 then io_uring_targets(s8f or {}) end
    return
  end
  for _, e in ipairs(ENGINES) do engine_targets(s1f, s2cpu, e, e == "poll" and "" or "_uring") end
  for _, r in ipairs(SCALE) do
    local why = unavailable[r.key] and ("the port receiver: " .. unavailable[r.key]) or nil
    local lo, hi, n = math.huge, 0, 0
    for _, s in ipairs(P.scale_socks) do
      local f = S5.instr[s5_key(r, s)]
      if f and f.v then lo = math.min(lo, f.v); hi = math.max(hi, f.v); n = n + 1 end
    end
    local all = n == #P.scale_socks
    target(string.format("[poll] S5 %s instructions/datagram flat (max/min <= 1.20) from 1 to %s sockets",
      r.key == "port" and "port" or "WSARecv (routines, for information)", commas(P.scale_socks[#P.scale_socks])),
      all and string.format("%s..%s = %.2f", commas(lo), commas(hi), hi / lo) or nil, "1.20",
      all and check(hi / lo, 1.2, function(x, y) return x <= y end) or nil,
      r.key == "port" and why or nil)
  end
  if #ENGINES == 2 then io_uring_targets(s8f or {}) end
end

---------------------------------------------------------------- scenarios 6 and 7: sends
-- send_run makes the sockets, execs the sender pinned to CPU 0 and checks
-- what arrived (bench/c/send_run.c).  UDP: nothing receives during the run
-- (the receiving socket's buffer holds all N datagrams; it is drained and
-- every datagram checked afterwards), so the sender's CPU is its own and the
-- kernel's, and a run never waits: like scenario 3's drains, a run whose
-- wall time exceeds its CPU time by more than 5 % was preempted (disturbed).
-- TCP: a C reader thread on CPU 1 checks every byte; a run is disturbed
-- when other load took more than 15 % of a CPU, as in scenario 2.
local function send_lua(file, ...) return { LUA, BENCH .. "/lua/" .. file, ... } end
local SEND = {
  { key = "s_sendto", name = "C sendto()", anchor = "C sendto", argv = { BIN .. "/c_send" },
    env = { WR_SENDER = "sendto" } },
  { key = "s_mmsg", name = "C sendmmsg() batch 64", anchor = "C sendmmsg", argv = { BIN .. "/c_send" },
    env = { WR_SENDER = "sendmmsg" } },
  { key = "s_gso", name = "C sendmsg() UDP_SEGMENT (GSO) 64 x 64 B", anchor = "C GSO", argv = { BIN .. "/c_send" },
    env = { WR_SENDER = "gso" } },
  { key = "s_luv", name = "luv udp:send x" .. P.send_ops .. ", callbacks resend", anchor = "luv send", lua = true,
    argv = send_lua("send_luv.lua", "send", P.send_ops) },
  { key = "s_luvtry", name = "luv udp:try_send loop", anchor = "luv try_send", lua = true,
    argv = send_lua("send_luv.lua", "try_send") },
  { key = "s_socket", name = "LuaSocket udp:sendto() loop", anchor = "LuaSocket", lua = true,
    argv = send_lua("send_socket.lua") },
  { key = "s_wsa", name = "wsarecv WSASendTo x" .. P.send_ops .. ", routines", wsa = true, lua = true, probe = true,
    argv = send_lua("send_wsarecv.lua", "WSASendTo", P.send_ops) },
  { key = "s_port", name = string.format("wsarecv WSASendTo x%d, port, GQCSEx batch %d, columns, ov.rearm",
      P.send_ops, P.port_batch), wsa = true, lua = true, probe = true,
    argv = send_lua("send_wsarecv.lua", "port", P.send_ops, P.port_batch) },
  { key = "s_portrepost", name = string.format("wsarecv WSASendTo x%d, port, GQCSEx batch %d, columns, "
      .. "sock:WSASendTo repost", P.send_ops, P.port_batch), wsa = true, lua = true, probe = true,
    argv = send_lua("send_wsarecv.lua", "port-repost", P.send_ops, P.port_batch) },
}
-- the TCP port sender reposts with sock:WSASend: ov.rearm on a stream send
-- that the kernel took in parts reposts what the partial writes left of
-- its WSABUFs, and spins (see bench/README.md)
local TCPSEND = {
  { key = "t_write", name = "C write() 64 KiB, blocking", anchor = "C write()", argv = { BIN .. "/c_send" },
    env = { WR_SENDER = "write" } },
  { key = "t_writepoll", name = "C write() 64 KiB, nonblocking + poll()", anchor = "C write+poll",
    argv = { BIN .. "/c_send" }, env = { WR_SENDER = "writepoll" } },
  { key = "t_luv", name = "luv tcp:write " .. P.tcp_send_ops .. " x 64 KiB, callbacks resend", anchor = "luv",
    argv = send_lua("send_luv.lua", "write", P.tcp_send_ops) },
  { key = "t_wsa", name = "wsarecv WSASend " .. P.tcp_send_ops .. " x 64 KiB, routines", wsa = true, probe = true,
    argv = send_lua("send_wsarecv.lua", "WSASend", P.tcp_send_ops) },
  { key = "t_portrepost", name = "wsarecv WSASend " .. P.tcp_send_ops .. " x 64 KiB, port, sock:WSASend repost",
    wsa = true, probe = true, argv = send_lua("send_wsarecv.lua", "port-repost", P.tcp_send_ops, P.port_batch) },
}

local S6 = { instr = {}, heap = {}, runs = {}, sink = {} }
local S7 = { runs = {}, sink = {} }

-- did a send run fail?  (sent, arrived and checked: all of them; want_sent
-- nil: a stream, whose sender's bytes must be want_recv)
local function send_failed(res, r, what, want_sent, want_recv)
  if failed(res, r, what) then return true end
  local x, k = res.result, res.sink
  if not k then
    failure("%s: %s: no SINK line (see %s)", what, r.name, LOG)
    return true
  end
  if (want_sent and x.sent ~= want_sent or x.bytes ~= (want_sent and x.bytes or want_recv))
      or x.err ~= 0 or k.recv ~= want_recv or k.bad ~= 0 or (k.drops or 0) > 0 then
    failure("%s: %s: sent %s of %s (%s failed calls), %s arrived of %s, %s wrong, %s dropped", what, r.name,
      tostring(want_sent and x.sent or x.bytes), want_sent or want_recv, tostring(x.err), tostring(k.recv),
      want_recv, tostring(k.bad), tostring(k.drops))
    return true
  end
  return false
end

local function s6_argv(r, n, pre)
  local argv = { BIN .. "/send_run", "udp", n, P.send_size, "--" }
  for _, a in ipairs(pre or {}) do argv[#argv + 1] = a end
  for _, a in ipairs(r.argv) do argv[#argv + 1] = a end
  return argv
end

local function scenario6_heap()
  for _, r in ipairs(SEND) do
    if not r.lua or unavailable[r.key] then goto next end
    if over("s6h") then note("scenario 6: time budget reached, skipped the heap run of %s", r.key) goto next end
    say("scenario 6: heap, %s, N=%d", r.name, P.send_heap_n)
    do
      local env = { WR_HEAP = "1" }
      for k, x in pairs(r.env or {}) do env[k] = x end
      local res = run(s6_argv(r, P.send_heap_n), env, 90)
      log_run(string.format("s6 heap %-12s", r.key), res)
      if not send_failed(res, r, "scenario 6 heap", P.send_heap_n, P.send_heap_n) then
        if not res.result.heap_bytes then
          failure("scenario 6: %s printed no heap figure", r.name)
        else
          S6.heap[r.key] = single(res.result.heap_bytes / res.result.heap_n)
          S6.heap[r.key].total = res.result.heap_bytes
        end
      end
    end
    ::next::
  end
end

local function scenario6_instr()
  for _, r in ipairs(SEND) do
    if unavailable[r.key] then goto next end
    if over("s6i") then note("scenario 6: time budget reached, skipped callgrind of %s", r.key) goto next end
    do
      local totals = {}
      for _, n in ipairs({ P.send_n1, P.send_n2 }) do
        say("scenario 6: callgrind, %s, N=%d", r.name, n)
        local file = string.format("%s/callgrind.%s.%d.out", BIN, r.key, n)
        os.remove(file)
        local res = run(s6_argv(r, n, { "valgrind", "--tool=callgrind", "--callgrind-out-file=" .. file }), r.env, 150)
        log_run(string.format("s6 callgrind %-12s N=%d", r.key, n), res)
        if not send_failed(res, r, "scenario 6 callgrind N=" .. n, n, n) then
          totals[n] = callgrind_total(file)
          if not totals[n] then failure("scenario 6: no totals in %s", file) end
        end
        os.remove(file)
        if not totals[n] then break end
      end
      if totals[P.send_n1] and totals[P.send_n2] then
        S6.instr[r.key] = single((totals[P.send_n2] - totals[P.send_n1]) / (P.send_n2 - P.send_n1))
      end
    end
    ::next::
  end
end

local function s6_once(r, tag)
  say("scenario 6: %s, %s, N=%d", tag, r.name, P.send_n)
  local res = run(s6_argv(r, P.send_n), r.env, 90)
  log_run(string.format("s6 %-12s %s", r.key, tag), res)
  if send_failed(res, r, "scenario 6", P.send_n, P.send_n) then return end
  local x, k = res.result, res.sink
  S6.sink = { sndbuf = k.sndbuf, rcvbuf = k.rcvbuf }
  local cpu = x.cpu_ns + (k.softirqd_ns or 0)      -- the sender's and ksoftirqd/0's
  local rec = { cpu = cpu / x.sent, rate = x.sent / (x.wall_ns / 1e9) }
  rec.disturbed = (x.wall_ns - cpu) > 0.05 * x.wall_ns
  allruns[#allruns] = allruns[#allruns] .. (rec.disturbed and " | disturbed" or " | clean")
  record(S6.runs, r.key, rec)
end

local function scenario6_timed()
  for rep = 1, P.send_reps do
    for i = 0, #SEND - 1 do
      local r = SEND[(i + rep - 1) % #SEND + 1]
      if unavailable[r.key] then goto next end
      if over("s6w") then note("scenario 6: time budget reached, skipped %s rep %d", r.key, rep)
      else s6_once(r, string.format("rep %d/%d", rep, P.send_reps)) end
      ::next::
    end
  end
  make_up(S6.runs, SEND, P.send_reps, s6_once, "s6w")
end

local function s7_once(r, tag)
  say("scenario 7: %s, %s", tag, r.name)
  local argv = { BIN .. "/send_run", "tcp", P.tcp_send_bytes, "--", table.unpack(r.argv) }
  local res = run(argv, r.env, 90)
  log_run(string.format("s7 %-12s %s", r.key, tag), res)
  if send_failed(res, r, "scenario 7", nil, P.tcp_send_bytes) then return end
  local x, k = res.result, res.sink
  S7.sink = { sndbuf = k.sndbuf, rcvbuf = k.rcvbuf }
  local wall = x.wall_ns / 1e9
  local rec = { cpu = ((x.cpu_ns + (k.softirqd_ns or 0)) / 1e9) / (x.bytes / 1e9), mbs = x.bytes / wall / 1e6,
                foreign = ((k.busy or 0) - (k.own or 0)) / wall }
  rec.disturbed = rec.foreign > FOREIGN_MAX and rec.foreign * wall > FOREIGN_MIN_S
  allruns[#allruns] = allruns[#allruns] .. string.format(" | %s other-load=%.2f",
    rec.disturbed and "disturbed" or "clean", rec.foreign)
  record(S7.runs, r.key, rec)
end

local function scenario7()
  for rep = 1, P.tcp_send_reps do
    for i = 0, #TCPSEND - 1 do
      local r = TCPSEND[(i + rep - 1) % #TCPSEND + 1]
      if unavailable[r.key] then goto next end
      if over("s7") then note("scenario 7: time budget reached, skipped %s rep %d", r.key, rep)
      else s7_once(r, string.format("rep %d/%d", rep, P.tcp_send_reps)) end
      ::next::
    end
  end
  make_up(S7.runs, TCPSEND, P.tcp_send_reps, s7_once, "s7")
end

local function send_targets(s6cpu, s7cpu)
  local t = {}
  local function tgt(...)
    local before = #targets
    target(...)
    t[#t + 1] = targets[before + 1]
    targets[before + 1] = nil
  end
  local sock, luv, luvtry = s6cpu.s_socket, s6cpu.s_luv, s6cpu.s_luvtry
  for _, r in ipairs(SEND) do
    if not r.wsa then goto next end
    do
      local why = unavailable[r.key] and (r.name .. ": " .. unavailable[r.key]) or nil
      local a = s6cpu[r.key]
      tgt(string.format("S6 %s CPU ns/datagram <= LuaSocket sendto", r.name),
        v(a) and v(sock) and string.format("%.0f ns = %.2fx LuaSocket's %.0f ns", v(a), v(a) / v(sock), v(sock)),
        "1.00x", check(v(a), v(sock), function(x, y) return x <= y end), why or dmark(a, sock))
      for _, l in ipairs({ { luv, "luv udp:send" }, { luvtry, "luv udp:try_send" } }) do
        tgt(string.format("S6 %s CPU ns/datagram <= 0.8x %s", r.name, l[2]),
          v(a) and v(l[1]) and string.format("%.0f ns = %.2fx %s's %.0f ns", v(a), v(a) / v(l[1]), l[2], v(l[1])),
          "0.80x", check(v(a), v(l[1]), function(x, y) return x <= 0.8 * y end), why or dmark(a, l[1]))
      end
      local h = S6.heap[r.key]
      tgt(string.format("S6 %s Lua heap per send = 0", r.name),
        h and string.format("%.3f B/send, %s B over %d sends", h.v, commas(h.total),
          P.send_heap_n - P.send_heap_n // 10), "0 B",
        check(h and h.total, 0, function(x, y) return x == y end), why)
    end
    ::next::
  end
  local raw = s7cpu.t_write
  for _, r in ipairs(TCPSEND) do
    if r.wsa then
      local c = s7cpu[r.key]
      tgt(string.format("S7 %s CPU s/GB <= 1.15x C write()", r.name),
        v(c) and v(raw) and string.format("%.3f s/GB = %.2fx C write()'s %.3f", v(c), v(c) / v(raw), v(raw)),
        "1.15x", check(v(c), v(raw), function(x, y) return x <= 1.15 * y end),
        unavailable[r.key] and (r.name .. ": " .. unavailable[r.key]) or dmark(c, raw))
    end
  end
  return t
end

local function report_send(m, load0, load1)
  local s6cpu = figures(S6.runs, "cpu", P.send_reps)
  local s6rate = figures(S6.runs, "rate", P.send_reps)
  local s7cpu = figures(S7.runs, "cpu", P.tcp_send_reps)
  local s7mbs = figures(S7.runs, "mbs", P.tcp_send_reps)
  out("")
  out("<!-- send: begin -->")
  out("## Sends: scenarios 6 (UDP, 64 B datagrams) and 7 (TCP stream)")
  out("")
  if m then
    out("This section comes from the run below (`--only send`); the receive figures above from the run "
        .. "named at the top of the file.")
    out("")
    out("| | |")
    out("|---|---|")
    out("| date | " .. m.date .. " |")
    out("| command | `" .. COMMAND .. "` |")
    out("| commit | " .. m.commit .. " |")
    out("| machine | " .. m.cpus .. ", " .. m.mem .. ", kernel " .. m.kernel .. " |")
    out("| load average (1, 5, 15 min) | at the start " .. load0 .. "; at the end " .. load1 .. " |")
    out(string.format("| runs | %d timed runs made, %d of them disturbed by other load; total run time %d s |",
      runs_made, runs_disturbed, elapsed()))
    out("")
  end
  out(string.format("Scenario 6: `send_run udp N %d` makes the receiving socket (127.0.0.1, SO_RCVBUFFORCE sized "
    .. "to hold all N datagrams: %s B as getsockopt reads it) and the sending socket (bound to 127.0.0.1, "
    .. "SO_SNDBUFFORCE 4 MiB: %s B as read back), the same for every sender, and execs the sender on CPU 0 with "
    .. "the sending socket inherited; it sends exactly N datagrams of the same %d-byte payload to the "
    .. "receiving socket's address (a destination per call).  Nothing receives during the run: the sender's "
    .. "CPU is its own plus the kernel's send path (on loopback that includes the delivery into the receiving "
    .. "socket's queue), with no receiver to wake or to fall behind.  Afterwards the queue is drained and "
    .. "every datagram checked (count, length, bytes; no kernel drop).  CPU ns per datagram: the sender's "
    .. "CPU time (getrusage) plus the run time of ksoftirqd/0 during the run (network softirq work the kernel "
    .. "deferred from the sender's CPU 0 to that thread, which getrusage would miss; /proc/PID/schedstat).  "
    .. "It and the rate are over the sender's whole send loop (%d datagrams, median of %d runs, "
    .. "interleaved); a run whose wall "
    .. "time exceeds its CPU time by more than 5 %% was preempted (*disturbed*).  Instructions: user space of "
    .. "the sender process, (I(%d)-I(%d))/%d under callgrind.  Lua heap: `collectgarbage(\"count\")` growth "
    .. "over sends %d..%d with the collector stopped.  The wsarecv and luv senders keep %d sends outstanding, "
    .. "each one's completion posting the next with the same overlapped object and buffer (luv: the same "
    .. "string); the port senders take completions %d at a time.",
    P.send_size, S6.sink.rcvbuf and commas(S6.sink.rcvbuf) or "n/a", S6.sink.sndbuf and commas(S6.sink.sndbuf) or "n/a",
    P.send_size, P.send_n, P.send_reps, P.send_n2, P.send_n1, P.send_n2 - P.send_n1,
    P.send_heap_n // 10 + 1, P.send_heap_n, P.send_ops, P.port_batch))
  out("")
  out(string.format("Scenario 7: `send_run tcp %d` makes a connected loopback pair, execs the sender on one end "
    .. "(CPU 0) and reads the other in a C thread (CPU 1, 64 KiB read()s, every byte compared).  Socket "
    .. "buffers are the kernel's (SO_SNDBUF %s B at the start, autotuned alike for every sender).  CPU s/GB "
    .. "is the sender's CPU over its send loop, plus ksoftirqd/0's as in scenario 6; a run is *disturbed* "
    .. "when other load took more than 15 %% of a "
    .. "CPU.  %d runs per sender, interleaved.",
    P.tcp_send_bytes, S7.sink.sndbuf and commas(S7.sink.sndbuf) or "n/a", P.tcp_send_reps))
  local udp_rows, tcp_rows = wsa_of(SEND), wsa_of(TCPSEND)
  local cols = anchors_of(SEND)
  -- TCP's anchors share the UDP columns: C write() under "C sendto", luv under "luv send"
  local tcpfig = function(f)
    local t = {}
    for k, x in pairs(f) do t[k] = x end
    t.s_sendto, t.s_luv = f.t_write, f.t_luv
    return t
  end
  local udpa = all_anchors(SEND)
  local rows = {
    { title = "S6 sender CPU ns/datagram", figs = s6cpu, kind = "int", rows = udp_rows, anchors = udpa },
    { title = "S6 datagrams/s", figs = s6rate, kind = "int", rows = udp_rows, anchors = udpa },
    { title = "S6 user instructions/send", figs = S6.instr, kind = "int", rows = udp_rows,
      anchors = { s_sendto = true, s_luv = true, s_luvtry = true, s_socket = true } },
    { title = "S6 Lua heap B/send", figs = S6.heap, kind = "2", rows = udp_rows,
      anchors = { s_luv = true, s_luvtry = true, s_socket = true } },
    { title = "S7 TCP sender CPU s/GB (C column: write())", figs = tcpfig(s7cpu), kind = "3", rows = tcp_rows,
      anchors = { s_sendto = true, s_luv = true } },
    { title = "S7 TCP MB/s (C column: write())", figs = tcpfig(s7mbs), kind = "int", rows = tcp_rows,
      anchors = { s_sendto = true, s_luv = true } },
  }
  headline(rows, cols, "### Headline: every wsarecv sender against every anchor",
    "Ratio = wsarecv sender / anchor (for rates, higher is better; for costs, lower).  The anchors' own "
    .. "medians are on the first row of each measurement.  `(disturbed)`, `~`: as above.  In the TCP rows the "
    .. "C column is the write() loop and the luv column luv's tcp:write.", "sender")
  out("")
  out("### Send targets")
  out("")
  for _, t in ipairs(send_targets(s6cpu, s7cpu)) do out("- " .. t) end
  out("")
  out("### Scenario 6: UDP send, " .. P.send_size .. "-byte datagrams")
  metric_table(string.format("sender CPU ns per datagram (N=%d, pinned to CPU 0)", P.send_n), SEND, s6cpu, "int",
    "lower is better", nil, nil, "sender")
  metric_table("datagrams sent per second (wall time of the send loop)", SEND, s6rate, "int", "higher is better",
    nil, nil, "sender")
  metric_table(string.format("user-space instructions per send (callgrind, (I(%d)-I(%d))/%d)",
    P.send_n2, P.send_n1, P.send_n2 - P.send_n1), SEND, S6.instr, "int", "lower is better", nil, nil, "sender")
  local lrows = {}
  for _, r in ipairs(SEND) do if r.lua then lrows[#lrows + 1] = r end end
  local la = {}
  for _, r in ipairs(lrows) do if r.anchor then la[#la + 1] = r end end
  metric_table(string.format("Lua heap bytes per send (N=%d, collector stopped, sends %d..%d)", P.send_heap_n,
    P.send_heap_n // 10 + 1, P.send_heap_n), lrows, S6.heap, "2", "lower is better",
    { { "bytes in window", function(k) return S6.heap[k] and commas(S6.heap[k].total) or "n/a" end } }, la, "sender")
  out("")
  out(string.format("### Scenario 7: TCP stream send, %d MiB per run", P.tcp_send_bytes >> 20))
  metric_table("sender CPU s/GB", TCPSEND, s7cpu, "3", "lower is better", nil, nil, "sender")
  metric_table("throughput MB/s (the sender's loop)", TCPSEND, s7mbs, "int", "higher is better", nil, nil, "sender")
  if m then
    out("")
    out("<details><summary>every send run's raw output</summary>")
    out("")
    out("```text")
    for _, l in ipairs(allruns) do out(l) end
    out("```")
    out("")
    out("</details>")
  end
  out("<!-- send: end -->")
end

---------------------------------------------------------------- main
local function machine()
  local function dpkg(p) local x = capture("dpkg-query -W -f='${Version}' " .. p) return x ~= "" and x or "?" end
  local m = {}
  m.date = capture("date -u '+%Y-%m-%d %H:%M UTC'")
  m.kernel = capture("uname -r")
  m.cpus = capture("nproc") .. " x " .. capture("lscpu | sed -n 's/^Model name: *//p' | head -1")
  m.mem = capture("free -g | awk '/^Mem:/ {print $2}'") .. " GiB"
  m.lua = capture(LUA .. " -v")
  m.libuv = capture(LUA .. " -e 'print(require\"luv\".version_string())'") .. " (libuv1 " .. dpkg("libuv1") .. ")"
  m.luv = dpkg("lua-luv")
  m.luasocket = capture(LUA .. " -e 'print(require\"socket\"._VERSION)'")
    .. " (lua-socket " .. dpkg("lua-socket") .. ")"
  m.gcc = capture("gcc --version | head -1")
  m.valgrind = capture("valgrind --version")
  m.nofile = capture("ulimit -Sn") .. " soft, " .. capture("ulimit -Hn") .. " hard"
  local git = "git -C " .. sh_quote(ROOT)
  m.commit = capture(git .. " rev-parse --short HEAD") .. " (" .. capture(git .. " log -1 --format=%s") .. ")"
  local dirty = capture(git .. " status --porcelain -- src lua bench Makefile ':!bench/results.md' | wc -l")
  if dirty ~= "0" then
    m.commit = m.commit .. " + uncommitted changes (" .. dirty .. " files in src lua bench Makefile)"
  end
  return m
end

-- Each engine, once: does the module load with WSARECV_ENGINE=e and say
-- e?  An engine that does not is "unavailable" (a kernel without io_uring,
-- a build before the engine): its rows say so, and that is no failure.
local function probe_engines()
  local code = "local ok, w = pcall(require, 'wsarecv') "
    .. "if not ok then io.write('FAIL ', (tostring(w):gsub('%s+', ' ')), '\\n') "
    .. "else io.write('ENGINE ', tostring(w.engine and w.engine()), '\\n') end"
  DEFAULT_ENGINE = run({ LUA, "-e", code }, nil, 30).out:match("ENGINE (%S+)") or "?"
  for _, e in ipairs(ENGINES) do
    local res = run({ LUA, "-e", code }, { WSARECV_ENGINE = e }, 30)
    local got = res.out:match("ENGINE (%S+)")
    if got ~= e then
      ENGINE_WHY[e] = got and ("wsarecv.engine() says " .. got .. " when WSARECV_ENGINE=" .. e)
        or res.out:match("FAIL ([^\n]*)") or "the module did not load"
      note("%s: unavailable (%s); its rows say so", e, ENGINE_WHY[e])
      for _, list in ipairs({ UDP, UDP3, TCP, SCALE, LIVE }) do
        for _, r in ipairs(list) do
          if r.engine == e then unavailable[r.key] = e .. ": unavailable (" .. ENGINE_WHY[e] .. ")" end
        end
      end
    end
  end
end

local function engines_line()
  local t = {}
  for _, e in ipairs(ENGINES) do
    t[#t + 1] = e .. (ENGINE_WHY[e] and (": unavailable (" .. ENGINE_WHY[e] .. ")") or ": available")
  end
  return table.concat(t, "; ") .. "; the default (senders, async echo): " .. DEFAULT_ENGINE
end

local function loadavg() return capture("cut -d' ' -f1-3 /proc/loadavg") end

-- which probed receivers this build cannot run
local function probe_all()
  local seen = {}
  local lists = {}
  if want("recv") then lists = { UDP, TCP, SCALE } end
  if want("live") then lists[#lists + 1] = LIVE end
  if want("send") then lists[#lists + 1] = SEND; lists[#lists + 1] = TCPSEND end
  for _, list in ipairs(lists) do
    for _, r in ipairs(list) do
      if r.probe and not seen[r.key] and not unavailable[r.key] then
        seen[r.key] = true
        local res = run(r.argv, { WR_MODE = "probe" }, 30)
        if res.skip then unavailable[r.key] = res.skip
        elseif not res.out:match("AVAILABLE") then
          unavailable[r.key] = "the probe failed (see " .. LOG .. ")"
          failure("probing %s failed (exit %s %s; see %s)", r.name, tostring(res.how), tostring(res.code), LOG)
        end
        if unavailable[r.key] then note("%s: %s; its rows are skipped", r.name, unavailable[r.key]) end
      end
    end
  end
end

-- `--only send`: the send section alone, put in place of the one in
-- outfile (or added before the raw output), the rest of the file kept; a
-- note under the title says the rest comes from an older run
local SEND_NOTE = "<!-- send-note -->"
local function send_only(m, load0, load1)
  report_send(m, load0, load1)
  if #failures > 0 or #notes > 0 then
    local lines = { "", "### Send run: failures and notes", "" }
    for _, p in ipairs(failures) do lines[#lines + 1] = "- failure: " .. p end
    for _, p in ipairs(notes) do lines[#lines + 1] = "- note: " .. p end
    -- inside the markers, before the end one
    local last = table.remove(report)
    for _, l in ipairs(lines) do out(l) end
    report[#report + 1] = last
  end
  local section = table.concat(report, "\n"):gsub("^\n+", "")
  local f = io.open(outfile)
  local old = f and f:read("a") or ""
  if f then f:close() end
  local b, e = old:find("<!%-%- send: begin %-%->.-<!%-%- send: end %-%->\n?")
  local new
  if b then
    new = old:sub(1, b - 1) .. section .. "\n" .. old:sub(e + 1)
  else
    local d = old:find("\n<details>", 1, true)
    if d then new = old:sub(1, d) .. section .. "\n" .. old:sub(d)
    else new = old .. "\n" .. section .. "\n" end
  end
  local commit = capture("git -C " .. sh_quote(ROOT) .. " rev-parse --short HEAD")
  local notetext = SEND_NOTE .. " The send section (\"Sends: scenarios 6 and 7\") comes from a later run than "
    .. "everything else in this file, with its own date, commit (" .. commit .. ") and command; the receive "
    .. "figures were measured at the older commit named in the table below and were not rerun."
  local nb = new:find(SEND_NOTE, 1, true)
  if nb then
    local ne = new:find("\n", nb, true) or #new + 1
    new = new:sub(1, nb - 1) .. notetext .. new:sub(ne)
  else
    new = new:gsub("(# wsarecv benchmark results[^\n]*\n\n[^\n]*\n)", function(t)
      return t .. "\n" .. notetext .. "\n"
    end, 1)
  end
  f = io.open(outfile, "w")
  if f then
    f:write(new)
    f:close()
    say("replaced the send section of %s (logs of every command: %s)", outfile, LOG)
  else
    failure("cannot write %s", outfile)
  end
  say("%d failures, %d notes, %d runs, %d disturbed", #failures, #notes, runs_made, runs_disturbed)
  return #failures == 0
end

local function main()
  say("building")
  build()
  if (want("recv") or want("send")) and capture("command -v valgrind") == "" then
    error("valgrind is not installed")
  end
  local m = machine()
  local load0 = loadavg()
  if not send_alone then probe_engines() end
  probe_all()

  if want("recv") then
    set_deadlines("recv")
    say("scenario 4 (heap) and scenario 3 (callgrind) first: they are deterministic")
    scenario4()
    scenario3_instr()
    scenario3_wall()
    scenario1()
    scenario2()
    scenario5()
  end
  if want("live") then
    set_deadlines("live")
    scenario8()
  end
  if want("send") then
    set_deadlines("send")
    scenario6_heap()
    scenario6_instr()
    scenario6_timed()
    scenario7()
  end
  local load1 = loadavg()
  if send_alone then return send_only(m, load0, load1) end

  out("# wsarecv benchmark results" .. (quick and " (--quick)" or ""))
  out("")
  out("Every figure below comes from the one run this file names; the next run rewrites it whole.")
  out("")
  out("| | |")
  out("|---|---|")
  out("| date | " .. m.date .. " |")
  out("| command | `" .. COMMAND .. "` |")
  out("| commit | " .. m.commit .. " |")
  out("| machine | " .. m.cpus .. ", " .. m.mem .. ", kernel " .. m.kernel .. " |")
  out("| load average (1, 5, 15 min) | at the start " .. load0 .. "; at the end " .. load1 .. " |")
  out("| Lua | " .. m.lua .. " |")
  out("| libuv | " .. m.libuv .. " |")
  out("| luv | lua-luv " .. m.luv .. " |")
  out("| LuaSocket | " .. m.luasocket .. " |")
  out("| gcc | " .. m.gcc .. " |")
  out("| valgrind | " .. m.valgrind .. " |")
  out("| RLIMIT_NOFILE | " .. m.nofile .. " |")
  out("| engines (WSARECV_ENGINE, one row each; scenario 5 on poll, sends on the default) | " .. engines_line()
    .. " |")
  out(string.format("| settings | %d reps (scenario 1: %d; scenario 2: %d; scenario 5: %d; scenario 8: %d), medians, "
    .. "receivers interleaved round-robin; spread = (max - min) / median of the runs used; a figure needs %d "
    .. "clean runs (scenario 1: %d; scenario 2: %d), else it is taken from all its runs and marked disturbed |",
    P.reps, P.s1_reps, P.tcp_reps, P.scale_reps, P.live_reps, min_clean(P.reps), min_clean(P.s1_reps),
    min_clean(P.tcp_reps)))
  out(string.format("| runs | %d timed runs made, %d of them disturbed by other load; total run time %d s |",
    runs_made, runs_disturbed, elapsed()))

  local s1f = {}
  for _, size in ipairs(P.udp_sizes) do s1f[size] = s1_figs(size) end
  local s2mbs = figures(S2.runs, "mbs", P.tcp_reps)
  local s2cpu = figures(S2.runs, "cpu", P.tcp_reps)
  S3.wall = figures(S3.wallruns, "wall", P.reps)
  local udp_wsa, tcp_wsa = wsa_of(UDP), wsa_of(TCP)
  local rows = not want("recv") and {} or {
    { title = "S3 user instructions/datagram", figs = S3.instr, kind = "int", rows = udp_wsa,
      anchors = all_anchors(UDP) },
    { title = "S3 drain wall ns/datagram", figs = S3.wall, kind = "int", rows = udp_wsa, anchors = all_anchors(UDP) },
    { title = "S4 Lua heap B/datagram", figs = S4.heap, kind = "2", rows = udp_wsa, anchors = lua_anchors() },
  }
  for _, size in ipairs(want("recv") and P.udp_sizes or {}) do
    rows[#rows + 1] = { title = string.format("S1 %d B datagrams/s", size), figs = s1f[size].rate, kind = "int",
                        rows = udp_wsa, anchors = all_anchors(UDP) }
    rows[#rows + 1] = { title = string.format("S1 %d B CPU ns/datagram", size), figs = s1f[size].cpu, kind = "int",
                        rows = udp_wsa, anchors = all_anchors(UDP) }
  end
  local tcpa = all_anchors(TCP)
  tcpa.rawpoll = nil
  if want("recv") then
    rows[#rows + 1] = { title = "S2 TCP CPU s/GB", figs = s2cpu, kind = "3", rows = tcp_wsa, anchors = tcpa }
    rows[#rows + 1] = { title = "S2 TCP MB/s", figs = s2mbs, kind = "int", rows = tcp_wsa, anchors = tcpa }
  end
  local s8f = {}
  if want("live") then
    local livea = all_anchors(LIVE)
    for _, rate in ipairs(P.live_rates) do
      s8f[rate] = s8_figs(rate)
      rows[#rows + 1] = { title = "S8 live, " .. rate_name(rate) .. ": CPU ns/datagram", figs = s8f[rate].cpu,
                          kind = "int", rows = wsa_of(LIVE), anchors = livea }
      rows[#rows + 1] = { title = "S8 live, " .. rate_name(rate) .. ": loss %", figs = s8f[rate].loss,
                          kind = "2", rows = wsa_of(LIVE), anchors = livea }
    end
  end
  headline(rows)

  all_targets(s1f, s2cpu, s8f)
  out("")
  out("## Targets")
  out("")
  for _, t in ipairs(targets) do out("- " .. t) end

  if want("recv") then
    report3()
    report4()
    report1()
    report2()
    report5()
  end
  if want("live") then report8() end
  if want("send") then report_send() end

  out("")
  if #failures > 0 then
    out("## Failures")
    out("")
    for _, p in ipairs(failures) do out("- " .. p) end
    out("")
  end
  if #notes > 0 then
    out("## Notes")
    out("")
    for _, p in ipairs(notes) do out("- " .. p) end
    out("")
  end

  local f = io.open(outfile, "w")
  if f then
    f:write(table.concat(report, "\n"), "\n\n<details><summary>every run's raw output</summary>\n\n```text\n",
      table.concat(allruns, "\n"), "\n```\n\n</details>\n")
    f:close()
    say("wrote %s (logs of every command: %s)", outfile, LOG)
  else
    failure("cannot write %s", outfile)
  end
  -- the engines and the targets again, last, where a terminal shows them
  local tally = { MET = 0, ["NOT MET"] = 0, ["NOT MEASURED"] = 0 }
  for _, t in ipairs(targets) do
    local st = t:match(" : (NOT MEASURED)") or t:match(" : (NOT MET)") or t:match(" : (MET)")
    if st then tally[st] = tally[st] + 1 end
    if t:match("^target io_uring ") then say("%s", t) end
  end
  say("engines: %s", engines_line())
  say("targets: %d met, %d not met, %d not measured", tally.MET, tally["NOT MET"], tally["NOT MEASURED"])
  say("%d failures, %d notes, %d runs, %d disturbed", #failures, #notes, runs_made, runs_disturbed)
  return #failures == 0
end

local ok, res = xpcall(main, debug.traceback)
if not ok then
  io.stderr:write("bench/run.lua: ", tostring(res), "\n")
  os.exit(1)
end
os.exit(res and 0 or 1)
