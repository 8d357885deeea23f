// MQTT 5.0 properties (section 2.2.2): identifiers, types, where each may appear, a zero-copy view over an
// encoded property block and an owning builder. 3.1.1 packets have no properties; their blocks stay empty.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

namespace nmqtt {
/// Bytes as the codec sees them (the same alias as in nmqtt/types.hpp, which includes this header).
using Bytes = std::span<const std::uint8_t>;
}  // namespace nmqtt

namespace nmqtt::protocol {

/// The protocol level a codec call or a session speaks (the CONNECT's Protocol Level byte).
enum class ProtocolVersion : std::uint8_t { v3_1_1 = 4, v5 = 5 };

/// Property identifiers, values as in Table 2.4 of MQTT 5.0.
enum class PropertyId : std::uint8_t {
    payload_format_indicator = 0x01,
    message_expiry_interval = 0x02,
    content_type = 0x03,
    response_topic = 0x08,
    correlation_data = 0x09,
    subscription_identifier = 0x0B,
    session_expiry_interval = 0x11,
    assigned_client_identifier = 0x12,
    server_keep_alive = 0x13,
    authentication_method = 0x15,
    authentication_data = 0x16,
    request_problem_information = 0x17,
    will_delay_interval = 0x18,
    request_response_information = 0x19,
    response_information = 0x1A,
    server_reference = 0x1C,
    reason_string = 0x1F,
    receive_maximum = 0x21,
    topic_alias_maximum = 0x22,
    topic_alias = 0x23,
    maximum_qos = 0x24,
    retain_available = 0x25,
    user_property = 0x26,
    maximum_packet_size = 0x27,
    wildcard_subscription_available = 0x28,
    subscription_identifier_available = 0x29,
    shared_subscription_available = 0x2A,
};

/// The data types of section 1.5 a property value can have.
enum class PropertyType : std::uint8_t { byte, two_byte, four_byte, variable_byte, utf8, binary, utf8_pair };

/// Where a property block sits: a packet type (1..15, as PacketType) or the will properties of a CONNECT.
enum class PropertyContext : std::uint8_t {
    connect = 1, connack, publish, puback, pubrec, pubrel, pubcomp, subscribe, suback, unsubscribe, unsuback,
    pingreq, pingresp, disconnect, auth, will,
};

/// Static facts about one property identifier.
struct PropertyInfo {
    PropertyType type = PropertyType::byte;
    std::uint32_t contexts = 0;  ///< bit (1 << PropertyContext) set where the property may appear
    bool repeatable = false;     ///< User Property everywhere; Subscription Identifier in PUBLISH
};

/// Returns the facts for `id`, or nullopt when `id` is not a property identifier of MQTT 5.0.
[[nodiscard]] std::optional<PropertyInfo> property_info(std::uint8_t id) noexcept;

/// One decoded property. Integers are in `number`; UTF-8 and binary values in `text`; a User Property has
/// its name in `text` and its value in `value`. Views point into the property block.
struct Property {
    PropertyId id = PropertyId::payload_format_indicator;
    std::uint32_t number = 0;
    std::string_view text;
    std::string_view value;
};

/// A view over an encoded property block (the bytes after the Property Length). Never copies; valid as long
/// as the bytes it views. A block that came out of the decoder, or that validate_properties() accepted, is
/// well-formed: the accessors below assume it.
class PropertiesView {
public:
    constexpr PropertiesView() noexcept = default;
    constexpr explicit PropertiesView(Bytes raw) noexcept : raw_(raw) {}

    [[nodiscard]] constexpr Bytes raw() const noexcept { return raw_; }
    [[nodiscard]] constexpr bool empty() const noexcept { return raw_.empty(); }

    /// Calls `f(const Property&)` for each property in order; returns false if `f` returns false (stops).
    template <class F>
    bool for_each(F&& f) const noexcept {
        Bytes rest = raw_;
        Property p;
        while (next(rest, p)) {
            if constexpr (std::is_same_v<decltype(f(p)), bool>) {
                if (!f(p)) return false;
            } else {
                f(p);
            }
        }
        return true;
    }

