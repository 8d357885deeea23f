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
try("keepalive low", function() mqtt.Client("id", -1) end)
try("keepalive high", function() mqtt.Client("id", 65536) end)
try("keepalive float", function() mqtt.Client("id", 1.5) end)
try("empty id clean 0", function() mqtt.Client("", 60, nil, nil, 0) end)
try("empty id clean false", function() mqtt.Client("", 60, nil, nil, false) end)
try("options type", function() mqtt.Client("id", 60, nil, nil, 1, 1024, "tls") end)
try("option unknown", function() mqtt.Client("id", 60, nil, nil, 1, 1024, {cafile = "x"}) end)
try("option value", function() mqtt.Client("id", 60, nil, nil, 1, 1024, {connect_timeout = "soon"}) end)
try("bad utf8 id", function() mqtt.Client("id\255", 60) end)

-- reliability options of the extension table
local function with(options) return function() mqtt.Client("id", 60, nil, nil, 1, nil, options) end end
local function accepted(label, options) print(label, pcall(with(options))) end
accepted("reconnect true", {reconnect = true})
accepted("reconnect false", {reconnect = false})
accepted("reconnect table", {reconnect = {initial_delay_ms = 0, max_delay_ms = 0, multiplier = 1.5,
                                          healthy_after_ms = 0, max_attempts = 4294967295,
                                          brokers = {{host = "127.0.0.1"}, {host = "::1", port = 8883, secure = true}}},
                             queue_while_offline = true})
try("reconnect type", with({reconnect = "yes"}))
try("reconnect unknown", with({reconnect = {retries = 3}}))
try("reconnect key", with({reconnect = {[1] = 3}}))
try("reconnect delay", with({reconnect = {initial_delay_ms = -1}}))
try("reconnect delay type", with({reconnect = {max_delay_ms = "1s"}}))
try("reconnect max below initial", with({reconnect = {initial_delay_ms = 200, max_delay_ms = 100}}))
try("reconnect initial above default max", with({reconnect = {initial_delay_ms = 120000}}))
try("reconnect multiplier", with({reconnect = {multiplier = 0.5}}))
try("reconnect multiplier inf", with({reconnect = {multiplier = math.huge}}))
try("reconnect multiplier type", with({reconnect = {multiplier = "2"}}))
try("reconnect healthy", with({reconnect = {healthy_after_ms = 86400001}}))
try("reconnect attempts", with({reconnect = {max_attempts = -1}}))
try("reconnect attempts float", with({reconnect = {max_attempts = 2.5}}))
try("brokers type", with({reconnect = {brokers = "127.0.0.1:1883"}}))
try("brokers not a list", with({reconnect = {brokers = {[2] = {host = "h"}}}}))
try("brokers mixed", with({reconnect = {brokers = {{host = "h"}, extra = {host = "h"}}}}))
try("broker type", with({reconnect = {brokers = {"h"}}}))
try("broker host missing", with({reconnect = {brokers = {{port = 1883}}}}))
try("broker host empty", with({reconnect = {brokers = {{host = ""}}}}))
try("broker port", with({reconnect = {brokers = {{host = "h"}, {host = "h", port = 0}}}}))
try("broker secure", with({reconnect = {brokers = {{host = "h", secure = 1}}}}))
try("broker unknown", with({reconnect = {brokers = {{host = "h", tls = true}}}}))
try("queue type", with({queue_while_offline = 1}))
try("store type", with({session_store = 42}))
try("store empty", with({session_store = ""}))
try("store sync", with({session_store = "x", session_store_sync = "always"}))
try("store sync alone", with({session_store_sync = "os"}))
try("store unusable", with({session_store = "/nonexistent/nmqtt/store"}))

-- publish
try("publish topic type", function() m:publish(nil, "x", 0, 0) end)
try("publish payload type", function() m:publish("t", {}, 0, 0) end)
try("publish qos 3", function() m:publish("t", "x", 3, 0) end)
try("publish qos -1", function() m:publish("t", "x", -1, 0) end)
try("publish qos type", function() m:publish("t", "x", "one", 0) end)
try("publish retain type", function() m:publish("t", "x", 0, "yes") end)
try("publish plus", function() m:publish("a/+/c", "x", 0, 0) end)
try("publish hash", function() m:publish("a/#", "x", 0, 0) end)
try("publish empty topic", function() m:publish("", "x", 0, 0) end)

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
try("unsubscribe filter", function() m:unsubscribe("#/a") end)
try("unsubscribe empty table", function() m:unsubscribe({}) end)
try("unsubscribe key", function() m:unsubscribe({[1] = "a"}) end)

-- on / lwt / connect
try("on event", function() m:on("connected", function() end) end)
try("on function", function() m:on("message", "print") end)
try("on reconnect function", function() m:on("reconnect", 1) end)
try("lwt topic", function() m:lwt("will/#", "x") end)
try("lwt qos", function() m:lwt("will", "x", 7) end)
try("lwt message", function() m:lwt("will", nil) end)
try("lwt topic type", function() m:lwt({}, "x") end)
try("connect host", function() m:connect(nil) end)
try("connect port 0", function() m:connect("127.0.0.1", 0) end)
try("connect port high", function() m:connect("127.0.0.1", 70000) end)
try("bad self", function() m.publish({}, "t", "x", 0, 0) end)
try("bad self string", function() m.close("client") end)

-- connected (or connecting): connect again, lwt
m:connect(arg[1], tonumber(arg[2]), false, function(c)
  try("connect twice", function() c:connect(arg[1], tonumber(arg[2])) end)
  c:close()
end)
try("connect while connecting", function() m:connect(arg[1], tonumber(arg[2])) end)

-- tmr
local t = tmr.create()
try("tmr interval 0", function() t:alarm(0, tmr.ALARM_SINGLE, function() end) end)
try("tmr mode", function() t:alarm(10, 3, function() end) end)
try("tmr function", function() t:register(10, tmr.ALARM_SINGLE, nil) end)
try("tmr static id", function() tmr.alarm(7, 10, tmr.ALARM_SINGLE, function() end) end)
try("tmr self", function() t.start({}) end)
try("tmr interval method", function() t:interval(-5) end)
