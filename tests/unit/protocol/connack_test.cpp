// CONNACK (section 3.2): golden bytes, reserved bits, return code range, wrong lengths.
#include <gtest/gtest.h>

#include "codec_check.hpp"

namespace nmqtt::test {
namespace {

using protocol::Connack;

TEST(Connack, MQTT_3_1_4_4_accepted_golden) {
    const auto wire = hex("20 02"   // CONNACK, flags 0000, remaining length 2
                          "00"      // acknowledge flags: session present 0
                          "00");    // return code 0: accepted
    expect_encodes(Connack{false, 0}, wire);
    const auto c = std::get<Connack>(expect_decodes(wire));
    EXPECT_FALSE(c.session_present);
    EXPECT_EQ(c.return_code, 0);
}

TEST(Connack, MQTT_3_2_2_2_session_present_golden) {
    const auto wire = hex("20 02 01 00");  // session present 1, accepted
    expect_encodes(Connack{true, 0}, wire);
    const auto c = std::get<Connack>(expect_decodes(wire));
    EXPECT_TRUE(c.session_present);
    EXPECT_EQ(c.return_code, 0);
}

TEST(Connack, return_codes_1_to_5_decode) {
    for (std::uint8_t code = 1; code <= 5; ++code) {
        SCOPED_TRACE(static_cast<int>(code));
        const auto wire = cat(hex("20 02 00"), std::vector<std::uint8_t>{code});
        expect_encodes(Connack{false, code}, wire);
        EXPECT_EQ(std::get<Connack>(expect_decodes(wire)).return_code, code);
    }
}

TEST(Connack, return_code_6_rejected) {
    EXPECT_EQ(decode_error(hex("20 02 00 06")), err(Errc::bad_connack));
    EXPECT_EQ(decode_error(hex("20 02 00 FF")), err(Errc::bad_connack));
}

TEST(Connack, reserved_acknowledge_bits_rejected) {
    EXPECT_EQ(decode_error(hex("20 02 02 00")), err(Errc::bad_connack));  // bit 1
    EXPECT_EQ(decode_error(hex("20 02 80 00")), err(Errc::bad_connack));  // bit 7
    EXPECT_EQ(decode_error(hex("20 02 FF 00")), err(Errc::bad_connack));
}

TEST(Connack, MQTT_2_2_2_2_reserved_fixed_header_flags) {
    EXPECT_EQ(decode_error(hex("21 02 00 00")), err(Errc::bad_flags));
    EXPECT_EQ(decode_error(hex("28 02 00 00")), err(Errc::bad_flags));
}

TEST(Connack, wrong_remaining_length) {
    EXPECT_EQ(decode_error(hex("20 03 00 00 00")), err(Errc::bad_remaining_length));
    EXPECT_EQ(decode_error(hex("20 01 00")), err(Errc::bad_remaining_length));
    EXPECT_EQ(decode_error(hex("20 00")), err(Errc::bad_remaining_length));
}

TEST(Connack, truncated_input) {
    EXPECT_EQ(decode_error(hex("20 02 00")), err(Errc::truncated_packet));
    EXPECT_EQ(decode_error(hex("20")), err(Errc::truncated_packet));
}

TEST(Connack, trailing_bytes) {
    EXPECT_EQ(decode_error(hex("20 02 00 00 00")), err(Errc::trailing_bytes));
}

TEST(Connack, encoder_rejects_return_code_above_5) {
    EXPECT_EQ(encode_error(Connack{false, 6}), err(Errc::bad_connack));
}

TEST(Connack, MQTT_3_2_2_4_encoder_rejects_session_present_on_refusal) {
    EXPECT_EQ(encode_error(Connack{true, 5}), err(Errc::bad_connack));
}

}  // namespace
}  // namespace nmqtt::test
