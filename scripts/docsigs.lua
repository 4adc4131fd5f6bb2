--- scripts/docsigs.lua: the API's signatures, one source, checked copies.
--
-- The LDoc comments beside the code (src/l*.c, lua/wsarecv.lua,
-- lua/wsarecv/*.lua) are the one description of each function: its name,
-- its parameters (@param/@tparam, optional with [opt]) and its results
-- (@return/@treturn, alternatives numbered [1], [2], ...).  Two copies are
-- checked against them:
--
-- * docs/meta.lua (LuaLS annotations): every `function X(args)` stub and
--   its ---@param/---@return lines.  Same functions; same parameter names,
--   count and optional-ness (`name?`, `T?`, `T|nil`); the stub's own
--   argument list the same too; and the same results: position by
--   position, the set of base types (nil, boolean, integer, number,
--   string, table, function, thread, buffer, socket, overlapped, msg,
--   port) the LDoc alternatives give there (nil where one alternative
--   has fewer results) equals the one meta.lua's type gives (its aliases
--   and literals reduced to their base type: wsarecv.errname and "r" are
--   strings, 0 an integer).  An untyped @return, or `any`, matches any
--   type; the count still counts.
-- * docs/reference.md: its signature lines, the headings
--   `### sock:bind(addr, port)` and the first cells of table rows
--   `` | `sock:bind(addr, port)` | ``.  Each names an LDoc function, with
--   the same parameter names in the same order and the same optional
--   ones (those inside [ ]); `wsarecv.msg{...}` stands for a function of
--   one table parameter.  A line with a literal among its arguments
--   (`wsarecv.SleepEx(ms, true)`) is an example call, not a signature.
--   Every LDoc function has at least one signature line.
--
-- A Lua function's LDoc parameters are also checked against its code's
-- argument list.  Where a copy differs, the copy is wrong: fix it to say
-- what the LDoc comment (and the code) says.
--
-- Used by docs/check.lua (`make docs`); alone: lua5.4 scripts/docsigs.lua
-- prints every difference and exits 1 when there is one.  Needs no build.

local M = {}

local function read(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("a")
  f:close()
  return text
end

local function lines_of(text)
  local out = {}
  for line in (text .. "\n"):gmatch("(.-)\r?\n") do out[#out + 1] = line end
  return out
end

-- ---------------------------------------------------------------------
-- Types, reduced to sets of base types
-- ---------------------------------------------------------------------

local CLASSES = { buffer = true, socket = true, overlapped = true,
                  msg = true, port = true }
local BASE = { ["nil"] = true, boolean = true, integer = true,
               number = true, string = true, table = true,
               ["function"] = true, thread = true, any = true }
-- LDoc's short names
local LDOC = { int = "integer", bool = "boolean" }
-- meta.lua's aliases: the base types each stands for
local META = {
  ["wsarecv.errname"] = "string", ["wsarecv.family"] = "string",
  ["wsarecv.socktype"] = "string", ["wsarecv.how"] = "string",
  ["wsarecv.runmode"] = "string", ["wsarecv.option"] = "string",
  ["wsarecv.protocol"] = "string|integer",
  ["wsarecv.wsabufs"] = "buffer|table",
  ["wsarecv.routine"] = "function", ["wsarecv.msgroutine"] = "function",
}

-- Splits a type expression at its top-level `|`.
local function alternatives(expr)
  local out, depth, start = {}, 0, 1
  for i = 1, #expr do
    local c = expr:sub(i, i)
    if c:match("[%(%[{<]") then depth = depth + 1
    elseif c:match("[%)%]}>]") then depth = depth - 1
    elseif c == "|" and depth == 0 then
      out[#out + 1] = expr:sub(start, i - 1)
      start = i + 1
    end
  end
  out[#out + 1] = expr:sub(start)
  return out
end

local function set_string(set)
  local names = {}
  for k in pairs(set) do names[#names + 1] = k end
  table.sort(names)
  return table.concat(names, "|")
end

-- base types of an LDoc type (`int|string`, `{overlapped,...}`)
local function ldoc_types(expr, into)
  into = into or {}
  for _, t in ipairs(alternatives(expr)) do
    t = LDOC[t] or t
    if t:match("^{") then t = "table" end
    if not (BASE[t] or CLASSES[t]) then
      into["?" .. t] = true       -- unknown: reported as it is
    else
      into[t] = true
    end
  end
  return into
end

-- base types of a meta.lua type (`wsarecv.socket|nil`, `integer?`,
-- `"r"`, `(wsarecv.errname|nil)[]`, `fun(...)`, `{ dup?: boolean }`)
local function meta_types(expr, into)
  into = into or {}
  for _, t in ipairs(alternatives(expr)) do
    t = t:match("^%s*(.-)%s*$")
    if t:match("%?$") and not t:match("^fun") then
      into["nil"] = true
      t = t:sub(1, -2)
    end
    while t:match("^%b()$") do t = t:sub(2, -2) end
    local class = t:match("^wsarecv%.(%w+)$")
    if t:match("%[%]$") or t:match("^{") or t:match("^table<")
       or t:match("^wsarecv%.cmsg") or t == "wsarecv.entry"
       or t == "wsarecv.entrycolumns" or t == "wsarecv.membership"
       or t == "wsarecv.luv" then
      into.table = true
    elseif t:match("^fun%(") then
      into["function"] = true
    elseif t:match('^".*"$') then
      into.string = true
    elseif t:match("^%-?%d+$") then
      into.integer = true
    elseif META[t] then
      meta_types(META[t], into)
    elseif class and CLASSES[class] then
      into[class] = true
    elseif BASE[t] then
      into[t] = true
    else
      into["?" .. t] = true
    end
  end
  return into
end

local function same_types(a, b)
  if a.any or b.any then return true end
  for k in pairs(a) do if not b[k] then return false end end
  for k in pairs(b) do if not a[k] then return false end end
  return true
end

-- ---------------------------------------------------------------------
-- The source: LDoc comments
-- ---------------------------------------------------------------------

-- A function's description: name ("socket:bind", "wsarecv.run",
-- "wsarecv.async.recv"), where (file:line), params { {name, opt} },
-- groups { [n] = { {types, opt} } }.
local function new_fn(name, where)
  return { name = name, where = where, params = {}, groups = {} }
end

-- Reads one LDoc block's tags (a list of lines without comment marks)
-- into fn; returns fn.
local function read_tags(fn, tags)
  for _, tag in ipairs(tags) do
    local kind, mod, rest = tag:match("^@(%a+)(%b[])%s*(.*)$")
    if not kind then kind, rest = tag:match("^@(%a+)%s*(.*)$"); mod = "" end
    local opt = mod:find("opt", 1, true) ~= nil
    if kind == "tparam" then
      local _, name = rest:match("^(%S+)%s+(%S+)")
      fn.params[#fn.params + 1] = { name = name, opt = opt }
    elseif kind == "param" then
      fn.params[#fn.params + 1] = { name = rest:match("^(%S+)"), opt = opt }
    elseif kind == "treturn" or kind == "return" then
      local n = tonumber(mod:match("%d+")) or 1
      local types
      if kind == "treturn" then
        types = ldoc_types(rest:match("^(%S+)"))
      elseif rest:match("^nil%f[%W]") or rest == "nil" then
        types = { ["nil"] = true }
      else
        types = { any = true }
      end
      fn.groups[n] = fn.groups[n] or {}
      local g = fn.groups[n]
      g[#g + 1] = { types = types, opt = opt }
    end
  end
  return fn
end

-- tags of a block: "@tag ..." lines with their continuation lines
local function tags_of(block_lines)
  local tags = {}
  for _, line in ipairs(block_lines) do
    if line:match("^@") then
      tags[#tags + 1] = line
    elseif #tags > 0 and line:match("%S") then
      tags[#tags] = tags[#tags] .. " " .. line:match("^%s*(.-)%s*$")
    end
  end
  return tags
end

local function qualify(module, name)
  if name:find(":", 1, true) then return name end
  return module .. "." .. name
end

local function ldoc_c(path, fns)
  local text = read(path)
  local module = "wsarecv"
  for start, body in text:gmatch("()/%*%*%*(.-)%*/") do
    local line = select(2, text:sub(1, start):gsub("\n", "")) + 1
    local block = lines_of(body)
    local tags = tags_of(block)
    for _, tag in ipairs(tags) do
      local m = tag:match("^@module%s+(%S+)")
      if m then module = m end
    end
    for _, tag in ipairs(tags) do
      local name = tag:match("^@function%s+(%S+)")
      if name then
        fns[#fns + 1] = read_tags(new_fn(qualify(module, name),
                                         path .. ":" .. line), tags)
      end
    end
  end
