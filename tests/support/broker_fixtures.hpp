// Private aedes and RabbitMQ brokers for the interop tests, beside MosquittoFixture: each on free loopback
// ports, in a temp dir of its own, stopped by PID.
//
//  - aedes 1.x (npm) runs under Node >= 20 from tests/support/brokers/aedes_broker.mjs; `./dev deps` installs
//    the npm packages (tests/support/brokers/package-lock.json) into npm_dir(), outside the source tree.
//  - RabbitMQ is Debian's rabbitmq-server 3.10 with rabbitmq_mqtt (and optionally rabbitmq_web_mqtt) enabled
//    through a private enabled-plugins file. Each fixture runs its own epmd on a private port (ERL_EPMD_PORT),
//    so it neither uses nor disturbs a system epmd, and private node names, mnesia/log dirs, config and
//    Erlang cookie. A node takes ~5-10 s to boot: start one per test binary (see interop_broker.hpp).
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "support/process.hpp"

namespace nmqtt::test {

/// Where `./dev deps` installs the npm test packages: $NMQTT_NPM_DIR, else
/// ${XDG_CACHE_HOME:-$HOME/.cache}/nmqtt/npm. Its node_modules holds aedes, ws and mqtt (MQTT.js).
[[nodiscard]] std::filesystem::path npm_dir();

/// Throws std::runtime_error with a clear message (what is missing, "run ./dev deps") unless node >= 20 is on
/// PATH and npm_dir() holds aedes. Returns npm_dir() / "node_modules".
std::filesystem::path require_npm_packages();

/// Path of a Node script of tests/support/brokers (e.g. "mqttjs_client.mjs", MQTT.js as a peer).
[[nodiscard]] std::filesystem::path node_script(std::string_view file);

struct AedesOptions {
    /// Adds a WebSocket listener (npm ws) on 127.0.0.1:ws_port(), path /mqtt.
    bool websocket = false;
    /// Adds a TLS WebSocket listener (node:https + npm ws) on 127.0.0.1:wss_port(), path /mqtt, serving this
    /// PEM certificate (chain) and key, e.g. tls_certs().server_cert / server_key. Empty: none.
    std::filesystem::path wss_cert{};
    std::filesystem::path wss_key{};
    /// Start in the constructor. When false, call start() yourself.
    bool start = true;
};

/// One aedes broker. Ports are chosen by the broker on its first start (bind to port 0, so no collision) and
/// kept across restart(). The broker's stdout (one line per connect, disconnect, subscribe, publish) is log().
/// Not thread-safe: use from the test thread.
class AedesFixture {
public:
    /// Throws std::runtime_error if Node/aedes are missing or the broker does not start within ~10 s.
    explicit AedesFixture(AedesOptions options = {});
    ~AedesFixture();
    AedesFixture(const AedesFixture&) = delete;
    AedesFixture& operator=(const AedesFixture&) = delete;

    void start();
    /// SIGTERM (aedes closes its clients' connections), SIGKILL after 5 s.
    void stop();
    /// SIGKILL: connections are cut without a close; aedes keeps no state across runs (memory persistence).
    void kill();
    void restart();
    [[nodiscard]] bool is_running();

    [[nodiscard]] const std::string& host() const noexcept { return host_; }
    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
    [[nodiscard]] std::uint16_t ws_port() const noexcept { return ws_port_; }  ///< 0 unless websocket
    [[nodiscard]] std::uint16_t wss_port() const noexcept { return wss_port_; }  ///< 0 unless wss_cert
    [[nodiscard]] pid_t pid() const noexcept;
    [[nodiscard]] const std::string& version() const noexcept { return version_; }  ///< e.g. "1.2.0"
    [[nodiscard]] std::string log() const;
    bool wait_for_log(std::string_view needle, std::chrono::milliseconds timeout = 5000ms) const;

private:
    AedesOptions options_;
    TempDir dir_;
    std::string host_ = "127.0.0.1";
    std::uint16_t port_ = 0;
    std::uint16_t ws_port_ = 0;
    std::uint16_t wss_port_ = 0;
    std::string version_;
    std::unique_ptr<Process> process_;
};

struct RabbitOptions {
    /// Enables rabbitmq_web_mqtt on 127.0.0.1:ws_port(), path /ws (RabbitMQ's default).
    bool web_mqtt = false;
    /// Start in the constructor. When false, call start() yourself.
    bool start = true;
};

class RabbitEpmd;

/// One RabbitMQ node (beam.smp run directly, so pid() is the VM). Its MQTT listener is host():port(),
/// AMQP amqp_port(), Erlang distribution on a fixed private port. Anonymous MQTT logins map to "guest".
class RabbitNode {
public:
    /// `name` is the short node name ("nmqtt-<pid>-<n>"), the node is name@localhost.
    RabbitNode(std::shared_ptr<RabbitEpmd> epmd, std::filesystem::path base, std::string name,
               RabbitOptions options);
    ~RabbitNode();
    RabbitNode(const RabbitNode&) = delete;
    RabbitNode& operator=(const RabbitNode&) = delete;

