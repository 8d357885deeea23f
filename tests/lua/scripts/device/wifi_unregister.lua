-- wifi.eventmon.unregister: an unregistered event is not reported; register(event) without a function
-- unregisters too (the firmware's wifi_event_monitor_register with a nil callback); others still fire.
local got = {}
wifi.eventmon.register(wifi.eventmon.STA_CONNECTED, function() got[#got + 1] = "connected" end)
wifi.eventmon.register(wifi.eventmon.STA_GOT_IP, function() got[#got + 1] = "got_ip" end)
wifi.eventmon.unregister(wifi.eventmon.STA_CONNECTED)
tmr.create():alarm(500, tmr.ALARM_SINGLE, function()
  print("events", table.concat(got, ","))
  wifi.eventmon.register(wifi.eventmon.STA_GOT_IP)  -- no function: unregisters
  got = {}
  wifi.sta.disconnect()
  wifi.sta.connect()
  tmr.create():alarm(500, tmr.ALARM_SINGLE, function() print("after", #got) end)
end)
