# The C sources of wsarecv.core, one list per part: the one home of these
# lists.  The Makefile builds every variant from them (plain, asan, the
# libFuzzer binary, the Windows DLL); the rockspec, which LuaRocks reads as
# a static file, writes them out again, and scripts/check-sources.lua
# (a CI leg) fails when the two differ or a file of src/ is in no list.
#
#   Linux:    ENGINE_SRC + LINUX_SRC + BINDING_SRC
#   Windows:  ENGINE_SRC + WINDOWS_SRC + BINDING_SRC

# the engine: the portable part of the core (src/core/, no platform)
ENGINE_SRC  := src/core/wr_ov.c src/core/wr_post.c src/core/wr_recv.c \
               src/core/wr_send.c src/core/wr_loop.c \
               src/core/wr_socket.c src/core/wr_bsd.c src/core/wr_addr.c \
               src/core/wr_errors.c src/core/wr_port.c src/core/wr_cmsg.c

# the Linux platform: libuv poll, recvmsg/recvmmsg, control messages, and
# the io_uring engine's ring
LINUX_SRC   := src/core/wr_linux_watch.c src/core/wr_linux_step.c \
               src/core/wr_linux_send.c \
               src/core/wr_linux_msg.c src/core/wr_linux_cmsg.c \
               src/core/wr_linux_pollfd.c src/core/wr_linux_signal.c \
               src/core/wr_linux_ring.c

# the Windows platform: overlapped WSARecv/WSARecvMsg, WSASend(To, Msg),
# AcceptEx and ConnectEx on a completion port
WINDOWS_SRC := src/core/wr_win.c src/core/wr_win_send.c src/core/wr_win_msg.c

# the binding: the Lua types and the module (src/l*.c)
BINDING_SRC := src/lwsarecv.c src/lsocket.c src/lrecv.c src/lsend.c \
               src/loverlapped.c \
               src/lmsg.c src/lbuffer.c src/lwr_aux.c src/lpoll.c \
               src/loptions.c src/lport.c src/lportwait.c
