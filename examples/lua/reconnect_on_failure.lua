-- The reconnect pattern of NodeMCU's connect() notes: watch for connection failures in the error callback
-- and try again from a timer; reconnect the same way when an established connection goes offline.
-- Runs until Ctrl-C (which closes the connection cleanly).
--
--   nmqtt run examples/lua/reconnect_on_failure.lua [host [port [retry_ms]]]   (retry every 10 s by default)
local host = arg[1] or "127.0.0.1"
local port = tonumber(arg[2] or "1883")
local retry_ms = tonumber(arg[3] or "10000")

local m = mqtt.Client("nmqtt-reconnect-example", 60)
local do_mqtt_connect

local function handle_mqtt_error(client, reason)
  print("connection failed (" .. reason .. "), retrying in " .. retry_ms .. " ms")
  tmr.create():alarm(retry_ms, tmr.ALARM_SINGLE, do_mqtt_connect)
end

function do_mqtt_connect()
  m:connect(host, port, false, function(client)
    print("connected")
    client:subscribe("nmqtt/example/#", 1)
  end, handle_mqtt_error)
end

m:on("message", function(client, topic, data) print(topic, data) end)
m:on("offline", function(client)
  print("offline, reconnecting in " .. retry_ms .. " ms")
  tmr.create():alarm(retry_ms, tmr.ALARM_SINGLE, do_mqtt_connect)
end)

do_mqtt_connect()
