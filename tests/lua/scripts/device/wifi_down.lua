-- --wifi-down: the station looks for its access point and never gets an IP; a script's timeout path runs.
wifi.setmode(wifi.STATION)
wifi.sta.config({ssid = "home", pwd = "password1",
  got_ip_cb = function() print("got ip: must not happen") end,
  disconnected_cb = function(T) print("disconnected", T.SSID, T.BSSID, T.reason, wifi.sta.status(), wifi.sta.getip()) end})
local tries = 0
tmr.create():alarm(20, tmr.ALARM_AUTO, function(t)
  tries = tries + 1
  if wifi.sta.getip() == nil and tries < 5 then return end
  t:unregister()
  print("gave up after", tries, wifi.sta.status(), wifi.sta.getip(), wifi.sta.getrssi())
end)
