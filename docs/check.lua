--- docs/check.lua: the reference names everything the module has.
--
-- Loads `wsarecv` and fails (exit 1) when a name of the module table, a
-- function of the Lua submodules (wsarecv.async, wsarecv.luv,
-- wsarecv.socket), a method or metamethod of its types, a field of an
-- overlapped object or a msg, an error name or a socket option is missing
-- from docs/reference.md, or a public name is missing from docs/meta.lua.
-- Names starting with "_" other than _VERSION are internal and skipped.  Also checks that every
-- option docs/reference.md lists is one setsockopt knows, and that every
-- ```lua block of the reference and docs/meta.lua compile, that the
-- signatures of docs/meta.lua and docs/reference.md say what the LDoc
-- comments say (scripts/docsigs.lua: names, parameters, optional ones,
-- results), and that the links of README.md and docs/*.md resolve.  `lua5.4 docs/check.lua --links
-- DIR` checks only links, those of the pages under DIR (the HTML `make
-- docs` writes, the docs a rock installs), and needs no build.
--
-- Run from anywhere after `make`: lua5.4 docs/check.lua (it finds the
-- checkout's lua/ and build/ itself; LUA_PATH/LUA_CPATH are searched
-- after them).

local root = ((arg and arg[0] or ""):match("^(.*)/[^/]*$") or ".") .. "/../"
package.path = root .. "lua/?.lua;" .. package.path
package.cpath = root .. (os.getenv("WSARECV_BUILD") or "build") .. "/?.so;"
                .. package.cpath

-- ---------------------------------------------------------------------
-- Links.  `lua5.4 docs/check.lua --links DIR` checks only these, in every
-- .md and .html file under DIR (the pages `make docs` writes, the docs a
-- rock installs); the plain run checks them in README.md and docs/*.md
-- too.  A relative link must name a file under the same root and its
-- #fragment an anchor of that file (<a name>, id, or a markdown heading
-- as GitHub names it); a link to the Lua manual must be to the 5.4 one.
-- ---------------------------------------------------------------------

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return text
end

-- "a/b/../c" -> "a/c"; nil when the path climbs out of its root
local function normalize(path)
  local out = {}
  for piece in path:gmatch("[^/]+") do
    if piece == ".." then
      if #out == 0 then return nil end
      out[#out] = nil
    elseif piece ~= "." then
      out[#out + 1] = piece
    end
  end
  return table.concat(out, "/")
end

-- markdown without fenced blocks and `code` spans (their text is code)
local function markdown_prose(text)
  local lines, fenced = {}, false
  for line in (text .. "\n"):gmatch("(.-)\r?\n") do
    if line:match("^%s*```") then
      fenced = not fenced
    elseif not fenced then
      lines[#lines + 1] = (line:gsub("`[^`]*`", "``"))
    end
  end
  return table.concat(lines, "\n")
end

-- a markdown heading's anchor, as GitHub makes it
local function heading_slug(title)
  title = title:gsub("%[([^%]]*)%]%b()", "%1"):gsub("[`*]", "")
  return (title:lower():gsub("[^%w _%-]", ""):gsub(" ", "-"))
end

local function anchors_of(text, markdown)
  local names = {}
  for attr in ("name id"):gmatch("%a+") do
    for name in text:gmatch("%f[%w]" .. attr .. '%s*=%s*"([^"]*)"') do
      names[name] = true
    end
  end
  if markdown then
    local seen = {}
    for line in (text:gsub("```.-```", "")):gmatch("[^\n]+") do
      local title = line:match("^#+%s+(.-)%s*#*%s*$")
      if title then
        local slug = heading_slug(title)
        names[seen[slug] and slug .. "-" .. seen[slug] or slug] = true
        seen[slug] = (seen[slug] or 0) + 1
      end
    end
  end
  return names
end

local function links_of(text, markdown)
  local found = {}
  if markdown then
    text = markdown_prose(text)
    for target in text:gmatch("%]%(<?([^%s)>]+)") do
      found[#found + 1] = target
    end
    for target in text:gmatch("\n%s*%[[^%]]+%]:%s*<?([^%s>]+)") do
      found[#found + 1] = target
    end
  end
  for attr in ("href src"):gmatch("%a+") do
    for target in text:gmatch("%f[%w]" .. attr .. '%s*=%s*"([^"]*)"') do
      found[#found + 1] = target
    end
  end
  return found
end

-- Checks the links of `files` (paths relative to `dir`); returns the
-- problems found (each once, with how many links have it), the number of
-- links checked and the number of broken ones.
local function check_links(dir, files)
  local problems, count, broken, cache, times = {}, 0, 0, {}, {}
  local function page(rel)
    if cache[rel] == nil then
      local text = read_file(dir .. "/" .. rel)
      local markdown = rel:match("%.md$") ~= nil
      cache[rel] = text and { text = text, markdown = markdown,
                              anchors = anchors_of(text, markdown) } or false
    end
    return cache[rel]
  end
  for _, from in ipairs(files) do
    local source = page(from)
    local here = from:match("^(.*/)") or ""
    for _, link in ipairs(source and links_of(source.text, source.markdown)
                          or {}) do
      count = count + 1
      local problem
      local version = link:match("lua%.org/manual/([%d.]+)/")
      if link:match("^%a[%w+.-]*:") then
        if version and version ~= "5.4" then
          problem = "a link to the Lua " .. version .. " manual"
        end
      else
        local path, fragment = link:match("^([^#?]*)[^#]*#?(.*)$")
        local rel = path == "" and from or normalize(here .. path)
        local target = rel and page(rel)
        if not rel then
          problem = "leads out of " .. dir
        elseif not target then
          problem = "no such file"
        elseif fragment ~= "" and not target.anchors[fragment] then
          problem = "no anchor #" .. fragment .. " in " .. rel
        end
      end
      if problem then
        problem = ("%s: link %s: %s"):format(from, link, problem)
        if not times[problem] then problems[#problems + 1] = problem end
        broken = broken + 1
        times[problem] = (times[problem] or 0) + 1
      end
    end
  end
  for i, problem in ipairs(problems) do
    if times[problem] > 1 then
      problems[i] = ("%s (%d links)"):format(problem, times[problem])
    end
  end
  return problems, count, broken
end

if arg and arg[1] == "--links" then
  local dir = assert(arg[2], "usage: docs/check.lua --links DIR")
  local p = assert(io.popen("cd '" .. dir:gsub("'", "'\\''") .. "' && "
                            .. "find . -type f -name '*.md' -o -type f "
                            .. "-name '*.html'"))
  local files = {}
  for line in p:lines() do files[#files + 1] = line:gsub("^%./", "") end
  p:close()
  table.sort(files)
  local problems, count, broken = check_links(dir, files)
  if #files == 0 then problems[1] = "no .md or .html file" end
  if #problems > 0 then
    io.stderr:write(("docs/check.lua: %d of %d links broken in %s:\n  ")
                    :format(broken, count, dir),
                    table.concat(problems, "\n  "), "\n")
    os.exit(1)
  end
  print(("docs/check.lua: %d links in %d files under %s, all resolve"):format(
        count, #files, dir))
  os.exit(0)
end

local wsarecv = require "wsarecv"

local function slurp(path)
  local f, err = io.open(root .. path, "rb")
  if not f then return nil, err end
  local text = f:read("a")
  f:close()
  return text
end

local ref = assert(slurp("docs/reference.md"))
local meta = assert(slurp("docs/meta.lua"))

local missing, checked = {}, 0

-- `want` must occur in `text` (plain search); else record what is missing.
local function need(text, want, where, what)
  checked = checked + 1
  if not text:find(want, 1, true) then
    missing[#missing + 1] = ("%s: %s (looked for %q)"):format(where, what,
                                                              want)
  end
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do
    if type(k) == "string" then keys[#keys + 1] = k end
  end
  table.sort(keys)
  return keys
end

-- ---------------------------------------------------------------------
-- The module table
-- ---------------------------------------------------------------------

-- Names starting with an underscore, except _VERSION, are the Lua face's
-- internal hooks (wsarecv._add_source, used by wsarecv.async): not API.
local function public(name)
  return name == "_VERSION" or name:sub(1, 1) ~= "_"
end

for _, name in ipairs(sorted_keys(wsarecv)) do
  if public(name) then
    need(ref, "wsarecv." .. name, "reference.md", "module name " .. name)
    if type(wsarecv[name]) == "function" then
      need(meta, "function wsarecv." .. name .. "(", "meta.lua",
           "module function " .. name)
    else
      need(meta, "@field " .. name .. " ", "meta.lua", "module field " .. name)
    end
  end
end

-- ---------------------------------------------------------------------
-- The Lua submodules: every function each exports, by the name the
-- reference and meta.lua give the module (`local async = require
-- "wsarecv.async"`, ...).  The names come from the loaded module and from
-- its source (so a module whose library is missing here, LuaSocket for
-- wsarecv.socket, is still checked).
-- ---------------------------------------------------------------------

local submodules = {
  { name = "wsarecv.async", path = "lua/wsarecv/async.lua", alias = "async",
    class = "wsarecv.async" },
  { name = "wsarecv.luv", path = "lua/wsarecv/luv.lua", alias = "adapter",
    class = "wsarecv.luv" },
  -- its class is not "wsarecv.socket": that is the socket type's
  { name = "wsarecv.socket", path = "lua/wsarecv/socket.lua", alias = "ws",
    class = "wsarecv.luasocket" },
}

for _, sub in ipairs(submodules) do
  local names = {}
  local ok, mod = pcall(require, sub.name)
  if ok and type(mod) == "table" then
    for k, v in pairs(mod) do
      if type(k) == "string" and type(v) == "function" then names[k] = true end
    end
  else
    print(("docs/check.lua: %s does not load here (%s): checking the "
           .. "names its source exports"):format(sub.name,
           tostring(mod):match("^[^\n]*")))
  end
  local src = assert(slurp(sub.path))
  for k in src:gmatch("\nfunction M%.([%w_]+)") do names[k] = true end
  for k in src:gmatch("\nM%.([%w_]+)%s*=%s*function") do names[k] = true end
  need(ref, 'require "' .. sub.name .. '"', "reference.md",
       "module " .. sub.name)
  need(meta, "@class " .. sub.class, "meta.lua", "module " .. sub.name)
  for _, name in ipairs(sorted_keys(names)) do
    if public(name) then
      local qualified = sub.alias .. "." .. name
      need(ref, qualified .. "(", "reference.md",
           sub.name .. " function " .. name)
      need(meta, "function " .. qualified .. "(", "meta.lua",
           sub.name .. " function " .. name)
    end
  end
end

-- ---------------------------------------------------------------------
-- The types: method tables and metamethods, from live objects
-- ---------------------------------------------------------------------

local sock = assert(wsarecv.socket("inet", "dgram"))
local types = {
  { label = "buffer", prefix = "buf:", metaclass = "buffer:",
    obj = wsarecv.buffer(0) },
  { label = "large buffer", prefix = "buf:", metaclass = "buffer:",
    obj = wsarecv.buffer(64 * 1024 + 1) },
  { label = "socket", prefix = "sock:", metaclass = "socket:", obj = sock },
  { label = "overlapped", prefix = "ov.", obj = wsarecv.overlapped() },
  { label = "msg", prefix = "msg.", obj = wsarecv.msg{} },
  { label = "port", prefix = "port:", metaclass = "port:",
    obj = wsarecv.CreateIoCompletionPort() },
}

for _, t in ipairs(types) do
  local mt = assert(getmetatable(t.obj), t.label .. " has no metatable")
  for _, key in ipairs(sorted_keys(mt)) do
    if key ~= "__name" then
      need(ref, key, "reference.md", t.label .. " metamethod " .. key)
    end
  end
  if type(mt.__index) == "table" then
    for _, name in ipairs(sorted_keys(mt.__index)) do
      need(ref, t.prefix .. name, "reference.md", t.label .. " method " .. name)
      need(meta, "function " .. t.metaclass .. name, "meta.lua",
           t.label .. " method " .. name)
    end
  end
end
sock:close()
types[#types].obj:close()

-- ---------------------------------------------------------------------
-- Fields of overlapped objects and msgs: their __index is a function, so
-- the names come from the binding's sources (wherever issue 8 puts them)
-- plus the documented list, and each must be answered by a live object.
-- ---------------------------------------------------------------------

local fields = {
  overlapped = { pending = true, bytes = true, flags = true, error = true,
                 context = true },
  msg = { buffers = true, controlbuf = true, controllen = true,
          flags = true, inflags = true, pending = true, name = true,
          control = true },
}

local function source_fields(file_text, into)
  for name in file_text:gmatch('strcmp%(k, "([%w_]+)"%)') do
    into[name] = true
  end
end

local p = io.popen("ls " .. root .. "src/l*.c 2>/dev/null")
local sources = p and p:read("a") or ""
if p then p:close() end
for path in sources:gmatch("[^\n]+") do
  local f = io.open(path, "rb")
  local text = f:read("a")
  f:close()
  -- which type a file's __index serves: by its registry name
  if text:find("LWR_OV, meta", 1, true) then
    source_fields(text, fields.overlapped)
  end
  if text:find("LWR_MSG, meta", 1, true) then
    source_fields(text, fields.msg)
  end
end

local ov, msg = wsarecv.overlapped(), wsarecv.msg{}
for _, name in ipairs(sorted_keys(fields.overlapped)) do
  assert(pcall(function() return ov[name] end), "ov." .. name .. " raises")
  need(ref, "ov." .. name, "reference.md", "overlapped field " .. name)
  need(meta, "@field " .. name, "meta.lua", "overlapped field " .. name)
end
for _, name in ipairs(sorted_keys(fields.msg)) do
  assert(pcall(function() return msg[name] end), "msg." .. name .. " raises")
  local sep = type(msg[name]) == "function" and ":" or "."
  need(ref, "msg" .. sep .. name, "reference.md", "msg field " .. name)
  if sep == ":" then
    need(meta, "function msg:" .. name, "meta.lua", "msg method " .. name)
  elseif name ~= "control" then
    need(meta, "@field " .. name, "meta.lua", "msg field " .. name)
  end
end

-- ---------------------------------------------------------------------
-- Errors: each a row of the reference's error table
-- ---------------------------------------------------------------------

for _, name in ipairs(sorted_keys(wsarecv.errors)) do
  local code = wsarecv.errors[name]
  need(ref, ("| `%s` | %d |"):format(name, code), "reference.md",
       "error " .. name)
  need(meta, '"' .. name .. '"', "meta.lua", "error " .. name)
end

-- ---------------------------------------------------------------------
-- Socket options: the reference's rows are all known to setsockopt, and
-- every option of the core's table (when the sources are here) has a row.
-- ---------------------------------------------------------------------

local options_section = ref:match('<a name="options"></a>(.-)<a name=')
assert(options_section, "reference.md has no options section")
local listed = {}
local probe = assert(wsarecv.socket("inet6", "dgram"))
for name in options_section:gmatch("\n| `([%u%d_]+)` |") do
  listed[name] = true
  checked = checked + 1
  local ok, err = pcall(probe.getsockopt, probe, name)
  if not ok and tostring(err):find("unknown option", 1, true) then
    missing[#missing + 1] = "reference.md lists an option setsockopt "
                            .. "does not know: " .. name
  end
end
probe:close()

p = io.popen("cat " .. root .. "src/core/*.c 2>/dev/null")
local core = p and p:read("a") or ""
if p then p:close() end
for name in core:gmatch('{%s*"([%u%d_]+)",[^}]-WR_OPT_%u+') do
  checked = checked + 1
  if not listed[name] then
    missing[#missing + 1] = "reference.md: option " .. name
                            .. " has no row in the options table"
  end
  need(meta, '"' .. name .. '"', "meta.lua", "option " .. name)
end

-- ---------------------------------------------------------------------
-- Code: the reference's Lua examples and the annotation file compile
-- ---------------------------------------------------------------------

local nblock = 0
for block in ref:gmatch("```lua\n(.-)```") do
  nblock = nblock + 1
  checked = checked + 1
  local ok, err = load(block, "=reference.md example " .. nblock)
  if not ok then missing[#missing + 1] = err end
end
checked = checked + 1
local ok, err = load(meta, "=meta.lua")
if not ok then missing[#missing + 1] = err end

-- ---------------------------------------------------------------------
-- Links of the checkout's own markdown (see "Links" above)
-- ---------------------------------------------------------------------

local top = root:gsub("/$", "")
local pages = { "README.md" }
p = io.popen("cd " .. root .. " && ls docs/*.md 2>/dev/null")
for path in (p and p:read("a") or ""):gmatch("[^\n]+") do
  pages[#pages + 1] = path
end
if p then p:close() end
local link_problems, nlinks = check_links(top, pages)
checked = checked + nlinks
for _, problem in ipairs(link_problems) do missing[#missing + 1] = problem end

-- ---------------------------------------------------------------------
-- Signatures: the LDoc comments are the source, meta.lua and the
-- reference's signature lines copies (scripts/docsigs.lua says how)
-- ---------------------------------------------------------------------

local docsigs = assert(loadfile(root .. "scripts/docsigs.lua"))()
local differ, compared, nfns = docsigs.check(root)
checked = checked + compared

if #missing > 0 then
  io.stderr:write("docs/check.lua: the docs are incomplete:\n  ",
                  table.concat(missing, "\n  "), "\n")
end
if #differ > 0 then
  io.stderr:write(("docs/check.lua: %d signatures differ from the LDoc "
                   .. "comments (src/l*.c, lua/: the source; fix the "
                   .. "copy):\n  "):format(#differ),
                  table.concat(differ, "\n  "), "\n")
end
if #missing > 0 or #differ > 0 then os.exit(1) end
print(("docs/check.lua: %d checks, every public name documented, the "
       .. "signatures of %d functions as their LDoc comments say"):format(
      checked, nfns))
