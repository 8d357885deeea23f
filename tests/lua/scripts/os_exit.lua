-- os.exit(n) exits at once with status n, even with a client connected and a timer armed.
-- arg: host port status
local status = tonumber(arg[3])
tmr.create():alarm(100000, tmr.ALARM_AUTO, function() end)
local m = mqtt.Client("os-exit", 30)
m:connect(arg[1], tonumber(arg[2]), false, function(c)
  print("connected, exiting with", status)
  os.exit(status)
end)
