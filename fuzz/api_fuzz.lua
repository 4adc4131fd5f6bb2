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
replays one (the kernel's timing aside: TCP segmenting, partial sends; and
the collector's pace, which follows the heap: where a finalizer of
fuzz/port_ops.lua runs can move when the fuzzer's own code changes, or
after an earlier session in the same run).
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
wsarecv.pollfd()/events()/timeout()/ready()/wake().  fuzz/ops_send.lua
adds the sending half: flows (TCP, unix stream, UDP, unix datagram
pairs, and TCP connections an AcceptEx/ConnectEx pair makes) whose sender
posts WSASend/WSASendTo/WSASendMsg in every form (routine, event, its own
port, where datagram sends are batched, nonoverlapped), MSG_OOB, too-big
datagrams, cancels and closes of pending sends, and whose receiver it
reads; the receivers' senders above also use the nonoverlapped WSASend*.

This file is the driver: the command line, the session loop (what each
step and each routine does next), the report.  The rest lives beside it,
loaded by a path relative to this file; each part is a function given the
fuzzer's table F, adding to it what its header lists:
  fuzz/common.lua      time, randomness, the operation log, failures,
                       the counters
  fuzz/model.lua       the data, buffers and WSABUF arrays, endpoints,
                       operations in flight, the errors a post must give
  fuzz/check.lua       the checker: every completion recorded once and
                       verified in posting order; counts and liveness
  fuzz/sender.lua      the nonblocking senders
  fuzz/ops_recv.lua    posting WSARecv/WSARecvMsg; the routines
  fuzz/ops_wait.lua    SleepEx, WSAWaitForMultipleEvents, run,
                       WSAGetOverlappedResult
  fuzz/ops_socket.lua  CancelIoEx, close, shutdown, options, collections
  fuzz/probes.lua      busy objects, wrong types, the known defects'
                       probes (child processes), the "rest" scenario
  fuzz/port_ops.lua    completion ports and the pollfd surface
  fuzz/ops_send.lua    the sending half: WSASend, WSASendTo, WSASendMsg,
                       AcceptEx and ConnectEx on flows of its own (its
                       header says more), every byte checked at the
                       receiver

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
  - sends (fuzz/ops_send.lua): every byte a send reports sent arrives
    exactly once, in posting order, and nothing else (a cancelled or
    aborted stream send's bytes are exactly the prefix the receiver got
    from it); a datagram at most once, intact, in order, from the source
    address it was sent from, and every datagram whose send succeeded
    arrives; each send, AcceptEx and ConnectEx completes exactly once in
    the form it was posted in, or fails at once with what the rules say;
    accepts on one listener take the connections in posting order; a
    send that stays pending while its receiver is read empty is a stall;
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
the default).  All are fixed but s1 and s2 (issue 16; main fixed s2 in
90c43b3).
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
  s1  (found by this fuzzer, issue 16) msg.control = size or nil after
      msg.control = {records}: WSASendMsg still sends the old records (the
      encoded ones are dropped only by another array).  Off, a msg's
      records are ended by msg.control = {}.
  s2  (found by this fuzzer, issue 16) the encoded records of msg.control
      = {records} are never freed: a collected msg leaks them (LeakSanitizer
      at exit).  Off, no send control messages are made.
      (spec/fuzz_found_spec.lua reproduces both.)
  p1, p2, p3, p4, p4w, p5, p8, p12  (issue 14) the completion-port
      defects: see fuzz/port_ops.lua.  p1, p2, p4w and p5 are probed in a
      child process first (p5 only without ASan); p1 and p2 are made in
      this process only once their probe passed.
]]

local wsarecv = require "wsarecv"

---------------------------------------------------------------------------
-- options
---------------------------------------------------------------------------

local KNOWN_BUG_IDS = { "1", "2a", "3", "4", "5", "6", "7", "10", "11", "12",
                        "timer", "rest", "p1", "p2", "p3", "p4", "p4w", "p5",
                        "p8", "p12", "s1", "s2" }

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
if opt.known == "on" or opt.known == "all" then
  for _, id in ipairs(KNOWN_BUG_IDS) do KB[id] = true end
elseif opt.known ~= "off" and opt.known ~= "" then
  for id in opt.known:gmatch("[^,%s]+") do KB[id] = true end
end

