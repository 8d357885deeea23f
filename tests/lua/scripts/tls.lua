-- TLS: secure = true with the TLS options of the extension table (CA file, client certificate and key,
-- verification). Prints "connected" or the failure reason.
-- arg: host port ca_file [cert_file key_file]
local options = {ca_file = arg[3], cert_file = arg[4], key_file = arg[5]}
local m = mqtt.Client("nmqtt-tls", 30, nil, nil, 1, nil, options)
m:connect(arg[1], tonumber(arg[2]), true, function(c)
  print("connected")
  c:subscribe("tls/t", 1, function()
    c:publish("tls/t", "over tls", 2, 0)
  end)
  c:on("message", function(client, topic, data)
    print("message", topic, data)
    client:close()
  end)
end, function(_, reason)
  print("connfail", reason)
end)
