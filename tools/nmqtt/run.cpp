// nmqtt run [DEVICE OPTIONS] SCRIPT.lua [ARGS...]: runs a NodeMCU script on a simulated device (the globals
// mqtt, tmr, tls, wifi, node, file and the rest of the device modules), then the event loop.
//
// Exit status: 0 once no client is connected, connecting or closing, no timer is armed and no device event is
// pending; n for os.exit(n); 1 when the script or a callback raises an error (message and traceback on stderr,
// as the lua interpreter); 128 + signal on SIGINT (130) or SIGTERM (143), after every client was closed
// cleanly (DISCONNECT sent); 3 when node.restart() is called and no restart is left (--no-restart,
// --max-restarts); 4 when node.dsleep() is called and no restart is left, or with a sleep time of 0 (only the
// reset pin would wake the chip).
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "device_options.hpp"
#include "io_control.hpp"
#include "lua_api.hpp"

namespace nmqtt::cli {
namespace {

constexpr int exit_error = 1;
constexpr int exit_restart = 3;
constexpr int exit_dsleep = 4;
constexpr int exit_signal_base = 128;
constexpr int boot_rawcode_reset = 2;
constexpr int boot_reason_restart = 4;
constexpr int boot_reason_deep_sleep = 5;

struct RunArgs {
    std::string script;
    std::vector<std::string> args;
    nmqtt::lua::DeviceOptions device;
    std::string mac;
    std::vector<std::string> pins;
    std::uint64_t max_restarts = std::numeric_limits<std::uint64_t>::max();
    bool no_restart = false;
    int join_delay_ms = 50;
};

struct LuaCloser {
    void operator()(lua_State* L) const noexcept { lua_close(L); }
};

void report(const char* message) { fmt::print(stderr, "nmqtt: {}\n", message != nullptr ? message : "(no message)"); }

struct OpenContext {
    std::shared_ptr<const nmqtt::lua::DeviceOptions> device;
};

// Standard libraries plus mqtt, tmr, tls and the device modules, inside a protected call (they may raise on
// lack of memory).
int open_libraries(lua_State* L) {
    const auto* context = static_cast<const OpenContext*>(lua_touserdata(L, 1));
    luaL_openlibs(L);
    nmqtt::lua::open_globals(L);
    nmqtt::lua::open_device_modules(L, context->device);
    return 0;
}

// arg[0] = script, arg[1..n] = arguments, arg[-1] = "nmqtt" (as the lua interpreter's arg table); the
// arguments are also pushed as the chunk's varargs.
int push_arguments(lua_State* L, const RunArgs& run) {
    lua_createtable(L, static_cast<int>(run.args.size()), 2);
    lua_pushliteral(L, "nmqtt");
    lua_rawseti(L, -2, -1);
    lua_pushstring(L, run.script.c_str());
    lua_rawseti(L, -2, 0);
    for (std::size_t i = 0; i < run.args.size(); ++i) {
        lua_pushstring(L, run.args[i].c_str());
        lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
    }
    lua_setglobal(L, "arg");
    luaL_checkstack(L, static_cast<int>(run.args.size()) + 1, "too many arguments to script");
    for (const auto& arg : run.args) lua_pushstring(L, arg.c_str());
    return static_cast<int>(run.args.size());
}

// Loads and runs the main chunk. Returns false (after reporting) when it failed.
bool run_main_chunk(lua_State* L, const RunArgs& run) {
    lua_pushcfunction(L, nmqtt::lua::message_handler);
    const int handler = lua_gettop(L);
    const char* file = run.script == "-" ? nullptr : run.script.c_str();
    if (luaL_loadfile(L, file) != LUA_OK) {
        report(lua_tostring(L, -1));
        return false;
    }
    const int nargs = push_arguments(L, run);
    if (lua_pcall(L, nargs, 0, handler) != LUA_OK) {
        report(lua_tostring(L, -1));
        return false;
    }
    lua_settop(L, 0);
    return true;
}

/// One boot of the device: a fresh Lua state, the main chunk, the event loop. Returns the exit status, or
/// std::nullopt with `reset` set when node.restart()/node.dsleep() ended it.
std::optional<int> boot(const RunArgs& run, const nmqtt::lua::DeviceOptions& device,
                        std::optional<nmqtt::lua::ResetRequest>& reset) {
    const std::unique_ptr<lua_State, LuaCloser> state(luaL_newstate());
    lua_State* L = state.get();
    if (L == nullptr) {
        report("cannot create a Lua state: not enough memory");
        return exit_error;
    }
    OpenContext context{std::make_shared<const nmqtt::lua::DeviceOptions>(device)};
    lua_pushcfunction(L, open_libraries);
    lua_pushlightuserdata(L, &context);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        report(lua_tostring(L, -1));
        return exit_error;
    }
    nmqtt::lua::catch_signals(L);  // before the main chunk, so that an early Ctrl-C is not lost
    if (!run_main_chunk(L, run)) return exit_error;
    reset = nmqtt::lua::reset_request(L);
    if (reset) return std::nullopt;
    const nmqtt::lua::LoopOutcome outcome = nmqtt::lua::run_event_loop(L);
    switch (outcome.end) {
    case nmqtt::lua::LoopEnd::error: report(outcome.error.c_str()); return exit_error;
    case nmqtt::lua::LoopEnd::interrupted: return exit_signal_base + outcome.signal;
    case nmqtt::lua::LoopEnd::reset: reset = nmqtt::lua::reset_request(L); return std::nullopt;
    case nmqtt::lua::LoopEnd::idle:
    case nmqtt::lua::LoopEnd::timeout: break;
    }
    return 0;
}

int run_script(RunArgs& run) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // print() output shows up as it happens, also in a pipe
    nmqtt::lua::DeviceOptions device = run.device;
    const std::uint64_t max_restarts = run.no_restart ? 0 : run.max_restarts;
    for (std::uint64_t restarts = 0;; ++restarts) {
        std::optional<nmqtt::lua::ResetRequest> reset;
        if (const std::optional<int> status = boot(run, device, reset)) return *status;
        const bool forever = reset->deep_sleep && reset->sleep_us == 0;
        if (restarts >= max_restarts || forever) return reset->deep_sleep ? exit_dsleep : exit_restart;
        if (reset->deep_sleep) std::this_thread::sleep_for(std::chrono::microseconds{reset->sleep_us});
        device.boot_rawcode = boot_rawcode_reset;
        device.boot_reason = reset->deep_sleep ? boot_reason_deep_sleep : boot_reason_restart;
    }
}

