-- luacheck settings for `make lint` (luacheck lua examples spec).
-- Everything is Lua 5.4; specs also see busted's globals (describe, it,
-- assert's extensions, pending, ...).  Lines up to 120 columns (the
-- default), as the code has them.
std = "lua54"
max_line_length = 120
color = false             -- plain logs (CI)

files["spec"] = { std = "+busted" }

exclude_files = { "build", "build-asan", ".luarocks", "lua_modules" }
