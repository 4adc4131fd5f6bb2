-- What calls and routines return, read and asserted: packed results, the
-- pending and failure shapes, raised errors, a routine that records its
-- calls, and WSARecvMsg's control tables and CMSG sizes.  Part of
-- spec/support/helpers.lua's union (the specs take it from there).
--
-- Busted's own globals (assert, pending, ...) live in the spec files'
-- environment, not in _G, so this module takes luassert (the same object
-- busted exports as `assert`).
local assert = require "luassert"

local M = {}

---------------------------------------------------------------------------
-- results
---------------------------------------------------------------------------

-- all results, nils included: { n = select("#", ...), ... }
M.pack = table.pack

-- what a pending WSARecv / WSARecvMsg returns (as packed by M.pack)
M.PENDING = { nil, "WSA_IO_PENDING", 997, n = 3 }

-- assert that a call went pending: its results are exactly M.PENDING
function M.assert_pending(...)
  assert.same(M.PENDING, M.pack(...))
end

-- the error message a function raises (nil if it did not raise)
function M.raised(f, ...)
  local ok, err = pcall(f, ...)
  if ok then return nil end
  return tostring(err)
end

-- assert a failure triple nil, name, code; returns the packed results
function M.assert_fail(name, code, ...)
  local r = M.pack(...)
  assert.is_nil(r[1], "expected a failure, got " .. tostring(r[1]))
  assert.are.equal(name, r[2])
  assert.are.equal(code, r[3])
  return r
end

---------------------------------------------------------------------------
-- completion routines
---------------------------------------------------------------------------

-- A routine that records every call: rec.fn is the routine, rec.calls the
-- number of calls, rec[i] = { err =, bytes =, ov =, flags = } the i-th.
function M.recorder()
  local rec = { calls = 0 }
  rec.fn = function(err, bytes, ov, flags)
    rec.calls = rec.calls + 1
    rec[rec.calls] = { err = err, bytes = bytes, ov = ov, flags = flags }
  end
  return rec
end

---------------------------------------------------------------------------
-- control messages (WSARecvMsg)
---------------------------------------------------------------------------

-- the control tables of msg whose type is typ
function M.control_of(msg, typ)
  local out = {}
  for _, c in ipairs(msg:control()) do
    if c.type == typ then out[#out + 1] = c end
  end
  return out
end

-- the types of msg's control tables, in order
function M.control_types(msg)
  local t = {}
  for i, c in ipairs(msg:control()) do t[i] = c.type end
  return t
end

-- CMSG_SPACE / CMSG_LEN on this machine (size_t alignment, as glibc does):
-- M.CMSG_W the alignment, M.CMSG_HDR the aligned header, M.CMSG_SPACE(n)
M.CMSG_W = string.packsize("T")
local function cmsg_align(n) return (n + M.CMSG_W - 1) // M.CMSG_W * M.CMSG_W end
M.CMSG_HDR = cmsg_align(M.CMSG_W + 8)
function M.CMSG_SPACE(n) return M.CMSG_HDR + cmsg_align(n) end

return M
