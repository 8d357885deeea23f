// Encoding of the 14 control packets: one size/validate function and one writer per packet family.
#include "nmqtt/protocol/encode.hpp"

#include "nmqtt/protocol/topic.hpp"
#include "wire.hpp"

#include <utility>

namespace nmqtt::protocol {
namespace {

using detail::Writer;

// A validated packet layout: first byte, remaining length and (MQTT 5.0) the property block sizes.
struct Layout {
    std::uint8_t first_byte = 0;
    std::uint32_t remaining = 0;
    ProtocolVersion version = ProtocolVersion::v3_1_1;
    std::uint32_t properties = 0;       ///< size of the main property block (5.0)
    std::uint32_t will_properties = 0;  ///< CONNECT only
    bool short_form = false;            ///< ack/DISCONNECT/AUTH written without reason code (5.0)
    bool no_properties = false;         ///< ack written with reason code but no Property Length (5.0)
};

constexpr bool is_v5(ProtocolVersion v) noexcept { return v == ProtocolVersion::v5; }

[[nodiscard]] std::size_t string_size(std::string_view s) noexcept { return 2 + s.size(); }

[[nodiscard]] std::size_t vbi_size(std::size_t v) noexcept {
    return remaining_length_size(static_cast<std::uint32_t>(v));
}

Result<Layout> finish(std::uint8_t first_byte, std::size_t remaining, ProtocolVersion version) noexcept {
    if (remaining > max_remaining_length) return Errc::packet_too_large;
    Layout l;
    l.first_byte = first_byte;
    l.remaining = static_cast<std::uint32_t>(remaining);
    l.version = version;
    return l;
}

// A property block for `context`: must be empty for 3.1.1, valid for 5.0. Returns its size.
Result<std::uint32_t> check_properties(PropertiesView props, PropertyContext context,
                                       ProtocolVersion version) noexcept {
    if (!is_v5(version)) {
        if (!props.empty()) return Errc::invalid_argument;
        return std::uint32_t{0};
    }
    if (props.raw().size() > max_variable_byte_integer) return Errc::packet_too_large;
    if (auto ec = validate_properties(props.raw(), context)) return ec;
    return static_cast<std::uint32_t>(props.raw().size());
}

std::error_code check_binary(std::string_view s) noexcept {
    return s.size() > max_string_length ? make_error_code(Errc::packet_too_large) : std::error_code{};
}

std::error_code check_will(const Will& will) noexcept {
    if (!is_valid_qos(static_cast<unsigned>(will.qos))) return Errc::bad_qos;
    if (auto ec = validate_topic_name(will.topic)) return ec;
    return check_binary(will.message);
}

std::error_code check_connect(const Connect& p, ProtocolVersion version) noexcept {
    if (auto ec = validate_utf8(p.client_id)) return ec;
    if (p.password && !p.username && !is_v5(version)) return Errc::password_without_username;
    if (p.username) {
        if (auto ec = validate_utf8(*p.username)) return ec;
    }
    if (p.password) {
        if (auto ec = check_binary(*p.password)) return ec;
    }
    if (p.will) return check_will(*p.will);
    return {};
}

Result<std::uint32_t> will_properties(const Connect& p, ProtocolVersion v) noexcept {
    if (!p.will) return std::uint32_t{0};
    return check_properties(p.will->properties, PropertyContext::will, v);
}

std::size_t connect_size(const Connect& p, ProtocolVersion v, std::uint32_t props, std::uint32_t will_props) noexcept {
    std::size_t n = 10 + string_size(p.client_id);  // protocol name (6) + level + flags + keepalive (4)
    if (is_v5(v)) n += vbi_size(props) + props;
    if (p.will) n += string_size(p.will->topic) + string_size(p.will->message);
    if (p.will && is_v5(v)) n += vbi_size(will_props) + will_props;
    if (p.username) n += string_size(*p.username);
    if (p.password) n += string_size(*p.password);
    return n;
}

Result<Layout> layout(const Connect& p, ProtocolVersion v) noexcept {
    if (auto ec = check_connect(p, v)) return ec;
    auto props = check_properties(p.properties, PropertyContext::connect, v);
    if (!props) return props.error();
    auto wp = will_properties(p, v);
    if (!wp) return wp.error();
    const std::uint32_t will_props = *wp;
    auto l = finish(0x10, connect_size(p, v, *props, will_props), v);
    if (l) {
        l->properties = *props;
        l->will_properties = will_props;
    }
    return l;
}

Result<Layout> layout(const Connack& p, ProtocolVersion v) noexcept {
    if (!is_v5(v)) {
        if (p.return_code > 5 || (p.session_present && p.return_code != 0)) return Errc::bad_connack;
        return finish(0x20, 2, v);
    }
    if (!is_valid_reason_code(PacketType::connack, p.return_code)) return Errc::bad_reason_code;
    if (p.session_present && p.return_code >= 0x80) return Errc::bad_connack;
    auto props = check_properties(p.properties, PropertyContext::connack, v);
    if (!props) return props.error();
    auto l = finish(0x20, 2 + vbi_size(*props) + *props, v);
    if (l) l->properties = *props;
    return l;
}

constexpr std::uint32_t topic_alias_property_size = 3;

Result<std::uint32_t> publish_properties(const Publish& p, ProtocolVersion v) noexcept {
    if (!is_v5(v) && p.topic_alias != 0) return Errc::invalid_argument;
    auto props = check_properties(p.properties, PropertyContext::publish, v);
    if (!props) return props.error();
    if (p.topic_alias == 0) return *props;
    if (p.properties.topic_alias()) return Errc::duplicate_property;
    return *props + topic_alias_property_size;
}

// QoS, packet id and DUP [MQTT-2.3.1-1/5, 3.3.1-2], and the topic (may be empty with an alias, 5.0).
std::error_code check_publish(const Publish& p) noexcept {
    if (!is_valid_qos(static_cast<unsigned>(p.qos))) return Errc::bad_qos;
    if (p.qos == QoS::at_most_once && (p.packet_id != 0 || p.dup)) return Errc::invalid_argument;
    if (p.qos != QoS::at_most_once && p.packet_id == 0) return Errc::zero_packet_id;
    if (p.topic.empty() && p.topic_alias != 0) return {};
    return validate_topic_name(p.topic);
}

Result<Layout> layout(const Publish& p, ProtocolVersion v) noexcept {
    if (auto ec = check_publish(p)) return ec;
    auto props = publish_properties(p, v);
    if (!props) return props.error();
    const auto flags = static_cast<std::uint8_t>((p.dup ? 0x08 : 0) | (static_cast<unsigned>(p.qos) << 1) |
                                                 (p.retain ? 0x01 : 0));
    const std::size_t id_size = p.qos == QoS::at_most_once ? 0 : 2;
    const std::size_t prop_size = is_v5(v) ? vbi_size(*props) + *props : 0;
    auto l = finish(static_cast<std::uint8_t>(0x30 | flags), string_size(p.topic) + id_size + prop_size +
                                                                 p.payload.size(), v);
    if (l) l->properties = *props;
    return l;
}

// Reason code + properties tail (5.0) after `fixed` bytes, in the shortest form section 3.4.2.1 allows.
Result<Layout> reason_layout(std::uint8_t first_byte, std::size_t fixed, PacketType type, std::uint8_t code,
                             PropertiesView properties, ProtocolVersion v) noexcept {
    if (!is_v5(v)) {
        if (code != 0) return Errc::invalid_argument;
        if (!properties.empty()) return Errc::invalid_argument;
        return finish(first_byte, fixed, v);
    }
    if (!is_valid_reason_code(type, code)) return Errc::bad_reason_code;
    auto props = check_properties(properties, static_cast<PropertyContext>(type), v);
    if (!props) return props.error();
    const bool short_form = code == 0 && *props == 0;
    const bool no_properties = *props == 0;
    const std::size_t n = short_form ? fixed : no_properties ? fixed + 1 : fixed + 1 + vbi_size(*props) + *props;
    auto l = finish(first_byte, n, v);
    if (l) {
        l->properties = *props;
        l->short_form = short_form;
        l->no_properties = no_properties;
    }
    return l;
}

template <class Ack>
Result<Layout> ack_layout(std::uint8_t first_byte, PacketType type, const Ack& p, ProtocolVersion v) noexcept {
    if (p.packet_id == 0) return Errc::zero_packet_id;
    return reason_layout(first_byte, 2, type, p.reason_code, p.properties, v);
}

Result<Layout> layout(const Puback& p, ProtocolVersion v) noexcept { return ack_layout(0x40, PacketType::puback, p, v); }
Result<Layout> layout(const Pubrec& p, ProtocolVersion v) noexcept { return ack_layout(0x50, PacketType::pubrec, p, v); }
Result<Layout> layout(const Pubrel& p, ProtocolVersion v) noexcept { return ack_layout(0x62, PacketType::pubrel, p, v); }
Result<Layout> layout(const Pubcomp& p, ProtocolVersion v) noexcept { return ack_layout(0x70, PacketType::pubcomp, p, v); }

// Packet id + (5.0) Property Length and properties: the size and the block size.
Result<std::pair<std::size_t, std::uint32_t>> id_and_properties(PropertiesView props, PropertyContext context,
                                                                ProtocolVersion v) noexcept {
    auto size = check_properties(props, context, v);
    if (!size) return size.error();
    const std::size_t n = 2 + (is_v5(v) ? vbi_size(*size) + *size : 0);
    return std::pair<std::size_t, std::uint32_t>{n, *size};
}

std::error_code check_entry(const SubscribeEntry& e, ProtocolVersion v) noexcept {
    if (!is_valid_qos(static_cast<unsigned>(e.qos))) return Errc::bad_qos;
    const bool v5_options = e.no_local || e.retain_as_published || e.retain_handling != RetainHandling::send_at_subscribe;
    if (v5_options && !is_v5(v)) return Errc::invalid_argument;
    if (static_cast<unsigned>(e.retain_handling) > 2) return Errc::invalid_argument;
    return validate_topic_filter(e.filter);
}

Result<Layout> layout(const Subscribe& p, ProtocolVersion v) noexcept {
    if (p.packet_id == 0) return Errc::zero_packet_id;
    auto head = id_and_properties(p.properties, PropertyContext::subscribe, v);
    if (!head) return head.error();
    std::size_t n = head->first;
    std::error_code error;
    std::size_t count = 0;
    for_each_entry(p, [&](const SubscribeEntry& e) {
        ++count;
        if (!error) error = check_entry(e, v);
        n += string_size(e.filter) + 1;
    });
    if (error) return error;
    if (count == 0) return Errc::empty_payload;
    auto l = finish(0x82, n, v);
    if (l) l->properties = head->second;
    return l;
}

std::error_code check_codes(Bytes codes, PacketType type, ProtocolVersion v) noexcept {
    for (const auto code : codes) {
        if (is_v5(v) && !is_valid_reason_code(type, code)) return Errc::bad_reason_code;
        if (!is_v5(v) && code > 2 && code != suback_failure) return Errc::bad_suback_code;
    }
    return {};
}

Result<Layout> layout(const Suback& p, ProtocolVersion v) noexcept {
    if (p.packet_id == 0) return Errc::zero_packet_id;
    if (auto ec = check_codes(p.return_codes, PacketType::suback, v)) return ec;
    auto head = id_and_properties(p.properties, PropertyContext::suback, v);
    if (!head) return head.error();
    auto l = finish(0x90, head->first + p.return_codes.size(), v);
    if (l) l->properties = head->second;
    return l;
}

Result<Layout> layout(const Unsubscribe& p, ProtocolVersion v) noexcept {
    if (p.packet_id == 0) return Errc::zero_packet_id;
    auto head = id_and_properties(p.properties, PropertyContext::unsubscribe, v);
    if (!head) return head.error();
    std::size_t n = head->first;
    std::error_code error;
    std::size_t count = 0;
    for_each_filter(p, [&](std::string_view f) {
        ++count;
        if (!error) error = validate_topic_filter(f);
        n += string_size(f);
    });
    if (error) return error;
    if (count == 0) return Errc::empty_payload;
    auto l = finish(0xA2, n, v);
    if (l) l->properties = head->second;
    return l;
}

Result<Layout> layout(const Unsuback& p, ProtocolVersion v) noexcept {
    if (p.packet_id == 0) return Errc::zero_packet_id;
    if (!is_v5(v)) {
        if (!p.reason_codes.empty() || !p.properties.empty()) return Errc::invalid_argument;
        return finish(0xB0, 2, v);
    }
    if (p.reason_codes.empty()) return Errc::empty_payload;
    if (auto ec = check_codes(p.reason_codes, PacketType::unsuback, v)) return ec;
    auto head = id_and_properties(p.properties, PropertyContext::unsuback, v);
    if (!head) return head.error();
    auto l = finish(0xB0, head->first + p.reason_codes.size(), v);
    if (l) l->properties = head->second;
    return l;
}

Result<Layout> layout(const Pingreq&, ProtocolVersion v) noexcept { return finish(0xC0, 0, v); }
Result<Layout> layout(const Pingresp&, ProtocolVersion v) noexcept { return finish(0xD0, 0, v); }
Result<Layout> layout(const Disconnect& p, ProtocolVersion v) noexcept {
    return reason_layout(0xE0, 0, PacketType::disconnect, p.reason_code, p.properties, v);
}
Result<Layout> layout(const Auth& p, ProtocolVersion v) noexcept {
    if (!is_v5(v)) return Errc::invalid_argument;
    return reason_layout(0xF0, 0, PacketType::auth, p.reason_code, p.properties, v);
}

// ---- bodies ---------------------------------------------------------------------------------------------

void write_properties(Writer& w, PropertiesView props, std::uint32_t size) noexcept {
    w.vbi(size);
    w.raw(props.raw());
}

std::uint8_t connect_flags(const Connect& p) noexcept {
    std::uint8_t flags = p.clean_session ? 0x02 : 0;
    if (p.will) {
        flags = static_cast<std::uint8_t>(flags | 0x04 | (static_cast<unsigned>(p.will->qos) << 3) |
                                          (p.will->retain ? 0x20 : 0));
    }
    if (p.password) flags |= 0x40;
    if (p.username) flags |= 0x80;
    return flags;
}

void write_body(Writer& w, const Connect& p, const Layout& l) noexcept {
    const bool v5 = is_v5(l.version);
    w.string("MQTT");
    w.u8(static_cast<std::uint8_t>(l.version));  // protocol level: 4 (3.1.1) or 5
    w.u8(connect_flags(p));
    w.u16(p.keepalive);
    if (v5) write_properties(w, p.properties, l.properties);
    w.string(p.client_id);
    if (p.will) {
        if (v5) write_properties(w, p.will->properties, l.will_properties);
        w.string(p.will->topic);
        w.string(p.will->message);
    }
    if (p.username) w.string(*p.username);
    if (p.password) w.string(*p.password);
}

void write_body(Writer& w, const Connack& p, const Layout& l) noexcept {
    w.u8(p.session_present ? 1 : 0);
    w.u8(p.return_code);
    if (is_v5(l.version)) write_properties(w, p.properties, l.properties);
}

void write_body(Writer& w, const Publish& p, const Layout& l) noexcept {
    w.string(p.topic);
    if (p.qos != QoS::at_most_once) w.u16(p.packet_id);
    if (is_v5(l.version)) {
        write_properties(w, p.properties, l.properties);  // l.properties counts the alias too
        if (p.topic_alias != 0) {
            w.u8(static_cast<std::uint8_t>(PropertyId::topic_alias));
            w.u16(p.topic_alias);
        }
    }
    w.bytes(p.payload);
}

void write_reason_tail(Writer& w, std::uint8_t code, PropertiesView props, const Layout& l) noexcept {
    if (!is_v5(l.version) || l.short_form) return;
    w.u8(code);
    if (!l.no_properties) write_properties(w, props, l.properties);
}

void write_body(Writer& w, const Subscribe& p, const Layout& l) noexcept {
    w.u16(p.packet_id);
    if (is_v5(l.version)) write_properties(w, p.properties, l.properties);
    for_each_entry(p, [&](const SubscribeEntry& e) {
        w.string(e.filter);
        w.u8(static_cast<std::uint8_t>(static_cast<unsigned>(e.qos) | (e.no_local ? 0x04u : 0u) |
                                       (e.retain_as_published ? 0x08u : 0u) |
                                       (static_cast<unsigned>(e.retain_handling) << 4)));
    });
}

void write_body(Writer& w, const Suback& p, const Layout& l) noexcept {
    w.u16(p.packet_id);
    if (is_v5(l.version)) write_properties(w, p.properties, l.properties);
    for (const auto code : p.return_codes) w.u8(code);
}

void write_body(Writer& w, const Unsubscribe& p, const Layout& l) noexcept {
    w.u16(p.packet_id);
    if (is_v5(l.version)) write_properties(w, p.properties, l.properties);
    for_each_filter(p, [&](std::string_view f) { w.string(f); });
}

void write_body(Writer& w, const Unsuback& p, const Layout& l) noexcept {
    w.u16(p.packet_id);
    if (!is_v5(l.version)) return;
    write_properties(w, p.properties, l.properties);
    for (const auto code : p.reason_codes) w.u8(code);
}

template <class Ack>
auto write_body(Writer& w, const Ack& p, const Layout& l) noexcept -> decltype(p.packet_id, p.reason_code, void()) {
    w.u16(p.packet_id);
    write_reason_tail(w, p.reason_code, p.properties, l);
}

void write_body(Writer&, const Pingreq&, const Layout&) noexcept {}
void write_body(Writer&, const Pingresp&, const Layout&) noexcept {}
void write_body(Writer& w, const Disconnect& p, const Layout& l) noexcept {
    write_reason_tail(w, p.reason_code, p.properties, l);
}
void write_body(Writer& w, const Auth& p, const Layout& l) noexcept {
    write_reason_tail(w, p.reason_code, p.properties, l);
}

Result<Layout> layout_of(const Packet& packet, ProtocolVersion version) noexcept {
    return std::visit([version](const auto& p) { return layout(p, version); }, packet);
}

std::size_t total_size(const Layout& l) noexcept { return 1 + remaining_length_size(l.remaining) + l.remaining; }

void write_packet(const Packet& packet, const Layout& l, std::uint8_t* out) noexcept {
    Writer w(out);
    w.u8(l.first_byte);
    w.remaining_length(l.remaining);
    std::visit([&](const auto& p) { write_body(w, p, l); }, packet);
}

}  // namespace

Result<std::size_t> encoded_size(const Packet& packet, ProtocolVersion version) noexcept {
    auto l = layout_of(packet, version);
    if (!l) return l.error();
    return total_size(*l);
}

Result<std::size_t> encode(const Packet& packet, MutableBytes out, ProtocolVersion version) noexcept {
    auto l = layout_of(packet, version);
    if (!l) return l.error();
    const std::size_t size = total_size(*l);
    if (out.size() < size) return Errc::buffer_too_small;
    write_packet(packet, *l, out.data());
    return size;
}

std::error_code encode_append(const Packet& packet, std::vector<std::uint8_t>& out, ProtocolVersion version) {
    auto l = layout_of(packet, version);
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
