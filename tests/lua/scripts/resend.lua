-- With cleansession 0, a QoS 1 message whose PUBACK never came is sent again with DUP after reconnecting
-- (NodeMCU drops it), and its completion runs once, on the PUBACK of the resend.
-- arg: host port proxy_port. The test stalls the proxy's broker-to-client direction after "ready", sends
-- "go" on the control topic, cuts the proxy once the broker got the PUBLISH, then resumes it.
local T = dofile((arg[0]:match("^(.*/)") or "") .. "common.lua")
local proxy_port = tonumber(arg[3])
local victim = mqtt.Client("nmqtt-resend", 30, nil, nil, 0)
local control = mqtt.Client(T.id("resend-control"), 30)
local connections = 0
local finished = false

victim:on("offline", function(c)
  print("victim offline")
  if not finished then c:connect(T.host, proxy_port) end  -- the reconnect resumes the session
end)
victim:on("connect", function(c)
  connections = connections + 1
  print("victim connected", connections)
  if connections == 1 then
    control:connect(T.host, T.port, false, function(k)
      k:subscribe("nmqtt-test/resend/control", 0, function() print("ready") end)
    end)
  end
end)

control:on("message", function()
  print("publish", victim:publish("nmqtt-test/resend/data", "once", 1, 0, nil, function(_, err, packet_id)
    print("done", err, packet_id > 0)
    finished = true
    victim:close()
    control:close()
  end))
end)

victim:connect(T.host, proxy_port)
