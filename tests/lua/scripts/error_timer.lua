-- An error raised with a non-string value in a timer callback.
tmr.create():alarm(10, tmr.ALARM_SINGLE, function()
  print("timer fired")
  error({code = 42})
end)
