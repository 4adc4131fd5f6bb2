-- examples/demo.lua: `make tour` -- a tour of overlapped receive and
-- send over loopback.  Everything here is a real socket; it exits by
-- itself.
local wsarecv = require "wsarecv"

local function say(fmt, ...) print(string.format(fmt, ...)) end
local function show(label, ...)
  local t = table.pack(...)
  for i = 1, t.n do t[i] = tostring(t[i]) end
  say("  %-34s -> %s", label, table.concat(t, ", "))
end

say("%s: Windows-style overlapped receive on libuv\n", wsarecv._VERSION)

-- 1. UDP: three operations posted at once, filled in posting order --------
say("1. UDP, three WSARecv operations posted before any data arrives")
local rx = assert(wsarecv.socket("inet", "dgram"))
assert(rx:bind("127.0.0.1", 0))
local _, port = rx:getsockname()
local tx = assert(wsarecv.socket("inet", "dgram"))
local bufs = {}
local function routine(err, n, ov, flags)
  say("  routine(err=%s, bytes=%d, op #%d, flags=%s): %q", tostring(err), n,
      ov.context, wsarecv.flagnames(flags), bufs[ov.context]:sub(1, n))
end
for i = 1, 3 do
  bufs[i] = wsarecv.buffer(8)
  local ov = wsarecv.overlapped()
  ov.context = i
  show("rx:WSARecv(buf" .. i .. ", 0, ov, routine)", rx:WSARecv(bufs[i], 0, ov, routine))
end
for _, word in ipairs { "first", "second", "a datagram too long" } do
  tx:sendto(word, "127.0.0.1", port)
end
show("SleepEx(0, false) (not alertable)", wsarecv.SleepEx(0, false))
say("  ... the data is in the buffers, but routines wait for an alertable wait:")
show("SleepEx(100, true)", wsarecv.SleepEx(100, true))

-- 2. Completed at once, scatter into slices, MSG_PARTIAL -------------------
say("\n2. A datagram already queued completes at once; slices scatter it")
tx:sendto("HEADbody-bytes", "127.0.0.1", port)
wsarecv.SleepEx(10, false)
local head, body = wsarecv.buffer(4), wsarecv.buffer(16)
show("rx:WSARecv({head, {body, 0, 10}})", rx:WSARecv({ head, { body, 0, 10 } }))
say("  head=%q body=%q", head:sub(), body:sub(1, 10))
tx:sendto("0123456789abcdef", "127.0.0.1", port)
wsarecv.SleepEx(10, false)
local small = wsarecv.buffer(6)
for _ = 1, 3 do
  local ok, n, flags = rx:WSARecv(small, wsarecv.MSG_PARTIAL)
  say("  MSG_PARTIAL receive: %s bytes %q flags=%s", tostring(ok and n), small:sub(1, n or 0),
      wsarecv.flagnames(flags or 0))
end

-- 3. TCP: several operations outstanding, graceful close -------------------
say("\n3. TCP: two 5-byte operations outstanding, then the peer closes")
local l = assert(wsarecv.socket("inet", "stream"))
assert(l:bind("127.0.0.1", 0)); assert(l:listen())
local _, tport = l:getsockname()
local c = assert(wsarecv.socket("inet", "stream"))
assert(c:connect("127.0.0.1", tport))
local conn = assert(l:accept())
local a, b, z = wsarecv.buffer(5), wsarecv.buffer(5), wsarecv.buffer(5)
local ova, ovb, ovz = wsarecv.overlapped(), wsarecv.overlapped(), wsarecv.overlapped()
conn:WSARecv(a, 0, ova)            -- event style: no routine
conn:WSARecv(b, 0, ovb)
c:send("helloworld")
show("WSAWaitForMultipleEvents({a, b}, true, 1000)", wsarecv.WSAWaitForMultipleEvents({ ova, ovb }, true, 1000, false))
show("WSAGetOverlappedResult(ova)", conn:WSAGetOverlappedResult(ova))
say("  a=%q b=%q", a:sub(), b:sub())
conn:WSARecv(z, 0, ovz)
c:close()
show("WSAGetOverlappedResult(ovz, true)", conn:WSAGetOverlappedResult(ovz, true))
say("  0 bytes: the graceful close, as on Windows")

