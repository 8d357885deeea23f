// `nmqtt sub`: subscribes to one or more topic filters and prints the messages, in mosquitto_sub habits.
// Ends after -C messages, after -W seconds, on SIGINT/SIGTERM, or when the connection is lost.
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "commands.hpp"
#include "connect_options.hpp"
#include "nmqtt/protocol/topic.hpp"

namespace nmqtt::cli {
namespace {

constexpr std::uint8_t suback_failure = 0x80;

struct SubFlags {
    ConnectOptions connect{"sub"};
    std::vector<std::string> topics;
    int qos = 0;
    bool verbose = false;
    bool no_newline = false;
    std::size_t count = 0;      // -C: 0 = no limit
    unsigned timeout = 0;       // -W seconds: 0 = none
};

/// Subscribes once connected and prints what arrives, binary-safe, one fwrite and flush per message.
class Subscriber {
public:
    Subscriber(const SubFlags& flags, CommandRun& run) : flags_(flags), run_(run) {
        run_.client().on_message([this](Client&, const MessageView& m) { print(m); });
        run_.client().on_overflow([this](Client&, const MessageView& m) {
            run_.options().error(fmt::format("message on '{}' truncated to {} bytes", m.topic, m.payload.size()));
            print(m);
        });
    }

    void subscribe() {
        std::vector<std::pair<std::string, int>> filters;
        filters.reserve(flags_.topics.size());
        for (const auto& topic : flags_.topics) filters.emplace_back(topic, flags_.qos);
        const bool ok = run_.client().subscribe(
            filters, {}, [this](std::error_code ec, PacketId, std::span<const std::uint8_t> granted) {
                on_suback(ec, granted);
            });
        if (!ok) {
            run_.finish(ExitCode::request_failed,
                        fmt::format("subscribe failed: {}", run_.client().last_error().message()));
        }
    }

    [[nodiscard]] std::size_t received() const noexcept { return received_; }

private:
    void on_suback(std::error_code ec, std::span<const std::uint8_t> granted) {
        if (ec) {
            run_.finish(ExitCode::request_failed, fmt::format("subscribe failed: {}", ec.message()));
            return;
        }
        std::size_t refused = 0;
        for (std::size_t i = 0; i < granted.size(); ++i) {
            const auto& topic = i < flags_.topics.size() ? flags_.topics[i] : std::string("?");
            if (granted[i] == suback_failure) {
                ++refused;
                run_.options().error(fmt::format("subscription to '{}' refused by the broker", topic));
            } else {
                run_.options().debug(fmt::format("subscribed to '{}' (granted qos {})", topic, granted[i]));
            }
        }
        if (refused == granted.size()) run_.finish(ExitCode::request_failed, "every subscription was refused");
    }

    void print(const MessageView& m) {
        if (run_.is_finished()) return;
        line_.clear();
        if (flags_.verbose) {
            line_.append(m.topic);
            line_.push_back(' ');
        }
        line_.append(m.payload);
        if (!flags_.no_newline) line_.push_back('\n');
        std::fwrite(line_.data(), 1, line_.size(), stdout);
        std::fflush(stdout);
        ++received_;
        if (flags_.count != 0 && received_ >= flags_.count) {
            run_.options().debug(fmt::format("{} message(s) received", received_));
            run_.finish(ExitCode::ok);
        }
    }

    const SubFlags& flags_;
    CommandRun& run_;
    std::string line_;
    std::size_t received_ = 0;
};

void add_sub_flags(CLI::App& app, SubFlags& flags) {
    flags.connect.add_to(app);
    app.add_option("-t,--topic", flags.topics, "Topic filter to subscribe to (repeat -t for more)")
        ->allow_extra_args(false);
    app.add_option("-q,--qos", flags.qos, "Quality of service asked for 0, 1 or 2 (default: 0)")
        ->check(CLI::Range(0, 2));
    app.add_flag("-v,--verbose", flags.verbose, "Print \"topic payload\" instead of the payload alone");
    app.add_flag("-N,--no-newline", flags.no_newline, "Do not print a newline after each payload");
    app.add_option("-C,--count", flags.count, "Exit after this many messages (exit code 0)")
        ->check(CLI::PositiveNumber);
    app.add_option("-W,--timeout", flags.timeout, "Exit after this many seconds (exit code 3)")
        ->check(CLI::Range(1u, 2'000'000u));
}

std::optional<std::string> check_flags(SubFlags& flags) {
    std::string url_topic;
    if (auto error = flags.connect.finish(url_topic)) return error;
    if (!url_topic.empty()) flags.topics.insert(flags.topics.begin(), url_topic);
    if (flags.topics.empty()) return "no topic: give -t or -L";
    for (const auto& topic : flags.topics) {
        if (auto ec = protocol::validate_topic_filter(topic)) {
            return fmt::format("bad topic filter '{}': {}", topic, ec.message());
        }
    }
    return std::nullopt;
}

int run_sub(SubFlags& flags) {
    if (auto error = check_flags(flags)) {
        flags.connect.error(*error);
        return to_int(ExitCode::usage);
    }
    try {
        CommandRun run(flags.connect, flags.connect.client_options());
        Subscriber subscriber(flags, run);
        if (flags.timeout != 0) {
            run.set_deadline(std::chrono::seconds(flags.timeout), [&] {
                run.finish(ExitCode::timeout, fmt::format("timed out after {} s ({} message(s) received)",
                                                          flags.timeout, subscriber.received()));
            });
        }
        return run.run([&] { subscriber.subscribe(); });
    } catch (const std::system_error& e) {
        flags.connect.error(e.what());
        return to_int(ExitCode::usage);
    }
}

}  // namespace

Command setup_sub(CLI::App& parent) {
    auto flags = std::make_shared<SubFlags>();
    auto* command = parent.add_subcommand("sub", "Subscribe and print messages (mosquitto_sub habits)");
    command->set_help_flag("--help", "Print this help and exit");
    add_sub_flags(*command, *flags);
    return Command{command, [flags] { return run_sub(*flags); }};
}

}  // namespace nmqtt::cli
