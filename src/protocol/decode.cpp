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

std::error_code check_type_and_flags(std::uint8_t first) noexcept {
    const unsigned type = first >> 4;
    const std::uint8_t flags = first & 0x0F;
    if (type == 0 || type == 15) return Errc::bad_packet_type;
    const auto t = static_cast<PacketType>(type);
    if (t == PacketType::publish) {
        const unsigned qos = (flags >> 1) & 0x03;
        if (qos == 3) return Errc::bad_qos;
        if (qos == 0 && (flags & 0x08) != 0) return Errc::bad_flags;  // DUP on QoS 0 [MQTT-3.3.1-2]
        return {};
    }
    return flags == required_flags(t) ? std::error_code{} : make_error_code(Errc::bad_flags);
}

std::error_code check_length(PacketType t, std::uint32_t remaining) noexcept {
    const int fixed = fixed_remaining_length(t);
    if (fixed >= 0 && remaining != static_cast<std::uint32_t>(fixed)) return Errc::bad_remaining_length;
    if (t == PacketType::publish && remaining < 2) return Errc::truncated_packet;
    if ((t == PacketType::subscribe || t == PacketType::unsubscribe || t == PacketType::suback) && remaining < 3) {
        return remaining < 2 ? Errc::truncated_packet : Errc::empty_payload;
    }
    return {};
}

Result<Packet> done(Reader& r, Packet packet) noexcept {
    if (r.overrun()) return Errc::truncated_packet;
    if (r.remaining() != 0) return Errc::trailing_bytes;
    return packet;
}

std::error_code check_connect_flags(std::uint8_t flags) noexcept {
    const bool will = (flags & 0x04) != 0;
    const unsigned will_qos = (flags >> 3) & 0x03;
    if ((flags & 0x01) != 0) return Errc::bad_connect_flags;                            // [MQTT-3.1.2-3]
    if (!will && (will_qos != 0 || (flags & 0x20) != 0)) return Errc::bad_connect_flags;  // [MQTT-3.1.2-11/13/15]
    if (will_qos == 3) return Errc::bad_qos;                                             // [MQTT-3.1.2-14]
    if ((flags & 0x40) != 0 && (flags & 0x80) == 0) return Errc::bad_connect_flags;      // [MQTT-3.1.2-22]
    return {};
}

Result<Packet> decode_connect(Reader& r) noexcept {
    const auto name = r.string();
    const auto level = r.u8();
    if (!r.overrun() && (name != "MQTT" || level != 4)) return Errc::bad_protocol;
    const auto flags = r.u8();
    if (auto ec = check_connect_flags(flags)) return ec;
    Connect c;
    c.clean_session = (flags & 0x02) != 0;
    c.keepalive = r.u16();
    c.client_id = r.string();
    if (auto ec = validate_utf8(c.client_id); ec && !r.overrun()) return ec;
    if ((flags & 0x04) != 0) {
        Will w{r.string(), r.string(), static_cast<QoS>((flags >> 3) & 0x03), (flags & 0x20) != 0};
        if (auto ec = validate_topic_name(w.topic); ec && !r.overrun()) return ec;
        c.will = w;
    }
    if ((flags & 0x80) != 0) {
        c.username = r.string();
        if (auto ec = validate_utf8(*c.username); ec && !r.overrun()) return ec;
    }
    if ((flags & 0x40) != 0) c.password = r.string();
    return done(r, c);
}

Result<Packet> decode_connack(Reader& r) noexcept {
    const auto ack_flags = r.u8();
    const auto code = r.u8();
    if ((ack_flags & 0xFE) != 0 || code > 5) return Errc::bad_connack;
    return done(r, Connack{(ack_flags & 0x01) != 0, code});
}

Result<Publish> decode_publish_fields(std::uint8_t flags, Reader& r) noexcept {
    Publish p;
    p.dup = (flags & 0x08) != 0;
    p.qos = static_cast<QoS>((flags >> 1) & 0x03);
    p.retain = (flags & 0x01) != 0;
    p.topic = r.string();
    if (p.qos != QoS::at_most_once) p.packet_id = r.u16();
    if (r.overrun()) return Errc::truncated_packet;
    if (auto ec = validate_topic_name(p.topic)) return ec;
    if (p.qos != QoS::at_most_once && p.packet_id == 0) return Errc::zero_packet_id;
    p.payload = r.rest();
    return p;
}

