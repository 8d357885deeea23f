-- Nothing to wait for: the runner exits 0 right after the main chunk. A timer that was stopped and a
-- client that was never connected keep nothing alive.
local t = tmr.create()
t:alarm(100000, tmr.ALARM_SINGLE, function() print("NOT EXPECTED") end)
t:stop()
local m = mqtt.Client("exit-idle", 30)
print("main chunk done", m:state())
