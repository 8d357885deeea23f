-- MQTT over WebSockets from Lua (transport = "ws"): connect, subscribe QoS 1, a QoS 1 publish that comes back,
-- close. With a CA file as arg[3] the connection is wss:// (connect()'s secure = true, verified against it).
-- arg: host port [ca_file]
local T = dofile((arg[0]:match("^(.*/)") or "") .. "common.lua")
local ca = arg[3]
local options = {transport = "ws"}
if ca then options.ca_file = ca end
local topic = T.topic("ws")
local m = mqtt.Client(T.id("ws-lua"), 30, nil, nil, 1, nil, options)
local lines, pubacked, received = {}, false, false
local function maybe_close(c)
  if pubacked and received then
    T.print_sorted(lines)
    print("close", c:close())
  end
end
m:on("message", function(c, t, data)
  lines[#lines + 1] = "message\t" .. tostring(t == topic) .. "\t" .. data
  received = true
  maybe_close(c)
end)
m:on("offline", function() print("offline") end)
m:connect(T.host, T.port, ca ~= nil, function(c)
  print("connected", c:state())
  c:subscribe(topic, 1, function(k)
    print("suback")
    k:publish(topic, "over websockets \0 binary", 1, 0, function(p)
      lines[#lines + 1] = "puback"
      pubacked = true
      maybe_close(p)
    end)
  end)
end, function(_, reason) print("connfail", reason) end)
