-- bench/soak/soak.lua -- `make soak`: a long run in which every byte is
-- checked.
--
--   lua5.4 bench/soak/soak.lua [--quick] [--bytes N] [--datagrams N]
--          [--rate N] [--size N] [--stalls N] [--stall MS] [--ops N]
--          [--opsize N] [--rcvbuf N] [--watchdog S] [--limit S]
--          [--only tcp|udp] [--sender PATH] [--selftest]
--
-- Part 1, tcp: --bytes (1 GiB) over loopback TCP into --ops (64)
-- WSARecv operations of --opsize (64 KiB) kept outstanding, each with its
-- own buffer and routine and reposted from that routine.  Routines for one
-- socket run in posting order, so each completion's bytes belong at the
-- stream offset reached so far; every byte is compared there.
--
-- Part 2, udp: --datagrams (3,000,000) sequence-numbered datagrams of
-- --size (64) bytes, paced to --rate (50,000 a second), into --ops
-- WSARecvMsg operations on a socket with SO_RXQ_OVFL on and a large
-- SO_RCVBUF.  --stalls (3) times the receiver stops taking completions for
-- --stall (500) ms, as a busy program would, so the queue overflows and
-- the kernel drops and counts datagrams.  Checked: sequence numbers
-- strictly increase (no duplicate, no reordering), payloads are intact,
-- every gap in the sequence matches the rise of the cumulative drop
-- counter (the SO_RXQ_OVFL control message), and received + drops = sent.
-- The drop counter reaches the receiver only on a datagram that comes
-- after the drops, so at the end the receiver sends itself probe
-- datagrams until one arrives.
--
-- The sender is a separate process (bench/soak/soak_send.c, which also
-- describes the byte patterns).  A watchdog fails a part that makes no
-- progress for --watchdog (10) seconds; --limit (150) bounds each part.
-- Prints the figures, with the process RSS and the Lua heap (after full
-- collections) at the start and the end of each part; the exit status is 0
-- only when every check passed.  --quick: 64 MiB and 200,000 datagrams.
-- --selftest runs short soaks with faults the sender makes on purpose
-- (SOAK_FAULT, see soak_send.c) and checks that each one is caught.
local wsarecv = require "wsarecv"

local P, ROT = 4093, 61          -- as in soak_send.c
local PROBE = 1 << 62            -- sequence numbers of the probes
local here = debug.getinfo(1, "S").source:sub(2):match("^(.*)/") or "."

-- =====================================================================
-- Options
-- =====================================================================

local opt = {
  bytes = 1 << 30, datagrams = 3000000, rate = 50000, size = 64,
  stalls = 3, stall = 500, ops = 64, opsize = 65536, rcvbuf = 4 << 20,
  watchdog = 10, limit = 150, only = "",
  sender = here .. "/../../build/soak/soak_send", selftest = false,
}
local TEXT = { sender = true, only = true }   -- the options that are text

-- "64M", "1G", "200k" or a plain number
local function number(s)
  local n, unit = tostring(s):match("^(%d+)([kKmMgG]?)$")
  if not n then return nil end
  local mul = { [""] = 1, k = 1 << 10, m = 1 << 20, g = 1 << 30 }
  return math.tointeger(n) * mul[unit:lower()]
end

local function usage(msg)
  io.stderr:write("soak: ", msg, "\nusage: lua5.4 bench/soak/soak.lua "
    .. "[--quick] [--bytes N] [--datagrams N] [--rate N] [--size N] "
    .. "[--stalls N] [--stall MS] [--ops N] [--opsize N] [--rcvbuf N] "
    .. "[--watchdog S] [--limit S] [--only tcp|udp] [--sender PATH] "
    .. "[--selftest]\n")
  os.exit(2)
end

