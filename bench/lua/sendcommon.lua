-- bench/lua/sendcommon.lua -- what every Lua sender of scenarios 6 and 7
-- shares: the environment send_run gives it (see bench/c/send_run.c), the
-- payload, and its output line.  Nothing here runs per send.
local M = {}

M.mode = os.getenv("WR_MODE") or "send"      -- send | tcpsend | probe
M.fd = tonumber(os.getenv("WR_FD") or "")
M.n = tonumber(os.getenv("WR_N") or "") or 0
M.size = tonumber(os.getenv("WR_SIZE") or "") or 64
M.dest = os.getenv("WR_DEST") or "127.0.0.1"
M.port = tonumber(os.getenv("WR_PORT") or "") or 0
M.bytes = tonumber(os.getenv("WR_BYTES") or "") or 0
M.tcp = M.mode == "tcpsend"
M.heap = os.getenv("WR_HEAP") == "1"        -- Lua heap per send: collector stopped
-- the heap window: sends W+1..N
M.heapmark = M.n // 10
if M.heapmark < 1 then M.heapmark = 1 end

assert(M.fd or M.mode == "probe", "WR_FD not set")
if M.heap then collectgarbage("stop") end

-- the datagram payload, as send_payload in bench/c/common.h: byte i (from
-- 0) is 'a' + i % 26
function M.payload(size)
  local t = {}
  for i = 0, size - 1 do t[#t + 1] = string.char(97 + i % 26) end
  return table.concat(t)
end

-- the TCP chunk: 64 KiB of the stream pattern (byte at offset i = i & 255),
-- so every chunk is the same and any multiple of 256 may start one
function M.chunk()
  local t = {}
  for i = 0, 255 do t[#t + 1] = string.char(i) end
  return string.rep(table.concat(t), 256)
end

function M.available()
  io.stdout:write("AVAILABLE\n")
  os.exit(0)
end

function M.skip(why)
  io.stdout:write("SKIP ", why, "\n")
  io.stdout:flush()
  os.exit(0)
end

-- r: {sent, bytes, err, cpu (s), wall (s), heap0, heap1 (KiB)}
function M.result(r)
  local extra = ""
  if M.heap and r.heap0 and r.heap1 then
    extra = string.format(" heap_bytes=%.0f heap_n=%d", (r.heap1 - r.heap0) * 1024, M.n - M.heapmark)
  end
  io.stdout:write(string.format("RESULT sent=%d bytes=%d err=%d cpu_ns=%.0f wall_ns=%.0f%s\n",
    r.sent, r.bytes, r.err, r.cpu * 1e9, r.wall * 1e9, extra))
  io.stdout:flush()
end

return M
