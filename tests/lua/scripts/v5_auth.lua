-- MQTT 5.0 enhanced authentication from Lua: authentication_method / authentication_data in the options
-- table, the "auth" callback answering each challenge, then client:reauth() with its completion.
local T = dofile((arg[0]:match("^(.*/)") or "") .. "common.lua")
local m = mqtt.Client(T.id("v5-auth"), 30, nil, nil, 1, nil,
                      {protocol = 5, authentication_method = "M", authentication_data = "d1"})
local n = 1
m:on("auth", function(_, data, reauthenticating)
  n = n + 1
  print("auth", data, reauthenticating)
  return "c" .. n
end)
m:on("offline", function() print("offline") end)
m:connect(T.host, T.port, false, function(c)
  print("connected")
  print("reauth", c:reauth("r1", function(c2, err)
    print("reauthenticated", err)
    c2:close()
  end))
  print("again", c:reauth())
end)
