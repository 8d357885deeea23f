-- A DISCONNECT from an MQTT 5.0 server reaches "offline" with its reason code and properties.
local T = dofile((arg[0]:match("^(.*/)") or "") .. "common.lua")
local m = mqtt.Client(T.id("v5-offline"), 30, nil, nil, 1, nil, {protocol = 5})
m:on("offline", function(_, code, props)
  print("offline", code, props and props.reason_string, props and props.user_properties and props.user_properties.k)
end)
m:connect(T.host, T.port, false, function() print("connected") end)
