-- transport = "ws" with path and headers: what the Upgrade request carries is checked by the test (a scripted
-- peer that refuses it with 403); the refusal reaches "connfail" / the on_fail callback as -5.
-- arg: host port
local T = dofile((arg[0]:match("^(.*/)") or "") .. "common.lua")
local m = mqtt.Client(T.id("ws-request"), 30, nil, nil, 1, nil,
  {transport = "ws", path = "/custom/path?x=1", headers = {["X-Token"] = "abc", Authorization = "Bearer t"}})
m:connect(T.host, T.port, false, function() print("connected?") end,
          function(_, reason) print("connfail", reason, reason == mqtt.CONN_FAIL_SERVER_NOT_FOUND) end)
