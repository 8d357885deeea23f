-- node.restart() drops the connection as a reset does: no DISCONNECT, so the broker publishes the will.
local m = mqtt.Client("lwt-test", 60)
m:lwt("will", "gone", 0, 0)
m:connect(arg[1], tonumber(arg[2]), false, function() print("connected") node.restart() end)
