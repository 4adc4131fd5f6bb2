-- bench/run.lua -- the wsarecv benchmark driver.
--
--   lua5.4 bench/run.lua [--quick] [--out FILE]      (from anywhere)
--
-- Builds the module (`make`) and the C programs (`make -C bench`, into
-- build/bench), then runs five scenarios over loopback, interleaving the
-- receivers round-robin across repetitions, and prints medians and the
-- ratio of every wsarecv receiver to every anchor (raw C, C libuv plain and
-- with RECVMMSG, luv plain and with mmsgs, LuaSocket), then the targets.
-- The same report goes to FILE (default bench/results.md), rewritten whole
-- by every run: it names the run (date, commit, command, machine) and
-- holds nothing else.
--
-- A shared machine disturbs runs: they are flagged, counted and shown, and
-- a figure with too few clean runs is printed from all its runs with the
-- mark "disturbed".  Exit status 0 unless something failed (a build, a
-- child that crashed or timed out, a content error, a wrong count); a
-- target NOT MET, a disturbed figure or a skipped measurement is not a
-- failure.  Every child runs under `timeout`, every loop is bounded, and
-- each scenario has a share of the time budget (300 s; 100 s with --quick)
-- after which it starts nothing new.  Children's stderr goes to
-- build/bench/run.log.  See bench/README.md.
local quick, outfile = false, nil
do
  local i = 1
  while arg[i] do
    local a = arg[i]
    if a == "--quick" then quick = true
    elseif a == "--out" and arg[i + 1] then outfile = arg[i + 1]; i = i + 1
    elseif a == "-h" or a == "--help" then
      print("usage: lua5.4 bench/run.lua [--quick] [--out FILE]") os.exit(0)
    else io.stderr:write("unknown option ", a, "\n") os.exit(2) end
    i = i + 1
  end
end

---------------------------------------------------------------- settings
local P = quick and {
  reps = 3, udp_secs = 0.3, tcp_bytes = 256 << 20, tcp_reps = 3,
  n1 = 5000, n2 = 15000, n_wall = 50000, n_heap = 20000,
  scale_n1 = 10000, scale_n2 = 20000, scale_wall = 50000, scale_reps = 1,
  budget = 100,
} or {
  reps = 5, udp_secs = 0.6, tcp_bytes = 512 << 20, tcp_reps = 7,
  n1 = 10000, n2 = 30000, n_wall = 100000, n_heap = 50000,
  scale_n1 = 20000, scale_n2 = 40000, scale_wall = 100000, scale_reps = 3,
  budget = 300,
}
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

-- deadlines: scenario k may start runs until the end of its cumulative share
local DEADLINE = {}
local function set_deadlines()
  local t = os.time()
  for _, k in ipairs(ORDER) do
    t = t + SHARE[k] * P.budget
    DEADLINE[k] = t
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
local function cell(fig, kind, key)
  if unavailable[key] then return "not available" end
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
local function metric_table(title, rows, figs, kind, better, extra, anchors)
  anchors = anchors or anchors_of(rows)
  out("")
  out("**" .. title .. "**" .. (better and (" (" .. better .. ")") or ""))
  out("")
  local head = { "receiver", "median", "spread", "runs used/made" }
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
  local used, dist = select_runs(recs, P.reps)
  used = majority(used)
  return used[1] and used[1].kind or (dist and "disturbed") or "n/a"
end

