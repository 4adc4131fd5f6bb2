-- examples/sender.lua: a loopback load generator for the examples.
--   lua5.4 examples/sender.lua udp HOST PORT COUNT SIZE
--   lua5.4 examples/sender.lua tcp HOST PORT BYTES CHUNK
-- Every UDP datagram starts with its 32-bit sequence number; TCP sends the
-- byte pattern (i % 251) so the receiver can verify every byte.
local wsarecv = require "wsarecv"

local mode, host, port, a, b = ...
port, a, b = tonumber(port), tonumber(a), tonumber(b)
local family = host:find(":") and "inet6" or "inet"

if mode == "udp" then
  local s = assert(wsarecv.socket(family, "dgram"))
  local pad = string.rep("x", math.max(0, b - 4))
  for i = 1, a do
    s:sendto(string.pack(">I4", i) .. pad, host, port)
    if i % 64 == 0 then wsarecv.SleepEx(0, false) end   -- pace a little
  end
  s:close()
elseif mode == "tcp" then
  local s = assert(wsarecv.socket(family, "stream"))
  assert(s:connect(host, port))
  local pattern = {}
  for i = 0, 250 do pattern[#pattern + 1] = string.char(i) end
  pattern = table.concat(pattern)
  local block = string.rep(pattern, math.ceil(b / 251) + 1)
  local sent = 0
  while sent < a do
    local n = math.min(b, a - sent)
    local off = sent % 251
    local got = assert(s:send(block:sub(off + 1, off + n)))
    sent = sent + got
  end
  s:shutdown("send")
  s:close()
else
  error("usage: sender.lua udp|tcp host port count|bytes size|chunk")
end
