--[[
fuzz/ops_recv.lua -- the API-sequence fuzzer's receives: WSARecv and
WSARecvMsg posted with random buffers, flags, objects and msgs, in all
three forms (routine, event, nonoverlapped), and the routines they run
(fuzz/api_fuzz.lua loads it; not run on its own).

  dofile(dir .. "/ops_recv.lua")(F)

Adds to the fuzzer's table F (see fuzz/common.lua, fuzz/model.lua,
fuzz/check.lua):
  F.post_op(ep, inroutine, reuse_ov, force)
                  posts one random receive on ep (from inroutine's
                  routine, reusing its object; force: the fixed receive a
                  scenario needs) and checks what the call returned
                  against F.predicted: failed at once (no completion),
                  completed at once, or pending (then in ep.live); some
                  drop their references to objects, msg and buffers
  F.last_op       the op F.post_op made last

A routine checks that it runs inside an alertable wait, once, not nested
for its socket, in posting order for data, with the object, msg, bytes and
flags of its post; then it records the completion, does what
F.routine_actions (fuzz/api_fuzz.lua) picks, and now and then raises (an
error F.raised remembers until a wait gives it back).
]]

return function(F)
  local wsarecv = F.wsarecv
  local URING = wsarecv.engine() == "io_uring"
  local KB, stats = F.KB, F.stats
  local check, fail, log, show = F.check, F.fail, F.log, F.show
  local random, chance, pick = F.random, F.chance, F.pick
  local MSG_OOB, MSG_PEEK, MSG_WAITALL = wsarecv.MSG_OOB, wsarecv.MSG_PEEK,
    wsarecv.MSG_WAITALL
  local MSG_PUSH, MSG_PARTIAL = wsarecv.MSG_PUSH_IMMEDIATE, wsarecv.MSG_PARTIAL
  local ERR = wsarecv.errors
  local ovref, rxof, ok0 = F.ovref, F.rxof, F.ok0
  local gen_layout, prep_bufs, release_bufs = F.gen_layout, F.prep_bufs,
    F.release_bufs
  local take_ov, give_ov, take_msg = F.take_ov, F.give_ov, F.take_msg
  local add_order, drop_order = F.add_order, F.drop_order
  local guaranteed, predicted, errlist = F.guaranteed, F.predicted, F.errlist
  local record, finish_op = F.record, F.finish_op
  local verify_ep, verify_oob = F.verify_ep, F.verify_oob
  local call_wait, waitstack, raised = F.call_wait, F.waitstack, F.raised

  ---------------------------------------------------------------------------
  -- posting
  ---------------------------------------------------------------------------

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

  local post_op                           -- (forward)

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
    F.routines_run = F.routines_run + 1
    stats.routines = stats.routines + 1
    ep.in_routine = true
    local ok, e = pcall(function()
      record(op, err, bytes, flags, "routine")
      finish_op(op)
      if not F.draining then F.routine_actions(op, ov) end
    end)
    ep.in_routine = false
    if not ok then error(e, 0) end
    if not F.draining and chance(0.03) then
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

  -- Post one random receive on ep.  `inroutine`: the routine's op, if any.
  function post_op(ep, inroutine, reuse_ov, force)
    if ep.nlive >= 24 or F.draining then return end
    local rx = rxof(ep)
    if not rx then return end
    local P, ovpool, msgpool = F.P, F.ovpool, F.msgpool
    local op = { id = F.new_op_id(), ep = ep, calls = 0,
                 inroutine = inroutine ~= nil,
                 weak = setmetatable({}, { __mode = "v" }) }
    F.last_op = op
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
      -- (with 12 off, either: an old build failed at once instead); on the
      -- io_uring engine the kernel may have finished it by the time the
      -- post returned, as on Windows (reading ov.pending reaps it)
      if ov then
        check(ov.pending or ov.error == "WSAEMSGSIZE" or URING,
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

  F.post_op = post_op
end