local function scenario1()
  for _, size in ipairs(P.udp_sizes) do S1[size] = { runs = {}, rcvbuf = {} } end
  for rep = 1, P.reps do
    for _, size in ipairs(P.udp_sizes) do
      for i = 0, #UDP - 1 do
        local r = UDP[(i + rep - 1) % #UDP + 1]     -- rotate the order per rep
        if unavailable[r.key] then goto next end
        if over("s1") then
          note("scenario 1: time budget reached, skipped %s %d B rep %d", r.key, size, rep)
        else
          s1_once(size, r, string.format("rep %d/%d", rep, P.reps))
        end
        ::next::
      end
    end
  end
  for _, size in ipairs(P.udp_sizes) do
    make_up(S1[size].runs, UDP, P.reps, function(r, tag) s1_once(size, r, tag) end, "s1")
  end
end

local function s1_figs(size)
  local runs = S1[size] and S1[size].runs or {}
  local f = {}
  for _, name in ipairs({ "rate", "loss", "cpu", "sender" }) do f[name] = figures(runs, name, P.reps, majority) end
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

---------------------------------------------------------------- headline
-- every receiver under test against every anchor, one row per measurement
local function headline(m)
  out("")
  out("## Headline: every wsarecv receiver against every anchor, this run")
  out("")
  out("Ratio = wsarecv receiver / anchor (for rates, higher is better; for costs, lower).  The anchors' "
      .. "own medians are on the first row of each measurement.  `(disturbed)` marks a figure with too few "
      .. "clean runs, taken from all its runs; `~` a ratio that uses one.  TCP: the raw C column is the "
      .. "blocking read() loop.  Details and every receiver's runs in the sections below.")
  local cols = anchors_of(UDP)
  out("")
  local head = { "measurement", "receiver", "value" }
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

local function all_targets(s1f, s2cpu)
  local s3i, s3w, s4 = S3.instr, S3.wall, S4.heap
  -- the standing targets of the routine path
  for _, w in ipairs({ { "wsa", "WSARecv" }, { "wsamsg", "WSARecvMsg" } }) do
    local rate = s1f[64] and s1f[64].rate or {}
    local a, luv, uv = rate[w[1]], rate.luv, rate.uv
    target(string.format("S1 %s 64 B rate >= 2x luv", w[2]),
      v(a) and v(luv) and string.format("%s/s = %.2fx luv's %s/s", commas(v(a)), v(a) / v(luv), commas(v(luv))),
      "2.00x", check(v(a), v(luv), function(x, y) return x >= 2 * y end), dmark(a, luv))
    target(string.format("S1 %s 64 B rate >= C libuv (uv_udp_recv_start)", w[2]),
      v(a) and v(uv) and string.format("%s/s = %.2fx C libuv's %s/s", commas(v(a)), v(a) / v(uv), commas(v(uv))),
      "1.00x", check(v(a), v(uv), function(x, y) return x >= y end), dmark(a, uv))
    local ins, fl = v(s3i[w[1]]), v(s3i.floor)
    target(string.format("S3 %s instructions/datagram <= 600", w[2]),
      ins and (commas(ins) .. (fl and string.format(" (the routine's Lua floor alone is %s)", commas(fl)) or "")),
      "600", check(ins, 600, function(x, y) return x <= y end))
    local wv, raw, uv3 = s3w[w[1]], s3w.raw, s3w.uv
    target(string.format("S3 %s wall ns/datagram <= 1.25x raw recvmmsg", w[2]),
      v(wv) and v(raw) and string.format("%.0f ns = %.2fx raw's %.0f ns", v(wv), v(wv) / v(raw), v(raw)),
      "1.25x", check(v(wv), v(raw), function(x, y) return x <= 1.25 * y end), dmark(wv, raw))
    target(string.format("S3 %s wall ns/datagram <= C libuv (uv_udp_recv_start)", w[2]),
      v(wv) and v(uv3) and string.format("%.0f ns = %.2fx C libuv's %.0f ns", v(wv), v(wv) / v(uv3), v(uv3)),
      "1.00x", check(v(wv), v(uv3), function(x, y) return x <= y end), dmark(wv, uv3))
    local h = s4[w[1]]
    target(string.format("S4 %s Lua heap per datagram = 0", w[2]),
      h and string.format("%.3f B/datagram, %s B over %d datagrams", h.v, commas(h.total), P.n_heap - P.n_heap // 10),
      "0 B", check(h and h.total, 0, function(x, y) return x == y end))
  end
  local c, raw = s2cpu.wsa, s2cpu.raw
  target("S2 WSARecv (routines) CPU s/GB <= 1.15x C read()",
    v(c) and v(raw) and string.format("%.3f s/GB = %.2fx C read()'s %.3f", v(c), v(c) / v(raw), v(raw)),
    "1.15x", check(v(c), v(raw), function(x, y) return x <= 1.15 * y end), dmark(c, raw))
  -- issue 10: the completion port
  local why = unavailable.port and ("the port receiver: " .. unavailable.port) or nil
  local pi = v(s3i.port)
  target("S3 port instructions/datagram <= 1,200 (stretch 600)",
    pi and string.format("%s; %s the routine path's %s", commas(pi),
      v(s3i.wsa) and string.format("%.2fx", v(s3i.wsa) / pi) or "n/a x", v(s3i.wsa) and commas(v(s3i.wsa)) or "n/a"),
    "1,200", check(pi, 1200, function(x, y) return x <= y end), why)
  local ph = s4.port
  target("S4 port Lua heap per datagram = 0", ph and string.format("%.3f B/datagram", ph.v), "0 B",
    check(ph and ph.total, 0, function(x, y) return x == y end), why)
  local pw, rw = s3w.port, s3w.raw
  target("S3 port drain wall ns/datagram <= 1.15x raw recvmmsg",
    v(pw) and v(rw) and string.format("%.0f ns = %.2fx raw's %.0f ns", v(pw), v(pw) / v(rw), v(rw)),
    "1.15x", check(v(pw), v(rw), function(x, y) return x <= 1.15 * y end), why or dmark(pw, rw))
  local pc = s2cpu.port
  target("S2 port CPU s/GB <= 1.15x C read()",
    v(pc) and v(raw) and string.format("%.3f s/GB = %.2fx C read()'s %.3f", v(pc), v(pc) / v(raw), v(raw)),
    "1.15x", check(v(pc), v(raw), function(x, y) return x <= 1.15 * y end), why or dmark(pc, raw))
  for _, r in ipairs(SCALE) do
    local lo, hi, n = math.huge, 0, 0
    for _, s in ipairs(P.scale_socks) do
      local f = S5.instr[s5_key(r, s)]
      if f and f.v then lo = math.min(lo, f.v); hi = math.max(hi, f.v); n = n + 1 end
    end
    local all = n == #P.scale_socks
    target(string.format("S5 %s instructions/datagram flat (max/min <= 1.20) from 1 to %s sockets",
      r.key == "port" and "port" or "WSARecv (routines, for information)", commas(P.scale_socks[#P.scale_socks])),
      all and string.format("%s..%s = %.2f", commas(lo), commas(hi), hi / lo) or nil, "1.20",
      all and check(hi / lo, 1.2, function(x, y) return x <= y end) or nil,
      r.key == "port" and why or nil)
  end
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

local function loadavg() return capture("cut -d' ' -f1-3 /proc/loadavg") end

-- which probed receivers this build cannot run
local function probe_all()
  local seen = {}
  for _, list in ipairs({ UDP, TCP, SCALE }) do
    for _, r in ipairs(list) do
      if r.probe and not seen[r.key] then
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

local function main()
  say("building")
  build()
  if capture("command -v valgrind") == "" then error("valgrind is not installed") end
  local m = machine()
  local load0 = loadavg()
  probe_all()
  set_deadlines()

  say("scenario 4 (heap) and scenario 3 (callgrind) first: they are deterministic")
  scenario4()
  scenario3_instr()
  scenario3_wall()
  scenario1()
  scenario2()
  scenario5()
  local load1 = loadavg()

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
  out(string.format("| settings | %d reps (scenario 2: %d; scenario 5: %d), medians, receivers interleaved "
    .. "round-robin; spread = (max - min) / median of the runs used; a figure needs %d clean runs (scenario 2: "
    .. "%d), else it is taken from all its runs and marked disturbed |", P.reps, P.tcp_reps, P.scale_reps,
    min_clean(P.reps), min_clean(P.tcp_reps)))
  out(string.format("| runs | %d timed runs made, %d of them disturbed by other load; total run time %d s |",
    runs_made, runs_disturbed, elapsed()))

  local s1f = {}
  for _, size in ipairs(P.udp_sizes) do s1f[size] = s1_figs(size) end
  local s2mbs = figures(S2.runs, "mbs", P.tcp_reps)
  local s2cpu = figures(S2.runs, "cpu", P.tcp_reps)
  S3.wall = figures(S3.wallruns, "wall", P.reps)
  local udp_wsa, tcp_wsa = wsa_of(UDP), wsa_of(TCP)
  local rows = {
    { title = "S3 user instructions/datagram", figs = S3.instr, kind = "int", rows = udp_wsa,
      anchors = all_anchors(UDP) },
    { title = "S3 drain wall ns/datagram", figs = S3.wall, kind = "int", rows = udp_wsa, anchors = all_anchors(UDP) },
    { title = "S4 Lua heap B/datagram", figs = S4.heap, kind = "2", rows = udp_wsa, anchors = lua_anchors() },
  }
  for _, size in ipairs(P.udp_sizes) do
    rows[#rows + 1] = { title = string.format("S1 %d B datagrams/s", size), figs = s1f[size].rate, kind = "int",
                        rows = udp_wsa, anchors = all_anchors(UDP) }
    rows[#rows + 1] = { title = string.format("S1 %d B CPU ns/datagram", size), figs = s1f[size].cpu, kind = "int",
                        rows = udp_wsa, anchors = all_anchors(UDP) }
  end
  local tcpa = all_anchors(TCP)
  tcpa.rawpoll = nil
  rows[#rows + 1] = { title = "S2 TCP CPU s/GB", figs = s2cpu, kind = "3", rows = tcp_wsa, anchors = tcpa }
  rows[#rows + 1] = { title = "S2 TCP MB/s", figs = s2mbs, kind = "int", rows = tcp_wsa, anchors = tcpa }
  headline(rows)

  all_targets(s1f, s2cpu)
  out("")
  out("## Targets")
  out("")
  for _, t in ipairs(targets) do out("- " .. t) end

  report3()
  report4()
  report1()
  report2()
  report5()

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
  say("%d failures, %d notes, %d runs, %d disturbed", #failures, #notes, runs_made, runs_disturbed)
  return #failures == 0
end

local ok, res = xpcall(main, debug.traceback)
if not ok then
  io.stderr:write("bench/run.lua: ", tostring(res), "\n")
  os.exit(1)
end
os.exit(res and 0 or 1)
