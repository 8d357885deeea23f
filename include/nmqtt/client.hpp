// nmqtt::Client: the NodeMCU mqtt client API in C++, on Asio, with per-operation completions added.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "nmqtt/error.hpp"
#include "nmqtt/options.hpp"
#include "nmqtt/types.hpp"

namespace asio { class io_context; }

namespace nmqtt {

/// The events of NodeMCU's client:on(event, callback).
enum class Event : std::uint8_t { connect, connfail, suback, unsuback, puback, message, overflow, offline };

/// What Client::on_reconnect() reports (nmqtt extension, with ClientOptions::reconnect.enabled).
struct ReconnectInfo {
    enum class Kind : std::uint8_t {
        scheduled,   ///< attempt `attempt` will start after `delay`
        attempting,  ///< attempt `attempt` starts now, to `broker`
        gave_up,     ///< no more attempts: max_attempts reached, or a refusal that retrying cannot fix
    };
    Kind kind = Kind::scheduled;
    /// 1 for the first attempt after a healthy connection was lost (or after connect() failed), then 2, 3...
    /// gave_up: the attempts made (0 when the refusal came from the connect() the user made).
    std::uint32_t attempt = 0;
    /// The random wait before the attempt (scheduled, attempting); 0 for gave_up.
    std::chrono::milliseconds delay{0};
    /// Why the previous connection or attempt ended (as last_error() then), and its NodeMCU code: -5..-1 or
    /// a CONNACK refusal 1..5 for a failed attempt, 0 for an established connection that was lost.
    std::error_code reason;
    int code = 0;
    /// last_error_message() of that ending; valid during the callback only.
    std::string_view message;
    /// The address of the attempt (scheduled, attempting), or of the last attempt (gave_up).
    BrokerAddress broker;
};

/// The broker's answer to one request, MQTT 5.0 detail included (extension): what the AckCompletion of
/// publish(OutgoingMessage), subscribe(entries, properties) and unsubscribe(filters, properties) receives.
/// Views are valid during the call only.
struct Acknowledgement {
    /// empty on success; refused_by_server for a PUBACK/PUBREC code >= 0x80; acknowledged_at_qos1 (not a
    /// failure) for a QoS 2 publish the broker answered with PUBACK
    std::error_code error;
    PacketId packet_id = 0; ///< 0 for QoS 0 and for a request that failed before being sent
    /// publish: the PUBACK (QoS 1) or PUBREC/PUBCOMP (QoS 2) reason code; 0 for QoS 0 and at 3.1.1.
    std::uint8_t reason_code = 0;
    /// subscribe: one SUBACK code per filter (3.1.1: 0..2 or 0x80; 5.0: reason codes). unsubscribe: one
    /// UNSUBACK reason code per filter (empty at 3.1.1, whose UNSUBACK has none).
    std::span<const std::uint8_t> reason_codes{};
    protocol::PropertiesView properties{};  ///< the ack's properties (Reason String, User Properties)
};

/// A message to publish with its MQTT 5.0 properties (extension; see Client::publish(OutgoingMessage)).
struct OutgoingMessage {
    std::string_view topic;
    std::string_view payload;
    int qos = 0;
    bool retain = false;
    /// Payload Format Indicator, Message Expiry Interval, Content Type, Response Topic, Correlation Data,
    /// User Properties (copied). Must be empty at 3.1.1. Not Topic Alias (the session assigns aliases) nor
    /// Subscription Identifier [MQTT-3.3.4-6].
    protocol::PropertiesView properties{};
};

/// An MQTT 3.1.1 client with the API of NodeMCU's mqtt module, on standalone Asio, TCP or TLS.
///
/// Callbacks run on the thread running the io_context (run()/run_for()/poll(), or the caller's own loop),
/// never inside the call that caused them (connect(), publish(), close()... return first). A callback may
/// call anything on the client (publish, subscribe, close, connect again, replace callbacks, publish
/// thousands of messages); docs/design.md ("Hostile callbacks") lists what is tested.
///
/// Destruction: the Client may be destroyed only outside its own callbacks (and completions); pending
/// operations are then abandoned without calling anything. Destroying it from one of its callbacks (e.g.
/// resetting the unique_ptr that holds it) is detected: the process aborts with a message on stderr, since
/// the code that called the callback would go on with freed memory. Close it there, and destroy it after
/// run() returned (or from a handler posted to context(), once "offline" has run).
///
/// Exceptions: a callback (or completion) that throws does not break the client. The exception propagates
/// out of run()/run_for()/poll() (or the caller's io_context::run()) once the client has finished the I/O
/// step it was raised in: acknowledgements already due are still sent, the bytes read after the packet of
/// that callback are kept, and the timer stays armed. The event that raised it is not reported again; the
/// events behind it are reported by the next run()/poll(), in order; the connection stays up. So a loop such
/// as `for (;;) try { client.run(); break; } catch (const MyError&) { ... }` loses nothing but the
/// callback that threw (and the callbacks of that same event after it, such as "puback" after a throwing
/// completion). "offline"/"connfail" that throw still let automatic reconnection and a deferred connect()
/// go on; a "reconnect" report that throws still lets its attempt start.
///
/// Thread safety: none. Call the client from the thread running its io_context; from another thread,
/// asio::post() a function doing the call to context().
class Client {
public:
    /// NodeMCU callback shapes: function(client), function(client, reason), function(client, topic, data).
    using Callback = std::function<void(Client&)>;
    using FailCallback = std::function<void(Client&, int reason)>;
    using MessageCallback = std::function<void(Client&, const MessageView& message)>;

