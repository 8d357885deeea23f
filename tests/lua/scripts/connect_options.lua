-- What connect sends, checked by the test in the broker's log: keepalive (0 disables it), cleansession
-- (default 1; 0/1/boolean), username and password.
-- arg: host port
local clients = {
  {id = "nmqtt-k0", args = {0}},                              -- keepalive 0: disabled, sent as 0
  {id = "nmqtt-default", args = {}},                          -- keepalive nil: 60; cleansession default 1
  {id = "nmqtt-c0", args = {45, nil, nil, 0}},                -- cleansession 0
  {id = "nmqtt-cfalse", args = {45, nil, nil, false}},        -- cleansession false
  {id = "nmqtt-user", args = {120, "alice", "secret"}},       -- the reference's example
}
local pending = #clients
for _, spec in ipairs(clients) do
  local m = mqtt.Client(spec.id, table.unpack(spec.args, 1, 4))
  m:connect(arg[1], tonumber(arg[2]), false, function(c)
    print("connected", spec.id)
    c:close()
  end, function(_, reason) print("connfail", spec.id, reason) end)
  m:on("offline", function()
    pending = pending - 1
    if pending == 0 then print("all closed") end
  end)
end
