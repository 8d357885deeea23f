-- A 2016-style device script, as tutorials of the time wrote it: the positional wifi.sta.config(ssid, pwd),
-- a static timer polling wifi.sta.getip(), then dofile of the MQTT part. config.lua sets BROKER and PORT.
dofile("config.lua")
wifi.setmode(wifi.STATION)
wifi.sta.config("home", "secret-pass")
tmr.alarm(1, 500, 1, function()
  if wifi.sta.getip() == nil then
    return
  end
  tmr.stop(1)
  print("IP is " .. wifi.sta.getip())
  dofile("mqtt_app.lua")
end)
