-- tmr.softwd(), tmr.ccount(), node.getcpufreq()/setcpufreq(): a watchdog fed by a timer restarts the script
-- once the feeding stops; a disarmed one does nothing.
local boots = tonumber(file.getcontents("boots") or "0") + 1
file.putcontents("boots", tostring(boots))
local _, reason = node.bootreason()
print("boot", boots, reason, node.getcpufreq())
if boots == 1 then
  local ok, message = pcall(tmr.softwd)
  print(ok, message:match("number expected"))
  tmr.softwd(1)
  local feeder = tmr.create()
  feeder:alarm(200, tmr.ALARM_AUTO, function() tmr.softwd(1) end)
  tmr.create():alarm(700, tmr.ALARM_SINGLE, function()
    feeder:unregister()
    print("feeding stopped")
  end)
  -- still fed at 1.2 s: the first arming alone would have expired by then
  tmr.create():alarm(1200, tmr.ALARM_SINGLE, function() print("alive at 1.2 s") end)
else
  print(node.setcpufreq(node.CPU160MHZ), node.getcpufreq(), node.setcpufreq(7), node.CPU80MHZ)
  local a = tmr.ccount()
  tmr.delay(2000)
  local b = tmr.ccount()
  local ticks = (b - a) & 0xffffffff
  print("ccount", math.type(a), a >= -2147483648 and a <= 2147483647, ticks >= 160000, ticks < 80000000)
  tmr.softwd(0)
  tmr.softwd(-1)
  tmr.create():alarm(100, tmr.ALARM_SINGLE, function() print("disarmed: no restart") end)
end
