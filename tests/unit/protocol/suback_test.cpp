// SUBACK (section 3.9): golden bytes, return code set, packet id, malformed input.
#include <gtest/gtest.h>

#include "codec_check.hpp"

namespace nmqtt::test {
namespace {

using protocol::Suback;

TEST(Suback, MQTT_3_9_3_1_golden_three_codes) {
    const auto wire = hex("90 05"      // SUBACK, flags 0000; remaining length 5
                          "00 0A"      // packet id 10
                          "01 02 80"); // granted QoS 1, granted QoS 2, failure
    const auto codes = hex("01 02 80");
    expect_encodes(Suback{10, codes}, wire);
    const auto s = std::get<Suback>(expect_decodes(wire));
    EXPECT_EQ(s.packet_id, 10);
    EXPECT_TRUE(bytes_equal(s.return_codes, codes));
}

TEST(Suback, MQTT_3_9_3_2_golden_every_legal_code) {
    const auto wire = hex("90 06 FF FF 00 01 02 80");  // id 65535; codes 00 01 02 80
    const auto codes = hex("00 01 02 80");
    expect_encodes(Suback{0xFFFF, codes}, wire);
    const auto s = std::get<Suback>(expect_decodes(wire));
    EXPECT_EQ(s.packet_id, 0xFFFF);
    EXPECT_TRUE(bytes_equal(s.return_codes, codes));
}

TEST(Suback, MQTT_3_9_3_2_code_03_rejected) {
    EXPECT_EQ(decode_error(hex("90 03 00 01 03")), err(Errc::bad_suback_code));
    EXPECT_EQ(decode_error(hex("90 04 00 01 00 81")), err(Errc::bad_suback_code));
    EXPECT_EQ(decode_error(hex("90 04 00 01 7F 00")), err(Errc::bad_suback_code));
}

TEST(Suback, MQTT_2_3_1_7_packet_id_zero_rejected) {
    EXPECT_EQ(decode_error(hex("90 03 00 00 00")), err(Errc::zero_packet_id));
}

TEST(Suback, MQTT_2_2_2_2_reserved_flags_rejected) {
    EXPECT_EQ(decode_error(hex("92 03 00 01 00")), err(Errc::bad_flags));
    EXPECT_EQ(decode_error(hex("91 03 00 01 00")), err(Errc::bad_flags));
}

TEST(Suback, MQTT_3_8_4_5_no_return_code_rejected) {
    // A SUBACK answers a SUBSCRIBE of at least one filter, so it holds at least one code.
    const auto e = decode_error(hex("90 02 00 01"));
    EXPECT_TRUE(e == err(Errc::empty_payload) || e == err(Errc::truncated_packet)) << e.message();
}

TEST(Suback, truncated) {
    EXPECT_EQ(decode_error(hex("90 03 00 01")), err(Errc::truncated_packet));
    EXPECT_EQ(decode_error(hex("90 03 00 01 00 00")), err(Errc::trailing_bytes));
}

TEST(Suback, encoder_rejects_bad_requests) {
    const auto bad_code = hex("03");
    EXPECT_EQ(encode_error(Suback{1, bad_code}), err(Errc::bad_suback_code));
    const auto good = hex("00");
    EXPECT_EQ(encode_error(Suback{0, good}), err(Errc::zero_packet_id));
}

}  // namespace
}  // namespace nmqtt::test
