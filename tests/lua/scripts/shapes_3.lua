-- Call shapes of NodeMCU 3.0-era scripts: tmr objects, booleans, callbacks passed to connect() with
-- secure as a boolean, lwt() called after connect() (stored for the next connect, as in the firmware),
-- unsubscribe with a stray argument.
-- arg: host port proxy_port   (proxy_port forwards to the broker; the test cuts it after "ready")
local T = dofile((arg[0]:match("^(.*/)") or "") .. "common.lua")
local proxy_port = tonumber(arg[3])
local will_topic = T.topic("late-will")
local observer = mqtt.Client(T.id("shapes-3-observer"), 60, nil, nil, true)
local victim = mqtt.Client(T.id("shapes-3-victim"), 60, nil, nil, true)
local round = 0

victim:on("offline", function(v)
  print("victim offline", round)
  if round == 1 then
    round = 2
    -- the next connect carries the will set while connected
    v:connect(T.host, proxy_port, false, function() print("ready") end, function(_, r) print("NOT EXPECTED", r) end)
  end
end)

observer:on("message", function(c, t, data)
  print("will", t == will_topic, data)
  c:unsubscribe(will_topic, "stray")
  c:close()
end)

observer:connect(T.host, T.port, false, function(c)
  c:subscribe(will_topic, 0, function()
    round = 1
    victim:connect(T.host, proxy_port, false, function(v)
      print("lwt while connected", v:lwt(will_topic, "late will", 0, false))
      print("close", v:close())  -- clean: DISCONNECT, no will
    end)
  end)
end, function(_, reason) print("NOT EXPECTED: observer connfail", reason) end)
