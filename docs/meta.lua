---@meta wsarecv

-- LuaLS (lua-language-server) annotations for `require "wsarecv"`: types,
-- signatures and return values for editor completion and checking.  Point
-- the server's `workspace.library` setting at this file (or at the
-- directory the rock installs it in).  The behaviour of each name is in
-- docs/reference.md; this file only states types.  Never loaded at run
-- time.  The Lua modules wsarecv.luv, wsarecv.socket and wsarecv.async
-- are annotated as classes near the end (see there how to use them).
-- luacheck: ignore (stubs: unused arguments, long signature lines)

---@alias wsarecv.errname
---| "ERROR_INVALID_HANDLE" # 6: the completion port was closed
---| "WSA_NOT_ENOUGH_MEMORY" # 8
---| "WSA_INVALID_PARAMETER" # 87
---| "WAIT_TIMEOUT" # 258: a port's wait took nothing in time
---| "WSA_OPERATION_ABORTED" # 995: cancelled (CancelIoEx or close)
---| "WSA_IO_INCOMPLETE" # 996: still pending
---| "WSA_IO_PENDING" # 997: started, completes later (not a failure)
---| "ERROR_NOT_FOUND" # 1168: CancelIoEx found nothing
---| "WSAEINTR" # 10004: a wait ended by SIGINT (lua5.4 raises "interrupted!")
---| "WSAEBADF" # 10009
---| "WSAEACCES" # 10013
---| "WSAEFAULT" # 10014: a slice outside its buffer
---| "WSAEINVAL" # 10022
---| "WSAEMFILE" # 10024
---| "WSAEWOULDBLOCK" # 10035
---| "WSAEINPROGRESS" # 10036
---| "WSAEALREADY" # 10037
---| "WSAENOTSOCK" # 10038: closed socket
---| "WSAEDESTADDRREQ" # 10039
---| "WSAEMSGSIZE" # 10040: message (or control messages) too long
---| "WSAEPROTOTYPE" # 10041
---| "WSAENOPROTOOPT" # 10042
---| "WSAEPROTONOSUPPORT" # 10043
---| "WSAESOCKTNOSUPPORT" # 10044
---| "WSAEOPNOTSUPP" # 10045: flags not allowed
---| "WSAEPFNOSUPPORT" # 10046
---| "WSAEAFNOSUPPORT" # 10047
---| "WSAEADDRINUSE" # 10048
---| "WSAEADDRNOTAVAIL" # 10049
---| "WSAENETDOWN" # 10050
---| "WSAENETUNREACH" # 10051
---| "WSAENETRESET" # 10052
---| "WSAECONNABORTED" # 10053
---| "WSAECONNRESET" # 10054
---| "WSAENOBUFS" # 10055
---| "WSAEISCONN" # 10056
---| "WSAENOTCONN" # 10057
---| "WSAESHUTDOWN" # 10058
---| "WSAETIMEDOUT" # 10060
---| "WSAECONNREFUSED" # 10061
---| "WSAELOOP" # 10062
---| "WSAENAMETOOLONG" # 10063
---| "WSAEHOSTDOWN" # 10064
---| "WSAEHOSTUNREACH" # 10065
---| "WSASYSNOTREADY" # 10091
---| "WSANOTINITIALISED" # 10093
---| "WSAEDISCON" # 10101
---| "WSASYSCALLFAILURE" # 10107
---| "WSAHOST_NOT_FOUND" # 11001: no address, no such host name
---| "WSATRY_AGAIN" # 11002: the name server did not answer
---| "WSANO_RECOVERY" # 11003: the lookup failed for good
---| "WSANO_DATA" # 11004: the name has no address of the family

---@alias wsarecv.family "inet"|"inet6"|"unix"
---@alias wsarecv.socktype "stream"|"dgram"|"raw"|"seqpacket"
---@alias wsarecv.protocol "tcp"|"udp"|"icmp"|"icmpv6"|integer
---@alias wsarecv.how "receive"|"send"|"both"
---@alias wsarecv.runmode "default"|"once"|"nowait"

