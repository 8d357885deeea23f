// Encoding of the 14 control packets: one size/validate function and one writer per packet family.
#include "nmqtt/protocol/encode.hpp"

#include "nmqtt/protocol/topic.hpp"
#include "wire.hpp"

namespace nmqtt::protocol {
namespace {

using detail::Writer;

// A validated packet layout: first byte and remaining length.
struct Layout {
    std::uint8_t first_byte = 0;
    std::uint32_t remaining = 0;
};

[[nodiscard]] std::size_t string_size(std::string_view s) noexcept { return 2 + s.size(); }

Result<Layout> finish(std::uint8_t first_byte, std::size_t remaining) noexcept {
    if (remaining > max_remaining_length) return Errc::packet_too_large;
    return Layout{first_byte, static_cast<std::uint32_t>(remaining)};
}

std::error_code check_binary(std::string_view s) noexcept {
    return s.size() > max_string_length ? make_error_code(Errc::packet_too_large) : std::error_code{};
}

std::error_code check_will(const Will& will) noexcept {
    if (!is_valid_qos(static_cast<unsigned>(will.qos))) return Errc::bad_qos;
    if (auto ec = validate_topic_name(will.topic)) return ec;
    return check_binary(will.message);
}

std::error_code check_connect(const Connect& p) noexcept {
    if (auto ec = validate_utf8(p.client_id)) return ec;
    if (p.password && !p.username) return Errc::password_without_username;
    if (p.username) {
        if (auto ec = validate_utf8(*p.username)) return ec;
    }
    if (p.password) {
        if (auto ec = check_binary(*p.password)) return ec;
    }
    if (p.will) return check_will(*p.will);
    return {};
}

Result<Layout> layout(const Connect& p) noexcept {
    if (auto ec = check_connect(p)) return ec;
    std::size_t n = 10 + string_size(p.client_id);  // protocol name (6) + level + flags + keepalive (4)
    if (p.will) n += string_size(p.will->topic) + string_size(p.will->message);
    if (p.username) n += string_size(*p.username);
    if (p.password) n += string_size(*p.password);
    return finish(0x10, n);
}

Result<Layout> layout(const Connack& p) noexcept {
    if (p.return_code > 5 || (p.session_present && p.return_code != 0)) return Errc::bad_connack;
    return finish(0x20, 2);
}

Result<Layout> layout(const Publish& p) noexcept {
    if (!is_valid_qos(static_cast<unsigned>(p.qos))) return Errc::bad_qos;
    if (p.qos == QoS::at_most_once && (p.packet_id != 0 || p.dup)) return Errc::invalid_argument;
    if (p.qos != QoS::at_most_once && p.packet_id == 0) return Errc::zero_packet_id;
    if (auto ec = validate_topic_name(p.topic)) return ec;
    const auto flags = static_cast<std::uint8_t>((p.dup ? 0x08 : 0) | (static_cast<unsigned>(p.qos) << 1) |
                                                 (p.retain ? 0x01 : 0));
    const std::size_t id_size = p.qos == QoS::at_most_once ? 0 : 2;
    return finish(static_cast<std::uint8_t>(0x30 | flags), string_size(p.topic) + id_size + p.payload.size());
}

Result<Layout> ack_layout(std::uint8_t first_byte, PacketId id) noexcept {
    if (id == 0) return Errc::zero_packet_id;
    return finish(first_byte, 2);
}

Result<Layout> layout(const Puback& p) noexcept { return ack_layout(0x40, p.packet_id); }
Result<Layout> layout(const Pubrec& p) noexcept { return ack_layout(0x50, p.packet_id); }
Result<Layout> layout(const Pubrel& p) noexcept { return ack_layout(0x62, p.packet_id); }
Result<Layout> layout(const Pubcomp& p) noexcept { return ack_layout(0x70, p.packet_id); }
Result<Layout> layout(const Unsuback& p) noexcept { return ack_layout(0xB0, p.packet_id); }

Result<Layout> layout(const Subscribe& p) noexcept {
    if (p.packet_id == 0) return Errc::zero_packet_id;
    std::size_t n = 2;
    std::error_code error;
    std::size_t count = 0;
    for_each_entry(p, [&](const SubscribeEntry& e) {
        ++count;
        if (error) return;
        if (!is_valid_qos(static_cast<unsigned>(e.qos))) error = Errc::bad_qos;
        else error = validate_topic_filter(e.filter);
        n += string_size(e.filter) + 1;
    });
    if (error) return error;
    if (count == 0) return Errc::empty_payload;
    return finish(0x82, n);
}

Result<Layout> layout(const Suback& p) noexcept {
    if (p.packet_id == 0) return Errc::zero_packet_id;
    for (const auto code : p.return_codes) {
        if (code > 2 && code != suback_failure) return Errc::bad_suback_code;
    }
    return finish(0x90, 2 + p.return_codes.size());
}

Result<Layout> layout(const Unsubscribe& p) noexcept {
    if (p.packet_id == 0) return Errc::zero_packet_id;
    std::size_t n = 2;
    std::error_code error;
    std::size_t count = 0;
    for_each_filter(p, [&](std::string_view f) {
        ++count;
        if (!error) error = validate_topic_filter(f);
        n += string_size(f);
    });
    if (error) return error;
    if (count == 0) return Errc::empty_payload;
    return finish(0xA2, n);
}

Result<Layout> layout(const Pingreq&) noexcept { return finish(0xC0, 0); }
Result<Layout> layout(const Pingresp&) noexcept { return finish(0xD0, 0); }
Result<Layout> layout(const Disconnect&) noexcept { return finish(0xE0, 0); }

// ---- bodies ---------------------------------------------------------------------------------------------

void write_body(Writer& w, const Connect& p) noexcept {
    w.string("MQTT");
    w.u8(4);  // protocol level 3.1.1
    std::uint8_t flags = p.clean_session ? 0x02 : 0;
    if (p.will) {
        flags = static_cast<std::uint8_t>(flags | 0x04 | (static_cast<unsigned>(p.will->qos) << 3) |
                                          (p.will->retain ? 0x20 : 0));
    }
    if (p.password) flags |= 0x40;
    if (p.username) flags |= 0x80;
    w.u8(flags);
    w.u16(p.keepalive);
    w.string(p.client_id);
    if (p.will) {
        w.string(p.will->topic);
        w.string(p.will->message);
    }
    if (p.username) w.string(*p.username);
    if (p.password) w.string(*p.password);
}

void write_body(Writer& w, const Connack& p) noexcept {
    w.u8(p.session_present ? 1 : 0);
    w.u8(p.return_code);
}

void write_body(Writer& w, const Publish& p) noexcept {
    w.string(p.topic);
    if (p.qos != QoS::at_most_once) w.u16(p.packet_id);
    w.bytes(p.payload);
}

void write_body(Writer& w, const Subscribe& p) noexcept {
    w.u16(p.packet_id);
    for_each_entry(p, [&](const SubscribeEntry& e) {
        w.string(e.filter);
        w.u8(static_cast<std::uint8_t>(e.qos));
    });
}

void write_body(Writer& w, const Suback& p) noexcept {
    w.u16(p.packet_id);
    for (const auto code : p.return_codes) w.u8(code);
}

void write_body(Writer& w, const Unsubscribe& p) noexcept {
    w.u16(p.packet_id);
    for_each_filter(p, [&](std::string_view f) { w.string(f); });
}

template <class Ack>
auto write_body(Writer& w, const Ack& p) noexcept -> decltype(p.packet_id, void()) {
    w.u16(p.packet_id);
}

void write_body(Writer&, const Pingreq&) noexcept {}
void write_body(Writer&, const Pingresp&) noexcept {}
void write_body(Writer&, const Disconnect&) noexcept {}

Result<Layout> layout_of(const Packet& packet) noexcept {
    return std::visit([](const auto& p) { return layout(p); }, packet);
}

std::size_t total_size(const Layout& l) noexcept { return 1 + remaining_length_size(l.remaining) + l.remaining; }

void write_packet(const Packet& packet, const Layout& l, std::uint8_t* out) noexcept {
    Writer w(out);
    w.u8(l.first_byte);
    w.remaining_length(l.remaining);
    std::visit([&](const auto& p) { write_body(w, p); }, packet);
}

}  // namespace

Result<std::size_t> encoded_size(const Packet& packet) noexcept {
    auto l = layout_of(packet);
    if (!l) return l.error();
    return total_size(*l);
}

Result<std::size_t> encode(const Packet& packet, MutableBytes out) noexcept {
    auto l = layout_of(packet);
    if (!l) return l.error();
    const std::size_t size = total_size(*l);
    if (out.size() < size) return Errc::buffer_too_small;
    write_packet(packet, *l, out.data());
    return size;
}

std::error_code encode_append(const Packet& packet, std::vector<std::uint8_t>& out) {
    auto l = layout_of(packet);
    if (!l) return l.error();
    const std::size_t size = total_size(*l);
    const std::size_t old = out.size();
    out.resize(old + size);
    write_packet(packet, *l, out.data() + old);
    return {};
}

std::size_t encode_remaining_length(std::uint32_t value, MutableBytes out) noexcept {
    if (value > max_remaining_length) return 0;
    const std::size_t n = remaining_length_size(value);
    if (out.size() < n) return 0;
    Writer w(out.data());
    w.remaining_length(value);
    return n;
}

}  // namespace nmqtt::protocol
