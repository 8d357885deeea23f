// PINGREQ, PINGRESP, DISCONNECT (sections 3.12-3.14), and the reserved packet types 0 and 15.
#include <gtest/gtest.h>

#include "codec_check.hpp"

namespace nmqtt::test {
namespace {

using namespace protocol;

TEST(Ping, pingreq_golden) {
    const auto wire = hex("C0 00");  // PINGREQ, flags 0000, remaining length 0
    expect_encodes(Pingreq{}, wire);
    EXPECT_TRUE(std::holds_alternative<Pingreq>(expect_decodes(wire)));
}

TEST(Ping, MQTT_3_12_4_1_pingresp_golden) {
    const auto wire = hex("D0 00");  // PINGRESP, flags 0000, remaining length 0
    expect_encodes(Pingresp{}, wire);
    EXPECT_TRUE(std::holds_alternative<Pingresp>(expect_decodes(wire)));
}

TEST(Disconnect, MQTT_3_14_1_1_golden) {
    const auto wire = hex("E0 00");  // DISCONNECT, flags 0000, remaining length 0
    expect_encodes(Disconnect{}, wire);
    EXPECT_TRUE(std::holds_alternative<Disconnect>(expect_decodes(wire)));
}

TEST(Ping, MQTT_2_2_2_2_reserved_flags_rejected) {
    EXPECT_EQ(decode_error(hex("C1 00")), err(Errc::bad_flags));
    EXPECT_EQ(decode_error(hex("D8 00")), err(Errc::bad_flags));
    EXPECT_EQ(decode_error(hex("E2 00")), err(Errc::bad_flags));
}

TEST(Ping, nonzero_remaining_length_rejected) {
    EXPECT_EQ(decode_error(hex("C0 01 00")), err(Errc::bad_remaining_length));
    EXPECT_EQ(decode_error(hex("D0 01 00")), err(Errc::bad_remaining_length));
    EXPECT_EQ(decode_error(hex("E0 02 00 00")), err(Errc::bad_remaining_length));
}

TEST(Ping, trailing_bytes_after_whole_packet) {
    EXPECT_EQ(decode_error(hex("D0 00 D0")), err(Errc::trailing_bytes));
}

TEST(PacketType, MQTT_4_8_0_1_types_0_and_15_rejected) {
    EXPECT_EQ(decode_error(hex("00 00")), err(Errc::bad_packet_type));
    EXPECT_EQ(decode_error(hex("F0 00")), err(Errc::bad_packet_type));
    EXPECT_EQ(decode_error(hex("0F 02 00 01")), err(Errc::bad_packet_type));
    EXPECT_EQ(decode_error(hex("FF 02 00 01")), err(Errc::bad_packet_type));
    for (const char* wire : {"00 00", "F0 00"}) {
        const auto h = parse_fixed_header(hex(wire));
        EXPECT_EQ(h.status, HeaderParse::Status::error);
        EXPECT_EQ(h.error, err(Errc::bad_packet_type));
    }
}

TEST(PacketType, every_type_value_maps_to_its_variant_index) {
    EXPECT_EQ(type_of(Connect{}), PacketType::connect);
    EXPECT_EQ(type_of(Connack{}), PacketType::connack);
    EXPECT_EQ(type_of(Publish{}), PacketType::publish);
    EXPECT_EQ(type_of(Puback{}), PacketType::puback);
    EXPECT_EQ(type_of(Pubrec{}), PacketType::pubrec);
    EXPECT_EQ(type_of(Pubrel{}), PacketType::pubrel);
    EXPECT_EQ(type_of(Pubcomp{}), PacketType::pubcomp);
    EXPECT_EQ(type_of(Subscribe{}), PacketType::subscribe);
    EXPECT_EQ(type_of(Suback{}), PacketType::suback);
    EXPECT_EQ(type_of(Unsubscribe{}), PacketType::unsubscribe);
    EXPECT_EQ(type_of(Unsuback{}), PacketType::unsuback);
    EXPECT_EQ(type_of(Pingreq{}), PacketType::pingreq);
    EXPECT_EQ(type_of(Pingresp{}), PacketType::pingresp);
    EXPECT_EQ(type_of(Disconnect{}), PacketType::disconnect);
    EXPECT_EQ(static_cast<int>(PacketType::disconnect), 14);
}

}  // namespace
}  // namespace nmqtt::test
