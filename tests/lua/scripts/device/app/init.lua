-- init.lua of a typical device (2020+ style): read the settings, join the Wi-Fi with event callbacks, then
-- start the application. Runs unmodified on a NodeMCU with wifi, file, sjson, gpio, adc, tmr and mqtt.
local settings = sjson.decode(file.getcontents("config.json"))

wifi.setmode(wifi.STATION)
wifi.sta.config({ssid = settings.wifi.ssid, pwd = settings.wifi.pwd, save = false,
  got_ip_cb = function(T)
    print("wifi: got ip " .. T.IP)
    dofile("application.lua")
  end,
  disconnected_cb = function(T)
    print("wifi: disconnected, reason " .. T.reason)
  end})

-- Give up if no address comes in time.
tmr.create():alarm(settings.wifi.timeout_ms, tmr.ALARM_SINGLE, function()
  if wifi.sta.getip() == nil then
    print("wifi: no address, sleeping")
    node.dsleep(0)
  end
end)
