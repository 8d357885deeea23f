// Byte helpers for tests: write byte vectors as hex text, compare them with a readable diff.
//   auto b = hex("30 07 00 03 61 2F 62 68 69");   // PUBLISH "a/b" "hi"
//   EXPECT_TRUE(bytes_equal(actual, b));          // on failure prints both in hex and the first difference
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace nmqtt::test {

/// Parses hex text into bytes. Pairs of hex digits, upper or lower case; spaces, newlines, tabs, commas and
/// '|' separate nothing and are skipped. Throws std::invalid_argument on any other character or an odd digit.
inline std::vector<std::uint8_t> hex(std::string_view text) {
    auto digit = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::vector<std::uint8_t> out;
    int high = -1;
    for (char c : text) {
        if (c == ' ' || c == '\n' || c == '\t' || c == ',' || c == '|') continue;
        const int d = digit(c);
        if (d < 0) throw std::invalid_argument("hex(): bad character in \"" + std::string(text) + "\"");
        if (high < 0) {
            high = d;
        } else {
            out.push_back(static_cast<std::uint8_t>(high * 16 + d));
            high = -1;
        }
    }
    if (high >= 0) throw std::invalid_argument("hex(): odd number of digits in \"" + std::string(text) + "\"");
    return out;
}

/// The bytes of a string (no terminator), e.g. for payloads and topics.
inline std::vector<std::uint8_t> bytes_of(std::string_view s) {
    return {s.begin(), s.end()};
}

/// Concatenates byte vectors: cat(hex("30 07"), bytes_of("..."), ...).
template <class... Parts>
std::vector<std::uint8_t> cat(const Parts&... parts) {
    std::vector<std::uint8_t> out;
    (out.insert(out.end(), std::begin(parts), std::end(parts)), ...);
    return out;
}

/// Formats bytes as upper-case hex pairs separated by spaces ("30 07 00").
inline std::string to_hex(std::span<const std::uint8_t> bytes) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string s;
    s.reserve(bytes.size() * 3);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (i != 0) s.push_back(' ');
        s.push_back(digits[bytes[i] >> 4]);
        s.push_back(digits[bytes[i] & 0x0F]);
    }
    return s;
}

/// Compares two byte sequences; on a difference, the message shows both in hex (at most 64 bytes around
/// the first difference) and the offset of the first differing byte.
inline ::testing::AssertionResult bytes_equal(std::span<const std::uint8_t> actual,
                                              std::span<const std::uint8_t> expected) {
    const auto mismatch = std::mismatch(actual.begin(), actual.end(), expected.begin(), expected.end());
    const auto at = static_cast<std::size_t>(mismatch.first - actual.begin());
    if (at == actual.size() && at == expected.size()) return ::testing::AssertionSuccess();
    const std::size_t from = at > 16 ? at - 16 : 0;
    auto window = [from](std::span<const std::uint8_t> b) {
        const std::size_t start = std::min(from, b.size());
        const std::size_t n = std::min<std::size_t>(64, b.size() - start);
        return (start > 0 ? "... " : "") + to_hex(b.subspan(start, n)) + (start + n < b.size() ? " ..." : "");
    };
    return ::testing::AssertionFailure()
           << "bytes differ at offset " << at << " (sizes: actual " << actual.size() << ", expected "
           << expected.size() << ")\n  actual:   " << window(actual) << "\n  expected: " << window(expected);
}

}  // namespace nmqtt::test
