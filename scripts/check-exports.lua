-- Every file's "Exports:" list says what the file gives the others.  This
-- checks that the lists are true, and changes nothing.
--
-- The grammar of a list (the file's opening comment):
--   * The list is the paragraph that begins "Exports" ("Exports:",
--     "Exports (...):"), up to the next empty comment line.
--   * Names checked are the project's C names: words beginning wr_, lwr_
--     or luaopen_ (functions, objects, types) and WR_ or LWR_ (macros and
--     constants; a trailing * stands for a family, WR_S_*).  Other words
--     are prose or Lua names (methods, fields, module constants).
--   * Text in parentheses is commentary: names in it are not listed.
--   * Labels ("...:") group what follows, up to the next label:
--       F.c:     (in a header) names F.c defines, which this header declares;
--       inline:  its static inline functions (in a .c file's list: those
--                of its own header, F.h beside F.c);
--     any other label ("for the core:") only says who uses them, and a
--     project name before a colon ("lwr_recv_methods: WSARecv, ...") is
--     listed like any other.
--   * "struct NAME" lists a type.
-- What is checked (C read simply: comments, strings and preprocessor lines
-- dropped; declarations at brace depth 0; a definition is `...name(...) {`):
--   * a .c file: its listed functions and objects are exactly the ones it
--     defines without `static`; every .c file has a list;
--   * a header with a list: its inline: names are exactly its static inline
--     functions of the project's names; its other function and object names
--     exactly what it declares; a name under F.c: is defined in F.c;
--   * a header without a list, beside F.c: what it declares, and its static
--     inline functions, are in F.c's list;
--   * any header: every function it declares is defined by some .c file,
--     and by F.c where a comment "/* F.c ... */" heads its group;
--   * listed types and macros exist in the file (types and macros are
--     checked one way: a file may define more than it lists).
-- Prints "exports: ok", or each mismatch (file: name ...) and
-- "exports: FAILED" (exit 1).
--   lua5.4 scripts/check-exports.lua        (from anywhere; a CI leg)
local C = dofile((arg[0]:match("^(.*)/[^/]*$") or ".") .. "/checklib.lua")
local root, complain = C.root, C.complain
local read = C.read

local function files()
  return C.lines(("cd '%s' && find src -name '*.[ch]' | sort"):format(root))
end

local function is_project(w)
  return w:match("^l?wr_") or w:match("^luaopen_") or w:match("^L?WR_")
end
local function is_macro(w) return w:match("^L?WR_") ~= nil end

------------------------------------------------------------------------
-- The list
------------------------------------------------------------------------

-- The paragraph of the opening comment that begins "Exports", or nil.
local function list_text(src)
  local head = src:match("^%s*/%*(.-)%*/")
  if not head then return nil end
  local out, on = {}, false
  for line in (head .. "\n"):gmatch("(.-)\n") do
    local body = line:gsub("^%s*%*%*", "")
    if not on and body:match("^%s*Exports") then on = true end
    if on then
      if body:match("^%s*$") then break end
      out[#out + 1] = body
    end
  end
  return on and table.concat(out, " ") or nil
end

local function drop_parens(s)
  local prev
  repeat prev = s; s = s:gsub("%b()", " ") until s == prev
  return s
end

-- { {name, group, kind}... }: group is "F.c", "inline" or false; kind is
-- "macro", "struct" or "name".
local function parse_list(text)
  text = drop_parens(text):gsub("^%s*Exports%s*:", " ")
  local items = {}
  local group = false
  local i = 1
  while i <= #text do
    local s, e, word = text:find("^([%w_]+[%w_.]*%*?)", i)
    if s then
      local after = text:match("^%s*(:?)", e + 1)
      if after == ":" and (word:match("^[%w_]+%.[ch]$") or word == "inline") then
        group = word
      elseif after == ":" and not is_project(word) then
        group = false                       -- an audience label
      elseif is_project(word) then          -- ("name: what it holds" lists name)
        local prev = text:sub(1, s - 1):match("([%w_]+)%s*$")
        local kind = is_macro(word) and "macro"
          or (prev == "struct" and "struct") or "name"
        items[#items + 1] = { name = word:gsub("%.$", ""), group = group, kind = kind }
      end
      i = e + 1
    else
      i = i + 1
    end
  end
  return items
end

------------------------------------------------------------------------
-- The C
------------------------------------------------------------------------

-- Comments, strings, characters and preprocessor lines blanked (newlines
-- kept).
local function strip(src)
  local out, i, n = {}, 1, #src
  while i <= n do
    local c, c2 = src:sub(i, i), src:sub(i, i + 1)
    if c2 == "/*" then
      local e = src:find("*/", i + 2, true) or n
      out[#out + 1] = src:sub(i, e + 1):gsub("[^\n]", " "); i = e + 2
    elseif c2 == "//" then
      local e = src:find("\n", i, true) or n + 1
      i = e
    elseif c == '"' or c == "'" then
      local j = i + 1
      while j <= n and src:sub(j, j) ~= c do
        if src:sub(j, j) == "\\" then j = j + 1 end
        j = j + 1
      end
      out[#out + 1] = c .. c; i = j + 1
    else
      out[#out + 1] = c; i = i + 1
    end
  end
  local lines, cont = {}, false
  for line in (table.concat(out) .. "\n"):gmatch("(.-)\n") do
    local pp = cont or line:match("^%s*#")
    cont = pp and line:match("\\%s*$") ~= nil
    lines[#lines + 1] = pp and "" or line
  end
  return table.concat(lines, "\n")
end

local KEYWORDS = { ["if"] = true, ["while"] = true, ["for"] = true,
  ["switch"] = true, ["return"] = true, ["sizeof"] = true }

-- The name a declaration declares: the word before its first "(" (a
-- function), "(*name)" (a pointer to one), or its last word before "=",
-- "[" or the end (an object or a typedef).
local function declared(chunk)
  local fp = chunk:match("%(%s*%*%s*([%w_]+)%s*%)%s*%(")
  if fp then return fp, "object" end
  local fn = chunk:match("([%w_]+)%s*%(")
  if fn and not KEYWORDS[fn] then return fn, "function" end
  local head = chunk:match("^(.-)=") or chunk
  head = head:gsub("%b[]", " ")
  return head:match("([%w_]+)%s*$"), "object"
end

-- What a file declares and defines at brace depth 0.
local function scan(src)
  local c = strip(src)
  local r = { defs = {}, protos = {}, inlines = {}, objects = {}, externs = {},
              types = {}, macros = {} }
  for name in src:gmatch("#%s*define%s+([%w_]+)") do r.macros[name] = true end
  for body in c:gmatch("enum[%s%w_]*(%b{})") do
    for name in body:gmatch("([%a_][%w_]*)%s*[=,}]") do r.macros[name] = true end
  end
  for tag in c:gmatch("struct%s+([%w_]+)%s*{") do r.types[tag] = true end
  local i, n, start = 1, #c, 1
  local function emit(chunk, kind)
    chunk = chunk:gsub("%s+", " "):gsub("^ ", ""):gsub(" $", "")
    if chunk == "" then return end
    local static = chunk:match("^static%f[%W]") or chunk:match("%f[%w_]static%f[%W]")
    local inline = chunk:match("%f[%w_]inline%f[%W]")
    if chunk:match("%f[%w_]typedef%f[%W]") then
      local name = declared(chunk:gsub("%b{}", " "))
      if name then r.types[name] = true end
      return
    end
    local name, what = declared(chunk:gsub("%b{}", " "))
    if not name then return end
    if kind == "body" then
      if static and inline then r.inlines[name] = true
      elseif not static then r.defs[name] = true end
    elseif what == "function" then
      if not static then r.protos[name] = true end
    elseif chunk:match("^struct [%w_]+ {") or chunk:match("^enum") or chunk:match("^union") then
      return                                  -- a tag's definition
    elseif chunk:match("%f[%w_]extern%f[%W]") then
      r.externs[name] = true
    elseif not static then
      r.objects[name] = true
    end
  end
  while i <= n do
    local ch = c:sub(i, i)
    if ch == ";" then
      emit(c:sub(start, i - 1), "decl"); start = i + 1; i = i + 1
    elseif ch == "{" then
      local _, e = c:find("%b{}", i)
      e = e or n
      local before = c:sub(start, i - 1)
      if before:match("%)%s*$") and not before:match("=") then
        emit(before, "body"); start = e + 1
      end
      i = e + 1
    else
      i = i + 1
    end
  end
  return r
end

------------------------------------------------------------------------
-- The checks
------------------------------------------------------------------------

local paths = files()
local info = {}
for _, path in ipairs(paths) do
  local src = read(path)
  local text = list_text(src)
  info[path] = { c = scan(src), list = text and parse_list(text), src = src }
end

local defined_anywhere = {}
for _, path in ipairs(paths) do
  if path:match("%.c$") then
    for name in pairs(info[path].c.defs) do defined_anywhere[name] = true end
  end
end

local function sorted(set)
  local t = {}
  for k in pairs(set) do t[#t + 1] = k end
  table.sort(t)
  return t
end

-- Listed types and macros exist in the file.
local function check_names(path, item, c)
  if item.kind == "macro" then
    local fam = item.name:match("^(.-)%*$")
    local ok = c.macros[item.name]
    if fam then
      for m in pairs(c.macros) do if m:sub(1, #fam) == fam then ok = true end end
    end
    if not ok then complain("%s: lists %s, a macro it does not define", path, item.name) end
    return true
  elseif item.kind == "struct" then
    if not c.types[item.name] then
      complain("%s: lists struct %s, which it does not define", path, item.name)
    end
    return true
  end
end

local function check_c(path)
  local f = info[path]
  if not f.list then complain("%s: no \"Exports:\" list", path) return end
  local listed = {}
  local h = info[path:gsub("%.c$", ".h")]
  for _, item in ipairs(f.list) do
    if item.group == "inline" then
      if not (h and h.c.inlines[item.name]) then
        complain("%s: lists %s as inline, not a static inline function of its header",
                 path, item.name)
      end
    elseif item.group then
      complain("%s: label %s: in a .c file's list (%s)", path, item.group, item.name)
    elseif not check_names(path, item, f.c) then
      listed[item.name] = true
      if not (f.c.defs[item.name] or f.c.objects[item.name] or f.c.types[item.name]) then
        complain("%s: lists %s, which it does not define", path, item.name)
      end
    end
  end
  for _, set in ipairs { f.c.defs, f.c.objects } do
    for _, name in ipairs(sorted(set)) do
      if not listed[name] then complain("%s: defines %s, not in its list", path, name) end
    end
  end
end

-- A name a header's list gives: an inline function, or one it declares
-- (and, under F.c:, that F.c defines).
local function check_h_name(path, item, c, inl, decl)
  if item.group == "inline" then
    inl[item.name] = true
    if not c.inlines[item.name] then
      complain("%s: lists %s as inline, not a static inline function of it", path, item.name)
    end
    return
  end
  decl[item.name] = true
  if not (c.protos[item.name] or c.externs[item.name]) then
    complain("%s: lists %s, which it does not declare", path, item.name)
  end
  if item.group then
    local home = info[path:match("^(.*/)") .. item.group]
    if not home then
      complain("%s: lists %s under %s:, no such file", path, item.name, item.group)
    elseif not (home.c.defs[item.name] or home.c.objects[item.name]) then
      complain("%s: lists %s under %s:, which does not define it", path, item.name, item.group)
    end
  end
end

local function check_h_list(path)
  local f = info[path]
  local inl, decl = {}, {}
  for _, item in ipairs(f.list) do
    local is_type = f.c.types[item.name]
      and not (f.c.protos[item.name] or f.c.externs[item.name])
    -- macros and types are checked one way (check_names), functions both
    if not (check_names(path, item, f.c) or is_type) then
      check_h_name(path, item, f.c, inl, decl)
    end
  end
  for _, name in ipairs(sorted(f.c.inlines)) do
    if is_project(name) and not inl[name] then
      complain("%s: defines static inline %s, not in its inline: list", path, name)
    end
  end
  for _, set in ipairs { f.c.protos, f.c.externs } do
    for _, name in ipairs(sorted(set)) do
      if not decl[name] then complain("%s: declares %s, not in its list", path, name) end
    end
  end
end

-- A header's declarations under a comment that names a file ("/* wr_ov.c */",
-- "/* wr_addr.c: interface text */"), up to the next such comment or
-- section rule, are that file's: it defines each.
local function check_h_labels(path, src)
  local dir, label = path:match("^(.*/)"), nil
  for line in src:gmatch("[^\n]*") do
    local file = line:match("^/%*%s*([%w_]+%.c)[%s:*]")
    if file then label = file
    elseif line:match("^/?%*+%s*%-%-%-") then label = nil
    elseif label and not line:match("^static") and not line:match("^typedef") then
      local name = line:match("^[%a_][%w_%s%*]-([%a_][%w_]*)%s*%(")
      if name and info[path].c.protos[name] then
        local home = info[dir .. label]
        if not (home and (home.c.defs[name] or home.c.objects[name])) then
          complain("%s: declares %s under /* %s */, which does not define it",
                   path, name, label)
        end
      end
    end
  end
end

-- A header without a list is told by its .c file's.
local function check_h_by_c(path)
  local cpath = path:gsub("%.h$", ".c")
  local cf = info[cpath]
  if not cf then return end                   -- wr.h: the contract, no list
  local listed = {}
  for _, item in ipairs(cf.list or {}) do listed[item.name] = true end
  local c = info[path].c
  for _, set in ipairs { c.protos, c.externs, c.inlines } do
    for _, name in ipairs(sorted(set)) do
      if not listed[name] then
        complain("%s: declares %s, not in %s's list", path, name, cpath)
      end
    end
  end
end

for _, path in ipairs(paths) do
  if path:match("%.c$") then
    check_c(path)
  else
    if info[path].list then check_h_list(path) else check_h_by_c(path) end
    check_h_labels(path, info[path].src)
    for _, name in ipairs(sorted(info[path].c.protos)) do
      if not defined_anywhere[name] then
        complain("%s: declares %s, which no .c file defines", path, name)
      end
    end
  end
end

local nfun = 0
for _ in pairs(defined_anywhere) do nfun = nfun + 1 end
if nfun == 0 then complain("no .c file under src/ defines a function: nothing checked") end
if C.bad > 0 then
  print(("exports: FAILED (%d mismatches)"):format(C.bad))
  os.exit(1)
end
print(("exports: ok (%d files, %d functions given; every list "
  .. "names what its file gives)"):format(#paths, nfun))
