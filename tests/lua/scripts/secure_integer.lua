-- `secure` as the integer 0 still works (plain TCP) with one deprecation warning on stderr; 1 asks for TLS.
-- arg: host port
local m = mqtt.Client("nmqtt-secure-int", 30)
m:connect(arg[1], tonumber(arg[2]), 0, function(c)
  print("connected with secure = 0")
  c:close()
end)
m:on("offline", function(c)
  -- a second integer: no second warning
  c:connect(arg[1], tonumber(arg[2]), 1, function() print("NOT EXPECTED: TLS to a plain listener") end,
    function(_, reason) print("secure = 1 against a plain listener fails", reason) end)
  c:on("offline", nil)
end)
