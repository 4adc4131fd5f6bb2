-- One version everywhere.  The rockspec's version (wsarecv-V-R.rockspec,
-- version "V-R", the v<V> tag's archive and its wsarecv-V directory) must
-- be the module's _VERSION ("wsarecv V", lua/wsarecv.lua) and the newest
-- heading of CHANGELOG.md ("## V (date)"); and every other tracked file
-- that names a wsarecv version (the README's install lines, the
-- reference, meta.lua) names that one.  Changes nothing.  Prints
-- "version: ok (V)", or each disagreement and "version: FAILED" (exit 1).
--   lua5.4 scripts/check-version.lua        (from anywhere; a CI leg)
local C = dofile((arg[0]:match("^(.*)/[^/]*$") or ".") .. "/checklib.lua")
local root, complain = C.root, C.complain
local read = C.read
local function lines(cmd) return C.lines(cmd, true) end

-- the rockspec: its file name, version and source agree with each other
local specs = lines(("cd '%s' && ls wsarecv-*.rockspec"):format(root))
if #specs ~= 1 then
  print("not one rockspec: " .. table.concat(specs, " ")); print("version: FAILED"); os.exit(1)
end
local specname = specs[1]
local spec = {}
assert(loadfile(root .. "/" .. specname, "t", spec))()
local V, R = tostring(spec.version):match("^(%d+%.%d+%.%d+)%-(%d+)$")
if not V then
  print(specname .. ": version " .. tostring(spec.version) .. " is not V-R")
  print("version: FAILED"); os.exit(1)
end
if specname ~= ("wsarecv-%s-%s.rockspec"):format(V, R) then
  complain("%s: the file name is not wsarecv-%s-%s.rockspec", specname, V, R)
end
if not spec.source.url:find("/v" .. V .. ".tar.gz", 1, true) then
  complain("%s: source.url %s is not tag v%s's archive", specname, spec.source.url, V)
end
if spec.source.dir ~= "wsarecv-" .. V then
  complain("%s: source.dir %s is not wsarecv-%s", specname, spec.source.dir, V)
end

-- the module's _VERSION
local mod = read("lua/wsarecv.lua"):match('_VERSION%s*=%s*"wsarecv ([^"]*)"')
if mod ~= V then
  complain('lua/wsarecv.lua: _VERSION is "wsarecv %s", the rockspec says %s', tostring(mod), V)
end

-- the changelog's newest heading
local head = ("\n" .. read("CHANGELOG.md")):match("\n## ([^\n]*)")
if not head or head:match("^(%S+)") ~= V then
  complain("CHANGELOG.md: the newest heading is %q, not %s", tostring(head), V)
end

-- every other mention: "wsarecv V" or "wsarecv-V-R" (CHANGELOG.md names
-- the older versions too)
local seen = 0
for _, l in ipairs(lines(("cd '%s' && git grep -nE 'wsarecv[ -][0-9]+[.][0-9]+[.][0-9]+' "
                          .. "-- . ':!CHANGELOG.md'"):format(root))) do
  for sep, v, rev in l:gmatch("wsarecv([ -])(%d+%.%d+%.%d+)(%-?%d*)") do
    seen = seen + 1
    local want = (sep == "-" and rev ~= "") and V .. "-" .. R or V
    if v .. (want == V and "" or rev) ~= want then
      complain("%s: names wsarecv%s%s%s, not %s", l:match("^[^:]*:%d+"), sep, v, rev, want)
    end
  end
end

if C.bad > 0 then print("version: FAILED") os.exit(1) end
print(("version: ok (%s-%s: %s, _VERSION, CHANGELOG.md and %d mentions agree)")
  :format(V, R, specname, seen))
