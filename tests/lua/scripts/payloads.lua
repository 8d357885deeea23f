-- Payloads are Lua strings with any bytes: embedded zeros, 0xff, empty (arrives as nil, as on NodeMCU),
-- large (200 kB with a large max_message_length); UTF-8 topics; the retain flag both ways.
local T = dofile((arg[0]:match("^(.*/)") or "") .. "common.lua")
local m = mqtt.Client(T.id("payloads"), 30, nil, nil, 1, 300000)
local large = string.rep("\0\1\2\255abc", 25000)  -- 175 kB
local cases = {
  {suffix = "binary", payload = "a\0b\0\255\254c"},
  {suffix = "empty", payload = ""},
  {suffix = "large", payload = large},
  {suffix = "grüße/日本", payload = "utf-8 topic"},
  {suffix = "number", payload = 42},  -- numbers are converted, as luaL_checklstring does
}
local pending = #cases

m:on("message", function(c, topic, data, info)
  for _, case in ipairs(cases) do
    if topic == T.topic(case.suffix) then
      local expected = case.payload ~= "" and tostring(case.payload) or nil
      print(case.suffix, data == expected, data == nil and "nil" or #data, info.retain)
    end
  end
  pending = pending - 1
  if pending == 0 then
    -- retained: published first, then a new subscription gets it with retain = true
    -- (completions, not callbacks: a callback would replace the "puback"/"suback" one for all requests)
    c:publish(T.topic("retained"), "kept", 1, 1, nil, function()
      c:subscribe(T.topic("retained"), 1)
    end)
  elseif pending < 0 then
    print("retained", topic == T.topic("retained"), data, info.retain)
    c:close()
  end
end)

m:connect(T.host, T.port, false, function(c)
  local filters = {}
  for _, case in ipairs(cases) do filters[T.topic(case.suffix)] = 2 end
  c:subscribe(filters, nil, function()
    for _, case in ipairs(cases) do c:publish(T.topic(case.suffix), case.payload, 1, 0) end
  end)
end)
