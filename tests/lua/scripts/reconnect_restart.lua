-- Automatic reconnection (extension) across a broker restart: "offline", then the "reconnect" callback for
-- every step, "connfail" for each attempt made while the broker was down, and "connect" again, after which
-- the client works. The waiting client alone keeps the runner going (no timer, no other client).
-- arg: host port. The test restarts the broker after "ready".
local T = dofile((arg[0]:match("^(.*/)") or "") .. "common.lua")
local initial, max = 50, 400
local ports = {[T.port] = "broker"}
local topic = T.topic("after-restart")
local m = mqtt.Client(T.id("restart"), 30, nil, nil, 1, nil,
                      {reconnect = {initial_delay_ms = initial, max_delay_ms = max}})
local connections, failures, steps = 0, 0, 0
local scheduled = nil  -- the last "scheduled" info

local function cap(n) return T.cap(n, initial, max) end

-- Attempts made while the broker is down: how many depends on timing, so they are checked, not printed.
local function check_later_step(c, info)
  T.check(info.host == T.host and info.port == T.port and not info.giving_up, T.reconnect_line("", c, info, ports, cap))
  T.check(info.delay_ms <= cap(info.attempt), "delay within the cap")
  if info.kind == "scheduled" then
    T.check(info.attempt == scheduled.attempt + 1, "attempts counted")
    T.check(info.code == mqtt.CONN_FAIL_SERVER_NOT_FOUND and info.reason ~= nil, "failed attempt's reason")
    scheduled = info
  else
    T.check(info.attempt == scheduled.attempt and info.delay_ms == scheduled.delay_ms, "attempt as scheduled")
  end
end

m:on("reconnect", function(c, info)
  T.check(connections == 1, "reconnect report before the first connection")
  steps = steps + 1
  if steps <= 2 then
    print(T.reconnect_line("first", c, info, ports, cap))
    if steps == 1 then scheduled = info end
  else
    check_later_step(c, info)
  end
end)
m:on("connfail", function(c, reason)
  T.check(connections == 1, "connfail before the first connection")
  failures = failures + 1
  T.check(reason == mqtt.CONN_FAIL_SERVER_NOT_FOUND and c:state() == "disconnected", "connfail " .. reason)
end)
m:on("offline", function(c) print("offline", c:state()) end)
m:on("connect", function(c)
  connections = connections + 1
  print("connected", connections, c:state())
  if connections == 1 then
    print("ready")
    return
  end
  print("two reports per attempt", steps == 2 * (failures + 1))
  c:subscribe(topic, 1, function(k) k:publish(topic, "works after the restart", 1, 0) end)
end)
m:on("message", function(c, _, data)
  print("message", data)
  print("close", c:close())
end)
m:connect(T.host, T.port)
