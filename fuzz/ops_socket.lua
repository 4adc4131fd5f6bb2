--[[
fuzz/ops_socket.lua -- what the API-sequence fuzzer does to a receiver
besides receiving: CancelIoEx (one object, all, or from another socket),
close and shutdown (also inside routines), socket options, dropped
references and collections (fuzz/api_fuzz.lua loads it; not run on its
own).

  dofile(dir .. "/ops_socket.lua")(F)

Adds to the fuzzer's table F (see fuzz/common.lua, fuzz/model.lua):
  F.do_cancel(ep)         CancelIoEx on one of ep's objects or on all: the
                          pending ones must end WSA_OPERATION_ABORTED
  F.cancel_elsewhere(ep)  CancelIoEx of ep's pending object on another
                          socket: ERROR_NOT_FOUND, nothing cancelled
  F.do_close(ep)          closes the receiver: every pending one aborted
  F.do_shutdown(ep)       shutdown("receive")
  F.setopt(ep)            FIONBIO or SO_RCVTIMEO changed
  F.drop_ep(ep)           the fuzzer's reference to the receiver dropped
                          (its operations must keep it)
  F.do_gc()               a collection step, a full one, or a mode change
]]

return function(F)
  local stats = F.stats
  local check, log, show = F.check, F.log, F.show
  local random, chance, rint, pick = F.random, F.chance, F.rint, F.pick
  local ovref, rxof, ok0 = F.ovref, F.rxof, F.ok0

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
      local rearms = F.P.cancel_all(ep)     -- objects waiting to be rearmed (p8)
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
    local other = pick(F.eps)
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
    F.P.on_close(ep)
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

  ---------------------------------------------------------------------------
  -- collections, dropped references, options
  ---------------------------------------------------------------------------

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

  F.do_cancel, F.cancel_elsewhere = do_cancel, cancel_elsewhere
  F.do_close, F.do_shutdown = do_close, do_shutdown
  F.setopt, F.drop_ep, F.do_gc = setopt, drop_ep, do_gc
end