end

-- A Lua file's blocks: "---" then "--" lines; the line after a block
-- names the function when no @function does (function M.x(...), M.x =).
local function ldoc_lua(path, fns)
  local lines = lines_of(read(path))
  local module = "wsarecv"
  local i = 1
  while i <= #lines do
    if lines[i]:match("^%-%-%-") then
      local first, block = i, {}
      while i <= #lines and lines[i]:match("^%-%-") do
        block[#block + 1] = lines[i]:gsub("^%-%-%-?%s?", "")
        i = i + 1
      end
      local tags = tags_of(block)
      local named, field = nil, false
      for _, tag in ipairs(tags) do
        module = tag:match("^@module%s+(%S+)") or module
        named = tag:match("^@function%s+(%S+)") or named
        if tag:match("^@field") or tag:match("^@type")
           or tag:match("^@section") or tag:match("^@module") then
          field = true
        end
      end
      local code = lines[i] or ""
      local cname, args = code:match("^function M%.([%w_]+)(%b())")
      cname = cname or code:match("^M%.([%w_]+)%s*=")
      if named or (cname and not field) then
        local fn = read_tags(new_fn(qualify(module, named or cname),
                                    path .. ":" .. first), tags)
        if args and not named then
          fn.code_args = {}
          for a in args:sub(2, -2):gmatch("[^,%s]+") do
            fn.code_args[#fn.code_args + 1] = a
          end
        end
        fns[#fns + 1] = fn
      end
    else
      i = i + 1
    end
  end
end

function M.ldoc(root)
  local fns = {}
  local p = assert(io.popen("cd '" .. root .. "' && ls src/l*.c "
                            .. "lua/*.lua lua/wsarecv/*.lua"))
  for path in p:lines() do
    if path:match("%.c$") then ldoc_c(root .. path, fns)
    else ldoc_lua(root .. path, fns) end
  end
  p:close()
  for _, fn in ipairs(fns) do fn.where = fn.where:sub(#root + 1) end
  return fns
end

-- The results of fn, position by position: the set of base types the
-- alternatives give there (nil where one of them has fewer results).
local function result_types(fn)
  local width = 0
  for _, g in pairs(fn.groups) do width = math.max(width, #g) end
  local out = {}
  for i = 1, width do
    local set = {}
    for _, g in pairs(fn.groups) do
      local r = g[i]
      if not r or r.opt then set["nil"] = true end
      if r then for k in pairs(r.types) do set[k] = true end end
    end
    out[i] = set
  end
  return out
end

-- ---------------------------------------------------------------------
-- docs/meta.lua
-- ---------------------------------------------------------------------

-- how meta.lua and the reference name each function's owner
local META_PREFIX = { ["wsarecv."] = "wsarecv.", ["buffer:"] = "buffer:",
  ["socket:"] = "socket:", ["msg:"] = "msg:", ["port:"] = "port:",
  ["async."] = "wsarecv.async.", ["adapter."] = "wsarecv.luv.",
  ["ws."] = "wsarecv.socket." }
local REF_PREFIX = { ["wsarecv."] = "wsarecv.", ["buf:"] = "buffer:",
  ["sock:"] = "socket:", ["msg:"] = "msg:", ["port:"] = "port:",
  ["async."] = "wsarecv.async.", ["adapter."] = "wsarecv.luv.",
  ["ws."] = "wsarecv.socket." }

local function canonical(prefixes, owner, sep, name)
  local p = prefixes[owner .. sep]
  return p and p .. name
end

-- the first type expression of s (types may hold spaces inside brackets
-- and around |), and the rest
local function take_type(s)
  local depth, i = 0, 1
  while i <= #s do
    local c = s:sub(i, i)
    if c:match("[%(%[{<]") then depth = depth + 1
    elseif c:match("[%)%]}>]") then depth = depth - 1
    elseif c == '"' then i = s:find('"', i + 1, true) or #s
    elseif c:match("%s") and depth == 0 then
      local after = s:match("^%s*(.)", i)
      local before = s:sub(1, i - 1):match("(%S)%s*$")
      if after ~= "|" and before ~= "|" and before ~= ":" then break end
    end
    i = i + 1
  end
  return s:sub(1, i - 1), s:sub(i)
end
M.take_type = take_type

function M.meta(root)
  local stubs = {}
  local lines = lines_of(read(root .. "docs/meta.lua"))
  local params, returns = {}, {}
  for n, line in ipairs(lines) do
    local p = line:match("^%-%-%-@param%s+(.*)$")
    local r = line:match("^%-%-%-@return%s+(.*)$")
    if p then
      local name, rest = p:match("^(%S+)%s+(.*)$")
      local opt = name:match("%?$") ~= nil
      name = name:gsub("%?$", "")
      local t = take_type(rest)
      local types = meta_types(t)
      params[#params + 1] = { name = name, opt = opt or types["nil"] }
    elseif r then
      returns[#returns + 1] = meta_types((take_type(r)))
    elseif not line:match("^%-%-%-") then
      local owner, sep, name, args =
        line:match("^function ([%w_]+)([.:])([%w_]+)(%b())")
      local key = owner and canonical(META_PREFIX, owner, sep, name)
      if key then
        local stub = { name = key, where = "docs/meta.lua:" .. n,
                       params = params, returns = returns, args = {} }
        for a in args:sub(2, -2):gmatch("[^,%s]+") do
          stub.args[#stub.args + 1] = a
        end
        stubs[#stubs + 1] = stub
      end
      params, returns = {}, {}
    end
  end
  return stubs
end

-- ---------------------------------------------------------------------
-- docs/reference.md
-- ---------------------------------------------------------------------

-- "family, type [, protocol]" -> { {name, opt} }
local function ref_args(list)
  local out, depth, word = {}, 0, nil
  local function flush()
    if word then out[#out + 1] = { name = word.name, opt = word.opt } end
    word = nil
  end
  local i = 1
  while i <= #list do
    local c = list:sub(i, i)
    if c == "[" then flush(); depth = depth + 1
    elseif c == "]" then flush(); depth = depth - 1
    elseif c == "," then flush()
    elseif list:sub(i, i + 2) == "..." then
      flush(); word = { name = "...", opt = depth > 0 }; i = i + 2
    elseif c:match("[%w_]") then
      if not word then word = { name = "", opt = depth > 0 } end
      word.name = word.name .. c
    elseif not c:match("%s") then
      flush(); out[#out + 1] = { name = "?" .. c, opt = depth > 0 }
    end
    i = i + 1
  end
  flush()
  return out
end

function M.reference(root)
  local sigs = {}
  local fenced = false
  for n, line in ipairs(lines_of(read(root .. "docs/reference.md"))) do
    if line:match("^%s*```") then fenced = not fenced end
    local text = not fenced and (line:match("^#+%s+(.-)%s*$")
                                 or line:match("^|%s*`([^`]+)`%s*|"))
    local owner, sep, name, args
    if text then
      owner, sep, name, args = text:match("^([%w_]+)([.:])([%w_]+)(%b())$")
      if not owner then
        owner, sep, name, args = text:match("^([%w_]+)([.:])([%w_]+)(%b{})$")
        args = args and "(fields)"
      end
    end
    local key = owner and canonical(REF_PREFIX, owner, sep, name)
    local example = args and (args:match("%f[%w]true%f[%W]")
      or args:match("%f[%w]false%f[%W]") or args:match("%f[%w]nil%f[%W]")
      or args:match("%f[%w_]%d") or args:match("[\"']"))
    if key and not example then
      sigs[#sigs + 1] = { name = key, text = text, args = ref_args(args:sub(2, -2)),
                          where = "docs/reference.md:" .. n }
    end
  end
  return sigs
end

-- ---------------------------------------------------------------------
-- The comparison
-- ---------------------------------------------------------------------

local function param_list(params)
  local out = {}
  for _, p in ipairs(params) do
    out[#out + 1] = p.opt and "[" .. p.name .. "]" or p.name
  end
  return "(" .. table.concat(out, ", ") .. ")"
end

local function by_name(list)
  local t = {}
  for _, x in ipairs(list) do
    t[x.name] = t[x.name] or {}
    table.insert(t[x.name], x)
  end
  return t
end

-- Returns the differences, one line each, and how many signatures were
-- compared.
function M.check(root)
  root = root or "./"
  local fns = M.ldoc(root)
  local stubs, sigs = M.meta(root), M.reference(root)
  local problems, compared = {}, 0
  local function say(fmt, ...) problems[#problems + 1] = fmt:format(...) end
  local ldoc, meta, ref = by_name(fns), by_name(stubs), by_name(sigs)

  for _, fn in ipairs(fns) do
    local mine = param_list(fn.params)
    if #ldoc[fn.name] > 1 then
      say("%s: %s is described twice in LDoc (also %s)", fn.where, fn.name,
          ldoc[fn.name][1] == fn and ldoc[fn.name][2].where
                                  or ldoc[fn.name][1].where)
    end
    if fn.code_args then
      local code = "(" .. table.concat(fn.code_args, ", ") .. ")"
      local plain = mine:gsub("[%[%]]", "")
      if plain ~= code then
        say("%s: %s: LDoc parameters %s, the code's %s", fn.where, fn.name,
            mine, code)
      end
    end
    -- docs/meta.lua
    local stub = meta[fn.name] and meta[fn.name][1]
    if not stub then
      say("docs/meta.lua: no stub for %s (LDoc: %s %s)", fn.name, fn.where,
          mine)
    else
      compared = compared + 1
      local theirs = param_list(stub.params)
      if theirs ~= mine then
        say("%s: %s: parameters %s, LDoc (%s) says %s", stub.where,
            fn.name, theirs, fn.where, mine)
      end
      local plain = mine:gsub("[%[%]]", "")
      local args = "(" .. table.concat(stub.args, ", ") .. ")"
      if args ~= plain then
        say("%s: %s: the stub's arguments %s, LDoc (%s) says %s",
            stub.where, fn.name, args, fn.where, plain)
      end
      local want = result_types(fn)
      if #want ~= #stub.returns then
        say("%s: %s: %d results, LDoc (%s) says %d", stub.where, fn.name,
            #stub.returns, fn.where, #want)
      end
      for i = 1, math.min(#want, #stub.returns) do
        if not same_types(want[i], stub.returns[i]) then
          say("%s: %s: result %d is %s, LDoc (%s) says %s", stub.where,
              fn.name, i, set_string(stub.returns[i]), fn.where,
              set_string(want[i]))
        end
      end
    end
    -- docs/reference.md
    if not ref[fn.name] then
      say("docs/reference.md: no signature line for %s (LDoc: %s %s)",
          fn.name, fn.where, mine)
    end
    for _, sig in ipairs(ref[fn.name] or {}) do
      compared = compared + 1
      local theirs = param_list(sig.args)
      local single = #sig.args == 1 and sig.args[1].name == "fields"
                     and #fn.params == 1 and sig.text:match("}$")
      if theirs ~= mine and not single then
        say("%s: %s: arguments %s, LDoc (%s) says %s", sig.where, sig.text,
            theirs, fn.where, mine)
      end
    end
  end
  for _, list in ipairs{ stubs, sigs } do
    for _, x in ipairs(list) do
      if not ldoc[x.name] then
        say("%s: %s has no LDoc description in src/l*.c or lua/", x.where,
            x.name)
      end
    end
  end
  for name, list in pairs(meta) do
    if #list > 1 then
      say("%s: a second stub for %s (first %s)", list[2].where, name,
          list[1].where)
    end
  end
  table.sort(problems)
  return problems, compared, #fns
end

if arg and arg[0] and arg[0]:match("docsigs%.lua$") then
  local root = (arg[0]:match("^(.*)/[^/]*$") or ".") .. "/../"
  local problems, compared, nfns = M.check(root)
  for _, p in ipairs(problems) do print(p) end
  print(("scripts/docsigs.lua: %d functions, %d signatures compared, "
         .. "%d differences"):format(nfns, compared, #problems))
  os.exit(#problems == 0 and 0 or 1)
end

return M
