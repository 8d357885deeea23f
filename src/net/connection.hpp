// Connection: drives a session::Session over a Stream. The one place where session events become Asio
// actions (Connection::dispatch).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/ssl/context.hpp>

#include "nmqtt/file_store.hpp"
#include "nmqtt/options.hpp"
#include "nmqtt/session/session.hpp"
#include "nmqtt/types.hpp"

namespace nmqtt::net {

struct Transport;

/// Where a WebSocket connection goes: the request path and extra headers (views valid during connect()).
struct WebSocketTarget {
    std::string_view path = "/mqtt";
    const std::vector<std::pair<std::string, std::string>>* headers = nullptr;
};

/// Receives what a connection reports, after the connection has done its part (closing the transport on
/// failure). Implemented by the Client facade. Every call may re-enter the Connection (publish, close,
/// connect); none may destroy it.
class ConnectionObserver {
public:
    virtual ~ConnectionObserver() = default;
    virtual void on_connected(const session::Connected& event) = 0;
    /// `code`: NodeMCU -5..-1 or a CONNACK return code 1..5. `event`: the session's report (MQTT 5.0 reason
    /// code and properties; views valid during the call).
    virtual void on_connect_failed(int code, const session::ConnectFailed& event) = 0;
    virtual void on_connection_lost(const session::ConnectionLost& event) = 0;
    virtual void on_message(const session::MessageReceived& event) = 0;
    virtual void on_overflow(const session::MessageOverflow& event) = 0;
    virtual void on_publish_done(const session::PublishDone& event) = 0;
    virtual void on_subscribe_done(const session::SubscribeDone& event) = 0;
    virtual void on_unsubscribe_done(const session::UnsubscribeDone& event) = 0;
    /// MQTT 5.0 enhanced authentication: an AUTH from the server (views valid during the call).
    virtual void on_auth(const session::AuthReceived& event) = 0;
};

/// One client connection at a time, on one io_context: name resolution (every address in turn), TCP
/// (TCP_NODELAY), optional TLS, then the session's bytes both ways, its timer, and its events.
///
/// With a persistent store, the session's durable changes are moved into the store and flushed after every
/// session call that may make them, before any output is written and before any event is dispatched: what
/// the broker sees acknowledged and what the user sees delivered is on disk first.
/// Thread safety: none; everything runs on the io_context's thread.
class Connection {
public:
    /// `store` (may be null): the session is restored from it here and keeps it current. Throws
    /// std::system_error(invalid_argument) when the stored state cannot be restored.
    Connection(asio::io_context& io, session::SessionOptions options, TlsOptions tls, ResolveFunction resolve,
               ConnectionObserver& observer, std::unique_ptr<FileStore> store = {});
    /// Lets go of the transport: its pending operations complete later without touching this object.
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    [[nodiscard]] session::Session& session() noexcept { return session_; }
    [[nodiscard]] asio::io_context& context() noexcept { return io_; }

    /// Starts connecting to host:port (TLS when `secure`; MQTT over WebSockets when `websocket` is given,
    /// the HTTP Upgrade after TCP and TLS). The session starts at once (CONNECT queued, its write timer
    /// armed), so requests made meanwhile are queued and the write timeout bounds resolution, TCP connect,
    /// TLS and WebSocket handshakes too. Throws std::system_error: already_connected unless idle;
    /// invalid_argument when a TLS file cannot be loaded.
    void connect(const std::string& host, std::uint16_t port, bool secure, const WebSocketTarget* websocket = nullptr);
    /// New TLS settings for the next secure connect (the context is rebuilt then).
    void set_tls_options(TlsOptions options);

    /// Connected: DISCONNECT after the queued output, then ConnectionLost. Connecting: cancels silently.
    /// Returns false when there is nothing to close.
    bool close();
    /// The same with an MQTT 5.0 DISCONNECT request. Errors: invalid_argument (see Session::disconnect).
    [[nodiscard]] Result<bool> close(const session::DisconnectRequest& request);

    /// To be called after each request made on session(): starts a write, re-arms the timer, and has events
    /// drained (through the io_context, never inline).
    void kick();
    /// The same for publish, subscribe, unsubscribe and re-authentication, but the request is only persisted
    /// here: the write is left to the end of the I/O step (from a callback) or to one posted step (from
    /// outside), so that every request made in one handler (a loop of publishes, a callback answering a batch
    /// of acknowledgements) leaves in one write instead of the first alone and the rest after it.
    void flush_soon();

    /// Why the last connection attempt failed or the last connection ended (empty while none did).
    [[nodiscard]] std::error_code last_error() const noexcept { return last_error_; }
    /// The same with detail: the address, the system or TLS error, the certificate verification result.
    [[nodiscard]] const std::string& last_error_message() const noexcept { return last_error_message_; }

private:
    friend struct TransportAccess;

    void dispatch(session::Event& event);
    void persist();
    void drain_events();
    void drain_step(const Transport* transport);
    void keep_unread(Transport& transport, Bytes input, Bytes frames_rest);
    void schedule_drain();
    void settle();
    void arm_timer();
    void start_write();
    std::size_t write_now(Transport& t, Bytes output);
    void start_read();
    void teardown() noexcept;
    void fail_transport(std::error_code error, std::string detail);
    void record_end(std::error_code error, std::string detail);
    [[nodiscard]] bool is_current(const Transport& transport) const noexcept;

    // Steps of a connection attempt, in order.
    void on_resolved(Transport& transport, std::error_code error);
    void connect_next(Transport& transport);
    void on_tcp_connected(Transport& transport, std::error_code error);
    void on_handshake(Transport& transport, std::error_code error);
    void on_secured(Transport& transport);
    void on_upgrade_written(Transport& transport, std::error_code error);
    void read_upgrade(Transport& transport);
    void on_upgrade_read(Transport& transport, std::error_code error, std::size_t n);
    void on_open(Transport& transport);
    // Steady state.
    void start_own_read(Transport& transport);
    void on_readable(Transport& transport, std::error_code error);
    void note_read(Transport& transport, TimePoint at) noexcept;
    void on_read(Transport& transport, std::error_code error, Bytes input);
    void feed_session(Transport& transport, Bytes input, Bytes frames_rest);
    [[nodiscard]] bool feed_frames(Transport& transport, Bytes input);
    void resume_unread(Transport& transport, Bytes decoded, Bytes frames);
    void start_frame_write(Transport& transport);
    void acknowledge_quickly(Transport& transport) noexcept;
    void on_written(Transport& transport, std::error_code error, std::size_t n);
    void on_timer(Transport& transport, std::uint64_t sequence, std::error_code error);

    asio::io_context& io_;
    session::Session session_;
    [[nodiscard]] const TlsOptions& tls_options() const noexcept;

    std::unique_ptr<const TlsOptions> tls_options_;  // null: every option at its default
    std::shared_ptr<asio::ssl::context> tls_context_;  // built at the first secure connect
    ResolveFunction resolve_;
    ConnectionObserver& observer_;
    std::unique_ptr<FileStore> store_;
    std::shared_ptr<Transport> transport_;
    std::shared_ptr<bool> alive_;  // false once destroyed: guards posted drains
    std::error_code transport_error_;  // set while a failure of the transport itself is being reported
    std::error_code last_error_;
    std::string last_error_message_;
    bool draining_ = false;
    bool drain_posted_ = false;
};

}  // namespace nmqtt::net
