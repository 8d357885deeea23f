// Small vocabulary types shared by the codec, the session and the client.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "nmqtt/protocol/properties.hpp"

namespace nmqtt {

/// Quality of service levels of MQTT 3.1.1 section 4.3. Values 0..2 only; 3 is malformed [MQTT-3.3.1-4].
enum class QoS : std::uint8_t { at_most_once = 0, at_least_once = 1, exactly_once = 2 };

/// A packet identifier (section 2.3.1). 0 means "none" (QoS 0 PUBLISH); packets that need one never use 0.
using PacketId = std::uint16_t;

/// Bytes as the codec sees them (Bytes is declared in protocol/properties.hpp too).
using Bytes = std::span<const std::uint8_t>;
using MutableBytes = std::span<std::uint8_t>;

/// The session's notion of time. The core never reads a clock: callers pass `now` in.
using TimePoint = std::chrono::steady_clock::time_point;
using Duration = std::chrono::steady_clock::duration;

/// An application message as received: views, valid only for the duration of the callback or until the
/// next call into the object that produced it. Payloads are binary-safe (may hold any bytes).
struct MessageView {
    std::string_view topic;
    std::string_view payload;
    QoS qos = QoS::at_most_once;
    bool retain = false;
    bool dup = false;
    PacketId packet_id = 0;
    /// MQTT 5.0 properties of the PUBLISH (empty for 3.1.1): user properties, Subscription Identifiers,
    /// Content Type, Response Topic, Correlation Data, ... Same lifetime as the other views.
    protocol::PropertiesView properties{};
};

/// Returns true when `value` is 0, 1 or 2.
[[nodiscard]] constexpr bool is_valid_qos(unsigned value) noexcept { return value <= 2; }

}  // namespace nmqtt
