// Session: the sans-I/O MQTT 3.1.1 client state machine. Bytes, time and requests in; bytes, events and the
// next deadline out. It never touches a socket, never reads a clock, never starts a thread, never throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

#include "nmqtt/protocol/packets.hpp"
#include "nmqtt/result.hpp"
#include "nmqtt/types.hpp"

namespace nmqtt::session {

/// What happens to unacknowledged QoS 1/2 publishes when a connection is made with clean session = 1.
/// [MQTT-3.1.2-6] forbids carrying the old session's state (ids, DUP resends) into the new session.
enum class CleanResendPolicy : std::uint8_t {
    republish,  ///< publish them again as new messages (new ids, DUP=0); QoS 2 past PUBREC count as done
    fail,       ///< complete them with Errc::session_lost
};

/// An owned will message (the CONNECT's will is built from it).
struct WillMessage {
    std::string topic;
    std::string message;
    QoS qos = QoS::at_most_once;
    bool retain = false;
    /// MQTT 5.0 Will Properties: Will Delay Interval, Message Expiry, Payload Format, Content Type, Response
    /// Topic, Correlation Data, User Properties (3.1.1: must stay empty).
    protocol::Properties properties{};
};

/// MQTT 5.0 settings of a session (ignored at 3.1.1). Every default written down; each value is sent in the
/// CONNECT only when it differs from the standard's default.
struct V5Options {
    std::uint32_t session_expiry_interval = 0;  ///< seconds; 0xFFFFFFFF: never expires (section 3.1.2.11.2)
    std::uint16_t receive_maximum = 65'535;     ///< incoming QoS 1/2 we accept unacknowledged [MQTT-3.3.4-9]
    std::uint32_t maximum_packet_size = 0;      ///< 0: not advertised; else larger packets are refused (0x95)
    std::uint16_t topic_alias_maximum = 0;      ///< incoming aliases we accept (0: none) [MQTT-3.1.2-26/27]
    /// Outgoing aliases we use at most (also bounded by the server's Topic Alias Maximum). Policy: the first
    /// topics published at QoS 0 get aliases 1, 2, ... in order; the first PUBLISH carries topic + alias,
    /// later ones only the alias; no eviction; reset with each connection [MQTT-3.3.2-7]. QoS 1/2 always
    /// carry the topic, so that a resend on a new connection never relies on an old mapping.
    std::uint16_t outgoing_topic_aliases = 16;
    bool request_response_information = false;
    bool request_problem_information = true;
    protocol::Properties connect_properties{};  ///< extra CONNECT properties (user properties, ...)
    /// Enhanced authentication (section 4.12): the Authentication Method sent in the CONNECT and in every
    /// AUTH ("" = none: the client never sends AUTH [MQTT-4.12.0-7]) and the CONNECT's Authentication Data.
    std::string authentication_method{};
    std::string authentication_data{};
};

/// A DISCONNECT request (MQTT 5.0 fields; 3.1.1 sends a plain DISCONNECT and ignores them).
struct DisconnectRequest {
    std::uint8_t reason_code = 0;                      ///< 0x00 normal, 0x04 with will, ...
    std::optional<std::uint32_t> session_expiry_interval;  ///< change it; not from 0 to non-zero
    protocol::PropertiesView properties{};             ///< reason string, user properties
};

/// Everything a Session is configured with; every default written down.
struct SessionOptions {
    std::string client_id;
    std::uint16_t keepalive_seconds = 60;     ///< 0 disables keepalive (section 3.1.2.10)
    bool clean_session = true;                ///< NodeMCU documented default
    std::optional<std::string> username;
    std::optional<std::string> password;
    std::optional<WillMessage> will;
    std::size_t max_message_length = 1024;    ///< NodeMCU default; incoming packets above it overflow
    std::uint16_t max_inflight = 1024;        ///< outgoing QoS 1/2 publishes awaiting their ack
    std::size_t max_queued_messages = 65'536; ///< requests waiting behind the window or for the CONNACK
    std::size_t max_buffered_bytes = 16u << 20;  ///< unsent output + kept requests (queued or awaiting an ack)
    Duration connect_write_timeout = std::chrono::seconds(5);  ///< NodeMCU: CONNECT must be written in 5 s
    Duration connack_timeout = std::chrono::seconds(5);        ///< then 5 s for the CONNACK
    /// Time allowed for the PINGRESP; 0: half the keepalive interval (at least 1 s), so that a dead link is
    /// noticed within 1.5 x keepalive. A PINGREQ goes out when nothing was sent, or nothing received, for the
    /// keepalive interval.
    Duration ping_timeout = std::chrono::seconds(0);
    CleanResendPolicy clean_resend = CleanResendPolicy::republish;
    /// Accept publish/subscribe/unsubscribe while idle (no connection): they wait in the outbox, within the
    /// bounds above, and go out after the next CONNACK. Off: they fail with not_connected (NodeMCU).
    bool queue_while_offline = false;
    /// Report every change of the durable state through poll_store_change() (for a persistent store).
    bool track_store_changes = false;
    /// The protocol level: 3.1.1 (default, as NodeMCU) or 5.0. One state machine serves both.
    protocol::ProtocolVersion protocol = protocol::ProtocolVersion::v3_1_1;
    V5Options v5{};
};

/// A change to the state a persistent store keeps: outgoing QoS 1/2 publishes not yet completed and incoming
/// QoS 2 ids not yet released [MQTT-4.1.0-1]. Apply them in order; replaying them rebuilds the state.
struct StoreChange {
    enum class Kind : std::uint8_t {
        add_outgoing,      ///< a QoS 1/2 publish was accepted: `seq` and its encoded PUBLISH in `packet`
        sent_outgoing,     ///< it was sent with `packet_id` (0: back in the queue, no id)
        release_outgoing,  ///< PUBREC received: only the PUBREL remains (the PUBLISH bytes can be dropped)
        remove_outgoing,   ///< completed (or failed): forget `seq`
        add_incoming,      ///< QoS 2 `packet_id` received, not yet released
        remove_incoming,   ///< PUBREL for `packet_id` received
        clear_incoming,    ///< all incoming ids dropped (clean session, or session present = 0)
    };
    Kind kind = Kind::add_outgoing;
    std::uint64_t seq = 0;
    PacketId packet_id = 0;
    Bytes packet;  ///< add_outgoing only; valid until the next non-const call on the session
};

/// An outgoing message as a store gives it back to Session::restore().
struct StoredMessage {
    std::uint64_t seq = 0;
    PacketId packet_id = 0;  ///< 0 when it was never sent
    bool released = false;   ///< PUBREC received (QoS 2): only the PUBREL is resent
    Bytes packet;            ///< the encoded PUBLISH (may be empty when released)
};

/// Checks options before a session is built: client id and will topic/strings, empty client id only with
/// clean session [MQTT-3.1.3-7], password only with user name [MQTT-3.1.2-22], max_inflight >= 1.
/// Errors: bad_utf8, bad_topic_name, empty_client_id_needs_clean_session, password_without_username,
/// bad_qos, invalid_argument.
[[nodiscard]] std::error_code validate(const SessionOptions& options) noexcept;

/// A request to publish. Views are copied by Session::publish() before it returns.
struct PublishRequest {
    std::string_view topic;
    std::string_view payload;
    QoS qos = QoS::at_most_once;
    bool retain = false;
    std::uint64_t tag = 0;  ///< opaque, returned in PublishDone; 0 = no completion wanted for QoS 0
    /// MQTT 5.0 properties (copied): Payload Format, Message Expiry, Content Type, Response Topic,
    /// Correlation Data, User Properties. Not Topic Alias (the session assigns them) nor Subscription
    /// Identifier [MQTT-3.3.4-6]: invalid_argument.
    protocol::PropertiesView properties{};
};

// ---- Events -------------------------------------------------------------------------------------------

/// CONNACK accepted. MQTT 5.0: `properties` are the CONNACK's (Assigned Client Identifier, server limits,
/// Response Information, Server Reference, ...), valid until the next handle_bytes().
struct Connected { bool session_present = false; protocol::PropertiesView properties{}; };
/// The connection attempt failed: code is NodeMCU's -4, -2, -1 or a CONNACK return code 1..5. MQTT 5.0: a
/// refusal has its Connect Reason Code in `reason_code` (0x80..) and `code` is the NodeMCU code that fits
/// (0x84 -> 1, 0x85 -> 2, 0x88/0x89 -> 3, 0x86 -> 4, 0x87 -> 5), else the reason code itself; `properties`
/// (Reason String, Server Reference) are valid until the next handle_bytes(). The transport must close.
struct ConnectFailed {
    int code = 0;
    std::error_code error;
    std::uint8_t reason_code = 0;
    protocol::PropertiesView properties{};
};
/// An established connection ended (error closed_by_client after a disconnect()). The transport must close.
/// MQTT 5.0: a DISCONNECT from the server gives error server_disconnected with its reason code and
/// properties (Reason String, Server Reference; views valid until the next handle_bytes()); a protocol
/// error of the server gives the reason code our DISCONNECT carried (0x81, 0x82, 0x93, 0x94, 0x95).
struct ConnectionLost {
    std::error_code error;
    std::uint8_t reason_code = 0;
    protocol::PropertiesView properties{};
};
/// A PUBLISH was received. Views valid until the next call to handle_bytes().
struct MessageReceived { MessageView message; };
/// A PUBLISH larger than max_message_length: payload truncated (see StreamDecoder). Already acknowledged.
struct MessageOverflow { MessageView message; std::uint32_t total_size = 0; };
/// A publish finished: QoS 0 written, QoS 1 PUBACK, QoS 2 PUBCOMP, or failed with `error`. MQTT 5.0: the
/// ack's reason code and properties (PUBACK/PUBREC with a code >= 0x80 ends the exchange with error
/// refused_by_server [MQTT-4.4.0-2]; PUBCOMP's code otherwise). Views valid until the next handle_bytes().
struct PublishDone {
    std::uint64_t tag = 0;
    PacketId packet_id = 0;
    QoS qos = QoS::at_most_once;
    std::error_code error;
    std::uint8_t reason_code = 0;
    protocol::PropertiesView properties{};
};
/// SUBACK: one code per filter (3.1.1: 0..2 granted QoS, 0x80 failure; 5.0: reason codes) and, for 5.0, the
/// SUBACK's properties. Views valid until the next handle_bytes().
struct SubscribeDone {
    std::uint64_t tag = 0;
    PacketId packet_id = 0;
    Bytes return_codes;
    std::error_code error;
    protocol::PropertiesView properties{};
};
/// UNSUBACK; MQTT 5.0: one reason code per filter and the properties.
struct UnsubscribeDone {
    std::uint64_t tag = 0;
    PacketId packet_id = 0;
    std::error_code error;
    Bytes reason_codes{};
    protocol::PropertiesView properties{};
};
/// PINGRESP received (informational).
struct PingResponse {};
/// MQTT 5.0 enhanced authentication: an AUTH from the server with our Authentication Method. reason_code
/// 0x18 (Continue authentication): answer with Session::continue_authentication(), or give up with
/// Session::abort_authentication(). 0x00 (Success): a re-authentication succeeded. `data` is the server's
/// Authentication Data. Views valid until the next handle_bytes().
struct AuthReceived {
    std::uint8_t reason_code = 0;
    std::string_view data{};
    protocol::PropertiesView properties{};
};

using Event = std::variant<Connected, ConnectFailed, ConnectionLost, MessageReceived, MessageOverflow,
                           PublishDone, SubscribeDone, UnsubscribeDone, PingResponse, AuthReceived>;

/// Builds one visitor from several lambdas, for std::visit over an Event:
///   std::visit(Overloaded{[](const Connected&) {...}, [](const auto&) {}}, event);
template <class... F>
struct Overloaded : F... {
    using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

enum class State : std::uint8_t {
    idle,           ///< no connection
    connecting,     ///< CONNECT queued, waiting for the CONNACK
    connected,      ///< CONNACK accepted
    disconnecting,  ///< DISCONNECT queued; nothing more is sent [MQTT-3.14.4-2]
};

/// The client side of an MQTT 3.1.1 session. Session state (in-flight QoS 1/2 both ways) belongs to this
/// object and survives connections [MQTT-4.1.0-1].
///
/// Driving it: call connection_opened() when the transport is up, feed received bytes to handle_bytes(),
/// write pending_output() and report it with consume_output(), call handle_timeout() at next_deadline(),
/// and drain poll_event() after every call. On ConnectFailed/ConnectionLost, close the transport and call
/// connection_closed(). Thread safety: none; one thread at a time.
class Session {
public:
    explicit Session(SessionOptions options);
    ~Session();
    Session(Session&&) noexcept;
    Session& operator=(Session&&) noexcept;

