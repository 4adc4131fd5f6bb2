--[[
fuzz/sender.lua -- the API-sequence fuzzer's sender: each endpoint's
nonblocking sender, in this process, feeds the receiver a known byte
stream (F.pattern) or numbered datagrams (F.dgram), within a bounded
backlog, and the model counts what was sent (fuzz/api_fuzz.lua loads it;
not run on its own).

  dofile(dir .. "/sender.lua")(F)

Adds to the fuzzer's table F (see fuzz/common.lua, fuzz/model.lua):
  F.feed(ep, dglen)    one send: a random number of stream bytes
                       (ep.sent), or one datagram (of dglen bytes, or
                       random) queued in ep.dgq; by send/sendto or by
                       wsarecv's nonoverlapped WSASend, WSASendTo and
                       WSASendMsg (fuzz/ops_send.lua posts the others)
  F.close_sender(ep)   the sender goes away: a stream's end (ep.eof)
]]

return function(F)
  local check, log, show = F.check, F.log, F.show
  local chance, rint, pick = F.chance, F.rint, F.pick
  local pattern, dgram = F.pattern, F.dgram

  local wsarecv = F.wsarecv
  local STREAM_BACKLOG = 256 * 1024

  -- the result of a nonoverlapped WSASend* (0, bytes) as send's (bytes)
  local function as_send(a, n, code)
    if a == 0 then return n end
    return nil, n, code
  end

  -- The sender's own calls: send/sendto, or wsarecv's nonoverlapped
  -- WSASend, WSASendTo, WSASendMsg (data a string or a buffer), whose
  -- bytes the receive side checks the same way.
  local function tx_send(ep, d)
    local tx, r = ep.tx, F.random()
    local arg = F.chance(0.5) and d or wsarecv.buffer(d)
    local to = not ep.connected and ep.kind ~= "seqpacket" and not ep.stream
    if r < 0.5 then
      if not to then return tx:send(d) end
      return tx:sendto(d, ep.rxaddr, ep.rxport)
    elseif r < 0.8 or ep.kind == "seqpacket" or ep.stream then
      if not to then return as_send(tx:WSASend(arg)) end
      return as_send(tx:WSASendTo(arg, 0, ep.rxaddr, ep.rxport))
    end
    local m = wsarecv.msg { buffers = type(arg) == "string"
                              and wsarecv.buffer(arg) or arg }
    if to then m.to = { ep.rxaddr, ep.rxport } end
    return as_send(tx:WSASendMsg(m))
  end
  local DGRAM_BACKLOG = 32

  local function feed(ep, dglen)
    if ep.txdead or ep.eof or not ep.tx then return end
    if ep.stream then
      local room = STREAM_BACKLOG - (ep.sent - ep.consumed)
      if room <= 0 then return end
      local n = math.min(room, pick { rint(1, 16), rint(1, 1500), rint(1, 20000) })
      local r, name = tx_send(ep, pattern(ep.sent, n))
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
      local r, name = tx_send(ep, d)
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

  -- the sender goes away: streams see their end
  local function close_sender(ep)
    if not ep.tx or ep.eof then return end
    ep.tx:close()
    ep.tx = nil
    ep.eof = ep.k.type ~= "dgram"
    ep.txdead = true
    log("ep%d sender closed", ep.id)
  end

  F.feed, F.close_sender = feed, close_sender
end
