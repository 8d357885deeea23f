-- node.restart() and node.dsleep(): the script runs again in a fresh Lua state; a file in the file system
-- folder counts the boots.
local boots = tonumber(file.getcontents("boots") or "0") + 1
file.putcontents("boots", tostring(boots))
local rawcode, reason = node.bootreason()
print("boot", boots, rawcode, reason, leftover)
leftover = "globals do not survive"
local mode = ...
if boots == 1 then
  tmr.create():alarm(10, tmr.ALARM_SINGLE, function()
    if mode == "dsleep" then node.dsleep(1000) else node.restart() end
    print("the callback finishes first")
  end)
elseif boots == 2 then
  node.restart()
  print("the main chunk finishes first")
else
  node.dsleep(0)
end
