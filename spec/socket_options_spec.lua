-- Socket options (the setsockopt and getsockopt pages, ioctlsocket's
-- FIONBIO): types, Windows units (SO_RCVTIMEO in milliseconds), memberships,
-- values outside the C type.
local wsarecv = require "wsarecv"
local H = require "spec.support.helpers"

local raised, assert_fail = H.raised, H.assert_fail

-- options Windows does not have (setting one fails, WSAENOPROTOOPT)
local LINUX_ONLY = { SO_REUSEPORT = true, SO_TIMESTAMP = true,
                     SO_RXQ_OVFL = true }

describe("wsarecv.socket", function()

  describe("options", function()
    -- option, family, type: every boolean option listed in API.md
    local bools = {
      { "SO_REUSEADDR", "inet", "stream" },
      { "SO_REUSEPORT", "inet", "stream" },
      { "SO_BROADCAST", "inet", "dgram" },
      { "FIONBIO", "inet", "stream" },
      { "IPV6_V6ONLY", "inet6", "stream" },
      { "IP_PKTINFO", "inet", "dgram" },
      { "IPV6_PKTINFO", "inet6", "dgram" },
      { "IP_RECVTOS", "inet", "dgram" },
      { "IP_RECVTTL", "inet", "dgram" },
      { "IPV6_RECVTCLASS", "inet6", "dgram" },
      { "IPV6_HOPLIMIT", "inet6", "dgram" },
      { "SO_TIMESTAMP", "inet", "dgram" },
      { "SO_RXQ_OVFL", "inet", "dgram" },
    }
    for _, o in ipairs(bools) do
      it(("%s is a boolean: set true/false, read back as a boolean%s")
           :format(o[1], LINUX_ONLY[o[1]] and " #linux" or ""), function()
        local s = wsarecv.socket(o[2], o[3])
        assert.are.equal(0, s:setsockopt(o[1], true))
        assert.is_true(s:getsockopt(o[1]))
        assert.are.equal(0, s:setsockopt(o[1], false))
        assert.is_false(s:getsockopt(o[1]))
        assert.are.equal(0, s:setsockopt(o[1], 1))   -- 0/1 work too
        assert.is_true(s:getsockopt(o[1]))
        assert.are.equal(0, s:setsockopt(o[1], 0))
        assert.is_false(s:getsockopt(o[1]))
        s:close()
      end)
    end

    for _, name in ipairs { "SO_RCVBUF", "SO_SNDBUF" } do
      it(name .. " is an integer (the kernel may round it up)", function()
        local s = wsarecv.socket("inet", "stream")
        assert.are.equal(0, s:setsockopt(name, 65536))
        local v = s:getsockopt(name)
        assert.are.equal("integer", math.type(v))
        assert.is_true(v >= 65536, tostring(v))
        assert.is_true(v <= 4 * 65536, tostring(v))
        s:close()
      end)
    end

    it("SO_RCVTIMEO is in milliseconds, as on Windows", function()
      local s = wsarecv.socket("inet", "stream")
      assert.are.equal(0, s:getsockopt("SO_RCVTIMEO"))
      assert.are.equal(0, s:setsockopt("SO_RCVTIMEO", 1500))
      local v = s:getsockopt("SO_RCVTIMEO")
      assert.are.equal("integer", math.type(v))
      assert.are.equal(1500, v)
      assert.are.equal(0, s:setsockopt("SO_RCVTIMEO", 7))
      assert.are.equal(7, s:getsockopt("SO_RCVTIMEO"))
      assert.are.equal(0, s:setsockopt("SO_RCVTIMEO", 0))
      assert.are.equal(0, s:getsockopt("SO_RCVTIMEO"))
      s:close()
    end)

    it("FIONBIO defaults to false", function()
      local s = wsarecv.socket("inet", "stream")
      assert.is_false(s:getsockopt("FIONBIO"))
      s:close()
    end)

    it("SO_REUSEADDR has an effect: two non-listening sockets may share a port",
       function()
      -- the option has an effect, not only a stored value
      local s = wsarecv.socket("inet", "stream")
      assert.are.equal(0, s:setsockopt("SO_REUSEADDR", true))
      assert.are.equal(0, s:bind("127.0.0.1", 0))
      local _, port = s:getsockname()
      local t = wsarecv.socket("inet", "stream")
      assert.are.equal(0, t:setsockopt("SO_REUSEADDR", true))
      -- two non-listening sockets with SO_REUSEADDR may share a port
      assert.are.equal(0, t:bind("127.0.0.1", port))
      s:close(); t:close()
    end)

    it("IP_ADD_MEMBERSHIP takes {group, interface} and is set-only", function()
      local s = wsarecv.socket("inet", "dgram")
      assert.are.equal(0, s:bind("0.0.0.0", 0))
      assert.are.equal(0, s:setsockopt("IP_ADD_MEMBERSHIP",
                                       { "239.255.42.1", "127.0.0.1" }))
      assert.are.equal(0, s:setsockopt("IP_ADD_MEMBERSHIP",
                                       { group = "239.255.42.2",
                                         interface = "127.0.0.1" }))
      assert_fail("WSAEINVAL", 10022,
                  s:setsockopt("IP_ADD_MEMBERSHIP", { "not.a.group", "" }))
      local err = raised(function() return s:getsockopt("IP_ADD_MEMBERSHIP") end)
      assert.is_truthy(err)
      assert.is_truthy(raised(function()
        return s:setsockopt("IP_ADD_MEMBERSHIP", "239.255.42.3") end))
      s:close()
    end)

    it("#linux IPV6_ADD_MEMBERSHIP takes {group, interface}", function()
      local s = wsarecv.socket("inet6", "dgram")
      assert.are.equal(0, s:bind("::", 0))
      assert.are.equal(0, s:setsockopt("IPV6_ADD_MEMBERSHIP", { "ff02::4242", "1" }))
      assert.are.equal(0, s:setsockopt("IPV6_ADD_MEMBERSHIP", { "ff02::4243", "lo" }))
      assert_fail("WSAEINVAL", 10022,
                  s:setsockopt("IPV6_ADD_MEMBERSHIP", { "zz::", "1" }))
      assert.is_truthy(raised(function()
        return s:getsockopt("IPV6_ADD_MEMBERSHIP") end))
      s:close()
    end)

    -- Linux-only: "lo" and its index are Linux's loopback interface
    it("#linux a membership's interface is read as the multicast options "
      .. "read one: \"*\" or \"\", (IPv4) an address or 0.0.0.x, an "
      .. "index, a name; no such interface: WSAEADDRNOTAVAIL", function()
        local idx = tostring(H.lo_ifindex())
        local s = wsarecv.socket("inet", "dgram")
        local s6 = wsarecv.socket("inet6", "dgram")
        assert.are.equal(0, s:bind("0.0.0.0", 0))
        assert.are.equal(0, s6:bind("::", 0))
        for i, v in ipairs { "*", "", "127.0.0.1", "0.0.0." .. idx, idx,
          "lo" } do
          assert.are.equal(0, s:setsockopt("IP_ADD_MEMBERSHIP",
            { "239.255.43." .. i, v }), v)
          if not v:find("%.") then
            assert.are.equal(0, s6:setsockopt("IPV6_ADD_MEMBERSHIP",
              { "ff02::4300:" .. i, v }), v)
          end
        end
        for _, v in ipairs { "nosuchif0", " 1" } do
          assert_fail("WSAEADDRNOTAVAIL", 10049, s:setsockopt(
            "IP_ADD_MEMBERSHIP", { "239.255.43.99", v }))
          assert_fail("WSAEADDRNOTAVAIL", 10049, s6:setsockopt(
            "IPV6_ADD_MEMBERSHIP", { "ff02::4300:99", v }))
        end
        s:close(); s6:close()
      end)

    it("an unknown option name raises, for set and get", function()
      local s = wsarecv.socket("inet", "stream")
      local e1 = raised(function() return s:setsockopt("SO_NOSUCH", 1) end)
      local e2 = raised(function() return s:getsockopt("SO_NOSUCH") end)
      s:close()
      assert.is_truthy(e1)
      assert.is_truthy(e2)
      assert.is_truthy(e1:find("SO_NOSUCH", 1, true), e1)
      assert.is_truthy(e2:find("SO_NOSUCH", 1, true), e2)
      assert.is_truthy(e1:find("bad argument #1 to 'setsockopt'", 1, true), e1)
      assert.is_truthy(e2:find("bad argument #1 to 'getsockopt'", 1, true), e2)
    end)

    it("option names are case-sensitive constant names", function()
      local s = wsarecv.socket("inet", "stream")
      local e = raised(function() return s:getsockopt("so_rcvbuf") end)
      s:close()
      assert.is_truthy(e)
    end)

    it("an option name with an embedded zero raises, for set and get", function()
      local s = wsarecv.socket("inet", "stream")
      local e1 = raised(function() return s:setsockopt("SO_RCVBUF\0x", 1) end)
      local e2 = raised(function() return s:getsockopt("SO_RCVBUF\0x") end)
      s:close()
      assert.is_truthy(e1 and e1:find("bad argument #1 to 'setsockopt'", 1, true),
                       e1)
      assert.is_truthy(e2 and e2:find("bad argument #1 to 'getsockopt'", 1, true),
                       e2)
      assert.is_truthy(e1:find("embedded zero", 1, true), e1)
    end)

    it("a membership group or interface with an embedded zero raises", function()
      local s = wsarecv.socket("inet", "dgram")
      assert.are.equal(0, s:bind("0.0.0.0", 0))
      local values = {
        { "239.255.42.9\0junk", "127.0.0.1" },
        { "239.255.42.9", "127.0.0.1\0junk" },
        { group = "239.255.42.9\0junk", interface = "127.0.0.1" },
        { group = "239.255.42.9", interface = "lo\0junk" },
      }
      for i, v in ipairs(values) do
        local err = raised(function()
          return s:setsockopt("IP_ADD_MEMBERSHIP", v) end)
        assert.is_truthy(err, "case " .. i .. " did not raise")
        assert.is_truthy(err:find("bad argument #2 to 'setsockopt'", 1, true),
                         err)
        assert.is_truthy(err:find("embedded zero", 1, true), err)
      end
      s:close()
    end)

    it("#linux an integer value outside the option's C type raises, never truncated",
       function()
      local s = wsarecv.socket("inet", "dgram")
      local before = s:getsockopt("SO_RCVBUF")
      -- 2^40 was set as 0 (the kernel's minimum), 2^32 + 64 as 64
      local cases = {
        { "SO_RCVBUF", 1 << 40 }, { "SO_RCVBUF", (1 << 32) + 65536 },
        { "SO_RCVBUF", math.mininteger }, { "IP_TTL", (1 << 32) + 64 },
        { "SO_RCVTIMEO", 1 << 32 }, { "SO_RCVTIMEO", math.maxinteger },
      }
      for _, c in ipairs(cases) do
        local err = raised(function() return s:setsockopt(c[1], c[2]) end)
        assert.is_truthy(err, c[1] .. " = " .. c[2] .. " did not raise")
        assert.is_truthy(err:find("bad argument #2 to 'setsockopt'", 1, true),
                         err)
        assert.is_truthy(err:find("out of range", 1, true), err)
      end
      assert.are.equal(before, s:getsockopt("SO_RCVBUF"))
      assert.are.equal(0, s:getsockopt("SO_RCVTIMEO"))
      -- the edges of the ranges are taken
      assert.are.equal(0, s:setsockopt("SO_RCVTIMEO", 0xFFFFFFFF))
      assert.are.equal(0xFFFFFFFF, s:getsockopt("SO_RCVTIMEO"))
      assert.are.equal(0, s:setsockopt("SO_RCVBUF", 0x7fffffff))
      -- a boolean option reads any integer as true or false
      assert.are.equal(0, s:setsockopt("SO_BROADCAST", 1 << 40))
      assert.is_true(s:getsockopt("SO_BROADCAST"))
      s:close()
    end)
  end)
end)
