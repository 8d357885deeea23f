// The 14 MQTT 3.1.1 control packets as plain structs of views (section 3). Nothing here owns memory:
// decoded packets point into the decoder's input or buffer, packets to encode point into the caller's data.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <variant>

#include "nmqtt/types.hpp"

namespace nmqtt::protocol {

/// Control packet types, values as in Table 2.1 (0 and 15 are reserved and never valid).
enum class PacketType : std::uint8_t {
    connect = 1, connack, publish, puback, pubrec, pubrel, pubcomp,
    subscribe, suback, unsubscribe, unsuback, pingreq, pingresp, disconnect,
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
};

struct Connect {
    std::string_view client_id;
    std::uint16_t keepalive = 0;  ///< seconds; 0 disables keepalive
    bool clean_session = true;
    std::optional<Will> will;
    std::optional<std::string_view> username;
    std::optional<std::string_view> password;  ///< binary data; requires username [MQTT-3.1.2-22]
};

struct Connack {
    bool session_present = false;
    std::uint8_t return_code = 0;  ///< 0..5, see nmqtt::ConnackCode
};

struct Publish {
    std::string_view topic;
    std::string_view payload;
    QoS qos = QoS::at_most_once;
    bool retain = false;
    bool dup = false;
    PacketId packet_id = 0;  ///< 0 for QoS 0, non-zero otherwise
};

struct Puback { PacketId packet_id = 0; };
struct Pubrec { PacketId packet_id = 0; };
struct Pubrel { PacketId packet_id = 0; };
struct Pubcomp { PacketId packet_id = 0; };

struct SubscribeEntry {
    std::string_view filter;
    QoS qos = QoS::at_most_once;
};

/// SUBSCRIBE. When encoding, `entries` lists the filters. A decoded SUBSCRIBE leaves `entries` empty and
/// keeps the validated payload in `raw_entries`; walk it with for_each_entry().
struct Subscribe {
    PacketId packet_id = 0;
    std::span<const SubscribeEntry> entries;
    Bytes raw_entries;
};

struct Suback {
    PacketId packet_id = 0;
    Bytes return_codes;  ///< each 0, 1, 2 or 0x80, in the order of the SUBSCRIBE's filters
};

/// UNSUBSCRIBE, with the same encode/decode split as Subscribe.
struct Unsubscribe {
    PacketId packet_id = 0;
    std::span<const std::string_view> filters;
    Bytes raw_filters;
};

struct Unsuback { PacketId packet_id = 0; };
struct Pingreq {};
struct Pingresp {};
struct Disconnect {};

/// Any control packet; the index of the alternative + 1 equals the PacketType value.
using Packet = std::variant<Connect, Connack, Publish, Puback, Pubrec, Pubrel, Pubcomp, Subscribe, Suback,
                            Unsubscribe, Unsuback, Pingreq, Pingresp, Disconnect>;

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
        f(SubscribeEntry{{reinterpret_cast<const char*>(b.data() + 2), n}, static_cast<QoS>(b[2 + n])});
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
