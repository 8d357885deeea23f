// The control packets of MQTT 3.1.1 (14) and MQTT 5.0 (15, with AUTH) as plain structs of views (section 3).
// One set of structs serves both levels: the MQTT 5.0 fields (properties, reason codes, subscription
// options) stay at their defaults for 3.1.1, where the encoder refuses them and the decoder never sets them.
// Nothing here owns memory: decoded packets point into the decoder's input or buffer, packets to encode
// point into the caller's data.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <variant>

#include "nmqtt/protocol/properties.hpp"
#include "nmqtt/protocol/reason_code.hpp"
#include "nmqtt/types.hpp"

namespace nmqtt::protocol {

/// Control packet types, values as in Table 2.1 (0 is reserved; 15 is AUTH, MQTT 5.0 only).
enum class PacketType : std::uint8_t {
    connect = 1, connack, publish, puback, pubrec, pubrel, pubcomp,
    subscribe, suback, unsubscribe, unsuback, pingreq, pingresp, disconnect, auth,
};

/// Largest value of the Remaining Length field (section 2.2.3): 268,435,455.
inline constexpr std::uint32_t max_remaining_length = 268'435'455;
/// Largest encoded string or topic (section 1.5.3): 65,535 bytes.
inline constexpr std::size_t max_string_length = 65'535;
/// SUBACK failure return code (section 3.9.3).
inline constexpr std::uint8_t suback_failure = 0x80;

struct Will {
    std::string_view topic;
    std::string_view message;  ///< binary data
    QoS qos = QoS::at_most_once;
    bool retain = false;
    PropertiesView properties{};  ///< MQTT 5.0 Will Properties (section 3.1.3.2)
};

struct Connect {
    std::string_view client_id;
    std::uint16_t keepalive = 0;  ///< seconds; 0 disables keepalive
    bool clean_session = true;
    std::optional<Will> will;
    std::optional<std::string_view> username;
    std::optional<std::string_view> password;  ///< binary data; 3.1.1: requires username [MQTT-3.1.2-22]
    PropertiesView properties{};                 ///< MQTT 5.0 (clean_session is Clean Start there)
};

struct Connack {
    bool session_present = false;
    std::uint8_t return_code = 0;  ///< 3.1.1: 0..5 (nmqtt::ConnackCode); 5.0: the Connect Reason Code
    PropertiesView properties{};
};

struct Publish {
    std::string_view topic;
    std::string_view payload;
    QoS qos = QoS::at_most_once;
    bool retain = false;
    bool dup = false;
    PacketId packet_id = 0;  ///< 0 for QoS 0, non-zero otherwise
    PropertiesView properties{};  ///< MQTT 5.0
    /// MQTT 5.0 Topic Alias. Encoding: when non-zero, written after `properties` (which must not hold one
    /// too); `topic` may then be empty to use an alias set earlier. Decoding: the value of the Topic Alias
    /// property if present (it also stays in `properties`), else 0.
    std::uint16_t topic_alias = 0;
};

/// The acknowledgements of the PUBLISH exchange. The reason code and properties are MQTT 5.0 only; the
/// encoder writes the short forms of section 3.4.2.1 (no reason code when 0 and no properties).
struct Puback { PacketId packet_id = 0; std::uint8_t reason_code = 0; PropertiesView properties{}; };
struct Pubrec { PacketId packet_id = 0; std::uint8_t reason_code = 0; PropertiesView properties{}; };
struct Pubrel { PacketId packet_id = 0; std::uint8_t reason_code = 0; PropertiesView properties{}; };
struct Pubcomp { PacketId packet_id = 0; std::uint8_t reason_code = 0; PropertiesView properties{}; };

/// Retain Handling of a subscription (MQTT 5.0, section 3.8.3.1).
enum class RetainHandling : std::uint8_t { send_at_subscribe = 0, send_if_new = 1, do_not_send = 2 };

struct SubscribeEntry {
    std::string_view filter;
    QoS qos = QoS::at_most_once;
    bool no_local = false;             ///< MQTT 5.0
    bool retain_as_published = false;  ///< MQTT 5.0
    RetainHandling retain_handling = RetainHandling::send_at_subscribe;  ///< MQTT 5.0
};

/// SUBSCRIBE. When encoding, `entries` lists the filters. A decoded SUBSCRIBE leaves `entries` empty and
/// keeps the validated payload in `raw_entries`; walk it with for_each_entry().
struct Subscribe {
    PacketId packet_id = 0;
    std::span<const SubscribeEntry> entries;
    Bytes raw_entries;
    PropertiesView properties{};  ///< MQTT 5.0
};

struct Suback {
    PacketId packet_id = 0;
    Bytes return_codes;  ///< 3.1.1: each 0, 1, 2 or 0x80; 5.0: reason codes; in the SUBSCRIBE's order
    PropertiesView properties{};
};

/// UNSUBSCRIBE, with the same encode/decode split as Subscribe.
struct Unsubscribe {
    PacketId packet_id = 0;
    std::span<const std::string_view> filters;
    Bytes raw_filters;
    PropertiesView properties{};  ///< MQTT 5.0
};

struct Unsuback {
    PacketId packet_id = 0;
    Bytes reason_codes{};  ///< MQTT 5.0: one per filter (empty in 3.1.1, where UNSUBACK has no payload)
    PropertiesView properties{};
};
struct Pingreq {};
struct Pingresp {};
/// DISCONNECT; the reason code and properties are MQTT 5.0 (written only when non-default).
struct Disconnect { std::uint8_t reason_code = 0; PropertiesView properties{}; };
/// AUTH (MQTT 5.0 only, section 3.15).
struct Auth { std::uint8_t reason_code = 0; PropertiesView properties{}; };

/// Any control packet; the index of the alternative + 1 equals the PacketType value.
using Packet = std::variant<Connect, Connack, Publish, Puback, Pubrec, Pubrel, Pubcomp, Subscribe, Suback,
                            Unsubscribe, Unsuback, Pingreq, Pingresp, Disconnect, Auth>;

/// Returns the packet type of a packet.
[[nodiscard]] constexpr PacketType type_of(const Packet& packet) noexcept {
    return static_cast<PacketType>(packet.index() + 1);
}

/// Calls `f(SubscribeEntry)` for each entry of a decoded SUBSCRIBE (entries were validated by decode).
template <class F>
void for_each_entry(const Subscribe& s, F&& f) {
    if (!s.entries.empty()) {
        for (const auto& e : s.entries) f(e);
        return;
    }
    Bytes b = s.raw_entries;
    while (b.size() >= 3) {
        const std::size_t n = (std::size_t{b[0]} << 8) | b[1];
        const std::uint8_t options = b[2 + n];
        f(SubscribeEntry{{reinterpret_cast<const char*>(b.data() + 2), n}, static_cast<QoS>(options & 0x03),
                         (options & 0x04) != 0, (options & 0x08) != 0,
                         static_cast<RetainHandling>((options >> 4) & 0x03)});
        b = b.subspan(3 + n);
    }
}

/// Calls `f(std::string_view)` for each filter of a decoded UNSUBSCRIBE.
template <class F>
void for_each_filter(const Unsubscribe& u, F&& f) {
    if (!u.filters.empty()) {
        for (const auto& t : u.filters) f(t);
        return;
    }
    Bytes b = u.raw_filters;
    while (b.size() >= 2) {
        const std::size_t n = (std::size_t{b[0]} << 8) | b[1];
        f(std::string_view{reinterpret_cast<const char*>(b.data() + 2), n});
        b = b.subspan(2 + n);
    }
}

}  // namespace nmqtt::protocol