    /// Per-operation completions (nmqtt extension). `error` is empty on success. `packet_id` is the id the
    /// packet was sent with (0 for QoS 0, and for a request that failed before being sent). `granted` holds
    /// one SUBACK return code per filter (0..2 granted QoS, 0x80 failure), valid during the call only.
    /// Errors: for a QoS 0 publish not yet written when the connection ended, the error that ended it;
    /// session_lost for QoS 1/2 publishes dropped by a clean
    /// session with CleanResendPolicy::fail. Other requests outlive a lost connection: they are sent again
    /// (or, queued, sent first) on the next connect().
    using PublishCompletion = std::function<void(std::error_code error, PacketId packet_id)>;
    using SubscribeCompletion =
        std::function<void(std::error_code error, PacketId packet_id, std::span<const std::uint8_t> granted)>;
    using UnsubscribeCompletion = std::function<void(std::error_code error, PacketId packet_id)>;
    using ReconnectCallback = std::function<void(Client&, const ReconnectInfo& info)>;
    /// Completion of the MQTT 5.0 overloads (extension): reason codes and properties of the ack.
    using AckCompletion = std::function<void(const Acknowledgement& ack)>;
    /// Completion of request(): the response (views valid during the call) or nullptr with the error.
    using ResponseCallback = std::function<void(std::error_code error, const MessageView* response)>;
    /// Completion of reauthenticate(): empty on success, else auth_failed or why the connection ended.
    using ReauthCompletion = std::function<void(std::error_code error)>;

