// The `node` module of `nmqtt run`: NodeMCU's node functions on a simulated chip. chipid() follows the station
// MAC, restart() and dsleep() end the event loop and let the runner start the script again in a fresh Lua state
// (tools/nmqtt/run.cpp), input()/output() go through the event loop as the firmware's stdin/stdout pipes do.
// Argument parsing follows nodemcu-firmware app/modules/node.c.
#include <asio/post.hpp>

#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <string>

#include "args.hpp"
#include "device_support.hpp"
#include "lua_api.hpp"

namespace nmqtt::lua {
namespace {

constexpr const char* tasks_type = "node.tasks";
const char tasks_key = 0;  // registry: the task queue userdata (its uservalue: ref -> function)

constexpr int node_version_major = 3;
constexpr int node_version_minor = 0;
constexpr int node_version_revision = 0;
constexpr std::uint32_t flash_size = 4 * 1024 * 1024;
constexpr int flash_mode_dio = 2;
constexpr int flash_speed = 40'000'000;
constexpr std::uint64_t max_sleep_us = 36'000'000'000ULL;
constexpr int cpu80mhz = 80;
constexpr int cpu160mhz = 160;
enum Egc : int { egc_not_active = 0, egc_on_alloc_failure = 1, egc_on_mem_limit = 2, egc_always = 4 };

/// node.task.post(): functions run from the event loop, in order; the loop stays alive while any is queued.
class TaskQueue final : public Object {
public:
    explicit TaskQueue(Runtime& runtime) : Object(runtime) {}
    ~TaskQueue() override { mark_collected(); }
    void set_self(std::weak_ptr<TaskQueue> self) { self_ = std::move(self); }

    void post(int ref) {
        refs_.push_back(ref);
        set_anchored(true);
        asio::post(runtime().io(), [self = self_] {
            if (auto tasks = self.lock(); tasks && !tasks->is_collected()) tasks->run_one();
        });
    }

private:
    void run_one() {
        if (refs_.empty()) return;
        const int ref = refs_.front();
        refs_.pop_front();
        runtime().call([ref](lua_State* L) {
            lua_rawgetp(L, LUA_REGISTRYINDEX, &tasks_key);
            lua_getuservalue(L, -1);
            lua_rawgeti(L, -1, ref);
            luaL_unref(L, -2, ref);
            if (lua_type(L, -1) == LUA_TFUNCTION) lua_call(L, 0, 0);
        });
        if (refs_.empty()) set_anchored(false);
    }

