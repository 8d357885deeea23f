// Topic names, topic filters and UTF-8 strings: validation and matching (sections 1.5.3 and 4.7).
#pragma once

#include <string_view>
#include <system_error>

namespace nmqtt::protocol {

/// Checks an MQTT UTF-8 string: well-formed UTF-8, no surrogates, no U+0000, at most 65,535 bytes
/// [MQTT-1.5.3-1/2]. U+FEFF (EF BB BF) is kept and accepted [MQTT-1.5.3-3]. Allocates nothing.
/// Errors: Errc::bad_utf8, Errc::packet_too_large (longer than 65,535 bytes).
[[nodiscard]] std::error_code validate_utf8(std::string_view s) noexcept;

/// Checks a topic name for PUBLISH or a will: a valid string, 1..65,535 bytes, no '+' or '#'
/// [MQTT-4.7.1-1, 4.7.3-1..3, 3.3.2-2]. Errors: Errc::bad_topic_name, Errc::bad_utf8.
[[nodiscard]] std::error_code validate_topic_name(std::string_view topic) noexcept;

/// Checks a topic filter: a valid string of 1..65,535 bytes where '#' is last and alone in its level and
/// '+' fills a whole level [MQTT-4.7.1-2/3]. Errors: Errc::bad_topic_filter, Errc::bad_utf8.
[[nodiscard]] std::error_code validate_topic_filter(std::string_view filter) noexcept;

/// Returns true when `topic` (a valid name) matches `filter` (a valid filter), comparing literally and
/// case-sensitively [MQTT-4.7.3-4]; a filter starting with a wildcard does not match a name starting with
/// '$' [MQTT-4.7.2-1]. "a/#" matches "a" too (section 4.7.1.2). Allocates nothing; O(length).
[[nodiscard]] bool topic_matches(std::string_view filter, std::string_view topic) noexcept;

}  // namespace nmqtt::protocol
