// ClientOptions and TlsOptions: every knob of nmqtt::Client with its default written down.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "nmqtt/file_store.hpp"
#include "nmqtt/session/session.hpp"
#include "nmqtt/types.hpp"

namespace nmqtt {

/// TLS settings used when connect() is called with secure = true.
struct TlsOptions {
    /// Verify the server certificate chain and host name (default). The system trust store is used unless
    /// ca_file / ca_path are given.
    bool verify_peer = true;
    std::string ca_file;     ///< PEM bundle of trusted CAs ("" = system default paths)
    std::string ca_path;     ///< directory of hashed CA certificates ("" = none)
    std::string cert_file;   ///< client certificate (PEM) for mutual TLS ("" = none)
    std::string key_file;    ///< client private key (PEM) for mutual TLS ("" = none)
    std::string server_name; ///< SNI and name to verify ("" = the host passed to connect())
    /// The same in memory (NodeMCU's tls.cert.verify(pem) / tls.cert.auth(cert, key)): PEM text, used
    /// besides (CA) or instead of (certificate, key) the files above. "" = none. A CA given here or in a file
    /// replaces the system trust store.
    std::string ca_pem;
    std::string cert_pem;
    std::string key_pem;
};

/// Completes a name resolution: an error (any non-zero code counts as "not found", NodeMCU -3), or the
/// addresses as numeric strings ("127.0.0.1", "::1"), tried in the order given.
using ResolveHandler = std::function<void(std::error_code error, std::vector<std::string> addresses)>;
/// Replaces the system resolver: called with the host passed to connect() (never for a numeric address);
/// must call `done` exactly once, at once or later, on the client's io_context thread and before the client
/// is destroyed. The client defers `done` through its io_context, so callbacks never run inside connect();
/// an answer arriving after close() is dropped. Used by tests to fail resolution without any DNS query.
using ResolveFunction = std::function<void(const std::string& host, ResolveHandler done)>;

/// How MQTT reaches the broker (nmqtt extension): straight over TCP (or TLS), or inside WebSocket binary
/// frames after an HTTP/1.1 Upgrade (MQTT 3.1.1 section 6, RFC 6455), over TCP (ws://) or TLS (wss://).
enum class TransportKind : std::uint8_t { tcp, websocket };

/// MQTT over WebSockets (ClientOptions::transport = websocket, or ws:// / wss:// broker addresses).
struct WebSocketOptions {
    std::string path = "/mqtt";  ///< request path (RabbitMQ's web_mqtt serves "/ws")
    /// Extra request headers, sent as given (e.g. {"Authorization", "Bearer ..."}). The client writes Host,
    /// Upgrade, Connection, Sec-WebSocket-Key/Version and Sec-WebSocket-Protocol: mqtt itself.
    std::vector<std::pair<std::string, std::string>> headers;
};

/// A broker address: what connect() takes, for ReconnectOptions::brokers.
struct BrokerAddress {
    BrokerAddress() = default;
    // A constructor rather than an aggregate, so that BrokerAddress{host, port, secure} stays complete.
    BrokerAddress(std::string host_name, std::uint16_t port_number = 1883, bool tls = false,
                  TransportKind kind = TransportKind::tcp, std::string request_path = {})
        : host(std::move(host_name)), port(port_number), secure(tls), transport(kind), path(std::move(request_path)) {}

