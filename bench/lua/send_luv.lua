-- bench/lua/send_luv.lua -- a Lua user's choice: luv (Debian lua-luv).
--
--   lua5.4 send_luv.lua send [ops]    UDP: udp:open(fd), ops (64) udp:send
--                                     outstanding, each callback sends again
--   lua5.4 send_luv.lua try_send      UDP: a loop of udp:try_send
--   WR_MODE=tcpsend: send_luv.lua write [ops]: tcp:open(fd), ops (4) x 64 KiB
--                    tcp:write outstanding, each callback writes again
-- The same string every time.  The clock is uv.hrtime(), read once at each
-- end.
local C = require "sendcommon"
local uv = require "luv"

local variant = arg[1] or (C.tcp and "write" or "send")
local ops = tonumber(arg[2]) or (C.tcp and 4 or 64)
if C.mode == "probe" then C.available() end

local data = C.tcp and C.chunk() or C.payload(C.size)
local len = #data
local n = C.tcp and C.bytes // len or C.n
local dest, dport, heapmark = C.dest, C.port, C.heapmark
local sent, posted, err, failures, done = 0, 0, 0, 0, false
local t0, c0, t1, c1, heap0, heap1
local handle = C.tcp and uv.new_tcp() or uv.new_udp()
assert(handle:open(C.fd))
local timer = uv.new_timer()

local function stop()
  done = true
  t1, c1 = uv.hrtime(), os.clock()
  heap1 = collectgarbage("count")
  if not handle:is_closing() then handle:close() end
  if not timer:is_closing() then timer:close() end
end

t0, c0 = uv.hrtime(), os.clock()
if variant == "try_send" then
  -- synchronous: no loop needed; a failure (EAGAIN) is counted and retried
  local deadline = t0 + 50e9
  while sent < n do
    local r = handle:try_send(data, dest, dport)
    if r == len then
      sent = sent + 1
      if sent == heapmark then heap0 = collectgarbage("count") end
    else
      err = err + 1
      if uv.hrtime() > deadline then failures = failures + 1 break end
    end
  end
  stop()
else
  local cb
  local function post()
    posted = posted + 1
    if C.tcp then handle:write(data, cb) else handle:send(data, dest, dport, cb) end
  end
  cb = function(e)
    if e then io.stderr:write("send_luv: ", e, "\n"); failures = failures + 1; err = err + 1 end
    if done then return end
    sent = sent + 1
    if sent == heapmark then heap0 = collectgarbage("count") end
    if posted < n then post()
    elseif sent >= n then stop() end
  end
  for _ = 1, math.min(ops, n) do post() end
end

-- bounded in time: 50 s
if not done then
  timer:start(50000, 0, function()
    io.stderr:write("send_luv: deadline reached\n")
    failures = failures + 1
    stop()
  end)
  timer:unref()
end
uv.run()

C.result{ sent = sent, bytes = sent * len, err = err, cpu = c1 - c0,
          wall = (t1 - t0) / 1e9, heap0 = heap0, heap1 = heap1 }
os.exit(failures == 0 and 0 or 1)