    [[nodiscard]] const SessionOptions& options() const noexcept;
    [[nodiscard]] State state() const noexcept;

    /// Sets the will of the next CONNECT (NodeMCU lwt()). Allowed in every state, as the firmware allows
    /// lwt() at any time: a connection already opened keeps the will its CONNECT carried.
    /// Errors: bad_topic_name, bad_utf8, bad_qos.
    [[nodiscard]] std::error_code set_will(std::optional<WillMessage> will);

    /// Replaces the MQTT 5.0 settings (V5Options: Session Expiry, Receive Maximum, CONNECT properties...)
    /// for the next connection. Errors: already_connected unless idle (the limits hold for a whole
    /// connection), invalid_argument for a Receive Maximum of 0.
    [[nodiscard]] std::error_code set_v5_options(V5Options v5);

    /// Starts a connection: queues CONNECT as the first packet [MQTT-3.1.0-1] and arms the write and
    /// CONNACK timers. Queued requests and resends wait for the CONNACK.
    /// Errors: already_connected when not idle.
    [[nodiscard]] std::error_code connection_opened(TimePoint now);

    /// The transport closed (or failed). Emits ConnectFailed (connecting: code -4, error connection_closed)
    /// or ConnectionLost (connected) unless the session already reported the end of this connection.
    void connection_closed(std::error_code reason, TimePoint now);