template <class Ack>
Result<Packet> decode_ack(Reader& r) noexcept {
    const PacketId id = r.u16();
    if (!r.overrun() && id == 0) return Errc::zero_packet_id;
    return done(r, Ack{id});
}

Result<Packet> decode_subscribe(Reader& r, Bytes body) noexcept {
    Subscribe s;
    s.packet_id = r.u16();
    if (s.packet_id == 0) return Errc::zero_packet_id;
    while (r.remaining() > 0) {
        const auto filter = r.string();
        const auto qos = r.u8();
        if (r.overrun()) return Errc::truncated_packet;
        if (auto ec = validate_topic_filter(filter)) return ec;
        if (qos > 2) return Errc::bad_qos;  // reserved bits or QoS 3 [MQTT-3.8.3-4]
    }
    s.raw_entries = body.subspan(2);
    return done(r, s);
}

Result<Packet> decode_suback(Reader& r, Bytes body) noexcept {
    Suback s;
    s.packet_id = r.u16();
    if (s.packet_id == 0) return Errc::zero_packet_id;
    s.return_codes = body.subspan(2);
    for (const auto code : s.return_codes) {
        if (code > 2 && code != suback_failure) return Errc::bad_suback_code;
    }
    return Packet{s};
}

Result<Packet> decode_unsubscribe(Reader& r, Bytes body) noexcept {
    Unsubscribe u;
    u.packet_id = r.u16();
    if (u.packet_id == 0) return Errc::zero_packet_id;
    while (r.remaining() > 0) {
        const auto filter = r.string();
        if (r.overrun()) return Errc::truncated_packet;
        if (auto ec = validate_topic_filter(filter)) return ec;
    }
    u.raw_filters = body.subspan(2);
    return done(r, u);
}

}  // namespace

HeaderParse parse_fixed_header(Bytes input) noexcept {
    HeaderParse out;
    if (input.empty()) return out;
    if (auto ec = check_type_and_flags(input[0])) {
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
        out.error = check_length(out.header.type, value);
        out.status = out.error ? HeaderParse::Status::error : HeaderParse::Status::complete;
        return out;
    }
    out.status = HeaderParse::Status::error;
    out.error = Errc::bad_remaining_length;
    return out;
}

Result<Packet> decode_body(const FixedHeader& header, Bytes body) noexcept {
    if (body.size() != header.remaining_length) return Errc::truncated_packet;
    Reader r(body);
    switch (header.type) {
        case PacketType::connect: return decode_connect(r);
        case PacketType::connack: return decode_connack(r);
        case PacketType::publish: {
            auto p = decode_publish_fields(header.flags, r);
            if (!p) return p.error();
            return Packet{*p};
        }
        case PacketType::puback: return decode_ack<Puback>(r);
        case PacketType::pubrec: return decode_ack<Pubrec>(r);
        case PacketType::pubrel: return decode_ack<Pubrel>(r);
        case PacketType::pubcomp: return decode_ack<Pubcomp>(r);
        case PacketType::subscribe: return decode_subscribe(r, body);
        case PacketType::suback: return decode_suback(r, body);
        case PacketType::unsubscribe: return decode_unsubscribe(r, body);
        case PacketType::unsuback: return decode_ack<Unsuback>(r);
        case PacketType::pingreq: return Packet{Pingreq{}};
        case PacketType::pingresp: return Packet{Pingresp{}};
        case PacketType::disconnect: return Packet{Disconnect{}};
    }
    return Errc::bad_packet_type;
}

Result<Packet> decode_packet(Bytes input) noexcept {
    const auto h = parse_fixed_header(input);
    if (h.status == HeaderParse::Status::error) return h.error;
    if (h.status == HeaderParse::Status::need_more) return Errc::truncated_packet;
    const std::size_t size = h.header.packet_size();
    if (input.size() < size) return Errc::truncated_packet;
    if (input.size() > size) return Errc::trailing_bytes;
    return decode_body(h.header, input.subspan(h.header.header_size));
}

Result<Publish> decode_publish_prefix(std::uint8_t flags, Bytes prefix) noexcept {
    Reader r(prefix);
    return decode_publish_fields(flags, r);
}

}  // namespace nmqtt::protocol
