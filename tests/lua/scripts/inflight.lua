-- Many operations in flight at once (NodeMCU sends one packet at a time): 300 publishes of each QoS issued
-- in one go, subscribed by the same client; every completion and every message arrives, in order per QoS.
-- arg: host port
local T = dofile((arg[0]:match("^(.*/)") or "") .. "common.lua")
local count = 300
local m = mqtt.Client(T.id("inflight"), 30)
local received = {[0] = {}, [1] = {}, [2] = {}}
local completed, total = 0, 0

local function finish(c)
  if completed < 3 * count or total < 3 * count then return end
  for qos = 0, 2 do
    local in_order = true
    for i = 1, count do in_order = in_order and received[qos][i] == i end
    print("qos", qos, "received", #received[qos], "in order", in_order)
  end
  print("completed", completed)
  c:close()
end

m:on("message", function(c, topic, data, info)
  local qos = tonumber(topic:match("(%d)$"))
  received[qos][#received[qos] + 1] = tonumber(data)
  total = total + 1
  finish(c)
end)

m:connect(T.host, T.port, false, function(c)
  c:subscribe({[T.topic("q0")] = 0, [T.topic("q1")] = 1, [T.topic("q2")] = 2}, nil, function()
    for i = 1, count do
      for qos = 0, 2 do
        assert(c:publish(T.topic("q" .. qos), tostring(i), qos, 0, nil, function(_, err)
          assert(err == nil, err)
          completed = completed + 1
          finish(c)
        end))
      end
    end
  end)
end)
