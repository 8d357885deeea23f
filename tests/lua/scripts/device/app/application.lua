-- application.lua: an MQTT client named after the chip, an LED driven by messages, a button and the ADC
-- reported as JSON.
local settings = sjson.decode(file.getcontents("config.json"))
local id = "node-" .. node.chipid()
local base = settings.mqtt.topic .. "/" .. id
local LED, BUTTON = settings.pins.led, settings.pins.button

gpio.mode(LED, gpio.OUTPUT)
gpio.write(LED, gpio.LOW)
gpio.mode(BUTTON, gpio.INT, gpio.PULLUP)

local m = mqtt.Client(id, 60)
m:lwt(base .. "/status", "offline", 1, 1)

local function report(client, why)
  client:publish(base .. "/state", sjson.encode({why = why, led = gpio.read(LED), adc = adc.read(0)}), 1, 0)
end

m:on("message", function(client, topic, data)
  print("mqtt: " .. topic .. " " .. tostring(data))
  local command = sjson.decode(data)
  if command.led ~= nil then
    gpio.write(LED, command.led == "on" and gpio.HIGH or gpio.LOW)
    report(client, "command")
  end
  if command.quit then
    client:close()
  end
end)
m:on("offline", function() print("mqtt: offline") end)

m:connect(settings.mqtt.host, settings.mqtt.port, false, function(client)
  print("mqtt: connected as " .. id)
  client:publish(base .. "/status", "online", 1, 1)
  client:subscribe(base .. "/cmd", 1, function(c)
    print("mqtt: subscribed")
    gpio.trig(BUTTON, "down", function(level) report(c, "button") end)
  end)
end, function(client, reason)
  print("mqtt: connect failed " .. reason)
end)
