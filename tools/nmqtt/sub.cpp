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
#include "message_format.hpp"
#include "nmqtt/protocol/topic.hpp"

namespace nmqtt::cli {
namespace {

constexpr std::uint8_t suback_failure = 0x80;

struct SubFlags {
    ConnectOptions connect{"sub"};
    std::vector<std::string> topics;
    std::vector<std::string> unsubscribe_topics;  // -U
    int qos = 0;
    bool verbose = false;
    bool no_newline = false;
    std::size_t count = 0;      // -C: 0 = no limit
    unsigned timeout = 0;       // -W seconds: 0 = none
    std::string format;         // -F
    bool pretty = false;        // --pretty
    bool no_local = false;      // --nl
    bool retain_as_published = false;  // --rap
    int retain_handling = -1;   // --retain-handling: -1 = not given
    bool no_retain = false;     // -R
    bool retained_only = false; // --retained-only
    bool exit_after_subscribe = false;  // -E
};

/// Subscribes once connected and prints what arrives, binary-safe, one fwrite and flush per message.
class Subscriber {
public:
    Subscriber(const SubFlags& flags, CommandRun& run) : flags_(flags), run_(run) {
        run_.client().on_message([this](Client&, const MessageView& m) { on_message(m); });
        run_.client().on_overflow([this](Client&, const MessageView& m) {
            run_.options().error(fmt::format("message on '{}' truncated to {} bytes", m.topic, m.payload.size()));
            on_message(m);
        });
    }

    void start() {
        if (!flags_.topics.empty()) subscribe();
        if (!flags_.unsubscribe_topics.empty()) unsubscribe();
    }

    [[nodiscard]] std::size_t received() const noexcept { return received_; }

private:
    void subscribe() {
        std::vector<protocol::SubscribeEntry> entries;
        entries.reserve(flags_.topics.size());
        auto handling = protocol::RetainHandling::send_at_subscribe;
        if (flags_.retain_handling >= 0) handling = static_cast<protocol::RetainHandling>(flags_.retain_handling);
        if (flags_.no_retain && flags_.connect.v5().is_v5()) handling = protocol::RetainHandling::do_not_send;
        for (const auto& topic : flags_.topics) {
            entries.push_back(protocol::SubscribeEntry{topic, static_cast<QoS>(flags_.qos), flags_.no_local,
                                                       flags_.retain_as_published, handling});
        }
        ++pending_;
        const bool ok = run_.client().subscribe(entries, flags_.connect.v5().subscribe_properties(),
                                                [this](const Acknowledgement& ack) { on_suback(ack); });
        if (!ok) {
            run_.finish(ExitCode::request_failed,
                        fmt::format("subscribe failed: {}", run_.client().last_error().message()));
        }
    }

    void unsubscribe() {
        std::vector<std::string_view> filters(flags_.unsubscribe_topics.begin(), flags_.unsubscribe_topics.end());
        ++pending_;
        const bool ok = run_.client().unsubscribe(filters, flags_.connect.v5().unsubscribe_properties(),
                                                  [this](const Acknowledgement& ack) { on_unsuback(ack); });
        if (!ok) {
            run_.finish(ExitCode::request_failed,
                        fmt::format("unsubscribe failed: {}", run_.client().last_error().message()));
        }
    }

    void request_done() {
        if (--pending_ == 0 && (flags_.exit_after_subscribe || flags_.topics.empty())) run_.finish(ExitCode::ok);
    }

    void on_suback(const Acknowledgement& ack) {
        if (ack.error) {
            run_.finish(ExitCode::request_failed, fmt::format("subscribe failed: {}", ack.error.message()));
            return;
        }
        const auto& granted = ack.reason_codes;
        const bool v5 = flags_.connect.v5().is_v5();
        std::size_t refused = 0;
        for (std::size_t i = 0; i < granted.size(); ++i) {
            const auto& topic = i < flags_.topics.size() ? flags_.topics[i] : std::string("?");
            if (granted[i] >= suback_failure) {
                ++refused;
                run_.options().error(fmt::format("subscription to '{}' refused by the broker{}", topic,
                                                 v5 ? ": reason code " + describe_reason(granted[i]) +
                                                          describe_reason_string(ack.properties)
                                                    : std::string()));
            } else {
                run_.options().debug(fmt::format("subscribed to '{}' (granted qos {})", topic, granted[i]));
            }
        }
        if (refused == granted.size()) {
            run_.finish(ExitCode::request_failed, "every subscription was refused");
            return;
        }
        request_done();
    }

