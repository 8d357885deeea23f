-- An error in a callback: message and traceback on stderr, status 1; no callback runs after it.
-- arg: host port
local m = mqtt.Client("error-callback", 30)
tmr.create():alarm(2000, tmr.ALARM_AUTO, function() print("NOT EXPECTED: timer after the error") end)
local function fail_in_callback(c)
  error("boom in the connect callback")
end
m:on("offline", function() print("NOT EXPECTED: offline after the error") end)
m:connect(arg[1], tonumber(arg[2]), false, function(c)
  print("connected")
  fail_in_callback(c)
end)
