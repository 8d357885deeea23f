// Decoding one complete control packet from its fixed header and body.
#pragma once

#include <cstdint>

#include "nmqtt/protocol/packets.hpp"
#include "nmqtt/result.hpp"
#include "nmqtt/types.hpp"

namespace nmqtt::protocol {

/// The fixed header of a packet (section 2.2).
struct FixedHeader {
    PacketType type = PacketType::connect;
    std::uint8_t flags = 0;               ///< low nibble of byte 1
    std::uint32_t remaining_length = 0;   ///< bytes after the fixed header
    std::uint8_t header_size = 0;         ///< 2..5
    [[nodiscard]] std::size_t packet_size() const noexcept { return header_size + std::size_t{remaining_length}; }
};

/// Outcome of parsing a fixed header from the start of a buffer: a header, "need more bytes", or an error.
struct HeaderParse {
    enum class Status : std::uint8_t { complete, need_more, error } status = Status::need_more;
    FixedHeader header;
    std::error_code error;
};

/// Parses a fixed header: packet type 1..14, flags as Table 2.2 (PUBLISH QoS 3 is rejected, and DUP on QoS 0
/// is bad_flags) [MQTT-2.2.2-2, 3.3.1-2, 3.3.1-4], Remaining Length of at most 4 bytes, and a length that fits
/// the type (2 for the ack family and CONNACK, 0 for PINGREQ/PINGRESP/DISCONNECT, at least 2 for PUBLISH and
/// 3 for SUBSCRIBE/UNSUBSCRIBE/SUBACK). Needs up to 5 bytes; allocates nothing.
/// Errors: bad_packet_type, bad_flags, bad_qos, bad_remaining_length, truncated_packet (PUBLISH shorter than
/// 2), empty_payload (SUBSCRIBE/UNSUBSCRIBE/SUBACK with nothing after the packet id).
/// MQTT 5.0 (`version` v5): type 15 (AUTH) is valid, the ack family may be longer than 2 and DISCONNECT
/// may carry a body; the body decoder checks them.
[[nodiscard]] HeaderParse parse_fixed_header(Bytes input,
                                             ProtocolVersion version = ProtocolVersion::v3_1_1) noexcept;

/// Decodes the body (`body.size() == header.remaining_length`) of a packet whose header was parsed.
/// Views in the result point into `body`. Every check a receiver must make is applied: UTF-8 and topic rules,
/// packet id non-zero, QoS values, SUBACK codes, CONNACK flags and code range, no trailing bytes.
/// Errors: truncated_packet, trailing_bytes, bad_utf8, bad_topic_name, bad_topic_filter, zero_packet_id,
/// bad_qos, bad_suback_code, bad_connack, bad_protocol, bad_connect_flags, empty_payload. Allocates nothing.
/// MQTT 5.0 adds property blocks (validated as validate_properties() does, never copied), reason codes
/// checked per packet type, subscription options and AUTH. More errors then: bad_variable_byte_integer,
/// bad_property_id, property_not_allowed, duplicate_property, bad_property_length, bad_property_value,
/// bad_reason_code, bad_flags (subscription options with reserved bits or Retain Handling 3).
[[nodiscard]] Result<Packet> decode_body(const FixedHeader& header, Bytes body,
                                         ProtocolVersion version = ProtocolVersion::v3_1_1) noexcept;

/// Decodes exactly one whole packet (header and body) occupying all of `input`.
/// Errors: those of parse_fixed_header() and decode_body(); truncated_packet when `input` is short,
/// trailing_bytes when it is longer than the packet.
[[nodiscard]] Result<Packet> decode_packet(Bytes input, ProtocolVersion version = ProtocolVersion::v3_1_1) noexcept;

/// Decodes the topic and packet id of a PUBLISH from the first bytes of its body, for an oversized PUBLISH
/// whose payload is not kept: `prefix` holds the variable header and possibly some payload.
/// Returns the Publish with `payload` set to the payload bytes present in `prefix`.
/// Errors: truncated_packet, bad_utf8, bad_topic_name, zero_packet_id.
/// MQTT 5.0: the property block must lie whole in `prefix` (truncated_packet otherwise).
[[nodiscard]] Result<Publish> decode_publish_prefix(std::uint8_t flags, Bytes prefix,
                                                    ProtocolVersion version = ProtocolVersion::v3_1_1) noexcept;

}  // namespace nmqtt::protocol
