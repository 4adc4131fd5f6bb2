-- Processes the specs start: shell commands (quoted, run, their output),
-- the probes a shell answers (is a command installed, are we root), child
-- lua5.4 processes with this checkout's module paths (bounded by
-- `timeout`; lua.exe on Windows) and the checks on how they ended.  The
-- perl TCP peer is perl.lua.  Part of spec/support/helpers.lua's union
-- (the specs take it from there).
local assert = require "luassert"          -- (busted's, see results.lua)
local platform = require "spec.support.platform"

local M = {}

-- a shell word
function M.shq(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- Prefix of external tools (perl, ip, python3, sh): `make asan-test`
-- preloads the ASan runtime into everything, and they must not get it.
-- Child lua5.4 processes of wsarecv tests keep it (see M.run_child).
M.NO_PRELOAD = "env -u LD_PRELOAD "

-- Run a shell command: ok (exit status 0), its output (stdout + stderr).
function M.run(cmd)
  local f = io.popen(cmd .. " 2>&1")
  local out = f:read("a")
  local ok = f:close()
  return ok == true, out
end

-- whether the external command `cmd` is installed
function M.have_cmd(cmd)
  local ok = os.execute(M.NO_PRELOAD .. "sh -c 'command -v " .. cmd
    .. "' >/dev/null 2>&1")
  return ok == true or ok == 0
end

function M.is_root()
  if os.getenv("USER") == "root" then return true end
  local ok, out = M.run("id -u")
  return ok and out:match("^%s*0%s*$") ~= nil
end

-- M.run_child on Windows (below)
local function run_child_windows(code)
  -- lua.exe's own default path starts at its directory: "<dir>\\lua\\?.lua"
  local dir = package.path:match("([^;]*)\\lua\\%?%.lua")
  local f = ("%s\\wsarecv-child-%d.lua"):format(os.getenv("TEMP") or ".",
    math.random(1, 1e9))
  local h = assert(io.open(f, "w"))
  -- the paths on the code's first line, so its line numbers hold
  h:write(("package.path = %q; package.cpath = %q; "):format(package.path,
    package.cpath), code)
  h:close()
  local p = assert(io.popen(('"%s\\lua.exe" %s 2>&1'):format(dir, f)))
  local out = p:read("a")
  local _, how, rc = p:close()
  os.remove(f)
  return out, how, rc
end

-- Run `code` in a child lua5.4 with our module paths, bounded by `limit`
-- seconds (default 20); the environment (LD_PRELOAD, ASAN_OPTIONS, ...) is
-- inherited, changed by `env` (Linux only: words for env(1), e.g.
-- "WSARECV_ENGINE=poll" or "-u WSARECV_ENGINE"), and run by `wrap` (a
-- command that runs the rest, e.g. build/nouring).  Returns output (stdout
-- and stderr), exit kind ("exit" / "signal") and code.
function M.run_child(code, limit, env, wrap)
  -- Windows: lua.exe through cmd.exe; no `timeout` there (the whole run
  -- is bounded instead)
  if platform.windows then return run_child_windows(code) end
  local f = os.tmpname()
  local h = assert(io.open(f, "w"))
  h:write(code)
  h:close()
  local cmd = ("%senv %s LUA_PATH=%s LUA_CPATH=%s timeout -k 2 %d lua5.4 %s " ..
    "2>&1"):format(wrap and wrap .. " " or "", env or "",
                   M.shq(package.path), M.shq(package.cpath), limit or 20,
                   M.shq(f))
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  local _, how, rc = p:close()
  os.remove(f)
  return out, how, rc
end

-- Source of udp() for child scripts (after `local wsarecv = require
-- "wsarecv"`): a bound receiver on 127.0.0.1 and a function sending to it.
M.CHILD_UDP = [[
local function udp()
  local rx = wsarecv.socket("inet", "dgram")
  assert(rx:bind("127.0.0.1", 0) == 0)
  local _, port = rx:getsockname()
  local tx = wsarecv.socket("inet", "dgram")
  assert(tx:bind("127.0.0.1", 0) == 0)
  return rx, function(s) assert(tx:sendto(s, "127.0.0.1", port)) end
end
]]

-- what a crashed or sanitizer-flagged child prints
M.CRASH_MARKERS = { "Segmentation", "AddressSanitizer", "LeakSanitizer",
  "runtime error", "Aborted" }

-- assert that `out` shows none of `markers` (default M.CRASH_MARKERS)
function M.assert_no_crash(out, markers)
  for _, m in ipairs(markers or M.CRASH_MARKERS) do
    assert.is_nil(out:find(m, 1, true), out)
  end
end

-- assert a child (M.run_child's results) exited normally with `code`
function M.assert_exit(out, how, rc, code, markers)
  M.assert_no_crash(out, markers)
  assert.equal("exit", how, out)
  assert.equal(code, rc, out)
end

return M
