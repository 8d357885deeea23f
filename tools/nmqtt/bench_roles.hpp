// The clients of `nmqtt bench`: publishers, receivers, the round-trip client and idle connections, each an
// nmqtt::Client on one of a few io_contexts (one thread each). Every member function runs on the client's
// io_context thread except where a comment says otherwise; the counters main() reads are atomics.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "bench_stats.hpp"
#include "nmqtt/client.hpp"

namespace nmqtt::cli::bench {

/// The flags of `nmqtt bench` (one struct shared by every mode).
struct Flags {
    std::string mode = "pub";
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    long clients = 1;
    long messages = 10000;
    long interval_ms = 0;
    long payload = 64;
    int qos = 0;
    long inflight = 64;
    std::string topic = "bench/%i";
    std::string username;
    std::optional<std::string> password;
    std::string cafile;
    std::string capath;
    std::string cert;
    std::string key;
    bool tls = false;
    bool insecure = false;
    bool websocket = false;              ///< --ws: MQTT over WebSockets (ws://, wss:// with TLS)
    std::string ws_path = "/mqtt";       ///< --ws-path
    bool json = false;
    bool no_sub = false;
    double timeout_s = 60;
    double idle_s = 0;
    long threads = 0;
    long connecting = 64;
    std::string protocol = "311";  ///< -V: mqttv311|311 or mqttv5|5

    [[nodiscard]] bool is_secure() const { return tls || !cafile.empty() || !capath.empty() || !cert.empty(); }
    [[nodiscard]] std::uint16_t broker_port() const {
        if (port != 0) return port;
        if (websocket) return is_secure() ? std::uint16_t{443} : std::uint16_t{80};
        return is_secure() ? std::uint16_t{8883} : std::uint16_t{1883};
    }
};

/// `pattern` with every "%i" replaced by `replacement`.
[[nodiscard]] std::string expand_topic(const std::string& pattern, const std::string& replacement);

/// The ClientOptions of one bench client.
[[nodiscard]] ClientOptions make_client_options(const Flags& flags, std::string client_id);

/// Counters shared by all the clients of a run (any thread).
struct RunState {
    std::atomic<long> ready{0};    ///< connected (and subscribed, for receivers)
    std::atomic<long> failed{0};   ///< connect or subscribe failed
    std::atomic<long> offline{0};  ///< connections lost after being ready
    std::atomic<int> first_failure{0};
    std::atomic<bool> failure_seen{false};

    void fail(int reason) {
        if (!failure_seen.exchange(true)) first_failure = reason;
        ++failed;
    }
};

/// One io_context per thread; clients are spread over them.
class Workers {
public:
    explicit Workers(std::size_t threads);
    ~Workers();
    Workers(const Workers&) = delete;
    Workers& operator=(const Workers&) = delete;

    [[nodiscard]] asio::io_context& at(std::size_t index) { return *contexts_[index % contexts_.size()]; }
    [[nodiscard]] std::size_t size() const noexcept { return contexts_.size(); }
    /// Lets the contexts run out of work for up to `grace`, then stops them and joins the threads (main thread).
    void stop(std::chrono::milliseconds grace);

private:
    std::vector<std::unique_ptr<asio::io_context>> contexts_;
    std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards_;
    std::vector<std::thread> threads_;
    std::atomic<std::size_t> finished_{0};
};

/// Streams `messages` stamped PUBLISH packets, at most `inflight` outstanding, or one per interval.
class Publisher {
public:
    Publisher(asio::io_context& io, const Flags& flags, std::uint32_t index, RunState& state);

    void connect();
    /// Starts publishing (posted by main once every client is ready).
    void go();
    void close() { client_.close(); }

    [[nodiscard]] std::uint64_t sent() const noexcept { return sent_.load(std::memory_order_relaxed); }
    [[nodiscard]] std::uint64_t completed() const noexcept { return completed_.load(std::memory_order_relaxed); }
    [[nodiscard]] bool is_finished() const noexcept { return finished_.load(std::memory_order_acquire); }
    [[nodiscard]] std::uint64_t last_completion_ns() const noexcept { return last_done_ns_.load(std::memory_order_relaxed); }

private:
    void pump();
    void on_done(std::error_code error);
    void tick();
    void finish() { finished_.store(true, std::memory_order_release); }

    const Flags& flags_;
    RunState& state_;
    std::uint32_t index_;
    Client client_;
    asio::steady_timer timer_;
    std::string topic_;
    std::string payload_;
    Client::PublishCompletion done_;
    std::uint64_t allowed_ = 0;    // messages the interval allows so far (all of them when streaming)
    std::uint64_t seq_ = 0;
    std::uint64_t outstanding_ = 0;
    bool ready_ = false;
    std::chrono::steady_clock::time_point next_tick_{};
    std::atomic<std::uint64_t> sent_{0};
    std::atomic<std::uint64_t> completed_{0};
    std::atomic<std::uint64_t> last_done_ns_{0};
    std::atomic<bool> finished_{false};
};

/// Subscribes to `filter` and records every arrival.
class Receiver {
public:
    Receiver(asio::io_context& io, const Flags& flags, std::string filter, std::string client_id,
             std::uint32_t publishers, std::uint32_t per_publisher, RunState& state);

    void connect();
    void close() { client_.close(); }
    [[nodiscard]] Arrivals& arrivals() noexcept { return arrivals_; }

private:
    const Flags& flags_;
    RunState& state_;
    Client client_;
    std::string filter_;
    Arrivals arrivals_;
    bool ready_ = false;
};

/// Publishes one message to its own topic, waits for it, and so on: publish -> receive round trips.
class RoundTrip {
public:
    RoundTrip(asio::io_context& io, const Flags& flags, RunState& state);

    void connect();
    /// Starts the samples; stops at `flags.messages` samples or at `deadline_ns` (bench clock).
    void go(std::uint64_t deadline_ns);
    void close() { client_.close(); }

    [[nodiscard]] bool is_finished() const noexcept { return finished_.load(std::memory_order_acquire); }
    [[nodiscard]] std::uint64_t sent() const noexcept { return sent_.load(std::memory_order_relaxed); }
    [[nodiscard]] Arrivals& arrivals() noexcept { return arrivals_; }

private:
    void send_next();
    void on_message(const MessageView& message);

    const Flags& flags_;
    RunState& state_;
    Client client_;
    asio::steady_timer timer_;
    std::string topic_;
    std::string payload_;
    Arrivals arrivals_;
    std::uint64_t deadline_ns_ = 0;
    std::uint32_t current_ = 0;
    bool ready_ = false;
    std::atomic<std::uint64_t> sent_{0};
    std::atomic<bool> finished_{false};
};

/// A client that connects and stays idle (conn mode). Connects are started by a per-context Connector.
class IdleClient {
public:
    IdleClient(asio::io_context& io, const Flags& flags, std::uint32_t index, RunState& state);

    /// Connects; `settled` runs once the attempt has succeeded or failed.
    void connect(std::function<void()> settled);
    void close() { client_.close(); }

private:
    const Flags& flags_;
    RunState& state_;
    Client client_;
    bool ready_ = false;
};

/// Connects the idle clients of one io_context with at most `parallel` attempts pending at once, so that a
/// storm does not overflow the broker's listen backlog (dropped SYNs are retried only after a second).
class Connector {
public:
    Connector(std::vector<IdleClient*> clients, long parallel) : clients_(std::move(clients)), parallel_(parallel) {}
    void start();

private:
    void next();

    std::vector<IdleClient*> clients_;
    long parallel_;
    std::size_t next_ = 0;
};

}  // namespace nmqtt::cli::bench
