-- examples/spawn.lua: start a Lua script as a child process that sees the
-- same module paths as this one (for the examples' built-in senders).
local M = {}

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- the interpreter running us: the lowest index of `arg`
local function interpreter()
  local i, exe = -1, "lua5.4"
  while arg and arg[i] do exe, i = arg[i], i - 1 end
  return exe
end

function M.lua(script, ...)
  local args = {}
  for i, v in ipairs({...}) do args[i] = q(tostring(v)) end
  local cmd = string.format("LUA_PATH=%s LUA_CPATH=%s %s %s %s",
    q(package.path), q(package.cpath), q(interpreter()),
    q(script), table.concat(args, " "))
  return assert(io.popen(cmd, "r"))
end

function M.dir()
  local src = debug.getinfo(2, "S").source:sub(2)
  return src:match("^(.*)/[^/]*$") or "."
end

return M