    /// Starts the VM and waits (up to 60 s) for the MQTT listener. Throws std::runtime_error with the log tail.
    void start();
    /// SIGTERM (a clean shutdown: clients get their TCP connections closed), SIGKILL after 20 s.
    void stop();
    /// SIGKILL: the node vanishes as in a crash.
    void kill();
    void restart();
    [[nodiscard]] bool is_running();

    [[nodiscard]] const std::string& host() const noexcept { return host_; }
    [[nodiscard]] std::uint16_t port() const noexcept { return mqtt_port_; }
    [[nodiscard]] std::uint16_t ws_port() const noexcept { return ws_port_; }  ///< 0 unless web_mqtt
    [[nodiscard]] std::uint16_t amqp_port() const noexcept { return amqp_port_; }
    [[nodiscard]] std::string node_name() const { return name_ + "@localhost"; }
    [[nodiscard]] pid_t pid() const noexcept;
    [[nodiscard]] std::string log() const;
    bool wait_for_log(std::string_view needle, std::chrono::milliseconds timeout = 5000ms) const;
    /// Runs `rabbitmqctl -n <this node> args...` with this node's environment; throws on failure or timeout.
    std::string ctl(std::initializer_list<std::string> args) const;

private:
    void choose_ports();
    [[nodiscard]] bool start_once();
    void write_config() const;
    [[nodiscard]] ProcessOptions environment() const;

    std::shared_ptr<RabbitEpmd> epmd_;
    std::filesystem::path base_;
    std::string name_;
    RabbitOptions options_;
    std::string host_ = "127.0.0.1";
    std::uint16_t amqp_port_ = 0;
    std::uint16_t mqtt_port_ = 0;
    std::uint16_t ws_port_ = 0;
    std::uint16_t dist_port_ = 0;
    bool started_once_ = false;
    std::unique_ptr<Process> process_;
};

/// A single-node RabbitMQ with its own epmd and temp dir.
class RabbitFixture {
public:
    explicit RabbitFixture(RabbitOptions options = {});
    ~RabbitFixture();
    RabbitFixture(const RabbitFixture&) = delete;
    RabbitFixture& operator=(const RabbitFixture&) = delete;

    [[nodiscard]] RabbitNode& node() noexcept { return *node_; }
    [[nodiscard]] const std::string& host() const noexcept { return node_->host(); }
    [[nodiscard]] std::uint16_t port() const noexcept { return node_->port(); }
    [[nodiscard]] std::uint16_t ws_port() const noexcept { return node_->ws_port(); }
    void start() { node_->start(); }
    void stop() { node_->stop(); }
    void kill() { node_->kill(); }
    void restart() { node_->restart(); }
    [[nodiscard]] bool is_running() { return node_->is_running(); }
    [[nodiscard]] pid_t pid() const noexcept { return node_->pid(); }
    [[nodiscard]] std::string log() const { return node_->log(); }
    [[nodiscard]] static std::string version() { return "3.10"; }

private:
    TempDir dir_;
    std::shared_ptr<RabbitEpmd> epmd_;
    std::unique_ptr<RabbitNode> node_;
};

/// Two RabbitMQ nodes on loopback sharing one Erlang cookie and a private epmd, clustered with
/// `rabbitmqctl join_cluster` (node 1 joins node 0). Stopping one node leaves the other serving MQTT.
class RabbitCluster {
public:
    /// Starts both nodes and forms the cluster (~20-30 s). Throws std::runtime_error on failure.
    explicit RabbitCluster(RabbitOptions options = {});
    ~RabbitCluster();
    RabbitCluster(const RabbitCluster&) = delete;
    RabbitCluster& operator=(const RabbitCluster&) = delete;

    [[nodiscard]] RabbitNode& node(std::size_t i) { return *nodes_.at(i); }
    /// `rabbitmqctl cluster_status` as seen from node i.
    [[nodiscard]] std::string cluster_status(std::size_t i) const;

private:
    TempDir dir_;
    std::shared_ptr<RabbitEpmd> epmd_;
    std::array<std::unique_ptr<RabbitNode>, 2> nodes_;
};

}  // namespace nmqtt::test
