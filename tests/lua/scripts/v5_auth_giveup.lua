-- An "auth" callback returning nil gives up: the attempt fails with connfail 5 (not authorized).
-- client:reauth() without an authentication_method is an error.
local T = dofile((arg[0]:match("^(.*/)") or "") .. "common.lua")
local plain = mqtt.Client(T.id("v5-plain"), 30, nil, nil, 1, nil, {protocol = 5})
print("no method", pcall(plain.reauth, plain))
local m = mqtt.Client(T.id("v5-giveup"), 30, nil, nil, 1, nil, {protocol = 5, authentication_method = "M"})
m:on("auth", function(_, data) print("challenge", data) return nil end)
m:connect(T.host, T.port, false, function() print("connected") end,
          function(_, reason) print("connfail", reason) end)
