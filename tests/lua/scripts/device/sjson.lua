-- The sjson module: decode (types, null, options), encode (arrays, objects, functions, null, NaN), the
-- streaming decoder (chunks, result, metatable and checkpath) and encoder (read sizes), errors and limits.
local function try(name, f, ...)
  local ok, err = pcall(f, ...)
  print(name, ok, ok and "" or tostring(err):gsub("^bad argument #(%d) to '[^']*'", "bad argument #%1"))
end
local t = sjson.decode('{"int":1,"big":18446744073709551615,"float":2.5,"exp":1e3,"s":"a\\u00e9\\n","list":[1,null,true,false],"obj":{}}')
print("decode", t.int, math.type(t.int), t.float, math.type(t.big), t.exp, math.type(t.exp), t.s == "a\195\169\n")
print("list", #t.list, t.list[1], t.list[2] == sjson.NULL, t.list[3], t.list[4], type(t.obj), next(t.obj))
print("NULL", type(sjson.NULL), sjson.decode("[null]")[1] == sjson.NULL)
print("null option", sjson.decode('{"a":null}', {null = "\0"}).a == "\0", sjson.decode('[null, 2]', {})[1], sjson.decode('[null, 2]', {})[2])
print("scalars", sjson.decode("3"), sjson.decode('"x"'), sjson.decode("true"))
print("trailing", sjson.decode('[7] tail')[1])
try("decode incomplete", sjson.decode, '{"a":')
try("decode empty", sjson.decode, '')
try("decode bad", sjson.decode, '[1,]')
try("decode type", sjson.decode, {})
local nest = string.rep("[", 21) .. string.rep("]", 21)
try("depth default", sjson.decode, nest)
print("depth 20 ok", type(sjson.decode(string.rep("[", 20) .. string.rep("]", 20))))
print("depth option", type(sjson.decode(nest, {depth = 30})))
try("depth clamp", sjson.decode, string.rep("[", 5) .. string.rep("]", 5), {depth = 2})

print("encode array", sjson.encode({1, 2, "three", {true, false}}))
print("encode holes", sjson.encode({[1] = 1, [3] = 3}))
print("encode empty", sjson.encode({}))
print("encode object", sjson.encode({key = "value"}), sjson.encode({[5] = "five", [-1] = "minus"}):len())
print("encode escapes", sjson.encode({"q\"b\\n\n\t\1"}))
print("encode numbers", sjson.encode({1.5, -0.25, 1e20, 0/0, math.huge, -math.huge, math.maxinteger}))
print("encode null", sjson.encode({sjson.NULL, "x"}), sjson.encode({"N", "x"}, {null = "N"}))
print("encode function", sjson.encode({function() return function() return {ok = 1} end end}))
local round = sjson.decode(sjson.encode({a = {1, 2, {b = "c"}}, d = true}))
print("round trip", round.a[3].b, round.a[2], round.d)
try("encode type", sjson.encode, "x")
try("encode userdata", sjson.encode, {io.stdout})
try("encode key", sjson.encode, {[true] = 1})
local deep = {} local cur = deep for _ = 1, 25 do cur[1] = {} cur = cur[1] end
try("encode depth", sjson.encode, deep)
print("encode depth option", #sjson.encode(deep, {depth = 30}))

local d = sjson.decoder()
print("stream", d:write("[10, 1"), d:write("1"), d:write(" "))
try("result early", d.result, d)
local r = d:write(', "foo"]')
print("stream done", r[1], r[2], r[3], d:result() == r, d:write("ignored") == r)
local bad = sjson.decoder()
try("stream error", bad.write, bad, "[1,}")
try("stream after error", bad.write, bad, "]")
local numbers = sjson.decoder()
print("split number", numbers:write("12"), numbers:write("34 "), numbers:result())

local log = {}
local mt = {
  __newindex = function(tab, k, v) log[#log + 1] = "set " .. tostring(k) .. "=" .. type(v) rawset(tab, k, v) end,
  checkpath = function(tab, path) log[#log + 1] = "path " .. table.concat(path, "/") return path[1] ~= "skip" end,
}
local v = sjson.decoder({metatable = mt}):write('{"keep":[1,{"x":2}],"skip":{"y":3}}')
print("metatable", v.keep[2].x, v.skip, getmetatable(v) == mt, getmetatable(v.keep) == mt)
print(table.concat(log, ", "))
try("checkpath error", sjson.decode, '{"a":1}', {metatable = {checkpath = function() error("boom", 0) end}})

local e = sjson.encoder({list = {1, 2, 3}})
local chunks = {}
while true do local c = e:read(4) if not c then break end chunks[#chunks + 1] = c end
print("encoder", table.concat(chunks, "|"), e:read())
local e2 = sjson.encoder({string.rep("x", 2000)})
print("encoder default", #e2:read(), #e2:read(), e2:read(), #sjson.encoder({"ab"}):read(0))