---@alias wsarecv.option
---| "SO_REUSEADDR" # boolean
---| "SO_REUSEPORT" # boolean
---| "SO_RCVBUF" # integer
---| "SO_RCVBUFFORCE" # integer
---| "SO_SNDBUF" # integer
---| "SO_RCVTIMEO" # integer milliseconds, 0..0xFFFFFFFF (0: none)
---| "SO_BROADCAST" # boolean
---| "SO_KEEPALIVE" # boolean
---| "SO_OOBINLINE" # boolean
---| "SO_TIMESTAMP" # boolean
---| "SO_TIMESTAMPNS" # boolean
---| "SO_RXQ_OVFL" # boolean
---| "SO_ERROR" # read-only integer (a WSA code)
---| "SO_TYPE" # read-only integer
---| "SO_ACCEPTCONN" # read-only integer
---| "FIONBIO" # boolean
---| "TCP_NODELAY" # boolean
---| "IP_TTL" # integer
---| "IP_TOS" # integer
---| "IP_PKTINFO" # boolean
---| "IP_RECVTOS" # boolean
---| "IP_RECVTTL" # boolean
---| "IP_RECVORIGDSTADDR" # boolean
---| "IP_ORIGDSTADDR" # boolean (= IP_RECVORIGDSTADDR)
---| "IP_RECVERR" # boolean
---| "IP_MULTICAST_TTL" # integer
---| "IP_MULTICAST_LOOP" # boolean
---| "IP_MULTICAST_IF" # interface: name, index, IPv4 address or "0.0.0.x"; reads back address text
---| "IP_ADD_MEMBERSHIP" # set-only {group, interface}
---| "IP_DROP_MEMBERSHIP" # set-only {group, interface}
---| "IPV6_V6ONLY" # boolean
---| "IPV6_PKTINFO" # boolean
---| "IPV6_RECVPKTINFO" # boolean (= IPV6_PKTINFO)
---| "IPV6_RECVTCLASS" # boolean
---| "IPV6_HOPLIMIT" # boolean
---| "IPV6_RECVHOPLIMIT" # boolean (= IPV6_HOPLIMIT)
---| "IPV6_RECVERR" # boolean
---| "IPV6_UNICAST_HOPS" # integer
---| "IPV6_TCLASS" # integer
---| "IPV6_MULTICAST_HOPS" # integer
---| "IPV6_MULTICAST_LOOP" # boolean
---| "IPV6_MULTICAST_IF" # interface: name or index; reads back the index
---| "IPV6_ADD_MEMBERSHIP" # set-only {group, interface}
---| "IPV6_DROP_MEMBERSHIP" # set-only {group, interface}
---| "UDP_GRO" # boolean

---A multicast membership: `{group, interface}` or the named fields.
---@class wsarecv.membership
---@field [1] string? group address
---@field [2] string? interface: an address, index or name (IPv4), an index or name (IPv6); "*" or "" any
---@field group string?
---@field interface string?

---A slice of a buffer: `{buf, offset, length}`, offset 0-based.
---@class wsarecv.slice
---@field [1] wsarecv.buffer
---@field [2] integer? offset, default 0
---@field [3] integer? length, default the rest of the buffer

---A WSABUF array: a buffer, or an array of buffers and slices.
---@alias wsarecv.wsabufs wsarecv.buffer|(wsarecv.buffer|wsarecv.slice)[]

---A completion routine of WSARecv: err is nil on success.
---@alias wsarecv.routine fun(err: wsarecv.errname?, bytes: integer, ov: wsarecv.overlapped, flags: integer)

---A completion routine of WSARecvMsg: the msg comes fifth.
---@alias wsarecv.msgroutine fun(err: wsarecv.errname?, bytes: integer, ov: wsarecv.overlapped, flags: integer, msg: wsarecv.msg)

-- ---------------------------------------------------------------------
-- The module
-- ---------------------------------------------------------------------

---@class wsarecv
---@field _VERSION string "wsarecv 0.4.0"
---@field errors table<string, integer>|table<integer, string> names to codes and codes to names
---@field INFINITE integer -1: a wait without timeout
---@field MAX_PENDING integer 4096: operations pending per socket at most
---@field WSA_MAXIMUM_WAIT_EVENTS integer 64: objects per WSAWaitForMultipleEvents at most
---@field MSG_OOB integer 0x1
---@field MSG_PEEK integer 0x2
---@field MSG_DONTROUTE integer 0x4
---@field MSG_WAITALL integer 0x8
---@field MSG_PUSH_IMMEDIATE integer 0x20
---@field MSG_TRUNC integer 0x100
---@field MSG_CTRUNC integer 0x200
---@field MSG_BCAST integer 0x400
---@field MSG_MCAST integer 0x800
---@field MSG_PARTIAL integer 0x8000
local wsarecv = {}

---A new zero-filled buffer of `size` bytes, or a copy of a string.
---@param size_or_string integer|string
---@return wsarecv.buffer
function wsarecv.buffer(size_or_string) end

---A new socket, or nil and the error.
---@param family wsarecv.family
---@param type wsarecv.socktype
---@param protocol? wsarecv.protocol
---@return wsarecv.socket|nil sock
---@return wsarecv.errname? err
---@return integer? code
function wsarecv.socket(family, type, protocol) end

---Adopt an existing descriptor; wsarecv owns it from then on.  With
---`opts.dup` true, adopt a duplicate instead: the caller keeps `fd`, and
---each side closes its own.
---@param fd integer 0..2^31-1
---@param opts? { dup?: boolean }
---@return wsarecv.socket|nil sock
---@return wsarecv.errname? err "WSAENOTSOCK": no open descriptor, or no socket; "WSAEINVAL": without dup, an open wsarecv socket's descriptor
---@return integer? code
function wsarecv.wrap(fd, opts) end