    /// mqtt.Client(clientid, keepalive[, username, password, cleansession, max_message_length]). Owns its
    /// io_context. Throws std::system_error (bad_utf8, empty_client_id_needs_clean_session,
    /// password_without_username, packet_too_large, invalid_argument) for options the standard forbids, and
    /// invalid_argument for reconnect options out of range; with session_store_path, the system error of a
    /// store that cannot be opened, or invalid_argument for a store whose content cannot be restored.
    Client(std::string client_id, std::uint16_t keepalive_seconds, std::optional<std::string> username = {},
           std::optional<std::string> password = {}, bool clean_session = true,
           std::size_t max_message_length = 1024);
    /// Full options; owns its io_context. Throws as above.
    explicit Client(ClientOptions options);
    /// Full options on an io_context the caller owns (and runs); it must outlive the client. Throws as above.
    Client(asio::io_context& io, ClientOptions options);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    /// client:connect(host[, port[, secure]][, on_connect[, on_fail]]). Resolves `host` without blocking
    /// (IPv4 and IPv6, every address tried in turn; numeric addresses are used as they are), connects with
    /// TCP_NODELAY, performs the TLS handshake when `secure` (ClientOptions::tls), then sends CONNECT.
    /// Non-null callbacks replace the "connect"/"connfail" callbacks (aliasing); null keeps the existing ones.
    /// On failure only "connfail" runs, never "offline", with:
    ///   -5 nothing accepted the TCP connection at any address, or the TLS handshake or certificate
    ///      verification failed, or a TLS alert arrived in place of the CONNACK (TLS 1.3 servers refuse a
    ///      client certificate that way, and their reset may overtake the alert: -4) (NodeMCU has no TLS
    ///      code; last_error() is tls_handshake_failed);
    ///   -4 the first packet was not a CONNACK, or the server closed the connection before sending one;
    ///   -3 the name could not be resolved;  -2 no CONNACK within connack_timeout;
    ///   -1 CONNECT not written within connect_write_timeout, counted from connect() (so a resolution, TCP
    ///      connect or TLS handshake that hangs ends here too);  1..5 the CONNACK refusal code.
    /// last_error() and last_error_message() tell the precise reason. Requests made while connecting are
    /// queued and sent after the CONNACK.
    /// With ClientOptions::reconnect.enabled (extension) a failed attempt or a lost connection is followed by
    /// further attempts (see ReconnectOptions): "connfail" runs for every failed attempt, "offline" once per
    /// established connection lost, "connect" for every connection made, and on_reconnect() tells every
    /// attempt and the give-up. connect() while waiting to reconnect starts afresh (attempt count reset).
    /// connect() while a close is under way (close() called on an established connection, "offline" not run
    /// yet; from outside or from any callback) is deferred, never refused: the callbacks run in this order:
    /// "offline" of the old connection, then the new attempt starts (is_connecting() is true from the
    /// connect() call on), then its "connect" or "connfail". A further connect() meanwhile replaces the
    /// deferred one (the last wins), close() cancels it silently, and a connect() made from that "offline"
    /// callback replaces it too. A deferred attempt whose TLS files cannot be loaded reports "connfail" (-5)
    /// with invalid_argument in last_error() instead of throwing.
    /// Throws std::system_error: already_connected while connected or connecting (close() first);
    /// invalid_argument when a TLS file of ClientOptions::tls cannot be loaded (what() names it).
    void connect(std::string host, std::uint16_t port = 1883, bool secure = false, Callback on_connect = {},
                 FailCallback on_fail = {});

    /// client:close(): connected, sends DISCONNECT after the queued packets [MQTT-3.14.4-1], then closes TCP,
    /// so the will is not published (NodeMCU bug 3031 fixed); "offline" runs once the connection is gone.
    /// Connecting: cancels the attempt silently (no callback). Waiting to reconnect (extension): cancels the
    /// wait silently. A connect() deferred by a close under way: cancelled silently. Stops automatic
    /// reconnection in every case. Returns true when something was closed or
    /// cancelled (or a close is already under way), false when idle.
    bool close();
    /// MQTT 5.0 close (extension): as close(), with the DISCONNECT's reason code (0x00 normal, 0x04 with
    /// will message, ...), a new Session Expiry Interval and properties (Reason String, User Properties;
    /// copied). At 3.1.1 the request is ignored and a plain DISCONNECT is sent. Returns false as close(),
    /// and false with invalid_argument in last_error() for a request the standard forbids (a Session Expiry
    /// change from 0 at CONNECT to non-zero, a reason code DISCONNECT cannot carry, bad properties).
    bool close(const session::DisconnectRequest& request);

    /// MQTT 5.0 request/response (extension; section 4.10): publishes `message` with Response Topic
    /// `response_topic` and a Correlation Data of its own, subscribes to `response_topic` (QoS 1) with the
    /// first request, and calls `done` with the first message on that topic carrying the same Correlation
    /// Data; that message does not reach "message". `done` gets request_timeout after `timeout`, or the
    /// publish's error. One response topic per client. Returns false, reason in last_error(): as
    /// publish(), invalid_argument (another response topic than the first, or properties that already hold
    /// a Response Topic or Correlation Data).
    bool request(const OutgoingMessage& message, std::string_view response_topic, std::chrono::milliseconds timeout,
                 ResponseCallback done);

    /// MQTT 5.0 re-authentication (extension; needs ClientOptions::authenticator): sends AUTH 0x19 with the
    /// method and Authenticator::initial_data(true); each AUTH 0x18 goes through Authenticator::challenge();
    /// `done` runs on the server's AUTH 0x00 (after Authenticator::succeeded()) or with the error that ended
    /// the exchange. Other traffic goes on meanwhile. Returns false, reason in last_error(): invalid_argument
    /// (no authenticator), not_connected, authentication_in_progress.
    bool reauthenticate(ReauthCompletion done = {});

    /// Replaces ClientOptions::tls for the connections opened after the call (NodeMCU's tls.cert.verify() and
    /// tls.cert.auth() act this way); the connection already open keeps its settings. Loading errors surface
    /// at the next secure connect(), as for the constructor's options. Allocates; not thread-safe.
    void set_tls(TlsOptions tls);

