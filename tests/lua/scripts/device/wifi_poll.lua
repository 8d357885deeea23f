-- The 2016 style: no event monitor, a tmr polls wifi.sta.getip() until the station has an address.
wifi.setmode(wifi.STATION)
wifi.sta.config("home", "password1")
local polls = 0
tmr.alarm(0, 10, tmr.ALARM_AUTO, function()
  polls = polls + 1
  if wifi.sta.getip() == nil then return end
  tmr.stop(0)
  print("status", wifi.sta.status(), "polled", polls > 1, "ip", wifi.sta.getip())
end)
