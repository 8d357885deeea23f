-- The reference's aliasing rules, in sequence:
--  1. the last publish/subscribe/unsubscribe callback is called for ALL of them, and is the "puback" /
--     "suback" / "unsuback" callback of :on(); a call without one keeps it;
--  2. connect()'s callbacks are "connect"/"connfail"; nil keeps the registered one;
--  3. a failed connect runs only the failure callback ("offline" and "connect" stay silent);
--  4. "offline" runs once an established connection is gone.
-- arg: host port closed_port
local T = dofile((arg[0]:match("^(.*/)") or "") .. "common.lua")
local closed_port = tonumber(arg[3])
local calls = {}
local function count(name) return function() calls[name] = (calls[name] or 0) + 1 end end
local function report(names)
  for _, name in ipairs(names) do print(name, calls[name] or 0) end
end

local steps = {}
-- The next step runs from a timer: the completion (extension) of a request runs just before its aliased
-- callback, so counting must wait until the current event is fully dispatched.
local function next_step(...)
  local args = table.pack(...)
  tmr.create():alarm(1, tmr.ALARM_SINGLE, function() table.remove(steps, 1)(table.unpack(args, 1, args.n)) end)
end

-- 1. puback / suback / unsuback
local m = mqtt.Client(T.id("aliases"), 30)
local topic = T.topic("a")
local acks = 0
local function after(n, f) -- runs f once `n` acknowledgements of the current kind arrived
  acks = 0
  return function() acks = acks + 1; if acks == n then f() end end
end

steps[#steps + 1] = function(c)
  local done = after(2, function() next_step(c) end)
  c:publish(topic, "1", 1, 0, function() count("pubA")() end, done)
  c:publish(topic, "2", 1, 0, function() count("pubB")() end, done)
end
steps[#steps + 1] = function(c)
  report({"pubA", "pubB"})
  c:on("puback", count("pubC"))
  local done = after(2, function() next_step(c) end)
  c:publish(topic, "3", 0, 0, nil, done)  -- QoS 0: "puback" once written
  c:publish(topic, "4", 2, 0, nil, done)  -- QoS 2: on PUBCOMP
end
steps[#steps + 1] = function(c)
  report({"pubC"})
  c:on("puback", nil)  -- unregistered (extension): no callback at all
  c:publish(topic, "5", 1, 0, nil, function() next_step(c) end)
end
steps[#steps + 1] = function(c)
  report({"pubC"})
  local done = after(2, function() next_step(c) end)
  c:subscribe(T.topic("s1"), 0, count("subA"), done)
  c:subscribe({[T.topic("s2")] = 1, [T.topic("s3")] = 2}, count("subB"), done)
end
steps[#steps + 1] = function(c)
  report({"subA", "subB"})
  local done = after(2, function() next_step(c) end)
  c:unsubscribe(T.topic("s1"), count("unsubA"), done)
  c:unsubscribe({[T.topic("s2")] = 0, [T.topic("s3")] = "anything"}, count("unsubB"), done)
end
steps[#steps + 1] = function(c)
  report({"unsubA", "unsubB"})
  c:on("suback", count("subC"))
  c:subscribe(T.topic("s4"), 1, nil, function() next_step(c) end)
end
steps[#steps + 1] = function(c)
  report({"subC"})
  c:close()
end

m:on("offline", function(c)
  print("offline after close")
  next_step()
end)
m:connect(T.host, T.port, false, function(c) next_step(c) end)

-- 2./3. connect / connfail aliasing and failed connects
local f = mqtt.Client(T.id("aliases-fail"), 30)
f:on("offline", count("offline-after-failure"))
f:on("connect", count("connect-after-failure"))
steps[#steps + 1] = function()
  f:on("connfail", function(_, reason) print("on connfail", reason); next_step() end)
  f:connect(T.host, closed_port)  -- no callbacks given: the registered one runs
end
steps[#steps + 1] = function()
  f:connect(T.host, closed_port, false, nil, nil)  -- nil keeps the registered callbacks
end
steps[#steps + 1] = function()
  f:connect(T.host, closed_port, false, nil, function(_, reason)
    print("connect's failure callback", reason)
    next_step()
  end)
end
steps[#steps + 1] = function()
  f:on("connect", function(c) print("on connect"); c:close() end)
  f:on("offline", function() print("offline"); next_step() end)
  f:connect(T.host, T.port, false, nil)  -- nil keeps on("connect")
end
steps[#steps + 1] = function()
  f:connect(T.host, T.port, false, function(c) print("connect's callback"); c:close() end)
end
steps[#steps + 1] = function()
  f:on("connfail", nil)
  f:connect(T.host, closed_port, function() print("connect's callback, NOT EXPECTED") end)
  -- the connect callback was replaced, no failure callback: nothing runs. Finish on a timer.
  tmr.create():alarm(300, tmr.ALARM_SINGLE, function()
    report({"offline-after-failure", "connect-after-failure"})
  end)
end