    /// Replaces ClientOptions::v5 (MQTT 5.0 session settings and CONNECT properties) for the next connect()
    /// (extension). Throws std::system_error: already_connected unless idle, invalid_argument for a Receive
    /// Maximum of 0.
    void set_v5_options(session::V5Options v5);

    /// client:lwt(topic, message[, qos[, retain]]): the will for the next connect() (also when called while
    /// connected or connecting, as in the firmware: the current connection keeps the will it was opened with).
    /// Throws std::system_error: bad_topic_name, bad_utf8, bad_qos, packet_too_large.
    void lwt(std::string topic, std::string message, int qos = 0, bool retain = false);
    /// The same with MQTT 5.0 Will Properties (extension; copied): Will Delay Interval, Message Expiry
    /// Interval, Payload Format Indicator, Content Type, Response Topic, Correlation Data, User Properties.
    /// Throws as above, and bad_property_id / property_not_allowed / ... for properties a will cannot carry,
    /// invalid_argument for any property at 3.1.1.
    void lwt(std::string topic, std::string message, int qos, bool retain, protocol::PropertiesView properties);

    /// client:on(event, callback). Passing an empty function unregisters. For connfail, message and overflow
    /// the callback is called without the extra arguments; on_connfail()/on_message()/on_overflow() pass them.
    void on(Event event, Callback callback);
    void on_connfail(FailCallback callback);          ///< connfail
    void on_message(MessageCallback callback);        ///< message: views valid during the call only
    void on_overflow(MessageCallback callback);       ///< overflow: payload truncated to max_message_length
    /// Reconnection progress (extension, with ClientOptions::reconnect.enabled): every attempt scheduled and
    /// started, and the give-up, each with the attempt number, the delay and the reason. Runs after the
    /// "connfail"/"offline" callback of the ending that caused it. Empty function: unregisters.
    void on_reconnect(ReconnectCallback callback);

    /// client:publish(topic, payload, qos, retain[, function(client)]). Copies topic and payload. A non-null
    /// `on_puback` replaces the "puback" callback, which runs for every publish that completes: QoS 0 once
    /// written, QoS 1 on PUBACK, QoS 2 on PUBCOMP (NodeMCU aliasing). `done` (extension) completes this
    /// publish only, success or failure. Queued while connecting. A QoS 2 publish that the broker answers with
    /// PUBACK (RabbitMQ 3.x has no QoS 2) completes with Errc::acknowledged_at_qos1, not a failure: the broker
    /// has the message (delivered at least once); "puback" runs for it as for a success.
    /// With ClientOptions::queue_while_offline (extension) it is also queued while no connection exists.
    /// With ClientOptions::session_store_path a QoS 1/2 message is in the store when this returns true.
    /// Returns false, reason in last_error(): bad_qos, bad_topic_name, bad_utf8, packet_too_large,
    /// not_connected (idle), queue_full (max_queued_messages or max_buffered_bytes reached).
    /// Allocates nothing in steady state when `done` is empty or fits std::function's small buffer.
    bool publish(std::string_view topic, std::string_view payload, int qos = 0, bool retain = false,
                 Callback on_puback = {}, PublishCompletion done = {});
    /// Publishes a message with MQTT 5.0 properties (extension). The "puback" callback runs as above; `done`
    /// gets the ack's reason code and properties. Returns false as above, and with invalid_argument for
    /// properties a PUBLISH may not carry from a client (or any property at 3.1.1).
    bool publish(const OutgoingMessage& message, AckCompletion done = {});

    /// client:subscribe(topic, qos[, function(client)]) and client:subscribe(table[, function(client)]): one
    /// SUBSCRIBE for all filters. "suback" runs on the SUBACK (whatever its codes); `done` gets the codes.
    /// Returns false, reason in last_error(): bad_qos, bad_topic_filter, bad_utf8, empty_payload (no filter),
    /// packet_too_large, not_connected, queue_full.
    bool subscribe(std::string_view filter, int qos = 0, Callback on_suback = {}, SubscribeCompletion done = {});
    bool subscribe(std::span<const std::pair<std::string, int>> filters, Callback on_suback = {},
                   SubscribeCompletion done = {});
    /// Subscribes with MQTT 5.0 subscription options (No Local, Retain As Published, Retain Handling) and
    /// SUBSCRIBE properties (Subscription Identifier, User Properties) (extension; the filters are copied).
    /// "suback" runs as above; `done` gets the SUBACK's reason codes and properties. Returns false as above,
    /// and with wildcard_not_supported, shared_not_supported, subscription_id_not_supported when the server
    /// said it cannot serve the request, invalid_argument for No Local on a shared subscription or for v5
    /// options at 3.1.1.
    bool subscribe(std::span<const protocol::SubscribeEntry> entries, protocol::PropertiesView properties = {},
                   AckCompletion done = {});

