-- What the specs that run wsarecv.async tasks share.  Call it once at a
-- file's top level with busted's before_each and after_each (the spec
-- file's environment has them, a module's does not): it makes the file's
-- tracker and returns it.  Every task a test starts (its own and the
-- examples') is remembered, so that a failed test leaves none behind: one
-- waiting on a socket the tracker does not know would hang every later
-- async.run.
local async = require "wsarecv.async"
local H = require "spec.support.helpers"

return function(before_each, after_each)
  local T = H.tracker()
  local started = {}
  local spawn = async.spawn
  before_each(function()
    async.spawn = function(...)
      local co = spawn(...)
      started[#started + 1] = co
      return co
    end
  end)
  after_each(function()
    async.spawn = spawn
    for i = #started, 1, -1 do
      if coroutine.status(started[i]) == "suspended" then
        coroutine.close(started[i])            -- its operation is cancelled
      end
      started[i] = nil
    end
    T.cleanup(function() H.drain(50, true) end)
    pcall(async.run)
  end)
  return T
end
