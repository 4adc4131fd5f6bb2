-- examples/udpdump.lua as its users run it: a child lua5.4 process with
-- command-line options, fed datagrams over loopback from here, its output
-- read back.  Every child is bounded by `timeout`.
local H = require "spec.support.helpers"

local SCRIPT = "examples/udpdump.lua"
local LIMIT = 15                    -- seconds any one child may run

local function command(args)
  local words = {}
  for i, a in ipairs(args) do words[i] = H.shq(a) end
  -- --foreground: a signal sent to timeout reaches udpdump once (without
  -- it, timeout also signals its whole process group: a second SIGINT)
  return ("env LUA_PATH=%s LUA_CPATH=%s timeout --foreground -k 2 %d lua5.4 %s %s 2>&1")
    :format(H.shq(package.path), H.shq(package.cpath), LIMIT, SCRIPT,
      table.concat(words, " "))
end

-- run udpdump to the end: output, exit kind, code
local function run(args)
  local p = assert(io.popen(command(args)))
  local out = p:read("a")
  local _, how, rc = p:close()
  return out, how, rc
end

--[[ Start udpdump in the background and read up to its "listening" line.
  Returns a handle: d.pid (timeout's, which passes signals on), d.lines
  (what was read so far), d.read_until(pred) reads lines until pred(line)
  holds, d.finish() -> whole output, exit kind, code. ]]
local function start(args)
  local p = assert(io.popen("echo $$; exec " .. command(args)))
  local d = { pid = p:read("l"), lines = {} }
  function d.read_until(pred)
    for l in p:lines() do
      d.lines[#d.lines + 1] = l
      if pred(l) then return l end
    end
    return nil
  end
  function d.finish()
    local rest = p:read("a")
    local _, how, rc = p:close()
    return table.concat(d.lines, "\n") .. "\n" .. rest, how, rc
  end
  local l = d.read_until(function(s) return s:find("listening", 1, true) end)
  if not l then error("udpdump did not start:\n" .. d.finish()) end
  d.listening = l
  return d
end

-- the datagram lines of an output (the summary and others have no " len ")
local function datagrams(out)
  local t = {}
  for l in out:gmatch("[^\n]+") do
    if l:find(" len ", 1, true) then t[#t + 1] = l end
  end
  return t
end

local function is_datagram(l) return l:find(" len ", 1, true) ~= nil end

describe("#linux udpdump", function()
  local T = H.tracker()
  local port, tx
  after_each(function() T.cleanup() end)
  before_each(function()
    port = H.closed_udp_port("inet", "127.0.0.1")
    tx = T.socket("inet", "dgram")
  end)
  local function send(s) assert.equal(#s, tx:sendto(s, "127.0.0.1", port)) end
  local function on(...)
    return { "-4", "-b", "127.0.0.1", "-p", tostring(port), ... }
  end

  it("-p listens on the port given and shows each datagram sent there", function()
    local d = start(on("-c", "3"))
    assert.truthy(d.listening:find("listening on 127.0.0.1 port " .. port .. " (IPv4)", 1, true),
      d.listening)
    send("one"); send("second"); send("the third")
    local out, how, rc = d.finish()
    H.assert_exit(out, how, rc, 0)
    local lines = datagrams(out)
    assert.equal(3, #lines, out)
    for i, n in ipairs { 3, 6, 9 } do
      assert.truthy(lines[i]:find("127%.0%.0%.1:%d+ %-> 127%.0%.0%.1:" .. port), lines[i])
      assert.truthy(lines[i]:find(" len " .. n .. " ttl 64 ", 1, true), lines[i])
      assert.truthy(lines[i]:find(" flags 0$"), lines[i])
    end
    assert.truthy(out:find("udpdump: 3 datagrams, 0 dropped by the kernel\n", 1, true), out)
  end)

  it("-c N stops after N datagrams, however many arrive at once", function()
    local d = start(on("-c", "2"))
    for i = 1, 6 do send("datagram " .. i) end
    local out, how, rc = d.finish()
    H.assert_exit(out, how, rc, 0)
    assert.equal(2, #datagrams(out), out)
    assert.truthy(out:find("udpdump: 2 datagrams,", 1, true), out)
  end)

  it("-t stops after that many seconds without traffic", function()
    local t0 = H.now()
    local d = start(on("-t", "0.3"))
    send("only one")
    local out, how, rc = d.finish()
    H.assert_exit(out, how, rc, 0)
    assert.equal(1, #datagrams(out), out)
    assert.truthy(out:find("udpdump: 1 datagram,", 1, true), out)
    assert.is_true(H.now() - t0 < 5, "took " .. (H.now() - t0) .. " s")
  end)

  it("-n sets how many operations are posted; one is reposted for each datagram", function()
    local d = start(on("-n", "1", "-c", "4"))
    assert.truthy(d.listening:find(", 1 operation posted", 1, true), d.listening)
    for i = 1, 4 do send(string.rep("n", i)) end
    local out, how, rc = d.finish()
    H.assert_exit(out, how, rc, 0)
    local lines = datagrams(out)
    assert.equal(4, #lines, out)
    for i = 1, 4 do assert.truthy(lines[i]:find(" len " .. i .. " ", 1, true), lines[i]) end
    local d8 = run(on("-n", "8", "-t", "0.1"))
    assert.truthy(d8:find(", 8 operations posted", 1, true), d8)
  end)

  it("-s sets the buffer size: a longer datagram shows its full length and what was placed", function()
    local d = start(on("-s", "16", "-c", "2"))
    send(string.rep("x", 100))
    send(string.rep("y", 16))
    local out, how, rc = d.finish()
    H.assert_exit(out, how, rc, 0)
    local lines = datagrams(out)
    assert.equal(2, #lines, out)
    assert.truthy(lines[1]:find(" len 100 (16 placed) ", 1, true), lines[1])
    assert.truthy(lines[1]:find("flags MSG_TRUNC WSAEMSGSIZE", 1, true), lines[1])
    assert.truthy(lines[2]:find(" len 16 ttl", 1, true), lines[2])
    assert.truthy(lines[2]:find(" flags 0$"), lines[2])
  end)

  it("-x adds a hex dump of each datagram", function()
    local d = start(on("-x", "-c", "1"))
    send("hello, udpdump!\0\1")
    local out, how, rc = d.finish()
    H.assert_exit(out, how, rc, 0)
    assert.truthy(out:find("00000000  68 65 6c 6c 6f 2c 20 75 64 70 64 75 6d 70 21 00  "
      .. "|hello, udpdump!.|\n00000010  01 ", 1, true), out)
  end)

  it("-h prints the usage and every option, and exits 0", function()
    for _, h in ipairs { "-h", "--help" } do
      local out, how, rc = run { h }
      H.assert_exit(out, how, rc, 0)
      assert.truthy(out:find("^Usage: udpdump"), out)
      for _, o in ipairs { "-p <port>", "-b <addr>", "-4", "-6", "-d", "-c <count>",
          "-t <seconds>", "-n <ops>", "-s <size>", "-x", "--selftest" } do
        assert.truthy(out:find("\n   " .. o, 1, true), o .. " missing:\n" .. out)
      end
    end
  end)

  it("a bad command line gives one line, no traceback, and exit 2", function()
    local cases = {
      { "-p", "abc" }, { "-p", "70000" }, { "-p", "1.5" }, { "-p" },
      { "-c", "0" }, { "-c", "many" }, { "-t", "0" }, { "-t", "soon" },
      { "-n", "0" }, { "-n", "100000" }, { "-s", "0" }, { "-s", "1e9" },
      { "-q" }, { "-4", "-6" }, { "stray" },
    }
    for _, args in ipairs(cases) do
      local out, how, rc = run(args)
      local what = table.concat(args, " ") .. " -> " .. out
      H.assert_exit(out, how, rc, 2)
      assert.truthy(out:find("^udpdump: [^\n]+\n$"), what)
      assert.is_nil(out:find("traceback", 1, true), what)
    end
    local out = run { "-p", "abc" }
    assert.equal("udpdump: -p: bad value 'abc' (an integer from 0 to 65535)\n", out)
  end)

  it("SIGINT (Ctrl-C) ends it with the summary line and exit 0", function()
    local d = start(on())
    send("before"); send("Ctrl-C")
    local seen = 0
    d.read_until(function(l)
      if is_datagram(l) then seen = seen + 1 end
      return seen == 2
    end)
    assert.equal(2, seen, table.concat(d.lines, "\n"))
    assert.is_true(H.run("kill -INT " .. d.pid))
    local out, how, rc = d.finish()
    H.assert_exit(out, how, rc, 0)
    assert.truthy(out:find("udpdump: 2 datagrams, 0 dropped by the kernel (interrupted)\n", 1, true), out)
    assert.is_nil(out:find("traceback", 1, true), out)
  end)

  it("--selftest (make demo) still runs to the end", function()
    local out, how, rc = run { "--selftest" }
    H.assert_exit(out, how, rc, 0)
    -- the 1412-byte datagram into 512-byte buffers
    assert.truthy(out:find(" len 1412 (512 placed) ttl 64 tos 0x00 ecn 0 flags MSG_TRUNC WSAEMSGSIZE",
      1, true), out)
    assert.truthy(out:find("udpdump: %d+ datagrams, %d+ dropped by the kernel\n"), out)
  end)
end)
