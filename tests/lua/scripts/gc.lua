-- Object lifetimes: a connected or connecting client stays alive without any reference (NodeMCU scripts
-- keep it in a local); an armed timer too; a closed or never connected client without references is
-- garbage-collected.
local T = dofile((arg[0]:match("^(.*/)") or "") .. "common.lua")
local weak = setmetatable({}, {__mode = "v"})

weak.idle = mqtt.Client(T.id("gc-idle"), 30)
collectgarbage()
collectgarbage()
print("never connected client collected", weak.idle == nil)

local function check_closed_collected()
  -- from a timer, so that no stack frame holds the client any more
  tmr.create():alarm(10, tmr.ALARM_SINGLE, function()
    collectgarbage()
    collectgarbage()
    print("closed client collected", weak.live == nil)
  end)
end

do
  local m = mqtt.Client(T.id("gc-live"), 30)
  weak.live = m
  m:on("message", function(c, topic, data)
    print("message", data)
    c:close()
  end)
  m:on("offline", function()
    print("offline")
    check_closed_collected()
  end)
  m:connect(T.host, T.port, false, function(c)
    collectgarbage()
    c:subscribe(T.topic("gc"), 1, function(client)
      -- let a timer (also unreferenced) publish, after a full collection
      tmr.create():alarm(20, tmr.ALARM_SINGLE, function()
        collectgarbage()
        client:publish(T.topic("gc"), "still alive", 1, 0)
      end)
      collectgarbage()
    end)
  end)
end
collectgarbage()
collectgarbage()
print("connecting client kept", weak.live ~= nil)
