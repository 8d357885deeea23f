-- close() return values, the connection-state query (extension), requests queued while connecting, and a
-- new connect() right after close().
local T = dofile((arg[0]:match("^(.*/)") or "") .. "common.lua")
local m = mqtt.Client(T.id("close-state"), 30)
local topic = T.topic("queued")
local connections, offlines = 0, 0

print("initial", m:state(), m:close())
m:on("message", function(c, t, data)
  print("message", data, c:state(), c == m)
  print("close", c:close(), c:state())
  print("close again", c:close())
  c:connect(T.host, T.port)  -- at once: starts when the first connection is gone
  print("reconnect", c:state())
  print("connect while connecting", pcall(c.connect, c, T.host, T.port))
end)
m:on("offline", function(c)
  offlines = offlines + 1
  print("offline", offlines, c:state(), c == m)
end)
m:on("connect", function(c)
  connections = connections + 1
  print("connected", connections, c:state(), c == m)
  if connections == 2 then print("close", c:close()) end
end)

m:connect(T.host, T.port)
print("connecting", m:state())
-- queued until the CONNACK, then sent in order: SUBSCRIBE before PUBLISH
print("subscribe while connecting", m:subscribe(topic, 1))
print("publish while connecting", m:publish(topic, "queued", 1, 0))

-- close() cancels a connect in progress silently
local quiet = mqtt.Client(T.id("close-cancel"), 30)
quiet:on("connect", function() print("NOT EXPECTED: connect") end)
quiet:on("connfail", function() print("NOT EXPECTED: connfail") end)
quiet:on("offline", function() print("NOT EXPECTED: offline") end)
quiet:connect(T.host, T.port)
print("cancel", quiet:state(), quiet:close(), quiet:state(), quiet:close())
print("publish after cancel", quiet:publish(topic, "x", 0, 0))
