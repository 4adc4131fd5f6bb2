-- The rockspec builds what the Makefile builds.  sources.mk holds the one
-- list of each part of wsarecv.core (ENGINE_SRC, LINUX_SRC, WINDOWS_SRC,
-- BINDING_SRC); the rockspec, a static file LuaRocks reads, writes them out
-- again.  This checks, and changes nothing:
--   * every C file of src/ is in exactly one of the lists;
--   * the rockspec's wsarecv.core sources are ENGINE + LINUX + BINDING,
--     and its Windows ones ENGINE + WINDOWS + BINDING, each file once.
-- Prints "sources: ok", or each difference and "sources: FAILED" (exit 1).
--   lua5.4 scripts/check-sources.lua        (from anywhere; a CI leg)
local C = dofile((arg[0]:match("^(.*)/[^/]*$") or ".") .. "/checklib.lua")
local root, complain = C.root, C.complain
local lines = C.lines

-- sources.mk's lists, as make reads them
local PARTS = { "ENGINE_SRC", "LINUX_SRC", "WINDOWS_SRC", "BINDING_SRC" }
local function make_lists()
  local lists = {}
  for _, name in ipairs(PARTS) do
    local out = lines(("make -s --no-print-directory -C '%s' -f sources.mk "
      .. "--eval 'print-list: ; @echo $(%s)' print-list"):format(root, name))
    lists[name] = {}
    for f in (out[1] or ""):gmatch("%S+") do table.insert(lists[name], f) end
    if #lists[name] == 0 then complain("sources.mk: %s is empty", name) end
  end
  return lists
end

-- the one rockspec, loaded as LuaRocks loads it
local function rockspec()
  local found = lines(("ls '%s'/wsarecv-*.rockspec"):format(root))
  assert(#found == 1, "not one rockspec: " .. table.concat(found, " "))
  local t = {}
  assert(loadfile(found[1], "t", t))()
  return t, found[1]:match("[^/]+$")
end

local function concat(...)
  local t = {}
  for _, l in ipairs { ... } do table.move(l, 1, #l, #t + 1, t) end
  return t
end

-- `got` (where) lists `want` (from what) exactly, each once
local function same(got, want, where, what)
  local count, wanted = {}, {}
  for _, f in ipairs(got) do count[f] = (count[f] or 0) + 1 end
  for _, f in ipairs(want) do
    wanted[f] = true
    if not count[f] then complain("%s lacks %s (in %s)", where, f, what) end
  end
  for _, f in ipairs(got) do
    if not wanted[f] then complain("%s has %s, not in %s", where, f, what)
    elseif count[f] > 1 then complain("%s lists %s %d times", where, f, count[f]); count[f] = 1 end
  end
end

local lists = make_lists()

-- every src/**.c in exactly one list
local part_of = {}
for _, name in ipairs(PARTS) do
  for _, f in ipairs(lists[name]) do
    if part_of[f] then complain("sources.mk: %s is in %s and %s", f, part_of[f], name) end
    part_of[f] = name
  end
end
local files = lines(("cd '%s' && find src -name '*.c' | sort"):format(root))
for _, f in ipairs(files) do
  if not part_of[f] then complain("sources.mk: %s is in no list", f) end
end
local exists = {}
for _, f in ipairs(files) do exists[f] = true end
for f in pairs(part_of) do
  if not exists[f] then complain("sources.mk: %s does not exist", f) end
end

local spec, specname = rockspec()
local unix = spec.build.modules["wsarecv.core"].sources
local win = spec.build.platforms.windows.modules["wsarecv.core"].sources
same(unix, concat(lists.ENGINE_SRC, lists.LINUX_SRC, lists.BINDING_SRC),
     specname .. " (wsarecv.core)", "ENGINE_SRC, LINUX_SRC, BINDING_SRC")
same(win, concat(lists.ENGINE_SRC, lists.WINDOWS_SRC, lists.BINDING_SRC),
     specname .. " (wsarecv.core on windows)", "ENGINE_SRC, WINDOWS_SRC, BINDING_SRC")

if C.bad > 0 then print("sources: FAILED") os.exit(1) end
print(("sources: ok (%d files; %s builds what the Makefile builds)"):format(#files, specname))
