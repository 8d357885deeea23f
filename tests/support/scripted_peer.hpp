// A byte-exact fake broker on loopback, for what a real broker won't do: malformed packets, silence,
// refusals, abrupt closes. Everything else runs against a real mosquitto (MosquittoFixture).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "support/bytes.hpp"  // hex(), bytes_of(), cat(), to_hex(), bytes_equal()
#include "support/process.hpp"

namespace nmqtt::test {

/// Bytes as the test support classes store them (same type hex() and bytes_of() return).
using ByteVector = std::vector<std::uint8_t>;

namespace peer {

/// One step of a per-connection script. Build steps with the functions below.
struct Step {
    enum class Kind {
        expect_bytes,   ///< read bytes.size() bytes; they must equal `bytes`
        expect_count,   ///< read `count` bytes, any content
        expect_packet,  ///< read one MQTT packet (fixed header + remaining length); first byte must equal
                        ///< `bytes[0]` when `bytes` is non-empty
        send,           ///< write `bytes`
        silence,        ///< do nothing for `duration` (client bytes stay unread in the kernel)
        close,          ///< close gracefully (FIN); ends the script of this connection
        reset,          ///< close with RST (SO_LINGER 0); ends the script of this connection
        expect_close,   ///< read (and record) until the client closes; fails if it does not within `duration`;
                        ///< ends the script of this connection
        hold,           ///< never answer: keep the connection open without reading until the peer stops
    };
    Kind kind = Kind::silence;
    ByteVector bytes;
    std::size_t count = 0;
    std::chrono::milliseconds duration{0};
};

/// Default time an expect step waits for the client's bytes before the script fails.
inline constexpr std::chrono::milliseconds default_expect_timeout{5000};

/// Expects exactly these bytes next from the client.
[[nodiscard]] Step expect(ByteVector bytes, std::chrono::milliseconds timeout = default_expect_timeout);
/// Expects `count` more bytes of any content.
[[nodiscard]] Step expect_count(std::size_t count, std::chrono::milliseconds timeout = default_expect_timeout);
/// Expects one whole MQTT packet of any type.
[[nodiscard]] Step expect_packet(std::chrono::milliseconds timeout = default_expect_timeout);
/// Expects one whole MQTT packet whose first byte (type and flags) is `first_byte`, e.g. 0x10 for CONNECT,
/// 0xc0 for PINGREQ, 0xe0 for DISCONNECT, 0x82 for SUBSCRIBE.
[[nodiscard]] Step expect_packet(std::uint8_t first_byte, std::chrono::milliseconds timeout = default_expect_timeout);
/// Sends these bytes.
[[nodiscard]] Step send(ByteVector bytes);
/// Stays silent (no reads, no writes) for `duration`.
[[nodiscard]] Step silence(std::chrono::milliseconds duration);
/// Closes gracefully.
[[nodiscard]] Step close();
/// Closes with a TCP RST.
[[nodiscard]] Step reset();
/// Waits until the client closes the connection (EOF or RST), recording what it sends meanwhile; then
/// closes our end and ends this connection's script.
[[nodiscard]] Step expect_close(std::chrono::milliseconds timeout = default_expect_timeout);
/// Keeps the connection open and never reads or answers, until the ScriptedPeer is destroyed / stop()ped.
[[nodiscard]] Step hold();

/// CONNACK bytes (20 02 <session present> <return code>), for scripts.
[[nodiscard]] ByteVector connack(std::uint8_t return_code = 0, bool session_present = false);

}  // namespace peer

using Script = std::vector<peer::Step>;

/// Listens on 127.0.0.1:port() (chosen free) and runs one script per accepted connection, in order, on a
/// background thread: connection i runs scripts[i]; the peer stops accepting after the last script.
/// A script that ends without close/reset/hold leaves the connection open until the peer is destroyed.
/// If a step fails (wrong bytes, timeout, unexpected EOF), the connection is closed and the remaining
/// scripts are abandoned; failure() describes it.
///
/// Thread safety: all public methods may be called from the test thread while the script runs.
///
/// Example:
///   ScriptedPeer peer({{peer::expect_packet(0x10), peer::send(peer::connack(5)), peer::expect_close()}});
///   ... connect the client to peer.port() ...
///   ASSERT_TRUE(peer.wait_done(5s)) << peer.failure();
///   EXPECT_TRUE(peer.matched()) << peer.failure();
class ScriptedPeer {
public:
    /// Modes without a script.
    enum class Mode {
        silent,        ///< accept every connection (up to 64), never read or write, keep it open
        never_accept,  ///< listen(backlog 0) and never accept(), with the smallest SO_RCVBUF the kernel
                       ///< allows (about 2 KB on Linux). The kernel still completes the handshake of the
                       ///< first queued connection(s), so the client's connect succeeds, and a CONNECT of a
                       ///< few hundred bytes is buffered by the kernels: the client then waits for a CONNACK
                       ///< that never comes. A blocked CONNECT write cannot be provoked from this side alone:
                       ///< on Linux loopback the client's send buffer autotunes up to tcp_wmem[2] (4 MB here;
                       ///< measured: 1.6 MB accepted against this peer), far above the largest CONNECT (~320
                       ///< KB). It blocks after a few KB only if the client's own SO_SNDBUF is set small.
                       ///< With fill_backlog=true the peer first fills the accept queue itself, so the
                       ///< client's SYNs are dropped and its connect() never completes (a connect timeout).
    };

