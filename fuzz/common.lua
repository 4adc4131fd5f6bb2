--[[
fuzz/common.lua -- what every part of the API-sequence fuzzer uses: time,
randomness, the operation log, failures and the counters
(fuzz/api_fuzz.lua loads it first; not run on its own).

  dofile(dir .. "/common.lua")(F)

F is the fuzzer's table.  api_fuzz.lua makes it (F.wsarecv, F.opt: the
options, F.KB: the known defects whose inputs are made, F.draining: true
while a session's end delivers everything) and adds F.P (the hooks of
fuzz/port_ops.lua) and F.routine_actions; each file under fuzz/ adds what
its header lists.  This one adds:
  F.now()               seconds since boot (/proc/uptime)
  F.random, F.chance(p), F.rint(a, b), F.pick(t)
                        every random choice goes through math.random, so a
                        seed replays the same operations
  F.log(fmt, ...)       one line of the operation log: kept in a ring of
                        the last F.LOGN, written as it goes with --trace
  F.recent(fh)          writes the ring to fh, oldest first
  F.fail(fmt, ...)      an invariant broke: the first message is kept in
                        F.failure and an error is raised
  F.check(cond, fmt, ...)
  F.show(v)             a value for a message (strings quoted)
  F.stats               the counters of the final report
  F.failure             nil until an invariant broke
  F.IOV_MAX             the most WSABUFs a receive takes
]]

return function(F)
  local opt = F.opt

  function F.now()
    local f = assert(io.open("/proc/uptime"))
    local t = f:read("n")
    f:close()
    return t
  end

  local random = math.random
  F.random = random
  function F.chance(p) return random() < p end
  function F.rint(a, b) return random(a, b) end
  function F.pick(t) return t[random(#t)] end

  local LOGN = 100
  local logbuf, logpos = {}, 0
  F.LOGN = LOGN
  function F.log(fmt, ...)
    logpos = logpos + 1
    logbuf[logpos % LOGN] = string.format(fmt, ...)
    if opt.trace then opt.trace:write(logbuf[logpos % LOGN], "\n") end
  end

  function F.recent(fh)
    for i = math.max(1, logpos - LOGN + 1), logpos do
      fh:write("  ", logbuf[i % LOGN], "\n")
    end
  end

  F.failure = nil                       -- the first invariant break
  local function fail(fmt, ...)
    local msg = string.format(fmt, ...)
    F.failure = F.failure or msg
    error("FUZZ-INVARIANT: " .. msg, 2)
  end
  F.fail = fail

  function F.check(cond, fmt, ...)
    if not cond then fail(fmt, ...) end
  end

  F.stats = {
    seeds = 0, iterations = 0, posted = 0, completions = 0, routines = 0,
    events = 0, sync = 0, failed_at_once = 0, bytes = 0, dgrams = 0,
    pieces = 0, peeks = 0, aborted = 0, raises = 0, rethrown = 0,
    probes = 0, waits = 0, gcs = 0, closes = 0, cancels = 0, udp_lost = 0,
  }

  function F.show(v)
    if type(v) == "string" then return string.format("%q", v) end
    return tostring(v)
  end

  F.IOV_MAX = 1024
end
