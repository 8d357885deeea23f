// Remaining Length (section 2.2.3): the boundary values of Table 2.4, the 4-byte limit, header parsing.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

#include "codec_check.hpp"

namespace nmqtt::test {
namespace {

using namespace protocol;

struct Boundary {
    std::uint32_t value;
    const char* wire;
};

// Table 2.4 of the standard: the smallest and largest value for each field size.
constexpr Boundary table_2_4[] = {
    {0, "00"},
    {127, "7F"},
    {128, "80 01"},
    {16'383, "FF 7F"},
    {16'384, "80 80 01"},
    {2'097'151, "FF FF 7F"},
    {2'097'152, "80 80 80 01"},
    {268'435'455, "FF FF FF 7F"},
};

TEST(RemainingLength, table_2_4_encode) {
    for (const auto& b : table_2_4) {
        SCOPED_TRACE(b.value);
        const auto expected = hex(b.wire);
        EXPECT_EQ(remaining_length_size(b.value), expected.size());
        std::vector<std::uint8_t> buffer(4 + 2 * guard_size, guard_byte);
        const auto n = encode_remaining_length(b.value, MutableBytes(buffer.data() + guard_size, 4));
        ASSERT_EQ(n, expected.size());
        EXPECT_TRUE(bytes_equal(Bytes(buffer.data() + guard_size, n), expected));
        EXPECT_TRUE(guards_intact(buffer, guard_size, 4));
        // Exactly the size it needs fits; one byte less does not.
        std::array<std::uint8_t, 4> exact{};
        EXPECT_EQ(encode_remaining_length(b.value, MutableBytes(exact.data(), expected.size())), expected.size());
        EXPECT_EQ(encode_remaining_length(b.value, MutableBytes(exact.data(), expected.size() - 1)), 0u);
    }
}

TEST(RemainingLength, above_maximum_is_refused) {
    std::array<std::uint8_t, 8> buffer{};
    EXPECT_EQ(encode_remaining_length(max_remaining_length + 1, buffer), 0u);
    EXPECT_EQ(encode_remaining_length(0xFFFF'FFFF, buffer), 0u);
}

TEST(RemainingLength, table_2_4_parse_fixed_header) {
    for (const auto& b : table_2_4) {
        SCOPED_TRACE(b.value);
        // PUBLISH takes any length from 2 on; PINGRESP takes 0.
        const auto wire = cat(hex(b.value == 0 ? "D0" : "30"), hex(b.wire));
        const auto h = parse_fixed_header(wire);
        ASSERT_EQ(h.status, HeaderParse::Status::complete) << h.error.message();
        EXPECT_EQ(h.header.type, b.value == 0 ? PacketType::pingresp : PacketType::publish);
        EXPECT_EQ(h.header.flags, 0);
        EXPECT_EQ(h.header.remaining_length, b.value);
        EXPECT_EQ(h.header.header_size, wire.size());
        EXPECT_EQ(h.header.packet_size(), wire.size() + b.value);
    }
}

TEST(RemainingLength, header_parse_ignores_bytes_after_the_header) {
    const auto h = parse_fixed_header(hex("3B 80 01 AA BB"));
    ASSERT_EQ(h.status, HeaderParse::Status::complete);
    EXPECT_EQ(h.header.flags, 0x0B);
    EXPECT_EQ(h.header.remaining_length, 128u);
    EXPECT_EQ(h.header.header_size, 3);
}

TEST(RemainingLength, need_more_while_length_continues) {
    for (const char* wire : {"", "30", "30 80", "30 FF FF", "30 FF FF FF"}) {
        SCOPED_TRACE(wire);
        const auto h = parse_fixed_header(hex(wire));
        EXPECT_EQ(h.status, HeaderParse::Status::need_more);
        EXPECT_FALSE(h.error);
    }
}

TEST(RemainingLength, five_length_bytes_rejected) {
    for (const char* wire : {"30 FF FF FF FF 01", "30 80 80 80 80 00", "D0 80 80 80 80 01"}) {
        SCOPED_TRACE(wire);
        const auto h = parse_fixed_header(hex(wire));
        EXPECT_EQ(h.status, HeaderParse::Status::error);
        EXPECT_EQ(h.error, err(Errc::bad_remaining_length));
        EXPECT_EQ(decode_error(hex(wire)), err(Errc::bad_remaining_length));
    }
}

TEST(RemainingLength, encoded_packet_size_crosses_boundaries) {
    // PUBLISH "t" (3 bytes) + payload: remaining lengths 127 and 128 take 1 and 2 length bytes.
    const std::string p124(124, 'x');
    const std::string p125(125, 'x');
    const auto s127 = encoded_size(Publish{"t", p124, QoS::at_most_once, false, false, 0});
    const auto s128 = encoded_size(Publish{"t", p125, QoS::at_most_once, false, false, 0});
    ASSERT_TRUE(s127.has_value());
    ASSERT_TRUE(s128.has_value());
    EXPECT_EQ(*s127, 1u + 1u + 127u);
    EXPECT_EQ(*s128, 1u + 2u + 128u);
    std::vector<std::uint8_t> out;
    ASSERT_FALSE(encode_append(Publish{"t", p125, QoS::at_most_once, false, false, 0}, out));
    EXPECT_TRUE(bytes_equal(Bytes(out.data(), 5), hex("30 80 01 00 01")));
}

}  // namespace
}  // namespace nmqtt::test
