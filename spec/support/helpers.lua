-- Helpers shared by the spec files:  local H = require "spec.support.helpers"
-- (busted runs from the checkout, so "./?.lua" in the search path finds it).
--
-- An index: H is the union of the modules below, each a concern of its
-- own with its own header; a name is defined in exactly one of them.
--   results     packed results, the pending and failure shapes, raised
--               errors, a recording routine, control tables, CMSG sizes
--   wait        the wall clock, bounded waits, draining queued routines
--   sockets     sockets, the tracker, UDP pairs and datagram channels,
--               stream pairs, bound sockets, closed ports, unix paths
--   processes   shell commands and probes, child lua5.4 processes and
--               how they ended
--   platform    Windows or not, pid, lo's interface index
--   perl        a TCP peer in a perl process
-- A family's prelude (the tracker, the after_each, its udp() or pair) is
-- spec/support/<family>.lua: completion, port, recvmsg, dgram, stream.
-- netns_rx.lua is no helper: it is the receiver netns_spec.lua runs
-- inside a network namespace.
local H = {}

for _, name in ipairs { "results", "wait", "sockets", "processes",
                        "platform", "perl" } do
  for k, v in pairs(require("spec.support." .. name)) do
    assert(H[k] == nil, "two helpers named " .. k)
    H[k] = v
  end
end

return H
