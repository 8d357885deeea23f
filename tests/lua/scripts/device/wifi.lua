-- The wifi module's station: boot join, event order, the table and positional forms of sta.config, the
-- firmware's argument errors, disconnect, modes, eventmon register/unregister, and the constants.
local function try(name, f, ...)
  local ok, err = pcall(f, ...)
  print(name, ok, ok and "" or tostring(err):gsub("^bad argument #(%d) to '[^']*'", "bad argument #%1"))
end

print("constants", wifi.NULLMODE, wifi.STATION, wifi.SOFTAP, wifi.STATIONAP)
print("status constants", wifi.STA_IDLE, wifi.STA_CONNECTING, wifi.STA_WRONGPWD, wifi.STA_APNOTFOUND, wifi.STA_FAIL,
  wifi.STA_GOTIP)
local E = wifi.eventmon
print("events", E.STA_CONNECTED, E.STA_DISCONNECTED, E.STA_AUTHMODE_CHANGE, E.STA_GOT_IP, E.STA_DHCP_TIMEOUT,
  E.AP_STACONNECTED, E.AP_STADISCONNECTED, E.AP_PROBEREQRECVED, E.WIFI_MODE_CHANGED, E.EVENT_MAX)
print("reasons", E.reason.UNSPECIFIED, E.reason.ASSOC_LEAVE, E.reason.NO_AP_FOUND, E.reason["4WAY_HANDSHAKE_TIMEOUT"],
  E.reason.HANDSHAKE_TIMEOUT)
print("boot", wifi.getmode(), wifi.sta.status(), wifi.sta.getip(), wifi.sta.getrssi())
print("mac", wifi.sta.getmac(), string.format("%06x", node.chipid()), wifi.sta.gethostname())

try("config no table", wifi.sta.config, true)
try("config no ssid", wifi.sta.config, {pwd = "12345678"})
try("config ssid type", wifi.sta.config, {ssid = {}})
try("config ssid long", wifi.sta.config, {ssid = string.rep("s", 33)})
try("config pwd type", wifi.sta.config, {ssid = "x", pwd = true})
try("config pwd long", wifi.sta.config, {ssid = "x", pwd = string.rep("p", 65)})
try("config bssid", wifi.sta.config, {ssid = "x", bssid = "AA:BB"})
try("config auto", wifi.sta.config, {ssid = "x", auto = 1})
try("config save", wifi.sta.config, {ssid = "x", save = "yes"})
try("config got_ip_cb", wifi.sta.config, {ssid = "x", got_ip_cb = 1})
try("config connected_cb", wifi.sta.config, {ssid = "x", connected_cb = "f"})
try("positional short pwd", wifi.sta.config, "x", "short")
try("positional nil auto", wifi.sta.config, "x", "", nil)
try("positional bad auto", wifi.sta.config, "x", "", 2)
try("positional bad bssid", wifi.sta.config, "x", "", 1, "AA")
try("setmode", wifi.setmode, 9)
try("setmode save", wifi.setmode, wifi.STATION, 1)
try("setmode type", wifi.setmode, "station")
try("autoconnect", wifi.sta.autoconnect, 2)
try("sethostname", wifi.sta.sethostname, "-bad")
try("eventmon id", E.register, 11)
try("eventmon type", E.register, "x")

local step = 0
local function log(...) step = step + 1 print(step, ...) end

E.register(E.WIFI_MODE_CHANGED, function(T) log("mode changed", T.old_mode, T.new_mode) end)
E.register(E.STA_DISCONNECTED, function(T) log("disconnected", T.SSID, T.BSSID, T.reason, wifi.sta.status()) end)
E.register(E.STA_DHCP_TIMEOUT, function() log("never") end)
E.unregister(E.STA_DHCP_TIMEOUT)

local phase = 1
wifi.sta.config({ssid = "home", pwd = "password1", auto = true, save = false,
  connect_cb = function(T) log("connected", T.SSID, T.BSSID, T.channel, wifi.sta.getip(), wifi.sta.status()) end,
  got_ip_cb = function(T)
    log("got ip", T.IP, T.netmask, T.gateway, wifi.sta.status())
    log("getip", wifi.sta.getip())
    log("rssi", wifi.sta.getrssi())
    if phase == 1 then
      phase = 2
      wifi.sta.disconnect()
      log("after disconnect", wifi.sta.status(), wifi.sta.getip(), wifi.sta.getrssi())
      -- The old positional form, with auto 0: configured, not joined until connect().
      log("positional", wifi.sta.config("office", "", 0, "AA:BB:CC:DD:EE:FF"))
      log("status", wifi.sta.status())
      wifi.sta.connect()
    elseif phase == 2 then
      phase = 3
      log("setmode", wifi.setmode(wifi.SOFTAP), wifi.sta.status(), wifi.sta.getip())
      log("autoconnect", wifi.sta.autoconnect(1))
      log("setmode", wifi.setmode(wifi.STATIONAP, false))
    else
      log("sethostname", wifi.sta.sethostname("sensor-7"), wifi.sta.gethostname())
      log("mode", wifi.getmode())
    end
  end})
log("config returned", wifi.sta.status(), wifi.sta.getip())
