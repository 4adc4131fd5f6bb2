-- bench/lua/recv_floor.lua -- the floor of scenario 3: recv_wsarecv.lua,
-- unchanged, against a stub of the C module (bench/c/lfloor.c) that does
-- no receive work.  Whatever this costs per datagram, no C module can
-- save: it is the Lua interpreter running the routine, the lua_pcall that
-- calls it, and its calls into C (buf:byte, sock:WSARecv).
local dir = debug.getinfo(1, "S").source:sub(2):match("^(.*)/") or "."
package.cpath = dir .. "/../../build/bench/?.so;" .. package.cpath
package.loaded.wsarecv = require "benchfloor"
arg = { [0] = dir .. "/recv_wsarecv.lua", "WSARecv", arg[1] }
dofile(dir .. "/recv_wsarecv.lua")
