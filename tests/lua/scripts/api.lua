-- The module surface: constants with the reference's values, types, methods, require names, and what the
-- methods return with no connection at all.
local names = {
  "CONN_FAIL_SERVER_NOT_FOUND", "CONN_FAIL_NOT_A_CONNACK_MSG", "CONN_FAIL_DNS", "CONN_FAIL_TIMEOUT_RECEIVING",
  "CONN_FAIL_TIMEOUT_SENDING", "CONNACK_ACCEPTED", "CONNACK_REFUSED_PROTOCOL_VER", "CONNACK_REFUSED_ID_REJECTED",
  "CONNACK_REFUSED_SERVER_UNAVAILABLE", "CONNACK_REFUSED_BAD_USER_OR_PASS", "CONNACK_REFUSED_NOT_AUTHORIZED",
}
for _, name in ipairs(names) do print(name, mqtt[name], math.type(mqtt[name])) end
print("tmr", tmr.ALARM_SINGLE, tmr.ALARM_SEMI, tmr.ALARM_AUTO)
print("require", require("mqtt") == mqtt, require("tmr") == tmr, require("mqtt.tmr") == tmr)

local m = mqtt.Client("api-client", 60)
print("client", type(m), tostring(m):match("^mqtt%.client %(disconnected%)") ~= nil, getmetatable(m))
for _, method in ipairs({"connect", "close", "lwt", "on", "publish", "subscribe", "unsubscribe", "state"}) do
  print("method", method, type(m[method]))
end
print("state", m:state())
print("close", m:close())
print("publish", m:publish("a/b", "x", 0, 0))
print("subscribe", m:subscribe("a/#", 1))
print("subscribe table", m:subscribe({["a/1"] = 0, ["a/2"] = 2}))
print("unsubscribe", m:unsubscribe("a/#"))
print("unsubscribe table", m:unsubscribe({["a/1"] = true}))
print("lwt", m:lwt("will/topic", "gone", 1, 1))
print("on", m:on("message", function() end), m:on("message", nil))
-- positional nil means the default; extra options table (extension)
local d = mqtt.Client(nil, nil, nil, nil, nil, nil, {connect_timeout = 1000, connack_timeout = 1000, verify = true})
print("defaults", d:state())
local t = tmr.create()
print("timer", type(t), tostring(t):match("^tmr%.timer") ~= nil, getmetatable(t))
print("now", math.type(tmr.now()), tmr.now() >= 0, math.type(tmr.time()))
