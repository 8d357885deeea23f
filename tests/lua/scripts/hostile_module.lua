-- Hostile callbacks for `require "mqtt"` users (the stock interpreter with mqtt.so). A callback's error comes
-- out of mqtt.run() and the loop stays consistent: the next mqtt.run() goes on with the events behind it
-- (none skipped), the client stays connected and acknowledges everything. A message callback publishes 5000
-- QoS 1 messages (every completion runs, the other client gets them all); callbacks close and reconnect;
-- a message callback blocks 1.5 s with keepalive 1 s.
-- arg: host port
local mqtt = require("mqtt")
local host, port = arg[1], tonumber(arg[2])

-- Runs the loop until done() holds (at most `seconds`), keeping the errors that come out of mqtt.run().
local function run_until(done, seconds)
  local errors = {}
  local deadline = os.time() + (seconds or 30)
  while not done() and os.time() <= deadline do
    local ok, err = pcall(mqtt.run, 20)
    if not ok then errors[#errors + 1] = tostring(err):match("boom %w+") or tostring(err) end
  end
  return done(), errors
end

-- 1. errors raised by the message callback
local sub = mqtt.Client("hl-sub", 30)
local pub = mqtt.Client("hl-pub", 30)
local got, ready = {}, 0
local on_message = function(_, _, data)
  got[#got + 1] = data
  if data == "3" or data == "7" then error("boom " .. data) end
end
sub:on("message", function(c, topic, data) on_message(c, topic, data) end)
sub:connect(host, port, false, function(c) c:subscribe("hl/t", 1, function() ready = ready + 1 end) end)
pub:connect(host, port, false, function() ready = ready + 1 end)
assert(run_until(function() return ready == 2 end))
for i = 1, 10 do pub:publish("hl/t", tostring(i), 1, 0) end
local ok, errors = run_until(function() return #got == 10 end)
print("delivered", ok, table.concat(got, " "))
print("errors", #errors, table.concat(errors, " "))
print("state after errors", sub:state(), pub:state())

-- 2. 5000 QoS 1 publishes from inside the message callback: every completion runs, the sink gets them all
local n, completed, failed, received = 5000, 0, 0, {}
local distinct = 0
on_message = function(c, topic, data)
  if topic == "hl/go" then
    for i = 1, n do
      c:publish("hl/out", tostring(i), 1, 0, nil, function(_, err)
        completed = completed + 1
        if err then failed = failed + 1 end
      end)
    end
  elseif topic == "hl/out" and not received[data] then
    received[data] = true
    distinct = distinct + 1
  end
end
local subscribed = 0
sub:subscribe({["hl/go"] = 1, ["hl/out"] = 1}, function() subscribed = 1 end)
assert(run_until(function() return subscribed == 1 end))
pub:publish("hl/go", "go", 1, 0)
ok = run_until(function() return completed == n and distinct == n end, 60)
print("flood", ok, completed, failed, distinct)

-- 3. close from a completion, reconnect from "offline", close + connect at once from "connect"
local events = {}
local connects = 0
sub:on("offline", function(c)
  events[#events + 1] = "offline"
  if connects == 1 then c:connect(host, port, false) end
end)
sub:on("connect", function(c)
  connects = connects + 1
  events[#events + 1] = "connect " .. connects
  if connects == 2 then
    c:close()
    c:connect(host, port, false)  -- deferred until "offline" has run
    events[#events + 1] = "connect called: " .. c:state()
  end
end)
connects = 1
pub:publish("hl/done", "x", 1, 0, nil, function() end)
sub:publish("hl/done", "x", 1, 0, nil, function(c) c:close() end)
ok = run_until(function() return connects == 3 end)
print("reconnects", ok, table.concat(events, ", "), sub:state())

-- 4. a message callback blocks 1.5 s with keepalive 1 s; the stream goes on (the broker may drop the
--    connection after 1.5 x keepalive of silence: "offline", then a connect from "offline" recovers)
local slow = mqtt.Client("hl-slow", 1, nil, nil, 0)
local slow_got, slow_offline, slow_ready = {}, 0, false
slow:on("message", function(_, _, data)
  if not slow_got[data] then
    slow_got[data] = true
    if data == "1" then
      local t = os.clock()
      repeat until os.clock() - t >= 1.5
    end
  end
end)
slow:on("offline", function(c)
  slow_offline = slow_offline + 1
  c:connect(host, port, false)
end)
slow:on("connect", function(c) c:subscribe("hl/slow", 1, function() slow_ready = true end) end)
slow:connect(host, port, false)
assert(run_until(function() return slow_ready end))
for i = 1, 5 do pub:publish("hl/slow", tostring(i), 1, 0) end
local count = function()
  local k = 0
  for _ in pairs(slow_got) do k = k + 1 end
  return k
end
ok = run_until(function() return count() == 5 and slow:state() == "connected" end, 20)
print("blocked", ok, count(), slow:state(), slow_offline <= 1)

slow:on("offline", nil)
sub:on("offline", nil)
for _, c in ipairs({slow, sub, pub}) do c:close() end
print("run returned", mqtt.run(5000))
