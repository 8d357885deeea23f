-- The file module on a scratch folder (--fs): object and basic model, modes, read forms, seek, list, exists,
-- remove, rename, fsinfo, stat, getcontents/putcontents, and names that would leave the folder.
local function try(name, f, ...)
  local ok, err = pcall(f, ...)
  print(name, ok, ok and "" or tostring(err):gsub("^bad argument #(%d) to '[^']*'", "bad argument #%1"))
end
try("no file yet", file.read)
-- Object model
local f = file.open("data.txt", "w+")
print("open w+", type(f), tostring(f):match("^file.obj") ~= nil)
print("write", f:write("line one\n"), f:writeline("line two"), f:write(42))
print("seek", f:seek("set"), f:seek("end"), f:seek("set", 5), f:seek())
print("read 3", f:read(3))
print("readline", f:readline())
print("read char", f:read("w"))
print("read default", f:read())
print("read at end", f:read())
print("flush", f:flush())
f:close()
try("closed object", f.read, f)
try("read arg", function() local g = file.open("data.txt") local ok, e = pcall(g.read, g, "ab") g:close() error(e, 0) end)

-- Modes
print("open missing r", file.open("missing.txt"), file.open("missing.txt", "r+"))
print("open bad mode", file.open("data.txt", "x"))
local a = file.open("data.txt", "a")
a:write("appended")
a:close()
print("after append", file.getcontents("data.txt"))
local r = file.open("data.txt", "r")
print("write on r", r:write("no"))
r:close()

-- Basic model: module functions on the last opened file
print("basic open", file.open("basic.txt", "w") ~= nil)
print("basic write", file.writeline("first"), file.write("second"))
file.close()
print("basic reopen", file.open("basic.txt") ~= nil)
print("basic read", file.readline(), file.read(100))
print("basic seek", file.seek("set", 1), file.read(4))
file.close()
print("basic after close", file.read(), file.write("x"), file.seek(), file.flush())
file.open("missing.txt")
try("after failed open", file.read)

-- Whole files
print("putcontents", file.putcontents("config.json", '{"a":1}'), file.getcontents("config.json"))
print("getcontents missing", select("#", file.getcontents("nope")))
print("empty", file.putcontents("empty", ""), file.getcontents("empty"))
print("sub folder", file.putcontents("www/index.html", "<p>"), file.getcontents("www/index.html"))

-- Names
print("exists", file.exists("data.txt"), file.exists("nope"), file.exists("www/index.html"))
print("rename", file.rename("basic.txt", "renamed.txt"), file.exists("basic.txt"), file.exists("renamed.txt"))
print("rename onto existing", file.rename("renamed.txt", "data.txt"), file.rename("nope", "x"))
print("remove", file.remove("renamed.txt"), file.exists("renamed.txt"))
local names = {}
for name, size in pairs(file.list()) do names[#names + 1] = name .. "=" .. size end
table.sort(names)
print("list", table.concat(names, " "))
local matched = {}
for name in pairs(file.list("%.json$")) do matched[#matched + 1] = name end
print("list pattern", table.concat(matched, " "))
local remaining, used, total = file.fsinfo()
print("fsinfo", remaining + used == total, used, total)
local st = file.stat("config.json")
print("stat", st.name, st.size, st.is_dir, type(st.time.year), file.stat("nope"))
print("fscfg", select("#", file.fscfg()))
print("/FLASH prefix", file.getcontents("/FLASH/config.json"))
try("long name", file.open, string.rep("n", 32))
try("name type", file.open, {})
try("on", file.on, "rtc", 1)
try("on event", file.on, "time")

-- Outside the folder: refused with the firmware's return values
print("escape open", file.open("../outside.txt", "w"), file.open("/etc/passwd"))
print("escape getcontents", select("#", file.getcontents("../outside.txt")))
print("escape putcontents", file.putcontents("sub/../../outside.txt", "x"))
print("escape exists", file.exists("../" .. arg[2]))
print("escape rename", file.rename("data.txt", "../stolen.txt"))
print("symlink", file.open("link/secret.txt"), file.getcontents("filelink"), file.exists("filelink"))