    void on_unsuback(const Acknowledgement& ack) {
        if (ack.error) {
            run_.finish(ExitCode::request_failed, fmt::format("unsubscribe failed: {}", ack.error.message()));
            return;
        }
        for (std::size_t i = 0; i < flags_.unsubscribe_topics.size(); ++i) {
            const auto code = i < ack.reason_codes.size() ? ack.reason_codes[i] : std::uint8_t{0};
            run_.options().debug(fmt::format("unsubscribed from '{}'{}", flags_.unsubscribe_topics[i],
                                             ack.reason_codes.empty() ? "" : " (reason code " + describe_reason(code) + ")"));
        }
        request_done();
    }

    void on_message(const MessageView& m) {
        if (run_.is_finished()) return;
        if (flags_.retained_only && !m.retain) {  // the first live message ends a --retained-only run
            run_.finish(ExitCode::ok);
            return;
        }
        if (m.retain && flags_.no_retain) return;  // -R: stale (retained) messages are not printed
        print(m);
        ++received_;
        if (flags_.count != 0 && received_ >= flags_.count) {
            run_.options().debug(fmt::format("{} message(s) received", received_));
            run_.finish(ExitCode::ok);
        }
    }

    void print(const MessageView& m) {
        line_.clear();
        std::string error;
        render_message(line_, error, m, flags_.format, flags_.pretty, flags_.verbose, !flags_.no_newline);
        if (!error.empty()) fmt::print(stderr, "{}\n", error);  // mosquitto_sub's line, unprefixed
        std::fwrite(line_.data(), 1, line_.size(), stdout);
        std::fflush(stdout);
    }

    const SubFlags& flags_;
    CommandRun& run_;
    std::string line_;
    std::size_t received_ = 0;
    int pending_ = 0;
};

void add_v5_sub_flags(CLI::App& app, SubFlags& flags) {
    app.add_flag("--nl,--no-local", flags.no_local, "MQTT 5 No Local: do not receive our own messages");
    app.add_flag("--rap,--retain-as-published", flags.retain_as_published,
                 "MQTT 5 Retain As Published: keep the retain flag of forwarded messages");
    app.add_option("--retain-handling", flags.retain_handling,
                   "MQTT 5 Retain Handling: 0 send retained messages, 1 only for a new subscription, 2 never")
        ->check(CLI::Range(0, 2));
    app.add_flag("-R", flags.no_retain,
                 "Do not print stale (retained) messages; at MQTT 5 the broker is asked not to send them");
    app.add_flag("--retained-only", flags.retained_only, "Print only retained messages; exit at the first live one");
    app.add_flag("-E", flags.exit_after_subscribe, "Exit once the subscriptions are acknowledged");
    app.add_option("-U,--unsubscribe", flags.unsubscribe_topics, "Topic filter to unsubscribe from (repeat for more)")
        ->allow_extra_args(false);
    app.add_option("-F", flags.format, "Output format (mosquitto_sub's: %t %p %j %J %P ..., see docs/cli.md)");
    app.add_flag("--pretty", flags.pretty, "With -F %j / %J: print the JSON over several lines");
}

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
    add_v5_sub_flags(app, flags);
}

std::optional<std::string> check_v5_flags(const SubFlags& flags) {
    const bool v5 = flags.connect.v5().is_v5();
    if (!v5 && (flags.no_local || flags.retain_as_published || flags.retain_handling >= 0)) {
        return "--nl, --rap and --retain-handling need MQTT 5 (-V mqttv5)";
    }
    if (flags.no_retain && flags.retained_only) return "-R and --retained-only cannot be used together";
    if (flags.no_retain && flags.retain_handling >= 0 && flags.retain_handling != 2) {
        return "-R means --retain-handling 2";
    }
    return std::nullopt;
}

std::optional<std::string> check_flags(SubFlags& flags) {
    std::string url_topic;
    if (auto error = flags.connect.finish(url_topic)) return error;
    if (!url_topic.empty()) flags.topics.insert(flags.topics.begin(), url_topic);
    if (flags.topics.empty() && flags.unsubscribe_topics.empty()) return "no topic: give -t, -U or -L";
    for (const auto& topic : flags.topics) {
        if (auto ec = protocol::validate_topic_filter(topic)) {
            return fmt::format("bad topic filter '{}': {}", topic, ec.message());
        }
    }
    for (const auto& topic : flags.unsubscribe_topics) {
        if (auto ec = protocol::validate_topic_filter(topic)) {
            return fmt::format("bad -U topic filter '{}': {}", topic, ec.message());
        }
    }
    return check_v5_flags(flags);
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
        return run.run([&] { subscriber.start(); });
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
