-- Every bad argument raises a Lua error in luaL_argerror's words; pcall catches it, nothing crashes.
local function try(label, f, ...)
  local ok, err = pcall(f, ...)
  if ok then
    print(label, "NO ERROR")
  else
    print(label, (tostring(err):gsub("^[^:]*:%d+: ", "")))
  end
end

local m = mqtt.Client("bad-args", 60)

-- mqtt.Client()
try("client id type", function() mqtt.Client({}, 60) end)
try("keepalive type", function() mqtt.Client("id", "sixty") end)
try("keepalive low", function() mqtt.Client("id", -1) end)
try("keepalive high", function() mqtt.Client("id", 65536) end)
try("keepalive float", function() mqtt.Client("id", 1.5) end)
try("cleansession 2", function() mqtt.Client("id", 60, nil, nil, 2) end)
try("cleansession type", function() mqtt.Client("id", 60, nil, nil, "yes") end)
try("empty id clean 0", function() mqtt.Client("", 60, nil, nil, 0) end)
try("empty id clean false", function() mqtt.Client("", 60, nil, nil, false) end)
try("password alone", function() mqtt.Client("id", 60, nil, "secret") end)
try("max length 0", function() mqtt.Client("id", 60, nil, nil, 1, 0) end)
try("options type", function() mqtt.Client("id", 60, nil, nil, 1, 1024, "tls") end)
try("option unknown", function() mqtt.Client("id", 60, nil, nil, 1, 1024, {cafile = "x"}) end)
try("option value", function() mqtt.Client("id", 60, nil, nil, 1, 1024, {connect_timeout = "soon"}) end)
try("bad utf8 id", function() mqtt.Client("id\255", 60) end)

-- publish
try("publish topic type", function() m:publish(nil, "x", 0, 0) end)
try("publish payload type", function() m:publish("t", {}, 0, 0) end)
try("publish qos 3", function() m:publish("t", "x", 3, 0) end)
try("publish qos -1", function() m:publish("t", "x", -1, 0) end)
try("publish qos type", function() m:publish("t", "x", "one", 0) end)
try("publish retain 2", function() m:publish("t", "x", 0, 2) end)
try("publish plus", function() m:publish("a/+/c", "x", 0, 0) end)
try("publish hash", function() m:publish("a/#", "x", 0, 0) end)
try("publish empty topic", function() m:publish("", "x", 0, 0) end)
try("publish callback type", function() m:publish("t", "x", 0, 0, 42) end)

-- subscribe / unsubscribe
try("subscribe filter", function() m:subscribe("a/#/c", 0) end)
try("subscribe plus", function() m:subscribe("a+/b", 0) end)
try("subscribe empty", function() m:subscribe("", 0) end)
try("subscribe qos", function() m:subscribe("a/b", 3) end)
try("subscribe type", function() m:subscribe(42 == 42, 0) end)
try("subscribe table qos", function() m:subscribe({["a/b"] = 5}) end)
try("subscribe table key", function() m:subscribe({"a/b"}) end)
try("subscribe table filter", function() m:subscribe({["a/#/b"] = 0}) end)
try("subscribe empty table", function() m:subscribe({}) end)
try("subscribe callback", function() m:subscribe("a/b", 0, "cb") end)
try("unsubscribe filter", function() m:unsubscribe("#/a") end)
try("unsubscribe empty table", function() m:unsubscribe({}) end)
try("unsubscribe key", function() m:unsubscribe({[1] = "a"}) end)

-- on / lwt / connect
try("on event", function() m:on("connected", function() end) end)
try("on function", function() m:on("message", "print") end)
try("lwt topic", function() m:lwt("will/#", "x") end)
try("lwt qos", function() m:lwt("will", "x", 7) end)
try("lwt message", function() m:lwt("will", nil) end)
try("connect host", function() m:connect(nil) end)
try("connect port 0", function() m:connect("127.0.0.1", 0) end)
try("connect port high", function() m:connect("127.0.0.1", 70000) end)
try("connect secure 2", function() m:connect("127.0.0.1", 1883, 2) end)
try("connect callback", function() m:connect("127.0.0.1", 1883, false, "cb") end)
try("bad self", function() m.publish({}, "t", "x", 0, 0) end)
try("bad self string", function() m.close("client") end)

-- connected (or connecting): connect again, lwt
m:connect(arg[1], tonumber(arg[2]), false, function(c)
  try("connect twice", function() c:connect(arg[1], tonumber(arg[2])) end)
  try("lwt after connect", function() c:lwt("will", "x") end)
  c:close()
end)
try("connect while connecting", function() m:connect(arg[1], tonumber(arg[2])) end)
try("lwt while connecting", function() m:lwt("will", "x") end)

-- tmr
local t = tmr.create()
try("tmr interval 0", function() t:alarm(0, tmr.ALARM_SINGLE, function() end) end)
try("tmr mode", function() t:alarm(10, 3, function() end) end)
try("tmr function", function() t:register(10, tmr.ALARM_SINGLE, nil) end)
try("tmr static id", function() tmr.alarm(7, 10, tmr.ALARM_SINGLE, function() end) end)
try("tmr self", function() t.start({}) end)
try("tmr interval method", function() t:interval(-5) end)