---A new, reusable overlapped object (WSAOVERLAPPED).
---@return wsarecv.overlapped
function wsarecv.overlapped() end

---A new, reusable WSAMSG.
---@param fields { buffers?: wsarecv.wsabufs, control?: integer|wsarecv.buffer, flags?: integer }
---@return wsarecv.msg
function wsarecv.msg(fields) end

---A new I/O completion port (no arguments), or associate `sock` with
---`port` (a new one when nil) under `key`, any Lua value; returns the port.
---@param sock? wsarecv.socket
---@param port? wsarecv.port
---@param key? any
---@return wsarecv.port|nil port
---@return wsarecv.errname? err "WSA_INVALID_PARAMETER": sock has a port already; "WSANOTINITIALISED": the state is closing
---@return integer? code
---@overload fun(): wsarecv.port
function wsarecv.CreateIoCompletionPort(sock, port, key) end

---Alertable: run routines and let I/O progress (and, once wsarecv.async
---is loaded, the async tasks that are due).  True while anything is still
---outstanding.
---@param mode? wsarecv.runmode default "default"
---@return boolean|nil more
---@return wsarecv.errname? err
---@return integer? code
function wsarecv.run(mode) end

---Wait ms milliseconds (nil, -1 or 0xFFFFFFFF: no timeout); alertable
---waits run routines and return "WAIT_IO_COMPLETION" once some ran.
---@param ms? integer
---@param alertable? boolean
---@return 0|"WAIT_IO_COMPLETION"|nil result
---@return wsarecv.errname? err WSAEINVAL: too long, or a wait nothing could end; WSAEINTR: SIGINT
---@return integer? code
function wsarecv.SleepEx(ms, alertable) end

---Wait for overlapped objects to be signalled.
---@param ovs wsarecv.overlapped|wsarecv.overlapped[] 1 to 64 objects
---@param waitall? boolean
---@param ms? integer nil, -1 or 0xFFFFFFFF: no timeout
---@param alertable? boolean
---@return integer|"WSA_WAIT_TIMEOUT"|"WSA_WAIT_IO_COMPLETION"|nil result a 1-based index
---@return wsarecv.errname? err
---@return integer? code
function wsarecv.WSAWaitForMultipleEvents(ovs, waitall, ms, alertable) end

