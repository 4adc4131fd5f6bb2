--[[
fuzz/api_fuzz.lua -- a seeded, reproducible random API-sequence test of
wsarecv (issue 7, "make it stay fixed").

  lua5.4 fuzz/api_fuzz.lua [--seed N] [--seconds S] [--seeds K]
                           [--iterations N] [--known-bugs off|on|LIST] [-v]
                           [--trace | --trace-file F]
  (or FUZZ_SEED, FUZZ_SECONDS, FUZZ_SEEDS, FUZZ_ITERATIONS, FUZZ_KNOWN_BUGS)
  make fuzz SECONDS=N [SEED=N] [FUZZ_ARGS=...]    make fuzz-asan SECONDS=N

Runs seed, seed+1, ... (one session each, at most --seeds of them) until
--seconds are used up; a session starts from nothing, so --seed N --seeds 1
replays one (the kernel's timing aside: TCP segmenting, partial sends).
--trace writes the operation log as it goes (--trace-file: buffered, for a
hang: `gdb -p PID -batch -ex 'call (int)fflush(0)' -ex bt`).  A session opens one receiver/sender pair of each
kind (udp4, udp6, tcp4, tcp6, unix dgram, unix seqpacket, unix stream; the
sender lives in this process and is nonblocking), then makes random calls:
WSARecv and WSARecvMsg in all three forms (routine, event, nonoverlapped
with FIONBIO or SO_RCVTIMEO), good and bad WSABUF arrays and slices,
defined and undefined flags (MSG_PARTIAL, MSG_PEEK, MSG_WAITALL, MSG_OOB,
...), reused overlapped objects, msgs and buffers, CancelIoEx, close and
shutdown (also inside routines), errors raised in routines, collectgarbage
and dropped references at random points, every kind of wait (SleepEx
alertable or not, WSAWaitForMultipleEvents any/all/alertable, run
"nowait"/"once"/"default", WSAGetOverlappedResult wait/no-wait; some from
inside routines or coroutines), wrong argument types -- while the sender
feeds a known byte stream (a pattern with a prime period) and numbered
datagrams whose content follows from their number.  fuzz/port_ops.lua
(its header says more) adds completion ports and the pollfd surface:
ports made and closed (also with entries queued and packets posted, and
from finalizers), receivers associated under keys of any type, receives
without routine completing to the port, ov.rearm and ov.noport,
GetQueuedCompletionStatus(Ex) in both entry forms with timeouts 0, short
and INFINITE, alertable or not, from routines and from __gc finalizers
(objects with __gc dropped at random, and waits primed so that their own
allocations run finalizers while the batch is written),
PostQueuedCompletionStatus packets, port:queued()/timeout()/pollfd(),
wsarecv.pollfd()/events()/timeout()/ready()/wake().

Invariants checked (a break prints the seed, the iteration and the recent
operation log, and exits 1):
  - every posted operation completes exactly once: its routine runs once
    (with the overlapped object, msg, bytes and flags it was posted with),
    or its event is signalled and its result read, the same each time; an
    operation cancelled (CancelIoEx on it, on all, or close) completes with
    WSA_OPERATION_ABORTED, one that was not never does; a post that fails
    at once gets no completion; sock:pending() matches the model;
  - routines run only inside alertable waits, never nested for a socket;
    a wait returns WAIT_IO_COMPLETION exactly when routines ran; an error
    raised in a routine comes out of the wait that ran it, once, with a
    traceback (an error object with __tostring comes out as that string,
    without one, as from lua.c's handler); data completions of a socket
    run in posting order; a receive whose datagram is waiting completes;
  - stream bytes arrive in posting order, nothing lost or duplicated
    (MSG_WAITALL fills the buffers or ends at the peer's close; MSG_PEEK
    shows the next bytes without taking them);
  - datagrams are neither duplicated, reordered nor corrupted; MSG_PARTIAL
    pieces concatenate to the datagram; a truncated one reports WSAEMSGSIZE
    with a correct prefix (and MSG_TRUNC for WSARecvMsg); the source
    address and the control messages the receiver enabled are right, and
    MSG_CTRUNC is set exactly when they do not fit;
  - nothing is written outside the bytes a completion reports (buffers are
    filled with a sentinel before each post);
  - results are the documented ones (WSAEFAULT for bad slices, WSAENOBUFS
    past 1024 WSABUFs, WSAEOPNOTSUPP for the flag rules, WSAEINVAL for busy
    objects, WSAENOTSOCK after close, ...);
  - wrong argument types raise (pcall gives false, "bad argument ..."),
    with no side effect;
  - completion ports: every entry is handed out exactly once -- an
    operation posted without routine on an associated socket completes
    once, through the port, with the socket's key, its own object and
    ov.bytes/error/flags as the entry says (WSA_OPERATION_ABORTED exactly
    for the cancelled and closed ones, also those waiting to be rearmed),
    its data checked as above; a packet comes back once with its own
    bytes, key and object; entries of a socket in posting order; an
    object with ov.rearm is posted again by the port's next wait, exactly
    when the rules say; a batch writes no table past n (past n + 1 when
    a nested wait or a close came mid-batch) and counts its failed
    entries; nothing is stranded: at a session's end, waits drain
    every port of every outstanding entry;
  - port:queued() is the model's count, port:timeout() 0 while entries or
    rearms wait, port:pollfd() readable while entries are queued;
    wsarecv.ready() within the model's bounds, pollfd() readable (or
    timeout() 0) after wake() and whenever run("nowait") leaves routines
    ready; after a post with its datagram waiting, the port's descriptor
    and the module's are readable or their timeout() is 0 (LuaSocket's
    select polls them).

Known defects.  Each id below names a defect this test found or was
written against; the test demands the fixed behaviour (--known-bugs on,
the default).  All are fixed but the p ids (issue 14, being fixed).
--known-bugs off (or a comma list of ids) avoids the inputs that would
crash or hang on the defects named, accepting the old behaviour where it
differed: for bisecting an old build, or today's code for the p ids.
  1   msg:control() on a control buffer the caller overwrote (bad cmsg_len)
      overflows or loops (probed in a child process, bounded by timeout)
  2a  a slice {buf, math.mininteger} (no length) overflows a signed integer
  3   flags >= 2^32 are truncated to their low 32 bits (must be refused)
  4   addresses with embedded zeros are accepted (must be refused)
  5   on a closed socket some methods return WSAENOTSOCK before checking
      their argument types (must raise)
  6   a msg can be posted again while its routine is still queued (must be
      WSAEINVAL)
  7   SleepEx(2^62) sleeps forever (probed in a child process)
  10  an empty-buffer WSARecv on a message socket completes with 0 bytes and
      leaves the datagram queued (must be WSAEMSGSIZE, datagram consumed)
  11  WSARecvMsg with a too-small control buffer succeeds (must fail with
      WSAEMSGSIZE, MSG_CTRUNC set)
  12  an overlapped receive that completes at once with WSAEMSGSIZE fails
      the call (must return WSA_IO_PENDING; the completion brings it)
  timer  (found by this fuzzer) a finite wait -- SleepEx(ms > 0),
      WSAWaitForMultipleEvents(..., ms > 0), a nonoverlapped receive under
      SO_RCVTIMEO -- can block forever when no I/O comes: pump() arms the
      libuv timer from the loop's cached time, uv_run(UV_RUN_ONCE) fires it
      before polling once a millisecond boundary has passed, then polls
      with no timeout.  With it off, such waits are made only when an I/O
      event or a routine is sure to end them.
  rest  (found by this fuzzer) on a datagram socket, a receive a routine
      posts while the rest of a MSG_PARTIAL datagram waits in wsarecv's own
      buffer is not served until another datagram arrives, when an earlier
      receive had found the socket empty (flush() skips drain() on s->dry,
      and no poll event will come); receives queued behind it wait too,
      even after it is cancelled.  With it off, no receive is counted on to
      complete while a rest may be buffered (no INFINITE wait relies on it,
      the liveness check skips it).
  p1, p2, p3, p4, p4w, p5, p8, p12  (issue 14) the completion-port
      defects: see fuzz/port_ops.lua.  p1, p2, p4w and p5 are probed in a
      child process first (p5 only without ASan); p1 and p2 are made in
      this process only once their probe passed.
]]

local wsarecv = require "wsarecv"

local MSG_OOB, MSG_PEEK, MSG_WAITALL = wsarecv.MSG_OOB, wsarecv.MSG_PEEK,
  wsarecv.MSG_WAITALL
local MSG_PUSH, MSG_PARTIAL = wsarecv.MSG_PUSH_IMMEDIATE, wsarecv.MSG_PARTIAL
local MSG_TRUNC, MSG_CTRUNC = wsarecv.MSG_TRUNC, wsarecv.MSG_CTRUNC
local MSG_BCAST, MSG_MCAST = wsarecv.MSG_BCAST, wsarecv.MSG_MCAST
local KNOWN_FLAGS = MSG_OOB | MSG_PEEK | MSG_WAITALL | MSG_PUSH | MSG_PARTIAL
local IOV_MAX = 1024
local ERR = wsarecv.errors

---------------------------------------------------------------------------
-- options
---------------------------------------------------------------------------

local KNOWN_BUG_IDS = { "1", "2a", "3", "4", "5", "6", "7", "10", "11", "12",
                        "timer", "rest", "p1", "p2", "p3", "p4", "p4w", "p5",
                        "p8", "p12" }

local opt = {
  seed = tonumber(os.getenv("FUZZ_SEED") or ""),
  seconds = tonumber(os.getenv("FUZZ_SECONDS") or "") or 10,
  seeds = tonumber(os.getenv("FUZZ_SEEDS") or "") or math.huge,
  iterations = tonumber(os.getenv("FUZZ_ITERATIONS") or ""),
  known = os.getenv("FUZZ_KNOWN_BUGS") or "on",
  verbose = false,
}

local function usage(msg)
  io.stderr:write((msg and msg .. "\n" or ""), "usage: lua5.4 fuzz/api_fuzz.lua ",
    "[--seed N] [--seconds S] [--seeds K] [--iterations N] ",
    "[--known-bugs off|on|1,2a,p1,...] [-v] [--trace | --trace-file F]\n")
  os.exit(2)
end

do
  local i = 1
  while i <= #arg do
    local a, v = arg[i], arg[i + 1]
    local function num()
      i = i + 1
      return tonumber(v) or usage(a .. " needs a number")
    end
    if a == "--seed" then opt.seed = num()
    elseif a == "--seconds" then opt.seconds = num()
    elseif a == "--seeds" then opt.seeds = num()
    elseif a == "--iterations" then opt.iterations = num()
    elseif a == "--known-bugs" then opt.known = v or usage(); i = i + 1
    elseif a == "-v" or a == "--verbose" then opt.verbose = true
    elseif a == "--trace" then opt.trace = io.stderr
    elseif a == "--trace-file" then
      opt.trace = assert(io.open(v or usage(), "w"))
      opt.trace:setvbuf("full", 1 << 20)
      i = i + 1
    elseif a == "-h" or a == "--help" then usage()
    else usage("unknown argument " .. a) end
    i = i + 1
  end
end

opt.seed = math.tointeger(opt.seed) or (os.time() % 1000000)

-- KB[id]: generate the inputs of known defect id and demand the fix
local KB = {}
local P           -- the port and pollfd surfaces (fuzz/port_ops.lua), below
if opt.known == "on" or opt.known == "all" then
  for _, id in ipairs(KNOWN_BUG_IDS) do KB[id] = true end
elseif opt.known ~= "off" and opt.known ~= "" then
  for id in opt.known:gmatch("[^,%s]+") do KB[id] = true end
end

---------------------------------------------------------------------------
-- time, randomness, the log, failures
---------------------------------------------------------------------------

local function now()
  local f = assert(io.open("/proc/uptime"))
  local t = f:read("n")
  f:close()
  return t
end

