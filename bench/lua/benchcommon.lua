-- bench/lua/benchcommon.lua -- what every Lua receiver shares: the
-- environment it is given (see bench/c/common.h) and its output line.
-- Nothing here runs per datagram.
local M = {}

M.fd = tonumber(os.getenv("WR_FD") or "")
M.mode = os.getenv("WR_MODE") or "udp"       -- udp | drain | tcp
M.n = tonumber(os.getenv("WR_N") or "") or 0
M.size = tonumber(os.getenv("WR_SIZE") or "") or 64
M.heap = os.getenv("WR_HEAP") == "1"        -- scenario 4: collector stopped
M.drain = M.mode == "drain"
M.MARKER = 255
-- the steady-state window for the heap measurement: datagrams W+1..N
M.heapmark = M.n // 10
if M.heapmark < 1 then M.heapmark = 1 end

assert(M.fd, "WR_FD not set")
if M.heap then collectgarbage("stop") end

function M.ready()
  io.stdout:write("READY\n")
  io.stdout:flush()
end

-- r: {recv, bytes, err, cpu (s), wall (s), heap0, heap1 (KiB)}
function M.result(r)
  local heap = ""
  if M.drain and M.heap and r.heap0 and r.heap1 then
    heap = string.format(" heap_bytes=%.0f heap_n=%d",
      (r.heap1 - r.heap0) * 1024, M.n - M.heapmark)
  end
  io.stdout:write(string.format(
    "RESULT recv=%d bytes=%d err=%d cpu_ns=%.0f wall_ns=%.0f%s\n",
    r.recv, r.bytes, r.err, r.cpu * 1e9, r.wall * 1e9, heap))
  io.stdout:flush()
end

return M
