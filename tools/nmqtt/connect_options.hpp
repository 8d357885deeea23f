// Connection flags shared by `nmqtt pub` and `nmqtt sub` (mosquitto_pub / mosquitto_sub habits), the -L
// broker URL, the exit codes of both commands, and the one-line error and debug output they share.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/core.h>

#include "nmqtt/client.hpp"
#include "nmqtt/options.hpp"
#include "v5_flags.hpp"

namespace CLI { class App; class Option; }

namespace nmqtt::cli {

/// Exit codes of `nmqtt pub` and `nmqtt sub` (documented in docs/cli.md).
enum class ExitCode : int {
    ok = 0,                 ///< every message completed (pub), -C count reached or interrupted (sub)
    usage = 1,              ///< bad flag or value, unreadable input file
    connection_failed = 2,  ///< connect failed: NodeMCU reason -5..-1 or CONNACK refusal 1..5
    timeout = 3,            ///< sub: -W seconds passed before -C messages arrived
    connection_lost = 4,    ///< the connection went away before the work was done
    request_failed = 5,     ///< a publish or subscribe was refused (by the client or the broker)
};

[[nodiscard]] constexpr int to_int(ExitCode code) noexcept { return static_cast<int>(code); }

/// The parts of an -L URL: mqtt(s)://[user[:password]@]host[:port]/topic, or ws(s):// for MQTT over
/// WebSockets (the request path comes from --ws-path, as with mosquitto 2.1).
struct BrokerUrl {
    bool secure = false;                 ///< "mqtts" or "wss"
    bool websocket = false;              ///< "ws" or "wss"
    std::string host;                    ///< without brackets for an IPv6 literal ("[::1]" -> "::1")
    std::optional<std::uint16_t> port;   ///< absent: 1883, or 8883 for mqtts
    std::optional<std::string> username;
    std::optional<std::string> password;
    std::string topic;                   ///< everything after the first '/' following the authority
};

/// Parses an -L URL. Returns the parts, or nullopt with a one-line reason in `error`.
[[nodiscard]] std::optional<BrokerUrl> parse_broker_url(std::string_view url, std::string& error);

/// The shared flags: -h -p -i -u -P -k -c -d -L, the will and the TLS flags. Register them with add_to(),
/// parse, then call finish() once before reading host(), port(), client_options().
class ConnectOptions {
public:
    /// `command` names the subcommand ("pub", "sub"): it prefixes messages and the default client id.
    explicit ConnectOptions(std::string command);

    /// MQTT 5.0 unless -V mqttv311 (nmqtt rr, as mosquitto_rr).
    void default_to_v5() noexcept { v5_.default_to_v5(); }

    /// Adds the flags to `app`.
    void add_to(CLI::App& app);

    /// Applies -L, checks the combinations and fills defaults (port, client id). Returns an error message
    /// for a usage error, or nullopt. Call it while the CLI::App given to add_to() still exists. `url_topic` receives the topic of an -L URL ("" when none).
    [[nodiscard]] std::optional<std::string> finish(std::string& url_topic);

    [[nodiscard]] const std::string& host() const noexcept { return host_; }
    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
    [[nodiscard]] bool is_secure() const noexcept { return secure_; }
    [[nodiscard]] bool is_websocket() const noexcept { return websocket_; }
    [[nodiscard]] bool is_debug() const noexcept { return debug_; }
    [[nodiscard]] bool has_will() const noexcept { return !will_topic_.empty(); }
    [[nodiscard]] const std::string& will_topic() const noexcept { return will_topic_; }
    [[nodiscard]] const std::string& will_payload() const noexcept { return will_payload_; }
    [[nodiscard]] int will_qos() const noexcept { return will_qos_; }
    [[nodiscard]] bool will_retain() const noexcept { return will_retain_; }
    /// -V, -D, -x: the MQTT 5.0 settings and the properties of each packet.
    [[nodiscard]] const V5Flags& v5() const noexcept { return v5_; }

    /// The options for nmqtt::Client (large message limits: a command line tool is no microcontroller).
    [[nodiscard]] ClientOptions client_options() const;

    /// Writes "nmqtt <command>: <message>" and a newline on stderr (nothing with --quiet).
    void error(std::string_view message) const;
    /// Writes "nmqtt <command>: <message>" on stderr when -d was given.
    void debug(std::string_view message) const;

private:
    [[nodiscard]] std::optional<std::string> apply_url(std::string& url_topic);
    [[nodiscard]] std::optional<std::string> check_tls();  // also decides secure_
    [[nodiscard]] std::optional<std::string> check_will() const;
    [[nodiscard]] std::optional<std::string> check_session();  // credentials, -c, -V/-D/-x
    [[nodiscard]] std::optional<std::string> finish_transport();  // --ws, --ws-path, default port

