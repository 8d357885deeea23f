-- Shared by the test scripts: broker address from arg, unique names, and small helpers.
--   local T = dofile((arg[0]:match("^(.*/)") or "") .. "common.lua")
local T = {}
T.host = arg[1] or "127.0.0.1"
T.port = tonumber(arg[2] or "1883")
math.randomseed(os.time() + tmr.now())
T.tag = string.format("%08x", math.random(0, 0x7fffffff))

-- A client id / topic unique to this run.
function T.id(name) return "nmqtt-" .. name end
function T.topic(name) return "nmqtt-test/" .. T.tag .. "/" .. name end

-- Fails the script (exit 1 with traceback) unless `condition` holds.
function T.check(condition, message)
  if not condition then error("check failed: " .. message, 2) end
end

-- The keys of a table, sorted.
function T.keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

-- Prints the lines of `list` sorted (for events whose order the protocol does not fix).
function T.print_sorted(list)
  table.sort(list)
  for _, line in ipairs(list) do print(line) end
end

-- The cap of the delay before reconnection attempt n: min(max, initial * multiplier^(n-1)) (docs/lua.md).
function T.cap(n, initial, max, multiplier)
  return math.min(max, math.floor(initial * (multiplier or 2) ^ (n - 1)))
end

-- One line for the "reconnect" callback's info table (extension), with the client's state. `ports` names the
-- ports of this run ({[1883] = "broker"}) so that the line does not depend on them; `cap` is the delay cap
-- of attempt n for this client (delay_ms is checked against it, and must be 0 when giving up).
function T.reconnect_line(label, client, info, ports, cap)
  local delay
  if info.kind == "gave_up" then
    delay = info.delay_ms == 0 and "0" or ("BAD " .. info.delay_ms)
  else
    delay = (info.delay_ms >= 0 and info.delay_ms <= cap(info.attempt)) and "ok" or ("BAD " .. info.delay_ms)
  end
  local message = info.message == nil and "nil" or (#info.message > 0 and "text" or "empty")
  return string.format("%s reconnect %s attempt=%d delay=%s reason=%s code=%s message=%s %s:%s secure=%s "
                       .. "giving_up=%s state=%s", label, info.kind, info.attempt, delay, tostring(info.reason),
                       tostring(info.code), message, info.host, ports[info.port] or info.port,
                       tostring(info.secure), tostring(info.giving_up), client:state())
end

return T
