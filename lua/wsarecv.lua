--- wsarecv: Windows-style overlapped receive (WSARecv) for Lua 5.4.
--
-- This is the module scripts `require`.  The work is done by the C module
-- `wsarecv.core`; this file adds what is easier said in Lua: buf:unpack,
-- hexdump, the Lua half of the loop integration (timeout sources).
-- Coroutines are in wsarecv.async, loop adapters in wsarecv.luv and
-- wsarecv.socket.  (The HTML reference merges this module's LDoc comments
-- with those of the C binding, src/l*.c.)
--
-- @module wsarecv

local core = require "wsarecv.core"

local M = {}
for k, v in pairs(core) do
  if k ~= "interpose" then M[k] = v end     -- the C types' seam, not API
end

--- The version: `"wsarecv 0.4.0"`.
-- @field _VERSION
M._VERSION = "wsarecv 0.4.0"

--- @type buffer

--- Read values with `string.unpack`'s format from the buffer's bytes, with
-- `string.unpack`'s rules (positions, alignment relative to the buffer's
-- start).  Only a window around the bytes the format reads is copied out
-- when the format has a fixed size; 's' and 'z' items read to the end.
-- @function buffer:unpack
-- @tparam string fmt a `string.pack` format
-- @tparam[opt=1] int pos where to start (negative: from the end)
-- @return the values, then the position after the last byte read
-- @raise a format error, or reading past the end (`bad argument ... to
-- 'unpack'`)
local ALIGN = 16            -- the largest alignment a format can ask for
local function unpack(buf, fmt, pos)
  local n = #buf
  pos = pos or 1
  if pos < 0 then pos = math.max(n + pos + 1, 1) elseif pos == 0 then pos = 1 end
  if pos > n + 1 then
    error("bad argument #2 to 'unpack' (initial position out of string)", 2)
  end
  -- start the window on an ALIGN boundary so '!' aligns as in the buffer
  local start = 1 + ((pos - 1) // ALIGN) * ALIGN
  local ok, size = pcall(string.packsize, fmt)
  local stop = (ok and not fmt:find("[sz]")) and math.min(n, pos + size + ALIGN) or n
  local res = table.pack(pcall(string.unpack, fmt, buf:sub(start, stop), pos - start + 1))
  if not res[1] then error((res[2]:gsub("'string.unpack'", "'unpack'")), 2) end
  res[res.n] = res[res.n] + start - 1
  return table.unpack(res, 2, res.n)
end
core.interpose("buffer", "unpack", unpack)

--- @section end

--- A hex dump: one line per 16 bytes, with the offset, the bytes in hex
-- and their printable ASCII.
-- @tparam string|buffer data the bytes
-- @tparam[opt] int len show at most this many bytes
-- @treturn string the dump
function M.hexdump(data, len)
  if type(data) ~= "string" then data = data:sub(1, len or #data) end
  if len and len < #data then data = data:sub(1, len) end
  local out = {}
  for off = 1, #data, 16 do
    local chunk = data:sub(off, off + 15)
    local hex = chunk:gsub(".", function(c)
      return string.format("%02x ", c:byte())
    end)
    out[#out + 1] = string.format("%08x  %-48s |%s|", off - 1, hex,
      (chunk:gsub("[^%g ]", ".")))
  end
  return table.concat(out, "\n")
end

-- Work kept in Lua that the loop must also do (wsarecv.async's timers and
-- the tasks it starts).  A source is { timeout = f, run = f }: timeout()
-- -> seconds until it must run, or nil; run() does what is due and says
-- whether it has more.  run() and timeout() below include every source,
-- so an adapter, or cqueues.poll(wsarecv), drives them with the rest.
local sources = {}

function M._add_source(src) sources[#sources + 1] = src end

-- wsarecv.run([mode]): core.run, then the Lua sources' due work.  (Its
-- LDoc comment is core.run's, in src/lwsarecv.c.)
function M.run(mode)
  if #sources == 0 then return core.run(mode) end
  local more, name, code = core.run(mode)
  if more == nil then return nil, name, code end
  for i = 1, #sources do
    if sources[i].run() then more = true end
  end
  return more
end

-- wsarecv.timeout() -> seconds until wsarecv must run again, or nil: the
-- earliest of core.timeout and the sources'.  (Its LDoc comment is
-- core.timeout's, in src/lpoll.c.)
function M.timeout()
  local t = core.timeout()
  for i = 1, #sources do
    local s = sources[i].timeout()
    if s and (t == nil or s < t) then t = s end
  end
  return t
end

--- `pollfd` under the name LuaSocket's `socket.select` calls on the
-- objects it is given: `socket.select({wsarecv}, nil, wsarecv.timeout())`
-- watches wsarecv; when `wsarecv` is in the result, call
-- `wsarecv.run("nowait")`.
-- @function getfd
-- @treturn[1] int the descriptor
-- @return[2] nil
-- @treturn[2] string the error name (as `pollfd`)
-- @treturn[2] int its code
M.getfd = core.pollfd

--- The names of the known flags set in `flags`, joined by `|` in
-- increasing order of value: `"MSG_TRUNC|MSG_PARTIAL"`.
-- @function flagnames
-- @tparam int flags a flags value
-- @treturn string the names, or `"0"` when none is set
local flagnames = { "MSG_OOB", "MSG_PEEK", "MSG_DONTROUTE", "MSG_WAITALL",
  "MSG_PUSH_IMMEDIATE", "MSG_TRUNC", "MSG_CTRUNC", "MSG_BCAST", "MSG_MCAST",
  "MSG_PARTIAL" }
function M.flagnames(flags)
  local t = {}
  for _, name in ipairs(flagnames) do
    if flags & M[name] ~= 0 then t[#t + 1] = name end
  end
  return #t > 0 and table.concat(t, "|") or "0"
end

return M
