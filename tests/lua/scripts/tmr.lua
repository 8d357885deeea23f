-- The tmr shim: timer objects (alarm, register, start, stop, unregister, interval, state) with the three
-- modes, and the pre-2019 static API on ids 0..6. Steps run one after the other.
local steps = {}
local function next_step() table.remove(steps, 1)() end

steps[#steps + 1] = function()
  local t = tmr.create()
  print("unregistered", t:state(), t:start(), t:stop())
  local fired = 0
  t:register(20, tmr.ALARM_SEMI, function(timer)
    fired = fired + 1
    print("semi fired", fired, timer == t, timer:state())
    if fired == 1 then
      print("restart", timer:start())
    else
      timer:unregister()
      print("unregistered", timer:state())
      next_step()
    end
  end)
  print("registered", t:state())
  print("start", t:start(), t:state())
  print("start again", t:start())
end

steps[#steps + 1] = function()
  local n = 0
  local t = tmr.create()
  print("alarm", t:alarm(10, tmr.ALARM_AUTO, function(timer)
    n = n + 1
    if n == 3 then
      print("auto fired 3 times, stop", timer:stop(), timer:state())
      print("stop again", timer:stop())
      next_step()
    end
  end))
end

steps[#steps + 1] = function()
  local t = tmr.create()
  local rearmed = false
  t:alarm(10, tmr.ALARM_SINGLE, function(timer)
    print("single fired, state", timer:state())
    print("start unregistered", timer:start())
    if not rearmed then
      rearmed = true
      print("re-armed from its callback", timer:alarm(10, tmr.ALARM_SINGLE, function()
        print("single fired again")
        next_step()
      end))
    end
  end)
end

steps[#steps + 1] = function()
  local t = tmr.create()
  local started = tmr.now()
  t:register(100000, tmr.ALARM_SINGLE, function()
    print("interval changed while running", tmr.now() - started < 50000000)
    next_step()
  end)
  t:start()
  t:interval(10)
  print("state after interval", t:state())
end

steps[#steps + 1] = function()
  local t = tmr.create()
  t:alarm(10, tmr.ALARM_SINGLE, function() print("NOT EXPECTED: stopped timer fired") end)
  print("stop armed", t:stop())
  local u = tmr.create()
  u:alarm(10, tmr.ALARM_AUTO, function() print("NOT EXPECTED: unregistered timer fired") end)
  u:unregister()
  print("unregister armed", u:state())
  tmr.create():alarm(50, tmr.ALARM_SINGLE, next_step)
end

-- static API (ids 0..6)
steps[#steps + 1] = function()
  print("static state", tmr.state(0))
  print("static alarm", tmr.alarm(0, 10, tmr.ALARM_AUTO, function()
    print("static 0 fired", tmr.state(0))
    print("static stop", tmr.stop(0), tmr.state(0))
    tmr.unregister(0)
    print("static unregistered", tmr.state(0))
    next_step()
  end))
end

steps[#steps + 1] = function()
  tmr.register(6, 100000, tmr.ALARM_SEMI, function()
    print("static 6 fired")
    next_step()
  end)
  print("static start", tmr.start(6), tmr.start(6))
  tmr.interval(6, 10)
end

steps[#steps + 1] = function()
  local a, b = tmr.now(), tmr.now()
  print("now", math.type(a), b >= a, tmr.time() >= 0)
  local before = tmr.now()
  tmr.delay(2000)
  print("delay", tmr.now() - before >= 2000)
  tmr.wdclr()
  -- the loop cannot be entered again from a callback
  print("reentry", pcall(mqtt.run))
  print("end")
end

next_step()
