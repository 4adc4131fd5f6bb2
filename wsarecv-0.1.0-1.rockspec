rockspec_format = "3.0"
package = "wsarecv"
version = "0.1.0-1"
source = {
  url = "git+file:///dev/null",
  tag = "v0.1.0",
}
description = {
  summary = "Windows-style overlapped receive (WSARecv) for Lua 5.4 on libuv",
  detailed = [[
Post receive operations with arrays of reusable buffers, flags and a
completion routine; a libuv core does the I/O and runs the routine as a
Lua callback in an alertable wait, with Winsock's semantics and errors.
]],
  license = "MIT",
  labels = { "networking", "sockets", "libuv", "winsock" },
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
external_dependencies = {
  LIBUV = { header = "uv.h", library = "uv" },
}
build = {
  type = "builtin",
  modules = {
    ["wsarecv"] = "lua/wsarecv.lua",
    ["wsarecv.core"] = {
      sources = {
        "src/core/wr_core.c", "src/core/wr_sock.c", "src/core/wr_msg.c", "src/core/wr_errors.c",
        "src/lwsarecv.c", "src/lbuffer.c", "src/loverlapped.c",
        "src/lsocket.c", "src/lmsg.c",
      },
      incdirs = { "src", "$(LIBUV_INCDIR)" },
      libdirs = { "$(LIBUV_LIBDIR)" },
      libraries = { "uv" },
    },
  },
}
test = {
  type = "busted",
}
