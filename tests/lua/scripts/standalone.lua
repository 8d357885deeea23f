-- For the stock lua5.3 interpreter with mqtt.so on LUA_CPATH: require "mqtt" and "mqtt.tmr", and drive the
-- network and the timers with the extensions mqtt.run([timeout_ms]), mqtt.poll() and mqtt.idle().
-- arg: host port
local mqtt = require("mqtt")
local tmr = require("mqtt.tmr")
print("loaded", mqtt._VERSION ~= nil, tmr.ALARM_AUTO, type(require("mqtt.tls").cert.verify))

local m = mqtt.Client("nmqtt-standalone", 30)
m:on("message", function(c, topic, data)
  print("message", topic, data)
  c:close()
end)
m:on("offline", function() print("offline") end)
m:connect(arg[1], tonumber(arg[2]), false, function(c)
  print("connected")
  c:subscribe("standalone/t", 1, function() c:publish("standalone/t", "hello", 1, 0) end)
end)
print("idle before run", mqtt.idle())
print("run returned", mqtt.run())  -- true: nothing left to wait for
print("idle after run", mqtt.idle())

local t = tmr.create()
t:alarm(60000, tmr.ALARM_SINGLE, function() print("NOT EXPECTED") end)
print("run with timeout", mqtt.run(20))  -- false: the timer is still armed
t:stop()

-- a callback's error comes out of mqtt.run() with its traceback
tmr.create():alarm(1, tmr.ALARM_SINGLE, function() error("boom from a timer") end)
local ok, err = pcall(mqtt.run)
print("error re-raised", ok, err:match("boom from a timer") ~= nil, err:match("stack traceback") ~= nil)

-- mqtt.poll() runs what is ready without blocking
local fired = false
tmr.create():alarm(1, tmr.ALARM_SINGLE, function() fired = true end)
local start = os.time()
while not fired and os.time() - start < 10 do mqtt.poll() end
print("poll ran the timer", fired, mqtt.idle())
