// Encoding control packets into caller-provided memory (section 2 and 3).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "nmqtt/protocol/packets.hpp"
#include "nmqtt/result.hpp"
#include "nmqtt/types.hpp"

namespace nmqtt::protocol {

/// Returns the size of the whole encoded packet (fixed header included), after checking it against every
/// rule a sender must follow: UTF-8 strings [MQTT-1.5.3-1/2], topic names without wildcards [MQTT-3.3.2-2],
/// valid filters, QoS 0..2, packet ids non-zero where required [MQTT-2.3.1-1] and absent for QoS 0
/// [MQTT-2.3.1-5], DUP=0 on QoS 0 [MQTT-3.3.1-2], password only with a user name [MQTT-3.1.2-22], at least
/// one filter [MQTT-3.8.3-3, 3.10.3-2], remaining length at most 268,435,455.
/// Errors: bad_utf8, bad_topic_name, bad_topic_filter, bad_qos, zero_packet_id, invalid_argument,
/// password_without_username, empty_payload, packet_too_large, bad_connack (code above 5, or session present
/// on a refusal), bad_suback_code. Allocates nothing.
/// MQTT 5.0 (`version` v5): property blocks are validated for their packet (validate_properties()), reason
/// codes must be valid for the packet type (bad_reason_code), a password needs no user name, and the acks,
/// DISCONNECT and AUTH take their shortest form. In 3.1.1 any property, non-zero reason code, subscription
/// option, Topic Alias or AUTH is invalid_argument.
[[nodiscard]] Result<std::size_t> encoded_size(const Packet& packet,
                                               ProtocolVersion version = ProtocolVersion::v3_1_1) noexcept;

/// Encodes `packet` into `out`, returning the number of bytes written. Validates as encoded_size() does.
/// Errors: those of encoded_size(), and Errc::buffer_too_small when `out` is shorter than the packet
/// (nothing meaningful is written then). Allocates nothing.
[[nodiscard]] Result<std::size_t> encode(const Packet& packet, MutableBytes out,
                                         ProtocolVersion version = ProtocolVersion::v3_1_1) noexcept;

/// Appends the encoded packet to `out` (which grows as needed; allocates only when its capacity is short).
/// Errors: those of encoded_size(); `out` is unchanged on error.
[[nodiscard]] std::error_code encode_append(const Packet& packet, std::vector<std::uint8_t>& out,
                                            ProtocolVersion version = ProtocolVersion::v3_1_1);

/// Writes the Remaining Length field (1..4 bytes) for `value` into `out` and returns its size, or 0 when
/// `value` is above max_remaining_length or `out` is too short.
[[nodiscard]] std::size_t encode_remaining_length(std::uint32_t value, MutableBytes out) noexcept;

/// Returns how many bytes the Remaining Length field takes for `value` (1..4).
[[nodiscard]] constexpr std::size_t remaining_length_size(std::uint32_t value) noexcept {
    return value < 128 ? 1 : value < 16'384 ? 2 : value < 2'097'152 ? 3 : 4;
}

}  // namespace nmqtt::protocol
