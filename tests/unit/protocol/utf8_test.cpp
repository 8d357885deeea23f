// MQTT UTF-8 strings (section 1.5.3): well-formed UTF-8 only, no surrogates, no U+0000, U+FEFF kept.
#include <gtest/gtest.h>

#include <string>

#include "nmqtt/error.hpp"
#include "nmqtt/protocol/topic.hpp"
#include "support/bytes.hpp"

namespace nmqtt::test {
namespace {

using protocol::validate_utf8;

std::string str(const char* hex_text) {
    const auto b = hex(hex_text);
    return {b.begin(), b.end()};
}

TEST(Utf8, well_formed_strings_accepted) {
    for (const char* h : {
             "",                       // empty string
             "61 62 63",               // ASCII
             "7F",                     // U+007F, the last 1-byte char
             "C2 80",                  // U+0080, the first 2-byte char
             "C3 A9",                  // U+00E9
             "DF BF",                  // U+07FF, the last 2-byte char
             "E0 A0 80",               // U+0800, the first 3-byte char
             "E2 82 AC",               // U+20AC
             "ED 9F BF",               // U+D7FF, just below the surrogates
             "EE 80 80",               // U+E000, just above the surrogates
             "EF BF BF",               // U+FFFF (a non-character, but well-formed)
             "F0 90 80 80",            // U+10000, the first 4-byte char
             "F0 9F 98 80",            // U+1F600
             "F4 8F BF BF",            // U+10FFFF, the last code point
             "01 1F",                  // control characters are allowed (a SHOULD NOT, not a MUST)
         }) {
        SCOPED_TRACE(h);
        EXPECT_FALSE(validate_utf8(str(h)));
    }
}

TEST(Utf8, MQTT_1_5_3_3_bom_is_accepted_anywhere) {
    EXPECT_FALSE(validate_utf8(str("EF BB BF")));
    EXPECT_FALSE(validate_utf8(str("EF BB BF 61")));
    EXPECT_FALSE(validate_utf8(str("61 EF BB BF 62")));
}

TEST(Utf8, MQTT_1_5_3_2_nul_rejected) {
    EXPECT_EQ(validate_utf8(str("00")), make_error_code(Errc::bad_utf8));
    EXPECT_EQ(validate_utf8(str("61 00")), make_error_code(Errc::bad_utf8));
    EXPECT_EQ(validate_utf8(str("00 61")), make_error_code(Errc::bad_utf8));
}

TEST(Utf8, MQTT_1_5_3_1_surrogates_rejected) {
    for (const char* h : {"ED A0 80", "ED AF BF", "ED B0 80", "ED BF BF",
                          "ED A0 BD ED B8 80"}) {  // a CESU-8 surrogate pair for U+1F600
        SCOPED_TRACE(h);
        EXPECT_EQ(validate_utf8(str(h)), make_error_code(Errc::bad_utf8));
    }
}

TEST(Utf8, MQTT_1_5_3_1_overlong_forms_rejected) {
    for (const char* h : {"C0 80",         // U+0000 in two bytes ("modified UTF-8")
                          "C0 AF",         // '/' in two bytes
                          "C1 BF",         // U+007F in two bytes
                          "E0 80 80",      // U+0000 in three bytes
                          "E0 9F BF",      // U+07FF in three bytes
                          "F0 80 80 80",   // U+0000 in four bytes
                          "F0 8F BF BF"}) {  // U+FFFF in four bytes
        SCOPED_TRACE(h);
        EXPECT_EQ(validate_utf8(str(h)), make_error_code(Errc::bad_utf8));
    }
}

TEST(Utf8, MQTT_1_5_3_1_out_of_range_and_invalid_bytes_rejected) {
    for (const char* h : {"F4 90 80 80",   // U+110000, above the last code point
                          "F5 80 80 80", "F7 BF BF BF", "F8 88 80 80 80", "FC 84 80 80 80 80",
                          "FE", "FF", "C0", "C1"}) {
        SCOPED_TRACE(h);
        EXPECT_EQ(validate_utf8(str(h)), make_error_code(Errc::bad_utf8));
    }
}

TEST(Utf8, MQTT_1_5_3_1_truncated_and_stray_sequences_rejected) {
    for (const char* h : {"C3",            // lead byte of 2, end of string
                          "E2 82",         // 2 of 3
                          "F0 9F 98",      // 3 of 4
                          "E2 82 61",      // cut by an ASCII byte
                          "C3 C3 A9",      // cut by another lead byte
                          "80",            // lone continuation byte
                          "BF",
                          "61 80 62",
                          "C3 A9 A9",      // one continuation too many
                          "F0 9F 98 80 80"}) {
        SCOPED_TRACE(h);
        EXPECT_EQ(validate_utf8(str(h)), make_error_code(Errc::bad_utf8));
    }
}

TEST(Utf8, every_truncation_of_a_4_byte_char_rejected) {
    const std::string smile = str("F0 9F 98 80");
    for (std::size_t n = 1; n < smile.size(); ++n) {
        SCOPED_TRACE(n);
        EXPECT_EQ(validate_utf8(smile.substr(0, n)), make_error_code(Errc::bad_utf8));
        EXPECT_EQ(validate_utf8(smile.substr(0, n) + "a"), make_error_code(Errc::bad_utf8));
    }
}

TEST(Utf8, length_limit) {
    EXPECT_FALSE(validate_utf8(std::string(65'535, 'a')));
    EXPECT_EQ(validate_utf8(std::string(65'536, 'a')), make_error_code(Errc::packet_too_large));
}

TEST(Utf8, every_two_byte_prefix_classified_like_a_reference) {
    // Reference classification of a lead byte and one continuation byte, written from RFC 3629's table.
    auto expected_valid = [](unsigned a, unsigned b) {
        if (a < 0x80) return a != 0 && b != 0 && b < 0x80;  // two ASCII chars
        if (a >= 0xC2 && a <= 0xDF) return b >= 0x80 && b <= 0xBF;
        return false;  // 3- and 4-byte leads need more bytes, other leads are invalid
    };
    for (unsigned a = 0; a < 256; ++a) {
        for (unsigned b = 0; b < 256; ++b) {
            const char s[2] = {static_cast<char>(a), static_cast<char>(b)};
            const bool valid = !validate_utf8(std::string_view(s, 2));
            ASSERT_EQ(valid, expected_valid(a, b)) << std::hex << a << " " << b;
        }
    }
}

}  // namespace
}  // namespace nmqtt::test
