// nmqtt run SCRIPT.lua [ARGS...]: runs a NodeMCU script with the globals mqtt and tmr, then the event loop.
//
// Exit status: 0 once no client is connected, connecting or closing and no timer is armed; n for os.exit(n);
// 1 when the script or a callback raises an error (message and traceback on stderr, as the lua interpreter);
// 128 + signal on SIGINT (130) or SIGTERM (143), after every client was closed cleanly (DISCONNECT sent).
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "lua_api.hpp"

namespace nmqtt::cli {
namespace {

constexpr int exit_error = 1;
constexpr int exit_signal_base = 128;

struct RunArgs {
    std::string script;
    std::vector<std::string> args;
};

struct LuaCloser {
    void operator()(lua_State* L) const noexcept { lua_close(L); }
};

void report(const char* message) { fmt::print(stderr, "nmqtt: {}\n", message != nullptr ? message : "(no message)"); }

// Standard libraries plus mqtt and tmr, inside a protected call (they may raise on lack of memory).
int open_libraries(lua_State* L) {
    luaL_openlibs(L);
    nmqtt::lua::open_globals(L);
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

int run_script(const RunArgs& run) {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // print() output shows up as it happens, also in a pipe
    const std::unique_ptr<lua_State, LuaCloser> state(luaL_newstate());
    lua_State* L = state.get();
    if (L == nullptr) {
        report("cannot create a Lua state: not enough memory");
        return exit_error;
    }
    lua_pushcfunction(L, open_libraries);
    if (lua_pcall(L, 0, 0, 0) != LUA_OK) {
        report(lua_tostring(L, -1));
        return exit_error;
    }
    nmqtt::lua::catch_signals(L);  // before the main chunk, so that an early Ctrl-C is not lost
    if (!run_main_chunk(L, run)) return exit_error;
    const nmqtt::lua::LoopOutcome outcome = nmqtt::lua::run_event_loop(L);
    switch (outcome.end) {
    case nmqtt::lua::LoopEnd::error: report(outcome.error.c_str()); return exit_error;
    case nmqtt::lua::LoopEnd::interrupted: return exit_signal_base + outcome.signal;
    case nmqtt::lua::LoopEnd::idle:
    case nmqtt::lua::LoopEnd::timeout: break;
    }
    return 0;
}

}  // namespace

Command setup_run(CLI::App& parent) {
    auto run = std::make_shared<RunArgs>();
    CLI::App* command = parent.add_subcommand(
        "run", "Run a NodeMCU Lua script (globals mqtt, tmr, arg) and its event loop until nothing is left "
               "to wait for");
    command->set_help_flag("--help", "Print this help message and exit");
    command->add_option("script", run->script, "Lua script ('-' reads standard input); the arguments after it "
                                              "go to the script's arg table")
        ->required();
    command->prefix_command();  // everything after the script belongs to the script, dashes included
    return {command, [run, command] {
                run->args = command->remaining();
                if (!run->args.empty() && run->args.front() == "--") run->args.erase(run->args.begin());
                return run_script(*run);
            }};
}

}  // namespace nmqtt::cli
