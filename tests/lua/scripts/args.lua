-- The standard arg table and the chunk's varargs, as the lua interpreter sets them.
print("arg[0]", (arg[0]:match("[^/]*$")))
print("#arg", #arg)
for i = 1, #arg do print("arg[" .. i .. "]", arg[i]) end
print("...", select("#", ...), ...)
print("globals", type(mqtt), type(tmr), type(print), type(require))
