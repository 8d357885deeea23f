// nmqtt: the command line tool. Subcommands register themselves through commands.hpp.
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <cstdio>
#include <exception>
#include <vector>

#include "commands.hpp"

namespace {

constexpr int exit_usage = 1;

int dispatch(int argc, char** argv) {
    CLI::App app{"nmqtt: an MQTT 3.1.1 client with NodeMCU's Lua API", "nmqtt"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "nmqtt " NMQTT_VERSION_STRING);
    std::vector<nmqtt::cli::Command> commands;
    for (const nmqtt::cli::CommandSetup setup :
         {nmqtt::cli::setup_run, nmqtt::cli::setup_pub, nmqtt::cli::setup_sub, nmqtt::cli::setup_rr,
          nmqtt::cli::setup_bench}) {
        if (setup != nullptr) commands.push_back(setup(app));
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : exit_usage;  // --help / --version: 0; any usage error: 1
    }
    for (const auto& command : commands) {
        if (command.app != nullptr && command.app->parsed() && command.main) return command.main();
    }
    fmt::print(stderr, "nmqtt: no subcommand\n");
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return dispatch(argc, argv);
    } catch (const std::exception& e) {
        fmt::print(stderr, "nmqtt: {}\n", e.what());
        return 1;
    }
}
