-- bench/lua/benchcommon.lua -- what every Lua receiver shares: the
-- environment it is given (see bench/c/common.h and bench/c/queue_exec.c)
-- and its output lines.  Nothing here runs per datagram.
local M = {}

M.mode = os.getenv("WR_MODE") or "udp"       -- udp | drain | tcp | probe
M.fd = tonumber(os.getenv("WR_FD") or "")
M.n = tonumber(os.getenv("WR_N") or "") or 0
M.size = tonumber(os.getenv("WR_SIZE") or "") or 64
M.heap = os.getenv("WR_HEAP") == "1"        -- scenario 4: collector stopped
M.drain = M.mode == "drain"
-- scenario 5: WR_NSOCK sockets on descriptors WR_FD .. WR_FD + WR_NSOCK - 1,
-- datagram seq on socket seq % WR_NSOCK
M.nsock = tonumber(os.getenv("WR_NSOCK") or "")
M.scale = M.nsock ~= nil
M.nsock = M.nsock or 1
M.MARKER = 255
-- the steady-state window (heap, and wall time in scenario 5): datagrams
-- W+1..N
M.heapmark = M.n // 10
if M.heapmark < 1 then M.heapmark = 1 end

assert(M.fd or M.mode == "probe", "WR_FD not set")
if M.heap then collectgarbage("stop") end

function M.ready()
  io.stdout:write("READY\n")
  io.stdout:flush()
end

-- WR_MODE=probe: the receiver can run here (the driver asks before a run)
function M.available()
  io.stdout:write("AVAILABLE\n")
  os.exit(0)
end

-- The receiver cannot run with what this build offers: not a failure.
function M.skip(why)
  io.stdout:write("SKIP ", why, "\n")
  io.stdout:flush()
  os.exit(0)
end

-- require "wsarecv" on the engine WSARECV_ENGINE names, if it names one:
-- a module that does not load with it, or that says it runs another,
-- means the engine is unavailable here (SKIP, as the driver expects)
function M.wsarecv()
  local want = os.getenv("WSARECV_ENGINE")
  if not want or want == "" then return require "wsarecv" end
  local ok, w = pcall(require, "wsarecv")
  if not ok then M.skip(want .. ": unavailable (" .. tostring(w):gsub("%s+", " ") .. ")") end
  local got = w.engine and w.engine()
  if got and got ~= want then
    M.skip(want .. ": unavailable (wsarecv.engine() says " .. tostring(got) .. ")")
  end
  return w
end

-- resident memory of this process, bytes
function M.rss()
  local f = io.open("/proc/self/statm")
  if not f then return 0 end
  local _, res = f:read("n", "n")
  f:close()
  return (res or 0) * 4096
end

-- r: {recv, bytes, err, cpu (s), wall (s), heap0, heap1 (KiB),
--     tw0, tw1 (s, the window's ends), mem_sock, mem_op, heap_op (bytes)}
function M.result(r)
  local extra = {}
  if M.drain and M.heap and r.heap0 and r.heap1 then
    extra[#extra + 1] = string.format("heap_bytes=%.0f heap_n=%d",
      (r.heap1 - r.heap0) * 1024, M.n - M.heapmark)
  end
  if r.tw0 and r.tw1 then
    extra[#extra + 1] = string.format("win_ns=%.0f win_n=%d",
      (r.tw1 - r.tw0) * 1e9, M.n - M.heapmark)
  end
  for _, k in ipairs({ "mem_sock", "mem_op", "heap_op" }) do
    if r[k] then extra[#extra + 1] = string.format("%s=%.0f", k, r[k]) end
  end
  io.stdout:write(string.format(
    "RESULT recv=%d bytes=%d err=%d cpu_ns=%.0f wall_ns=%.0f%s\n",
    r.recv, r.bytes, r.err, r.cpu * 1e9, r.wall * 1e9,
    #extra > 0 and " " .. table.concat(extra, " ") or ""))
  io.stdout:flush()
end

return M
