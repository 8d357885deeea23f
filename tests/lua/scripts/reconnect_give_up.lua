-- Automatic reconnection (extension) against a port where nothing listens, with no broker at all:
--   A: every step reported ("connfail" for each attempt, then "reconnect" scheduled / attempting), and the
--      give-up after max_attempts; the runner does not exit while A waits (nothing else keeps it alive);
--   B: an attempt that cannot start (a CA file that cannot be loaded, for a secure address of `brokers`):
--      "connfail" -5 and an immediate give-up;
--   C: close() while waiting cancels the wait (true), then nothing more;
--   D: close() from the "connfail" callback returns false but keeps any attempt from being scheduled;
--   E: on("reconnect", nil) unregisters the callback;
--   F: from the "attempting" report connect() raises "already connected" and close() cancels the attempt.
-- arg: host closed_port
local T = dofile((arg[0]:match("^(.*/)") or "") .. "common.lua")
local closed = tonumber(arg[2])
local ports = {[closed] = "closed"}

local function client(label, reconnect, extra)
  local options = extra or {}
  options.reconnect = reconnect
  local m = mqtt.Client(T.id("give-up-" .. label), 30, nil, nil, 1, nil, options)
  m:on("connfail", function(c, reason) print(label .. " connfail", reason, c:state()) end)
  m:on("connect", function() print("NOT EXPECTED: " .. label .. " connect") end)
  m:on("offline", function() print("NOT EXPECTED: " .. label .. " offline") end)
  return m
end

local function start_f()
  local f = client("F", {initial_delay_ms = 1, max_delay_ms = 1})
  f:on("reconnect", function(c, info)
    print(T.reconnect_line("F", c, info, ports, function() return 1 end))
    if info.kind == "attempting" then
      local ok, err = pcall(c.connect, c, T.host, closed)
      print("F connect while attempting", ok, (tostring(err):gsub("^[^:]*:%d+: ", "")))
      print("F close while attempting", c:close(), c:state())
    end
  end)
  f:connect(T.host, closed)
end

local function start_e()
  local e = client("E", {initial_delay_ms = 1, max_delay_ms = 1, max_attempts = 1})
  local failures = 0
  e:on("reconnect", function() print("NOT EXPECTED: E reconnect") end)
  e:on("reconnect", nil)
  e:on("connfail", function(c, reason)
    print("E connfail", reason, c:state())
    failures = failures + 1
    if failures == 2 then start_f() end
  end)
  e:connect(T.host, closed)
end

local function start_d()
  local d = client("D", true)
  d:on("connfail", function(c, reason)
    print("D connfail", reason, c:state())
    print("D close in connfail", c:close(), c:state())
    start_e()
  end)
  d:on("reconnect", function(c, info) print("NOT EXPECTED: " .. T.reconnect_line("D", c, info, ports, nil)) end)
  d:connect(T.host, closed)
end

local function start_c()
  local c = client("C", {initial_delay_ms = 60000, max_delay_ms = 60000})
  c:on("reconnect", function(k, info)
    print(T.reconnect_line("C", k, info, ports, function() return 60000 end))
    print("C lwt while waiting", pcall(k.lwt, k, "nmqtt-test/will", "gone"))
    print("C close while waiting", k:close(), k:state())
    print("C close again", k:close(), k:state())
    start_d()
  end)
  c:connect(T.host, closed)
end

local function start_b()
  local reconnect = {initial_delay_ms = 1, max_delay_ms = 1, brokers = {{host = T.host, port = closed, secure = true}}}
  local b = client("B", reconnect, {ca_file = "/nonexistent/nmqtt-test-ca.pem"})
  b:on("reconnect", function(c, info)
    print(T.reconnect_line("B", c, info, ports, function() return 1 end))
    if info.giving_up then print("B message", info.message) end
    if info.giving_up then start_c() end
  end)
  b:connect(T.host, closed)  -- plain: the CA file is needed only by the secure address
end

local initial, max = 10, 40
local a = client("A", {initial_delay_ms = initial, max_delay_ms = max, max_attempts = 3})
a:on("reconnect", function(c, info)
  print(T.reconnect_line("A", c, info, ports, function(n) return T.cap(n, initial, max) end))
  if info.giving_up then start_b() end
end)
a:connect(T.host, closed)
print("main chunk done", a:state())
