// MQTT 5.0 reason codes (section 2.4): the values, and which packet types may carry each.
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

namespace nmqtt::protocol {

enum class PacketType : std::uint8_t;

/// Reason code values of Table 2.6 (names as in the standard).
enum class ReasonCode : std::uint8_t {
    success = 0x00,  ///< also Normal disconnection, Granted QoS 0
    granted_qos_1 = 0x01,
    granted_qos_2 = 0x02,
    disconnect_with_will_message = 0x04,
    no_matching_subscribers = 0x10,
    no_subscription_existed = 0x11,
    continue_authentication = 0x18,
    re_authenticate = 0x19,
    unspecified_error = 0x80,
    malformed_packet = 0x81,
    protocol_error = 0x82,
    implementation_specific_error = 0x83,
    unsupported_protocol_version = 0x84,
    client_identifier_not_valid = 0x85,
    bad_user_name_or_password = 0x86,
    not_authorized = 0x87,
    server_unavailable = 0x88,
    server_busy = 0x89,
    banned = 0x8A,
    server_shutting_down = 0x8B,
    bad_authentication_method = 0x8C,
    keep_alive_timeout = 0x8D,
    session_taken_over = 0x8E,
    topic_filter_invalid = 0x8F,
    topic_name_invalid = 0x90,
    packet_identifier_in_use = 0x91,
    packet_identifier_not_found = 0x92,
    receive_maximum_exceeded = 0x93,
    topic_alias_invalid = 0x94,
    packet_too_large = 0x95,
    message_rate_too_high = 0x96,
    quota_exceeded = 0x97,
    administrative_action = 0x98,
    payload_format_invalid = 0x99,
    retain_not_supported = 0x9A,
    qos_not_supported = 0x9B,
    use_another_server = 0x9C,
    server_moved = 0x9D,
    shared_subscriptions_not_supported = 0x9E,
    connection_rate_exceeded = 0x9F,
    maximum_connect_time = 0xA0,
    subscription_identifiers_not_supported = 0xA1,
    wildcard_subscriptions_not_supported = 0xA2,
};

/// True when `code` may appear in a packet of type `type` (CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK,
/// UNSUBACK, DISCONNECT, AUTH; Table 2.6 and sections 3.x.2.1). False for other types.
[[nodiscard]] bool is_valid_reason_code(PacketType type, std::uint8_t code) noexcept;

/// The standard's name of a reason code ("Malformed Packet"), or "Unknown reason code".
[[nodiscard]] std::string_view reason_code_name(std::uint8_t code) noexcept;

/// The reason code a client puts in its DISCONNECT when it closes because of `error` (section 4.13):
/// 0x81 for malformed input, 0x82 for protocol errors, 0x93 / 0x94 / 0x95 for Receive Maximum, Topic Alias
/// and Maximum Packet Size violations, 0x8D for a keep-alive timeout, 0x00 for anything else.
[[nodiscard]] std::uint8_t disconnect_reason_for(std::error_code error) noexcept;

}  // namespace nmqtt::protocol
