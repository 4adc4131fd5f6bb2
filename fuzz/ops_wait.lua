--[[
fuzz/ops_wait.lua -- the API-sequence fuzzer's waits: SleepEx,
WSAWaitForMultipleEvents, run and WSAGetOverlappedResult, alertable or
not, with timeouts the model can vouch for, and the checks on what they
return (fuzz/api_fuzz.lua loads it; not run on its own).

  dofile(dir .. "/ops_wait.lua")(F)

Adds to the fuzzer's table F (see fuzz/common.lua, fuzz/model.lua,
fuzz/check.lua):
  F.call_wait(alertable, f, ...)
                   calls f (a wsarecv function that may run routines, or
                   must not) with the wait stack kept; returns its packed
                   results, or "raised" when a routine's error came out
                   (once, with a traceback, only from an alertable call),
                   and how many routines ran
  F.do_wait(nested)    one random wait (nested: from a routine), some from
                       a coroutine
  F.getresult_probe()  WSAGetOverlappedResult on a random object
  F.toplevel()     no wait of ours on the stack
  F.waitstack      per wait on the stack: is it alertable
  F.routines_run   how many routines ran (fuzz/ops_recv.lua counts)
  F.raised         op id -> "string" or "table": routine errors raised and
                   not yet out of a wait

A wait is INFINITE (or a finite wait under known defect "timer" is made at
all) only when the model says something will surely end it: a queued
routine, a receive F.guaranteed, a signalled object.
]]

return function(F)
  local wsarecv = F.wsarecv
  local KB, stats = F.KB, F.stats
  local check, fail, log, show = F.check, F.fail, F.log, F.show
  local random, chance, rint, pick = F.random, F.chance, F.rint, F.pick
  local ovref, rxof = F.ovref, F.rxof
  local guaranteed, outstanding = F.guaranteed, F.outstanding
  local observe = F.observe
  local same = F.same

  local waitstack = {}                    -- is the innermost wait alertable
  local raised = {}                       -- routine errors not yet rethrown
  F.waitstack, F.raised, F.routines_run = waitstack, raised, 0

  ---------------------------------------------------------------------------
  -- calling a wait: the stack of waits, routines' errors coming out
  ---------------------------------------------------------------------------

  -- Call a wsarecv function that may run routines (alertable) or must not.
  -- Returns the packed results, or "raised" if a routine's error came out,
  -- and how many routines ran meanwhile.
  local function call_wait(alertable, f, ...)
    waitstack[#waitstack + 1] = alertable
    local before = F.routines_run
    local r = table.pack(pcall(f, ...))
    waitstack[#waitstack] = nil
    local ran = F.routines_run - before
    stats.waits = stats.waits + 1
    if r[1] then return r, ran end
    local e = tostring(r[2])
    if F.failure or e:find("FUZZ-INVARIANT", 1, true) then error(e, 0) end
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
    for _, ep in ipairs(F.eps) do
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
      elseif r < 0.85 and #F.ovpool > 0 then
        list[#list + 1] = pick(F.ovpool)
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
    for _, ep in ipairs(F.eps) do
      for _, op in pairs(ep.live) do
        if ovref(op) then ops[#ops + 1] = op end
      end
    end
    if #ops == 0 then
      local ov = wsarecv.overlapped()
      local ep = pick(F.eps)
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
      local other = pick(F.eps)
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

  F.call_wait, F.toplevel = call_wait, toplevel
  F.do_wait, F.getresult_probe = do_wait, getresult_probe
end
