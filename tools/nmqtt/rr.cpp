// `nmqtt rr`: request/response in mosquitto_rr habits. Subscribes to the response topic (-e), publishes the
// request (-t, -m/-f/-s/-n) with that topic as its Response Topic (MQTT 5.0, the default; -D publish
// correlation-data ... adds Correlation Data), prints the first response as `nmqtt sub` prints messages
// (-v, -N, -F) and exits 0; -W seconds without a response: exit 3.
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "commands.hpp"
#include "connect_options.hpp"
#include "message_format.hpp"
#include "nmqtt/protocol/topic.hpp"

namespace nmqtt::cli {
namespace {

constexpr std::uint8_t suback_failure = 0x80;

struct RrFlags {
    ConnectOptions connect{"rr"};
    std::string topic;           // -t: the request topic
    std::string response_topic;  // -e
    std::string message;
    std::string file;
    bool null_message = false;
    bool stdin_message = false;
    int qos = 0;
    bool retain = false;
    unsigned timeout = 0;
    bool verbose = false;
    bool no_newline = false;
    bool no_retained = false;  // -R: retained (stale) messages on the response topic are not responses
    std::string format;
    bool pretty = false;
    CLI::Option* message_option = nullptr;
    CLI::Option* file_option = nullptr;
};

/// Subscribes to the response topic, publishes the request once subscribed, prints the first response.
class Requester {
public:
    Requester(const RrFlags& flags, CommandRun& run) : flags_(flags), run_(run) {
        run_.client().on_message([this](Client&, const MessageView& m) { on_response(m); });
    }

    void start(std::string payload) {
        payload_ = std::move(payload);
        const std::vector<protocol::SubscribeEntry> entries{{flags_.response_topic, static_cast<QoS>(flags_.qos)}};
        const bool ok = run_.client().subscribe(entries, flags_.connect.v5().subscribe_properties(),
                                                [this](const Acknowledgement& ack) { on_suback(ack); });
        if (!ok) {
            run_.finish(ExitCode::request_failed, fmt::format("subscribe failed: {}", run_.client().last_error().message()));
        }
    }

private:
    void on_suback(const Acknowledgement& ack) {
        if (ack.error || ack.reason_codes.empty() || ack.reason_codes[0] >= suback_failure) {
            const auto code = ack.reason_codes.empty() ? std::uint8_t{0} : ack.reason_codes[0];
            run_.finish(ExitCode::request_failed,
                        fmt::format("subscription to '{}' refused: {}", flags_.response_topic,
                                    ack.error ? ack.error.message() : describe_reason(code)));
            return;
        }
        run_.options().debug(fmt::format("subscribed to '{}'", flags_.response_topic));
        publish_request();
    }

    void publish_request() {
        request_properties_.append(flags_.connect.v5().publish_properties());
        if (flags_.connect.v5().is_v5()) request_properties_.response_topic(flags_.response_topic);
        const OutgoingMessage request{flags_.topic, payload_, flags_.qos, flags_.retain, request_properties_.view()};
        const bool ok = run_.client().publish(request, [this](const Acknowledgement& ack) {
            if (ack.error) {
                run_.finish(ExitCode::request_failed, fmt::format("request failed: {}{}", ack.error.message(),
                                                                  ack.reason_code != 0 ? ", reason code " + describe_reason(ack.reason_code) : ""));
                return;
            }
            run_.options().debug(fmt::format("request sent (packet id {}, reason code {})", ack.packet_id,
                                             describe_reason(ack.reason_code)));
        });
        if (!ok) {
            run_.finish(ExitCode::request_failed, fmt::format("request failed: {}", run_.client().last_error().message()));
        }
    }

    void on_response(const MessageView& m) {
        if (run_.is_finished()) return;
        if (flags_.no_retained && m.retain) {
            run_.options().debug(fmt::format("ignored a retained message on '{}' (-R)", m.topic));
            return;
        }
        std::string out;
        std::string error;
        render_message(out, error, m, flags_.format, flags_.pretty, flags_.verbose, !flags_.no_newline);
        if (!error.empty()) fmt::print(stderr, "{}\n", error);
        std::fwrite(out.data(), 1, out.size(), stdout);
        std::fflush(stdout);
        run_.finish(ExitCode::ok);
    }