local function parse(args)
  local i = 1
  while args[i] do
    local name, value = args[i]:match("^%-%-([%w]+)=?(.*)$")
    if name == "quick" then
      opt.bytes, opt.datagrams = 64 << 20, 200000
    elseif name == "selftest" then
      opt.selftest = true
    elseif name and opt[name] ~= nil then
      if value == "" then i = i + 1; value = args[i] end
      if value == nil then usage("--" .. name .. " needs a value") end
      opt[name] = TEXT[name] and value or number(value)
      if not opt[name] then usage("bad value for --" .. name) end
    else
      usage("unknown argument " .. args[i])
    end
    i = i + 1
  end
  if opt.size < 8 or opt.size > 1472 then usage("--size must be 8..1472") end
  if opt.ops < 1 or opt.ops > 4096 then usage("--ops must be 1..4096") end
  if opt.opsize < 1 then usage("--opsize must be positive") end
  if opt.only ~= "" and opt.only ~= "tcp" and opt.only ~= "udp" then
    usage("--only takes tcp or udp")
  end
end

-- =====================================================================
-- Figures and failures
-- =====================================================================

local failures = {}

local function fail(part, fmt, ...)
  failures[#failures + 1] = part .. ": " .. fmt:format(...)
  print("soak: FAIL " .. failures[#failures])
  return false
end

-- seconds since boot, 10 ms steps: a monotonic wall clock
local function uptime()
  local f = assert(io.open("/proc/uptime"))
  local t = f:read("n")
  f:close()
  return t
end

local function rss_kib()
  local f = assert(io.open("/proc/self/status"))
  local s = f:read("a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+) kB"))
end

-- memory where a part starts or ends: the RSS, and the heap that is
-- still reachable (two full collections first: what a finalized socket
-- held is freed by the second)
local function mark()
  collectgarbage("collect")
  collectgarbage("collect")
  return { rss = rss_kib(), heap = collectgarbage("count") }
end

local function memory_line(part, m0, m1)
  print(("%s: RSS %.1f MiB -> %.1f MiB, Lua heap %.0f KiB -> %.0f KiB")
    :format(part, m0.rss / 1024, m1.rss / 1024, m0.heap, m1.heap))
  -- a leak of even a few bytes per completion would show here
  if m1.heap - m0.heap > 1024 then
    fail(part, "the Lua heap grew by %.0f KiB", m1.heap - m0.heap)
  end
  if m1.rss - m0.rss > 64 * 1024 then
    fail(part, "the RSS grew by %.1f MiB", (m1.rss - m0.rss) / 1024)
  end
end

-- =====================================================================
-- The sender, waits
-- =====================================================================

local function quote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

-- soak_send with args, under `timeout` so that it cannot outlive the
-- part; its pid comes first on its output (timeout execs in the shell)
local function spawn(...)
  local args = { "timeout", "-k", "2", opt.limit + 10, opt.sender, ... }
  for i, a in ipairs(args) do args[i] = quote(a) end
  local proc = assert(io.popen("echo $$; exec " .. table.concat(args, " ")))
  return { proc = proc, pid = math.tointeger(proc:read("n")) }
end

-- Its SENT line (a table of its fields), or nil and why it failed.  With
-- stop, it is told to stop first (timeout passes SIGTERM on): a part
-- that failed does not wait for the rest of the sending.
local function reap(sender, stop)
  if stop and sender.pid then
    os.execute(("kill %d 2>/dev/null"):format(sender.pid))
  end
  local out = sender.proc:read("a")
  local ok, how, code = sender.proc:close()
  local sent = {}
  for k, v in out:gmatch("(%w+)=([%d.]+)") do sent[k] = tonumber(v) end
  if not ok then return nil, ("sender %s %s"):format(how, code) end
  return sent
end

-- accept within secs (the sender might never connect)
local function accept_within(lsock, secs)
  assert(lsock:setsockopt("FIONBIO", true))
  local deadline = os.time() + secs
  repeat
    local conn, err = lsock:accept()
    if conn then return conn end
    if err ~= "WSAEWOULDBLOCK" then return nil, err end
    wsarecv.SleepEx(20, true)
  until os.time() > deadline
  return nil, "no connection within " .. secs .. " s"
end

-- Alertable waits until done() holds, calling tick() (if any) after
-- each.  Fails when progress() stays the same for more than opt.watchdog
-- seconds (os.time: whole seconds), or the part runs past opt.limit.
local function wait_until(part, done, progress, tick)
  local start, last, seen = os.time(), os.time(), progress()
  while not done() do
    wsarecv.SleepEx(100, true)
    if tick then tick() end
    local now, p = os.time(), progress()
    if p ~= seen then
      seen, last = p, now
    elseif now - last > opt.watchdog then
      return fail(part, "watchdog: no progress for more than %d s (at %s)",
                  opt.watchdog, p)
    end
    if now - start >= opt.limit then
      return fail(part, "time limit: %d s", opt.limit)
    end
  end
  return true
end

-- =====================================================================
-- The patterns (see soak_send.c)
-- =====================================================================

local function fill(j)
  local z = (j + 1) * 0x9E3779B97F4A7C15
  z = (z ~ (z >> 30)) * 0xBF58476D1CE4E5B9
  z = (z ~ (z >> 27)) * 0x94D049BB133111EB
  return (z ~ (z >> 31)) & 0xff
end

local function fill_string(from, to)
  local t = {}
  for j = from, to do t[#t + 1] = string.char(fill(j)) end
  return table.concat(t)
end

local FILL = fill_string(8, P - 1)      -- a stream block after its header

-- the 1-based index of the first byte where a and b differ
local function first_diff(a, b)
  for i = 1, math.max(#a, #b) do
    if a:byte(i) ~= b:byte(i) then return i end
  end
end

-- Do buf's first n bytes hold the stream from offset off on?  One block
-- piece at a time: its header against string.pack, the rest against
-- FILL, each a string compare.  Returns the offset of a wrong byte.
local function stream_check(buf, n, off)
  local pos = 1
  while pos <= n do
    local j = off % P                         -- off's place in its block
    local len = math.min(P - j, n - pos + 1)  -- this block's bytes in buf
    if j < 8 then
      local h = math.min(8 - j, len)
      local got = buf:sub(pos, pos + h - 1)
      local want = string.pack(">i8", off - j):sub(j + 1, j + h)
      if got ~= want then return off + first_diff(got, want) - 1 end
    end
    local f, last = math.max(j, 8), j + len - 1
    if last >= f then
      local got = buf:sub(pos + f - j, pos + last - j)
      local want = (f == 8 and last == P - 1) and FILL
                   or FILL:sub(f - 7, last - 7)
      if got ~= want then
        return off + (f - j) + first_diff(got, want) - 1
      end
    end
    pos, off = pos + len, off + len
  end
end

-- =====================================================================
-- Part 1: TCP
-- =====================================================================

local function tcp_part()
  local part = "tcp"
  local m0, failed = mark(), #failures
  local lsock = assert(wsarecv.socket("inet", "stream"))
  assert(lsock:bind("127.0.0.1", 0))
  assert(lsock:listen())
  local _, port = lsock:getsockname()
  local sender = spawn("tcp", port, opt.bytes)
  local conn, err = accept_within(lsock, 10)
  lsock:close()
  if not conn then
    fail(part, "accept: %s", err)
    reap(sender, true)
    return
  end

  local received, completions, posted, delivered = 0, 0, 0, 0
  local stop, eof, t_eof = false, false, nil
  local tickets = {}                -- posting number of each op's receive

  local function post(i, buf, ov, routine)
    posted = posted + 1
    tickets[i] = posted
    local ok, e = conn:WSARecv(buf, 0, ov, routine)
    if not ok and e ~= "WSA_IO_PENDING" then
      stop = true
      fail(part, "WSARecv: %s", e)
    end
  end

  local function make(i, buf, ov)
    local routine
    routine = function(e, n)
      delivered = delivered + 1
      if e == "WSA_OPERATION_ABORTED" and stop then return end
      if tickets[i] ~= delivered then
        stop = true
        return fail(part, "completion %d is receive #%d: not in posting order",
                    delivered, tickets[i])
      end
      if e then
        stop = true
        return fail(part, "completion %d: %s", delivered, e)
      end
      if stop then return end
      if n == 0 then                              -- the sender closed
        eof, stop, t_eof = true, true, uptime()
        return
      end
      completions = completions + 1
      local bad = stream_check(buf, n, received)
      if bad then
        stop = true
        return fail(part, "wrong byte at stream offset %d (completion %d, "
                    .. "%d bytes at offset %d)", bad, delivered, n, received)
      end
      received = received + n
      if received > opt.bytes then
        stop = true
        return fail(part, "%d bytes received, %d sent", received, opt.bytes)
      end
      post(i, buf, ov, routine)
    end
    return routine
  end

  local t0, c0 = uptime(), os.clock()
  for i = 1, opt.ops do
    local buf, ov = wsarecv.buffer(opt.opsize), wsarecv.overlapped()
    post(i, buf, ov, make(i, buf, ov))
  end
  if not wait_until(part, function() return stop end,
                    function() return received end) then
    stop = true
  end
  local t1, cpu = t_eof or uptime(), os.clock() - c0
  conn:close()
  wsarecv.run()
  local sent, why = reap(sender, #failures > failed)
  -- after a failure the receiver stopped early: the rest would follow
  if #failures > failed then
  elseif not sent then fail(part, "%s", why)
  elseif sent.bytes ~= opt.bytes then
    fail(part, "the sender sent %s bytes of %d", sent.bytes, opt.bytes)
  elseif not eof then fail(part, "no graceful close seen")
  elseif received ~= opt.bytes then
    fail(part, "%d bytes received, %d sent", received, opt.bytes)
  end

  local secs = math.max(t1 - t0, 0.01)
  print(("tcp: %d bytes in %.2f s = %.1f MB/s (%.2f Gbit/s) through %d x "
    .. "%d-byte WSARecv; %d completions, in posting order, every byte "
    .. "verified%s; receiver CPU %.2f s")
    :format(received, secs, received / secs / 1e6, received * 8 / secs / 1e9,
            opt.ops, opt.opsize, completions,
            #failures > failed and " (unless reported above)" or "", cpu))
  conn, sender = nil, nil
  memory_line(part, m0, mark())
end

-- =====================================================================
-- Part 2: UDP
-- =====================================================================

-- what follows the sequence number in datagram seq, by seq % ROT
local function payloads(size)
  local t = {}
  for r = 0, ROT - 1 do t[r] = fill_string(8 + r, size - 1 + r) end
  return t
end

local function udp_part()
  local part = "udp"
  local m0, failed = mark(), #failures
  local size, count = opt.size, opt.datagrams
  local PAYLOAD = payloads(size)
  local sock = assert(wsarecv.socket("inet", "dgram"))
  assert(sock:setsockopt("SO_RCVBUF", opt.rcvbuf))
  assert(sock:setsockopt("SO_RXQ_OVFL", true))
  assert(sock:bind("127.0.0.1", 0))
  local _, port = sock:getsockname()
  local rcvbuf = sock:getsockopt("SO_RCVBUF")
  local lsock = assert(wsarecv.socket("inet", "stream"))
  assert(lsock:bind("127.0.0.1", 0))
  assert(lsock:listen())
  local _, ctlport = lsock:getsockname()

  local received, last, drops = 0, -1, 0
  local probes_sent, probes_recv = 0, 0
  local posted, delivered, stop, closing = 0, 0, false, false
  local gaps_ok = true
  local tickets = {}

  local function post(i, msg, ov, routine)
    posted = posted + 1
    tickets[i] = posted
    local ok, e = sock:WSARecvMsg(msg, ov, routine)
    if not ok and e ~= "WSA_IO_PENDING" then
      stop = true
      fail(part, "WSARecvMsg: %s", e)
    end
  end

  -- the cumulative drop count this datagram carries (none: no drops yet)
  local function drop_count(msg)
    if msg.controllen == 0 then return 0 end
    for _, c in ipairs(msg:control()) do
      if c.type == "SO_RXQ_OVFL" then return c.drops end
    end
    return 0
  end

  -- one datagram: false (after fail) if it breaks a rule
  local function check(buf, n, msg)
    local d = drop_count(msg)
    if d < drops then
      return fail(part, "drop counter went from %d back to %d", drops, d)
    end
    local seq = n >= 8 and string.unpack(">i8", buf:sub(1, 8)) or -1
    if seq >= PROBE then
      probes_recv, drops = probes_recv + 1, d
      return true
    elseif n ~= size then
      return fail(part, "a %d-byte datagram (%d expected)", n, size)
    elseif seq <= last then
      return fail(part, "sequence %d after %d: duplicate or reordered",
                  seq, last)
    elseif seq >= count then
      return fail(part, "sequence %d: never sent", seq)
    elseif buf:sub(9, n) ~= PAYLOAD[seq % ROT] then
      return fail(part, "datagram %d: payload differs", seq)
    end
    -- a gap the counter does not explain: reported once, and the run goes
    -- on (a reordering then shows as such on the next datagram)
    if seq - last - 1 ~= d - drops and gaps_ok then
      gaps_ok = fail(part, "%d datagram(s) missing before sequence %d, "
        .. "but the drop counter rose by %d", seq - last - 1, seq, d - drops)
    end
    last, drops, received = seq, d, received + 1
    return true
  end

  local function make(i, msg, buf)
    local routine
    routine = function(e, n, ov)
      delivered = delivered + 1
      if e == "WSA_OPERATION_ABORTED" and (stop or closing) then return end
      if tickets[i] ~= delivered then
        stop = true
        return fail(part, "completion %d is receive #%d: not in posting order",
                    delivered, tickets[i])
      end
      if e then
        stop = true
        return fail(part, "completion %d: %s", delivered, e)
      end
      if stop then return end
      if not check(buf, n, msg) then stop = true return end
      post(i, msg, ov, routine)
    end
    return routine
  end

  for i = 1, opt.ops do
    local buf = wsarecv.buffer(2048)   -- longer than any datagram sent
    local msg = wsarecv.msg{ buffers = buf, control = 64 }
    post(i, msg, wsarecv.overlapped(), make(i, msg, buf))
  end

  -- a receiver too busy to take completions: non-alertable waits move
  -- data only into the operations already posted, the rest queues
  local stalls, next_stall = 0, count // (opt.stalls + 1)
  local function tick()
    if stalls < opt.stalls and received >= next_stall then
      stalls = stalls + 1
      next_stall = count * (stalls + 1) // (opt.stalls + 1)
      wsarecv.SleepEx(opt.stall, false)
    end
  end

  -- the sender says on the control connection how many it sent
  local t0, c0 = uptime(), os.clock()
  local sender = spawn("udp", port, ctlport, count, size, opt.rate)
  local ctl, err = accept_within(lsock, 10)
  lsock:close()
  local ctltext, ctldone = "", false
  if ctl then
    local cbuf = wsarecv.buffer(256)
    local function on_ctl(e, n, ov)
      if e or n == 0 then ctldone = true return end
      ctltext = ctltext .. cbuf:sub(1, n)
      ctl:WSARecv(cbuf, 0, ov, on_ctl)
    end
    ctl:WSARecv(cbuf, 0, nil, on_ctl)
    if not wait_until(part, function() return ctldone or stop end,
                      function() return received + #ctltext end, tick) then
      stop = true
    end
  else
    stop = fail(part, "control connection: %s", err) or true
  end
  -- what is still queued arrives (the control connection can overtake
  -- it), until 100 ms pass without a datagram
  local before, quiet_since = -1, uptime()
  while ctldone and not stop and uptime() - quiet_since < 0.1 do
    wsarecv.SleepEx(20, true)
    if received ~= before then before, quiet_since = received, uptime() end
    if uptime() - t0 > opt.limit then
      fail(part, "time limit: %d s", opt.limit)
      break
    end
  end
  local t1, cpu = quiet_since, os.clock() - c0

  -- probes until one arrives: it carries the final drop count
  local psock = assert(wsarecv.socket("inet", "dgram"))
  local probe = string.pack(">i8", PROBE) .. ("\0"):rep(size - 8)
  while not stop and ctldone and probes_recv == 0 and probes_sent < 10 do
    assert(psock:sendto(probe, "127.0.0.1", port))
    probes_sent = probes_sent + 1
    local deadline = uptime() + 1
    while probes_recv == 0 and uptime() < deadline do
      wsarecv.SleepEx(10, true)
    end
  end
  for _ = 1, 5 do wsarecv.SleepEx(20, true) end    -- a late probe
  if ctldone and probes_recv == 0 and not stop then
    fail(part, "none of %d probe datagrams arrived", probes_sent)
  end

  closing = true
  sock:close()
  psock:close()
  if ctl then ctl:close() end
  wsarecv.run()
  local sent, why = reap(sender, #failures > failed)
  local done = tonumber(ctltext:match("^DONE (%d+)\n$"))
  local sdrops = drops - (probes_sent - probes_recv)   -- the sender's only
  if stop and #failures > failed then     -- stopped early: the rest follows
  elseif not sent then fail(part, "%s", why)
  elseif done ~= count or sent.datagrams ~= count then
    fail(part, "the sender sent %s datagrams of %d", done or "?", count)
  elseif received + sdrops ~= count then
    fail(part, "received %d + drops %d ~= %d sent", received, sdrops, count)
  end

  local secs = math.max(t1 - t0, 0.01)
  local ssent, ssecs = sent and sent.datagrams or 0, sent and sent.secs or 0
  local unless = #failures > failed and " (unless reported above)" or ""
  print(("udp: %d datagrams of %d B sent in %.2f s (%.0f/s), SO_RCVBUF %d; "
    .. "the receiver stalled %d time(s) for %d ms (non-alertable)")
    :format(ssent, size, ssecs, ssent / math.max(ssecs, 0.01), rcvbuf,
            stalls, opt.stall))
  print(("udp: received %d + drops %d (SO_RXQ_OVFL) = %d of %d sent; in "
    .. "order, no duplicate, payloads intact, every gap matched by the drop "
    .. "counter%s"):format(received, sdrops, received + sdrops, ssent, unless))
  print(("udp: %d datagrams received in %.2f s = %.0f/s through %d "
    .. "WSARecvMsg; %d probe(s) sent; receiver CPU %.2f s")
    :format(received, secs, received / secs, opt.ops, probes_sent, cpu))
  sock, ctl, psock, sender = nil, nil, nil, nil
  memory_line(part, m0, mark())
end

-- =====================================================================
-- Self-test: short soaks with faults, each of which must be caught
-- =====================================================================

local FAULTS = {
  { "",             "tcp", "\nsoak: PASS" },
  { "",             "udp", "\nsoak: PASS" },
  { "flip:1000003", "tcp", "FAIL tcp: wrong byte at stream offset 1000003 " },
  { "skip:2000000", "tcp", "FAIL tcp: wrong byte at stream offset 2000%d+ " },
  { "flip:5000",    "udp", "FAIL udp: datagram 5000: payload differs" },
  { "skip:5000",    "udp", "FAIL udp: 1 datagram%(s%) missing before "
                           .. "sequence 5001, but the drop counter rose by 0" },
  { "dup:5000",     "udp", "FAIL udp: sequence 5000 after 5000: duplicate" },
  { "swap:5000",    "udp", "FAIL udp: sequence 5000 after 5001: "
                           .. "duplicate or reordered" },
}

local function selftest()
  local lua = arg[-1] or "lua5.4"
  local ok = true
  for _, f in ipairs(FAULTS) do
    local cmd = ("SOAK_FAULT=%s %s %s --only %s --bytes 4M --datagrams 20000 "
      .. "--rate 200000 --stalls 0 --watchdog 5 --limit 30 --sender %s 2>&1")
      :format(quote(f[1]), quote(lua), quote(arg[0]), f[2], quote(opt.sender))
    local p = assert(io.popen(cmd))
    local out = p:read("a")
    local passed = p:close() == true
    local good = out:find(f[3]) ~= nil and passed == (f[1] == "")
    print(("selftest: %-13s %s: %s"):format(f[1] == "" and "no fault" or f[1],
      f[2], good and "ok" or "NOT CAUGHT"))
    if not good then io.write(out) end
    ok = ok and good
  end
  print("selftest: " .. (ok and "PASS" or "FAIL"))
  os.exit(ok and 0 or 1)
end

-- =====================================================================
-- Main
-- =====================================================================

parse(arg)
io.stdout:setvbuf("line")
if opt.selftest then selftest() end
print(("soak: %s on %s; tcp %d bytes, udp %d datagrams at %d/s; "
  .. "watchdog %d s"):format(wsarecv._VERSION, _VERSION, opt.bytes,
  opt.datagrams, opt.rate, opt.watchdog))
local t0 = uptime()
if opt.only ~= "udp" then tcp_part() end
if opt.only ~= "tcp" then udp_part() end
local elapsed = uptime() - t0
if #failures > 0 then
  print(("soak: FAIL (%d check(s) failed, %.1f s)"):format(#failures, elapsed))
  for _, f in ipairs(failures) do print("  " .. f) end
  os.exit(1)
end
print(("soak: PASS (%.1f s)"):format(elapsed))
