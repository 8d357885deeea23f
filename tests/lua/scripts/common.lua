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

return T
