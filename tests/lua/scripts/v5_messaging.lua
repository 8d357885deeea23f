-- MQTT 5.0 through the Lua API: the options table (protocol = 5, CONNECT settings and user properties), a
-- connect() property table, subscribe options (per filter and for the call) with a Subscription Identifier,
-- publish properties, the message callback's properties, the v5 completions (reason codes and properties),
-- unsubscribe reason codes, and close() with a DISCONNECT property table.
local T = dofile((arg[0]:match("^(.*/)") or "") .. "common.lua")
local m = mqtt.Client(T.id("v5-msg"), 30, nil, nil, 1, nil,
  {protocol = 5, session_expiry_interval = 0, receive_maximum = 50, user_properties = {app = "test"}})

local function props_line(info)
  local keys = {}
  for _, k in ipairs({"content_type", "response_topic", "correlation_data", "payload_format_indicator",
                      "message_expiry_interval"}) do
    if info[k] ~= nil then keys[#keys + 1] = k .. "=" .. tostring(info[k]) end
  end
  if info.user_properties then
    for _, k in ipairs(T.keys(info.user_properties)) do keys[#keys + 1] = "up." .. k .. "=" .. info.user_properties[k] end
  end
  if info.subscription_identifiers then
    keys[#keys + 1] = "sid=" .. table.concat(info.subscription_identifiers, ",")
  end
  return table.concat(keys, " ")
end

-- Completions and messages may come in either order: collected, printed sorted at the end.
local lines, pending = {}, 4
local function note(...)
  local parts = {}
  for i = 1, select("#", ...) do parts[#parts + 1] = tostring((select(i, ...))) end
  lines[#lines + 1] = table.concat(parts, "\t")
  pending = pending - 1
  if pending > 0 then return end
  m:unsubscribe({[T.topic("plain")] = true, [T.topic("never")] = true}, nil, function(client, err, _, codes)
    print("unsuback", err, codes[T.topic("plain")], codes[T.topic("never")])
    print("close", client:close({reason_code = 0, reason_string = "done", user_properties = {k = "v"}}))
  end)
end
m:on("message", function(_, topic, data, info)
  note("message", topic:match("([^/]+)$"), data, info.qos, props_line(info))
end)
m:on("offline", function(_, code)
  T.print_sorted(lines)
  print("offline", code)
end)

m:connect(T.host, T.port, false, function(c)
  print("connected")
  local filters = {[T.topic("mine")] = {qos = 1, no_local = true}, [T.topic("plain")] = 1}
  c:subscribe(filters, nil, function(client, err, packet_id, codes, props)
    print("suback", err, packet_id > 0, codes[T.topic("mine")], codes[T.topic("plain")], type(props))
    -- No Local: our own message on "mine" never comes back; the one on "plain" does, with its properties.
    client:publish(T.topic("mine"), "not for me", 1, 0, nil, function(_, e, _, code) note("done mine", e, code) end,
      {content_type = "text/plain"})
    client:publish(T.topic("plain"), "hello", 1, 0, nil, function(_, e, _, code) note("done plain", e, code) end,
      {content_type = "text/plain", response_topic = T.topic("reply"), correlation_data = "c-7",
       payload_format_indicator = 1, user_properties = {{"b", "2"}, {"a", "1"}}})
    client:publish(T.topic("nobody"), "x", 1, 0, nil, function(_, e, _, code) note("done nobody", e, code) end)
  end, {subscription_identifier = 5})
end, function(_, reason) print("connfail", reason) end, {user_properties = {per = "connect"}})
