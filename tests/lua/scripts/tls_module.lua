-- The tls module (firmware API): the CA only through tls.cert.verify(pem), the client certificate only
-- through tls.cert.auth(cert, key); settings apply to connections opened after the call.
-- arg: host tls_port ca.pem client.pem client.key other_ca.pem mode [other_ca.key]
-- mode: "verify" | "auth" | "wrong-ca" | "verify-off" | "bad"
local function read(path)
  local f = assert(io.open(path, "rb")); local s = f:read("a"); f:close(); return s
end
local host, port, mode = arg[1], tonumber(arg[2]), arg[7]

if mode == "bad" then
  local function try(label, f)
    local ok, err = pcall(f)
    print(label, ok and "NO ERROR" or (tostring(err):gsub("^[^:]*:%d+: ", "")))
  end
  try("verify garbage", function() tls.cert.verify("not a certificate") end)
  try("auth no key", function() tls.cert.auth(read(arg[4])) end)
  try("auth wrong key", function() tls.cert.auth(read(arg[4]), read(arg[8])) end)
  try("auth true before any", function() tls.cert.auth(true) end)
  try("verify callback error", function() tls.cert.verify(function() error("boom") end) end)
  try("setDebug type", function() tls.setDebug("x") end)
  print("setMaxFragmentLength", tls.setMaxFragmentLength(4096))
  print("setDebug", tls.setDebug(0))
  return
end

if mode == "wrong-ca" then
  print("verify", tls.cert.verify(read(arg[6])))
elseif mode == "verify-off" then
  print("verify", tls.cert.verify(false))
else
  print("verify", tls.cert.verify(read(arg[3])))
end
if mode == "auth" then
  print("auth", tls.cert.auth(read(arg[4]), read(arg[5])))
end

local m = mqtt.Client("nmqtt-tls-module-" .. mode, 30)
m:connect(host, port, true, function(c)
  print("connected")
  c:close()
end, function(_, reason)
  print("connfail", reason)
end)