---------------------------------------------------------------------------
-- the parts: fuzz/*.lua beside this file, each adding to F what its
-- header lists; fuzz/port_ops.lua given the model and the checker
---------------------------------------------------------------------------

-- In this order: a part takes at load what the parts before it added, and
-- reaches the later ones through F when it runs.
local F = { wsarecv = wsarecv, opt = opt, KB = KB, draining = false }
local dir = (arg and arg[0] or ""):match("^(.*)[/\\]") or "."
for _, part in ipairs { "common", "model", "check", "sender", "ops_wait",
                        "ops_recv", "ops_socket", "probes", "ops_send" } do
  assert(loadfile(dir .. "/" .. part .. ".lua"))()(F)
end

local check, fail, log, show = F.check, F.fail, F.log, F.show
local random, chance, rint, pick = F.random, F.chance, F.rint, F.pick
local now, stats = F.now, F.stats
local rxof, post_op, feed = F.rxof, F.post_op, F.feed
local make_ep, dispose_ep = F.make_ep, F.dispose_ep
local call_wait, do_wait, toplevel = F.call_wait, F.do_wait, F.toplevel
local observe_all, verify_ep = F.observe_all, F.verify_ep
local check_counts, liveness, liveness_all = F.check_counts, F.liveness,
  F.liveness_all
local do_cancel, do_close = F.do_cancel, F.do_close

local P = assert(loadfile(dir .. "/port_ops.lua"))() {
  wsarecv = wsarecv, KB = KB, stats = stats, check = check, fail = fail,
  log = log, show = show, chance = chance, rint = rint, pick = pick,
  random = random, child = F.child, eps = function() return F.eps end,
  waitstack = F.waitstack, routines = function() return F.routines_run end,
  rxof = rxof, ovref = F.ovref, post_op = post_op, record = F.record,
  finish_op = F.finish_op, prep_bufs = F.prep_bufs, add_order = F.add_order,
  guaranteed = F.guaranteed, call_wait = F.call_wait, do_cancel = F.do_cancel,
  do_close = F.do_close,
  last_op = function() return F.last_op end,
  failed = function() return F.failure ~= nil end,
  draining = function() return F.draining end,
  new_op_id = F.new_op_id,
  send_ready = function() return F.send_ready() end,
  give_back = function(ov, msg, lay)
    local msgpool = F.msgpool
    F.give_ov(ov)
    if msg and #msgpool < 24 then msgpool[#msgpool + 1] = msg end
    F.release_bufs(lay)
  end,
}
F.P = P           -- the port and pollfd surfaces

---------------------------------------------------------------------------
-- what a routine may do
---------------------------------------------------------------------------

local function routine_actions(op, ov)
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
F.routine_actions = routine_actions

---------------------------------------------------------------------------
-- a session
---------------------------------------------------------------------------

local cur = { seed = 0, iter = 0 }

local function replace_dead()
  local eps = F.eps
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
  local ep = pick(F.eps)
  if chance(0.2) then
    F.send_step()
    return
  end
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
  elseif r < 0.845 then F.cancel_elsewhere(ep)
  elseif r < 0.852 then do_close(ep)
  elseif r < 0.855 then F.do_shutdown(ep)
  elseif r < 0.86 then F.close_sender(ep)
  elseif r < 0.863 then F.drop_ep(ep)
  elseif r < 0.89 then F.do_gc()
  elseif r < 0.91 then F.busy_probe()
  elseif r < 0.95 then F.wrong_types(chance(0.2))
  elseif r < 0.96 then F.setopt(ep)
  elseif r < 0.97 then F.getresult_probe()
  elseif r < 0.98 then liveness()
  elseif r < 0.985 then F.scenario_rest(ep)
  end
end

-- Close everything, deliver every completion, and check that each posted
-- operation completed exactly once.
local function drain_all()
  local eps = F.eps
  F.draining = true
  F.send_drain()
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
  for id in pairs(F.raised) do fail("op%d's routine error never came out", id) end
  for _, ep in ipairs(eps) do dispose_ep(ep) end
  P.end_session()
  F.eps = {}
  F.draining = false
end

local function session(seed, deadline)
  math.randomseed(seed)
  cur.seed, cur.iter = seed, 0
  -- nothing carries over from the last session: a seed replays alone
  F.new_model()
  F.send_new_session()
  collectgarbage()
  P.new_session()
  local eps = F.eps
  for _, kind in ipairs(F.KINDS) do eps[#eps + 1] = make_ep(kind) end
  if stats.seeds == 0 then P.first_probes() end
  local iters = opt.iterations or rint(300, 1500)
  local t0 = now()
  for i = 1, iters do
    cur.iter = i
    step()
    if toplevel() then check_counts() end
    if i % 10 == 0 then liveness_all() end
    if F.failure then error("FUZZ-INVARIANT: " .. F.failure, 0) end
    if i % 50 == 0 then
      replace_dead()
      if now() > deadline then break end
    end
    stats.iterations = stats.iterations + 1
  end
  if chance(0.2) then F.known_bug_probes() end
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
  F.recent(io.stderr)
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
    if F.failure or not ok then
      report(F.failure or tostring(e))
      if not F.failure then io.stderr:write(tostring(e), "\n") end
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
  print("api_fuzz: " .. F.send_report())
end

main()
