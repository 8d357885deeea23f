-- Automatic reconnection (extension) and CONNACK refusals: 3 (server unavailable) is retried, 1, 2, 4 and 5
-- end it at once (another identical CONNECT cannot change them).
-- arg: host port
local T = dofile((arg[0]:match("^(.*/)") or "") .. "common.lua")
local ports = {[T.port] = "peer"}
local m = mqtt.Client(T.id("refused"), 30, nil, nil, 1, nil,
                      {reconnect = {initial_delay_ms = 1, max_delay_ms = 1, max_attempts = 5}})
m:on("connfail", function(c, reason) print("connfail", reason, c:state()) end)
m:on("reconnect", function(c, info) print(T.reconnect_line("", c, info, ports, function() return 1 end)) end)
m:on("connect", function(c)
  print("connected", c:state())
  c:close()
end)
m:on("offline", function(c) print("offline", c:state()) end)
m:connect(T.host, T.port)