    /// Consumes received bytes. Stops after each packet that produced an event, so that event views stay
    /// valid: returns how many bytes were used; drain poll_event() and call again with the rest.
    std::size_t handle_bytes(Bytes input, TimePoint now);

    /// Runs timers due at `now`: CONNECT write and CONNACK timeouts, PINGREQ, PINGRESP timeout.
    void handle_timeout(TimePoint now);

    /// The next time handle_timeout() must be called, if any.
    [[nodiscard]] std::optional<TimePoint> next_deadline() const noexcept;

    /// Publishes. Returns the packet id, or 0 for QoS 0 and for a request that is queued (made while connecting,
    /// behind a full window, or while every id is in use): ids are given when a packet is sent, and the
    /// completion event carries it. Requests are sent in order. Copies topic and payload. Errors:
    /// not_connected (idle, unless queue_while_offline), bad_topic_name, bad_utf8, bad_qos, packet_too_large,
    /// queue_full.
    /// Cost: no allocation in steady state (buffers are pooled).
    [[nodiscard]] Result<PacketId> publish(const PublishRequest& request, TimePoint now);

    /// Subscribes to one or more filters in one SUBSCRIBE (id as publish()). Errors: not_connected,
    /// empty_payload, bad_topic_filter, bad_utf8, bad_qos, packet_too_large, queue_full.
    [[nodiscard]] Result<PacketId> subscribe(std::span<const protocol::SubscribeEntry> entries,
                                             std::uint64_t tag, TimePoint now);
    /// MQTT 5.0 subscribe: entries with their options (No Local, Retain As Published, Retain Handling) and
    /// SUBSCRIBE properties (Subscription Identifier, User Properties). Requests the server said it cannot
    /// serve fail here: wildcard_not_supported, shared_not_supported, subscription_id_not_supported; No Local
    /// on a shared subscription is invalid_argument [MQTT-3.8.3-4]; ShareName rules [MQTT-4.8.2-1/2].
    [[nodiscard]] Result<PacketId> subscribe(std::span<const protocol::SubscribeEntry> entries,
                                             protocol::PropertiesView properties, std::uint64_t tag,
                                             TimePoint now);

