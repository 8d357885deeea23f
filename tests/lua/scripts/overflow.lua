-- max_message_length and the "overflow" callback: a message larger than the limit reaches "overflow"
-- truncated (never "message"), is still acknowledged, and the next messages arrive normally.
-- Also the default limit of 1024 bytes.
local T = dofile((arg[0]:match("^(.*/)") or "") .. "common.lua")
local big = string.rep("0123456789", 30)  -- 300 bytes
local topic = T.topic("big")

local function run(name, limit, payload, next)
  -- nil keeps the default (1024); positional: clientid, keepalive, username, password, cleansession, limit
  local m = mqtt.Client(T.id(name), 30, nil, nil, nil, limit)
  m:on("overflow", function(c, t, data)
    print(name, "overflow", t == topic, #data > 0, #data < #payload, data == payload:sub(1, #data))
  end)
  m:on("message", function(c, t, data)
    print(name, "message", data)
    c:close()
  end)
  m:on("offline", next)
  m:connect(T.host, T.port, false, function(c)
    c:subscribe(topic, 1, function()
      c:publish(topic, payload, 1, 0)
      c:publish(topic, "small", 1, 0)
    end)
  end)
end

run("limit100", 100, big, function()
  run("default", nil, string.rep("x", 2000), function() print("done") end)
end)
