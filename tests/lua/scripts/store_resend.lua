-- The persistent session store (extension session_store), second process: a client with the same client id
-- and store sends the messages that store_write.lua left there, once connected.
-- arg: host port store_path
local T = dofile((arg[0]:match("^(.*/)") or "") .. "common.lua")
local topic = "nmqtt-test/store"
local sub = mqtt.Client(T.id("store-sub"), 30)
local stored = mqtt.Client("nmqtt-lua-store", 30, nil, nil, 0, nil, {session_store = arg[3]})
local received = 0
local guard = tmr.create()  -- a bound, so that a store that was not used fails instead of hanging
guard:alarm(10000, tmr.ALARM_SINGLE, function()
  print("NOT EXPECTED: messages missing after 10 s")
  os.exit(1)
end)

sub:on("message", function(c, _, data, info)
  print("message", data, info.qos)
  received = received + 1
  if received == 2 then
    c:close()
    stored:close()
    guard:unregister()
  end
end)
stored:on("connect", function(c) print("stored client connected", c:state()) end)
sub:connect(T.host, T.port, false, function(c)
  c:subscribe(topic, 2, function() stored:connect(T.host, T.port) end)
end)
