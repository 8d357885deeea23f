-- hello.lua: the smallest round trip with NodeMCU's mqtt API. Connects, subscribes, publishes to its own
-- topic, prints the message when it comes back, closes cleanly once the broker also acknowledged the
-- publish; `nmqtt run` then exits with status 0 (nothing left to wait for).
--
--   nmqtt run examples/lua/hello.lua [host [port]]      (default 127.0.0.1 1883)
local host = arg[1] or "127.0.0.1"
local port = tonumber(arg[2] or "1883")
math.randomseed(os.time())
local topic = "nmqtt/hello/" .. tostring(math.random(1e9))

local m = mqtt.Client("nmqtt-hello-" .. tostring(math.random(1e9)), 30)
local received, acknowledged = false, false

local function close_when_done(client)
  if received and acknowledged then client:close() end
end

m:on("message", function(client, t, data)
  print("received on " .. t .. ": " .. tostring(data))
  received = true
  close_when_done(client)
end)

m:on("offline", function() print("closed") end)

m:connect(host, port, false, function(client)
  print("connected to " .. host .. ":" .. port)
  client:subscribe(topic, 1, function()
    print("subscribed to " .. topic)
    client:publish(topic, "hello from nmqtt", 1, 0, function(c)
      print("published")
      acknowledged = true
      close_when_done(c)
    end)
  end)
end, function(client, reason)
  print("connection failed: " .. reason)
  os.exit(2)
end)
