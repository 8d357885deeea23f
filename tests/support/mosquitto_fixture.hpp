// A private mosquitto broker (Debian /usr/sbin/mosquitto 2.0.x) per test, on free loopback ports.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/process.hpp"

namespace nmqtt::test {

/// Which certificate the TLS listener presents (see tls_certs()).
enum class ServerCert { localhost, wrong_name };

/// Broker configuration. Defaults: anonymous plain listener on 127.0.0.1, no persistence, no TLS.
/// Every member has a default, so designated initializers work: MosquittoFixture b({.tls = true});
struct MosquittoOptions {
    bool allow_anonymous = true;
    /// user/password pairs; when non-empty a password file is generated with `mosquitto_passwd -b -c`.
    std::vector<std::pair<std::string, std::string>> users{};
    /// Content of an ACL file (mosquitto acl_file syntax, e.g. "user alice\ntopic readwrite a/#\n");
    /// empty means no ACL file.
    std::string acl{};
    /// Persistence on: the store lives in a directory that survives restart() / stop()+start().
    bool persistence = false;
    /// Adds a TLS listener on 127.0.0.1:tls_port() with cafile = tls_certs().ca_cert.
    bool tls = false;
    ServerCert server_cert = ServerCert::localhost;
    /// TLS listener demands a client certificate signed by the test CA (mutual TLS).
    bool require_client_cert = false;
    /// Adds a plain listener on [::1]:ipv6_port().
    bool ipv6 = false;
    /// Lines written verbatim into the configuration right after the plain listener line (so listener
    /// options such as "max_connections 1" apply to the plain listener; global ones apply everywhere),
    /// e.g. "max_inflight_messages 1", "max_keepalive 10", "message_size_limit 100".
    std::vector<std::string> extra_config{};
    /// Start in the constructor. When false, call start() yourself.
    bool start = true;
};

/// Runs a mosquitto of its own in a fresh temp dir, with `log_type all` to a file (so PINGREQ, PUBACK...
/// appear in log()). The plain listener is on host():port(). Ports are chosen free and kept across
/// restart(), so a client can reconnect to the same address. Not thread-safe: use from the test thread.
///
/// Example:
///   MosquittoFixture broker;  // started
///   auto r = run_process({"mosquitto_pub", "-h", broker.host(), "-p", std::to_string(broker.port()),
///                         "-t", "t", "-m", "x"}, 10s);
class MosquittoFixture {
public:
    /// Writes the config and (unless options.start is false) starts the broker.
    /// Throws std::runtime_error if it cannot be started within ~5 s (the message includes its log).
    explicit MosquittoFixture(MosquittoOptions options = {});
    /// Stops the broker (SIGTERM, waitpid, SIGKILL after 5 s) and removes the temp dir.
    ~MosquittoFixture();
    MosquittoFixture(const MosquittoFixture&) = delete;
    MosquittoFixture& operator=(const MosquittoFixture&) = delete;

    /// Starts the broker if stopped, and waits until every listener accepts TCP connections.
    /// On the first start, port collisions with other processes are retried with new ports; later starts
    /// keep the ports (retrying the bind for a few seconds). Throws std::runtime_error on failure.
    void start();
    /// Stops the broker (SIGTERM, then SIGKILL after 5 s) and reaps it. No-op if stopped. Bytes a client
    /// sent that the broker has not read yet are lost: wait_for_log("Received PUBLISH from ...") first when
    /// a test depends on them (e.g. a retained message that must survive a restart with persistence).
    void stop();
    /// Sends SIGKILL (a crash: no persistence flush, no wills cleanup) and reaps it. No-op if stopped.
    void kill();
    /// stop() then start() on the same ports.
    void restart();
    [[nodiscard]] bool is_running();

    [[nodiscard]] const std::string& host() const noexcept { return host_; }   ///< "127.0.0.1"
    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }        ///< plain listener
    [[nodiscard]] std::uint16_t tls_port() const noexcept { return tls_port_; }  ///< 0 unless options.tls
    [[nodiscard]] std::uint16_t ipv6_port() const noexcept { return ipv6_port_; }  ///< on "::1"; 0 unless ipv6
    [[nodiscard]] pid_t pid() const noexcept;                                   ///< -1 when stopped

    /// The whole broker log so far (all runs since construction; each start appends).
    [[nodiscard]] std::string log() const;
    /// Polls log() until it contains `needle`. Returns false on timeout.
    bool wait_for_log(std::string_view needle, std::chrono::milliseconds timeout = 5000ms) const;
    /// Number of occurrences of `needle` in log() (e.g. "Received PINGREQ").
    [[nodiscard]] std::size_t count_in_log(std::string_view needle) const;

    [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_.path(); }
    [[nodiscard]] std::filesystem::path config_path() const { return dir_ / "mosquitto.conf"; }
    [[nodiscard]] std::filesystem::path log_path() const { return dir_ / "mosquitto.log"; }
    [[nodiscard]] const MosquittoOptions& options() const noexcept { return options_; }

private:
    void choose_ports();
    void write_config() const;
    void write_password_file() const;
    bool try_start();

    MosquittoOptions options_;
    TempDir dir_;
    std::string host_ = "127.0.0.1";
    std::uint16_t port_ = 0;
    std::uint16_t tls_port_ = 0;
    std::uint16_t ipv6_port_ = 0;
    bool started_once_ = false;
    std::unique_ptr<Process> process_;
};

}  // namespace nmqtt::test
