-- Argument errors of the WebSocket options (transport, path, headers, a broker's transport and path), each
-- caught with pcall and printed.
local function try(label, options)
  local ok, err = pcall(function() mqtt.Client("x", 30, nil, nil, 1, nil, options) end)
  print(label, ok, (tostring(err):gsub("^.-:%d+: ", "")))
end
try("transport number", {transport = 1})
try("transport http", {transport = "http"})
try("transport wss", {transport = "wss"})
try("path type", {transport = "ws", path = true})
try("path relative", {transport = "ws", path = "mqtt"})
try("path space", {transport = "ws", path = "/a b"})
try("headers string", {transport = "ws", headers = "X: y"})
try("header value type", {transport = "ws", headers = {["X-A"] = 1}})
try("header name", {transport = "ws", headers = {["X A"] = "v"}})
try("header name type", {transport = "ws", headers = {"v"}})
try("header name nul", {transport = "ws", headers = {["X\0Y"] = "v"}})
try("header crlf", {transport = "ws", headers = {["X-A"] = "v\r\nEvil: 1"}})
try("header reserved", {transport = "ws", headers = {host = "elsewhere"}})
try("broker transport", {reconnect = {brokers = {{host = "h", transport = "quic"}}}})
try("broker path", {reconnect = {brokers = {{host = "h", transport = "ws", path = 5}}}})
print("good", (pcall(mqtt.Client, "x", 30, nil, nil, 1, nil,
  {transport = "ws", path = "/ws", headers = {Authorization = "Bearer t"},
   reconnect = {brokers = {{host = "h", port = 80, transport = "ws", path = "/mqtt"}, {host = "h", transport = "tcp"}}}})))
