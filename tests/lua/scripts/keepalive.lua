-- A connection that goes silent (nothing lost, nothing closed: the proxy stops forwarding) is detected by
-- keepalive: no PINGRESP in time closes it and runs "offline" (NodeMCU users' most reported failure).
-- arg: host proxy_port
local m = mqtt.Client("nmqtt-keepalive", 1)
m:on("offline", function(c) print("offline", c:state()) end)
m:on("connfail", function(_, reason) print("NOT EXPECTED: connfail", reason) end)
m:connect(arg[1], tonumber(arg[2]), false, function(c)
  print("ready")
  -- keep sending meanwhile: keepalive must go on while packets are queued
  tmr.create():alarm(200, tmr.ALARM_AUTO, function(t)
    if c:state() ~= "connected" then t:unregister() return end
    c:publish("nmqtt-test/keepalive", "tick", 1, 0)
  end)
end)