    /// Unsubscribes from one or more filters in one UNSUBSCRIBE. Errors as subscribe().
    [[nodiscard]] Result<PacketId> unsubscribe(std::span<const std::string_view> filters, std::uint64_t tag,
                                               TimePoint now, protocol::PropertiesView properties = {});

    /// Ends the connection. Connected: queues DISCONNECT after the queued output, then ConnectionLost with
    /// closed_by_client once it is written [MQTT-3.14.4-1] (or after connect_write_timeout if it cannot be);
    /// nothing is sent after it [MQTT-3.14.4-2]. Connecting: abandons the attempt silently (no
    /// event); the caller closes the transport. Returns false when idle (nothing to close).
    bool disconnect(TimePoint now);
    /// MQTT 5.0 disconnect with a reason code, a new Session Expiry Interval and properties. Errors:
    /// invalid_argument (a Session Expiry change from 0 at CONNECT to non-zero, a reason code not valid for
    /// DISCONNECT, bad properties). Returns false (no error) when idle.
    [[nodiscard]] Result<bool> disconnect(const DisconnectRequest& request, TimePoint now);

    /// MQTT 5.0 enhanced authentication (section 4.12), with V5Options::authentication_method set. Answers an
    /// AuthReceived with reason 0x18: AUTH 0x18 with the method and `data` [MQTT-4.12.0-2/3/5]. Errors:
    /// invalid_argument (no method, or bad properties), not_connected (no exchange under way).
    [[nodiscard]] std::error_code continue_authentication(std::string_view data, TimePoint now,
                                                          protocol::PropertiesView properties = {});
    /// Starts a re-authentication once connected: AUTH 0x19 with the method and `data` [MQTT-4.12.1-1];
    /// other traffic goes on meanwhile. The server answers AUTH 0x18 (AuthReceived, continue) or 0x00
    /// (AuthReceived, success), or ends the connection with a DISCONNECT [MQTT-4.12.1-2]. Errors:
    /// invalid_argument (no method [MQTT-4.12.0-7]), not_connected, authentication_in_progress (one is under way).
    [[nodiscard]] std::error_code reauthenticate(std::string_view data, TimePoint now,
                                                 protocol::PropertiesView properties = {});
    /// Gives up an exchange (the authenticator refused the server's data). Connecting: ConnectFailed with
    /// auth_failed (code 5, not authorized); the transport must close. Connected: DISCONNECT 0x87 (Not
    /// authorized), then ConnectionLost with auth_failed. Does nothing when idle.
    void abort_authentication(TimePoint now);

