rockspec_format = "3.0"
package = "wsarecv"
version = "0.4.0-1"
-- The release archive a tag v0.4.0 gets.  `make rock` builds the same
-- layout (wsarecv-0.4.0/...) from the checkout with git archive and packs
-- it with this file into wsarecv-0.4.0-1.src.rock, so installing needs no
-- network: luarocks --lua-version=5.4 install ./wsarecv-0.4.0-1.src.rock
source = {
  url = "https://github.com/wsarecv/wsarecv/archive/v0.4.0.tar.gz",
  dir = "wsarecv-0.4.0",
}
description = {
  summary = "Windows-style overlapped socket I/O (WSARecv, WSASend, AcceptEx, ConnectEx) for Lua 5.4 on libuv",
  detailed = [[
Post receive and send operations with arrays of reusable buffers, flags
and a completion routine, and accept and connect the same way; a libuv
core does the I/O and runs the routine as a Lua callback in an alertable
wait, with Winsock's semantics and errors.
]],
  homepage = "https://github.com/wsarecv/wsarecv",
  maintainer = "the wsarecv developers",
  license = "MIT",
  labels = { "networking", "sockets", "libuv", "winsock" },
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
-- libuv and liburing are the Linux platform's; the Windows build uses
-- Winsock itself
external_dependencies = {
  platforms = {
    unix = {
      LIBUV = { header = "uv.h", library = "uv" },
      LIBURING = { header = "liburing.h", library = "uring" },
    },
  },
}
build = {
  type = "builtin",
  modules = {
    ["wsarecv"] = "lua/wsarecv.lua",
    ["wsarecv.async"] = "lua/wsarecv/async.lua",
    ["wsarecv.luv"] = "lua/wsarecv/luv.lua",
    ["wsarecv.socket"] = "lua/wsarecv/socket.lua",
    -- wsarecv.core's sources: sources.mk's lists, written out again here
    -- (LuaRocks reads this file as it is); scripts/check-sources.lua
    -- checks that they agree.  Linux: ENGINE_SRC, LINUX_SRC, BINDING_SRC.
    ["wsarecv.core"] = {
      sources = {
        "src/core/wr_ov.c", "src/core/wr_post.c", "src/core/wr_recv.c",
        "src/core/wr_send.c", "src/core/wr_loop.c",
        "src/core/wr_socket.c", "src/core/wr_bsd.c", "src/core/wr_addr.c",
        "src/core/wr_errors.c", "src/core/wr_port.c", "src/core/wr_cmsg.c",
        "src/core/wr_linux_watch.c", "src/core/wr_linux_step.c",
        "src/core/wr_linux_send.c", "src/core/wr_linux_msg.c", "src/core/wr_linux_cmsg.c",
        "src/core/wr_linux_pollfd.c", "src/core/wr_linux_signal.c",
        "src/core/wr_linux_ring.c",
        "src/lwsarecv.c", "src/lsocket.c", "src/lrecv.c", "src/lsend.c",
        "src/loverlapped.c", "src/lmsg.c", "src/lbuffer.c", "src/lwr_aux.c",
        "src/lpoll.c", "src/loptions.c", "src/lport.c", "src/lportwait.c",
      },
      defines = { "NDEBUG" },
      incdirs = { "src", "$(LIBUV_INCDIR)", "$(LIBURING_INCDIR)" },
      libdirs = { "$(LIBUV_LIBDIR)", "$(LIBURING_LIBDIR)" },
      libraries = { "uv", "uring" },
    },
  },
  -- Windows: the native backend (wr_win_*.c) instead of the Linux one:
  -- ENGINE_SRC, WINDOWS_SRC, BINDING_SRC
  platforms = {
    windows = {
      modules = {
        ["wsarecv.core"] = {
          sources = {
            "src/core/wr_ov.c", "src/core/wr_post.c", "src/core/wr_recv.c",
            "src/core/wr_send.c", "src/core/wr_loop.c",
            "src/core/wr_socket.c", "src/core/wr_bsd.c",
            "src/core/wr_addr.c", "src/core/wr_errors.c",
            "src/core/wr_port.c", "src/core/wr_cmsg.c",
            "src/core/wr_win.c", "src/core/wr_win_send.c",
            "src/core/wr_win_msg.c",
            "src/lwsarecv.c", "src/lsocket.c", "src/lrecv.c", "src/lsend.c",
            "src/loverlapped.c", "src/lmsg.c", "src/lbuffer.c",
            "src/lwr_aux.c", "src/lpoll.c", "src/loptions.c", "src/lport.c",
            "src/lportwait.c",
          },
          defines = { "NDEBUG", "_WIN32_WINNT=0x0600" },
          incdirs = { "src" },
          libdirs = {},
          libraries = { "ws2_32", "iphlpapi" },
        },
      },
    },
  },
  -- The docs a user gets, in the rock's doc/ directory, where `luarocks
  -- doc wsarecv` finds them (and opens the README): README.md, the
  -- changelog and the docs/ the README links to, laid out as here so that
  -- every relative link holds
  -- (the reference links back to the README), and not docs/check.lua, a
  -- development tool.  copy_directories copies a directory whole, so the
  -- files are listed one by one; LuaRocks puts such files in the rock's
  -- conf/ directory, hence "../doc/".  (scripts/rock-check.sh checks the
  -- installed docs' links.)
  copy_directories = {},
  install = {
    conf = {
      ["../doc/README.md"] = "README.md",
      ["../doc/CHANGELOG.md"] = "CHANGELOG.md",
      ["../doc/docs/reference.md"] = "docs/reference.md",
      ["../doc/docs/loops.md"] = "docs/loops.md",
      ["../doc/docs/ARCHITECTURE.md"] = "docs/ARCHITECTURE.md",
      ["../doc/docs/platforms.md"] = "docs/platforms.md",
      ["../doc/docs/CONTRIBUTING.md"] = "docs/CONTRIBUTING.md",
      ["../doc/docs/meta.lua"] = "docs/meta.lua",
    },
  },
}
test = {
  type = "busted",
}
