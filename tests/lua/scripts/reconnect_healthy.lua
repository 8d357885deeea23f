-- Automatic reconnection (extension): the attempt count goes on across a connection that did not stay up
-- healthy_after_ms, and starts again at 1 after one that did (healthy_after_ms = 0: every connection).
-- arg: host port healthy_after_ms. The peer refuses the first CONNACK (3), then accepts and drops the
-- connection at once, then accepts again.
local T = dofile((arg[0]:match("^(.*/)") or "") .. "common.lua")
local ports = {[T.port] = "peer"}
local m = mqtt.Client(T.id("healthy"), 30, nil, nil, 1, nil,
                      {reconnect = {initial_delay_ms = 1, max_delay_ms = 1, healthy_after_ms = tonumber(arg[3])}})
local connections = 0
m:on("connfail", function(c, reason) print("connfail", reason, c:state()) end)
m:on("reconnect", function(c, info) print(T.reconnect_line("", c, info, ports, function() return 1 end)) end)
m:on("connect", function(c)
  connections = connections + 1
  print("connected", connections)
  if connections == 2 then c:close() end
end)
m:on("offline", function(c) print("offline", c:state()) end)
m:connect(T.host, T.port)