    const RrFlags& flags_;
    CommandRun& run_;
    std::string payload_;
    protocol::Properties request_properties_;
};

void add_rr_flags(CLI::App& app, RrFlags& flags) {
    flags.connect.default_to_v5();
    flags.connect.add_to(app);
    app.add_option("-t,--topic", flags.topic, "Topic to publish the request to");
    app.add_option("-e", flags.response_topic, "Response topic: subscribed to, and the request's Response Topic");
    flags.message_option = app.add_option("-m,--message", flags.message, "Request payload (may be empty)");
    flags.file_option = app.add_option("-f,--file", flags.file, "Send the content of a file as the request");
    app.add_flag("-n,--null-message", flags.null_message, "Send an empty request");
    app.add_flag("-s,--stdin-file", flags.stdin_message, "Send all of stdin as the request");
    app.add_option("-q,--qos", flags.qos, "QoS of the request and of the subscription (default: 0)")
        ->check(CLI::Range(0, 2));
    app.add_flag("-r,--retain", flags.retain, "Retain the request");
    app.add_option("-W,--timeout", flags.timeout, "Exit after this many seconds without a response (exit code 3)")
        ->check(CLI::Range(1u, 2'000'000u));
    app.add_flag("-v,--verbose", flags.verbose, "Print \"topic payload\" instead of the payload alone");
    app.add_flag("-N,--no-newline", flags.no_newline, "Do not print a newline after the response");
    app.add_flag("-R", flags.no_retained, "Do not print stale responses (retained messages on the response topic)");
    app.add_option("-F", flags.format, "Output format of the response (as nmqtt sub -F)");
    app.add_flag("--pretty", flags.pretty, "With -F %j / %J: print the JSON over several lines");
}

std::optional<std::string> check_flags(RrFlags& flags) {
    std::string url_topic;
    if (auto error = flags.connect.finish(url_topic)) return error;
    if (!url_topic.empty()) {
        if (!flags.topic.empty()) return "-L already names the topic: drop -t";
        flags.topic = url_topic;
    }
    if (flags.topic.empty()) return "no request topic: give -t or -L";
    if (flags.response_topic.empty()) return "no response topic: give -e";
    if (auto ec = protocol::validate_topic_name(flags.topic)) {
        return fmt::format("bad topic '{}': {}", flags.topic, ec.message());
    }
    if (auto ec = protocol::validate_topic_name(flags.response_topic)) {
        return fmt::format("bad response topic '{}': {}", flags.response_topic, ec.message());
    }
    const int sources = static_cast<int>(flags.message_option->count() > 0) +
                        static_cast<int>(flags.file_option->count() > 0) + static_cast<int>(flags.null_message) +
                        static_cast<int>(flags.stdin_message);
    if (sources != 1) return "give exactly one of -m, -f, -n, -s";
    return std::nullopt;
}

std::optional<std::string> read_request(const RrFlags& flags, std::string& error) {
    if (flags.null_message) return std::string();
    if (flags.message_option->count() > 0) return flags.message;
    std::ifstream file;
    if (flags.file_option->count() > 0) {
        file.open(flags.file, std::ios::binary);
        if (!file) {
            error = fmt::format("cannot read -f file '{}'", flags.file);
            return std::nullopt;
        }
    }
    std::istream& in = flags.file_option->count() > 0 ? static_cast<std::istream&>(file) : std::cin;
    std::ostringstream content;
    content << in.rdbuf();
    return std::move(content).str();
}

int run_rr(RrFlags& flags) {
    if (auto error = check_flags(flags)) {
        flags.connect.error(*error);
        return to_int(ExitCode::usage);
    }
    std::string error;
    auto payload = read_request(flags, error);
    if (!payload) {
        flags.connect.error(error);
        return to_int(ExitCode::usage);
    }
    try {
        CommandRun run(flags.connect, flags.connect.client_options());
        Requester requester(flags, run);
        if (flags.timeout != 0) {
            run.set_deadline(std::chrono::seconds(flags.timeout), [&] {
                run.finish(ExitCode::timeout, fmt::format("timed out after {} s without a response", flags.timeout));
            });
        }
        return run.run([&] { requester.start(std::move(*payload)); });
    } catch (const std::system_error& e) {
        flags.connect.error(e.what());
        return to_int(ExitCode::usage);
    }
}

}  // namespace

Command setup_rr(CLI::App& parent) {
    auto flags = std::make_shared<RrFlags>();
    auto* command = parent.add_subcommand("rr", "Send a request and print its response (mosquitto_rr habits)");
    command->set_help_flag("--help", "Print this help and exit");
    add_rr_flags(*command, *flags);
    return Command{command, [flags] { return run_rr(*flags); }};
}

}  // namespace nmqtt::cli
