// Reconnector: automatic reconnection for the Client facade: exponential backoff with full jitter, broker
// addresses in turn, a timer, and a report for every attempt and the give-up.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string_view>
#include <system_error>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "nmqtt/client.hpp"
#include "nmqtt/options.hpp"

namespace nmqtt::net {

/// Throws std::system_error(invalid_argument) for enabled options out of range: negative delays,
/// max_delay < initial_delay, multiplier < 1 (or not a number).
void validate(const ReconnectOptions& options);

/// Exponential backoff with full jitter: the delay before attempt n is uniform in [0, cap(n)) with
/// cap(n) = min(max_delay, initial_delay * multiplier^(n-1)). No clock, no I/O.
class Backoff {
public:
    explicit Backoff(const ReconnectOptions& options);

    /// Counts one more attempt and returns the delay before it.
    [[nodiscard]] std::chrono::milliseconds next();
    /// The cap of attempt `n` (n >= 1).
    [[nodiscard]] std::chrono::milliseconds cap(std::uint32_t n) const noexcept;
    void reset() noexcept { attempts_ = 0; }
    [[nodiscard]] std::uint32_t attempts() const noexcept { return attempts_; }
    /// True when max_attempts attempts have been made (never when max_attempts is 0).
    [[nodiscard]] bool exhausted() const noexcept { return max_attempts_ != 0 && attempts_ >= max_attempts_; }

private:
    [[nodiscard]] double draw();
    [[nodiscard]] double next_unit() noexcept;

    std::chrono::milliseconds initial_;
    std::chrono::milliseconds max_;
    double multiplier_;
    std::uint32_t max_attempts_;
    std::uint32_t attempts_ = 0;
    std::function<double()> random_;
    std::uint64_t state_;  ///< splitmix64: 8 bytes per client, where a std::mt19937_64 would take 2.5 KiB
};

/// Decides, after each ending, whether and when to connect again, and to which address. Thread safety: none;
/// everything runs on the io_context's thread.
class Reconnector {
public:
    /// Starts a connection attempt to an address; may throw std::system_error (the give-up reason).
    using Attempt = std::function<void(const BrokerAddress& broker)>;
    using Report = std::function<void(const ReconnectInfo& info)>;

    Reconnector(asio::io_context& io, ReconnectOptions options, Attempt attempt, Report report);
    /// Cancels a pending wait: its completion does nothing.
    ~Reconnector();
    Reconnector(const Reconnector&) = delete;
    Reconnector& operator=(const Reconnector&) = delete;

    [[nodiscard]] bool enabled() const noexcept { return options_.enabled; }
    /// The user called connect(host, port, secure): the address list starts with it, the count restarts, and
    /// a pending wait is cancelled. Armed until stop() or a give-up.
    void begin(BrokerAddress first);
    /// The user called close(): no more attempts. Returns true when a pending wait was cancelled.
    bool stop() noexcept;
    [[nodiscard]] bool is_waiting() const noexcept { return waiting_; }

    /// The server named another server (MQTT 5.0 Server Reference with reason 0x9C Use another server or
    /// 0x9D Server moved): the next attempt goes to `host` (`port`, or the current address's port; TLS as the
    /// current address), before the rest of the list. Call before on_ended().
    void redirect(std::string host, std::optional<std::uint16_t> port);
    /// A connection was established (CONNACK accepted).
    void on_connected();
    /// A connection attempt failed (`code` -5..-1, 1..5) or an established connection ended (`code` 0,
    /// `was_connected`). Schedules the next attempt, or gives up; reports either. Does nothing when not armed
    /// or when the user's close() ended the connection (closed_by_client).
    void on_ended(bool was_connected, std::error_code reason, int code, std::string_view message);

private:
    void schedule(std::error_code reason, int code, std::string_view message);
    void give_up(std::error_code reason, int code, std::string_view message);
    void on_timer(std::uint64_t sequence, std::error_code error);
    void start(const BrokerAddress& broker);
    void follow_redirect();
    void cancel_timer() noexcept;

    ReconnectOptions options_;
    Attempt attempt_;
    Report report_;
    Backoff backoff_;
    asio::steady_timer timer_;
    std::vector<BrokerAddress> brokers_;  // the connect() address, then options_.brokers
    std::size_t current_ = 0;
    std::optional<std::pair<std::string, std::optional<std::uint16_t>>> redirect_;  // a Server Reference's
    bool armed_ = false;
    bool waiting_ = false;
    bool announcing_ = false;  ///< inside the "attempting" report (close() there cancels the attempt)
    std::uint64_t sequence_ = 0;         // ignores completions of cancelled waits
    std::chrono::milliseconds delay_{0};  // of the pending attempt
    std::chrono::steady_clock::time_point connected_at_{};
    std::shared_ptr<bool> alive_;
};

}  // namespace nmqtt::net
