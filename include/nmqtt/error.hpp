// One error type end to end: nmqtt::Errc registered as std::error_code, plus the NodeMCU result codes.
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

namespace nmqtt {

/// Every error the library produces. Each value has a message (error_category) and a test producing it.
enum class Errc : int {
    // Malformed input from the network (the receiver closes the connection: [MQTT-4.8.0-1]).
    bad_packet_type = 1,        ///< type 0 or 15, or a type a server never sends
    bad_flags,                  ///< reserved fixed-header flag bits differ from Table 2.2 [MQTT-2.2.2-2]
    bad_remaining_length,       ///< more than 4 length bytes, or a length wrong for the packet type
    truncated_packet,           ///< a field runs past the end of the packet
    trailing_bytes,             ///< bytes left over after the last field of a packet
    bad_utf8,                   ///< ill-formed UTF-8, a surrogate or U+0000 [MQTT-1.5.3-1/2]
    bad_topic_name,             ///< empty, too long or wildcard in a topic name [MQTT-4.7.1-1, 4.7.3-1]
    bad_topic_filter,           ///< misplaced wildcard, empty or too long filter [MQTT-4.7.1-2/3]
    zero_packet_id,             ///< packet id 0 where one is required [MQTT-2.3.1-1]
    bad_qos,                    ///< QoS 3 [MQTT-3.3.1-4], or a QoS byte with reserved bits set
    bad_suback_code,            ///< SUBACK return code other than 0, 1, 2, 0x80 [MQTT-3.9.3-2]
    bad_connack,                ///< CONNACK reserved bits set or return code above 5
    bad_protocol,               ///< CONNECT protocol name/level other than "MQTT"/4
    bad_connect_flags,          ///< CONNECT flags inconsistent [MQTT-3.1.2-3/11/13/15/22]
    empty_payload,              ///< SUBSCRIBE/UNSUBSCRIBE without any filter [MQTT-3.8.3-3, 3.10.3-2]
    // Session-level protocol errors.
    not_a_connack,              ///< first packet from the server was not CONNACK [MQTT-3.2.0-1]
    unexpected_packet,          ///< a packet that is not valid in the current state
    suback_count_mismatch,      ///< SUBACK code count differs from the filter count [MQTT-3.8.4-5]
    session_present_on_clean,   ///< CONNACK session present = 1 on a clean session [MQTT-3.2.2-1]
    connack_timeout,            ///< no CONNACK in time
    connect_write_timeout,      ///< CONNECT could not be written in time
    ping_timeout,               ///< no PINGRESP in time [MQTT-3.12.4-1]
    connection_refused,         ///< CONNACK with a non-zero return code (see ConnackCode)
    connection_closed,          ///< the peer closed the connection
    closed_by_client,           ///< close()/disconnect() completed: DISCONNECT was sent
    // Errors in requests made by the user.
    invalid_argument,           ///< a request parameter is out of range
    empty_client_id_needs_clean_session,  ///< [MQTT-3.1.3-7]
    password_without_username,  ///< [MQTT-3.1.2-22]
    packet_too_large,           ///< remaining length above 268,435,455 or above a configured bound
    not_connected,              ///< no connection and none in progress
    already_connected,          ///< connect while connected or connecting
    queue_full,                 ///< outgoing queue bound reached
    packet_ids_exhausted,       ///< all 65535 packet ids are in use [MQTT-2.3.1-2]
    buffer_too_small,           ///< encode: the output buffer cannot hold the packet
    allocation_failed,          ///< a buffer for an incoming packet could not be allocated [MQTT-4.8.0-2]
    session_lost,               ///< an operation was dropped because the session was not resumed
    // Transport (net layer).
    host_not_found,             ///< name resolution failed (NodeMCU -3)
    server_not_found,           ///< nothing accepted the TCP connection (NodeMCU -5)
    tls_handshake_failed,       ///< TLS handshake or certificate verification failed
    // MQTT 5.0: malformed properties and reason codes (DISCONNECT 0x81 Malformed Packet, or 0x82 where the
    // standard calls it a Protocol Error; see disconnect_reason_for()).
    bad_variable_byte_integer,  ///< a variable byte integer of more than 4 bytes [MQTT-1.5.5-1]
    bad_property_id,            ///< a property identifier MQTT 5.0 does not define
    property_not_allowed,       ///< a property the packet type may not carry (Table 2.4)
    duplicate_property,         ///< a property twice where it may appear once
    bad_property_length,        ///< a property value runs past its property block, or the block past the packet
    bad_property_value,         ///< a property value out of range (0/1 byte above 1, Receive Maximum 0, ...)
    bad_reason_code,            ///< a reason code not defined for the packet type
    // MQTT 5.0 session rules.
    topic_alias_invalid,        ///< inbound Topic Alias 0, above our maximum, or unknown [MQTT-3.3.2-8/10]
    receive_maximum_exceeded,   ///< the server sent more unacknowledged QoS 1/2 than our Receive Maximum
    protocol_error,             ///< another MQTT 5.0 protocol error by the server (DISCONNECT 0x82)
    server_disconnected,        ///< the server sent DISCONNECT (its reason code is in the event)
    qos_not_supported,          ///< publish above the server's Maximum QoS [MQTT-3.2.2-11]
    retain_not_supported,       ///< retained publish while Retain Available = 0 [MQTT-3.2.2-14]
    wildcard_not_supported,     ///< wildcard filter while Wildcard Subscription Available = 0
    subscription_id_not_supported,  ///< Subscription Identifier while the server has none
    shared_not_supported,       ///< $share/ filter while Shared Subscription Available = 0
    auth_failed,                ///< enhanced authentication: the authenticator refused or the method differs
    refused_by_server,          ///< MQTT 5.0: an ack with a reason code >= 0x80 (the code is in the event)
    /// Not a failure: the broker answered a QoS 2 PUBLISH with PUBACK (RabbitMQ 3.x has no QoS 2). It has the
    /// message, delivered at least once (duplicates possible). The "puback" callback runs as for a success.
    acknowledged_at_qos1,
    authentication_in_progress,  ///< reauthenticate() while an authentication exchange is under way
    request_timeout,            ///< Client::request(): no response within the timeout
    // MQTT over WebSockets (net layer; the detail is in Client::last_error_message()).
    websocket_handshake_failed, ///< the HTTP Upgrade was refused: status not 101, bad accept key, no "mqtt"
    websocket_protocol_error,   ///< a frame the client must refuse: text, masked, oversized, reserved bits
};

/// The last Errc value (for tests that walk all of them).
inline constexpr Errc last_errc = Errc::websocket_protocol_error;

/// The category of Errc: name "nmqtt", one message per value.
[[nodiscard]] const std::error_category& error_category() noexcept;

/// Makes a std::error_code from an Errc (found by ADL, so `std::error_code ec = Errc::x;` works).
[[nodiscard]] inline std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), error_category()};
}

/// The NodeMCU connection failure codes (mqtt.CONN_FAIL_*), values exactly as the reference.
enum class ConnFail : int {
    server_not_found = -5,
    not_a_connack_msg = -4,
    dns = -3,
    timeout_receiving = -2,
    timeout_sending = -1,
};

/// CONNACK return codes (section 3.2.2.3), values as on the wire and as NodeMCU's mqtt.CONNACK_*.
enum class ConnackCode : std::uint8_t {
    accepted = 0,
    refused_protocol_version = 1,
    refused_identifier_rejected = 2,
    refused_server_unavailable = 3,
    refused_bad_user_name_or_password = 4,
    refused_not_authorized = 5,
};

/// Returns the NodeMCU constant name for a failure code -5..5 ("CONN_FAIL_DNS", "CONNACK_ACCEPTED", ...),
/// or "UNKNOWN".
[[nodiscard]] std::string_view reason_name(int code) noexcept;

}  // namespace nmqtt

template <>
struct std::is_error_code_enum<nmqtt::Errc> : std::true_type {};
