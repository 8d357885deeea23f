-- Automatic reconnection over WebSockets: the client connects by transport = "ws", the test restarts aedes
-- after "ready", the client comes back by itself and works. A second client starts on a dead TCP address
-- and reaches aedes through a ws broker of `brokers` ({transport = "ws", path = "/mqtt"}).
-- arg: host ws_port dead_tcp_port
local T = dofile((arg[0]:match("^(.*/)") or "") .. "common.lua")
local dead = tonumber(arg[3])
local topic = T.topic("ws-again")
local m = mqtt.Client(T.id("ws-reconnect"), 30, nil, nil, 1, nil,
                      {transport = "ws", reconnect = {initial_delay_ms = 50, max_delay_ms = 400}})
local connections = 0
m:on("offline", function() print("offline") end)
m:on("connect", function(c)
  connections = connections + 1
  print("connected", connections)
  if connections == 1 then print("ready") return end
  c:subscribe(topic, 1, function(k) k:publish(topic, "back over ws", 1, 0) end)
end)
m:on("message", function(c, _, data)
  print("message", data)
  print("close", c:close())
  local listed = mqtt.Client(T.id("ws-listed"), 30, nil, nil, 1, nil,
    {reconnect = {initial_delay_ms = 20, max_delay_ms = 50,
                  brokers = {{host = T.host, port = T.port, transport = "ws", path = "/mqtt"}}}})
  listed:on("connect", function(l)
    print("listed connected")
    print("listed close", l:close())
  end)
  listed:connect(T.host, dead)
end)
m:connect(T.host, T.port)
