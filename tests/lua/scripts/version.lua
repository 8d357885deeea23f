-- Prints the version of the Lua running the script (LuaModule.BuiltAgainstTheChosenLuaVersion).
print(_VERSION)
