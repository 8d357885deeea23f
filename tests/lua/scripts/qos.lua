-- QoS 0/1/2 both ways: three subscriptions (QoS 0, 1, 2) each receive a publish of QoS 0, 1 and 2 from the
-- same client; delivery QoS is the minimum of both. Also: subscribe with a table, the per-call completions
-- (extension: err, packet id, granted QoS) and the 4th argument of "message".
local T = dofile((arg[0]:match("^(.*/)") or "") .. "common.lua")
local m = mqtt.Client(T.id("qos"), 30)
local suffixes = {"q0", "q1", "q2"}
local received, completed, pubacks = {}, {}, 0

local function finish(c)
  if #received < 9 or #completed < 9 then return end
  T.print_sorted(received)
  T.print_sorted(completed)
  -- one more round trip before closing, so that the broker's PUBRELs were answered (PUBCOMP) and show
  -- in its log: it sent them before it acknowledges this publish
  c:publish(T.topic("sync"), "", 1, 0, nil, function(client) client:close() end)
  received, completed = {}, {}
end

m:on("message", function(c, topic, data, info)
  local suffix = topic:match("([^/]+)$")
  received[#received + 1] = string.format("message %s %s qos=%d retain=%s dup=%s id=%s", suffix, data, info.qos,
    tostring(info.retain), tostring(info.dup), info.packet_id == 0 and "0" or "set")
  finish(c)
end)
m:on("offline", function() print("pubacks", pubacks) end)

local function publish_all(c)
  for _, suffix in ipairs(suffixes) do
    for qos = 0, 2 do
      local ok = c:publish(T.topic(suffix), "p" .. qos, qos, 0, function() pubacks = pubacks + 1 end,
        function(_, err, packet_id)
          completed[#completed + 1] = string.format("done %s p%d err=%s id=%s", suffix, qos, tostring(err),
            packet_id == 0 and "0" or "set")
          finish(c)
        end)
      T.check(ok, "publish returned " .. tostring(ok))
    end
  end
end

m:connect(T.host, T.port, false, function(c)
  local filters = {}
  for i, suffix in ipairs(suffixes) do filters[T.topic(suffix)] = i - 1 end
  print("subscribe", c:subscribe(filters, nil, function(client, err, packet_id, granted)
    print("suback", err, packet_id > 0)
    for _, suffix in ipairs(suffixes) do print("granted", suffix, granted[T.topic(suffix)]) end
    publish_all(client)
  end))
end)
