// A loopback TCP proxy between a client and a broker, with faults switched on and off by the test.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace nmqtt::test {

/// Traffic direction through the proxy.
enum class Direction { client_to_broker, broker_to_client, both };

/// Listens on 127.0.0.1:port() (chosen free) and forwards each accepted connection to target_host:
/// target_port, with two threads per connection (one per direction). At most 32 live connections; more are
/// refused (closed at once). Fault settings apply immediately to live and future connections.
///
/// Thread safety: every public method may be called from any thread.
///
/// Example (broker dies under the client):
///   MosquittoFixture broker; FaultProxy proxy(broker.host(), broker.port());
///   ... client connects to proxy.port() ...
///   proxy.cut_all();  // client sees a reset
class FaultProxy {
public:
    /// Starts listening and accepting. Throws std::runtime_error if it cannot listen.
    FaultProxy(std::string target_host, std::uint16_t target_port);
    /// Stops accepting, closes every connection and joins every thread.
    ~FaultProxy();
    FaultProxy(const FaultProxy&) = delete;
    FaultProxy& operator=(const FaultProxy&) = delete;

    [[nodiscard]] const std::string& host() const noexcept { return host_; }  ///< "127.0.0.1"
    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

    /// Closes every live connection on both sides: with a TCP RST (reset=true) or a FIN (reset=false).
    /// Future connections are still accepted (combine with refuse_new()).
    void cut_all(bool reset = true);
    /// When true, new connections are accepted and closed at once with RST (broker "down").
    void refuse_new(bool refuse);
    /// Stops forwarding in `direction` without closing anything (bytes pile up in kernel buffers).
    void stall(Direction direction = Direction::both);
    /// Resumes forwarding in `direction` (undoes stall()).
    void resume(Direction direction = Direction::both);
    /// Sleeps `delay` before forwarding each chunk read (each byte when one_byte_segments is on).
    void set_delay(std::chrono::milliseconds delay);
    /// When true, forwards one byte per send() (sockets have TCP_NODELAY), so the receiver sees the stream
    /// split at every byte (as far as TCP allows: the receiver may still coalesce on read).
    void set_one_byte_segments(bool on);

    /// Connections accepted so far (including refused ones).
    [[nodiscard]] std::size_t connections_accepted() const noexcept { return accepted_.load(); }
    /// Connections currently being forwarded.
    [[nodiscard]] std::size_t active_connections() const;
    /// Bytes forwarded so far in one direction (both = sum).
    [[nodiscard]] std::size_t bytes_forwarded(Direction direction) const noexcept;

private:
    struct Link;
    void accept_loop();
    void start_link(int client_fd);
    static constexpr long chunk_none = -1;
    static constexpr long chunk_error = -2;

    void pump(const std::shared_ptr<Link>& link, bool to_broker);
    long read_chunk(Link& link, int from, bool to_broker, std::uint8_t* buffer, std::size_t size);
    bool forward(const std::shared_ptr<Link>& link, int to, const std::uint8_t* data, std::size_t size,
                 std::atomic<std::size_t>& counter);
    void reap_finished();
    bool is_stalled(bool to_broker) const noexcept;

    std::string host_ = "127.0.0.1";
    std::string target_host_;
    std::uint16_t target_port_ = 0;
    std::uint16_t port_ = 0;
    int listen_fd_ = -1;

    std::atomic<bool> stopping_{false};
    std::atomic<bool> refuse_new_{false};
    std::atomic<bool> stall_up_{false};
    std::atomic<bool> stall_down_{false};
    std::atomic<bool> one_byte_{false};
    std::atomic<long long> delay_ms_{0};
    std::atomic<std::size_t> accepted_{0};
    std::atomic<std::size_t> up_bytes_{0};
    std::atomic<std::size_t> down_bytes_{0};

    mutable std::mutex mutex_;
    std::list<std::shared_ptr<Link>> links_;
    std::thread accept_thread_;
};

}  // namespace nmqtt::test
