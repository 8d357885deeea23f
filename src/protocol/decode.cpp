// Decoding: fixed header checks (Table 2.2) and one body decoder per packet family.
#include "nmqtt/protocol/decode.hpp"

#include "nmqtt/protocol/topic.hpp"
#include "wire.hpp"

namespace nmqtt::protocol {
namespace {

using detail::Reader;

// Table 2.2: the only valid flag nibble per type (PUBLISH is checked separately).
constexpr std::uint8_t required_flags(PacketType t) noexcept {
    switch (t) {
        case PacketType::pubrel:
        case PacketType::subscribe:
        case PacketType::unsubscribe: return 0x02;
        default: return 0x00;
    }
}

// Remaining length a type must have, or -1 when it varies.
constexpr int fixed_remaining_length(PacketType t) noexcept {
    switch (t) {
        case PacketType::connack:
        case PacketType::puback:
        case PacketType::pubrec:
        case PacketType::pubrel:
        case PacketType::pubcomp:
        case PacketType::unsuback: return 2;
        case PacketType::pingreq:
        case PacketType::pingresp:
        case PacketType::disconnect: return 0;
        default: return -1;
    }
}

constexpr bool is_v5(ProtocolVersion v) noexcept { return v == ProtocolVersion::v5; }

std::error_code check_type_and_flags(std::uint8_t first, ProtocolVersion version) noexcept {
    const unsigned type = first >> 4;
    const std::uint8_t flags = first & 0x0F;
    if (type == 0 || (type == 15 && !is_v5(version))) return Errc::bad_packet_type;
    const auto t = static_cast<PacketType>(type);
    if (t == PacketType::publish) {
        const unsigned qos = (flags >> 1) & 0x03;
        if (qos == 3) return Errc::bad_qos;
        if (qos == 0 && (flags & 0x08) != 0) return Errc::bad_flags;  // DUP on QoS 0 [MQTT-3.3.1-2]
        return {};
    }
    return flags == required_flags(t) ? std::error_code{} : make_error_code(Errc::bad_flags);
}

// MQTT 5.0: acks may carry a reason code and properties, DISCONNECT and AUTH may be empty; the body
// decoders check the rest.
std::error_code check_length_v5(PacketType t, std::uint32_t remaining) noexcept {
    switch (t) {
        case PacketType::pingreq:
        case PacketType::pingresp: return remaining == 0 ? std::error_code{} : Errc::bad_remaining_length;
        case PacketType::puback:
        case PacketType::pubrec:
        case PacketType::pubrel:
        case PacketType::pubcomp:
        case PacketType::connack: return remaining >= 2 ? std::error_code{} : Errc::bad_remaining_length;
        default: return {};
    }
}

std::error_code check_length(PacketType t, std::uint32_t remaining, ProtocolVersion version) noexcept {
    if (is_v5(version)) return check_length_v5(t, remaining);
    const int fixed = fixed_remaining_length(t);
    if (fixed >= 0 && remaining != static_cast<std::uint32_t>(fixed)) return Errc::bad_remaining_length;
    if (t == PacketType::publish && remaining < 2) return Errc::truncated_packet;
    if ((t == PacketType::subscribe || t == PacketType::unsubscribe || t == PacketType::suback) && remaining < 3) {
        return remaining < 2 ? Errc::truncated_packet : Errc::empty_payload;
    }
    return {};
}

// Reads a Property Length and the property block after it, validated for `context`.
Result<PropertiesView> read_properties(Reader& r, PropertyContext context) noexcept {
    bool too_long = false;
    const auto length = r.vbi(too_long);
    if (too_long) return Errc::bad_variable_byte_integer;
    if (r.overrun()) return Errc::truncated_packet;
    if (length > r.remaining()) return Errc::bad_property_length;
    const Bytes block = r.span(length);
    if (auto ec = validate_properties(block, context)) return ec;
    return PropertiesView{block};
}

Result<Packet> done(Reader& r, Packet packet) noexcept {
    if (r.overrun()) return Errc::truncated_packet;
    if (r.remaining() != 0) return Errc::trailing_bytes;
    return packet;
}

std::error_code check_connect_flags(std::uint8_t flags, ProtocolVersion version) noexcept {
    const bool will = (flags & 0x04) != 0;
    const unsigned will_qos = (flags >> 3) & 0x03;
    if ((flags & 0x01) != 0) return Errc::bad_connect_flags;                            // [MQTT-3.1.2-3]
    if (!will && (will_qos != 0 || (flags & 0x20) != 0)) return Errc::bad_connect_flags;  // [MQTT-3.1.2-11/13/15]
    if (will_qos == 3) return Errc::bad_qos;                                             // [MQTT-3.1.2-14]
    if (!is_v5(version) && (flags & 0x40) != 0 && (flags & 0x80) == 0) {
        return Errc::bad_connect_flags;  // [MQTT-3.1.2-22]; MQTT 5.0 allows a password alone
    }
    return {};
}

// Will Properties (5.0), Will Topic and Will Payload.
std::error_code decode_will(Reader& r, std::uint8_t flags, ProtocolVersion version, Connect& c) noexcept {
    Will w{{}, {}, static_cast<QoS>((flags >> 3) & 0x03), (flags & 0x20) != 0, {}};
    if (is_v5(version)) {
        auto props = read_properties(r, PropertyContext::will);
        if (!props) return props.error();
        w.properties = *props;
    }
    w.topic = r.string();
    w.message = r.string();
    if (auto ec = validate_topic_name(w.topic); ec && !r.overrun()) return ec;
    c.will = w;
    return {};
}

// User Name and Password, as the flags say.
std::error_code decode_credentials(Reader& r, std::uint8_t flags, Connect& c) noexcept {
    if ((flags & 0x80) != 0) {
        c.username = r.string();
        if (auto ec = validate_utf8(*c.username); ec && !r.overrun()) return ec;
    }
    if ((flags & 0x40) != 0) c.password = r.string();
    return {};
}

std::error_code decode_connect_properties(Reader& r, ProtocolVersion version, Connect& c) noexcept {
    if (!is_v5(version)) return {};
    auto props = read_properties(r, PropertyContext::connect);
    if (!props) return props.error();
    c.properties = *props;
    return {};
}

Result<Packet> decode_connect(Reader& r, ProtocolVersion version) noexcept {
    const auto name = r.string();
    const auto level = r.u8();
    if (!r.overrun() && (name != "MQTT" || level != static_cast<std::uint8_t>(version))) return Errc::bad_protocol;
    const auto flags = r.u8();
    if (auto ec = check_connect_flags(flags, version)) return ec;
    Connect c;
    c.clean_session = (flags & 0x02) != 0;
    c.keepalive = r.u16();
    if (auto ec = decode_connect_properties(r, version, c)) return ec;
    c.client_id = r.string();
    if (auto ec = validate_utf8(c.client_id); ec && !r.overrun()) return ec;
    if ((flags & 0x04) != 0) {
        if (auto ec = decode_will(r, flags, version, c)) return ec;
    }
    if (auto ec = decode_credentials(r, flags, c)) return ec;
    return done(r, c);
}

Result<Packet> decode_connack(Reader& r, ProtocolVersion version) noexcept {
    const auto ack_flags = r.u8();
    const auto code = r.u8();
    if ((ack_flags & 0xFE) != 0) return Errc::bad_connack;  // [MQTT-3.2.2-1]
    Connack c{(ack_flags & 0x01) != 0, code, {}};
    if (!is_v5(version)) {
        if (code > 5) return Errc::bad_connack;
        return done(r, c);
    }
    if (!is_valid_reason_code(PacketType::connack, code)) return Errc::bad_reason_code;  // [MQTT-3.2.2-8]
    if (c.session_present && code >= 0x80) return Errc::bad_connack;                     // [MQTT-3.2.2-6]
    auto props = read_properties(r, PropertyContext::connack);
    if (!props) return props.error();
    c.properties = *props;
    return done(r, c);
}

// Topic (or an alias alone, 5.0), packet id and, for 5.0, the properties; the rest is the payload.
Result<Publish> decode_publish_fields(std::uint8_t flags, Reader& r, ProtocolVersion version) noexcept {
    Publish p;
    p.dup = (flags & 0x08) != 0;
    p.qos = static_cast<QoS>((flags >> 1) & 0x03);
    p.retain = (flags & 0x01) != 0;
    p.topic = r.string();
    if (p.qos != QoS::at_most_once) p.packet_id = r.u16();
    if (r.overrun()) return Errc::truncated_packet;
    if (p.qos != QoS::at_most_once && p.packet_id == 0) return Errc::zero_packet_id;
    if (is_v5(version)) {
        auto props = read_properties(r, PropertyContext::publish);
        if (!props) return props.error();
        p.properties = *props;
        p.topic_alias = static_cast<std::uint16_t>(props->topic_alias().value_or(0));
    }
    if (!p.topic.empty() || p.topic_alias == 0) {
        if (auto ec = validate_topic_name(p.topic)) return ec;
    }
    p.payload = r.rest();
    return p;
}

// MQTT 5.0 tail of an ack, DISCONNECT or AUTH: optional reason code, then optional properties.
std::error_code decode_reason_tail(Reader& r, PacketType type, std::uint8_t& code, PropertiesView& props) noexcept {
    if (r.remaining() == 0) return {};
    code = r.u8();
    if (!is_valid_reason_code(type, code)) return Errc::bad_reason_code;
    if (r.remaining() == 0) return {};
    auto p = read_properties(r, static_cast<PropertyContext>(type));
    if (!p) return p.error();
    props = *p;
    return {};
}

template <class Ack>
Result<Packet> decode_ack(Reader& r, PacketType type, ProtocolVersion version) noexcept {
    Ack a;
    a.packet_id = r.u16();
    if (!r.overrun() && a.packet_id == 0) return Errc::zero_packet_id;
    if (is_v5(version) && !r.overrun()) {
        if (auto ec = decode_reason_tail(r, type, a.reason_code, a.properties)) return ec;
    }
    return done(r, a);
}

template <class P>
Result<Packet> decode_reason_only(Reader& r, PacketType type) noexcept {
    P p;
    if (auto ec = decode_reason_tail(r, type, p.reason_code, p.properties)) return ec;
    return done(r, p);
}

// Packet id, then (5.0) properties; returns the offset of the payload in the body.
Result<std::size_t> decode_id_and_properties(Reader& r, PropertyContext context, PacketId& id,
                                             PropertiesView& props, ProtocolVersion version) noexcept {
    id = r.u16();
    if (r.overrun()) return Errc::truncated_packet;
    if (id == 0) return Errc::zero_packet_id;
    if (is_v5(version)) {
        auto p = read_properties(r, context);
        if (!p) return p.error();
        props = *p;
    }
    if (r.remaining() == 0) return Errc::empty_payload;
    return r.position();
}

// Subscription Options byte: 3.1.1 allows only QoS 0..2; 5.0 adds No Local, RAP and Retain Handling, and
// bits 6-7 stay 0 [MQTT-3.8.3-5].
std::error_code check_subscription_options(std::uint8_t options, ProtocolVersion version) noexcept {
    if ((options & 0x03) == 3) return Errc::bad_qos;
    if (!is_v5(version)) return options > 2 ? make_error_code(Errc::bad_qos) : std::error_code{};  // [MQTT-3.8.3-4]
    if ((options & 0xC0) != 0 || ((options >> 4) & 0x03) == 3) return Errc::bad_flags;
    return {};
}

Result<Packet> decode_subscribe(Reader& r, Bytes body, ProtocolVersion version) noexcept {
    Subscribe s;
    auto offset = decode_id_and_properties(r, PropertyContext::subscribe, s.packet_id, s.properties, version);
    if (!offset) return offset.error();
    while (r.remaining() > 0) {
        const auto filter = r.string();
        const auto options = r.u8();
        if (r.overrun()) return Errc::truncated_packet;
        if (auto ec = validate_topic_filter(filter)) return ec;
        if (auto ec = check_subscription_options(options, version)) return ec;
    }
    s.raw_entries = body.subspan(*offset);
    return done(r, s);
}

Result<Packet> decode_suback(Reader& r, Bytes body, ProtocolVersion version) noexcept {
    Suback s;
    auto offset = decode_id_and_properties(r, PropertyContext::suback, s.packet_id, s.properties, version);
    if (!offset) return offset.error();
    s.return_codes = body.subspan(*offset);
    for (const auto code : s.return_codes) {
        if (is_v5(version) && !is_valid_reason_code(PacketType::suback, code)) return Errc::bad_reason_code;
        if (!is_v5(version) && code > 2 && code != suback_failure) return Errc::bad_suback_code;
    }
    return Packet{s};
}

Result<Packet> decode_unsuback(Reader& r, Bytes body, ProtocolVersion version) noexcept {
    Unsuback u;
    if (!is_v5(version)) {
        u.packet_id = r.u16();
        if (!r.overrun() && u.packet_id == 0) return Errc::zero_packet_id;
        return done(r, u);
    }
    auto offset = decode_id_and_properties(r, PropertyContext::unsuback, u.packet_id, u.properties, version);
    if (!offset) return offset.error();
    u.reason_codes = body.subspan(*offset);
    for (const auto code : u.reason_codes) {
        if (!is_valid_reason_code(PacketType::unsuback, code)) return Errc::bad_reason_code;
    }
    return Packet{u};
}

Result<Packet> decode_unsubscribe(Reader& r, Bytes body, ProtocolVersion version) noexcept {
    Unsubscribe u;
    auto offset = decode_id_and_properties(r, PropertyContext::unsubscribe, u.packet_id, u.properties, version);
    if (!offset) return offset.error();
    while (r.remaining() > 0) {
        const auto filter = r.string();
        if (r.overrun()) return Errc::truncated_packet;
        if (auto ec = validate_topic_filter(filter)) return ec;
    }
    u.raw_filters = body.subspan(*offset);
    return done(r, u);
}

}  // namespace

HeaderParse parse_fixed_header(Bytes input, ProtocolVersion version) noexcept {
    HeaderParse out;
    if (input.empty()) return out;
    if (auto ec = check_type_and_flags(input[0], version)) {
        out.status = HeaderParse::Status::error;
        out.error = ec;
        return out;
    }
    std::uint32_t value = 0;
    for (std::size_t i = 1; i <= 4; ++i) {
        if (i >= input.size()) return out;  // need more
        value |= static_cast<std::uint32_t>(input[i] & 0x7F) << (7 * (i - 1));
        if ((input[i] & 0x80) != 0) continue;
        out.header = FixedHeader{static_cast<PacketType>(input[0] >> 4), static_cast<std::uint8_t>(input[0] & 0x0F),
                                 value, static_cast<std::uint8_t>(i + 1)};
        out.error = check_length(out.header.type, value, version);
        out.status = out.error ? HeaderParse::Status::error : HeaderParse::Status::complete;
        return out;
    }
    out.status = HeaderParse::Status::error;
    out.error = Errc::bad_remaining_length;
    return out;
}

Result<Packet> decode_body(const FixedHeader& header, Bytes body, ProtocolVersion version) noexcept {
    if (body.size() != header.remaining_length) return Errc::truncated_packet;
    Reader r(body);
    const auto t = header.type;
    switch (t) {
        case PacketType::connect: return decode_connect(r, version);
        case PacketType::connack: return decode_connack(r, version);
        case PacketType::publish: {
            auto p = decode_publish_fields(header.flags, r, version);
            if (!p) return p.error();
            return Packet{*p};
        }
        case PacketType::puback: return decode_ack<Puback>(r, t, version);
        case PacketType::pubrec: return decode_ack<Pubrec>(r, t, version);
        case PacketType::pubrel: return decode_ack<Pubrel>(r, t, version);
        case PacketType::pubcomp: return decode_ack<Pubcomp>(r, t, version);
        case PacketType::subscribe: return decode_subscribe(r, body, version);
        case PacketType::suback: return decode_suback(r, body, version);
        case PacketType::unsubscribe: return decode_unsubscribe(r, body, version);
        case PacketType::unsuback: return decode_unsuback(r, body, version);
        case PacketType::pingreq: return Packet{Pingreq{}};
        case PacketType::pingresp: return Packet{Pingresp{}};
        case PacketType::disconnect: return decode_reason_only<Disconnect>(r, t);
        case PacketType::auth: return decode_reason_only<Auth>(r, t);
    }
    return Errc::bad_packet_type;
}

Result<Packet> decode_packet(Bytes input, ProtocolVersion version) noexcept {
    const auto h = parse_fixed_header(input, version);
    if (h.status == HeaderParse::Status::error) return h.error;
    if (h.status == HeaderParse::Status::need_more) return Errc::truncated_packet;
    const std::size_t size = h.header.packet_size();
    if (input.size() < size) return Errc::truncated_packet;
    if (input.size() > size) return Errc::trailing_bytes;
    return decode_body(h.header, input.subspan(h.header.header_size), version);
}

Result<Publish> decode_publish_prefix(std::uint8_t flags, Bytes prefix, ProtocolVersion version) noexcept {
    Reader r(prefix);
    return decode_publish_fields(flags, r, version);
}

}  // namespace nmqtt::protocol
