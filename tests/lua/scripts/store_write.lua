-- The persistent session store (extension session_store): QoS 1 and 2 messages published before any
-- connection (queue_while_offline) are on disk when publish() returns; the process then ends without ever
-- connecting. store_resend.lua, run next with the same store, sends them.
-- arg: store_path
local m = mqtt.Client("nmqtt-lua-store", 30, nil, nil, 0, nil,
                      {session_store = arg[1], session_store_sync = "os", queue_while_offline = true})
print("queued", m:publish("nmqtt-test/store", "kept on disk, QoS 1", 1, 0))
print("queued", m:publish("nmqtt-test/store", "kept on disk, QoS 2", 2, 0))
os.exit(0)  -- at once: no close, nothing more written
