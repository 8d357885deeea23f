// MQTT 5.0 reason codes per packet type (Table 2.6) and the client's DISCONNECT reason for an error.
#include "nmqtt/protocol/reason_code.hpp"

#include <algorithm>
#include <array>

#include "nmqtt/error.hpp"
#include "nmqtt/protocol/packets.hpp"

namespace nmqtt::protocol {
namespace {

constexpr std::array<std::uint8_t, 22> connack_codes{0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86,
                                                     0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97,
                                                     0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F};
constexpr std::array<std::uint8_t, 9> puback_codes{0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99};
constexpr std::array<std::uint8_t, 2> pubrel_codes{0x00, 0x92};
constexpr std::array<std::uint8_t, 12> suback_codes{0x00, 0x01, 0x02, 0x80, 0x83, 0x87,
                                                    0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2};
constexpr std::array<std::uint8_t, 7> unsuback_codes{0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91};
constexpr std::array<std::uint8_t, 29> disconnect_codes{
    0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94,
    0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2};
constexpr std::array<std::uint8_t, 3> auth_codes{0x00, 0x18, 0x19};

template <std::size_t N>
bool contains(const std::array<std::uint8_t, N>& set, std::uint8_t code) noexcept {
    return std::find(set.begin(), set.end(), code) != set.end();
}

}  // namespace

bool is_valid_reason_code(PacketType type, std::uint8_t code) noexcept {
    switch (type) {
        case PacketType::connack: return contains(connack_codes, code);
        case PacketType::puback:
        case PacketType::pubrec: return contains(puback_codes, code);
        case PacketType::pubrel:
        case PacketType::pubcomp: return contains(pubrel_codes, code);
        case PacketType::suback: return contains(suback_codes, code);
        case PacketType::unsuback: return contains(unsuback_codes, code);
        case PacketType::disconnect: return contains(disconnect_codes, code);
        case PacketType::auth: return contains(auth_codes, code);
        default: return false;
    }
}

std::string_view reason_code_name(std::uint8_t code) noexcept {
    switch (static_cast<ReasonCode>(code)) {
        case ReasonCode::success: return "Success";
        case ReasonCode::granted_qos_1: return "Granted QoS 1";
        case ReasonCode::granted_qos_2: return "Granted QoS 2";
        case ReasonCode::disconnect_with_will_message: return "Disconnect with Will Message";
        case ReasonCode::no_matching_subscribers: return "No matching subscribers";
        case ReasonCode::no_subscription_existed: return "No subscription existed";
        case ReasonCode::continue_authentication: return "Continue authentication";
        case ReasonCode::re_authenticate: return "Re-authenticate";
        case ReasonCode::unspecified_error: return "Unspecified error";
        case ReasonCode::malformed_packet: return "Malformed Packet";
        case ReasonCode::protocol_error: return "Protocol Error";
        case ReasonCode::implementation_specific_error: return "Implementation specific error";
        case ReasonCode::unsupported_protocol_version: return "Unsupported Protocol Version";
        case ReasonCode::client_identifier_not_valid: return "Client Identifier not valid";
        case ReasonCode::bad_user_name_or_password: return "Bad User Name or Password";
        case ReasonCode::not_authorized: return "Not authorized";
        case ReasonCode::server_unavailable: return "Server unavailable";
        case ReasonCode::server_busy: return "Server busy";
        case ReasonCode::banned: return "Banned";
        case ReasonCode::server_shutting_down: return "Server shutting down";
        case ReasonCode::bad_authentication_method: return "Bad authentication method";
        case ReasonCode::keep_alive_timeout: return "Keep Alive timeout";
        case ReasonCode::session_taken_over: return "Session taken over";
        case ReasonCode::topic_filter_invalid: return "Topic Filter invalid";
        case ReasonCode::topic_name_invalid: return "Topic Name invalid";
        case ReasonCode::packet_identifier_in_use: return "Packet Identifier in use";
        case ReasonCode::packet_identifier_not_found: return "Packet Identifier not found";
        case ReasonCode::receive_maximum_exceeded: return "Receive Maximum exceeded";
        case ReasonCode::topic_alias_invalid: return "Topic Alias invalid";
        case ReasonCode::packet_too_large: return "Packet too large";
        case ReasonCode::message_rate_too_high: return "Message rate too high";
        case ReasonCode::quota_exceeded: return "Quota exceeded";
        case ReasonCode::administrative_action: return "Administrative action";
        case ReasonCode::payload_format_invalid: return "Payload format invalid";
        case ReasonCode::retain_not_supported: return "Retain not supported";
        case ReasonCode::qos_not_supported: return "QoS not supported";
        case ReasonCode::use_another_server: return "Use another server";
        case ReasonCode::server_moved: return "Server moved";
        case ReasonCode::shared_subscriptions_not_supported: return "Shared Subscriptions not supported";
        case ReasonCode::connection_rate_exceeded: return "Connection rate exceeded";
        case ReasonCode::maximum_connect_time: return "Maximum connect time";
        case ReasonCode::subscription_identifiers_not_supported: return "Subscription Identifiers not supported";
        case ReasonCode::wildcard_subscriptions_not_supported: return "Wildcard Subscriptions not supported";
    }
    return "Unknown reason code";
}

std::uint8_t disconnect_reason_for(std::error_code error) noexcept {
    if (error.category() != error_category()) return 0x00;
    switch (static_cast<Errc>(error.value())) {
        case Errc::bad_packet_type:
        case Errc::bad_flags:
        case Errc::bad_remaining_length:
        case Errc::truncated_packet:
        case Errc::trailing_bytes:
        case Errc::bad_utf8:
        case Errc::bad_topic_name:
        case Errc::bad_topic_filter:
        case Errc::bad_qos:
        case Errc::bad_suback_code:
        case Errc::bad_connack:
        case Errc::bad_variable_byte_integer:
        case Errc::bad_property_id:
        case Errc::property_not_allowed:
        case Errc::bad_property_length:
        case Errc::bad_reason_code: return 0x81;
        case Errc::zero_packet_id:
        case Errc::duplicate_property:
        case Errc::bad_property_value:
        case Errc::not_a_connack:
        case Errc::unexpected_packet:
        case Errc::suback_count_mismatch:
        case Errc::session_present_on_clean:
        case Errc::protocol_error: return 0x82;
        case Errc::auth_failed: return 0x87;  // Not authorized: our authenticator refused the server's data
        case Errc::receive_maximum_exceeded: return 0x93;
        case Errc::topic_alias_invalid: return 0x94;
        case Errc::packet_too_large: return 0x95;
        case Errc::ping_timeout: return 0x8D;
        default: return 0x00;
    }
}

}  // namespace nmqtt::protocol
