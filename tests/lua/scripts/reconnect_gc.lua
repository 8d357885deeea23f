-- A client waiting for its next automatic reconnection attempt (extension) is not garbage-collected, even
-- without any reference; once it gave up, it is.
-- arg: host closed_port
local T = dofile((arg[0]:match("^(.*/)") or "") .. "common.lua")
local weak = setmetatable({}, {__mode = "v"})
local collections, gave_up = 0, false

do
  local m = mqtt.Client(T.id("gc-reconnect"), 30, nil, nil, 1, nil,
                        {reconnect = {initial_delay_ms = 100, max_delay_ms = 100, max_attempts = 6}})
  weak.client = m
  m:on("reconnect", function(_, info)
    if info.giving_up then
      gave_up = true
      print("gave up", info.attempt)
    end
  end)
  m:connect(T.host, T.port)
end

-- Full collections every 5 ms while the client reconnects; the timer stops once it gave up.
tmr.create():alarm(5, tmr.ALARM_AUTO, function(t)
  collectgarbage()
  collectgarbage()
  if gave_up then
    t:unregister()
    print("kept while reconnecting", collections > 0)
    print("collected after giving up", weak.client == nil)
    return
  end
  T.check(weak.client ~= nil, "collected while reconnecting")
  collections = collections + 1
end)