    std::weak_ptr<TaskQueue> self_;
    std::deque<int> refs_;
};

using ObjectSlot = std::shared_ptr<Object>;

int tasks_gc(lua_State* L) {
    auto* slot = static_cast<ObjectSlot*>(luaL_testudata(L, 1, tasks_type));
    if (slot != nullptr && *slot) {
        ObjectSlot object = std::move(*slot);
        slot->reset();
        object->runtime().bury(std::move(object));
    }
    return 0;
}

void create_tasks(lua_State* L) {
    Runtime& runtime = Runtime::of(L);
    luaL_newmetatable(L, tasks_type);
    lua_pushcfunction(L, tasks_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    auto* slot = static_cast<ObjectSlot*>(lua_newuserdata(L, sizeof(ObjectSlot)));
    new (slot) ObjectSlot();
    luaL_setmetatable(L, tasks_type);
    lua_newtable(L);
    lua_setuservalue(L, -2);
    auto tasks = std::make_shared<TaskQueue>(runtime);
    tasks->set_self(tasks);
    *slot = tasks;
    runtime.register_object(L, -1, tasks.get());
    lua_rawsetp(L, LUA_REGISTRYINDEX, &tasks_key);
}

int node_chipid(lua_State* L) {
    lua_pushinteger(L, device_chip_id(device_options(L, "node")));
    return 1;
}

int node_flashid(lua_State* L) {
    lua_pushinteger(L, device_options(L, "node").flash_id);
    return 1;
}

int node_flashsize(lua_State* L) {
    lua_pushinteger(L, flash_size);
    return 1;
}

int node_heap(lua_State* L) {
    lua_pushinteger(L, device_options(L, "node").heap);
    return 1;
}

void add_integer(lua_State* L, const char* name, lua_Integer value) {
    lua_pushinteger(L, value);
    lua_setfield(L, -2, name);
}

void add_string(lua_State* L, const char* name, const char* value) {
    lua_pushstring(L, value);
    lua_setfield(L, -2, name);
}

int info_legacy(lua_State* L, const DeviceOptions& options) {
    if (Runtime::of(L).first_time("node.info legacy")) {
        std::fputs("Warning, deprecated API! node.info() without parameter. It will be removed in the next "
                   "version. See documentation for details.\n", stderr);
    }
    for (const lua_Integer value : {lua_Integer{node_version_major}, lua_Integer{node_version_minor},
                                    lua_Integer{node_version_revision}, lua_Integer{device_chip_id(options)},
                                    lua_Integer{options.flash_id}, lua_Integer{flash_size / 1024},
                                    lua_Integer{flash_mode_dio}, lua_Integer{flash_speed}}) {
        lua_pushinteger(L, value);
    }
    return 8;
}

// node.info([group]): "lfs", "hw", "sw_version", "build_config"; none: the legacy 8 values
int node_info(lua_State* L) {
    const DeviceOptions& options = device_options(L, "node");
    static const char* const groups[] = {"lfs", "hw", "sw_version", "build_config", "legacy", nullptr};
    switch (luaL_checkoption(L, 1, "legacy", groups)) {
    case 0:
        lua_createtable(L, 0, 4);
        for (const char* name : {"lfs_mapped", "lfs_base", "lfs_size", "lfs_used"}) add_integer(L, name, 0);
        return 1;
    case 1:
        lua_createtable(L, 0, 5);
        add_integer(L, "chip_id", device_chip_id(options));
        add_integer(L, "flash_id", options.flash_id);
        add_integer(L, "flash_size", flash_size / 1024);
        add_integer(L, "flash_mode", flash_mode_dio);
        add_integer(L, "flash_speed", flash_speed);
        return 1;
    case 2:
        lua_createtable(L, 0, 7);
        add_integer(L, "node_version_major", node_version_major);
        add_integer(L, "node_version_minor", node_version_minor);
        add_integer(L, "node_version_revision", node_version_revision);
        add_string(L, "git_branch", "nmqtt");
        add_string(L, "git_commit_id", NMQTT_VERSION_STRING);
        add_string(L, "git_release", "nmqtt " NMQTT_VERSION_STRING);
        add_string(L, "git_commit_dts", "");
        return 1;
    case 3:
        lua_createtable(L, 0, 4);
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "ssl");
        add_integer(L, "lfs_size", 0);
        add_string(L, "modules", "adc,file,gpio,mqtt,node,sjson,tls,tmr,wifi");
        add_string(L, "number_type", "float");
        return 1;
    default: return info_legacy(L, options);
    }
}

int node_restart(lua_State* L) {
    Runtime::of(L).request_reset({});
    return 0;
}

// node.dsleep([us[, option[, instant]]]): a number `us` sleeps (0: forever); option 0..4 is taken and ignored.
// The firmware's range checks pass their arguments in the wrong order and never raise: neither does nmqtt.
int node_dsleep(lua_State* L) {
    if (lua_isnumber(L, 3) != 0) static_cast<void>(check_lua_integer(L, 3));
    if (lua_isnumber(L, 1) == 0) return 0;
    std::uint64_t us = lua_isinteger(L, 1) != 0 ? static_cast<std::uint64_t>(lua_tointeger(L, 1))
                                                : static_cast<std::uint64_t>(lua_tonumber(L, 1));
    if (us >= max_sleep_us) us = max_sleep_us - 1;
    Runtime::of(L).request_reset({true, static_cast<std::int64_t>(us)});
    return 0;
}

// node.setcpufreq(f): 160 selects 160 MHz, anything else 80 MHz (the firmware's test); returns the clock.
int node_setcpufreq(lua_State* L) {
    Runtime& runtime = Runtime::of(L);
    runtime.set_cpu_mhz(check_lua_integer(L, 1) == cpu160mhz ? cpu160mhz : cpu80mhz);
    lua_pushinteger(L, runtime.cpu_mhz());
    return 1;
}

int node_getcpufreq(lua_State* L) {
    lua_pushinteger(L, Runtime::of(L).cpu_mhz());
    return 1;
}

int node_bootreason(lua_State* L) {
    const DeviceOptions& options = device_options(L, "node");
    lua_pushinteger(L, options.boot_rawcode);
    lua_pushinteger(L, options.boot_reason);
    return 2;
}

// node.task.post([priority, ]function)
int node_task_post(lua_State* L) {
    int arg = 1;
    if (lua_type(L, 1) == LUA_TNUMBER) {
        const lua_Integer priority = check_lua_integer(L, 1);
        if (priority < 0 || priority > 2) throw ArgError(1, "invalid priority");
        arg = 2;
    }
    if (lua_type(L, arg) != LUA_TFUNCTION) throw type_error(L, arg, "function");
    lua_pushvalue(L, arg);
    post_task(L);
    return 0;
}

int lua_writer(lua_State*, const void* data, std::size_t size, void* file) {
    return size == 0 || std::fwrite(data, 1, size, static_cast<std::FILE*>(file)) == size ? 0 : 1;
}

// Loads the file at `path` as a chunk named after its flash name (as on the device: "@hello.lua").
void load_source(lua_State* L, const std::filesystem::path& path, const std::string& name) {
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (file == nullptr) throw LuaError("cannot open " + name);
    std::string text;
    char block[4096];
    for (std::size_t n = 0; (n = std::fread(block, 1, sizeof block, file)) > 0;) text.append(block, n);
    std::fclose(file);
    const std::string chunk_name = "@" + name;
    if (luaL_loadbuffer(L, text.data(), text.size(), chunk_name.c_str()) != LUA_OK) {
        throw LuaError(lua_tostring(L, -1));
    }
}

// node.compile("name.lua"): name.lc beside it in the file system folder, stripped of debug information.
int node_compile(lua_State* L) {
    const DeviceOptions& options = device_options(L, "node");
    check_flash_name(L, 1);
    const std::string name(check_string(L, 1));
    if (name.size() < 4 || name.compare(name.size() - 4, 4, ".lua") != 0) throw LuaError("not a .lua file");
    const auto source = resolve_flash_path(options, name, "node.compile");
    const auto target = resolve_flash_path(options, name.substr(0, name.size() - 2) + "c", "node.compile");
    if (!source || !target) throw LuaError("cannot open/write to file");
    load_source(L, *source, name);
    std::FILE* file = std::fopen(target->c_str(), "wb");
    if (file == nullptr) throw LuaError("cannot open/write to file");
    const int result = lua_dump(L, lua_writer, file, 1);
    const bool closed = std::fclose(file) == 0;
    if (result != 0 || !closed) throw LuaError("writing to file failed");
    return 0;
}

// node.egc.setmode(mode[, limit]): checked as the firmware checks it; the desktop collector is left alone.
int egc_setmode(lua_State* L) {
    const lua_Integer mode = check_lua_integer(L, 1);
    const lua_Integer limit = lua_isnoneornil(L, 2) ? 0 : check_lua_integer(L, 2);
    if (mode < 0 || mode > (egc_on_alloc_failure | egc_on_mem_limit | egc_always)) throw ArgError(1, "invalid mode");
    if ((mode & egc_on_mem_limit) != 0 && limit == 0) throw ArgError(1, "limit must be non-zero");
    return 0;
}

int egc_meminfo(lua_State* L) {
    const lua_Integer bytes = lua_Integer{lua_gc(L, LUA_GCCOUNT, 0)} * 1024 + lua_gc(L, LUA_GCCOUNTB, 0);
    lua_pushinteger(L, bytes);
    lua_pushinteger(L, bytes);
    return 2;
}

// The stdin/stdout pipes of the firmware's interpreter, in Lua: node.input() queues text that runs as a chunk
// once it is complete (errors printed, as the device's console does); node.output(fn, serial) sends all print()
// output to a pipe that fn reads from the event loop (fn(pipe) returns true to be called again, false not to).
constexpr const char* console_code = R"lua(
local post, write = ...
local input_text, reader, serial, pipe, reader_posted = "", nil, true, nil, false
local function new_pipe()
  local chunks = {}
  local p = {}
  function p:write(...) for i = 1, select("#", ...) do chunks[#chunks + 1] = tostring((select(i, ...))) end end
  function p:unread(s) table.insert(chunks, 1, s) end
  function p:read(spec)
    local all = table.concat(chunks)
    if all == "" then chunks = {} return nil end
    local n
    if type(spec) == "number" then n = math.max(1, math.floor(spec))
    else
      spec = spec or "\n+"
      local at = all:find(spec:sub(1, 1), 1, true)
      if not at then n = #all
      elseif spec:sub(2, 2) == "+" then n = at
      else chunks = {all:sub(at + 1)} return all:sub(1, at - 1) end
    end
    chunks = {all:sub(n + 1)}
    return all:sub(1, n)
  end
  function p:reader(spec) return function() return p:read(spec) end end
  return p
end
local function run_reader()
  reader_posted = false
  if not reader then return end
  local again = reader(pipe)
  if again == true then reader_posted = true post(run_reader) end
end
local function emit(text)
  if reader then
    pipe:write(text)
    if not reader_posted then reader_posted = true post(run_reader) end
    if serial then write(text) end
  else
    write(text)
  end
end
local function print_(...)
  local parts = {}
  for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
  emit(table.concat(parts, "\t") .. "\n")
end
local function output(fn, serial_debug)
  if type(fn) == "function" then
    reader, pipe = fn, new_pipe()
    serial = not (math.type(serial_debug) and serial_debug == 0)
  else
    reader, pipe, serial = nil, nil, true
  end
end
local function run_input()
  local chunk, err = load(input_text, "=stdin")
  if not chunk then
    if err:sub(-5) == "<eof>" then return end
    input_text = ""
    print_(err)
    return
  end
  input_text = ""
  local ok, message = pcall(chunk)
  if not ok then print_(message) end
end
local function input(text)
  if type(text) ~= "string" and type(text) ~= "number" then
    error("bad argument #1 to 'input' (string expected, got " .. type(text) .. ")", 2)
  end
  input_text = input_text .. text
  post(run_input)
end
return print_, output, input
)lua";

int post_from_lua(lua_State* L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, 1);
    post_task(L);
    return 0;
}

int write_stdout(lua_State* L) {
    std::size_t size = 0;
    const char* text = luaL_checklstring(L, 1, &size);
    std::fwrite(text, 1, size, stdout);
    return 0;
}

// Sets node.output, node.input and the global print from console_code.
void add_console(lua_State* L) {
    if (luaL_loadbuffer(L, console_code, std::strlen(console_code), "=node.console") != LUA_OK) lua_error(L);
    lua_pushcfunction(L, post_from_lua);
    lua_pushcfunction(L, write_stdout);
    lua_call(L, 2, 3);
    lua_setfield(L, -4, "input");
    lua_setfield(L, -3, "output");
    lua_setglobal(L, "print");
}

int open_node_impl(lua_State* L) {
    device_options(L, "node");
    create_tasks(L);
    static const luaL_Reg functions[] = {
        {"chipid", guarded<node_chipid>},       {"flashid", guarded<node_flashid>},
        {"flashsize", guarded<node_flashsize>}, {"heap", guarded<node_heap>},
        {"info", guarded<node_info>},           {"restart", guarded<node_restart>},
        {"dsleep", guarded<node_dsleep>},       {"bootreason", guarded<node_bootreason>},
        {"compile", guarded<node_compile>},     {"setcpufreq", guarded<node_setcpufreq>},
        {"getcpufreq", guarded<node_getcpufreq>}, {nullptr, nullptr}};
    luaL_newlib(L, functions);
    add_integer(L, "CPU80MHZ", cpu80mhz);
    add_integer(L, "CPU160MHZ", cpu160mhz);
    static const luaL_Reg egc_functions[] = {
        {"setmode", guarded<egc_setmode>}, {"meminfo", guarded<egc_meminfo>}, {nullptr, nullptr}};
    luaL_newlib(L, egc_functions);
    add_integer(L, "NOT_ACTIVE", egc_not_active);
    add_integer(L, "ON_ALLOC_FAILURE", egc_on_alloc_failure);
    add_integer(L, "ON_MEM_LIMIT", egc_on_mem_limit);
    add_integer(L, "ALWAYS", egc_always);
    lua_setfield(L, -2, "egc");
    static const luaL_Reg task_functions[] = {{"post", guarded<node_task_post>}, {nullptr, nullptr}};
    luaL_newlib(L, task_functions);
    add_integer(L, "LOW_PRIORITY", 0);
    add_integer(L, "MEDIUM_PRIORITY", 1);
    add_integer(L, "HIGH_PRIORITY", 2);
    lua_setfield(L, -2, "task");
    add_console(L);
    return 1;
}

}  // namespace

void post_task(lua_State* L) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &tasks_key);
    auto* slot = static_cast<ObjectSlot*>(luaL_testudata(L, -1, tasks_type));
    if (slot == nullptr || !*slot) {
        lua_pop(L, 2);
        return;
    }
    lua_getuservalue(L, -1);
    lua_pushvalue(L, -3);
    const int ref = luaL_ref(L, -2);
    lua_pop(L, 3);
    static_cast<TaskQueue&>(**slot).post(ref);
}

const DeviceOptions& device_options(lua_State* L, const char* module) {
    const DeviceOptions* options = Runtime::of(L).device();
    if (options == nullptr) throw LuaError(std::string(module) + ": only available under nmqtt run");
    return *options;
}

int open_node(lua_State* L) { return guarded<open_node_impl>(L); }

}  // namespace nmqtt::lua
