-- bench/lua/portmock.lua -- a stand-in for the completion-port API, in Lua
-- on top of completion routines, for testing the bench's port receiver
-- before the C module has ports.  It measures nothing worth quoting, and
-- the driver never uses it: recv_wsarecv.lua loads it only when
-- WR_PORT_MOCK=1, e.g.
--   WR_PORT_MOCK=1 build/bench/queue_exec 20000 64 100 -- \
--       lua5.4 bench/lua/recv_wsarecv.lua port 4 64
-- What it covers of the contract (issue 10): CreateIoCompletionPort() and
-- (sock, port, key); WSARecv(buf, flags, ov) without routine on an
-- associated socket completes to the port; port:GetQueuedCompletionStatusEx
-- (entries, ms) fills entries[i].bytes, key, ov, error, flags; port:close().
local real = require "wsarecv"

local M = setmetatable({}, { __index = real })

local Sock = {}
Sock.__index = Sock

function M.wrap(fd)
  local s, name, code = real.wrap(fd)
  if not s then return nil, name, code end
  return setmetatable({ s = s }, Sock)
end

function Sock:WSARecv(buf, flags, ov, routine)
  return self.s:WSARecv(buf, flags, ov, routine or self.toport)
end
function Sock:WSARecvMsg(msg, ov, routine)
  return self.s:WSARecvMsg(msg, ov, routine or self.toport)
end
function Sock:setsockopt(...) return self.s:setsockopt(...) end
function Sock:close() return self.s:close() end

local Port = {}
Port.__index = Port

function M.CreateIoCompletionPort(sock, port, key)
  if sock == nil then return setmetatable({ q = {}, head = 1, tail = 0 }, Port) end
  sock.toport = function(e, nb, ov, flags)
    local t = port.tail + 1
    port.tail = t
    port.q[t] = { nb, key, ov, e, flags }
  end
  return port
end

function Port:GetQueuedCompletionStatusEx(entries, ms)
  if self.head > self.tail then real.SleepEx(ms or -1, true) end
  if self.head > self.tail then return nil, "WAIT_TIMEOUT", 258 end
  local k = 0
  while k < #entries and self.head <= self.tail do
    k = k + 1
    local c, e = self.q[self.head], entries[k]
    self.q[self.head] = nil
    self.head = self.head + 1
    e.bytes, e.key, e.ov, e.error, e.flags = c[1], c[2], c[3], c[4] or false, c[5] or 0
  end
  return k
end

function Port:close() self.q = {} end

return M
