// Runs the `nmqtt` tool (and the mosquitto command line clients) as child processes against a
// MosquittoFixture, with deadlines; waits on the broker's log instead of sleeping.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "support/mosquitto_fixture.hpp"
#include "support/process.hpp"

namespace nmqtt::test {

/// Deadline of one command; far above what a run takes, so a hang fails the test instead of blocking ctest.
inline constexpr std::chrono::milliseconds cli_deadline = 20s;

/// The documented exit codes (docs/cli.md).
inline constexpr int exit_ok = 0;
inline constexpr int exit_usage = 1;
inline constexpr int exit_connection_failed = 2;
inline constexpr int exit_timeout = 3;
inline constexpr int exit_connection_lost = 4;
inline constexpr int exit_request_failed = 5;

/// Returns {path of the nmqtt tool, command, args...}.
inline std::vector<std::string> nmqtt_cli(const std::string& command, std::vector<std::string> args = {}) {
    args.insert(args.begin(), {NMQTT_CLI_PATH, command});
    return args;
}

/// Returns `args` followed by -h <host> -p <plain port> of `broker` (valid for nmqtt and mosquitto clients).
inline std::vector<std::string> at_broker(const MosquittoFixture& broker, std::vector<std::string> args) {
    args.insert(args.end(), {"-h", broker.host(), "-p", std::to_string(broker.port())});
    return args;
}

/// Runs `nmqtt <command> args...` to completion (killed after cli_deadline).
inline ProcessResult run_nmqtt(const std::string& command, std::vector<std::string> args,
                               ProcessOptions options = {}) {
    return run_process(nmqtt_cli(command, std::move(args)), cli_deadline, std::move(options));
}

/// Starts a subscriber (argv complete, it must use client id `id`) and waits until the broker has sent it
/// one more SUBACK than before. Fails the current test (non-fatally) if that does not happen.
inline Process start_subscriber(const MosquittoFixture& broker, const std::string& id,
                                std::vector<std::string> argv) {
    const std::string needle = "Sending SUBACK to " + id;
    const std::size_t before = broker.count_in_log(needle);
    Process sub(std::move(argv));
    const bool subscribed = wait_until([&] { return broker.count_in_log(needle) > before || !sub.running(); },
                                       cli_deadline);
    EXPECT_TRUE(subscribed && broker.count_in_log(needle) > before)
        << "subscriber " << id << " did not subscribe; stderr: " << sub.stderr_text();
    return sub;
}

/// Starts `nmqtt sub -i id args...` at `broker` and waits for its SUBACK.
inline Process start_nmqtt_sub(const MosquittoFixture& broker, const std::string& id,
                               std::vector<std::string> args) {
    args.insert(args.end(), {"-i", id});
    return start_subscriber(broker, id, nmqtt_cli("sub", at_broker(broker, std::move(args))));
}

/// Waits for a child to end (killed after cli_deadline) and returns how it ended.
inline ExitStatus finish(Process& process) { return process.wait_or_kill(cli_deadline); }

}  // namespace nmqtt::test
