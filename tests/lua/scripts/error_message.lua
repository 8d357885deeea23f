-- An error in a message callback under `nmqtt run` (no pcall around the loop): as the firmware's panic, the
-- run ends with the message and traceback on stderr and status 1; no callback runs after it.
-- arg: host port
local m = mqtt.Client("error-message", 30)
m:on("message", function(c, topic, data)
  print("message", data)
  if data == "2" then error("boom in the message callback") end
end)
m:on("offline", function() print("NOT EXPECTED: offline after the error") end)
m:connect(arg[1], tonumber(arg[2]), false, function(c)
  c:subscribe("error/message", 1, function()
    for i = 1, 5 do c:publish("error/message", tostring(i), 1, 0) end
  end)
end)