    /// The protocol level of this session.
    [[nodiscard]] protocol::ProtocolVersion protocol() const noexcept;
    /// The client identifier in use: options().client_id, or the server's Assigned Client Identifier
    /// [MQTT-3.1.3-7] (used for later connections too).
    [[nodiscard]] std::string_view client_id() const noexcept;
    /// The keep alive in use: options().keepalive_seconds or the server's Server Keep Alive [MQTT-3.1.2-21].
    [[nodiscard]] std::uint16_t keepalive_seconds() const noexcept;

    /// Bytes waiting to be written, contiguous. The span stays valid and unchanged until consume_output() or
    /// connection_opened()/connection_closed() (requests made meanwhile go to a second buffer), so a
    /// transport can write it asynchronously. Packets queued during a write come out together next time.
    [[nodiscard]] Bytes pending_output() noexcept;

    /// Reports that the first `n` bytes of pending_output() were written at `now`.
    void consume_output(std::size_t n, TimePoint now);

    /// Returns the oldest pending event, if any. Views inside are valid until the next handle_bytes().
    [[nodiscard]] std::optional<Event> poll_event();
    /// True while poll_event() has an event to return.
    [[nodiscard]] bool has_events() const noexcept;

    /// Returns the oldest durable-state change not yet taken (only with options().track_store_changes).
    [[nodiscard]] std::optional<StoreChange> poll_store_change();

    /// Rebuilds outgoing messages and incoming QoS 2 ids kept by a persistent store, before the first
    /// connection_opened(). Messages are resent in `seq` order with their ids (clean session 0) or republished
    /// (clean session 1). Copies what it needs. Errors: already_connected (not idle), invalid_argument (a packet
    /// that is not a QoS 1/2 PUBLISH, or a duplicate id).
    [[nodiscard]] std::error_code restore(std::span<const StoredMessage> outgoing, std::span<const PacketId> incoming);

    /// False while unsent output exceeds max_buffered_bytes: the transport should pause reading.
    [[nodiscard]] bool wants_input() const noexcept;

    /// Outgoing requests awaiting an ack (QoS 1/2 publishes, SUBSCRIBE, UNSUBSCRIBE: each holds a packet id),
    /// and requests queued behind them.
    [[nodiscard]] std::size_t inflight_count() const noexcept;
    [[nodiscard]] std::size_t queued_count() const noexcept;
    /// Incoming QoS 2 packet ids received and not yet released by PUBREL.
    [[nodiscard]] std::size_t incoming_qos2_count() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace nmqtt::session
