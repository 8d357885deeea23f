// `nmqtt pub`: publishes one message (-m, -f, -n, -s) or each stdin line (-l), in mosquitto_pub habits, and
// exits once every message is complete (written for QoS 0, PUBACK for QoS 1, PUBCOMP for QoS 2) and the
// connection is closed with DISCONNECT.
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <fmt/core.h>

#include "commands.hpp"
#include "connect_options.hpp"
#include "nmqtt/protocol/topic.hpp"

namespace nmqtt::cli {
namespace {

struct PubFlags {
    ConnectOptions connect{"pub"};
    std::string topic;
    std::string message;
    std::string file;
    bool lines = false;
    bool null_message = false;
    bool stdin_message = false;
    int qos = 0;
    bool retain = false;
    CLI::Option* message_option = nullptr;
    CLI::Option* file_option = nullptr;
};

/// Lines read from stdin by a thread of its own and handed to the io_context one by one (asio::post), with
/// at most `window` lines not yet completed, so a producer faster than the broker waits instead of filling
/// memory. The thread is detached: it may stay blocked in read() until the process exits.
class LineFeed : public std::enable_shared_from_this<LineFeed> {
public:
    using LineHandler = std::function<void(std::string line)>;
    using EndHandler = std::function<void()>;
    static constexpr std::size_t window = 1024;

    LineFeed(asio::io_context& io, LineHandler on_line, EndHandler on_end)
        : io_(io), on_line_(std::move(on_line)), on_end_(std::move(on_end)) {}

    /// Starts the reader thread.
    void start() { std::thread([self = shared_from_this()] { self->read_loop(); }).detach(); }

    /// One line completed (io_context thread): another one may be read.
    void release() {
        const std::lock_guard lock(mutex_);
        --in_flight_;
        wake_.notify_all();
    }

    /// Stops handing lines over; once this returns nothing more is posted (io_context thread).
    void stop() {
        const std::lock_guard lock(mutex_);
        stopped_ = true;
        wake_.notify_all();
    }

private:
    void read_loop() {
        std::string line;
        char buffer[65536];
        for (;;) {
            const auto n = ::read(STDIN_FILENO, buffer, sizeof buffer);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            const std::string_view chunk(buffer, static_cast<std::size_t>(n));
            std::size_t start = 0;
            for (auto newline = chunk.find('\n'); newline != std::string_view::npos;
                 newline = chunk.find('\n', start)) {
                line.append(chunk.substr(start, newline - start));
                if (!hand_over(std::move(line))) return;
                line.clear();
                start = newline + 1;
            }
            line.append(chunk.substr(start));
        }
        if (!line.empty() && !hand_over(std::move(line))) return;
        const std::lock_guard lock(mutex_);
        if (!stopped_) asio::post(io_, [self = shared_from_this()] { self->on_end_(); });
    }

    // Waits for room in the window, then posts the line. Returns false once stopped.
    bool hand_over(std::string line) {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return stopped_ || in_flight_ < window; });
        if (stopped_) return false;
        ++in_flight_;
        asio::post(io_, [self = shared_from_this(), line = std::move(line)]() mutable {
            self->on_line_(std::move(line));
        });
        return true;
    }

    asio::io_context& io_;
    LineHandler on_line_;
    EndHandler on_end_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::size_t in_flight_ = 0;
    bool stopped_ = false;
};

/// Publishes the messages of one run and finishes it once all of them are complete.
class Publisher {
public:
    Publisher(const PubFlags& flags, CommandRun& run) : flags_(flags), run_(run) {}
    ~Publisher() {
        if (feed_) feed_->stop();
    }
    Publisher(const Publisher&) = delete;
    Publisher& operator=(const Publisher&) = delete;

    /// Publishes `payload` once, then finishes.
    void publish_once(const std::string& payload) {
        input_done_ = true;
        publish(payload);
    }

    /// Starts reading stdin lines; each one is published as it arrives.
    void publish_lines() {
        feed_ = std::make_shared<LineFeed>(
            run_.client().context(),
            [this](std::string line) {
                if (run_.is_finished()) return;
                publish(line, true);
            },
            [this] {
                input_done_ = true;
                finish_when_done();
            });
        feed_->start();
    }

    /// Stops the reader (no more lines are posted once it returns).
    void stop() {
        if (feed_) feed_->stop();
    }

private:
    void publish(std::string_view payload, bool from_feed = false) {
        ++pending_;
        const auto number = ++published_;
        const auto size = payload.size();
        auto done = [this, number, size, from_feed](const Acknowledgement& ack) {
            --pending_;
            if (from_feed) feed_->release();
            const auto reason = ack.reason_code != 0 ? fmt::format(", reason code {}{}", describe_reason(ack.reason_code),
                                                                   describe_reason_string(ack.properties))
                                                     : std::string();
            if (ack.error == Errc::acknowledged_at_qos1) {  // the broker has it: a warning, not a failure
                warn_qos1_once(ack.error);
            } else if (ack.error) {
                run_.finish(ExitCode::request_failed, fmt::format("publish failed: {}{}", ack.error.message(), reason));
                return;
            }
            run_.options().debug(fmt::format("message {} complete ({} bytes, qos {}, packet id {}{})", number, size,
                                             flags_.qos, ack.packet_id, reason));
            finish_when_done();
        };
        const OutgoingMessage message{flags_.topic, payload, flags_.qos, flags_.retain,
                                      flags_.connect.v5().publish_properties()};
        if (!run_.client().publish(message, std::move(done))) {
            run_.finish(ExitCode::request_failed,
                        fmt::format("publish failed: {}", run_.client().last_error().message()));
        }
    }

