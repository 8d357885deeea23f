-- reconnect_on_failure.lua with nmqtt's automatic reconnection (an extension: the options table, 7th argument
-- of mqtt.Client()) in place of the timers: after a failed attempt or a lost connection the client waits a
-- random delay (growing up to max_delay_ms) and connects again by itself, reporting every step through the
-- "reconnect" callback. Messages published while it is down are queued and sent once it is back
-- (queue_while_offline). Runs until Ctrl-C (which stops reconnecting and closes the connection cleanly).
--
--   nmqtt run examples/lua/auto_reconnect.lua [host [port [max_delay_ms]]]   (up to 30 s by default)
local host = arg[1] or "127.0.0.1"
local port = tonumber(arg[2] or "1883")
local max_delay = tonumber(arg[3] or "30000")

local m = mqtt.Client("nmqtt-auto-reconnect-example", 60, nil, nil, 0, nil, {
  reconnect = {initial_delay_ms = math.min(1000, max_delay), max_delay_ms = max_delay},
  queue_while_offline = true,
})

m:on("connect", function(client)
  print("connected")
  client:subscribe("nmqtt/example/#", 1)  -- kept by the broker (cleansession 0); subscribing again is harmless
end)
m:on("connfail", function(client, reason) print("connection failed (" .. reason .. ")") end)
m:on("offline", function(client) print("offline") end)
m:on("reconnect", function(client, info)
  if info.kind == "scheduled" then
    print(string.format("attempt %d in %d ms (%s)", info.attempt, info.delay_ms, info.reason))
  elseif info.kind == "attempting" then
    print(string.format("attempt %d to %s:%d", info.attempt, info.host, info.port))
  else
    print("giving up: " .. info.message)
  end
end)
m:on("message", function(client, topic, data) print(topic, data) end)

m:connect(host, port)