    std::string host;
    std::uint16_t port = 1883;
    bool secure = false;  ///< TLS with ClientOptions::tls
    TransportKind transport = TransportKind::tcp;  ///< websocket: the headers of ClientOptions::websocket
    std::string path;     ///< websocket: the request path ("" = ClientOptions::websocket.path)
};

/// Parses a broker URI: `mqtt://host[:port]` (also tcp://; default port 1883), `mqtts://` (ssl://; 8883),
/// `ws://host[:port][/path]` (80) and `wss://` (443), or a bare `host[:port]` (mqtt://). An IPv6 literal
/// goes in brackets ("ws://[::1]:8080/mqtt"). A ws:// URI without a path leaves `path` empty (the default of
/// ClientOptions::websocket). Throws std::system_error(Errc::invalid_argument) naming the URI when the
/// scheme is unknown, the host empty or the port not a number in 1..65535.
[[nodiscard]] BrokerAddress parse_broker_uri(std::string_view uri);

/// Automatic reconnection (nmqtt extension; off by default, as NodeMCU leaves reconnecting to the user).
/// After a failed attempt or a lost connection the client waits a random delay in [0, min(max_delay,
/// initial_delay * multiplier^(n-1))) before attempt n (exponential backoff with full jitter), then connects
/// again, to the next address after a failed attempt (the address given to connect() first, then `brokers`,
/// round robin) and to the same address after losing an established connection. Every scheduled attempt,
/// every attempt started and the give-up are reported through Client::on_reconnect(). docs/reliability.md
/// tells which NodeMCU callbacks run when.
struct ReconnectOptions {
    bool enabled = false;
    std::chrono::milliseconds initial_delay{1000};  ///< cap of the first delay
    std::chrono::milliseconds max_delay{60'000};    ///< cap of every delay
    double multiplier = 2.0;                        ///< cap growth per attempt (>= 1)
    /// A connection that stayed up this long resets the attempt count (and so the backoff): the next loss
    /// starts again at attempt 1. A shorter one does not, so a broker that accepts and drops at once is
    /// retried with growing delays.
    std::chrono::milliseconds healthy_after{30'000};
    /// Attempts after which the client gives up (0: never). Counted since the last healthy connection.
    std::uint32_t max_attempts = 0;
    /// Further addresses, tried in turn after the one given to connect().
    std::vector<BrokerAddress> brokers;
    /// Source of randomness for the jitter: returns a number in [0, 1). Empty: a splitmix64 generator seeded with
    /// `seed`, or from std::random_device when `seed` is 0. Tests pass one to observe exact delays.
    std::function<double()> random;
    std::uint64_t seed = 0;
};

/// MQTT 5.0 enhanced authentication (section 4.12; extension): the Client asks it for the Authentication
/// Data of each step of the exchange (SCRAM, Kerberos, a token refresh...). Called on the io_context's thread,
/// never while a Client call is on the stack. See Client::reauthenticate().
class Authenticator {
public:
    virtual ~Authenticator() = default;
    /// The Authentication Method (e.g. "SCRAM-SHA-256"), sent in the CONNECT and in every AUTH.
    [[nodiscard]] virtual std::string method() const = 0;
    /// The data of the first step: for the CONNECT (`reauthentication` false) or for the AUTH 0x19 of
    /// Client::reauthenticate() (true). Empty: no Authentication Data.
    virtual std::string initial_data(bool reauthentication) = 0;
    /// The server's Authentication Data in an AUTH 0x18 (continue); returns the answer, or nullopt to give up:
    /// a connection attempt then fails with Errc::auth_failed ("connfail" 5, not authorized); an established
    /// connection ends with DISCONNECT 0x87 (Not authorized) and "offline".
    virtual std::optional<std::string> challenge(std::string_view server_data) = 0;
    /// The exchange succeeded (CONNACK accepted, or AUTH 0x00 after a re-authentication) with the server's
    /// final data ("" when none). Returning false (the server failed to prove itself) gives up as above.
    virtual bool succeeded(std::string_view server_data) {
        (void)server_data;
        return true;
    }
};

/// Every option of a Client. The NodeMCU constructor arguments come first; the rest are nmqtt extensions.
struct ClientOptions {
    // --- mqtt.Client(clientid, keepalive[, username, password, cleansession, max_message_length]) ---
    std::string client_id;
    std::uint16_t keepalive_seconds = 60;     ///< 0 disables keepalive (NodeMCU turns 0 into 60; we do not)
    std::optional<std::string> username;
    std::optional<std::string> password;
    bool clean_session = true;                ///< NodeMCU documented default
    std::size_t max_message_length = 1024;    ///< NodeMCU default: whole incoming packet size limit

    // --- extensions ---
    /// NodeMCU: 5 s to write CONNECT (-1). The clock starts at connect(), so it also bounds name resolution,
    /// the TCP connection and the TLS handshake: a connect that hangs before CONNECT is written fails with -1.
    std::chrono::milliseconds connect_write_timeout{5000};
    std::chrono::milliseconds connack_timeout{5000};        ///< NodeMCU: then 5 s for the CONNACK (-2)
    std::chrono::milliseconds ping_timeout{0};              ///< 0: half the keepalive interval (at least 1 s)
    std::uint16_t max_inflight = 1024;        ///< outgoing QoS 1/2 messages awaiting acks
    std::size_t max_queued_messages = 65'536; ///< requests queued behind the window or the CONNACK
    std::size_t max_buffered_bytes = 16u << 20;  ///< unsent bytes + queued requests; publish fails beyond it
    session::CleanResendPolicy clean_resend = session::CleanResendPolicy::republish;
    TlsOptions tls;
    /// The transport of connect(host, port, secure): tcp (default) or websocket (ws://, wss:// when secure).
    TransportKind transport = TransportKind::tcp;
    WebSocketOptions websocket;               ///< path and headers of WebSocket connections
    ResolveFunction resolve;                  ///< empty: the system resolver (Asio, non-blocking)

    // --- reliability (docs/reliability.md) ---
    ReconnectOptions reconnect;               ///< automatic reconnect, off by default
    /// Accept publish/subscribe/unsubscribe while no connection exists (before connect(), while waiting to
    /// reconnect, after a connection was lost): they wait in the outbox, bounded by max_queued_messages and
    /// max_buffered_bytes (beyond: false with queue_full), and go out after the next CONNACK. Off: they
    /// fail with not_connected (NodeMCU).
    bool queue_while_offline = false;
    /// Path of a persistent session store (FileStore; "" = none, the default). Outgoing QoS 1/2 messages not
    /// yet completed and incoming QoS 2 ids not yet released are kept there, so that a process restarted with
    /// the same client_id and clean_session = false completes every delivery and delivers no QoS 2 message
    /// twice. Opened by the constructor (which throws std::system_error when it cannot be opened or read).
    std::string session_store_path;
    SyncPolicy session_store_sync = SyncPolicy::every_flush;  ///< when the store reaches the disk

    // --- MQTT 5.0 (docs/conformance/mqtt5-client-musts.md) ---
    /// The protocol level. Default 3.1.1: nothing changes for NodeMCU-style users. With v5 the session
    /// speaks MQTT 5.0 (same state machine): messages carry properties (MessageView::properties), a refused
    /// connection reports its reason code, and the settings below apply.
    protocol::ProtocolVersion protocol = protocol::ProtocolVersion::v3_1_1;
    session::V5Options v5;                    ///< session expiry, Receive Maximum, aliases, ... (v5 only)
    /// MQTT 5.0 enhanced authentication (v5 only; null: none). Its method and first data go into every
    /// CONNECT (they replace v5.authentication_method/data).
    std::shared_ptr<Authenticator> authenticator;
};

}  // namespace nmqtt
