// UTF-8 well-formedness (section 1.5.3) and topic name/filter rules (section 4.7).
#include <cstdint>

#include "nmqtt/error.hpp"
#include "nmqtt/protocol/packets.hpp"
#include "nmqtt/protocol/topic.hpp"

namespace nmqtt::protocol {
namespace {

// Length of the UTF-8 sequence starting with `lead`, or 0 for a byte that cannot start one.
constexpr std::size_t sequence_length(std::uint8_t lead) noexcept {
    if (lead < 0x80) return 1;
    if (lead >= 0xC2 && lead <= 0xDF) return 2;
    if (lead >= 0xE0 && lead <= 0xEF) return 3;
    if (lead >= 0xF0 && lead <= 0xF4) return 4;
    return 0;
}

// Second-byte range per lead byte rules out overlongs, surrogates (ED A0..BF) and values above U+10FFFF.
constexpr bool second_byte_ok(std::uint8_t lead, std::uint8_t second) noexcept {
    switch (lead) {
        case 0xE0: return second >= 0xA0 && second <= 0xBF;
        case 0xED: return second >= 0x80 && second <= 0x9F;
        case 0xF0: return second >= 0x90 && second <= 0xBF;
        case 0xF4: return second >= 0x80 && second <= 0x8F;
        default: return second >= 0x80 && second <= 0xBF;
    }
}

constexpr bool is_continuation(std::uint8_t b) noexcept { return (b & 0xC0) == 0x80; }

// One pass over a string: is it plain ASCII without NUL, and does it hold a wildcard? (Most topics are ASCII;
// only the others need the full UTF-8 walk.)
struct Scan {
    bool ascii = true;
    bool wildcard = false;
};

Scan scan(std::string_view s) noexcept {
    Scan r;
    for (const char c : s) {
        const auto b = static_cast<std::uint8_t>(c);
        r.ascii = r.ascii && b != 0 && b < 0x80;
        r.wildcard = r.wildcard || c == '+' || c == '#';
    }
    return r;
}

}  // namespace

std::error_code validate_utf8(std::string_view s) noexcept {
    if (s.size() > max_string_length) return Errc::packet_too_large;
    const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
    const std::size_t size = s.size();
    for (std::size_t i = 0; i < size;) {
        const std::uint8_t lead = p[i];
        if (lead == 0) return Errc::bad_utf8;
        const std::size_t n = sequence_length(lead);
        if (n == 0 || i + n > size) return Errc::bad_utf8;
        if (n > 1 && !second_byte_ok(lead, p[i + 1])) return Errc::bad_utf8;
        for (std::size_t k = 2; k < n; ++k) {
            if (!is_continuation(p[i + k])) return Errc::bad_utf8;
        }
        i += n;
    }
    return {};
}

std::error_code validate_topic_name(std::string_view topic) noexcept {
    if (topic.empty() || topic.size() > max_string_length) return Errc::bad_topic_name;
    const Scan r = scan(topic);
    if (r.wildcard) return Errc::bad_topic_name;
    return r.ascii ? std::error_code{} : validate_utf8(topic);
}

std::error_code validate_topic_filter(std::string_view filter) noexcept {
    if (filter.empty() || filter.size() > max_string_length) return Errc::bad_topic_filter;
    for (std::size_t i = 0; i < filter.size(); ++i) {
        const char c = filter[i];
        if (c != '+' && c != '#') continue;
        const bool starts_level = i == 0 || filter[i - 1] == '/';
        const bool ends_level = i + 1 == filter.size() || filter[i + 1] == '/';
        if (!starts_level || !ends_level) return Errc::bad_topic_filter;
        if (c == '#' && i + 1 != filter.size()) return Errc::bad_topic_filter;
    }
    return validate_utf8(filter);
}

bool topic_matches(std::string_view filter, std::string_view topic) noexcept {
    const bool leading_wildcard = !filter.empty() && (filter.front() == '+' || filter.front() == '#');
    if (leading_wildcard && !topic.empty() && topic.front() == '$') return false;  // [MQTT-4.7.2-1]
    // Compare level by level.
    while (true) {
        const std::size_t fs = filter.find('/');
        const std::size_t ts = topic.find('/');
        const std::string_view flevel = filter.substr(0, fs);
        if (flevel == "#") return true;  // the rest, including the parent level ("a/#" matches "a")
        if (flevel != "+" && flevel != topic.substr(0, ts)) return false;
        if (fs == std::string_view::npos || ts == std::string_view::npos) {
            // Both must end together, except "x/#" which also matches "x".
            return fs == ts || (ts == std::string_view::npos && filter.substr(fs + 1) == "#");
        }
        filter.remove_prefix(fs + 1);
        topic.remove_prefix(ts + 1);
    }
}

}  // namespace nmqtt::protocol
