-- The offline outbox (extension queue_while_offline) with automatic reconnection: publish() before the first
-- connect() and while the broker is down returns true; the messages go out after the next CONNACK. Both are
-- retained, so a subscription made after the connection shows that the broker got them.
-- arg: host port. The test stops the broker after "ready" and starts it again after "queued while offline".
local T = dofile((arg[0]:match("^(.*/)") or "") .. "common.lua")
local topic = T.topic("outbox")
local m = mqtt.Client(T.id("outbox"), 30, nil, nil, 1, nil,
                      {reconnect = {initial_delay_ms = 20, max_delay_ms = 100}, queue_while_offline = true})
local connections = 0

local function done(label)
  return function(_, err, packet_id) print("done", label, err, packet_id > 0) end
end

print("before connect", m:state(), m:publish(topic .. "/early", "queued before connect()", 1, 1, nil, done("early")))
m:on("connect", function(c)
  connections = connections + 1
  print("connected", connections)
  c:subscribe(topic .. (connections == 1 and "/early" or "/late"), 1)
end)
m:on("message", function(c, t, data, info)
  print("message", t:sub(#topic + 2), data, info.retain)
  if connections == 1 then
    print("ready")
  else
    print("close", c:close())
  end
end)
m:on("offline", function(c)
  print("offline", c:state())
  if connections == 1 then
    print("queued while offline", c:publish(topic .. "/late", "queued while offline", 1, 1, nil, done("late")))
  end
end)
m:connect(T.host, T.port)