    /// client:unsubscribe(topic[, function(client)]) and client:unsubscribe(table[, function(client)]).
    /// Returns false as subscribe() (bad_qos excepted).
    bool unsubscribe(std::string_view filter, Callback on_unsuback = {}, UnsubscribeCompletion done = {});
    bool unsubscribe(std::span<const std::string> filters, Callback on_unsuback = {},
                     UnsubscribeCompletion done = {});
    /// Unsubscribes with UNSUBSCRIBE properties (User Properties) (extension); `done` gets the UNSUBACK's
    /// reason codes and properties. Returns false as above.
    bool unsubscribe(std::span<const std::string_view> filters, protocol::PropertiesView properties,
                     AckCompletion done = {});

    /// Why the last publish/subscribe/unsubscribe returned false, or why the last connection attempt failed
    /// or the last connection ended (set before "connfail"/"offline" run): host_not_found, server_not_found,
    /// tls_handshake_failed, not_a_connack, connack_timeout, connect_write_timeout, connection_refused,
    /// connection_closed, ping_timeout, closed_by_client, or a protocol error of the server's packets.
    /// Not reset by calls that succeed.
    [[nodiscard]] std::error_code last_error() const noexcept;
    /// The reason of the last connection failure or end in words, with the detail the code cannot hold: the
    /// addresses tried, the system error, the TLS error and certificate verification result (e.g.
    /// "TLS handshake or certificate verification failed: 127.0.0.1:8883: certificate verify failed
    /// (hostname mismatch)"). Empty until a connection attempt failed or a connection ended.
    [[nodiscard]] std::string last_error_message() const;
    /// MQTT 5.0 detail of the last connection failure or end (extension), set before "connfail"/"offline"
    /// run: the CONNACK's Connect Reason Code of a refusal (0x80..0xA2), the reason code of the server's
    /// DISCONNECT (error server_disconnected), or the reason code our own DISCONNECT carried after a protocol
    /// error of the server (0x81, 0x82, 0x93, 0x94, 0x95). 0 when none (and always at 3.1.1).
    [[nodiscard]] std::uint8_t last_reason_code() const noexcept;
    /// The properties that came with it (Reason String, Server Reference, User Properties); empty when none.
    [[nodiscard]] protocol::PropertiesView last_properties() const noexcept;
    /// The properties of the CONNACK that accepted the current (or last) connection (MQTT 5.0: Assigned
    /// Client Identifier, Server Keep Alive, limits, Response Information, ...); empty at 3.1.1.
    [[nodiscard]] protocol::PropertiesView connack_properties() const noexcept;
    /// The client identifier in use: the one configured, or the server's Assigned Client Identifier.
    [[nodiscard]] std::string_view client_id() const noexcept;
    [[nodiscard]] bool is_connected() const noexcept;   ///< CONNACK accepted, not closing
    /// Between connect() and the CONNACK, including a connect() deferred until a close completes.
    [[nodiscard]] bool is_connecting() const noexcept;
    /// Waiting for the delay before an automatic reconnection attempt (extension).
    [[nodiscard]] bool is_waiting_to_reconnect() const noexcept;
    /// Requests not completed yet (extension): publish/subscribe/unsubscribe awaiting their ack or queued
    /// (in the outbox, behind the window or for the next connection), including QoS 1/2 messages restored
    /// from the session store. A QoS 0 publish counts only while queued, not once in the output buffer.
    [[nodiscard]] std::size_t pending_requests() const noexcept;

    /// Event loop, in the caller's thread (restarted first if it had stopped). run() returns when nothing is
    /// left to do: after the connection ended, or at once when idle. Return the number of handlers run.
    std::size_t run();
    std::size_t run_for(std::chrono::milliseconds duration);
    std::size_t poll();
    /// The io_context the client runs on. To call the client from another thread, asio::post() a function
    /// to it; the Client itself is not thread-safe.
    [[nodiscard]] asio::io_context& context() noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace nmqtt
