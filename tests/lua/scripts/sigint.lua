-- Ctrl-C: every client is closed cleanly (DISCONNECT, so the will is not published), "offline" runs, and
-- the runner exits with 130. A client still connecting is cancelled. An armed timer does not delay it.
-- arg: host port
local m = mqtt.Client("nmqtt-sigint", 30)
m:lwt("nmqtt-test/sigint/will", "NOT EXPECTED: will after Ctrl-C", 1, 0)
m:on("offline", function() print("offline") end)
tmr.create():alarm(60000, tmr.ALARM_AUTO, function() end)
m:connect(arg[1], tonumber(arg[2]), false, function(c)
  c:subscribe("nmqtt-test/sigint/#", 1, function() print("ready") end)
end)
