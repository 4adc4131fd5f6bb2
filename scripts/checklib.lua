-- scripts/checklib.lua -- what the check scripts (check-sources.lua,
-- check-version.lua, check-exports.lua) share: the checkout's root, a
-- complaint counter the script ends on, a command's output lines, a
-- file's text.  Each loads it beside itself, so it runs from anywhere:
--   local C = dofile((arg[0]:match("^(.*)/[^/]*$") or ".") .. "/checklib.lua")
local C = {}

-- the checkout: scripts/..
C.root = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/.."

-- complaints so far; a script fails when it ends with any
C.bad = 0
function C.complain(fmt, ...)
  print(fmt:format(...))
  C.bad = C.bad + 1
end

-- cmd's output, a line an item; a failing cmd raises unless may_fail
-- (git grep that finds nothing, ls of no file)
function C.lines(cmd, may_fail)
  local p = assert(io.popen(cmd))
  local t = {}
  for l in p:lines() do t[#t + 1] = l end
  local ok = p:close()
  assert(ok or may_fail, cmd .. " failed")
  return t
end

-- the text of a file of the checkout (name relative to its root)
function C.read(name)
  local f = assert(io.open(C.root .. "/" .. name, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

return C
