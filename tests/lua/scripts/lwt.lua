-- The last will: not published after close() (DISCONNECT sent: NodeMCU bug 3031 not reproduced), published
-- after the connection is cut. A cut connection runs "offline" only, never "connfail".
-- arg: host port proxy_port   (proxy_port forwards to the broker; the test cuts it after "ready")
local T = dofile((arg[0]:match("^(.*/)") or "") .. "common.lua")
local proxy_port = tonumber(arg[3])
local will_topic = T.topic("will")
local observer = mqtt.Client(T.id("lwt-observer"), 30)
local phase = "close"
local events = {}

local function victim_client(name, port, on_connected)
  local v = mqtt.Client(T.id(name), 30)
  print(name .. " lwt", v:lwt(will_topic, name .. " is gone", 1, 0))
  v:on("connfail", function(_, reason) print("NOT EXPECTED: connfail", reason) end)
  v:connect(T.host, port, false, on_connected)
  return v
end

observer:on("message", function(c, topic, data)
  if phase == "close" then
    -- the marker is the first message after the clean close: no will came before it
    print("after clean close, first message:", data)
    phase = "cut"
    victim_client("cut-victim", proxy_port, function(v)
      v:on("offline", function()
        events[#events + 1] = "cut-victim offline"
        if #events == 2 then T.print_sorted(events); c:close() end
      end)
      print("ready")
    end)
  else
    events[#events + 1] = "will: " .. data
    if #events == 2 then T.print_sorted(events); c:close() end
  end
end)

observer:connect(T.host, T.port, false, function(c)
  c:subscribe(will_topic, 1, function()
    victim_client("closing-victim", T.port, function(v)
      v:on("offline", function()
        print("closing-victim offline")
        c:publish(will_topic, "marker", 1, 0)
      end)
      print("closing-victim close", v:close())
    end)
  end)
end)
