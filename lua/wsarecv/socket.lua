--- wsarecv.socket: wsarecv in a LuaSocket program.
--
--     local socket = require "socket"
--     local ws = require "wsarecv.socket"
--     local udp = assert(socket.udp()); udp:setsockname("127.0.0.1", 0)
--     local sock = ws.wrap(udp)          -- a wsarecv socket, udp stays usable
--     ...
--     local r, w, err = ws.select(recvt, sendt, 1)   -- an alertable select
--
-- The module table wsarecv has getfd (its pollfd), so socket.select can
-- watch it directly: `socket.select({wsarecv}, nil, wsarecv.timeout())`,
-- then wsarecv.run("nowait") when it is in the result.  ws.select does
-- that for you and hides wsarecv from the results.
--
-- select() takes descriptors below FD_SETSIZE (socket._SETSIZE, 1024 on
-- Linux) only.  In a process with more descriptors open, pollfd() can be
-- past it: ws.select then returns an error, and wsarecv needs a poller
-- without the limit: wsarecv.luv, cqueues.poll(wsarecv), or poll/epoll on
-- wsarecv.pollfd().
--
-- @module wsarecv.socket

local wsarecv = require "wsarecv"
local socket = require "socket"

local M = {}

--- A wsarecv socket on a duplicate of a LuaSocket object's descriptor,
-- `wsarecv.wrap(fd, {dup = true})`.  Each library closes its own
-- descriptor; both see the same socket, so let one of them receive.
-- To hand the descriptor over instead: `local fd = luasock:getfd();
-- luasock:setfd(-1); wsarecv.wrap(fd)` (LuaSocket then closes nothing).
-- @tparam table luasock a LuaSocket object (it has `getfd`)
-- @treturn[1] socket the wsarecv socket
-- @return[2] nil
-- @treturn[2] string `"WSAENOTSOCK"` when the object has no descriptor
-- (closed), or `wsarecv.wrap`'s failure (`WSAEMFILE`)
-- @treturn[2] int its code
function M.wrap(luasock)
  local fd = luasock:getfd()
  if fd == nil or fd < 0 then return nil, "WSAENOTSOCK", 10038 end
  return wsarecv.wrap(math.tointeger(fd), { dup = true })
end

-- socket.select's results without wsarecv (array part and index part).
local function without(r)
  local i = r[wsarecv]
  if i == nil then return r, false end
  r[wsarecv] = nil
  table.remove(r, i)
  for k = i, #r do r[r[k]] = k end
  return r, true
end

--- LuaSocket's `socket.select` as an alertable wait: wsarecv's routines
-- run while it waits.  It returns when one of the caller's sockets is
-- ready, or when `timeout` seconds have passed; wsarecv never appears in
-- the results, and routines that run do not make it return.
-- @tparam[opt] table recvt sockets to read from
-- @tparam[opt] table sendt sockets to write to
-- @tparam[opt] number timeout seconds (nil or negative: no limit)
-- @treturn table the readable sockets (an array, also indexed by socket)
-- @treturn table the writable sockets
-- @treturn[opt] string `"timeout"`, or another error of `socket.select`;
-- `"wsarecv.pollfd() N is past socket._SETSIZE: use wsarecv.luv, cqueues
-- or poll/epoll"` when select cannot watch wsarecv (then the two tables are
-- empty and nothing waited), or pollfd()'s error name
function M.select(recvt, sendt, timeout)
  local fd, name = wsarecv.pollfd()
  if fd == nil then return {}, {}, name end
  if fd >= (socket._SETSIZE or 1024) then
    return {}, {}, ("wsarecv.pollfd() %d is past socket._SETSIZE: use "
      .. "wsarecv.luv, cqueues or poll/epoll"):format(fd)
  end
  local deadline = timeout and timeout >= 0 and wsarecv.now() + timeout
  local rt = { wsarecv }
  for i = 1, recvt and #recvt or 0 do rt[i + 1] = recvt[i] end
  while true do
    local t = wsarecv.timeout()
    if deadline then
      local left = math.max(deadline - wsarecv.now(), 0)
      if t == nil or left < t then t = left end
    end
    local r, w, err = socket.select(rt, sendt, t)
    local ours
    r, ours = without(r)
    if ours or (t and t == 0) then wsarecv.run("nowait") end
    if #r > 0 or #w > 0 then return r, w end
    if err ~= "timeout" and err ~= nil then return r, w, err end
    if deadline and wsarecv.now() >= deadline then return r, w, "timeout" end
  end
end

return M
