-- Hardening of the sending half (WSASend, AcceptEx, ConnectEx) as a
-- hostile caller would use it: each test is a bug that was found and
-- fixed, and stays fixed.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local wait_for = H.wait_for

local T = H.tracker()
after_each(function()
  T.cleanup(function() H.drain(50, true) end)
end)

-- Linux only: a unix stream listener whose backlog is full makes a
-- nonblocking connect fail with EAGAIN (nothing under way; TCP never
-- says that), and Windows has no ConnectEx on unix sockets.
describe("#linux ConnectEx to a unix listener with a full backlog", function()
  it("completes with WSAECONNREFUSED, not pending forever", function()
    local p = T.path(H.unix_path(".wsarecv-hard"))
    local l = T.socket("unix", "stream")
    assert.equal(0, l:bind(p))
    assert.equal(0, l:listen(0))
    -- backlog 0: one connection waits, the next is turned away
    assert.equal(0, T.socket("unix", "stream"):connect(p))
    local c = T.socket("unix", "stream")
    local got
    local r, name = c:ConnectEx(p, nil, "hi", wsarecv.overlapped(),
      function(err, bytes) got = { err, bytes } end)
    if r == nil then assert.equal("WSA_IO_PENDING", name) end
    assert.is_true(wait_for(function() return got ~= nil end, 100),
      "ConnectEx never completed")
    assert.same({ "WSAECONNREFUSED", 0 }, got)
    -- nothing is under way: the socket can try again
    assert.is_false(c:getpeername() ~= nil)
  end)
end)

-- Linux only: the bug was the Linux watch's (a POLLERR on the accept
-- socket never reached the AcceptEx that holds it); the peer that resets
-- is a perl process, which the Windows run does not have.
describe("#linux AcceptEx with a buffer, the client resets before sending",
  function()
  it("completes with WSAECONNRESET (it hung, the loop spinning)", function()
    if not H.have_perl() then pending("perl is not installed") return end
    local l = T.socket("inet", "stream")
    assert.equal(0, l:bind("127.0.0.1", 0))
    assert.equal(0, l:listen())
    local _, port = l:getsockname()
    local as = T.socket("inet", "stream")
    local got
    assert.same({ nil, "WSA_IO_PENDING", 997, n = 3 },
      H.pack(l:AcceptEx(as, wsarecv.buffer(16), wsarecv.overlapped(),
        function(err, bytes) got = { err, bytes } end)))
    -- connect, wait until the accept holds the connection, then RST
    -- (SO_LINGER 0) without a byte sent
    local peer = io.popen(require "spec.support.processes".NO_PRELOAD ..
      "perl -MSocket -e 'socket(my $s, PF_INET, SOCK_STREAM, 0) or die;" ..
      " connect($s, sockaddr_in(" .. port .. ", inet_aton(\"127.0.0.1\")))" ..
      " or die; select(undef, undef, undef, 0.3);" ..
      " setsockopt($s, SOL_SOCKET, SO_LINGER, pack(\"ii\", 1, 0));" ..
      " close($s);'")
    local done = wait_for(function() return got ~= nil end, 300)
    peer:close()
    assert.is_true(done, "AcceptEx never completed")
    assert.same({ "WSAECONNRESET", 0 }, got)
  end)
end)