    /// Runs `scripts`, one per connection.
    explicit ScriptedPeer(std::vector<Script> scripts);
    /// Runs a scriptless mode.
    explicit ScriptedPeer(Mode mode, bool fill_backlog = false);
    /// Stops: closes the listener and all connections, joins the thread.
    ~ScriptedPeer();
    ScriptedPeer(const ScriptedPeer&) = delete;
    ScriptedPeer& operator=(const ScriptedPeer&) = delete;

    [[nodiscard]] const std::string& host() const noexcept { return host_; }  ///< "127.0.0.1"
    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

    /// Waits until every script has finished (or one failed). hold() and scripts that end with the
    /// connection open count as finished once their last step is reached. Returns false on timeout.
    /// In the scriptless modes it returns true at once.
    bool wait_done(std::chrono::milliseconds timeout);
    /// Waits until at least `n` connections have been accepted. Returns false on timeout.
    bool wait_connections(std::size_t n, std::chrono::milliseconds timeout);
    /// True when every script has finished and every step matched (always true in the scriptless modes).
    [[nodiscard]] bool matched() const;
    /// Description of the first failure ("connection 0 step 2 (expect: expected C0 00 got E0 00)"), or "".
    [[nodiscard]] std::string failure() const;
    /// Everything the client sent on connection `index`, in order (empty if none).
    [[nodiscard]] ByteVector received(std::size_t index = 0) const;
    [[nodiscard]] std::size_t connections_accepted() const;
    /// Closes the listener and every connection and joins the thread (the destructor calls it).
    void stop();

private:
    using Deadline = std::chrono::steady_clock::time_point;
    enum class StepOutcome { next, end, failed };

    void run_scripts();
    void run_silent();
    StepOutcome run_step(int fd, std::size_t index, std::size_t step_index, const peer::Step& step);
    std::string run_expect(int fd, std::size_t index, const peer::Step& step);
    std::string run_expect_close(int fd, std::size_t index, std::chrono::milliseconds timeout);
    std::string read_packet(int fd, std::size_t index, Deadline deadline, int first_byte);
    std::string read_exact(int fd, std::size_t index, std::size_t count, Deadline deadline, ByteVector& out);
    int accept_one();
    void close_connection(int fd, bool reset);
    void fail(std::size_t index, std::size_t step_index, const std::string& why);
    void record(std::size_t index, const std::uint8_t* data, std::size_t size);
    void fill_backlog();

    std::string host_ = "127.0.0.1";
    std::uint16_t port_ = 0;
    int listen_fd_ = -1;
    std::vector<Script> scripts_;
    Mode mode_ = Mode::silent;
    bool scripted_ = false;

    mutable std::mutex mutex_;
    std::vector<ByteVector> received_;
    std::vector<int> open_fds_;
    std::vector<int> backlog_fds_;
    std::string failure_;
    std::size_t accepted_ = 0;
    bool done_ = false;
    std::atomic<bool> stopping_{false};
    std::thread thread_;
};

}  // namespace nmqtt::test
