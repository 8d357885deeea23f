-- An error in the main chunk: message and traceback on stderr, status 1, nothing else runs.
tmr.create():alarm(10, tmr.ALARM_SINGLE, function() print("NOT EXPECTED") end)
print("before the error")
local function inner() error("boom in the main chunk") end
inner()
