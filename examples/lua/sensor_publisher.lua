-- A sensor-like publisher: every interval a timer publishes a reading (QoS 1) on
-- nmqtt/sensors/<name>/temperature; after `count` readings it closes and the script ends.
--
--   nmqtt run examples/lua/sensor_publisher.lua [host [port [count [interval_ms [name]]]]]
-- (defaults: 10 readings every 1000 ms, name "desk")
local host = arg[1] or "127.0.0.1"
local port = tonumber(arg[2] or "1883")
local count = tonumber(arg[3] or "10")
local interval = tonumber(arg[4] or "1000")
local name = arg[5] or "desk"
local topic = "nmqtt/sensors/" .. name .. "/temperature"

local m = mqtt.Client("nmqtt-sensor-" .. name, 60)
m:lwt("nmqtt/sensors/" .. name .. "/status", "offline", 1, 1)

-- A made-up reading: a slow sine wave around 21 degrees.
local function read_temperature(n)
  return string.format("%.1f", 21 + 2 * math.sin(n / 5))
end

local sent, acknowledged = 0, 0
local timer = tmr.create()

m:on("offline", function() print("offline") end)

m:connect(host, port, false, function(client)
  print("connected, publishing " .. count .. " readings on " .. topic)
  client:publish("nmqtt/sensors/" .. name .. "/status", "online", 1, 1)
  timer:alarm(interval, tmr.ALARM_AUTO, function(t)
    sent = sent + 1
    local reading = read_temperature(sent)
    -- (this callback becomes the "puback" callback: it also runs for later acknowledgements)
    client:publish(topic, reading, 1, 0, function()
      acknowledged = acknowledged + 1
      if acknowledged == count then client:close() end
    end)
    print("reading " .. sent .. ": " .. reading)
    if sent == count then t:unregister() end
  end)
end, function(client, reason)
  print("connection failed: " .. reason)
end)
