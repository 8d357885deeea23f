// ClientOptions and TlsOptions: every knob of nmqtt::Client with its default written down.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

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
};

/// Completes a name resolution: an error (any non-zero code counts as "not found", NodeMCU -3), or the
/// addresses as numeric strings ("127.0.0.1", "::1"), tried in the order given.
using ResolveHandler = std::function<void(std::error_code error, std::vector<std::string> addresses)>;
/// Replaces the system resolver: called with the host passed to connect() (never for a numeric address);
/// must call `done` exactly once, at once or later, on the client's io_context thread and before the client
/// is destroyed. The client defers `done` through its io_context, so callbacks never run inside connect();
/// an answer arriving after close() is dropped. Used by tests to fail resolution without any DNS query.
using ResolveFunction = std::function<void(const std::string& host, ResolveHandler done)>;

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
    std::chrono::milliseconds ping_timeout{0};              ///< 0: one keepalive interval
    std::uint16_t max_inflight = 1024;        ///< outgoing QoS 1/2 messages awaiting acks
    std::size_t max_queued_messages = 65'536; ///< requests queued behind the window or the CONNACK
    std::size_t max_buffered_bytes = 16u << 20;  ///< unsent bytes + queued requests; publish fails beyond it
    session::CleanResendPolicy clean_resend = session::CleanResendPolicy::republish;
    TlsOptions tls;
    ResolveFunction resolve;                  ///< empty: the system resolver (Asio, non-blocking)
};

}  // namespace nmqtt
