// UNSUBSCRIBE (section 3.10): golden bytes, malformed input, refused requests.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "codec_check.hpp"

namespace nmqtt::test {
namespace {

using protocol::Unsubscribe;

std::vector<std::string> filters_of(const protocol::Packet& p) {
    std::vector<std::string> out;
    protocol::for_each_filter(std::get<Unsubscribe>(p), [&](std::string_view f) { out.emplace_back(f); });
    return out;
}

const auto two_filter_unsubscribe = hex(
    "A2 0A"            // UNSUBSCRIBE, flags 0010 [MQTT-3.10.1-1]; remaining length 10
    "00 0B"            // packet id 11
    "00 03 61 2F 2B"   // filter "a/+" (no QoS byte) [MQTT-3.10.3-1]
    "00 01 23");       // filter "#"

TEST(Unsubscribe, MQTT_3_10_3_1_two_filters_golden_encode) {
    const std::string_view filters[] = {"a/+", "#"};
    Unsubscribe u;
    u.packet_id = 11;
    u.filters = filters;
    expect_encodes(u, two_filter_unsubscribe);
}

TEST(Unsubscribe, MQTT_3_10_1_1_two_filters_golden_decode) {
    const auto p = expect_decodes(two_filter_unsubscribe);
    EXPECT_EQ(std::get<Unsubscribe>(p).packet_id, 11);
    EXPECT_TRUE(std::get<Unsubscribe>(p).filters.empty());
    EXPECT_EQ(filters_of(p), (std::vector<std::string>{"a/+", "#"}));
}

TEST(Unsubscribe, single_filter_golden) {
    const auto wire = hex("A2 05 00 01 00 01 61");  // id 1, filter "a"
    const std::string_view filters[] = {"a"};
    Unsubscribe u;
    u.packet_id = 1;
    u.filters = filters;
    expect_encodes(u, wire);
    EXPECT_EQ(filters_of(expect_decodes(wire)), (std::vector<std::string>{"a"}));
}

TEST(Unsubscribe, MQTT_2_2_2_2_flags_must_be_0010) {
    EXPECT_EQ(decode_error(hex("A0 05 00 01 00 01 61")), err(Errc::bad_flags));
    EXPECT_EQ(decode_error(hex("A3 05 00 01 00 01 61")), err(Errc::bad_flags));
}

TEST(Unsubscribe, MQTT_3_10_3_2_no_filter_rejected) {
    EXPECT_EQ(decode_error(hex("A2 02 00 01")), err(Errc::empty_payload));
}

TEST(Unsubscribe, MQTT_2_3_1_1_packet_id_zero_rejected) {
    EXPECT_EQ(decode_error(hex("A2 05 00 00 00 01 61")), err(Errc::zero_packet_id));
}

TEST(Unsubscribe, bad_filters_rejected) {
    EXPECT_EQ(decode_error(hex("A2 06 00 01 00 02 23 61")), err(Errc::bad_topic_filter));  // "#a"
    EXPECT_EQ(decode_error(hex("A2 04 00 01 00 00")), err(Errc::bad_topic_filter));        // ""
    EXPECT_EQ(decode_error(hex("A2 06 00 01 00 02 C3 28")), err(Errc::bad_utf8));          // bad continuation
}

TEST(Unsubscribe, truncated) {
    EXPECT_EQ(decode_error(hex("A2 05 00 01 00 05 61")), err(Errc::truncated_packet));
    EXPECT_EQ(decode_error(hex("A2 06 00 01 00 01 61 00")), err(Errc::truncated_packet));  // half a length
}

TEST(Unsubscribe, MQTT_3_10_3_2_encoder_rejects_empty_list) {
    Unsubscribe u;
    u.packet_id = 1;
    EXPECT_EQ(encode_error(u), err(Errc::empty_payload));
}

TEST(Unsubscribe, encoder_rejects_bad_filter_and_zero_id) {
    const std::string_view bad[] = {"a", "a/#/b"};
    Unsubscribe u;
    u.packet_id = 1;
    u.filters = bad;
    EXPECT_EQ(encode_error(u), err(Errc::bad_topic_filter));
    const std::string_view good[] = {"a"};
    u.filters = good;
    u.packet_id = 0;
    EXPECT_EQ(encode_error(u), err(Errc::zero_packet_id));
}

}  // namespace
}  // namespace nmqtt::test
