-- A subscriber that prints every message as "topic: payload" (empty payloads as "(empty)").
--
--   nmqtt run examples/lua/subscriber.lua [host [port [filter [count]]]]
-- filter defaults to "#"; with a count it closes the connection after that many messages and exits.
local host = arg[1] or "127.0.0.1"
local port = tonumber(arg[2] or "1883")
local filter = arg[3] or "#"
local count = tonumber(arg[4])

local m = mqtt.Client("nmqtt-subscriber-" .. tostring(tmr.now() % 1000000), 60)
local received = 0

m:on("message", function(client, topic, data)
  print(topic .. ": " .. (data or "(empty)"))
  received = received + 1
  if count and received >= count then client:close() end
end)

m:on("offline", function() print("offline") end)

m:connect(host, port, false, function(client)
  client:subscribe(filter, 1, function() print("subscribed to " .. filter) end)
end, function(client, reason)
  print("connection failed: " .. reason)
end)
