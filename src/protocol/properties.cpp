// MQTT 5.0 properties: the table of section 2.2.2.2, the zero-copy reader, the validator and the builder.
#include "nmqtt/protocol/properties.hpp"

#include <array>

#include "nmqtt/error.hpp"
#include "nmqtt/protocol/topic.hpp"
#include "wire.hpp"

namespace nmqtt::protocol {
namespace {

using detail::Reader;
using C = PropertyContext;
using T = PropertyType;

constexpr std::uint32_t bit(C c) noexcept { return 1u << static_cast<unsigned>(c); }
template <class... Cs>
constexpr std::uint32_t in(Cs... cs) noexcept { return (bit(cs) | ...); }

constexpr std::uint32_t message_contexts = in(C::publish, C::will);
constexpr std::uint32_t reason_string_contexts =
    in(C::connack, C::puback, C::pubrec, C::pubrel, C::pubcomp, C::suback, C::unsuback, C::disconnect, C::auth);
constexpr std::uint32_t user_property_contexts = reason_string_contexts |
    in(C::connect, C::publish, C::will, C::subscribe, C::unsubscribe);

struct Entry {
    std::uint8_t id;
    PropertyInfo info;
};

// Table 2.4 (Properties), one row per identifier.
constexpr std::array<Entry, 27> table{{
    {0x01, {T::byte, message_contexts, false}},
    {0x02, {T::four_byte, message_contexts, false}},
    {0x03, {T::utf8, message_contexts, false}},
    {0x08, {T::utf8, message_contexts, false}},
    {0x09, {T::binary, message_contexts, false}},
    {0x0B, {T::variable_byte, in(C::publish, C::subscribe), true}},  // repeatable in PUBLISH only (below)
    {0x11, {T::four_byte, in(C::connect, C::connack, C::disconnect), false}},
    {0x12, {T::utf8, in(C::connack), false}},
    {0x13, {T::two_byte, in(C::connack), false}},
    {0x15, {T::utf8, in(C::connect, C::connack, C::auth), false}},
    {0x16, {T::binary, in(C::connect, C::connack, C::auth), false}},
    {0x17, {T::byte, in(C::connect), false}},
    {0x18, {T::four_byte, in(C::will), false}},
    {0x19, {T::byte, in(C::connect), false}},
    {0x1A, {T::utf8, in(C::connack), false}},
    {0x1C, {T::utf8, in(C::connack, C::disconnect), false}},
    {0x1F, {T::utf8, reason_string_contexts, false}},
    {0x21, {T::two_byte, in(C::connect, C::connack), false}},
    {0x22, {T::two_byte, in(C::connect, C::connack), false}},
    {0x23, {T::two_byte, in(C::publish), false}},
    {0x24, {T::byte, in(C::connack), false}},
    {0x25, {T::byte, in(C::connack), false}},
    {0x26, {T::utf8_pair, user_property_contexts, true}},
    {0x27, {T::four_byte, in(C::connect, C::connack), false}},
    {0x28, {T::byte, in(C::connack), false}},
    {0x29, {T::byte, in(C::connack), false}},
    {0x2A, {T::byte, in(C::connack), false}},
}};

// Reads one value of `type`; false when the value runs past the block or a VBI is too long.
bool read_value(Reader& r, PropertyType type, Property& out, bool& too_long) noexcept {
    switch (type) {
        case T::byte: out.number = r.u8(); break;
        case T::two_byte: out.number = r.u16(); break;
        case T::four_byte: out.number = r.u32(); break;
        case T::variable_byte: out.number = r.vbi(too_long); break;
        case T::utf8:
        case T::binary: out.text = r.string(); break;
        case T::utf8_pair:
            out.text = r.string();
            out.value = r.string();
            break;
    }
    return !r.overrun() && !too_long;
}

// Range rules for one property value (section 3.x.2.2 of each property).
std::error_code check_value(const Property& p, PropertyType type) noexcept {
    switch (p.id) {
        case PropertyId::payload_format_indicator:
        case PropertyId::request_problem_information:
        case PropertyId::request_response_information:
        case PropertyId::maximum_qos:
        case PropertyId::retain_available:
        case PropertyId::wildcard_subscription_available:
        case PropertyId::subscription_identifier_available:
        case PropertyId::shared_subscription_available:
            return p.number > 1 ? make_error_code(Errc::bad_property_value) : std::error_code{};
        case PropertyId::receive_maximum:
        case PropertyId::maximum_packet_size:
        case PropertyId::topic_alias:
        case PropertyId::subscription_identifier:
            return p.number == 0 ? make_error_code(Errc::bad_property_value) : std::error_code{};
        case PropertyId::response_topic:
            if (validate_topic_name(p.text)) return Errc::bad_property_value;  // [MQTT-3.3.2-13/14]
            return {};
        default: break;
    }
    if (type == T::utf8) return validate_utf8(p.text);
    if (type == T::utf8_pair) {
        if (auto ec = validate_utf8(p.text)) return ec;
        return validate_utf8(p.value);  // [MQTT-1.5.7-1]
    }
    return {};
}

}  // namespace

std::optional<PropertyInfo> property_info(std::uint8_t id) noexcept {
    for (const auto& e : table) {
        if (e.id == id) return e.info;
    }
    return std::nullopt;
}

bool PropertiesView::next(Bytes& rest, Property& out) noexcept {
    if (rest.empty()) return false;
    const auto info = property_info(rest[0]);
    if (!info) return false;
    Reader r(rest.subspan(1));
    out = Property{static_cast<PropertyId>(rest[0]), 0, {}, {}};
    bool too_long = false;
    if (!read_value(r, info->type, out, too_long)) return false;
    rest = rest.subspan(1 + r.position());
    return true;
}

std::optional<Property> PropertiesView::find(PropertyId id) const noexcept {
    std::optional<Property> found;
    for_each([&](const Property& p) {
        if (p.id != id) return true;
        found = p;
        return false;
    });
    return found;
}

std::optional<std::uint32_t> PropertiesView::number(PropertyId id) const noexcept {
    const auto p = find(id);
    if (!p) return std::nullopt;
    return p->number;
}

std::optional<std::string_view> PropertiesView::text(PropertyId id) const noexcept {
    const auto p = find(id);
    if (!p) return std::nullopt;
    return p->text;
}

namespace {

// Checks the property at the reader's position; `seen` has a bit per identifier met so far.
std::error_code validate_one(Reader& r, PropertyContext context, std::uint64_t& seen) noexcept {
    bool too_long = false;
    const auto raw_id = r.vbi(too_long);
    if (too_long) return Errc::bad_variable_byte_integer;
    const auto info = raw_id < 0x80 ? property_info(static_cast<std::uint8_t>(raw_id)) : std::nullopt;
    if (!info) return Errc::bad_property_id;
    if ((info->contexts & bit(context)) == 0) return Errc::property_not_allowed;
    Property p{static_cast<PropertyId>(raw_id), 0, {}, {}};
    if (!read_value(r, info->type, p, too_long)) {
        return too_long ? Errc::bad_variable_byte_integer : Errc::bad_property_length;
    }
    const bool repeatable =
        info->repeatable && (p.id != PropertyId::subscription_identifier || context == C::publish);
    const std::uint64_t mask = std::uint64_t{1} << raw_id;
    if (!repeatable && (seen & mask) != 0) return Errc::duplicate_property;
    seen |= mask;
    return check_value(p, info->type);
}

}  // namespace

std::error_code validate_properties(Bytes block, PropertyContext context) noexcept {
    std::uint64_t seen = 0;
    Reader r(block);
    while (r.remaining() > 0) {
        if (auto ec = validate_one(r, context, seen)) return ec;
    }
    return {};
}

// ---- builder --------------------------------------------------------------------------------------------

Properties& Properties::add_byte(PropertyId id, std::uint8_t v) {
    bytes_.push_back(static_cast<std::uint8_t>(id));
    bytes_.push_back(v);
    return *this;
}

Properties& Properties::add_two_byte(PropertyId id, std::uint16_t v) {
    bytes_.push_back(static_cast<std::uint8_t>(id));
    bytes_.push_back(static_cast<std::uint8_t>(v >> 8));
    bytes_.push_back(static_cast<std::uint8_t>(v));
    return *this;
}

Properties& Properties::add_four_byte(PropertyId id, std::uint32_t v) {
    bytes_.push_back(static_cast<std::uint8_t>(id));
    for (int shift = 24; shift >= 0; shift -= 8) bytes_.push_back(static_cast<std::uint8_t>(v >> shift));
    return *this;
}

Properties& Properties::add_variable_byte(PropertyId id, std::uint32_t v) {
    bytes_.push_back(static_cast<std::uint8_t>(id));
    do {
        auto b = static_cast<std::uint8_t>(v & 0x7F);
        v >>= 7;
        if (v != 0) b |= 0x80;
        bytes_.push_back(b);
    } while (v != 0);
    return *this;
}

Properties& Properties::add_string(PropertyId id, std::string_view v) {
    bytes_.push_back(static_cast<std::uint8_t>(id));
    bytes_.push_back(static_cast<std::uint8_t>(v.size() >> 8));
    bytes_.push_back(static_cast<std::uint8_t>(v.size()));
    bytes_.insert(bytes_.end(), v.begin(), v.end());
    return *this;
}

Properties& Properties::add_user_property(std::string_view name, std::string_view value) {
    add_string(PropertyId::user_property, name);
    bytes_.push_back(static_cast<std::uint8_t>(value.size() >> 8));
    bytes_.push_back(static_cast<std::uint8_t>(value.size()));
    bytes_.insert(bytes_.end(), value.begin(), value.end());
    return *this;
}

Properties& Properties::append(PropertiesView other) {
    bytes_.insert(bytes_.end(), other.raw().begin(), other.raw().end());
    return *this;
}

}  // namespace nmqtt::protocol