local random = math.random
local function chance(p) return random() < p end
local function rint(a, b) return random(a, b) end
local function pick(t) return t[random(#t)] end

local LOGN = 100
local logbuf, logpos = {}, 0
local function log(fmt, ...)
  logpos = logpos + 1
  logbuf[logpos % LOGN] = string.format(fmt, ...)
  if opt.trace then opt.trace:write(logbuf[logpos % LOGN], "\n") end
end

local failure                         -- the first invariant break
local function fail(fmt, ...)
  local msg = string.format(fmt, ...)
  failure = failure or msg
  error("FUZZ-INVARIANT: " .. msg, 2)
end

local function check(cond, fmt, ...)
  if not cond then fail(fmt, ...) end
end

local stats = {
  seeds = 0, iterations = 0, posted = 0, completions = 0, routines = 0,
  events = 0, sync = 0, failed_at_once = 0, bytes = 0, dgrams = 0,
  pieces = 0, peeks = 0, aborted = 0, raises = 0, rethrown = 0,
  probes = 0, waits = 0, gcs = 0, closes = 0, cancels = 0, udp_lost = 0,
}

local function show(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

---------------------------------------------------------------------------
-- the data: a byte stream with a prime period, datagrams from their number
---------------------------------------------------------------------------

local PERIOD = 65521
local PAT do
  local t, x = {}, 20240607
  for i = 1, PERIOD do
    x = (x * 1103515245 + 12345) & 0x7fffffff
    t[i] = string.char((x >> 16) & 0xff)
  end
  PAT = table.concat(t)
end

-- bytes pos .. pos + n - 1 (0-based) of the stream
local function pattern(pos, n)
  local out = {}
  while n > 0 do
    local o = pos % PERIOD
    local k = math.min(n, PERIOD - o)
    out[#out + 1] = PAT:sub(o + 1, o + k)
    pos, n = pos + k, n - k
  end
  return table.concat(out)
end

-- datagram number seq of len bytes: a header (seq, len), then the pattern
local function dgram(seq, len)
  local s = string.pack(">I4I2", seq & 0xffffffff, len & 0xffff)
    .. pattern(seq * 131, len)
  return s:sub(1, len)
end

---------------------------------------------------------------------------
-- buffers and WSABUF arrays
---------------------------------------------------------------------------

local SENT = 0xA5                       -- what a buffer holds before a post
local SENTCH = string.char(SENT)
local bufpool = {}                      -- buffers no operation uses now

local function rsize()
  local r = random()
  if r < 0.04 then return 0 end
  if r < 0.30 then return rint(1, 16) end
  if r < 0.80 then return rint(17, 1500) end
  if r < 0.97 then return rint(1501, 9000) end
  return 65536
end

local function newbuf(size)
  if #bufpool > 0 and chance(0.35) then
    return table.remove(bufpool, rint(1, #bufpool))
  end
  return wsarecv.buffer(size or rsize())
end

local function release_bufs(lay)
  if not lay then return end
  for _, b in ipairs(lay.bufs) do
    if #bufpool < 64 then bufpool[#bufpool + 1] = b end
  end
end

-- A random WSABUF array: lay.arg (what is passed), lay.items (the iovecs
-- as {buf, offset, length}), lay.cap, lay.bufs (distinct buffers),
-- lay.bad (a slice outside its buffer: WSAEFAULT), lay.n (WSABUF count).
local function gen_layout(need_bytes)
  local lay = { items = {}, bufs = {}, seen = {}, bad = false }
  local function use(b)
    if not lay.seen[b] then
      lay.seen[b] = true
      lay.bufs[#lay.bufs + 1] = b
    end
  end
  local function item(b, off, len)
    use(b)
    lay.items[#lay.items + 1] = { b, off, len }
  end
  local r = random()
  if r < 0.35 then
    local b = newbuf()
    lay.arg = b
    item(b, 0, #b)
  elseif r < 0.90 then
    local arg = {}
    for _ = 1, rint(1, 5) do
      local b = newbuf()
      local form, n = random(), #b
      if form < 0.4 then
        arg[#arg + 1] = b
        item(b, 0, n)
      elseif form < 0.6 then
        local off = rint(0, n)
        local len = rint(0, n - off)
        arg[#arg + 1] = { b, off, len }
        item(b, off, len)
      elseif form < 0.7 then
        local off = rint(0, n)
        arg[#arg + 1] = { b, off }
        item(b, off, n - off)
      elseif form < 0.75 then
        arg[#arg + 1] = { b }
        item(b, 0, n)
      elseif n >= 2 then
        -- two slices of one buffer, the later part first
        local m = rint(1, n - 1)
        arg[#arg + 1] = { b, m, n - m }
        item(b, m, n - m)
        arg[#arg + 1] = { b, 0, m }
        item(b, 0, m)
      else
        arg[#arg + 1] = b
        item(b, 0, n)
      end
    end
    lay.arg = arg
  elseif r < 0.93 then
    lay.arg = {}
  elseif r < 0.995 then
    -- more WSABUFs than fit on the stack or inline
    local arg, b = {}, wsarecv.buffer(rint(70, 400))
    local k, off = rint(17, 70), 0
    for _ = 1, k do
      local len = math.min(rint(0, 5), #b - off)
      arg[#arg + 1] = { b, off, len }
      item(b, off, len)
      off = off + len
    end
    lay.arg = arg
  else
    -- past IOV_MAX: WSAENOBUFS
    local arg, b = {}, wsarecv.buffer(1100)
    for i = 0, IOV_MAX do
      arg[#arg + 1] = { b, i, 1 }
      item(b, i, 1)
    end
    lay.arg = arg
  end
  lay.cap = 0
  for _, it in ipairs(lay.items) do lay.cap = lay.cap + it[3] end
  if need_bytes and lay.cap == 0 then
    -- a message socket's empty-buffer receive is known defect 10
    local b = wsarecv.buffer(rint(1, 64))
    if type(lay.arg) == "table" then
      lay.arg[#lay.arg + 1] = b
    else
      lay.arg, lay.items, lay.bufs, lay.seen = b, {}, {}, {}
    end
    item(b, 0, #b)
    lay.cap = lay.cap + #b
  end
  lay.n = type(lay.arg) == "table" and #lay.arg or 1
  if type(lay.arg) == "table" and #lay.arg > 0 and chance(0.04) then
    -- one slice outside its buffer
    local b = newbuf(rint(1, 64))
    local n = #b
    local bad = {
      { b, -1, 1 }, { b, 0, n + 1 }, { b, n + 1, 0 }, { b, 1, -1 },
      { b, math.maxinteger, 1 }, { b, 1, math.maxinteger },
      { b, math.mininteger, 1 }, { b, math.maxinteger }, { b, n + 1 },
      { b, -5 },
    }
    if KB["2a"] then bad[#bad + 1] = { b, math.mininteger } end
    lay.arg[rint(1, #lay.arg)] = pick(bad)
    use(b)
    lay.bad = true
  end
  return lay
end

local function prep_bufs(lay)
  for _, b in ipairs(lay.bufs) do b:fill(SENT) end
end

-- The first n bytes the operation placed (packed in array order), after
-- checking that nothing outside them changed.
local function snapshot(lay, n, what)
  local parts, left, written = {}, n, {}
  for _, it in ipairs(lay.items) do
    local b, off, len = it[1], it[2], it[3]
    local k = math.min(len, left)
    if k > 0 then
      parts[#parts + 1] = b:sub(off + 1, off + k)
      left = left - k
      local w = written[b] or {}
      written[b] = w
      w[#w + 1] = { off, off + k }
    end
  end
  check(left == 0, "%s: %d bytes reported, the buffers hold %d", what, n,
    n - left)
  for _, b in ipairs(lay.bufs) do
    local w = written[b] or {}
    table.sort(w, function(x, y) return x[1] < y[1] end)
    local pos = 0
    w[#w + 1] = { #b, #b }
    for _, r in ipairs(w) do
      if r[1] > pos then
        local s = b:sub(pos + 1, r[1])
        if s ~= SENTCH:rep(#s) then
          local i = 1
          while s:byte(i) == SENT do i = i + 1 end
          fail("%s: byte %d of a %d-byte buffer was written outside the %d "
            .. "bytes reported", what, pos + i, #b, n)
        end
      end
      pos = math.max(pos, r[2])
    end
  end
  return table.concat(parts)
end

---------------------------------------------------------------------------
-- endpoints: a receiver and a nonblocking sender
---------------------------------------------------------------------------

local KIND = {
  udp4 = { family = "inet", type = "dgram", addr = "127.0.0.1", msgok = true,
    cmsgs = { { "IP_PKTINFO", "IP_PKTINFO", 32 }, { "IP_RECVTTL", "IP_TTL", 24 },
              { "IP_RECVTOS", "IP_TOS", 24 }, { "SO_TIMESTAMP", "SO_TIMESTAMP", 32 } } },
  udp6 = { family = "inet6", type = "dgram", addr = "::1", msgok = true,
    cmsgs = { { "IPV6_PKTINFO", "IPV6_PKTINFO", 40 },
              { "IPV6_HOPLIMIT", "IPV6_HOPLIMIT", 24 },
              { "IPV6_RECVTCLASS", "IPV6_TCLASS", 24 },
              { "SO_TIMESTAMP", "SO_TIMESTAMP", 32 } } },
  tcp4 = { family = "inet", type = "stream", addr = "127.0.0.1" },
  tcp6 = { family = "inet6", type = "stream", addr = "::1" },
  unixdgram = { family = "unix", type = "dgram", msgok = true,
    cmsgs = { { "SO_TIMESTAMP", "SO_TIMESTAMP", 32 } } },
  seqpacket = { family = "unix", type = "seqpacket" },
  unixstream = { family = "unix", type = "stream" },
}
local KINDS = { "udp4", "udp6", "tcp4", "tcp6", "unixdgram", "seqpacket",
                "unixstream" }

local eps = {}                          -- the session's endpoints
local next_ep = 0

local function tmppath()
  local p = os.tmpname()
  os.remove(p)
  return p
end

local function ok0(what, r, name)
  check(r == 0, "%s failed: %s", what, tostring(name))
end

local function rxof(ep) return ep.rx or ep.rxw[1] end

local function make_ep(kind)
  local k = KIND[kind]
  next_ep = next_ep + 1
  local ep = {
    id = next_ep, kind = kind, k = k, stream = k.type == "stream",
    msgo = k.type ~= "stream",
    paths = {}, sent = 0, consumed = 0, dgq = {}, dghead = 1, dgtail = 0, dgseq = 0,
    part = nil, order = {}, ohead = 1, otail = 0, live = {}, nlive = 0,
    closed = false, shut = false, eof = false, txdead = false, nbio = false,
    cmsgs = {}, cmsg_need = 0, rxw = setmetatable({}, { __mode = "v" }),
  }
  local rx
  local tx = assert(wsarecv.socket(k.family, k.type))
  if k.family == "unix" then
    ep.rxaddr = tmppath()
    ep.paths[#ep.paths + 1] = ep.rxaddr
  else
    ep.rxaddr = k.addr
  end
  if k.type == "dgram" then
    rx = assert(wsarecv.socket(k.family, k.type))
    if k.family == "unix" then
      ok0("bind", rx:bind(ep.rxaddr))
      ep.txaddr = tmppath()
      ep.paths[#ep.paths + 1] = ep.txaddr
      ok0("bind", tx:bind(ep.txaddr))
    else
      ok0("bind", rx:bind(k.addr, 0))
      ok0("bind", tx:bind(k.addr, 0))
      ep.txaddr = k.addr
      ep.txport = select(2, tx:getsockname())
      ep.rxport = select(2, rx:getsockname())
      ok0("SO_RCVBUF", rx:setsockopt("SO_RCVBUF", 1 << 20))
    end
    if chance(0.3) then
      ok0("connect", tx:connect(ep.rxaddr, ep.rxport))
      ep.connected = true
    end
    for _, c in ipairs(k.cmsgs) do
      if chance(0.4) then
        ok0("setsockopt " .. c[1], rx:setsockopt(c[1], true))
        ep.cmsgs[#ep.cmsgs + 1] = c
        ep.cmsg_need = ep.cmsg_need + c[3]
      end
    end
  else
    local l = assert(wsarecv.socket(k.family, k.type))
    if k.family == "unix" then
      ok0("bind", l:bind(ep.rxaddr))
    else
      ok0("bind", l:bind(k.addr, 0))
    end
    ok0("listen", l:listen())
    local _, port = l:getsockname()
    ok0("connect", tx:connect(ep.rxaddr, port))
    rx = assert(l:accept())
    l:close()
  end
  ok0("FIONBIO", tx:setsockopt("FIONBIO", true))
  ep.rcvtimeo = pick { 2, 5, 15 }
  ok0("SO_RCVTIMEO", rx:setsockopt("SO_RCVTIMEO", ep.rcvtimeo))
  ep.rx, ep.tx = rx, tx
  ep.rxw[1] = rx
  log("ep%d %s opened%s cmsgs=%d", ep.id, kind,
    ep.connected and " (connected sender)" or "", #ep.cmsgs)
  return ep
end

-- Free what is left of an endpoint whose operations are all accounted for.
local function dispose_ep(ep)
  local rx = rxof(ep)
  if rx then rx:close() end
  if ep.tx then ep.tx:close() end
  ep.tx = nil
  for _, p in ipairs(ep.paths) do os.remove(p) end
end

---------------------------------------------------------------------------
-- the sender
---------------------------------------------------------------------------

local STREAM_BACKLOG = 256 * 1024
local DGRAM_BACKLOG = 32

local function feed(ep, dglen)
  if ep.txdead or ep.eof or not ep.tx then return end
  if ep.stream then
    local room = STREAM_BACKLOG - (ep.sent - ep.consumed)
    if room <= 0 then return end
    local n = math.min(room, pick { rint(1, 16), rint(1, 1500), rint(1, 20000) })
    local r, name = ep.tx:send(pattern(ep.sent, n))
    if r then
      check(r >= 1 and r <= n, "send returned %s of %d", show(r), n)
      ep.sent = ep.sent + r
    elseif name ~= "WSAEWOULDBLOCK" then
      ep.txdead = true
    end
    log("ep%d send %d -> %s %s (sent %d)", ep.id, n, show(r), show(name), ep.sent)
  else
    if ep.dgtail - ep.dghead + 1 >= DGRAM_BACKLOG then return end
    local len = dglen or (chance(0.9) and rint(1, 3000) or rint(3001, 9000))
    local seq = ep.dgseq
    local d = dgram(seq, len)
    local r, name
    if ep.connected or ep.kind == "seqpacket" then
      r, name = ep.tx:send(d)
    elseif ep.rxport then
      r, name = ep.tx:sendto(d, ep.rxaddr, ep.rxport)
    else
      r, name = ep.tx:sendto(d, ep.rxaddr)
    end
    if r then
      check(r == len, "datagram send returned %s of %d", show(r), len)
      ep.dgseq = seq + 1
      ep.dgtail = ep.dgtail + 1
      ep.dgq[ep.dgtail] = d
    elseif name ~= "WSAEWOULDBLOCK" and name ~= "WSAENOBUFS" then
      ep.txdead = true
    end
    log("ep%d send dgram #%d len %d -> %s %s", ep.id, seq, len, show(r), show(name))
  end
end

---------------------------------------------------------------------------
-- operations
---------------------------------------------------------------------------

local next_op = 0
local ovpool, msgpool = {}, {}           -- idle objects, reused
local draining = false
local waitstack = {}                    -- is the innermost wait alertable
local routines_run = 0
local raised = {}                       -- routine errors not yet rethrown
local verify_ep

local function ovref(op) return op.ov or op.weak.ov end

local function flag_error(ep, f, overlapped, nbio)
  if f < 0 or f > 0xffffffff then return true end
  if f & ~KNOWN_FLAGS ~= 0 then return true end
  if f & MSG_PEEK ~= 0 and overlapped then return true end
  if f & MSG_WAITALL ~= 0 then
    if ep.msgo then return true end
    if f & (MSG_OOB | MSG_PEEK | MSG_PARTIAL) ~= 0 then return true end
    if not overlapped and nbio then return true end
  end
  if f & MSG_OOB ~= 0 and not ep.stream then return true end
  return false
end

local function gen_flags(ep)
  local r = random()
  if r < 0.55 then return 0 end
  if r < 0.61 then return MSG_PUSH end
  if r < 0.72 then return ep.stream and MSG_WAITALL or MSG_PARTIAL end
  if r < 0.78 then return MSG_PARTIAL end
  if r < 0.84 then return MSG_PEEK end
  if r < 0.86 then return MSG_PEEK | MSG_PARTIAL end
  if r < 0.88 then return MSG_OOB end
  if r < 0.91 then return MSG_WAITALL | pick { MSG_OOB, MSG_PEEK, MSG_PARTIAL } end
  if r < 0.93 then return MSG_WAITALL end
  local bad = pick { 0x4, 0x10, 0x40, 0x80, 0x100, 0x200, 0x400, 0x800,
                     0x1000, 0x10000, 0x80000000, 0xffffffff, -1 }
  if KB["3"] and chance(0.4) then
    bad = pick { 1 << 32, (1 << 32) | MSG_PEEK, 1 << 40, math.mininteger,
                 -(1 << 32), (1 << 33) | MSG_WAITALL }
  end
  return chance(0.5) and bad or bad | MSG_PARTIAL
end

local function take_ov()
  if #ovpool > 0 and chance(0.6) then
    return table.remove(ovpool, rint(1, #ovpool))
  end
  return wsarecv.overlapped()
end

local function give_ov(ov)
  if ov and #ovpool < 48 then ovpool[#ovpool + 1] = ov end
end

local function take_msg()
  if #msgpool > 0 and chance(0.6) then
    return table.remove(msgpool, rint(1, #msgpool))
  end
  return wsarecv.msg { control = 0 }
end

-- an operation leaves the live set: its completion has been seen
local function retire_op(op)
  if op.ep.live[op.id] then
    op.ep.live[op.id] = nil
    op.ep.nlive = op.ep.nlive - 1
  end
end

-- the result of a WSARecvMsg, read from its msg
local function msg_result(op, res)
  local m = op.msg or op.weak.msg
  res.msgflags = m.flags
  res.name, res.port = m:name()
  res.control = m:control()
end

local function same(a, b) return a == b or (a ~= a and b ~= b) end

local function record(op, err, bytes, flags, how)
  check(not op.result, "op%d completed twice (%s)", op.id, how)
  local lay = op.lay
  local res = { err = err, bytes = bytes, flags = flags, how = how }
  if op.peeked then
    -- WSAGetOverlappedResult saw it first: the same result
    check(same(op.peeked.err, err) and op.peeked.bytes == bytes
      and op.peeked.flags == flags, "op%d: routine got %s/%s/%s, "
      .. "WSAGetOverlappedResult gave %s/%s/%s", op.id, show(err), show(bytes),
      show(flags), show(op.peeked.err), show(op.peeked.bytes),
      show(op.peeked.flags))
  end
  if op.atonce then
    check(err == nil and op.atonce.bytes == bytes and op.atonce.flags == flags,
      "op%d completed at once with %d bytes, flags %d; completion says "
      .. "%s, %s, %s", op.id, op.atonce.bytes, op.atonce.flags, show(err),
      show(bytes), show(flags))
  end
  res.data = snapshot(lay, bytes, "op" .. op.id)
  if op.api == "msg" then msg_result(op, res) end
  op.result = res
  stats.completions = stats.completions + 1
  log("op%d done (%s): %s %d bytes flags 0x%x", op.id, how, show(err), bytes, flags)
end

-- after a result: hand back what can be reused, check the order
local verify_oob
local function finish_op(op)
  retire_op(op)
  if op.oob then verify_oob(op) end
  if not op.dropped then give_ov(op.ov) end
  if op.msg and not op.dropped and #msgpool < 24 then
    msgpool[#msgpool + 1] = op.msg
  end
  if not op.dropped then release_bufs(op.lay) end
  verify_ep(op.ep)
end

---------------------------------------------------------------------------
-- verification, in posting order per socket
---------------------------------------------------------------------------

local function find_dgram(ep, data)
  -- a UDP datagram lost on the way?  (bounded backlogs make this rare)
  if #data < 6 or not ep.k.addr or ep.k.type ~= "dgram" then return nil end
  local seq = string.unpack(">I4", data)
  for i = ep.dghead, ep.dgtail do
    local d = ep.dgq[i]
    if string.unpack(">I4", d) == seq and d:sub(1, #data) == data then
      return i
    end
  end
end

local function check_control(ep, op, res, fromrest)
  local ctl = res.control or {}
  if fromrest then
    check(#ctl == 0, "op%d: the rest of a MSG_PARTIAL datagram came with %d "
      .. "control messages", op.id, #ctl)
    return
  end
  local want, used, seen = {}, 0, {}
  for _, c in ipairs(ep.cmsgs) do want[c[2]] = c[3] end
  for _, c in ipairs(ctl) do
    local space = want[c.type]
    check(space, "op%d: control message %s was not enabled", op.id, show(c.type))
    check(not seen[c.type], "op%d: control message %s twice", op.id, c.type)
    seen[c.type] = true
    used = used + space
    if c.type == "IP_PKTINFO" then
      check(c.addr == "127.0.0.1", "op%d: IP_PKTINFO addr %s", op.id, show(c.addr))
    elseif c.type == "IPV6_PKTINFO" then
      check(c.addr == "::1", "op%d: IPV6_PKTINFO addr %s", op.id, show(c.addr))
    elseif c.type == "IP_TTL" then
      check(c.ttl >= 1 and c.ttl <= 255, "op%d: ttl %s", op.id, show(c.ttl))
    elseif c.type == "SO_TIMESTAMP" then
      check(c.sec > 1e9, "op%d: timestamp %s", op.id, show(c.sec))
    end
  end
  check(used <= op.ctrlcap, "op%d: %d bytes of control messages in a %d-byte "
    .. "buffer", op.id, used, op.ctrlcap)
  local ctrunc = res.msgflags & MSG_CTRUNC ~= 0
  if op.ctrlcap >= ep.cmsg_need then
    check(not ctrunc and #ctl == #ep.cmsgs, "op%d: control buffer %d >= %d "
      .. "needed, got %d of %d messages, MSG_CTRUNC %s", op.id, op.ctrlcap,
      ep.cmsg_need, #ctl, #ep.cmsgs, tostring(ctrunc))
  else
    check(ctrunc, "op%d: control buffer %d < %d needed, MSG_CTRUNC not set",
      op.id, op.ctrlcap, ep.cmsg_need)
    if KB["11"] then
      check(res.err == "WSAEMSGSIZE", "op%d: MSG_CTRUNC with %s, not "
        .. "WSAEMSGSIZE (known defect 11)", op.id, show(res.err))
    end
  end
end

local function verify_stream(ep, op)
  local r, n = op.result, op.result.bytes
  local waitall = op.flags & MSG_WAITALL ~= 0
  local peek = op.flags & MSG_PEEK ~= 0
  local e = r.err
  if e == nil then
    check(r.flags == 0, "op%d: stream receive flags 0x%x", op.id, r.flags)
    if op.lay.cap == 0 then
      check(n == 0, "op%d: zero-byte receive got %d bytes", op.id, n)
      return
    end
    if n == 0 then
      check(ep.eof and ep.consumed == ep.sent, "op%d: 0 bytes (end of "
        .. "stream) with %d bytes unread, peer %s", op.id,
        ep.sent - ep.consumed, ep.eof and "closed" or "open")
    elseif waitall then
      check(n == op.lay.cap or (ep.eof and ep.consumed + n == ep.sent),
        "op%d: MSG_WAITALL completed with %d of %d bytes", op.id, n, op.lay.cap)
    end
  elseif e == "WSA_OPERATION_ABORTED" then
    check(op.must_abort or op.may_abort, "op%d aborted, never cancelled", op.id)
    check(n == 0 or waitall, "op%d aborted with %d bytes", op.id, n)
    stats.aborted = stats.aborted + 1
  elseif e == "WSAETIMEDOUT" or e == "WSAEWOULDBLOCK" then
    check(op.mode == "sync", "op%d: %s on an overlapped receive", op.id, e)
    check(n == 0 or (waitall and e == "WSAETIMEDOUT"), "op%d: %s with %d bytes",
      op.id, e, n)
  elseif e == "WSAESHUTDOWN" then
    check(op.shut_fail or op.may_shut, "op%d: WSAESHUTDOWN, never shut "
      .. "down", op.id)
    check(n == 0 or waitall, "op%d: WSAESHUTDOWN with %d bytes", op.id, n)
  else
    fail("op%d: unexpected stream result %s (%d bytes)", op.id, show(e), n)
  end
  check(op.must_abort == nil or e == "WSA_OPERATION_ABORTED",
    "op%d: cancelled while pending, completed with %s", op.id, show(e))
  check(n <= op.lay.cap, "op%d: %d bytes in %d", op.id, n, op.lay.cap)
  check(ep.consumed + n <= ep.sent, "op%d: %d bytes at %d, only %d sent",
    op.id, n, ep.consumed, ep.sent)
  if r.data ~= pattern(ep.consumed, n) then
    local want = pattern(ep.consumed, n)
    local i = 1
    while r.data:byte(i) == want:byte(i) do i = i + 1 end
    fail("op%d: stream data wrong at byte %d of %d (stream offset %d)",
      op.id, i, n, ep.consumed + i - 1)
  end
  if peek then
    stats.peeks = stats.peeks + 1
  else
    ep.consumed = ep.consumed + n
    stats.bytes = stats.bytes + n
  end
end

local function dg_advance(ep)
  ep.dgq[ep.dghead] = nil
  ep.dghead = ep.dghead + 1
  ep.part = nil
  stats.dgrams = stats.dgrams + 1
end

local function verify_dgram(ep, op)
  local r, n, e = op.result, op.result.bytes, op.result.err
  local msgop = op.api == "msg"
  local peek = op.flags & MSG_PEEK ~= 0
  if e == "WSA_OPERATION_ABORTED" or e == "WSAETIMEDOUT"
     or e == "WSAEWOULDBLOCK" or e == "WSAESHUTDOWN" then
    check(n == 0, "op%d: %s with %d bytes", op.id, e, n)
    if e == "WSA_OPERATION_ABORTED" then
      check(op.must_abort or op.may_abort, "op%d aborted, never cancelled", op.id)
      stats.aborted = stats.aborted + 1
    elseif e == "WSAESHUTDOWN" then
      check(op.shut_fail or op.may_shut, "op%d: WSAESHUTDOWN, never shut "
      .. "down", op.id)
    else
      check(op.mode == "sync", "op%d: %s on an overlapped receive", op.id, e)
    end
    return
  end
  check(op.must_abort == nil, "op%d: cancelled while pending, completed "
    .. "with %s", op.id, show(e))
  local D = ep.dgq[ep.dghead]
  if e == "WSAEDISCON" then
    check(ep.kind == "seqpacket" and ep.eof and D == nil, "op%d: WSAEDISCON "
      .. "with the peer %s and %d datagrams unread", op.id,
      ep.eof and "closed" or "open", ep.dgtail - ep.dghead + 1)
    return
  end
  check(e == nil or e == "WSAEMSGSIZE", "op%d: unexpected datagram result %s",
    op.id, show(e))
  check(D, "op%d completed (%s, %d bytes) with no datagram sent", op.id,
    show(e), n)
  if not ep.part and r.data:sub(1, 6) ~= D:sub(1, math.min(6, n)) then
    local i = find_dgram(ep, r.data)
    if i then
      stats.udp_lost = stats.udp_lost + (i - ep.dghead)
      log("ep%d: %d datagrams lost", ep.id, i - ep.dghead)
      for j = ep.dghead, i - 1 do ep.dgq[j] = nil end
      ep.dghead = i
      D = ep.dgq[i]
    elseif #r.data >= 6 then
      local seq = string.unpack(">I4", r.data)
      fail("op%d: got datagram #%d, expected #%d (duplicated, reordered or "
        .. "corrupt)", op.id, seq, string.unpack(">I4", D))
    end
  end
  local cap = op.lay.cap
  local want, werr, wflags, consume
  if ep.part then
    -- the rest of a datagram a MSG_PARTIAL receive began
    local rest = D:sub(ep.part + 1)
    local k = math.min(#rest, cap)
    want = rest:sub(1, k)
    if msgop then
      werr = k < #rest and "WSAEMSGSIZE" or nil
      wflags = k < #rest and MSG_TRUNC or 0
      consume = not peek and "all"
    elseif cap == 0 then
      -- an empty-buffer receive (--known-bugs 10) meeting a rest: readiness
      -- (nothing taken) or, like any too-small receive, WSAEMSGSIZE with the
      -- rest discarded; either reading of the fix is accepted
      werr, wflags = e, r.flags
      check(n == 0 and (e == nil or e == "WSAEMSGSIZE"), "op%d: empty-buffer "
        .. "receive on a MSG_PARTIAL rest: %s, %d bytes", op.id, show(e), n)
      consume = not peek and e == "WSAEMSGSIZE" and "all"
    else
      werr = nil
      wflags = k < #rest and MSG_PARTIAL or 0
      consume = not peek and (k < #rest and k or "all")
    end
    stats.pieces = stats.pieces + 1
  elseif not msgop and op.flags & MSG_PARTIAL ~= 0 and #D > cap then
    -- the first piece (empty when the buffers are): the rest waits for the
    -- next receives
    want, werr, wflags = D:sub(1, cap), nil, MSG_PARTIAL
    consume = peek and 0 or cap
    stats.pieces = stats.pieces + 1
  elseif not msgop and cap == 0 then
    -- an empty-buffer receive (only made with --known-bugs 10): fixed,
    -- the datagram is taken and reported too long
    want, werr, wflags, consume = "", "WSAEMSGSIZE", 0, not peek and "all"
  else
    local k = math.min(#D, cap)
    want = D:sub(1, k)
    werr = #D > cap and "WSAEMSGSIZE" or nil
    wflags = msgop and (#D > cap and MSG_TRUNC or 0) or 0
    consume = not peek and "all"
  end
  check(n == #want, "op%d: %d bytes, expected %d (datagram of %d, buffers "
    .. "%d, rest %s)", op.id, n, #want, #D, cap, show(ep.part))
  check(r.data == want, "op%d: datagram content wrong (%d bytes)", op.id, n)
  if msgop then
    local mf = r.msgflags
    check(mf & (MSG_TRUNC | MSG_BCAST | MSG_MCAST) == wflags, "op%d: msg.flags "
      .. "0x%x, expected MSG_TRUNC %s", op.id, mf, tostring(wflags ~= 0))
    check(r.flags == mf, "op%d: routine/result flags 0x%x, msg.flags 0x%x",
      op.id, r.flags, mf)
    local ctrunc = mf & MSG_CTRUNC ~= 0
    check(e == werr or (e == "WSAEMSGSIZE" and werr == nil and ctrunc),
      "op%d: %s, expected %s", op.id, show(e), show(werr))
    check(r.name == ep.txaddr and r.port == ep.txport, "op%d: source %s %s, "
      .. "sender is %s %s", op.id, show(r.name), show(r.port),
      show(ep.txaddr), show(ep.txport))
    check_control(ep, op, r, ep.part ~= nil)
  else
    check(e == werr, "op%d: %s, expected %s (datagram %d bytes, buffers %d)",
      op.id, show(e), show(werr), #D, cap)
    check(r.flags == wflags, "op%d: flags 0x%x, expected 0x%x", op.id,
      r.flags, wflags)
  end
  if peek then stats.peeks = stats.peeks + 1 end
  if consume == "all" then
    dg_advance(ep)
  elseif consume then
    ep.part = (ep.part or 0) + consume
  end
end

-- results of operations outside the data order (MSG_OOB receives)
function verify_oob(op)
  local r = op.result
  check(r.bytes == 0, "op%d: MSG_OOB receive got %d bytes", op.id, r.bytes)
  check(r.err == "WSA_OPERATION_ABORTED" or r.err == "WSAESHUTDOWN"
    or r.err == "WSAETIMEDOUT" or r.err == "WSAEWOULDBLOCK",
    "op%d: MSG_OOB receive (no urgent data is sent) completed with %s",
    op.id, show(r.err))
  if r.err == "WSA_OPERATION_ABORTED" then
    check(op.must_abort or op.may_abort, "op%d aborted, never cancelled", op.id)
  end
end

function verify_ep(ep)
  while true do
    local op = ep.order[ep.ohead]
    if not op or not op.result then return end
    ep.order[ep.ohead] = nil
    ep.ohead = ep.ohead + 1
    if ep.stream then verify_stream(ep, op) else verify_dgram(ep, op) end
    op.verified = true
  end
end

local function add_order(ep, op)
  ep.otail = math.max(ep.otail, ep.ohead - 1) + 1
  ep.order[ep.otail] = op
  op.seq = ep.otail
end

local function drop_order(ep, op)
  check(ep.order[ep.otail] == op, "internal: order tail")
  ep.order[ep.otail] = nil
  ep.otail = ep.otail - 1
end

---------------------------------------------------------------------------
-- waits
---------------------------------------------------------------------------

-- Call a wsarecv function that may run routines (alertable) or must not.
-- Returns the packed results, or "raised" if a routine's error came out,
-- and how many routines ran meanwhile.
local function call_wait(alertable, f, ...)
  waitstack[#waitstack + 1] = alertable
  local before = routines_run
  local r = table.pack(pcall(f, ...))
  waitstack[#waitstack] = nil
  local ran = routines_run - before
  stats.waits = stats.waits + 1
  if r[1] then return r, ran end
  local e = tostring(r[2])
  if failure or e:find("FUZZ-INVARIANT", 1, true) then error(e, 0) end
  local id = tonumber(e:match("FUZZ%-RAISE#(%d+)"))
  check(id and raised[id], "a wait raised an unexpected error: %s", e)
  check(alertable, "a non-alertable call raised a routine's error")
  -- (an error object with __tostring comes out as that string, without a
  -- traceback, as lua.c's own message handler does it)
  check(raised[id] == "table" or e:find("stack traceback", 1, true),
    "routine error without a traceback: %s", e)
  raised[id] = nil
  stats.rethrown = stats.rethrown + 1
  log("routine error of op%d came out of the wait", id)
  return "raised", ran
end

-- can the operation complete without anything else happening?
local function guaranteed(op)
  local ep = op.ep
  if op.flags & MSG_OOB ~= 0 then return false end
  if P.held(op) then return false end        -- (known defect p4w)
  if ep.closed then return true end
  -- (after shutdown(receive) a pending receive still waits for data)
  if ep.eof then return true end
  if ep.msgo and not KB.rest then
    -- (known defect "rest": with a MSG_PARTIAL rest buffered, a queued
    -- receive may wait for new data)
    if ep.part then return false end
    for i = ep.ohead, ep.otail do
      local o = ep.order[i]
      if o == op then break end
      if o and o.flags & MSG_PARTIAL ~= 0 then return false end
    end
  end
  local used = 0
  local avail = ep.stream and ep.sent - ep.consumed
    or ep.dgtail - ep.dghead + 1
  for i = ep.ohead, ep.otail do
    local o = ep.order[i]
    if o == op then
      if ep.stream then
        local need = op.flags & MSG_WAITALL ~= 0 and op.lay.cap or 1
        return avail - used >= math.max(need, 1)
      end
      return avail - used >= 1
    end
    if o and o.flags & MSG_PEEK == 0 then
      used = used + (ep.stream and o.lay.cap or 1)
    end
  end
  return false
end

-- what the model says is outstanding: pending operations, queued routines
local function outstanding()
  local pending, queued, sure = 0, 0, false
  for _, ep in ipairs(eps) do
    for _, op in pairs(ep.live) do
      local ov = ovref(op)
      if op.mode == "routine" then
        if op.calls == 0 then
          if ov and not ov.pending then queued = queued + 1; sure = true
          else
            pending = pending + 1
            if guaranteed(op) then sure = true end
          end
        end
      elseif ov and ov.pending then
        pending = pending + 1
      end
    end
  end
  return pending, queued, sure
end

local function observe(op, how)
  local ov = ovref(op)
  if op.mode ~= "event" or op.result or ov.pending then return false end
  local rx = rxof(op.ep)
  check(rx, "op%d: its socket was collected while the object holds it", op.id)
  local r = table.pack(rx:WSAGetOverlappedResult(ov))
  local err, bytes, flags
  if r[1] then
    bytes, flags = r[1], r[2]
  else
    err, bytes, flags = r[2], r[4] or 0, ov.flags
    check(r[3] == ERR[err], "WSAGetOverlappedResult: code %s for %s",
      show(r[3]), show(err))
    check(err ~= "WSA_IO_INCOMPLETE", "op%d: not pending, yet incomplete", op.id)
  end
  check(ov.bytes == bytes and ov.error == err and ov.flags == flags,
    "op%d: ov fields %s/%s/%s, result %s/%s/%s", op.id, show(ov.bytes),
    show(ov.error), show(ov.flags), show(bytes), show(err), show(flags))
  record(op, err, bytes, flags, how or "event")
  stats.events = stats.events + 1
  op.calls = 1
  finish_op(op)
  return true
end

local function observe_all()
  for _, ep in ipairs(eps) do
    for _, op in pairs(ep.live) do
      if op.mode == "event" then observe(op) end
    end
  end
end

---------------------------------------------------------------------------
-- posting
---------------------------------------------------------------------------

local post_op                           -- (forward)
local last_op                           -- the op post_op made last
local routine_actions

local function on_routine(op, nargs, err, bytes, ov, flags, msg)
  local ep = op.ep
  check(#waitstack > 0 and waitstack[#waitstack] == true,
    "op%d: routine ran outside an alertable wait", op.id)
  check(not ep.in_routine, "op%d: routines of ep%d nested", op.id, ep.id)
  check(not op.failed, "op%d failed at once (%s), yet its routine ran", op.id,
    tostring(op.failed))
  if (err == nil or err == "WSAEMSGSIZE") and not op.oob then
    -- data completions of one socket come in posting order
    check(op.seq > (ep.last_seq or 0), "op%d (posted #%d) delivered after "
      .. "#%d of the same socket", op.id, op.seq, ep.last_seq or 0)
    ep.last_seq = op.seq
  end
  op.calls = op.calls + 1
  check(op.calls == 1, "op%d: routine called %d times", op.id, op.calls)
  check(nargs == (op.api == "msg" and 5 or 4), "op%d: routine got %d "
    .. "arguments", op.id, nargs)
  local known = ovref(op)
  if op.ovknown then
    check(rawequal(known, ov), "op%d: routine got another overlapped object", op.id)
  else
    op.weak.ov = ov
    if not op.dropped then op.ov = ov end
  end
  check(not ov.pending and ov.bytes == bytes and ov.error == err
    and ov.flags == flags, "op%d: ov fields %s/%s/%s/%s, routine got %s/%s/%s",
    op.id, show(ov.pending), show(ov.bytes), show(ov.error), show(ov.flags),
    show(bytes), show(err), show(flags))
  check(ov.context == op.ctx, "op%d: ov.context changed", op.id)
  if op.api == "msg" then
    check(rawequal(msg, op.msg or op.weak.msg), "op%d: routine got another msg",
      op.id)
  end
  if op.dropped then
    -- the buffers were dropped too: the operation pinned them
    for i = 1, op.lay.nbufs do
      check(op.lay.bufs[i], "op%d: pinned buffer %d was collected", op.id, i)
    end
  end
  routines_run = routines_run + 1
  stats.routines = stats.routines + 1
  ep.in_routine = true
  local ok, e = pcall(function()
    record(op, err, bytes, flags, "routine")
    finish_op(op)
    if not draining then routine_actions(op, ov) end
  end)
  ep.in_routine = false
  if not ok then error(e, 0) end
  if not draining and chance(0.03) then
    raised[op.id] = "string"
    stats.raises = stats.raises + 1
    log("op%d: routine raises", op.id)
    if chance(0.8) then error("FUZZ-RAISE#" .. op.id) end
    raised[op.id] = "table"
    error(setmetatable({}, { __tostring = function() return "FUZZ-RAISE#" .. op.id end }))
  end
end

local function make_routine(op)
  return function(...)
    on_routine(op, select("#", ...), ...)
  end
end

-- The errors a post must fail with at once (nil: it must start).
local function predicted(ep, op, busy, rxopen)
  local errs, any = {}, false
  local function add(e) errs[e] = true; any = true end
  local overlapped = op.mode ~= "sync"
  if busy then add("WSAEINVAL") end
  if P.refuses_routine(ep, op) then add("WSAEINVAL"); op.p12 = true end
  if op.lay.bad then add("WSAEFAULT") end
  if op.lay.n > IOV_MAX then add("WSAENOBUFS") end
  if not rxopen or ep.closed then add("WSAENOTSOCK") end
  if ep.shut then add("WSAESHUTDOWN") end
  if op.api == "msg" then
    if ep.k.type ~= "dgram" then add("WSAEOPNOTSUPP") end
    if op.flags & ~MSG_PEEK ~= 0 then add("WSAEOPNOTSUPP") end
    if op.flags & MSG_PEEK ~= 0 and overlapped then add("WSAEOPNOTSUPP") end
  elseif flag_error(ep, op.flags, overlapped, ep.nbio) then
    add("WSAEOPNOTSUPP")
  end
  return any and errs or nil
end

local function errlist(errs)
  local t = {}
  for k in pairs(errs or {}) do t[#t + 1] = k end
  table.sort(t)
  return table.concat(t, "|")
end

-- Post one random receive on ep.  `inroutine`: the routine's op, if any.
function post_op(ep, inroutine, reuse_ov, force)
  if ep.nlive >= 24 or draining then return end
  local rx = rxof(ep)
  if not rx then return end
  next_op = next_op + 1
  local op = { id = next_op, ep = ep, calls = 0, inroutine = inroutine ~= nil,
               weak = setmetatable({}, { __mode = "v" }) }
  last_op = op
  local r = random()
  op.api = ((ep.k.msgok and r < 0.35) or r < 0.02) and "msg" or "recv"
  r = random()
  op.mode = r < 0.45 and "routine" or r < 0.8 and "event" or "sync"
  if op.mode == "sync" and inroutine then op.mode = "routine" end
  op.mode = P.mode(ep, op.mode, inroutine)
  local need = ep.msgo and op.api == "recv" and not KB["10"]
  if force then
    op.api, op.mode, op.force_repost = force.api, force.mode, force.repost
    local b = wsarecv.buffer(force.size)
    op.lay = { arg = b, items = { { b, 0, #b } }, bufs = { b }, cap = #b, n = 1 }
  else
    op.lay = gen_layout(need)
  end
  local lay = op.lay
  if op.api == "msg" then
    op.flags = chance(0.9) and (op.mode == "sync" and chance(0.3) and MSG_PEEK or 0)
      or pick { MSG_PEEK, MSG_OOB, MSG_PARTIAL, 0x10, MSG_WAITALL }
  else
    op.flags = gen_flags(ep)
  end
  if force then op.flags = force.flags end
  -- the overlapped object
  local ov, busy
  if op.mode ~= "sync" then
    if force then
      ov = wsarecv.overlapped()
    elseif reuse_ov then
      ov = reuse_ov
      for i = #ovpool, 1, -1 do
        if rawequal(ovpool[i], ov) then table.remove(ovpool, i) end
      end
    elseif op.mode == "routine" and chance(0.2) then ov = nil
    else ov = take_ov() end
    if ov then busy = ov.pending end
    if force then op.ovknown = true end
    op.mode = P.port_mode(ep, op.mode, ov)
    op.ovknown = ov ~= nil
    op.ov = ov
    op.weak.ov = ov
    op.ctx = ov and chance(0.5) and op.id or nil
    if ov then ov.context = op.ctx end
  end
  -- the msg
  if op.api == "msg" then
    local m = take_msg()
    op.msg, op.weak.msg = m, m
    local c = random()
    if c < 0.3 then
      op.ctrlcap = pick { 0, 8, 16, 24, 32, 40, 56, 64, 88, 112, 120, 256 }
      m.control = op.ctrlcap
    elseif c < 0.5 then
      op.ctrlcap = pick { 0, 24, 32, 64, 128, 256 }
      m.control = wsarecv.buffer(op.ctrlcap)
    else
      op.ctrlcap = #(m.controlbuf or "")
    end
    m.buffers = lay.arg
    m.flags = op.flags
  end
  if op.mode == "sync" and not ep.nbio and not KB.timer and not ep.closed
     and not force then
    -- (known defect "timer": a receive that would wait under SO_RCVTIMEO
    -- for data that never comes is made nonblocking instead)
    add_order(ep, op)
    local sure = guaranteed(op)
    drop_order(ep, op)
    if not sure then
      ok0("FIONBIO", rx:setsockopt("FIONBIO", true))
      ep.nbio = true
    end
  end
  prep_bufs(lay)
  local errs = predicted(ep, op, busy, not ep.closed)
  local oob = op.flags & MSG_OOB ~= 0 and not errs
  op.oob = oob
  op.nbio = ep.nbio
  log("op%d post ep%d %s %s flags 0x%x cap %d n %d%s%s", op.id, ep.id, op.api,
    op.mode, op.flags, lay.cap, lay.n, lay.bad and " badslice" or "",
    errs and " expect " .. errlist(errs) or "")
  if not oob then add_order(ep, op) end
  local res
  if op.mode == "sync" then
    if op.api == "msg" then
      res = table.pack(call_wait(false, rx.WSARecvMsg, rx, op.msg))
    else
      res = table.pack(call_wait(false, rx.WSARecv, rx, lay.arg, op.flags))
    end
    res = res[1]
  else
    op.routine = op.mode == "routine" and make_routine(op) or nil
    if op.api == "msg" then
      res = table.pack(pcall(rx.WSARecvMsg, rx, op.msg, ov, op.routine))
    else
      res = table.pack(pcall(rx.WSARecv, rx, lay.arg, op.flags, ov, op.routine))
    end
  end
  local flags_out_of_range = op.flags < 0 or op.flags > 0xffffffff
  if not res[1] then
    local e = tostring(res[2])
    check(flags_out_of_range and e:find("bad argument", 1, true),
      "op%d: post raised %s", op.id, e)
    if not oob then drop_order(ep, op) end
    return
  end
  local a, name, code, placed = res[2], res[3], res[4], res[5]
  if a == nil and name ~= "WSA_IO_PENDING" then
    check(ERR[name] == code, "op%d: error %s with code %s", op.id, show(name), show(code))
  end
  -- failed before it started: no completion, nothing consumed
  if a == nil and errs and errs[name] then
    if not oob then drop_order(ep, op) end
    op.failed = name
    stats.failed_at_once = stats.failed_at_once + 1
    if op.mode ~= "sync" and ov then
      check(not ov.pending, "op%d failed at once, still pending", op.id)
    end
    if op.msg then msgpool[#msgpool + 1] = op.msg end
    give_ov(busy and nil or ov)
    return
  end
  if flags_out_of_range then
    fail("op%d: flags 0x%x accepted (known defect 3)", op.id, op.flags)
  end
  if errs then
    fail("op%d: expected %s, got %s %s%s", op.id, errlist(errs), show(a),
      show(name), op.p12 and " (a routine on a socket of a port: known defect "
      .. "p12)" or "")
  end
  if oob and a == nil and name == "WSAEOPNOTSUPP" and ep.kind == "unixstream" then
    op.failed = name
    return                      -- kernels without AF_UNIX MSG_OOB
  end
  if op.mode == "sync" then
    stats.sync = stats.sync + 1
    local err, bytes, flags
    if a == 0 then
      bytes, flags = name, code
    else
      err, bytes, flags = name, placed or 0, 0
      if op.api == "msg" then flags = op.msg.flags end
    end
    op.calls = 1
    record(op, err, bytes, flags, "sync")
    if oob then verify_oob(op) end
    if op.msg then msgpool[#msgpool + 1] = op.msg end
    release_bufs(lay)
    verify_ep(ep)
    return
  end
  -- overlapped: it started, or failed at once having taken a datagram
  -- (WSAEMSGSIZE), or met the peer's close of a message socket (WSAEDISCON)
  if a == nil and not oob and ((name == "WSAEMSGSIZE" and ep.msgo)
      or (name == "WSAEDISCON" and ep.kind == "seqpacket")) then
    check(not KB["12"] or name ~= "WSAEMSGSIZE", "op%d: WSAEMSGSIZE at once, "
      .. "not WSA_IO_PENDING (known defect 12)", op.id)
    stats.failed_at_once = stats.failed_at_once + 1
    op.calls = 1
    local bytes = placed or 0
    check(ov == nil or (not ov.pending and ov.bytes == bytes),
      "op%d: failed at once, ov says %s", op.id, ov and show(ov.bytes) or "-")
    local flags = op.api == "msg" and op.msg.flags or (ov and ov.flags or 0)
    record(op, name, bytes, flags, "at once")
    if op.msg then msgpool[#msgpool + 1] = op.msg end
    give_ov(ov)
    release_bufs(lay)
    verify_ep(ep)
    return
  end
  if a == 0 then
    op.atonce = { bytes = name, flags = code }
    if ov then
      check(not ov.pending and ov.bytes == name, "op%d: completed at once, ov "
        .. "pending %s bytes %s", op.id, show(ov.pending), show(ov.bytes))
    end
  else
    check(a == nil and name == "WSA_IO_PENDING", "op%d: post returned %s %s",
      op.id, show(a), show(name))
    -- pending, or (item 12) signalled already with WSAEMSGSIZE: Windows
    -- returns WSA_IO_PENDING with the event set when the datagram was there
    -- (with 12 off, either: an old build failed at once instead)
    if ov then
      check(ov.pending or ov.error == "WSAEMSGSIZE",
        "op%d: WSA_IO_PENDING, ov not pending (error %s)", op.id,
        show(ov.error))
    end
  end
  stats.posted = stats.posted + 1
  ep.live[op.id] = op
  ep.nlive = ep.nlive + 1
  -- drop our references now and then: the operation must keep what it needs
  if op.mode == "routine" and not force and chance(0.15) then
    op.dropped = true
    op.ov = nil
    local wb = setmetatable({}, { __mode = "v" })
    for i, b in ipairs(lay.bufs) do wb[i] = b end
    op.lay = { items = {}, bufs = wb, nbufs = #lay.bufs, cap = lay.cap,
               n = lay.n }
    -- the items refer to the buffers strongly: keep offsets, not buffers
    local idx = {}
    for i, b in ipairs(lay.bufs) do idx[b] = i end
    local items = {}
    for i, it in ipairs(lay.items) do items[i] = { idx[it[1]], it[2], it[3] } end
    op.lay.items = setmetatable({}, { __index = function(_, i)
      local it = items[i]
      if it then return { wb[it[1]], it[2], it[3] } end
    end, __len = function() return #items end })
    if op.msg then op.msg = nil end
    log("op%d: references dropped", op.id)
  end
end

---------------------------------------------------------------------------
-- cancelling, closing, shutting down
---------------------------------------------------------------------------

local function mark_pending(ep, field)
  for _, op in pairs(ep.live) do
    local ov = ovref(op)
    if ov then
      if ov.pending then op[field] = true end
    elseif op.calls == 0 then
      op.may_abort, op.may_shut = true, true
    end
  end
end

local function do_cancel(ep)
  local rx = rxof(ep)
  if not rx then return end
  local ops = {}
  for _, op in pairs(ep.live) do
    if ovref(op) then ops[#ops + 1] = op end
  end
  table.sort(ops, function(x, y) return x.id < y.id end)
  if #ops > 0 and chance(0.7) then
    local op = pick(ops)
    local ov = ovref(op)
    local was = ov.pending
    local a, name = rx:CancelIoEx(ov)
    log("ep%d CancelIoEx(op%d) pending %s -> %s %s", ep.id, op.id,
      tostring(was), show(a), show(name))
    if ep.closed then
      check(name == "WSAENOTSOCK", "CancelIoEx on a closed socket: %s", show(name))
    elseif was then
      check(a == 0, "CancelIoEx(pending op%d) gave %s", op.id, show(name))
      check(not ov.pending, "op%d still pending after CancelIoEx", op.id)
      op.must_abort = true
    else
      check(name == "ERROR_NOT_FOUND", "CancelIoEx(done op%d) gave %s %s",
        op.id, show(a), show(name))
    end
  else
    local n = rx:pending()
    mark_pending(ep, "must_abort")
    local rearms = P.cancel_all(ep)     -- objects waiting to be rearmed (p8)
    local a, name = rx:CancelIoEx()
    log("ep%d CancelIoEx() with %d pending -> %s %s", ep.id, n, show(a), show(name))
    if ep.closed then
      check(name == "WSAENOTSOCK", "CancelIoEx on a closed socket: %s", show(name))
    elseif n > 0 or rearms > 0 then
      check(a == 0, "CancelIoEx() with %d pending, %d to rearm gave %s%s", n,
        rearms, show(name), rearms > 0 and " (known defect p8)" or "")
      check(rx:pending() == 0, "%d still pending after CancelIoEx()", rx:pending())
    else
      check(name == "ERROR_NOT_FOUND", "CancelIoEx() with none pending: %s %s",
        show(a), show(name))
    end
  end
  stats.cancels = stats.cancels + 1
end

-- also from another socket: it must not touch ep's operations
local function cancel_elsewhere(ep)
  local other = pick(eps)
  local orx = rxof(other)
  if other == ep or not orx or other.closed then return end
  for _, op in pairs(ep.live) do
    local ov = ovref(op)
    if ov and ov.pending then
      local a, name = orx:CancelIoEx(ov)
      check(name == "ERROR_NOT_FOUND", "CancelIoEx of op%d on another socket "
        .. "gave %s %s", op.id, show(a), show(name))
      check(ov.pending, "CancelIoEx on another socket cancelled op%d", op.id)
      return
    end
  end
end

local function do_close(ep)
  local rx = rxof(ep)
  if not rx or ep.closed then return end
  mark_pending(ep, "must_abort")
  P.on_close(ep)
  rx:close()
  check(rx:close() == 0, "second close")
  ep.closed = true
  check(rx:pending() == 0, "closed socket has %d pending", rx:pending())
  for _, op in pairs(ep.live) do
    local ov = ovref(op)
    check(not ov or not ov.pending, "op%d pending after close", op.id)
  end
  stats.closes = stats.closes + 1
  log("ep%d rx closed", ep.id)
end

local function do_shutdown(ep)
  local rx = rxof(ep)
  if not rx or ep.closed or ep.shut then return end
  mark_pending(ep, "shut_fail")
  local a, name = rx:shutdown("receive")
  log("ep%d shutdown(receive) -> %s %s", ep.id, show(a), show(name))
  if a == 0 then
    ep.shut = true
  else
    -- (a unix dgram socket may refuse; nothing changed then)
    for _, op in pairs(ep.live) do op.shut_fail = nil end
  end
end

-- the sender goes away: streams see their end
local function close_sender(ep)
  if not ep.tx or ep.eof then return end
  ep.tx:close()
  ep.tx = nil
  ep.eof = ep.k.type ~= "dgram"
  ep.txdead = true
  log("ep%d sender closed", ep.id)
end

---------------------------------------------------------------------------
-- waits, with the checks on what they return
---------------------------------------------------------------------------

local function toplevel() return #waitstack == 0 end

local function wait_sleepex(nested)
  local alertable = chance(0.7)
  local ms = pick { 0, 0, 0, 1, 2 }
  local infinite = false
  if not nested and chance(0.05) then
    local pending, queued, sure = outstanding()
    if pending == 0 and queued == 0 then
      infinite = true
    elseif alertable and sure then
      infinite = true
    end
  end
  if infinite then
    ms = pick { -1, wsarecv.INFINITE }
  elseif ms > 0 and not KB.timer then
    -- (known defect "timer": only when a routine will surely end it)
    local _, _, sure = outstanding()
    if nested or not alertable or not sure then ms = 0 end
  end
  local r, ran = call_wait(alertable, wsarecv.SleepEx, ms, alertable)
  log("SleepEx(%d, %s) -> %s ran %d", ms, tostring(alertable),
    r == "raised" and "raised" or show(r[2]), ran)
  if r == "raised" then return end
  if not alertable then
    check(ran == 0, "routines ran in a non-alertable SleepEx")
  end
  if r[2] == nil then
    check(infinite and r[3] == "WSAEINVAL" and ran == 0,
      "SleepEx(%d) failed: %s", ms, show(r[3]))
    local pending, queued = outstanding()
    check(pending == 0 and queued == 0, "SleepEx(INFINITE) refused with %d "
      .. "pending, %d queued", pending, queued)
    return
  end
  if ran > 0 then
    check(r[2] == "WAIT_IO_COMPLETION", "SleepEx ran %d routines, returned %s",
      ran, show(r[2]))
  else
    check(r[2] == 0, "SleepEx ran no routine, returned %s", show(r[2]))
  end
end

local function signalled(ov) return ov.bytes ~= nil end

local function wait_events(nested)
  local list, ops = {}, {}
  for _, ep in ipairs(eps) do
    for _, op in pairs(ep.live) do
      local ov = ovref(op)
      if ov then ops[#ops + 1] = op end
    end
  end
  table.sort(ops, function(x, y) return x.id < y.id end)
  for _ = 1, rint(1, 8) do
    local r = random()
    if r < 0.7 and #ops > 0 then
      list[#list + 1] = ovref(pick(ops))
    elseif r < 0.85 and #ovpool > 0 then
      list[#list + 1] = pick(ovpool)
    elseif r < 0.9 then
      list[#list + 1] = wsarecv.overlapped()    -- never posted
    elseif #list > 0 then
      list[#list + 1] = list[1]
    end
  end
  if #list == 0 then list[1] = wsarecv.overlapped() end
  local waitall, alertable = chance(0.3), chance(0.6)
  local ms = pick { 0, 0, 1, 3 }
  if not nested and chance(0.1) then
    -- INFINITE only when something will surely end it
    local sure = waitall
    for _, ov in ipairs(list) do
      local ok = signalled(ov)
      if not ok then
        for _, op in ipairs(ops) do
          if rawequal(ovref(op), ov) and guaranteed(op) then ok = true end
        end
      end
      if waitall then sure = sure and ok elseif ok then sure = true end
    end
    if sure then ms = nil end
  end
  if ms and ms > 0 and not KB.timer then
    -- (known defect "timer": only when an event or a routine will end it)
    local safe = false
    if not nested then
      local all = true
      for _, ov in ipairs(list) do
        local ends = signalled(ov)
        for _, op in ipairs(ops) do
          if rawequal(ovref(op), ov) and guaranteed(op) then ends = true end
        end
        if ends then safe = true else all = false end
      end
      if waitall then safe = all end
      local _, _, sure = outstanding()
      if alertable and sure then safe = true end
    end
    if not safe then ms = 0 end
  end
  local arg = (#list == 1 and chance(0.5)) and list[1] or list
  if chance(0.02) then
    arg = {}
    if chance(0.5) then
      for i = 1, 65 do arg[i] = list[1] end
    end
  end
  local r, ran = call_wait(alertable, wsarecv.WSAWaitForMultipleEvents, arg,
    waitall, ms, alertable)
  log("WSAWaitForMultipleEvents(%d, all %s, %s ms, alertable %s) -> %s ran %d",
    type(arg) == "table" and #arg or 1, tostring(waitall), show(ms),
    tostring(alertable), r == "raised" and "raised" or show(r[2]), ran)
  if r == "raised" then return end
  if not alertable then check(ran == 0, "routines ran in a non-alertable wait") end
  local v = r[2]
  if type(arg) == "table" and (#arg == 0 or #arg > 64) then
    check(v == nil and r[3] == "WSA_INVALID_PARAMETER", "%d events: %s %s",
      #arg, show(v), show(r[3]))
    return
  end
  if v == nil then
    fail("WSAWaitForMultipleEvents failed: %s (ms %s)", show(r[3]), show(ms))
  elseif v == "WSA_WAIT_IO_COMPLETION" then
    check(alertable and ran > 0, "WSA_WAIT_IO_COMPLETION with %d routines run", ran)
  elseif v == "WSA_WAIT_TIMEOUT" then
    check(ms ~= nil, "an INFINITE wait timed out")
    check(ran == 0, "timed out after running %d routines", ran)
    local all = true
    for _, ov in ipairs(list) do
      if signalled(ov) then
        check(waitall, "timed out with an event signalled")
      else
        all = false
      end
    end
    check(not waitall or not all, "timed out with every event signalled")
  else
    check(math.type(v) == "integer" and v >= 1 and v <= #list,
      "WSAWaitForMultipleEvents returned %s", show(v))
    check(ran == 0, "returned an index after running %d routines", ran)
    if waitall then
      check(v == #list, "wait-all returned %d of %d", v, #list)
      for i, ov in ipairs(list) do
        check(signalled(ov), "wait-all returned, event %d not signalled", i)
      end
    else
      check(signalled(list[v]), "event %d returned, not signalled", v)
      for i = 1, v - 1 do
        check(not signalled(list[i]), "event %d returned, %d signalled too", v, i)
      end
    end
  end
  if toplevel() then
    for _, op in ipairs(ops) do
      if op.mode == "event" then observe(op, "event after wait") end
    end
  end
end

local function wait_run(nested)
  local mode = "nowait"
  if not nested and chance(0.3) then
    local pending, queued, sure = outstanding()
    if pending == 0 or queued > 0 or sure then mode = "once" end
  end
  local r, ran = call_wait(true, wsarecv.run, mode)
  log("run(%s) -> %s ran %d", mode, r == "raised" and "raised" or show(r[2]), ran)
  if r == "raised" or nested then return end
  local pending, queued = outstanding()
  check(r[2] == (pending > 0 or queued > 0), "run(%s) says %s; model: %d "
    .. "pending, %d routines queued", mode, tostring(r[2]), pending, queued)
end

-- WSAGetOverlappedResult, the probes around it
local function getresult_probe()
  local ops = {}
  for _, ep in ipairs(eps) do
    for _, op in pairs(ep.live) do
      if ovref(op) then ops[#ops + 1] = op end
    end
  end
  if #ops == 0 then
    local ov = wsarecv.overlapped()
    local ep = pick(eps)
    local rx = rxof(ep)
    if rx then
      local a, name = rx:WSAGetOverlappedResult(ov, chance(0.5))
      check(a == nil and name == "WSAEINVAL", "result of a never-posted "
        .. "object: %s %s", show(a), show(name))
    end
    return
  end
  table.sort(ops, function(x, y) return x.id < y.id end)
  local op = pick(ops)
  local ov, rx = ovref(op), rxof(op.ep)
  if not rx then return end
  local pending = ov.pending
  if pending and chance(0.15) then
    -- another socket's query about a pending object
    local other = pick(eps)
    local orx = rxof(other)
    if other ~= op.ep and orx then
      local a, name = orx:WSAGetOverlappedResult(ov, chance(0.5))
      check(a == nil and name == "WSAEINVAL", "op%d queried on another socket: "
        .. "%s %s", op.id, show(a), show(name))
      return
    end
  end
  local wait = chance(0.3)
  if wait and pending and (op.mode == "event" or op.mode == "port")
     and not guaranteed(op) then
    wait = false
  end
  local r = table.pack(call_wait(false, rx.WSAGetOverlappedResult, rx, ov, wait))
  r = r[1]
  log("WSAGetOverlappedResult(op%d, %s) pending %s -> %s %s", op.id,
    tostring(wait), tostring(pending), show(r[2]), show(r[3]))
  if op.mode == "routine" and pending and wait then
    check(r[2] == nil and r[3] == "WSAEINVAL", "wait = true on a routine's "
      .. "op%d: %s %s", op.id, show(r[2]), show(r[3]))
    return
  end
  if r[2] == nil and r[3] == "WSA_IO_INCOMPLETE" then
    check(not wait and ov.pending, "op%d: WSA_IO_INCOMPLETE, pending %s",
      op.id, tostring(ov.pending))
    return
  end
  check(not ov.pending, "op%d: a result while pending", op.id)
  local err, bytes, flags
  if r[2] then bytes, flags = r[2], r[3]
  else err, bytes, flags = r[3], r[5] or 0, ov.flags end
  if op.mode == "event" then
    observe(op, "getresult")
    check(op.result.bytes == bytes and same(op.result.err, err), "op%d: two "
      .. "reads differ", op.id)
  elseif op.calls == 0 then
    -- the routine still runs, with the same
    op.peeked = { err = err, bytes = bytes, flags = flags }
  end
end

local function do_wait(nested)
  local r = random()
  local function go()
    if r < 0.45 then wait_sleepex(nested)
    elseif r < 0.75 then wait_events(nested)
    elseif r < 0.9 then wait_run(nested)
    else getresult_probe() end
  end
  if not nested and chance(0.08) then
    -- from a coroutine: routines run on the waiting thread
    local co = coroutine.create(go)
    local ok, e = coroutine.resume(co)
    if not ok then error(e, 0) end
  else
    go()
  end
end

---------------------------------------------------------------------------
-- what a routine may do
---------------------------------------------------------------------------

function routine_actions(op, ov)
  local ep = op.ep
  if op.force_repost then
    post_op(ep, op, nil, op.force_repost)
    return
  end
  local r = random()
  if r < 0.12 then
    post_op(ep, op, chance(0.5) and not op.dropped and ov or nil)
  elseif r < 0.14 then
    do_close(ep)
  elseif r < 0.16 then
    do_cancel(ep)
  elseif r < 0.19 then
    collectgarbage("step", rint(1, 50))
    stats.gcs = stats.gcs + 1
  elseif r < 0.20 then
    collectgarbage()
    stats.gcs = stats.gcs + 1
  elseif r < 0.23 then
    do_wait(true)
  elseif r < 0.26 then
    feed(ep)
  elseif r < 0.29 then
    P.routine_action()
  end
end

---------------------------------------------------------------------------
-- probes: busy objects, wrong types, known defects
---------------------------------------------------------------------------

local function busy_probe()
  local ops = {}
  for _, ep in ipairs(eps) do
    for _, op in pairs(ep.live) do ops[#ops + 1] = op end
  end
  if #ops == 0 then return end
  table.sort(ops, function(x, y) return x.id < y.id end)
  local op = pick(ops)
  local ep = op.ep
  local rx = rxof(ep)
  local ov = ovref(op)
  if not rx or not ov then return end
  local busy = ov.pending or (op.mode == "routine" and op.calls == 0)
  if busy then
    local before = rx:pending()
    local b = wsarecv.buffer(8)
    local a, name = rx:WSARecv(b, 0, ov, chance(0.5) and function() end or nil)
    log("busy probe op%d: %s %s", op.id, show(a), show(name))
    check(a == nil and name == "WSAEINVAL", "posting busy op%d's object: %s %s",
      op.id, show(a), show(name))
    check(rx:pending() == before, "a refused post changed pending()")
  end
  local m = op.msg or op.weak.msg
  if m and m.pending then
    local ok, e = pcall(function() m.buffers = wsarecv.buffer(1) end)
    check(not ok and tostring(e):find("in use", 1, true), "changing a pending "
      .. "msg: %s", tostring(e))
    local a, name = rx:WSARecvMsg(m, wsarecv.overlapped())
    check(a == nil and name == "WSAEINVAL", "posting pending msg: %s %s",
      show(a), show(name))
  elseif m and KB["6"] and op.mode == "routine" and op.calls == 0 then
    -- complete, its routine still queued: the msg is not free yet
    local a, name = rx:WSARecvMsg(m, wsarecv.overlapped())
    check(a == nil and name == "WSAEINVAL", "op%d's msg reposted while its "
      .. "routine is queued: %s %s (known defect 6)", op.id, show(a), show(name))
  end
  stats.probes = stats.probes + 1
end

-- wrong argument types: each must raise "bad argument", and change nothing.
-- closed = false: on a closed socket it hits known defect 5.
local function type_probes(X, b, ov, m, cb)
  local fn = function() end
  return {
    { "WSARecv str", function() return X:WSARecv("nope", 0, ov, fn) end },
    { "WSARecv flags str", function() return X:WSARecv(b, "x", ov, fn) end },
    { "WSARecv flags table", function() return X:WSARecv(b, {}, ov) end },
    { "WSARecv flags float", function() return X:WSARecv(b, 1.5, ov, fn) end },
    { "WSARecv ov str", function() return X:WSARecv(b, 0, "ov", fn) end },
    { "WSARecv ov buffer", function() return X:WSARecv(b, 0, b, fn) end },
    { "WSARecv routine num", function() return X:WSARecv(b, 0, ov, 42) end },
    { "WSARecv routine str", function() return X:WSARecv(b, 0, nil, "fn") end },
    { "WSARecv item num", function() return X:WSARecv({ b, 42 }, 0, ov, fn) end },
    { "WSARecv slice off", function() return X:WSARecv({ { b, "a" } }, 0, ov, fn) end },
    { "WSARecv slice len", function() return X:WSARecv({ { b, 0, 1.5 } }, 0, ov) end },
    { "WSARecv slice buf", function() return X:WSARecv({ { "x", 0, 1 } }, 0, ov) end },
    { "WSARecv closed buf", function() return X:WSARecv(cb, 0, ov, fn) end },
    { "WSARecv closed item", function() return X:WSARecv({ b, cb }, 0, ov) end },
    { "WSARecv sync bool", function() return X:WSARecv(true) end },
    { "WSARecv sync item", function() return X:WSARecv({ 42 }) end, closed = false },
    { "WSARecv sync slice", function() return X:WSARecv({ { b, {} } }) end,
      closed = false },
    { "WSARecv self", function() return X.WSARecv(b, b) end },
    { "WSARecvMsg str", function() return X:WSARecvMsg("msg") end },
    { "WSARecvMsg ov", function() return X:WSARecvMsg(m, "ov") end },
    { "WSARecvMsg routine", function() return X:WSARecvMsg(m, ov, {}) end },
    { "WSARecvMsg buf", function() return X:WSARecvMsg(b, ov) end },
    { "GetOverlappedResult str", function() return X:WSAGetOverlappedResult("ov") end },
    { "GetOverlappedResult buf", function() return X:WSAGetOverlappedResult(b) end },
    { "CancelIoEx str", function() return X:CancelIoEx("ov") end },
    { "CancelIoEx buf", function() return X:CancelIoEx(b) end },
    { "SleepEx str", function() return wsarecv.SleepEx("x") end },
    { "SleepEx -2", function() return wsarecv.SleepEx(-2) end },
    { "SleepEx float", function() return wsarecv.SleepEx(1.5) end },
    { "Wait str", function() return wsarecv.WSAWaitForMultipleEvents("x") end },
    { "Wait item", function() return wsarecv.WSAWaitForMultipleEvents({ b }) end },
    { "Wait ms", function() return wsarecv.WSAWaitForMultipleEvents(ov, false, "x") end },
    { "run mode", function() return wsarecv.run("bogus") end },
    { "msg str", function() return wsarecv.msg("x") end },
    { "msg buffers", function() return wsarecv.msg { buffers = 42 } end },
    { "msg control str", function() return wsarecv.msg { control = "x" } end },
    { "msg control neg", function() return wsarecv.msg { control = -1 } end },
    { "msg control big", function() return wsarecv.msg { control = 1 << 21 } end },
    { "msg flags str", function() return wsarecv.msg { flags = "x" } end },
    { "msg.buffers =", function() m.buffers = 42 end },
    { "msg.control =", function() m.control = {} end },
    { "msg.flags =", function() m.flags = "x" end },
    { "buffer neg", function() return wsarecv.buffer(-1) end },
    { "buffer table", function() return wsarecv.buffer({}) end },
    { "buf:sub", function() return b:sub("x") end },
    { "buf:write", function() return b:write(0, "x") end },
    { "buf:fill", function() return b:fill(300) end },
    { "setsockopt name", function() return X:setsockopt("NOPE", 1) end },
    { "setsockopt value", function() return X:setsockopt("SO_RCVBUF", "x") end,
      closed = false },
    { "getsockopt name", function() return X:getsockopt({}) end },
    { "bind addr", function() return X:bind({}) end, closed = false },
    { "connect addr", function() return X:connect({}, 1) end, closed = false },
    { "sendto addr", function() return X:sendto("x", {}, 1) end, closed = false },
    { "send data", function() return X:send({}) end },
    { "listen", function() return X:listen("x") end, closed = false },
    { "shutdown", function() return X:shutdown("sideways") end },
    { "socket family", function() return wsarecv.socket("bogus", "dgram") end },
    { "socket type", function() return wsarecv.socket("inet", "bogus") end },
    { "socket proto", function() return wsarecv.socket("inet", "dgram", "bogus") end },
    { "wrap str", function() return wsarecv.wrap("x") end },
    { "wrap neg", function() return wsarecv.wrap(-1) end },
  }
end

local function wrong_types(on_closed)
  local ep = pick(eps)
  local X = rxof(ep)
  if not X then return end
  if on_closed then
    X = wsarecv.socket("inet", "dgram")
    X:close()
  end
  on_closed = on_closed or ep.closed
  local b, cb, ov = wsarecv.buffer(16), wsarecv.buffer(4), wsarecv.overlapped()
  cb:close()
  local m = wsarecv.msg { buffers = b }
  local probes = type_probes(X, b, ov, m, cb)
  local p = pick(probes)
  if on_closed and p.closed == false and not KB["5"] then return end
  local before = (not on_closed and not ep.closed) and X:pending()
  local ok, e = pcall(p[2])
  log("type probe %s%s -> %s %s", p[1], on_closed and " (closed)" or "",
    tostring(ok), tostring(e))
  check(not ok and tostring(e):find("bad argument", 1, true),
    "wrong-type call %s%s did not raise: %s %s", p[1],
    on_closed and " on a closed socket" or "", tostring(ok), show(e))
  check(not ov.pending, "wrong-type call %s left its object pending", p[1])
  if before then
    check(X:pending() == before, "wrong-type call %s changed pending()", p[1])
  end
  stats.probes = stats.probes + 1
end

-- Run code in a child interpreter (same module paths and environment),
-- bounded in time: known defects 1 and 7 can hang.
local function child(code, limit, prefix)
  local f = os.tmpname()
  local h = assert(io.open(f, "w"))
  h:write(code)
  h:close()
  local q = function(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
  local cmd = ("%sLUA_PATH=%s LUA_CPATH=%s timeout -k 2 %d lua5.4 %s 2>&1")
    :format(prefix or "", q(package.path), q(package.cpath), limit, q(f))
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  local _, how, rc = p:close()
  os.remove(f)
  return out, how, rc
end

local function known_bug_probes()
  if KB["1"] then
    local out, how, rc = child([[
      local w = require "wsarecv"
      local rx = w.socket("inet", "dgram"); rx:bind("127.0.0.1", 0)
      local _, port = rx:getsockname()
      rx:setsockopt("IP_PKTINFO", true); rx:setsockopt("IP_RECVTTL", true)
      local tx = w.socket("inet", "dgram")
      tx:sendto("x", "127.0.0.1", port)
      local ctl = w.buffer(64)
      local m = w.msg{buffers = w.buffer(8), control = ctl}
      assert(rx:WSARecvMsg(m) == 0)
      -- cmsghdr: size_t cmsg_len, int level, int type.  Alone, and after
      -- a valid IP_TTL header (a bad length past offset 0 can wrap)
      local lens = {0, 1, 15, 16, 17, 20, 63, 64, 65, 0xffffffff, 1 << 40,
                    -1, -8, -16, -17, -32, math.mininteger, math.maxinteger}
      for _, len in ipairs(lens) do
        for _, lt in ipairs{{0, 8}, {0, 2}, {41, 50}, {1, 29}, {17, 104}, {7, 7}} do
          ctl:fill(0)
          ctl:write(1, string.pack("=i8i4i4", len, lt[1], lt[2]))
          pcall(m.control, m)
          ctl:write(1, string.pack("=i8i4i4i4", 20, 0, 2, 64))
          ctl:write(25, string.pack("=i8i4i4", len, lt[1], lt[2]))
          pcall(m.control, m)
        end
        ctl:fill(0xff)
        pcall(m.control, m)
      end
      print("done")
    ]], 10)
    check(how == "exit" and rc == 0 and out:find("done", 1, true)
      and not out:find("Sanitizer", 1, true) and not out:find("runtime error", 1, true),
      "msg:control() on an overwritten control buffer (known defect 1): %s %s\n%s",
      show(how), show(rc), out)
  end
  if KB["7"] then
    local out, how, rc = child([[
      local w = require "wsarecv"
      print(pcall(w.SleepEx, 1 << 62, false))
      print(pcall(w.SleepEx, math.maxinteger, true))
      print("done")
    ]], 5)
    check(how == "exit" and rc == 0 and out:find("done", 1, true),
      "SleepEx(2^62) did not return (known defect 7): %s %s\n%s", show(how),
      show(rc), out)
  end
  if KB["4"] then
    local s = wsarecv.socket("inet", "dgram")
    local ok, a = pcall(s.bind, s, "127.0.0.1\0junk", 0)
    s:close()
    check(not ok or a == nil, "bind accepted an address with an embedded zero "
      .. "(known defect 4)")
    local u = wsarecv.socket("unix", "dgram")
    local p = tmppath()
    ok, a = pcall(u.bind, u, p .. "\0junk")
    u:close()
    os.remove(p)
    check(not ok or a == nil, "bind accepted a path with an embedded zero "
      .. "(known defect 4)")
  end
  if KB["2a"] then
    local b = wsarecv.buffer(8)
    local s = rxof(pick(eps))
    if s then
      local a, name = s:WSARecv({ { b, math.mininteger } }, 0, wsarecv.overlapped())
      check(a == nil and name == "WSAEFAULT", "slice {buf, mininteger}: %s %s",
        show(a), show(name))
    end
  end
end

---------------------------------------------------------------------------
-- the invariants checked between steps
---------------------------------------------------------------------------

local function check_counts()
  for _, ep in ipairs(eps) do
    local rx = rxof(ep)
    local known, unknown = 0, 0
    for _, op in pairs(ep.live) do
      local ov = ovref(op)
      if ov then
        if ov.pending then known = known + 1 end
      elseif op.calls == 0 then
        unknown = unknown + 1
      end
    end
    if rx then
      local n = rx:pending()
      check(n >= known and n <= known + unknown, "ep%d: pending() %d, model "
        .. "%d (+%d unknown)", ep.id, n, known, unknown)
    else
      check(known == 0 and unknown == 0, "ep%d: socket collected with %d "
        .. "pending", ep.id, known + unknown)
    end
  end
  P.check(false)
end

-- A receive on a message socket whose datagram the model knows is waiting
-- must complete in a few nonblocking pumps (the kernel has the data; the
-- poll is level-triggered).
local function liveness()
  local ep = pick(eps)
  if not ep.msgo or ep.closed or not rxof(ep) then return end
  local op = ep.order[ep.ohead]
  if not op or op.result or op.mode == "sync" then return end
  local ov = ovref(op)
  if not ov or not ov.pending or not guaranteed(op) then return end
  for _ = 1, 3 do
    call_wait(false, wsarecv.SleepEx, 0, false)
    if not ov.pending then return end
  end
  fail("op%d (ep%d %s) stays pending with %d datagrams sent and unread "
    .. "(a stalled receive)", op.id, ep.id, ep.kind, ep.dgtail - ep.dghead + 1)
end

local function liveness_all()
  for _, ep in ipairs(eps) do
    if ep.msgo and not ep.closed and rxof(ep) then
      local op = ep.order[ep.ohead]
      local ov = op and not op.result and op.mode ~= "sync" and ovref(op)
      if ov and ov.pending and guaranteed(op) then
        for _ = 1, 3 do
          call_wait(false, wsarecv.SleepEx, 0, false)
          if not ov.pending then break end
        end
        check(not ov.pending, "op%d (ep%d %s) stays pending with %d datagrams "
          .. "sent and unread (a stalled receive)", op.id, ep.id, ep.kind,
          ep.dgtail - ep.dghead + 1)
      end
    end
  end
end

-- The sequence of known defect "rest": a receive finds the socket empty
-- and is cancelled; a datagram comes; a MSG_PARTIAL receive takes its
-- first piece; its routine posts the next receive, which must get the rest.
local function scenario_rest(ep)
  local rx = rxof(ep)
  if ep.k.type ~= "dgram" or ep.closed or ep.shut or not rx or ep.nlive > 0
     or ep.port
     or ep.dgtail >= ep.dghead or ep.txdead then
    return
  end
  log("scenario rest on ep%d", ep.id)
  post_op(ep, nil, nil, { api = "recv", mode = "event", flags = 0, size = 8 })
  local op0 = last_op
  if not op0 or not op0.ov or not op0.ov.pending then return end
  local a = rx:CancelIoEx(op0.ov)
  check(a == 0, "scenario: CancelIoEx failed")
  op0.must_abort = true
  observe(op0)
  feed(ep, 100)
  post_op(ep, nil, nil, { api = "recv", mode = "routine", flags = MSG_PARTIAL,
    size = 10, repost = { api = "recv", mode = "event", flags = 0, size = 10 } })
  for _ = 1, 3 do call_wait(true, wsarecv.SleepEx, 0, true) end
  liveness_all()
end

local function do_gc()
  local r = random()
  if r < 0.5 then collectgarbage("step", rint(1, 100))
  elseif r < 0.9 then collectgarbage()
  elseif r < 0.95 then collectgarbage("generational")
  else collectgarbage("incremental") end
  stats.gcs = stats.gcs + 1
  log("gc")
end

local function drop_ep(ep)
  if not ep.rx then return end
  ep.rx = nil
  log("ep%d: receiver reference dropped", ep.id)
end

local function setopt(ep)
  local rx = rxof(ep)
  if not rx or ep.closed then return end
  if chance(0.6) then
    local v = not ep.nbio
    ok0("FIONBIO", rx:setsockopt("FIONBIO", v))
    check(rx:getsockopt("FIONBIO") == v, "FIONBIO reads back wrong")
    ep.nbio = v
  else
    ep.rcvtimeo = pick { 2, 5, 15 }
    ok0("SO_RCVTIMEO", rx:setsockopt("SO_RCVTIMEO", ep.rcvtimeo))
  end
end

---------------------------------------------------------------------------
-- the port and pollfd surfaces: fuzz/port_ops.lua, beside this file, given
-- the model and the checker
---------------------------------------------------------------------------

do
  local dir = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
  P = assert(loadfile(dir .. "/port_ops.lua"))() {
    wsarecv = wsarecv, KB = KB, stats = stats, check = check, fail = fail,
    log = log, show = show, chance = chance, rint = rint, pick = pick,
    random = random, child = child, eps = function() return eps end,
    waitstack = waitstack, routines = function() return routines_run end,
    rxof = rxof, ovref = ovref, post_op = post_op, record = record,
    finish_op = finish_op, prep_bufs = prep_bufs, add_order = add_order,
    guaranteed = guaranteed, call_wait = call_wait, do_cancel = do_cancel,
    do_close = do_close,
    last_op = function() return last_op end,
    failed = function() return failure ~= nil end,
    draining = function() return draining end,
    new_op_id = function() next_op = next_op + 1; return next_op end,
    give_back = function(ov, msg, lay)
      give_ov(ov)
      if msg and #msgpool < 24 then msgpool[#msgpool + 1] = msg end
      release_bufs(lay)
    end,
  }
end

---------------------------------------------------------------------------
-- a session
---------------------------------------------------------------------------

local cur = { seed = 0, iter = 0 }

local function replace_dead()
  for i, ep in ipairs(eps) do
    local rx = rxof(ep)
    local gone = ep.closed or ep.shut or not rx
    if gone and ep.nlive == 0 and ep.ohead > ep.otail and not P.holds(ep) then
      if not rx then
        -- collected: its __gc closed it
        ep.closed = true
      end
      dispose_ep(ep)
      eps[i] = make_ep(ep.kind)
    end
  end
end

local function step()
  local ep = pick(eps)
  if chance(0.15) then
    P.step(ep)
    return
  end
  local r = random()
  if r < 0.33 then post_op(ep)
  elseif r < 0.58 then feed(ep)
  elseif r < 0.78 then do_wait(false)
  elseif r < 0.82 then observe_all()
  elseif r < 0.84 then do_cancel(ep)
  elseif r < 0.845 then cancel_elsewhere(ep)
  elseif r < 0.852 then do_close(ep)
  elseif r < 0.855 then do_shutdown(ep)
  elseif r < 0.86 then close_sender(ep)
  elseif r < 0.863 then drop_ep(ep)
  elseif r < 0.89 then do_gc()
  elseif r < 0.91 then busy_probe()
  elseif r < 0.95 then wrong_types(chance(0.2))
  elseif r < 0.96 then setopt(ep)
  elseif r < 0.97 then getresult_probe()
  elseif r < 0.98 then liveness()
  elseif r < 0.985 then scenario_rest(ep)
  end
end

-- Close everything, deliver every completion, and check that each posted
-- operation completed exactly once.
local function drain_all()
  draining = true
  for _, ep in ipairs(eps) do
    if rxof(ep) and not ep.closed then do_close(ep) end
  end
  for _ = 1, 100 do
    local r = call_wait(true, wsarecv.run, "default")
    if r ~= "raised" then
      check(r[2] == false, "run() returned %s after everything was closed", show(r[2]))
      break
    end
  end
  P.drain()
  observe_all()
  for _, ep in ipairs(eps) do
    for _, op in pairs(ep.live) do
      fail("op%d (%s, %s) never completed", op.id, op.api, op.mode)
    end
    verify_ep(ep)
    check(ep.ohead > ep.otail, "ep%d: %d operations unverified", ep.id,
      ep.otail - ep.ohead + 1)
  end
  for id in pairs(raised) do fail("op%d's routine error never came out", id) end
  for _, ep in ipairs(eps) do dispose_ep(ep) end
  P.end_session()
  eps = {}
  draining = false
end

local function session(seed, deadline)
  math.randomseed(seed)
  cur.seed, cur.iter = seed, 0
  -- nothing carries over from the last session: a seed replays alone
  eps, bufpool, ovpool, msgpool = {}, {}, {}, {}
  next_op, next_ep = 0, 0
  collectgarbage()
  P.new_session()
  for _, kind in ipairs(KINDS) do eps[#eps + 1] = make_ep(kind) end
  if stats.seeds == 0 then P.first_probes() end
  local iters = opt.iterations or rint(300, 1500)
  local t0 = now()
  for i = 1, iters do
    cur.iter = i
    step()
    if toplevel() then check_counts() end
    if i % 10 == 0 then liveness_all() end
    if failure then error("FUZZ-INVARIANT: " .. failure, 0) end
    if i % 50 == 0 then
      replace_dead()
      if now() > deadline then break end
    end
    stats.iterations = stats.iterations + 1
  end
  if chance(0.2) then known_bug_probes() end
  drain_all()
  collectgarbage()
  return now() - t0
end

---------------------------------------------------------------------------
-- main
---------------------------------------------------------------------------

local function report(msg)
  io.stdout:flush()
  io.stderr:write(("\nFUZZ FAILURE: seed %d, iteration %d\n%s\n")
    :format(cur.seed, cur.iter, msg))
  io.stderr:write("recent operations (oldest first):\n")
  for i = math.max(1, logpos - LOGN + 1), logpos do
    io.stderr:write("  ", logbuf[i % LOGN], "\n")
  end
  io.stderr:write(("reproduce: lua5.4 fuzz/api_fuzz.lua --seed %d --seeds 1%s%s\n")
    :format(cur.seed, opt.iterations and " --iterations " .. opt.iterations or "",
      opt.known ~= "off" and " --known-bugs " .. opt.known or ""))
end

local function main()
  local t0 = now()
  local deadline = t0 + opt.seconds
  local kb = {}
  for _, id in ipairs(KNOWN_BUG_IDS) do if KB[id] then kb[#kb + 1] = id end end
  print(("api_fuzz: seed %d, %s s, known bugs %s"):format(opt.seed,
    tostring(opt.seconds), #kb > 0 and table.concat(kb, ",") or "off"))
  local seed = opt.seed
  local shown = t0
  while stats.seeds < opt.seeds do
    local ok, e = xpcall(session, debug.traceback, seed, deadline)
    if failure or not ok then
      report(failure or tostring(e))
      if not failure then io.stderr:write(tostring(e), "\n") end
      os.exit(1, true)
    end
    stats.seeds = stats.seeds + 1
    if opt.verbose then
      print(("seed %d: %.1f s"):format(seed, e))
    end
    seed = seed + 1
    local t = now()
    if t >= deadline then break end
    if t - shown >= 10 then
      -- progress (a hang is in a seed after the last one shown)
      shown = t
      print(("api_fuzz: %.0f s, seeds %d..%d done, %d iterations"):format(
        t - t0, opt.seed, seed - 1, stats.iterations))
      io.stdout:flush()
    end
  end
  local dt = now() - t0
  print(("api_fuzz: ok: seeds %d..%d (%d), iterations %d (%.0f/s), posted %d, "
    .. "completions %d (routines %d, events %d, sync %d), failed at once %d, "
    .. "bytes %d, datagrams %d, pieces %d, peeks %d, aborted %d, routine "
    .. "errors %d/%d, probes %d, waits %d, gcs %d, udp lost %d, %.1f s")
    :format(opt.seed, seed - (stats.seeds > 0 and 1 or 0), stats.seeds,
      stats.iterations, stats.iterations / math.max(dt, 0.01), stats.posted,
      stats.completions, stats.routines, stats.events, stats.sync,
      stats.failed_at_once, stats.bytes, stats.dgrams, stats.pieces,
      stats.peeks, stats.aborted, stats.rethrown, stats.raises, stats.probes,
      stats.waits, stats.gcs, stats.udp_lost, dt))
  print("api_fuzz: " .. P.report())
end

main()
