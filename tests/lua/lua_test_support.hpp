// Helpers of the Lua tests: run a script through `nmqtt run` (or the stock lua5.3) and compare its output.
#pragma once

#include <chrono>
#include <cstddef>
#include <string_view>
#include <string>
#include <vector>

#include "support/mosquitto_fixture.hpp"
#include "support/process.hpp"

namespace nmqtt::test::lua {

using namespace std::chrono_literals;

/// Default deadline of a script run: far above what any script needs, so that a hang fails the test.
inline constexpr std::chrono::milliseconds script_timeout = 30s;

/// Path of tests/lua/scripts/<name> and of examples/lua/<name>.
[[nodiscard]] inline std::string script(const std::string& name) { return NMQTT_LUA_SCRIPTS_DIR "/" + name; }
[[nodiscard]] inline std::string example(const std::string& name) { return NMQTT_LUA_EXAMPLES_DIR "/" + name; }

/// argv of `nmqtt run <path> <args...>`.
[[nodiscard]] inline std::vector<std::string> nmqtt_run(const std::string& path, std::vector<std::string> args = {}) {
    std::vector<std::string> argv{NMQTT_CLI_PATH, "run", path};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

/// Runs `nmqtt run <path> <args...>` to completion.
[[nodiscard]] inline ProcessResult run_script(const std::string& path, std::vector<std::string> args = {},
                                              std::chrono::milliseconds timeout = script_timeout) {
    return run_process(nmqtt_run(path, std::move(args)), timeout);
}

/// argv of `nmqtt run <options...> <path> <args...>` (device options go before the script).
[[nodiscard]] inline std::vector<std::string> nmqtt_run_with(const std::vector<std::string>& options,
                                                            const std::string& path,
                                                            const std::vector<std::string>& args = {}) {
    std::vector<std::string> argv{NMQTT_CLI_PATH, "run"};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.push_back(path);
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

/// Runs `nmqtt run <options...> <path> <args...>` to completion.
[[nodiscard]] inline ProcessResult run_device_script(const std::vector<std::string>& options, const std::string& path,
                                                     const std::vector<std::string>& args = {},
                                                     std::chrono::milliseconds timeout = script_timeout) {
    return run_process(nmqtt_run_with(options, path, args), timeout);
}

/// The broker's address as script arguments: host port.
[[nodiscard]] inline std::vector<std::string> address(const MosquittoFixture& broker) {
    return {broker.host(), std::to_string(broker.port())};
}

/// `args` appended to the broker's address.
[[nodiscard]] inline std::vector<std::string> address(const MosquittoFixture& broker, std::vector<std::string> args) {
    auto all = address(broker);
    all.insert(all.end(), args.begin(), args.end());
    return all;
}

/// The number of `needle` in the broker's log once it reached `count` (the broker may log a client's last
/// packets after the client exited), or what it is after a few seconds.
[[nodiscard]] inline std::size_t log_count(const MosquittoFixture& broker, std::string_view needle,
                                           std::size_t count) {
    wait_until([&] { return broker.count_in_log(needle) >= count; }, 5s);
    return broker.count_in_log(needle);
}

/// A one-line summary of a run for assertion messages.
[[nodiscard]] inline std::string describe(const ProcessResult& r) {
    return "exit " + std::to_string(r.status.exit_code) + " signal " + std::to_string(r.status.term_signal) +
           (r.timed_out ? " (timed out)" : "") + "\n--- stdout\n" + r.out + "--- stderr\n" + r.err;
}

}  // namespace nmqtt::test::lua
