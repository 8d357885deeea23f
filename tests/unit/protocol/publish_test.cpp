// PUBLISH (section 3.3): golden bytes for QoS 0/1/2 and the flag bits, malformed input, refused requests.
#include <gtest/gtest.h>

#include <string>

#include "codec_check.hpp"

namespace nmqtt::test {
namespace {

using protocol::Publish;

const auto qos0_publish = hex(
    "30 07"           // PUBLISH, DUP 0, QoS 00, RETAIN 0; remaining length 7
    "00 03 61 2F 62"  // topic "a/b"; no packet id for QoS 0 [MQTT-2.3.1-5]
    "68 69");         // payload "hi"

TEST(Publish, MQTT_2_3_1_5_qos0_golden_encode) {
    expect_encodes(Publish{"a/b", "hi", QoS::at_most_once, false, false, 0}, qos0_publish);
}

TEST(Publish, MQTT_2_3_1_5_qos0_golden_decode) {
    const auto p = std::get<Publish>(expect_decodes(qos0_publish));
    EXPECT_EQ(p.topic, "a/b");
    EXPECT_EQ(p.payload, "hi");
    EXPECT_EQ(p.qos, QoS::at_most_once);
    EXPECT_FALSE(p.retain);
    EXPECT_FALSE(p.dup);
    EXPECT_EQ(p.packet_id, 0);
    // Zero-copy: the views point into the input.
    EXPECT_EQ(static_cast<const void*>(p.topic.data()), static_cast<const void*>(qos0_publish.data() + 4));
    EXPECT_EQ(static_cast<const void*>(p.payload.data()), static_cast<const void*>(qos0_publish.data() + 7));
}

const auto qos1_dup_retain_publish = hex(
    "3B 08"           // PUBLISH 0011 1011: DUP 1, QoS 01, RETAIN 1; remaining length 8
    "00 03 61 2F 62"  // topic "a/b"
    "12 34"           // packet id 0x1234
    "78");            // payload "x"

TEST(Publish, MQTT_3_3_1_1_qos1_dup_retain_golden) {
    expect_encodes(Publish{"a/b", "x", QoS::at_least_once, true, true, 0x1234}, qos1_dup_retain_publish);
    const auto p = std::get<Publish>(expect_decodes(qos1_dup_retain_publish));
    EXPECT_EQ(p.topic, "a/b");
    EXPECT_EQ(p.payload, "x");
    EXPECT_EQ(p.qos, QoS::at_least_once);
    EXPECT_TRUE(p.retain);
    EXPECT_TRUE(p.dup);
    EXPECT_EQ(p.packet_id, 0x1234);
}

const auto qos2_empty_publish = hex(
    "34 05"           // PUBLISH 0011 0100: QoS 10; remaining length 5
    "00 01 74"        // topic "t"
    "FF FF");         // packet id 65535; empty payload

TEST(Publish, qos2_empty_payload_golden) {
    expect_encodes(Publish{"t", "", QoS::exactly_once, false, false, 65535}, qos2_empty_publish);
    const auto p = std::get<Publish>(expect_decodes(qos2_empty_publish));
    EXPECT_EQ(p.qos, QoS::exactly_once);
    EXPECT_EQ(p.packet_id, 65535);
    EXPECT_TRUE(p.payload.empty());
}

TEST(Publish, qos0_retain_golden) {
    const auto wire = hex("31 03 00 01 74");  // RETAIN 1, topic "t", no payload
    expect_encodes(Publish{"t", "", QoS::at_most_once, true, false, 0}, wire);
    EXPECT_TRUE(std::get<Publish>(expect_decodes(wire)).retain);
}

TEST(Publish, binary_payload_and_multibyte_topic_golden) {
    const auto wire = hex("30 0C"                    // remaining length 12
                          "00 06 C3 A9 2F E2 82 AC"  // topic "é/€": C3 A9, 2F, E2 82 AC
                          "00 FF 00 0A");            // payload 00 FF 00 0A
    const std::string payload("\x00\xFF\x00\x0A", 4);
    expect_encodes(Publish{"\xC3\xA9/\xE2\x82\xAC", payload, QoS::at_most_once, false, false, 0}, wire);
    const auto p = std::get<Publish>(expect_decodes(wire));
    EXPECT_EQ(p.topic, "\xC3\xA9/\xE2\x82\xAC");
    EXPECT_EQ(p.payload, payload);
}

TEST(Publish, payload_of_200_bytes_uses_two_byte_remaining_length) {
    const std::string payload(200, 'p');
    const auto wire = cat(hex("30 CB 01"  // remaining length 203 = 75 + 128 * 1: CB (75 | 80), 01
                              "00 01 74"),
                          bytes_of(payload));
    expect_encodes(Publish{"t", payload, QoS::at_most_once, false, false, 0}, wire);
    EXPECT_EQ(std::get<Publish>(expect_decodes(wire)).payload, payload);
}

TEST(Publish, MQTT_1_5_3_3_bom_in_topic_is_kept) {
    const auto wire = hex("30 06 00 04 EF BB BF 61");  // topic U+FEFF "a"
    const auto p = std::get<Publish>(expect_decodes(wire));
    EXPECT_EQ(p.topic, "\xEF\xBB\xBF" "a");
}

TEST(Publish, dollar_topic_decodes) {
    const auto wire = hex("30 08 00 06 24 53 59 53 2F 78");  // "$SYS/x"
    EXPECT_EQ(std::get<Publish>(expect_decodes(wire)).topic, "$SYS/x");
}

// ---- malformed input ---------------------------------------------------------------------------------

TEST(Publish, MQTT_3_3_1_4_qos3_rejected) {
    EXPECT_EQ(decode_error(hex("36 07 00 03 61 2F 62 00 01")), err(Errc::bad_qos));
    EXPECT_EQ(decode_error(hex("3F 07 00 03 61 2F 62 00 01")), err(Errc::bad_qos));
    const auto header = protocol::parse_fixed_header(hex("36 07"));
    EXPECT_EQ(header.status, protocol::HeaderParse::Status::error);
    EXPECT_EQ(header.error, err(Errc::bad_qos));
}

TEST(Publish, MQTT_3_3_1_2_dup_on_qos0_rejected) {
    EXPECT_EQ(decode_error(hex("38 05 00 03 61 2F 62")), err(Errc::bad_flags));
    EXPECT_EQ(decode_error(hex("39 05 00 03 61 2F 62")), err(Errc::bad_flags));
}

TEST(Publish, MQTT_2_3_1_1_qos1_packet_id_zero_rejected) {
    EXPECT_EQ(decode_error(hex("32 07 00 03 61 2F 62 00 00")), err(Errc::zero_packet_id));
    EXPECT_EQ(decode_error(hex("34 07 00 03 61 2F 62 00 00")), err(Errc::zero_packet_id));
}

TEST(Publish, MQTT_3_3_2_2_wildcard_in_topic_rejected) {
    EXPECT_EQ(decode_error(hex("30 05 00 03 61 2F 23")), err(Errc::bad_topic_name));  // "a/#"
    EXPECT_EQ(decode_error(hex("30 05 00 03 61 2F 2B")), err(Errc::bad_topic_name));  // "a/+"
    EXPECT_EQ(decode_error(hex("30 03 00 01 23")), err(Errc::bad_topic_name));        // "#"
}

TEST(Publish, MQTT_4_7_3_1_empty_topic_rejected) {
    EXPECT_EQ(decode_error(hex("30 04 00 00 68 69")), err(Errc::bad_topic_name));
}

TEST(Publish, MQTT_1_5_3_1_bad_utf8_topic_rejected) {
    EXPECT_EQ(decode_error(hex("30 04 00 02 61 FF")), err(Errc::bad_utf8));        // FF never in UTF-8
    EXPECT_EQ(decode_error(hex("30 05 00 03 ED A0 80")), err(Errc::bad_utf8));     // surrogate U+D800
    EXPECT_EQ(decode_error(hex("30 04 00 02 C0 AF")), err(Errc::bad_utf8));        // overlong '/'
    EXPECT_EQ(decode_error(hex("30 04 00 02 61 E2")), err(Errc::bad_utf8));        // truncated sequence
}

TEST(Publish, MQTT_1_5_3_2_nul_in_topic_rejected) {
    EXPECT_EQ(decode_error(hex("30 05 00 03 61 00 62")), err(Errc::bad_utf8));
}

TEST(Publish, truncated_fields) {
    EXPECT_EQ(decode_error(hex("30 01 00")), err(Errc::truncated_packet));              // topic length cut
    EXPECT_EQ(decode_error(hex("30 04 00 05 61 62")), err(Errc::truncated_packet));     // topic cut
    EXPECT_EQ(decode_error(hex("32 05 00 03 61 2F 62")), err(Errc::truncated_packet));  // QoS 1, no id
    EXPECT_EQ(decode_error(hex("32 06 00 03 61 2F 62 01")), err(Errc::truncated_packet));  // half an id
    EXPECT_EQ(decode_error(hex("30 00")), err(Errc::truncated_packet));                 // nothing at all
}

TEST(Publish, decode_packet_with_missing_or_extra_bytes) {
    EXPECT_EQ(decode_error(hex("30 07 00 03 61 2F 62 68")), err(Errc::truncated_packet));
    EXPECT_EQ(decode_error(hex("30 07 00 03 61 2F 62 68 69 00")), err(Errc::trailing_bytes));
}

// ---- requests the encoder refuses --------------------------------------------------------------------

TEST(Publish, MQTT_3_3_2_2_encoder_rejects_wildcard_topic) {
    EXPECT_EQ(encode_error(Publish{"a/+", "x", QoS::at_most_once, false, false, 0}), err(Errc::bad_topic_name));
    EXPECT_EQ(encode_error(Publish{"a/#", "x", QoS::at_most_once, false, false, 0}), err(Errc::bad_topic_name));
    EXPECT_EQ(encode_error(Publish{"#", "x", QoS::at_least_once, false, false, 1}), err(Errc::bad_topic_name));
}

TEST(Publish, MQTT_4_7_3_1_encoder_rejects_empty_topic) {
    EXPECT_EQ(encode_error(Publish{"", "x", QoS::at_most_once, false, false, 0}), err(Errc::bad_topic_name));
}

TEST(Publish, MQTT_1_5_3_1_encoder_rejects_bad_utf8_topic) {
    EXPECT_EQ(encode_error(Publish{"a\xFF", "x", QoS::at_most_once, false, false, 0}), err(Errc::bad_utf8));
    EXPECT_EQ(encode_error(Publish{std::string_view("a\0", 2), "x", QoS::at_most_once, false, false, 0}),
              err(Errc::bad_utf8));
}

TEST(Publish, MQTT_3_3_1_4_encoder_rejects_qos3) {
    EXPECT_EQ(encode_error(Publish{"t", "x", static_cast<QoS>(3), false, false, 1}), err(Errc::bad_qos));
}

TEST(Publish, MQTT_2_3_1_1_encoder_rejects_packet_id_zero) {
    EXPECT_EQ(encode_error(Publish{"t", "x", QoS::at_least_once, false, false, 0}), err(Errc::zero_packet_id));
    EXPECT_EQ(encode_error(Publish{"t", "x", QoS::exactly_once, false, false, 0}), err(Errc::zero_packet_id));
}

TEST(Publish, MQTT_2_3_1_5_encoder_rejects_packet_id_on_qos0) {
    EXPECT_EQ(encode_error(Publish{"t", "x", QoS::at_most_once, false, false, 7}), err(Errc::invalid_argument));
}

TEST(Publish, MQTT_3_3_1_2_encoder_rejects_dup_on_qos0) {
    EXPECT_EQ(encode_error(Publish{"t", "x", QoS::at_most_once, false, true, 0}), err(Errc::invalid_argument));
}

TEST(Publish, remaining_length_limit) {
    // Topic "t" takes 3 bytes; a payload of max - 3 makes a remaining length of exactly 268,435,455.
    std::string payload(protocol::max_remaining_length - 3, 'p');
    const auto at_limit = protocol::encoded_size(Publish{"t", payload, QoS::at_most_once, false, false, 0});
    ASSERT_TRUE(at_limit.has_value());
    EXPECT_EQ(*at_limit, 1 + 4 + std::size_t{protocol::max_remaining_length});
    payload.push_back('p');
    const auto over = protocol::encoded_size(Publish{"t", payload, QoS::at_most_once, false, false, 0});
    ASSERT_FALSE(over.has_value());
    EXPECT_EQ(over.error(), err(Errc::packet_too_large));
}

}  // namespace
}  // namespace nmqtt::test
