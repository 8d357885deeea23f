// The packet-id-only family (sections 3.4-3.7, 3.11): PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK.
#include <gtest/gtest.h>

#include "codec_check.hpp"

namespace nmqtt::test {
namespace {

using namespace protocol;

TEST(Ack, puback_golden) {
    const auto wire = hex("40 02"    // PUBACK, flags 0000, remaining length 2
                          "12 34");  // packet id 0x1234
    expect_encodes(Puback{0x1234}, wire);
    EXPECT_EQ(std::get<Puback>(expect_decodes(wire)).packet_id, 0x1234);
}

TEST(Ack, pubrec_golden) {
    const auto wire = hex("50 02"    // PUBREC, flags 0000, remaining length 2
                          "00 01");  // packet id 1
    expect_encodes(Pubrec{1}, wire);
    EXPECT_EQ(std::get<Pubrec>(expect_decodes(wire)).packet_id, 1);
}

TEST(Ack, MQTT_3_6_1_1_pubrel_golden) {
    const auto wire = hex("62 02"    // PUBREL, flags 0010 (required), remaining length 2
                          "FF FF");  // packet id 65535
    expect_encodes(Pubrel{0xFFFF}, wire);
    EXPECT_EQ(std::get<Pubrel>(expect_decodes(wire)).packet_id, 0xFFFF);
}

TEST(Ack, pubcomp_golden) {
    const auto wire = hex("70 02"    // PUBCOMP, flags 0000, remaining length 2
                          "AB CD");  // packet id 0xABCD
    expect_encodes(Pubcomp{0xABCD}, wire);
    EXPECT_EQ(std::get<Pubcomp>(expect_decodes(wire)).packet_id, 0xABCD);
}

TEST(Ack, unsuback_golden) {
    const auto wire = hex("B0 02"    // UNSUBACK, flags 0000, remaining length 2
                          "00 0B");  // packet id 11
    expect_encodes(Unsuback{11}, wire);
    EXPECT_EQ(std::get<Unsuback>(expect_decodes(wire)).packet_id, 11);
}

TEST(Ack, MQTT_2_2_2_2_reserved_flags_rejected) {
    EXPECT_EQ(decode_error(hex("41 02 00 01")), err(Errc::bad_flags));  // PUBACK with flags 0001
    EXPECT_EQ(decode_error(hex("42 02 00 01")), err(Errc::bad_flags));  // PUBACK with PUBREL's flags
    EXPECT_EQ(decode_error(hex("52 02 00 01")), err(Errc::bad_flags));  // PUBREC 0010
    EXPECT_EQ(decode_error(hex("60 02 00 01")), err(Errc::bad_flags));  // PUBREL must be 0010
    EXPECT_EQ(decode_error(hex("63 02 00 01")), err(Errc::bad_flags));  // PUBREL 0011
    EXPECT_EQ(decode_error(hex("6A 02 00 01")), err(Errc::bad_flags));  // PUBREL 1010
    EXPECT_EQ(decode_error(hex("78 02 00 01")), err(Errc::bad_flags));  // PUBCOMP 1000
    EXPECT_EQ(decode_error(hex("B2 02 00 01")), err(Errc::bad_flags));  // UNSUBACK 0010
}

TEST(Ack, MQTT_2_2_2_2_reserved_flags_rejected_by_header_parser) {
    const auto h = parse_fixed_header(hex("41 02"));
    EXPECT_EQ(h.status, HeaderParse::Status::error);
    EXPECT_EQ(h.error, err(Errc::bad_flags));
}

TEST(Ack, wrong_remaining_length) {
    for (const char* wire : {"40 03 00 01 00", "50 01 00", "62 00", "70 04 00 01 00 00", "B0 03 00 01 00"}) {
        SCOPED_TRACE(wire);
        EXPECT_EQ(decode_error(hex(wire)), err(Errc::bad_remaining_length));
    }
    const auto h = parse_fixed_header(hex("40 03"));
    EXPECT_EQ(h.status, HeaderParse::Status::error);
    EXPECT_EQ(h.error, err(Errc::bad_remaining_length));
}

TEST(Ack, MQTT_2_3_1_6_packet_id_zero_rejected) {
    for (const char* wire : {"40 02 00 00", "50 02 00 00", "62 02 00 00", "70 02 00 00", "B0 02 00 00"}) {
        SCOPED_TRACE(wire);
        EXPECT_EQ(decode_error(hex(wire)), err(Errc::zero_packet_id));
    }
}

TEST(Ack, truncated_and_trailing) {
    EXPECT_EQ(decode_error(hex("40 02 00")), err(Errc::truncated_packet));
    EXPECT_EQ(decode_error(hex("40 02 00 01 40")), err(Errc::trailing_bytes));
}

TEST(Ack, encoder_rejects_packet_id_zero) {
    EXPECT_EQ(encode_error(Puback{0}), err(Errc::zero_packet_id));
    EXPECT_EQ(encode_error(Pubrec{0}), err(Errc::zero_packet_id));
    EXPECT_EQ(encode_error(Pubrel{0}), err(Errc::zero_packet_id));
    EXPECT_EQ(encode_error(Pubcomp{0}), err(Errc::zero_packet_id));
    EXPECT_EQ(encode_error(Unsuback{0}), err(Errc::zero_packet_id));
}

}  // namespace
}  // namespace nmqtt::test
