// SUBSCRIBE (section 3.8): golden bytes, filter and QoS checks, malformed input, refused requests.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "codec_check.hpp"

namespace nmqtt::test {
namespace {

using protocol::Subscribe;
using protocol::SubscribeEntry;

std::vector<std::pair<std::string, QoS>> entries_of(const protocol::Packet& p) {
    std::vector<std::pair<std::string, QoS>> out;
    protocol::for_each_entry(std::get<Subscribe>(p),
                             [&](const SubscribeEntry& e) { out.emplace_back(std::string(e.filter), e.qos); });
    return out;
}

const auto two_filter_subscribe = hex(
    "82 0C"            // SUBSCRIBE, flags 0010 [MQTT-3.8.1-1]; remaining length 12
    "00 0A"            // packet id 10
    "00 03 61 2F 2B"   // filter "a/+"
    "01"               // requested QoS 1
    "00 01 23"         // filter "#"
    "02");             // requested QoS 2

TEST(Subscribe, MQTT_3_8_1_1_two_filters_golden_encode) {
    const SubscribeEntry entries[] = {{"a/+", QoS::at_least_once}, {"#", QoS::exactly_once}};
    Subscribe s;
    s.packet_id = 10;
    s.entries = entries;
    expect_encodes(s, two_filter_subscribe);
}

TEST(Subscribe, two_filters_golden_decode) {
    const auto p = expect_decodes(two_filter_subscribe);
    EXPECT_EQ(std::get<Subscribe>(p).packet_id, 10);
    EXPECT_TRUE(std::get<Subscribe>(p).entries.empty());
    const std::vector<std::pair<std::string, QoS>> expected = {{"a/+", QoS::at_least_once},
                                                               {"#", QoS::exactly_once}};
    EXPECT_EQ(entries_of(p), expected);
}

TEST(Subscribe, MQTT_3_8_3_4_single_filter_qos0_golden) {
    const auto wire = hex("82 06"        // SUBSCRIBE; remaining length 6
                          "12 34"        // packet id 0x1234
                          "00 01 61"     // filter "a"
                          "00");         // requested QoS 0: top six bits 0
    const SubscribeEntry entries[] = {{"a", QoS::at_most_once}};
    Subscribe s;
    s.packet_id = 0x1234;
    s.entries = entries;
    expect_encodes(s, wire);
    const std::vector<std::pair<std::string, QoS>> expected = {{"a", QoS::at_most_once}};
    EXPECT_EQ(entries_of(expect_decodes(wire)), expected);
}

TEST(Subscribe, dollar_and_multilevel_filters_golden) {
    const auto wire = hex("82 13"                      // remaining length 19
                          "00 01"                      // packet id 1
                          "00 06 24 53 59 53 2F 23 01" // "$SYS/#" QoS 1
                          "00 05 2B 2F 2B 2F 23 00");  // "+/+/#" QoS 0
    const SubscribeEntry entries[] = {{"$SYS/#", QoS::at_least_once}, {"+/+/#", QoS::at_most_once}};
    Subscribe s;
    s.packet_id = 1;
    s.entries = entries;
    expect_encodes(s, wire);
    EXPECT_EQ(entries_of(expect_decodes(wire)).size(), 2u);
}

// ---- malformed input ---------------------------------------------------------------------------------

TEST(Subscribe, MQTT_2_2_2_2_flags_must_be_0010) {
    EXPECT_EQ(decode_error(hex("80 06 00 01 00 01 61 00")), err(Errc::bad_flags));
    EXPECT_EQ(decode_error(hex("83 06 00 01 00 01 61 00")), err(Errc::bad_flags));
}

TEST(Subscribe, MQTT_2_3_1_1_packet_id_zero_rejected) {
    EXPECT_EQ(decode_error(hex("82 06 00 00 00 01 61 00")), err(Errc::zero_packet_id));
}

TEST(Subscribe, MQTT_3_8_3_3_no_filter_rejected) {
    EXPECT_EQ(decode_error(hex("82 02 00 01")), err(Errc::empty_payload));
}

TEST(Subscribe, MQTT_3_8_3_4_requested_qos_3_or_reserved_bits_rejected) {
    EXPECT_EQ(decode_error(hex("82 06 00 01 00 01 61 03")), err(Errc::bad_qos));
    EXPECT_EQ(decode_error(hex("82 06 00 01 00 01 61 04")), err(Errc::bad_qos));
    EXPECT_EQ(decode_error(hex("82 06 00 01 00 01 61 81")), err(Errc::bad_qos));
}

TEST(Subscribe, MQTT_4_7_1_2_bad_filters_rejected) {
    EXPECT_EQ(decode_error(hex("82 07 00 01 00 02 61 23 00")), err(Errc::bad_topic_filter));  // "a#"
    EXPECT_EQ(decode_error(hex("82 07 00 01 00 02 61 2B 00")), err(Errc::bad_topic_filter));  // "a+"
    EXPECT_EQ(decode_error(hex("82 05 00 01 00 00 00")), err(Errc::bad_topic_filter));        // ""
    EXPECT_EQ(decode_error(hex("82 07 00 01 00 02 61 FF 00")), err(Errc::bad_utf8));
}

TEST(Subscribe, truncated_entries) {
    EXPECT_EQ(decode_error(hex("82 05 00 01 00 01 61")), err(Errc::truncated_packet));        // QoS missing
    EXPECT_EQ(decode_error(hex("82 06 00 01 00 05 61 00")), err(Errc::truncated_packet));     // filter cut
    EXPECT_EQ(decode_error(hex("82 07 00 01 00 01 61 00 00")), err(Errc::truncated_packet));  // half a length
    EXPECT_EQ(decode_error(hex("82 01 00")), err(Errc::truncated_packet));                    // half an id
}

// ---- requests the encoder refuses --------------------------------------------------------------------

TEST(Subscribe, MQTT_3_8_3_3_encoder_rejects_empty_list) {
    Subscribe s;
    s.packet_id = 1;
    EXPECT_EQ(encode_error(s), err(Errc::empty_payload));
}

TEST(Subscribe, MQTT_2_3_1_1_encoder_rejects_packet_id_zero) {
    const SubscribeEntry entries[] = {{"a", QoS::at_most_once}};
    Subscribe s;
    s.entries = entries;
    EXPECT_EQ(encode_error(s), err(Errc::zero_packet_id));
}

TEST(Subscribe, MQTT_3_8_3_4_encoder_rejects_qos3) {
    const SubscribeEntry entries[] = {{"a", QoS::at_most_once}, {"b", static_cast<QoS>(3)}};
    Subscribe s;
    s.packet_id = 1;
    s.entries = entries;
    EXPECT_EQ(encode_error(s), err(Errc::bad_qos));
}

TEST(Subscribe, MQTT_4_7_1_3_encoder_rejects_bad_filter) {
    for (const char* filter : {"a/#/b", "a#", "a+", "a/+b", "#/", ""}) {
        SCOPED_TRACE(filter);
        const SubscribeEntry entries[] = {{filter, QoS::at_most_once}};
        Subscribe s;
        s.packet_id = 1;
        s.entries = entries;
        EXPECT_EQ(encode_error(s), err(Errc::bad_topic_filter));
    }
}

TEST(Subscribe, MQTT_3_8_3_1_encoder_rejects_bad_utf8_filter) {
    const SubscribeEntry entries[] = {{std::string_view("a\0", 2), QoS::at_most_once}};
    Subscribe s;
    s.packet_id = 1;
    s.entries = entries;
    EXPECT_EQ(encode_error(s), err(Errc::bad_utf8));
}

}  // namespace
}  // namespace nmqtt::test