    /// The first property with `id`, if any.
    [[nodiscard]] std::optional<Property> find(PropertyId id) const noexcept;
    /// The integer value of the first property with `id` (byte, two-, four- or variable byte integer).
    [[nodiscard]] std::optional<std::uint32_t> number(PropertyId id) const noexcept;
    /// The string or binary value of the first property with `id`.
    [[nodiscard]] std::optional<std::string_view> text(PropertyId id) const noexcept;

    // Typed accessors (absent = nullopt; the standard's default applies then).
    [[nodiscard]] std::optional<std::uint32_t> session_expiry_interval() const noexcept { return number(PropertyId::session_expiry_interval); }
    [[nodiscard]] std::optional<std::uint32_t> receive_maximum() const noexcept { return number(PropertyId::receive_maximum); }
    [[nodiscard]] std::optional<std::uint32_t> maximum_packet_size() const noexcept { return number(PropertyId::maximum_packet_size); }
    [[nodiscard]] std::optional<std::uint32_t> topic_alias_maximum() const noexcept { return number(PropertyId::topic_alias_maximum); }
    [[nodiscard]] std::optional<std::uint32_t> topic_alias() const noexcept { return number(PropertyId::topic_alias); }
    [[nodiscard]] std::optional<std::uint32_t> server_keep_alive() const noexcept { return number(PropertyId::server_keep_alive); }
    [[nodiscard]] std::optional<std::uint32_t> maximum_qos() const noexcept { return number(PropertyId::maximum_qos); }
    [[nodiscard]] std::optional<std::uint32_t> message_expiry_interval() const noexcept { return number(PropertyId::message_expiry_interval); }
    [[nodiscard]] std::optional<std::uint32_t> payload_format_indicator() const noexcept { return number(PropertyId::payload_format_indicator); }
    [[nodiscard]] std::optional<std::string_view> content_type() const noexcept { return text(PropertyId::content_type); }
    [[nodiscard]] std::optional<std::string_view> response_topic() const noexcept { return text(PropertyId::response_topic); }
    [[nodiscard]] std::optional<std::string_view> correlation_data() const noexcept { return text(PropertyId::correlation_data); }
    [[nodiscard]] std::optional<std::string_view> reason_string() const noexcept { return text(PropertyId::reason_string); }
    [[nodiscard]] std::optional<std::string_view> assigned_client_identifier() const noexcept { return text(PropertyId::assigned_client_identifier); }
    [[nodiscard]] std::optional<std::string_view> server_reference() const noexcept { return text(PropertyId::server_reference); }
    [[nodiscard]] std::optional<std::string_view> authentication_method() const noexcept { return text(PropertyId::authentication_method); }
    [[nodiscard]] std::optional<std::string_view> authentication_data() const noexcept { return text(PropertyId::authentication_data); }
    [[nodiscard]] std::optional<std::string_view> response_information() const noexcept { return text(PropertyId::response_information); }

    /// Calls `f(name, value)` for each User Property, in order.
    template <class F>
    void for_each_user_property(F&& f) const noexcept {
        for_each([&](const Property& p) {
            if (p.id == PropertyId::user_property) f(p.text, p.value);
        });
    }
    /// Calls `f(std::uint32_t)` for each Subscription Identifier, in order.
    template <class F>
    void for_each_subscription_identifier(F&& f) const noexcept {
        for_each([&](const Property& p) {
            if (p.id == PropertyId::subscription_identifier) f(p.number);
        });
    }

