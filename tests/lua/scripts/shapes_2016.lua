-- Call shapes of 2016-era NodeMCU scripts, which the firmware still accepts: connect()'s old autoreconnect
-- argument in the 4th slot, numbers for booleans, numeric strings for numbers, the static tmr API, a stray
-- QoS after a subscribe table, stray values where callbacks go.
-- arg: host port closed_port
local T = dofile((arg[0]:match("^(.*/)") or "") .. "common.lua")
local closed_port = arg[3]
local topic = T.topic("shapes2016")

-- mqtt.Client(clientid, keepalive as a numeric string, user, password, cleansession 2 (!!2 = 1), max length 0)
local m = mqtt.Client(T.id("shapes-2016"), "120", "", "", 2, 0)
m:on("connect", function() print("on connect") end)
m:on("message", function(client, t, data)
  print("message", t == topic, data)
  if data == "last" then client:close() end
end)
m:on("offline", function() print("offline") end)

-- A connect with (host, port, secure 0, autoreconnect 1, cb): cb lands in the failure slot, as the current
-- firmware reads it; a closed port makes it run.
local f = mqtt.Client(T.id("shapes-2016-fail"), 120)
f:connect(T.host, closed_port, 0, 1, function(_, reason) print("failure slot", reason) end)

-- connect(host, port as string, secure 0, autoreconnect 0): no callbacks; the registered "connect" runs.
m:connect(T.host, tostring(T.port), 0, 0)

tmr.alarm(0, 50, tmr.ALARM_AUTO, function()
  if m:state() ~= "connected" then return end
  tmr.stop(0)
  -- subscribe({topic=qos}, stray 0, cb): the 0 is not a function, skipped. The firmware ignores cb there;
  -- nmqtt calls it as this call's completion (its extension slot).
  print("subscribe", m:subscribe({[topic] = 1}, 0, function() print("subscribe completion") end))
  -- publish(topic, payload, qos as string, retain 0, stray 42)
  print("publish", m:publish(topic, "first", "1", 0, 42))
  print("publish", m:publish(topic, "last", 1, false))
end)
