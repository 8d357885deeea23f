-- lwt() with Will Properties, and close({reason_code = 4}): the broker publishes the will (with its
-- properties) although the client closed cleanly.
local T = dofile((arg[0]:match("^(.*/)") or "") .. "common.lua")
local m = mqtt.Client(T.id("v5-lwt"), 30, nil, nil, 1, nil, {protocol = 5})
m:lwt(arg[3], "gone", 1, 0, {content_type = "text/x", user_properties = {why = "asked"}, will_delay_interval = 0})
m:on("offline", function() print("offline") end)
m:connect(T.host, T.port, false, function(c)
  print("connected")
  print("close", c:close({reason_code = 4}))
end)