---A descriptor readable whenever wsarecv has work (I/O to move, routines
---to run, receives of a port's socket held for the next wait): watch it
---for reading, then call `wsarecv.run("nowait")`.
---Made on the first call, closed with the Lua state: do not close it.
---@return integer|nil fd
---@return wsarecv.errname? err "WSAEMFILE", "WSAENOBUFS"
---@return integer? code
function wsarecv.pollfd() end

---The same as `wsarecv.pollfd`, under the name LuaSocket's `socket.select`
---calls: `socket.select({wsarecv}, nil, wsarecv.timeout())` works.
---@return integer|nil fd
---@return wsarecv.errname? err
---@return integer? code
function wsarecv.getfd() end

---The events to watch `pollfd()` for (cqueues' pollable protocol).
---@return "r"
function wsarecv.events() end

---Seconds until `wsarecv.run("nowait")` must be called anyway: 0 when
---there is work now (receives held for the next wait included), nil when
---only `pollfd()` can bring work.
---@return number? seconds
function wsarecv.timeout() end

---How many completions wait for an alertable wait.
---@return integer
function wsarecv.ready() end

---Keep `pollfd()` readable (and `timeout()` 0) until the next alertable
---wait.
function wsarecv.wake() end

---A monotonic clock: seconds (a float) from an arbitrary start.
---@return number seconds
function wsarecv.now() end

---The one-line meaning of an error name or code (with no guess at the
---cause: `lasterror` gives that).
---@param name_or_code wsarecv.errname|string|integer
---@return string
function wsarecv.strerror(name_or_code) end

---The last failure a call of this Lua state returned, and why: the
---specific reason noted where it failed (WSAEINVAL has several), else
---strerror's meaning.  nil before any failure.
---@return wsarecv.errname? name
---@return integer? code
---@return string? why
function wsarecv.lasterror() end

---The engine in use: "io_uring" (Linux: the kernel fills posted buffers
---while Lua computes), "poll" (Linux: data moves only inside wsarecv's
---calls) or "iocp" (Windows); with a name, switch to it first (only while
---no socket or port is open).  WSARECV_ENGINE chooses it at require.
---@param name? "io_uring"|"poll"
---@return "io_uring"|"poll"|"iocp"|nil engine
---@return wsarecv.errname? err "WSAEINVAL": sockets or ports are open; "WSAEOPNOTSUPP": the kernel (or a seccomp filter) refuses io_uring, or the platform has no such engine
---@return integer? code
function wsarecv.engine(name) end

---The names of the flags set, joined by "|" ("0" for none).
---@param flags integer
---@return string
function wsarecv.flagnames(flags) end

---A hex dump (offset, hex, ASCII) of a string or buffer.
---@param data string|wsarecv.buffer
---@param len? integer at most this many bytes
---@return string
function wsarecv.hexdump(data, len) end

-- ---------------------------------------------------------------------
-- Buffers
-- ---------------------------------------------------------------------

---A fixed-capacity byte buffer (the memory of a WSABUF).  `#buf` is its
---capacity (0 once closed); it supports `<close>`.
---@class wsarecv.buffer
---@operator len: integer
local buffer = {}

---Bytes i..j as a string (string.sub's rules).
---@param i? integer
---@param j? integer
---@return string
function buffer:sub(i, j) end

---Bytes i..j as integers (string.byte's rules).
---@param i? integer
---@param j? integer
---@return integer ...
function buffer:byte(i, j) end

---string.unpack over the buffer's bytes: the values, then the next position.
---@param fmt string
---@param pos? integer
---@return any ...
function buffer:unpack(fmt, pos) end

---Copy a string in at pos (1-based); returns the bytes written.
---@param pos integer
---@param data string
---@return integer
function buffer:write(pos, data) end

---Set bytes i..j to a byte value (0..255 or a one-character string).
---@param byte integer|string
---@param i? integer
---@param j? integer
---@return wsarecv.buffer self
function buffer:fill(byte, i, j) end

---Mark the buffer closed; later use raises.
function buffer:close() end

-- ---------------------------------------------------------------------
-- Sockets
-- ---------------------------------------------------------------------

---A socket.  Supports `<close>`; the collector closes it too.
---@class wsarecv.socket
local socket = {}

---@param addr string
---@param port? integer absent for unix sockets
---@return 0|nil ok
---@return wsarecv.errname? err
---@return integer? code
function socket:bind(addr, port) end

---@param addr string
---@param port? integer absent for unix sockets
---@return 0|nil ok
---@return wsarecv.errname? err
---@return integer? code
function socket:connect(addr, port) end

---@param backlog? integer
---@return 0|nil ok
---@return wsarecv.errname? err
---@return integer? code
function socket:listen(backlog) end

---@return wsarecv.socket|nil conn
---@return string|wsarecv.errname addr_or_err the peer's address, or the error
---@return integer? port_or_code the peer's port (nil on unix), or the code
function socket:accept() end

---@param data string
---@param flags? integer 0 or MSG_OOB
---@return integer|nil sent
---@return wsarecv.errname? err
---@return integer? code
function socket:send(data, flags) end

---@param data string
---@param addr string
---@param port? integer absent for unix sockets
---@return integer|nil sent
---@return wsarecv.errname? err
---@return integer? code
function socket:sendto(data, addr, port) end

---Shut down one or both directions.  After "receive", new receives fail
---with WSAESHUTDOWN; those already pending complete with data that still
---arrives.  A connected socket needs its peer (WSAENOTCONN), a datagram
---socket none.
---@param how? wsarecv.how default "both"
---@return 0|nil ok
---@return wsarecv.errname? err "WSAENOTCONN"
---@return integer? code
function socket:shutdown(how) end

---@param name wsarecv.option
---@param value boolean|integer|string|wsarecv.membership a string: an interface (the *_MULTICAST_IF options)
---@return 0|nil ok
---@return wsarecv.errname? err
---@return integer? code
function socket:setsockopt(name, value) end

---@param name wsarecv.option
---@return boolean|integer|string|nil value a string: IP_MULTICAST_IF's address
---@return wsarecv.errname? err
---@return integer? code
function socket:getsockopt(name) end

---@return string|nil addr
---@return integer|wsarecv.errname|nil port_or_err the port (nil on unix), or the error
---@return integer? code
function socket:getsockname() end

---@return string|nil addr
---@return integer|wsarecv.errname|nil port_or_err the port (nil on unix), or the error
---@return integer? code
function socket:getpeername() end

---The descriptor, -1 once closed.
---@return integer
function socket:fileno() end

---Overlapped receives pending on the socket.
---@return integer
function socket:pending() end

---Cancel every pending operation and close.
---@return 0
function socket:close() end

---Receive into buffers: nonoverlapped (ov and routine nil), with a
---completion routine (WSAEINVAL on a socket of a completion port), or
---event style (ov only).
---Returns 0, bytes, flags; nil, "WSA_IO_PENDING", 997; or nil, err, code
---[, bytes placed].
---@param buffers wsarecv.wsabufs
---@param flags? integer
---@param ov? wsarecv.overlapped
---@param routine? wsarecv.routine
---@return 0|nil ok
---@return integer|wsarecv.errname bytes_or_err
---@return integer flags_or_code
---@return integer? placed
---@overload fun(self: wsarecv.socket, buffers: wsarecv.wsabufs, flags?: integer): 0|nil, integer|wsarecv.errname, integer, integer?
---@overload fun(self: wsarecv.socket, buffers: wsarecv.wsabufs, flags: integer|nil, ov: wsarecv.overlapped): 0|nil, integer|wsarecv.errname, integer, integer?
---@overload fun(self: wsarecv.socket, buffers: wsarecv.wsabufs, flags: integer|nil, ov: wsarecv.overlapped|nil, routine: wsarecv.routine): 0|nil, integer|wsarecv.errname, integer, integer?
function socket:WSARecv(buffers, flags, ov, routine) end

---Receive one message with its source address and control messages
---(datagram and raw sockets).  The same forms and returns as WSARecv.
---@param msg wsarecv.msg
---@param ov? wsarecv.overlapped
---@param routine? wsarecv.msgroutine
---@return 0|nil ok
---@return integer|wsarecv.errname bytes_or_err
---@return integer flags_or_code
---@return integer? placed
---@overload fun(self: wsarecv.socket, msg: wsarecv.msg): 0|nil, integer|wsarecv.errname, integer, integer?
---@overload fun(self: wsarecv.socket, msg: wsarecv.msg, ov: wsarecv.overlapped): 0|nil, integer|wsarecv.errname, integer, integer?
---@overload fun(self: wsarecv.socket, msg: wsarecv.msg, ov: wsarecv.overlapped|nil, routine: wsarecv.msgroutine): 0|nil, integer|wsarecv.errname, integer, integer?
function socket:WSARecvMsg(msg, ov, routine) end

---Send the data of buffers (a string too): nonoverlapped (ov and routine
---nil: blocks until all is taken unless FIONBIO), with a completion
---routine, or event style (ov only).  Posted sends go out in order; a
---stream send completes when all its bytes were taken.
---Returns 0, bytes, flags; nil, "WSA_IO_PENDING", 997; or nil, err, code
---[, bytes sent].
---@param buffers string|wsarecv.wsabufs
---@param flags? integer 0, MSG_OOB, MSG_DONTROUTE
---@param ov? wsarecv.overlapped
---@param routine? wsarecv.routine
---@return 0|nil ok
---@return integer|wsarecv.errname bytes_or_err
---@return integer flags_or_code
---@return integer? sent
function socket:WSASend(buffers, flags, ov, routine) end

---WSASend to an address (binds an unbound socket).
---@param buffers string|wsarecv.wsabufs
---@param flags integer 0, MSG_OOB, MSG_DONTROUTE (nil: 0)
---@param addr string
---@param port integer 0..65535 (nil on a unix socket)
---@param ov? wsarecv.overlapped
---@param routine? wsarecv.routine
---@return 0|nil ok
---@return integer|wsarecv.errname bytes_or_err
---@return integer flags_or_code
---@return integer? sent
function socket:WSASendTo(buffers, flags, addr, port, ov, routine) end

---Send msg.buffers to msg.to with the control messages msg.control was
---set to (datagram and raw sockets); msg.flags is not read.
---@param msg wsarecv.msg
---@param flags? integer 0 or MSG_DONTROUTE
---@param ov? wsarecv.overlapped
---@param routine? wsarecv.msgroutine
---@return 0|nil ok
---@return integer|wsarecv.errname bytes_or_err
---@return integer flags_or_code
---@return integer? sent
function socket:WSASendMsg(msg, flags, ov, routine) end

---AcceptEx on a listener: the next connection becomes acceptsock (fresh,
---unbound, of the listener's family and type).  With buffers it
---completes once the first data came.  Needs ov or a routine.
---@param acceptsock wsarecv.socket
---@param buffers? wsarecv.wsabufs
---@param ov? wsarecv.overlapped
---@param routine? wsarecv.routine
---@return 0|nil ok
---@return integer|wsarecv.errname bytes_or_err
---@return integer flags_or_code
function socket:AcceptEx(acceptsock, buffers, ov, routine) end

---ConnectEx: connect a bound stream socket, then send buffers.  Always
---WSA_IO_PENDING when it starts; the outcome comes through the
---completion.  Needs ov or a routine.
---@param addr string
---@param port integer 0..65535 (nil on a unix socket)
---@param buffers? string|wsarecv.wsabufs
---@param ov? wsarecv.overlapped
---@param routine? wsarecv.routine
---@return 0|nil ok
---@return integer|wsarecv.errname bytes_or_err
---@return integer flags_or_code
function socket:ConnectEx(addr, port, buffers, ov, routine) end

---The result of the operation on ov: bytes, flags; or nil, err, code
---[, bytes placed] ("WSA_IO_INCOMPLETE" while pending without wait).
---@param ov wsarecv.overlapped
---@param wait? boolean block until complete (refused for routines)
---@return integer|nil bytes
---@return integer|wsarecv.errname flags_or_err
---@return integer? code
---@return integer? placed
function socket:WSAGetOverlappedResult(ov, wait) end

---Cancel the operation on ov, or all the socket's operations.
---@param ov? wsarecv.overlapped
---@return 0|nil ok
---@return wsarecv.errname? err "ERROR_NOT_FOUND" when nothing matched
---@return integer? code
function socket:CancelIoEx(ov) end

-- ---------------------------------------------------------------------
-- Overlapped objects and msgs
-- ---------------------------------------------------------------------

---A reusable WSAOVERLAPPED.  Only `context`, `noport` and `rearm` can be
---assigned.
---@class wsarecv.overlapped
---@field pending boolean the operation is in progress
---@field bytes integer? bytes placed, once completed
---@field flags integer? output flags, once completed
---@field error wsarecv.errname? the failure, once completed (nil: success)
---@field context any free for the program
---@field msg wsarecv.msg? the msg of the last operation, when a WSARecvMsg
---@field noport boolean completions stay off the socket's port (signalled)
---@field rearm boolean a port reposts the object after each of its entries

---A reusable WSAMSG.  Assigning `flags` sets the input flags; assigning
---`control` (or `controlbuf`) a size or buffer sets the control buffer.
---@class wsarecv.msg
---@field buffers wsarecv.wsabufs the WSABUF array
---@field controlbuf wsarecv.buffer? the control buffer
---@field controllen integer control bytes the last receive placed
---@field length integer? the last datagram's full length (placed + discarded); nil before any
---@field flags integer read: output flags; write: input flags
---@field inflags integer the input flags (0 or MSG_PEEK)
---@field pending boolean from the post until the completion is delivered
---@field to {[1]: string, [2]: integer?}? a send's destination
---@field sendcontrol table[]? the control messages a send carries (set with msg.control = {...})
local msg = {}

---The last message's source: address and port (a path and nil on
---unix), or nil before any.
---@return string? addr
---@return integer? port
function msg:name() end

---The last message's control messages, one table each.
---@return wsarecv.cmsg[]
function msg:control() end

-- ---------------------------------------------------------------------
-- Completion ports
-- ---------------------------------------------------------------------

---One completion, as GetQueuedCompletionStatusEx writes it.
---@class wsarecv.entry
---@field bytes integer
---@field key any the socket's completion key, or a posted packet's
---@field ov wsarecv.overlapped? the operation's object, or a packet's
---@field error wsarecv.errname? the failure (nil: success)
---@field flags integer output flags

---GetQueuedCompletionStatusEx's columns form: entry i is ov[i], and
---bytes[i], key[i], error[i], flags[i] for the columns given; #ov entries
---at most (an empty ov raises: fill it with false to size the batch).
---@class wsarecv.entrycolumns
---@field bytes? integer[]
---@field key? any[]
---@field ov (wsarecv.overlapped|false)[]
---@field error? (wsarecv.errname|nil)[]
---@field flags? integer[]

---An I/O completion port.  Supports `<close>`; the collector closes it
---too.  `pollfd`, `events` and `timeout` make it a cqueues pollable.
---@class wsarecv.port
local port = {}

---Take one entry: bytes, key, ov; or nil, err, code, key, ov for a failed
---operation; or nil, "WAIT_TIMEOUT", 258.
---@param ms? integer nil, -1 or 0xFFFFFFFF: no timeout
---@return integer|nil bytes
---@return any key_or_err
---@return wsarecv.overlapped|integer|nil ov_or_code
---@return any key
---@return wsarecv.overlapped? ov
function port:GetQueuedCompletionStatus(ms) end

---Take up to #entries entries (#entries.ov in the columns form, 1024 at
---most) into the caller's tables; returns how many, and how many of them
---failed.  Alertable: routines run too ("WAIT_IO_COMPLETION" when they ran
---and nothing was taken).  Each entry is taken once written: a nested wait
---(a finalizer's, a routine's) takes entries of its own, and a memory
---error leaves the unwritten ones queued.
---@param entries wsarecv.entry[]|wsarecv.entrycolumns
---@param ms? integer nil, -1 or 0xFFFFFFFF: no timeout
---@param alertable? boolean
---@return integer|nil n
---@return integer|wsarecv.errname|"WAIT_IO_COMPLETION" failed_or_err
---@return integer? code
function port:GetQueuedCompletionStatusEx(entries, ms, alertable) end

---Queue an entry of the program's own, handed back as posted.
---@param bytes integer 0..0xFFFFFFFF
---@param key any
---@param ov? wsarecv.overlapped
---@return 0|nil ok
---@return wsarecv.errname? err "ERROR_INVALID_HANDLE": the port is closed
---@return integer? code
function port:PostQueuedCompletionStatus(bytes, key, ov) end

---Entries waiting.
---@return integer
function port:queued() end

---Close: what is queued is dropped (the objects left signalled).
---@return 0
function port:close() end

---A descriptor readable while the port has entries, I/O to move, or
---receives held for the next wait.
---@return integer|nil fd
---@return wsarecv.errname? err
---@return integer? code
function port:pollfd() end

---@return "r"
function port:events() end

---Seconds until the port must be asked again anyway (0: now, also while
---receives are held for the next wait), or nil.
---@return number? seconds
function port:timeout() end

-- ---------------------------------------------------------------------
-- The Lua modules: wsarecv.luv, wsarecv.socket, wsarecv.async
--
-- This file is the annotation of `require "wsarecv"` only; for the other
-- three, name their class where they are loaded:
--   local adapter = require "wsarecv.luv" --[[@as wsarecv.luv]]
--   local ws = require "wsarecv.socket" --[[@as wsarecv.luasocket]]
--   local async = require "wsarecv.async" --[[@as wsarecv.async]]
-- ---------------------------------------------------------------------

---`require "wsarecv.luv"`: drive wsarecv from luv's loop.
---@class wsarecv.luv
local adapter = {}

---Watch `wsarecv.pollfd()` and `wsarecv.timeout()` from luv's default
---loop; routines then run from luv callbacks.  luv's loop is kept alive
---while wsarecv has work, not when it is idle.  Raises when already
---attached.
---@param uv? table the luv module (default `require "luv"`)
---@return wsarecv.luv adapter
function adapter.attach(uv) end

---Run the routines that are ready, then stop watching (wsarecv keeps its
---operations).  The handles are stopped, not closed: no `uv.run` is
---needed afterwards.
function adapter.detach() end

---`uv.run(mode)`; raises the error a routine raised.  Raises when not
---attached.
---@param mode? "default"|"once"|"nowait"
---@return boolean running what uv.run returns
function adapter.run(mode) end

---The error a routine raised, once, or nil (for code that calls uv.run
---itself).
---@return any err
function adapter.error() end

---`require "wsarecv.socket"`: wsarecv with LuaSocket (its class is not
---named wsarecv.socket: that is the socket type).
---@class wsarecv.luasocket
local ws = {}

---A wsarecv socket on a duplicate of a LuaSocket object's descriptor:
---each library closes its own.
---@param luasock table a LuaSocket object (it has `getfd`)
---@return wsarecv.socket|nil sock
---@return wsarecv.errname? err "WSAENOTSOCK": the object has no descriptor
---@return integer? code
function ws.wrap(luasock) end

---`socket.select` as an alertable wait: wsarecv's routines run while it
---waits; it returns when one of the caller's sockets is ready, or after
---`timeout` seconds (nil or negative: no limit) with `{}, {}, "timeout"`.
---@param recvt? table sockets to read from
---@param sendt? table sockets to write to
---@param timeout? number seconds
---@return table readable
---@return table writable
---@return string? err "timeout", socket.select's error, or "wsarecv.pollfd()
---N is past socket._SETSIZE: ..." (use wsarecv.luv, cqueues or poll/epoll)
function ws.select(recvt, sendt, timeout) end

---`require "wsarecv.async"`: coroutine tasks on overlapped receives, sends,
---accepts and connects.
---@class wsarecv.async
local async = {}

---Start a task: `fn(...)` runs in a new coroutine from the next wait that
---runs tasks (async.run, or wsarecv.run under an adapter).
---@param fn function|table callable
---@param ... any its arguments
---@return thread task
function async.spawn(fn, ...) end

---One WSARecv; the task waits for its completion.  Raises outside a task.
---@param sock wsarecv.socket
---@param buffers wsarecv.wsabufs
---@param flags? integer input flags (default 0)
---@return integer|nil bytes
---@return integer|wsarecv.errname flags_or_err output flags, or the error name
---@return integer? code
---@return integer? placed bytes placed by a failed receive
function async.recv(sock, buffers, flags) end

---One WSARecvMsg; the task waits for its completion.  Raises outside a
---task.
---@param sock wsarecv.socket
---@param msg wsarecv.msg
---@return integer|nil bytes
---@return integer|wsarecv.errname flags_or_err output flags, or the error name
---@return integer? code
---@return integer? placed bytes placed by a failed receive
function async.recvmsg(sock, msg) end

---One WSASend; the task waits until the kernel took every byte (a stream)
---or the datagram went.  Raises outside a task.
---@param sock wsarecv.socket
---@param buffers string|wsarecv.wsabufs
---@param flags? integer MSG_OOB, MSG_DONTROUTE (default 0)
---@return integer|nil bytes all of them
---@return wsarecv.errname? err
---@return integer? code
---@return integer? sent bytes that left before a failed completion
function async.send(sock, buffers, flags) end

---One WSASendTo: a datagram to addr, port; the task waits until it went.
---@param sock wsarecv.socket
---@param buffers string|wsarecv.wsabufs
---@param addr string
---@param port? integer nil on a unix socket
---@param flags? integer default 0
---@return integer|nil bytes
---@return wsarecv.errname? err
---@return integer? code
function async.sendto(sock, buffers, addr, port, flags) end

---One WSASendMsg (msg.buffers to msg.to, with msg.control's records); the
---task waits until it went.
---@param sock wsarecv.socket
---@param msg wsarecv.msg
---@param flags? integer default 0
---@return integer|nil bytes
---@return wsarecv.errname? err
---@return integer? code
function async.sendmsg(sock, msg, flags) end

---Accept the next connection: AcceptEx on the listener into a fresh
---socket of its family and type.  Raises outside a task.
---@param listener wsarecv.socket
---@return wsarecv.socket|nil sock the connection
---@return string|wsarecv.errname addr_or_err the peer's address, or the error name
---@return integer|nil port_or_code the peer's port (nil: unix), or the code
function async.accept(listener) end

---Connect: ConnectEx, binding an unbound socket to any address first;
---buffers (if any) are sent once connected.  Raises outside a task.
---@param sock wsarecv.socket
---@param addr string
---@param port? integer nil on a unix socket
---@param buffers? string|wsarecv.wsabufs
---@return integer|nil ok 0
---@return integer|wsarecv.errname bytes_or_err bytes of buffers sent, or the error name
---@return integer? code
function async.connect(sock, addr, port, buffers) end

---Suspend the task for ms milliseconds (0: let the other due tasks run
---first; any length, math.huge: for ever).  async.cancel and
---async.timeout end it early: nil, "WSA_OPERATION_ABORTED", 995.  Raises
---outside a task.
---@param ms number 0 or more
---@return integer|nil done 0 when the time has passed
---@return wsarecv.errname? err WSA_OPERATION_ABORTED
---@return integer? code 995
function async.sleep(ms) end

---End a task's pending operation (receive, send, accept, connect) or
---sleep: the task's call returns nil, "WSA_OPERATION_ABORTED", 995 and the
---task goes on.
---@param task thread as async.spawn returned it
---@return boolean ended whether there was something to end
function async.cancel(task) end

---Run fn(...) in the calling task; after ms, the operation it waits on is
---ended and, once fn returns, this returns nil, "WAIT_TIMEOUT", 258;
---otherwise what fn returned.  Raises outside a task.
---@param ms number 0 or more
---@param fn function|table callable
---@param ... any its arguments
---@return any first fn's first result, or nil
---@return any second fn's second result, or "WAIT_TIMEOUT"
---@return any ... fn's other results, or 258
function async.timeout(ms, fn, ...) end

---Run wsarecv as the main loop until every task has ended; a task's error
---comes out of here with its traceback.
function async.run() end

---How many tasks have not ended (one closed with coroutine.close has).
---@return integer
function async.count() end

-- ---------------------------------------------------------------------
-- Control messages (msg:control())
-- ---------------------------------------------------------------------

---Any control message; undecoded ones have integer level and type and
---their payload in `data`.
---@class wsarecv.cmsg
---@field level string|integer "IPPROTO_IP", "IPPROTO_IPV6", "SOL_SOCKET", "IPPROTO_UDP"
---@field type string|integer
---@field data string? the payload of an undecoded message

---@class wsarecv.cmsg.pktinfo: wsarecv.cmsg
---@field type "IP_PKTINFO"|"IPV6_PKTINFO"
---@field addr string the datagram's destination
---@field spec_dst string? the local address (IP_PKTINFO)
---@field ifindex integer
---@field ifname string?

---@class wsarecv.cmsg.tos: wsarecv.cmsg
---@field type "IP_TOS"
---@field tos integer
---@field ecn integer

---@class wsarecv.cmsg.tclass: wsarecv.cmsg
---@field type "IPV6_TCLASS"
---@field tclass integer
---@field ecn integer

---@class wsarecv.cmsg.ttl: wsarecv.cmsg
---@field type "IP_TTL"
---@field ttl integer

---@class wsarecv.cmsg.hoplimit: wsarecv.cmsg
---@field type "IPV6_HOPLIMIT"
---@field hoplimit integer

---@class wsarecv.cmsg.origdstaddr: wsarecv.cmsg
---@field type "IP_ORIGDSTADDR"|"IPV6_ORIGDSTADDR"
---@field addr string
---@field port integer

---@class wsarecv.cmsg.timestamp: wsarecv.cmsg
---@field type "SO_TIMESTAMP"|"SO_TIMESTAMPNS"
---@field sec integer
---@field nsec integer

---@class wsarecv.cmsg.rxq_ovfl: wsarecv.cmsg
---@field type "SO_RXQ_OVFL"
---@field drops integer

---@class wsarecv.cmsg.gro: wsarecv.cmsg
---@field type "UDP_GRO"
---@field segment_size integer

---@class wsarecv.cmsg.recverr: wsarecv.cmsg
---@field type "IP_RECVERR"|"IPV6_RECVERR"
---@field error wsarecv.errname
---@field code integer
---@field origin "none"|"local"|"icmp"|"icmp6"|"other"
---@field icmp_type integer
---@field icmp_code integer
---@field info integer
---@field offender string?

return wsarecv
