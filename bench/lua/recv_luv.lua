-- bench/lua/recv_luv.lua -- a Lua user's choice: luv (Debian lua-luv).
--
--   lua5.4 recv_luv.lua [mmsgs]   UDP: uv.new_udp() or uv.new_udp{mmsgs = N}
--                                 (luv's recvmmsg option; the driver passes 20,
--                                 libuv 1.44's most messages per recvmmsg),
--                                 udp:open(fd), udp:recv_start(cb)
--                                 TCP (WR_MODE=tcp): tcp:open(fd), read_start
-- The clock is uv.hrtime(), read once at each end of the measured period.
local C = require "benchcommon"
local uv = require "luv"

local mmsgs = tonumber(arg[1] or "")
local size, n, drain, MARKER = C.size, C.n, C.drain, C.MARKER
local heapmark = C.heapmark
local recv, bytes, err, done = 0, 0, 0, false
local t0, c0, t1, c1, heap0, heap1
local handle
local timer = uv.new_timer()

if C.mode == "tcp" then
  handle = uv.new_tcp()
  assert(handle:open(C.fd))
end

local function close_all()
  if not handle:is_closing() then handle:close() end
  if not timer:is_closing() then timer:close() end
end

if C.mode == "tcp" then
  C.ready()
  t0, c0 = uv.hrtime(), os.clock()
  handle:read_start(function(e, data)
    if e then io.stderr:write("recv_luv: ", e, "\n") end
    if done then return end
    if not data then                      -- end of stream (or an error)
      done = true
      t1, c1 = uv.hrtime(), os.clock()
      handle:read_stop()
      close_all()
      return
    end
    if data:byte(1) ~= bytes % 251 then err = err + 1 end
    recv = recv + 1
    bytes = bytes + #data
  end)
else
  handle = mmsgs and uv.new_udp{ mmsgs = mmsgs } or uv.new_udp()
  assert(handle:open(C.fd))
  if not drain then C.ready() end
  t0, c0 = uv.hrtime(), os.clock()
  handle:recv_start(function(e, data, addr, flags)
    if e then io.stderr:write("recv_luv: ", e, "\n"); err = err + 1 end
    if data == nil or done then return end   -- nothing read (EAGAIN)
    local b = data:byte(1)
    if b == MARKER and not drain then
      done = true
      t1, c1 = uv.hrtime(), os.clock()
      handle:recv_stop()
      close_all()
      return
    end
    if #data ~= size or (drain and b ~= recv % 251 or b > 250) then err = err + 1 end
    recv = recv + 1
    bytes = bytes + #data
    if recv == heapmark and drain then heap0 = collectgarbage("count") end
    if drain and recv >= n then
      done = true
      t1, c1 = uv.hrtime(), os.clock()
      heap1 = collectgarbage("count")
      handle:recv_stop()
      close_all()
    end
  end)
end

-- bounded in time: 60 s
timer:start(60000, 0, function()
  io.stderr:write("recv_luv: deadline reached\n")
  if not done then done = true; t1, c1 = uv.hrtime(), os.clock() end
  close_all()
end)
timer:unref()
uv.run()

C.result{ recv = recv, bytes = bytes, err = err, cpu = c1 - c0,
          wall = (t1 - t0) / 1e9, heap0 = heap0, heap1 = heap1 }