    /// Reads the property at the start of `rest` into `out` and advances `rest`; false at the end.
    static bool next(Bytes& rest, Property& out) noexcept;

private:
    Bytes raw_;
};

/// Checks an encoded property block for `context`: every identifier known [Errc::bad_property_id] and
/// allowed there [property_not_allowed], each value complete [bad_property_length] and of its type (UTF-8
/// [bad_utf8], variable byte integers of at most 4 bytes [bad_variable_byte_integer]), in range
/// [bad_property_value: a 0/1 byte above 1, Receive Maximum / Maximum Packet Size / Topic Alias /
/// Subscription Identifier 0, Response Topic with a wildcard], and no property twice unless repeatable
/// [duplicate_property]. Allocates nothing; linear in the block size.
[[nodiscard]] std::error_code validate_properties(Bytes block, PropertyContext context) noexcept;

/// Maximum value of a variable byte integer (section 1.5.5).
inline constexpr std::uint32_t max_variable_byte_integer = 268'435'455;

/// An owned, encoded property block with typed setters; view() gives the PropertiesView the codec takes.
/// Setters append in call order and do not check for duplicates (the encoder's validation does).
class Properties {
public:
    Properties() = default;
    Properties& add_byte(PropertyId id, std::uint8_t v);
    Properties& add_two_byte(PropertyId id, std::uint16_t v);
    Properties& add_four_byte(PropertyId id, std::uint32_t v);
    Properties& add_variable_byte(PropertyId id, std::uint32_t v);
    Properties& add_string(PropertyId id, std::string_view v);  ///< UTF-8 string or binary data
    Properties& add_user_property(std::string_view name, std::string_view value);

    Properties& payload_format_indicator(bool utf8) { return add_byte(PropertyId::payload_format_indicator, utf8 ? 1 : 0); }
    Properties& message_expiry_interval(std::uint32_t s) { return add_four_byte(PropertyId::message_expiry_interval, s); }
    Properties& content_type(std::string_view v) { return add_string(PropertyId::content_type, v); }
    Properties& response_topic(std::string_view v) { return add_string(PropertyId::response_topic, v); }
    Properties& correlation_data(std::string_view v) { return add_string(PropertyId::correlation_data, v); }
    Properties& subscription_identifier(std::uint32_t v) { return add_variable_byte(PropertyId::subscription_identifier, v); }
    Properties& session_expiry_interval(std::uint32_t s) { return add_four_byte(PropertyId::session_expiry_interval, s); }
    Properties& reason_string(std::string_view v) { return add_string(PropertyId::reason_string, v); }
    Properties& will_delay_interval(std::uint32_t s) { return add_four_byte(PropertyId::will_delay_interval, s); }
    Properties& receive_maximum(std::uint16_t v) { return add_two_byte(PropertyId::receive_maximum, v); }
    Properties& topic_alias_maximum(std::uint16_t v) { return add_two_byte(PropertyId::topic_alias_maximum, v); }
    Properties& maximum_packet_size(std::uint32_t v) { return add_four_byte(PropertyId::maximum_packet_size, v); }
    Properties& request_response_information(bool v) { return add_byte(PropertyId::request_response_information, v ? 1 : 0); }
    Properties& request_problem_information(bool v) { return add_byte(PropertyId::request_problem_information, v ? 1 : 0); }
    Properties& authentication_method(std::string_view v) { return add_string(PropertyId::authentication_method, v); }
    Properties& authentication_data(std::string_view v) { return add_string(PropertyId::authentication_data, v); }

    /// Appends every property of `other` (already encoded).
    Properties& append(PropertiesView other);
    void clear() noexcept { bytes_.clear(); }

    [[nodiscard]] PropertiesView view() const noexcept { return PropertiesView{Bytes{bytes_.data(), bytes_.size()}}; }
    [[nodiscard]] bool empty() const noexcept { return bytes_.empty(); }
    [[nodiscard]] const std::vector<std::uint8_t>& bytes() const noexcept { return bytes_; }
    friend bool operator==(const Properties&, const Properties&) = default;

private:
    std::vector<std::uint8_t> bytes_;
};

}  // namespace nmqtt::protocol