-- 4. Errors come back as Winsock names and codes ---------------------------
say("\n4. Failures are returned as nil, WSA name, Windows code")
show("WSARecv on an unbound UDP socket", wsarecv.socket("inet", "dgram"):WSARecv(small))
show("MSG_WAITALL on a datagram socket", rx:WSARecv(small, wsarecv.MSG_WAITALL))
local cu = assert(wsarecv.socket("inet", "dgram"))
assert(cu:connect("127.0.0.1", port)); rx:close()
cu:send("to nobody")
wsarecv.SleepEx(20, false)
show("after an ICMP port unreachable", cu:WSARecv(small))
show("receive on a closed socket", rx:WSARecv(small))
local idle = assert(wsarecv.socket("inet", "dgram"))
assert(idle:bind("127.0.0.1", 0))
local ov = wsarecv.overlapped()
show("WSARecv with nothing to receive", idle:WSARecv(a, 0, ov, function(err)
  say("  routine: %s (%s)", err, wsarecv.strerror(err))
end))
show("CancelIoEx(ov)", idle:CancelIoEx(ov))
show("run()", wsarecv.run())

-- 5. Sending: WSASendTo, AcceptEx and ConnectEx, async.send -------------
say("\n5. The sending half: overlapped WSASendTo, AcceptEx, ConnectEx, async")
local urx = assert(wsarecv.socket("inet", "dgram"))
assert(urx:bind("127.0.0.1", 0))
local _, uport = urx:getsockname()
local utx = assert(wsarecv.socket("inet", "dgram"))
local function sent(err, n) say("  routine(err=%s, bytes=%d)", tostring(err), n) end
show("utx:WSASendTo(\"ping\", 0, addr, port, ov, routine)",
     utx:WSASendTo("ping", 0, "127.0.0.1", uport, wsarecv.overlapped(), sent))
say("  ... done at once, yet the routine waits for an alertable wait, as on Windows:")
show("SleepEx(100, true)", wsarecv.SleepEx(100, true))
show("urx:WSARecv(small)", urx:WSARecv(small))
show("a datagram too big: nothing sent, no routine",
     utx:WSASendTo(string.rep("x", 70000), 0, "127.0.0.1", uport, wsarecv.overlapped(), sent))

local ls = assert(wsarecv.socket("inet", "stream"))
assert(ls:bind("127.0.0.1", 0)); assert(ls:listen())
local _, lport = ls:getsockname()
local accepted = assert(wsarecv.socket("inet", "stream"))   -- made by the caller
local first = wsarecv.buffer(16)
show("ls:AcceptEx(sock, first, ov, routine)", ls:AcceptEx(accepted, first, wsarecv.overlapped(),
  function(err, n) say("  accept routine(err=%s, bytes=%d): %q from %s:%s", tostring(err), n,
                       first:sub(1, n), accepted:getpeername()) end))
local cs = assert(wsarecv.socket("inet", "stream"))
show("cs:ConnectEx(...) unbound", cs:ConnectEx("127.0.0.1", lport, "hi", wsarecv.overlapped()))
assert(cs:bind("*", 0))
show("cs:ConnectEx(addr, port, \"hi\", ov, routine)", cs:ConnectEx("127.0.0.1", lport, "hi",
  wsarecv.overlapped(), function(err, n) say("  connect routine(err=%s, bytes=%d)", tostring(err), n) end))
show("SleepEx(100, true)", wsarecv.SleepEx(100, true))
if first:sub(1, 2) ~= "hi" then show("SleepEx(100, true)", wsarecv.SleepEx(100, true)) end

say("  async: two tasks on the connection; one sends 4 x 1 MiB, the other reads")
local async = require "wsarecv.async"
local MiB, total = 1 << 20, 0
async.spawn(function()
  local big = wsarecv.buffer(string.rep("m", MiB))
  for i = 1, 4 do say("  async.send #%d -> %s (the reader has %d bytes)", i, async.send(cs, big), total) end
  cs:shutdown("send")
end)
async.spawn(function()
  local buf = wsarecv.buffer(65536)
  repeat
    local n = assert(async.recv(accepted, buf))
    total = total + n
  until n == 0
  say("  the reader: %d bytes, then the end of the stream", total)
end)
async.run()
show("async.timeout(50, async.accept, ls)", (function()
  local r
  async.spawn(function() r = table.pack(async.timeout(50, async.accept, ls)) end)
  async.run()
  return table.unpack(r, 1, r.n)
end)())
say("\ndone.")
