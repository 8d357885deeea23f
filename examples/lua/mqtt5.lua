-- mqtt5.lua: MQTT 5.0 from a NodeMCU-style script (docs/lua.md, "MQTT 5.0"). A responder and a requester in
-- one client: the request carries a Response Topic and Correlation Data, the answer goes to that topic with
-- the same correlation data; reason codes and properties are printed as they come; close() ends with a
-- Reason String.
--
--   nmqtt run examples/lua/mqtt5.lua [host [port]]      (default 127.0.0.1 1883; an MQTT 5.0 broker)
local host = arg[1] or "127.0.0.1"
local port = tonumber(arg[2] or "1883")
math.randomseed(os.time())
local base = "nmqtt/mqtt5/" .. tostring(math.random(1e9))
local requests, replies = base .. "/requests", base .. "/replies"

local m = mqtt.Client("nmqtt-mqtt5-" .. tostring(math.random(1e9)), 30, nil, nil, 1, nil,
  {protocol = 5, user_properties = {example = "mqtt5.lua"}})

m:on("message", function(client, topic, data, info)
  if topic == requests then
    print("request: " .. data .. " (reply to " .. (info.response_topic == replies and "replies" or "?") ..
          ", sender " .. tostring(info.user_properties and info.user_properties.sender) .. ")")
    client:publish(info.response_topic, "pong", 1, 0, nil, nil, {correlation_data = info.correlation_data})
  else
    print("reply: " .. data .. ", correlation data " .. tostring(info.correlation_data))
    client:close({reason_string = "example done"})
  end
end)

m:on("offline", function(_, reason_code, props)
  if reason_code then print("disconnected by the server: " .. reason_code .. " " .. tostring(props.reason_string))
  else print("closed") end
end)

m:connect(host, port, false, function(client)
  print("connected with MQTT 5.0")
  client:subscribe({[requests] = 1, [replies] = 1}, nil, function(c, err, _, codes)
    print("subscribed: " .. tostring(err) .. " " .. codes[requests] .. " " .. codes[replies])
    c:publish(requests, "ping", 1, 0, nil, function(_, e, _, reason_code)
      print("request acknowledged: " .. tostring(e) .. ", reason code " .. reason_code)
    end, {response_topic = replies, correlation_data = "req-1", user_properties = {sender = "example"}})
  end, {subscription_identifier = 1})
end, function(_, reason, props)
  -- MQTT 5.0: a refusal is its Connect Reason Code (135 = Not authorized, ...)
  print("connection failed: " .. reason .. (props and props.reason_string and (" " .. props.reason_string) or ""))
  os.exit(2)
end)
