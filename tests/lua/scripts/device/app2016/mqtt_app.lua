-- The MQTT part in 2016 shapes: lwt(topic, msg, qos, retain), on("connect"), connect(host, port, secure,
-- autoreconnect, cb), subscribe with a callback, publish(topic, data, qos, retain[, cb]).
LED = 4
gpio.mode(LED, gpio.OUTPUT)
gpio.write(LED, gpio.LOW)

m = mqtt.Client("esp8266-" .. node.chipid(), 120)
m:lwt("/esp/lwt", "offline", 0, 0)

m:on("connect", function(con)
  print("connected")
  m:subscribe("/esp/led", 0, function(conn)
    print("subscribed")
    m:publish("/esp/status", "online", 0, 0)
  end)
end)
m:on("offline", function(con) print("offline") end)

m:on("message", function(conn, topic, data)
  print(topic .. ":" .. data)
  if data == "ON" then
    gpio.write(LED, gpio.HIGH)
  elseif data == "OFF" then
    gpio.write(LED, gpio.LOW)
  elseif data == "READ" then
    m:publish("/esp/adc", tostring(adc.read(0)) .. " led=" .. gpio.read(LED), 0, 0, function(conn)
      print("sent")
    end)
  elseif data == "QUIT" then
    m:close()
  end
end)

-- Before 2019 the fourth argument was autoreconnect and the function the connect callback; the firmware
-- now reads (host, port, secure, conn_cb, fail_cb): 0 is no connect callback, the function is the failure
-- callback, so on("connect") above is what runs.
m:connect(BROKER, PORT, 0, 0, function(client, reason) print("failed", reason) end)