bool parse_mac(const std::string& text, std::array<std::uint8_t, 6>& mac) {
    unsigned bytes[6];
    char tail = 0;
    if (std::sscanf(text.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &bytes[0], &bytes[1], &bytes[2], &bytes[3], &bytes[4],
                    &bytes[5], &tail) != 6) {
        return false;
    }
    for (int i = 0; i < 6; ++i) mac[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(bytes[i]);
    return true;
}

// --pin PIN=LEVEL values into `pins`; returns what is wrong, if anything.
std::string parse_pins(const std::vector<std::string>& values, std::map<int, int>& pins) {
    for (const auto& pin : values) {
        int number = 0;
        int level = 0;
        char tail = 0;
        if (std::sscanf(pin.c_str(), "%d=%d%c", &number, &level, &tail) != 2 || number < 0 || number > 12 ||
            (level != 0 && level != 1)) {
            return "--pin: expected PIN=0 or PIN=1 with PIN 0..12, got '" + pin + "'";
        }
        pins[number] = level;
    }
    return {};
}

// Fills the parts of the device options that need checking or defaults from the script.
std::string finish_device(RunArgs& run) {
    auto& device = run.device;
    if (!run.mac.empty() && !parse_mac(run.mac, device.mac)) return "--mac: expected AA:BB:CC:DD:EE:FF";
    device.join_delay = std::chrono::milliseconds{run.join_delay_ms};
    if (std::string problem = parse_pins(run.pins, device.pins); !problem.empty()) return problem;
    std::error_code error;
    if (device.fs_dir.empty()) {
        const auto script = std::filesystem::path(run.script == "-" ? "." : run.script);
        device.fs_dir = std::filesystem::absolute(script.parent_path().empty() ? "." : script.parent_path(), error);
    }
    device.fs_dir = std::filesystem::weakly_canonical(device.fs_dir, error);
    if (error || !std::filesystem::is_directory(device.fs_dir)) return "--fs: '" + device.fs_dir + "' is not a folder";
    device.io = std::make_shared<nmqtt::lua::IoControl>(device.pins, device.adc);
    if (!device.io_control.empty() && !device.io->start(device.io_control)) return "--io-control: cannot start its reader";
    return {};
}

void add_device_options(CLI::App& command, RunArgs& run) {
    auto& device = run.device;
    const char* group = "Simulated device";
    command.add_flag("--wifi-down", device.wifi_down, "No access point: the station never gets an IP")->group(group);
    command.add_option("--ssid", device.ssid, "SSID of the network joined at boot")->group(group);
    command.add_option("--ip", device.ip, "wifi.sta.getip() address (127.0.0.1)")->group(group);
    command.add_option("--netmask", device.netmask, "wifi.sta.getip() netmask (255.0.0.0)")->group(group);
    command.add_option("--gateway", device.gateway, "wifi.sta.getip() gateway (127.0.0.1)")->group(group);
    command.add_option("--mac", run.mac, "station MAC AA:BB:CC:DD:EE:FF; node.chipid() is its last 3 bytes")
        ->group(group);
    command.add_option("--join-delay", run.join_delay_ms, "ms from joining to STA_CONNECTED and on to STA_GOT_IP (50)")
        ->check(CLI::Range(0, 60'000))
        ->group(group);
    command.add_flag("--no-restart", run.no_restart, "node.restart() exits 3 and node.dsleep() exits 4")->group(group);
    command.add_option("--max-restarts", run.max_restarts, "restarts allowed before exiting as --no-restart does")
        ->group(group);
    command.add_option("--fs", device.fs_dir, "folder of the file module (the script's folder)")->group(group);
    command.add_option("--fs-size", device.fs_size, "file system size in bytes (3000000)")->group(group);
    command.add_option("--pin", run.pins, "initial input level of a pin, PIN=0|1 (repeatable)")->group(group);
    command.add_option("--adc", device.adc, "adc.read(0) value, 0..1024 (512)")->check(CLI::Range(0, 1024))->group(group);
    command.add_option("--vdd33", device.vdd33, "adc.readvdd33() in mV (3300)")->group(group);
    command.add_flag("--trace-io", device.trace_io, "print 'gpio PIN LEVEL' lines on stderr")->group(group);
    command.add_option("--io-control", device.io_control, "file or FIFO of 'pin PIN LEVEL' / 'adc VALUE' lines")
        ->group(group);
}

}  // namespace

Command setup_run(CLI::App& parent) {
    auto run = std::make_shared<RunArgs>();
    CLI::App* command = parent.add_subcommand(
        "run", "Run a NodeMCU Lua script on a simulated device (globals mqtt, tmr, tls, wifi, node, file, arg) and "
               "its event loop until nothing is left to wait for");
    command->set_help_flag("--help", "Print this help message and exit");
    add_device_options(*command, *run);
    command->add_option("script", run->script, "Lua script ('-' reads standard input); the arguments after it "
                                              "go to the script's arg table")
        ->required();
    command->prefix_command();  // everything after the script belongs to the script, dashes included
    return {command, [run, command] {
                run->args = command->remaining();
                if (!run->args.empty() && run->args.front() == "--") run->args.erase(run->args.begin());
                if (const std::string problem = finish_device(*run); !problem.empty()) {
                    report(problem.c_str());
                    return exit_error;
                }
                return run_script(*run);
            }};
}

}  // namespace nmqtt::cli
