-- Automatic reconnection (extension) through `brokers`: the address given to connect() is dead, the next
-- attempt goes to the second address, which works. Then connect() while waiting replaces the pending attempt.
-- arg: host port closed_port
local T = dofile((arg[0]:match("^(.*/)") or "") .. "common.lua")
local closed = tonumber(arg[3])
local ports = {[closed] = "closed", [T.port] = "broker"}

local function client(label, reconnect)
  local m = mqtt.Client(T.id("brokers-" .. label), 30, nil, nil, 1, nil, {reconnect = reconnect})
  m:on("connfail", function(c, reason) print(label .. " connfail", reason, c:state()) end)
  m:on("offline", function(c) print(label .. " offline", c:state()) end)
  return m
end

local function start_second()
  local m = client("2", {initial_delay_ms = 60000, max_delay_ms = 60000})
  m:on("reconnect", function(c, info)
    print(T.reconnect_line("2", c, info, ports, function() return 60000 end))
    c:connect(T.host, T.port)  -- replaces the pending attempt
    print("2 connect while waiting", c:state())
  end)
  m:on("connect", function(c)
    print("2 connected", c:state())
    print("2 close", c:close())
  end)
  m:connect(T.host, closed)
end

local first = client("1", {initial_delay_ms = 10, max_delay_ms = 10, brokers = {{host = T.host, port = T.port}}})
first:on("reconnect", function(c, info) print(T.reconnect_line("1", c, info, ports, function() return 10 end)) end)
first:on("connect", function(c)
  print("1 connected", c:state())
  c:subscribe(T.topic("brokers"), 1, function(k)
    k:publish(T.topic("brokers"), "through the second address", 1, 0)
  end)
end)
first:on("message", function(c, _, data)
  print("1 message", data)
  print("1 close", c:close())  -- closed by us: no reconnection
end)
first:on("offline", function(c)
  print("1 offline", c:state())
  start_second()
end)
first:connect(T.host, closed)
