-- A v5 CONNACK refusal reaches "connfail" as its Connect Reason Code; a 3.1.1 client keeps NodeMCU's code.
local T = dofile((arg[0]:match("^(.*/)") or "") .. "common.lua")
local v5 = mqtt.Client(T.id("v5-refused"), 30, nil, nil, 1, nil, {protocol = 5})
v5:connect(T.host, T.port, false, function() print("connected?") end, function(_, reason, props)
  print("v5 connfail", reason, type(props))
  local old = mqtt.Client(T.id("v311-refused"), 30)
  old:connect(T.host, T.port, false, nil, function(_, r, extra) print("3.1.1 connfail", r, extra) end)
end)
