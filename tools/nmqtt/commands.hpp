// The subcommands of the `nmqtt` tool. Each lives in its own <name>.cpp and defines exactly one setup
// function declared here; main.cpp calls every setup function that is linked in. The declarations are weak,
// so adding a subcommand is adding its .cpp file (the CMake glob picks it up): no edit to main.cpp.
#pragma once

#include <functional>

namespace CLI { class App; }

namespace nmqtt::cli {

/// A registered subcommand: its CLI11 sub-app and the function main() runs when it was selected.
struct Command {
    CLI::App* app = nullptr;
    /// Runs the command after a successful parse; returns the process exit status.
    std::function<int()> main;
};

/// Signature of every setup function: adds the subcommand (options bound to state that `main` owns) to
/// `parent` and returns it.
using CommandSetup = Command (*)(CLI::App& parent);

// One per subcommand, in the order `nmqtt --help` lists them.
[[gnu::weak]] Command setup_run(CLI::App& parent);    ///< run.cpp: nmqtt run SCRIPT.lua [ARGS...]
[[gnu::weak]] Command setup_pub(CLI::App& parent);    ///< pub.cpp: nmqtt pub
[[gnu::weak]] Command setup_sub(CLI::App& parent);    ///< sub.cpp: nmqtt sub
[[gnu::weak]] Command setup_rr(CLI::App& parent);     ///< rr.cpp: nmqtt rr
[[gnu::weak]] Command setup_bench(CLI::App& parent);  ///< bench.cpp: nmqtt bench

}  // namespace nmqtt::cli