    std::string command_;
    V5Flags v5_;
    std::string host_ = "localhost";
    std::uint16_t port_ = 0;
    std::string client_id_;
    std::string id_prefix_;            // -I: client id = prefix + process id
    bool quiet_ = false;               // --quiet: no error messages
    bool nodelay_ = false;             // --nodelay: accepted; nmqtt always disables Nagle's algorithm
    std::string username_;
    std::string password_;
    std::uint16_t keepalive_ = 60;
    bool persistent_session_ = false;  // -c: clean session off
    std::string will_topic_;
    std::string will_payload_;
    int will_qos_ = 0;
    bool will_retain_ = false;
    std::string cafile_;
    std::string capath_;
    std::string cert_;
    std::string key_;
    bool insecure_ = false;
    bool os_certs_ = false;
    std::string url_;
    bool websocket_ = false;             // --ws or a ws(s):// URL
    std::string ws_path_ = "/mqtt";
    bool debug_ = false;
    bool secure_ = false;
    bool has_password_ = false;  // -P given (even empty) or a password in the -L URL

    // Valid while the CLI::App passed to add_to() lives; read by finish() only.
    CLI::Option* host_option_ = nullptr;
    CLI::Option* port_option_ = nullptr;
    CLI::Option* username_option_ = nullptr;
    CLI::Option* password_option_ = nullptr;
    CLI::Option* id_option_ = nullptr;
    CLI::Option* id_prefix_option_ = nullptr;
    CLI::Option* ws_path_option_ = nullptr;
};

/// What both commands do around their own work: one Client on its own io_context, SIGINT/SIGTERM, an
/// optional deadline, the connect with its failure message, and the end of the run with an exit code.
class CommandRun {
public:
    /// Creates the client. Throws std::system_error for options the client refuses.
    CommandRun(const ConnectOptions& options, ClientOptions client_options);
    ~CommandRun();
    CommandRun(const CommandRun&) = delete;
    CommandRun& operator=(const CommandRun&) = delete;

    [[nodiscard]] Client& client() noexcept { return client_; }
    [[nodiscard]] const ConnectOptions& options() const noexcept { return options_; }

    /// Calls `on_timeout` after `delay` unless the run has finished by then.
    void set_deadline(std::chrono::milliseconds delay, std::function<void()> on_timeout);

    /// Sets the will, connects, calls `on_connected` once the CONNACK accepted the session, and runs the
    /// event loop until finish() has closed the connection. Returns the exit code given to finish().
    [[nodiscard]] int run(std::function<void()> on_connected);

    /// Ends the run (the first call decides the exit code): prints `message` on stderr unless empty, closes
    /// the connection (DISCONNECT after what is queued) and stops waiting for signals and the deadline.
    void finish(ExitCode code, std::string_view message = {});
    [[nodiscard]] bool is_finished() const noexcept { return finished_; }

private:
    struct Waits;  // the signal set and the deadline timer (Asio types stay out of this header)
    void report_connected();
    void report_failure(int reason);
    void set_will();

    const ConnectOptions& options_;
    Client client_;
    std::unique_ptr<Waits> waits_;
    ExitCode exit_code_ = ExitCode::ok;
    bool finished_ = false;
};

/// Formats a connection failure: "connection failed: CONN_FAIL_SERVER_NOT_FOUND (-5)". MQTT 5.0: with the
/// CONNACK's reason code and Reason String when `reason_code` is not 0:
/// "connection failed: CONNACK_REFUSED_NOT_AUTHORIZED (5): reason code 0x87 Not authorized".
[[nodiscard]] std::string connection_failure_message(int reason, std::uint8_t reason_code = 0,
                                                     protocol::PropertiesView properties = {});

/// Formats the end of an established connection: "connection lost: <detail>"; for a DISCONNECT from an
/// MQTT 5.0 server "connection lost: disconnected by the server: reason code 0x8e Session taken over[,
/// reason string '...']".
[[nodiscard]] std::string connection_lost_message(const Client& client);

/// Describes the CONNACK properties of an MQTT 5.0 connection for -d ("" when none).
[[nodiscard]] std::string describe_connack(const Client& client);

}  // namespace nmqtt::cli
