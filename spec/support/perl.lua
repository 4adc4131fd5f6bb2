-- A TCP peer in a perl process, for what one thread of this API cannot do
-- (send urgent data, send while blocked in a receive).  M.have_perl() says
-- whether perl can run one; M.perl_listener() gives a listener on
-- 127.0.0.1; M.perl_peer(l, actions) starts the peer, which connects to
-- l and runs actions ({"sleep", s}, {"send", word}, {"oob", word}) then
-- closes, and returns the accepted socket and the perl process.  The peer
-- does not inherit the sanitizer preload.  Part of spec/support/helpers.lua's
-- union (the specs take it from there).
local wsarecv = require "wsarecv"
local assert = require "luassert"          -- (busted's, see results.lua)
local NO_PRELOAD = require "spec.support.processes".NO_PRELOAD
local now = require "spec.support.wait".now

local M = {}

local PERL = NO_PRELOAD .. "perl"
local have_perl

function M.have_perl()
  if have_perl == nil then
    have_perl = os.execute(PERL .. " -MSocket -e 1 >/dev/null 2>&1") == true
  end
  return have_perl
end

function M.perl_listener()
  local l = assert(wsarecv.socket("inet", "stream"))
  assert.are.equal(0, l:bind("127.0.0.1", 0))
  assert.are.equal(0, l:listen())
  return l
end

function M.perl_peer(l, actions)
  local _, port = l:getsockname()
  local body = {}
  for _, a in ipairs(actions) do
    if a[1] == "sleep" then
      body[#body + 1] = ("select(undef, undef, undef, %.3f);"):format(a[2])
    elseif a[1] == "send" then
      assert(a[2]:match("^[%w!]+$"))
      body[#body + 1] = ('send($s, "%s", 0) or die;'):format(a[2])
    elseif a[1] == "oob" then
      assert(a[2]:match("^[%w!]+$"))
      body[#body + 1] = ('send($s, "%s", MSG_OOB) or die;'):format(a[2])
    end
  end
  local script = table.concat({
    "alarm 5;",
    "socket(my $s, PF_INET, SOCK_STREAM, 0) or die;",
    ('connect($s, pack_sockaddr_in(%d, inet_aton("127.0.0.1"))) or die;')
      :format(port),
    table.concat(body, " "),
    "close($s);",
  }, " ")
  local p = assert(io.popen(PERL .. " -MSocket -e '" .. script .. "' 2>&1", "r"))
  -- accept without blocking forever
  assert.are.equal(0, l:setsockopt("FIONBIO", true))
  local a
  local deadline = now() + 3
  repeat
    a = l:accept()
    if not a then wsarecv.SleepEx(10, false) end
  until a or now() > deadline
  assert.is_truthy(a, "the perl peer did not connect")
  return a, p
end

return M