    // One line for the run, however many messages the broker downgraded.
    void warn_qos1_once(std::error_code error) {
        if (warned_qos1_) return;
        warned_qos1_ = true;
        fmt::print(stderr, "Warning: {}\n", error.message());
    }

    void finish_when_done() {
        if (input_done_ && pending_ == 0) {
            run_.options().debug(fmt::format("{} message(s) complete", published_));
            run_.finish(ExitCode::ok);
        }
    }

    const PubFlags& flags_;
    CommandRun& run_;
    std::shared_ptr<LineFeed> feed_;
    std::size_t pending_ = 0;
    std::size_t published_ = 0;
    bool input_done_ = false;
    bool warned_qos1_ = false;
};

void add_pub_flags(CLI::App& app, PubFlags& flags) {
    flags.connect.add_to(app);
    app.add_option("-t,--topic", flags.topic, "Topic to publish to");
    flags.message_option = app.add_option("-m,--message", flags.message, "Message to send (may be empty)");
    flags.file_option = app.add_option("-f,--file", flags.file, "Send the content of a file as the message");
    app.add_flag("-l,--stdin-line", flags.lines, "Send each line of stdin as a message (without its newline)");
    app.add_flag("-n,--null-message", flags.null_message, "Send an empty (zero-length) message");
    app.add_flag("-s,--stdin-file", flags.stdin_message, "Send all of stdin as one message");
    app.add_option("-q,--qos", flags.qos, "Quality of service 0, 1 or 2 (default: 0)")->check(CLI::Range(0, 2));
    app.add_flag("-r,--retain", flags.retain, "Ask the broker to retain the message");
}

// Reads a whole file or stream, binary-safe. Returns nullopt with the reason in `error`.
std::optional<std::string> read_all(std::istream& in) {
    std::ostringstream content;
    content << in.rdbuf();
    if (in.bad()) return std::nullopt;
    return std::move(content).str();
}

std::optional<std::string> read_file(const std::string& path, std::string& error) {
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        error = fmt::format("cannot read -f file '{}': {}", path, std::strerror(errno));
        return std::nullopt;
    }
    auto content = read_all(file);
    if (!content) error = fmt::format("cannot read -f file '{}'", path);
    return content;
}

std::optional<std::string> read_stdin(std::string& error) {
    std::string content;
    char buffer[65536];
    for (;;) {
        const auto n = ::read(STDIN_FILENO, buffer, sizeof buffer);
        if (n == 0) return content;
        if (n > 0) {
            content.append(buffer, static_cast<std::size_t>(n));
        } else if (errno != EINTR) {
            error = fmt::format("cannot read stdin: {}", std::strerror(errno));
            return std::nullopt;
        }
    }
}

// The one message of -m, -f, -s or -n. Returns nullopt with the reason in `error`.
std::optional<std::string> read_payload(const PubFlags& flags, std::string& error) {
    if (flags.file_option->count() > 0) return read_file(flags.file, error);
    if (flags.stdin_message) return read_stdin(error);
    if (flags.null_message) return std::string();
    return flags.message;
}

// Checks the flags after parsing; returns a usage error or nullopt.
std::optional<std::string> check_flags(PubFlags& flags) {
    std::string url_topic;
    if (auto error = flags.connect.finish(url_topic)) return error;
    if (!url_topic.empty()) {
        if (!flags.topic.empty()) return "-L already names the topic: drop -t";
        flags.topic = url_topic;
    }
    if (flags.topic.empty()) return "no topic: give -t or -L";
    if (auto ec = protocol::validate_topic_name(flags.topic)) {
        return fmt::format("bad topic '{}': {}", flags.topic, ec.message());
    }
    const int sources = static_cast<int>(flags.message_option->count() > 0) +
                        static_cast<int>(flags.file_option->count() > 0) + static_cast<int>(flags.lines) +
                        static_cast<int>(flags.null_message) + static_cast<int>(flags.stdin_message);
    if (sources != 1) return "give exactly one of -m, -f, -l, -n, -s";
    return std::nullopt;
}

int run_pub(PubFlags& flags) {
    if (auto error = check_flags(flags)) {
        flags.connect.error(*error);
        return to_int(ExitCode::usage);
    }
    std::string payload;
    if (!flags.lines) {
        std::string error;
        auto content = read_payload(flags, error);
        if (!content) {
            flags.connect.error(error);
            return to_int(ExitCode::usage);
        }
        payload = std::move(*content);
    }
    auto options = flags.connect.client_options();
    options.max_buffered_bytes = std::max(options.max_buffered_bytes, payload.size() + (1u << 20));
    try {
        CommandRun run(flags.connect, std::move(options));
        Publisher publisher(flags, run);
        const int code = run.run([&] {
            if (flags.lines) {
                publisher.publish_lines();
            } else {
                publisher.publish_once(payload);
            }
        });
        publisher.stop();
        return code;
    } catch (const std::system_error& e) {
        flags.connect.error(e.what());
        return to_int(ExitCode::usage);
    }
}

}  // namespace

Command setup_pub(CLI::App& parent) {
    auto flags = std::make_shared<PubFlags>();
    auto* command = parent.add_subcommand("pub", "Publish a message (mosquitto_pub habits)");
    command->set_help_flag("--help", "Print this help and exit");
    add_pub_flags(*command, *flags);
    return Command{command, [flags] { return run_pub(*flags); }};
}

}  // namespace nmqtt::cli
