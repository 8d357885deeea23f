-- One connection attempt; prints the failure reason (or "connected"). Only the failure callback may run.
-- arg: host port [timeout_ms [username [password]]]
local timeout = tonumber(arg[3])
local options = timeout and {connect_timeout = timeout, connack_timeout = timeout} or nil
local m = mqtt.Client("nmqtt-connfail", 30, arg[4], arg[5], 1, nil, options)
m:on("offline", function() print("offline") end)
m:on("connect", function() print("NOT EXPECTED: on connect") end)
m:connect(arg[1], tonumber(arg[2]), false, function(c)
  print("connected")
  c:close()
end, function(c, reason)
  print("connfail", reason, c:state())
end)
