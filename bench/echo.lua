-- bench/echo.lua -- the async echo benchmark: requests/s of a TCP echo
-- server in wsarecv.async (examples/echo.lua's) against the same server in
-- luv, 100 connections, in the same run.
--
--   lua5.4 bench/echo.lua [--quick] [--out FILE] [--only PART] [--engine E]  (from anywhere)
--
-- The load is C (build/bench/echo_load, from bench/c/echo_load.c): 100
-- connections on one epoll loop, one 64-byte request outstanding on each,
-- every echo checked.  Server pinned to CPU 0, load to CPU 1; each run
-- warms up, then counts requests for 2 s (1 s with --quick).  The two
-- servers alternate, 5 runs each (3 with --quick); the report gives the
-- medians, each server's CPU per request, and the ratio.  It is printed
-- and put at the end of FILE (default bench/results.md, which `make bench`
-- has just written with bench/run.lua) as its section "Async echo",
-- replacing the one an earlier run left there.  `--only PART` (as
-- run.lua takes it: one part of run.lua's scenarios) skips it; `--engine
-- E` (poll, io_uring) runs the wsarecv server with WSARECV_ENGINE=E
-- (unset: the module's default), and `--smoke` is `--quick`.  Every
-- child runs under `timeout`.  Exit status 0 unless a run failed (a crash,
-- a content error, a server that did not end).
local quick, outfile, only, engine = false, nil, nil, nil
do
  local i = 1
  while arg[i] do
    if arg[i] == "--quick" or arg[i] == "--smoke" then quick = true
    elseif arg[i] == "--engine" and arg[i + 1] then engine = arg[i + 1]; i = i + 1
    elseif arg[i] == "--out" and arg[i + 1] then outfile = arg[i + 1]; i = i + 1
    elseif arg[i] == "--only" and arg[i + 1] then only = arg[i + 1]; i = i + 1
    else
      io.stderr:write("usage: lua5.4 bench/echo.lua [--quick] [--out FILE] [--only PART] [--engine E]\n")
      os.exit(2)
    end
    i = i + 1
  end
end
if only then
  io.stderr:write("[echo] --only ", only, ": the async echo is not run\n")
  os.exit(0)
end

local CONNS, SIZE = 100, 64
local SECS = quick and 1 or 2
local REPS = quick and 3 or 5

local function sh_quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local function capture(cmd)
  local f = io.popen(cmd .. " 2>/dev/null")
  local out = f:read("a") or ""
  f:close()
  return (out:gsub("%s+$", ""))
end

local script = arg[0]
if script:sub(1, 1) ~= "/" then script = capture("pwd") .. "/" .. script end
local ROOT = capture("cd " .. sh_quote(script:match("^(.*)/[^/]*$") .. "/..") .. " && pwd")
local BIN = ROOT .. "/build/bench"
local LOG = BIN .. "/echo.log"
local LUA = "lua5.4"
outfile = outfile or (ROOT .. "/bench/results.md")

local function say(...) io.stderr:write("[echo] ", string.format(...), "\n") end

local function parse_kv(line)
  local t = {}
  for k, v in line:gmatch("(%w[%w_]*)=(%S+)") do t[k] = tonumber(v) or v end
  return t
end

assert(os.execute("make -s -C " .. sh_quote(ROOT) .. " all >/dev/null"), "make failed")
assert(os.execute("make -s -C " .. sh_quote(ROOT .. "/bench") .. " BUILD=" .. sh_quote(BIN)
  .. " " .. sh_quote(BIN .. "/echo_load")), "building echo_load failed")

local ENV = ("env LUA_PATH=%s LUA_CPATH=%s %s"):format(
  sh_quote(ROOT .. "/bench/lua/?.lua;" .. ROOT .. "/lua/?.lua;" .. ROOT .. "/?.lua;;"),
  sh_quote(ROOT .. "/build/?.so;;"), engine and ("WSARECV_ENGINE=" .. sh_quote(engine) .. " ") or "")

-- One run: the server in the background (its output to a file), the load
-- in the foreground.  -> { rps, cpu_us (server CPU per request) } or nil, why
local function once(impl)
  local sout = os.tmpname()
  local pidfile = os.tmpname()
  local limit = SECS * 2 + 30
  os.execute(("%s taskset -c 0 timeout -k 2 %d %s %s %s %d >%s 2>>%s & echo $! >%s"):format(
    ENV, limit, LUA, sh_quote(ROOT .. "/bench/lua/echo_server.lua"), impl, CONNS,
    sh_quote(sout), sh_quote(LOG), sh_quote(pidfile)))
  local port
  for _ = 1, 200 do                                   -- up to 10 s
    local f = io.open(sout)
    local line = f and f:read("l")
    if f then f:close() end
    port = line and line:match("^READY port=(%d+)")
    if port then break end
    os.execute("sleep 0.05")
  end
  local function fail(why)
    local f = io.open(pidfile)
    local pid = f and f:read("l")
    if f then f:close() end
    if pid then os.execute("kill " .. pid .. " 2>/dev/null") end
    os.remove(sout) os.remove(pidfile)
    return nil, impl .. ": " .. why
  end
  if not port then return fail("the server did not start (see " .. LOG .. ")") end
  local load = capture(("taskset -c 1 timeout -k 2 %d %s %s %d %g %d 2>>%s"):format(
    limit, sh_quote(BIN .. "/echo_load"), port, CONNS, SECS, SIZE, sh_quote(LOG)))
  local lr = load:match("RESULT[^\n]*")
  if not lr then return fail("the load failed: " .. load .. " (see " .. LOG .. ")") end
  lr = parse_kv(lr)
  local sr
  for _ = 1, 200 do                                   -- the server ends by itself
    local f = io.open(sout)
    local all = f and f:read("a") or ""
    if f then f:close() end
    sr = all:match("RESULT[^\n]*")
    if sr then break end
    os.execute("sleep 0.05")
  end
  if not sr then return fail("the server did not end") end
  os.remove(sout) os.remove(pidfile)
  sr = parse_kv(sr)
  if lr.err ~= 0 or sr.conns ~= CONNS then
    return nil, ("%s: %d content errors, %d of %d connections ended"):format(impl, lr.err, sr.conns, CONNS)
  end
  -- the server's CPU over the whole run, per request of the whole run:
  -- requests counted / measured period x the run's length
  local total = lr.rps * (SECS * 1.2)
  return { rps = lr.rps, cpu_us = sr.cpu_ns / 1000 / total }
end

local function median(t)
  local s = {}
  for i, v in ipairs(t) do s[i] = v end
  table.sort(s)
  local n = #s
  if n == 0 then return nil end
  return n % 2 == 1 and s[(n + 1) // 2] or (s[n // 2] + s[n // 2 + 1]) / 2
end

os.execute("mkdir -p " .. sh_quote(BIN))
os.remove(LOG)
local IMPLS = {
  { key = "async", name = "wsarecv.async (examples/echo.lua: async.accept, async.recv, async.send)" },
  { key = "luv", name = "luv (tcp:listen, accept, read_start, write)" },
}
local runs, failures = { async = {}, luv = {} }, {}
local load0 = capture("cut -d' ' -f1-3 /proc/loadavg")
for rep = 1, REPS do
  local order = rep % 2 == 1 and { 1, 2 } or { 2, 1 }
  for _, i in ipairs(order) do
    local impl = IMPLS[i].key
    local r, why = once(impl)
    if r then
      say("rep %d %-5s %8.0f req/s, server CPU %.2f us/request", rep, impl, r.rps, r.cpu_us)
      runs[impl][#runs[impl] + 1] = r
    else
      say("rep %d %s FAILED: %s", rep, impl, why)
      failures[#failures + 1] = why
    end
  end
end
local load1 = capture("cut -d' ' -f1-3 /proc/loadavg")

local med = {}
for _, im in ipairs(IMPLS) do
  local rps, cpu = {}, {}
  for _, r in ipairs(runs[im.key]) do rps[#rps + 1] = r.rps; cpu[#cpu + 1] = r.cpu_us end
  med[im.key] = { rps = median(rps), cpu = median(cpu), n = #rps,
                  lo = #rps > 0 and math.min(table.unpack(rps)), hi = #rps > 0 and math.max(table.unpack(rps)) }
end

local out = {}
local function put(s) out[#out + 1] = s end
put("")
put("## Async echo (bench/echo.lua)")
put("")
put(("A TCP echo server, %d connections from a C epoll load (`bench/c/echo_load.c`, CPU 1), one %d-byte "
  .. "request outstanding on each, every echo checked; server on CPU 0; %d s counted after a warm-up; "
  .. "%d runs each, the servers alternating; medians. Run %s; load average at the start %s, at the end %s.")
  :format(CONNS, SIZE, SECS, REPS, capture("date -u '+%Y-%m-%d %H:%M UTC'"), load0, load1))
put("")
put("| server | requests/s (median) | min..max | server CPU us/request | runs |")
put("|---|---|---|---|---|")
for _, im in ipairs(IMPLS) do
  local m = med[im.key]
  if m.rps then
    put(("| %s | %.0f | %.0f..%.0f | %.2f | %d |"):format(im.name, m.rps, m.lo, m.hi, m.cpu, m.n))
  else
    put(("| %s | failed | | | 0 |"):format(im.name))
  end
end
put("")
if med.async.rps and med.luv.rps then
  put(("wsarecv.async / luv: **%.2fx** the requests/s, %.2fx the server CPU per request.")
    :format(med.async.rps / med.luv.rps, med.async.cpu / med.luv.cpu))
end
for _, f in ipairs(failures) do put("- FAILED: " .. f) end
local text = table.concat(out, "\n") .. "\n"
io.stdout:write(text)
-- our section is the file's last: an earlier run's is replaced
local f = io.open(outfile)
local old = f and f:read("a") or ""
if f then f:close() end
local at = old:find("\n## Async echo (bench/echo.lua)\n", 1, true)
if at then old = old:sub(1, at - 1) end
f = io.open(outfile, "w")
if f then
  f:write(old, text)
  f:close()
  say("wrote its section to %s", outfile)
else
  failures[#failures + 1] = "cannot write " .. outfile
end
os.exit(#failures == 0 and 0 or 1)
