// CONNECT (section 3.1): golden bytes from the standard, malformed input, requests the encoder refuses.
#include <gtest/gtest.h>

#include <string>

#include "codec_check.hpp"

namespace nmqtt::test {
namespace {

using protocol::Connect;
using protocol::Will;

// Client id "ab", keep alive 60 s, clean session, nothing else.
const auto minimal_connect = hex(
    "10 0E"                 // CONNECT, flags 0000; remaining length 14
    "00 04 4D 51 54 54"     // protocol name "MQTT" [MQTT-3.1.2-1]
    "04"                    // protocol level 4
    "02"                    // connect flags: clean session only; bit 0 reserved = 0 [MQTT-3.1.2-3]
    "00 3C"                 // keep alive 60
    "00 02 61 62");         // client id "ab"

// Every field: client id "c", will "w/t" = "bye" QoS 1 retained, user "u", password 70 00 (binary, holds 00),
// clean session 0, keep alive 10. Fields in the order of [MQTT-3.1.3-1].
const auto full_connect = hex(
    "10 1E"                 // CONNECT; remaining length 30 = 10 (variable header) + 20 (payload)
    "00 04 4D 51 54 54 04"  // "MQTT", level 4
    "EC"                    // 1110 1100: user name, password, will retain, will QoS 01, will flag, clean 0
    "00 0A"                 // keep alive 10
    "00 01 63"              // client id "c"
    "00 03 77 2F 74"        // will topic "w/t"
    "00 03 62 79 65"        // will message "bye"
    "00 01 75"              // user name "u"
    "00 02 70 00");         // password 70 00

Connect full_connect_packet() {
    Connect c;
    c.client_id = "c";
    c.keepalive = 10;
    c.clean_session = false;
    c.will = Will{"w/t", "bye", QoS::at_least_once, true};
    c.username = "u";
    c.password = std::string_view("p\0", 2);
    return c;
}

TEST(Connect, MQTT_3_1_2_1_minimal_golden_encode) {
    Connect c;
    c.client_id = "ab";
    c.keepalive = 60;
    c.clean_session = true;
    expect_encodes(c, minimal_connect);
}

TEST(Connect, minimal_golden_decode) {
    const auto p = expect_decodes(minimal_connect);
    const auto& c = std::get<Connect>(p);
    EXPECT_EQ(c.client_id, "ab");
    EXPECT_EQ(c.keepalive, 60);
    EXPECT_TRUE(c.clean_session);
    EXPECT_FALSE(c.will.has_value());
    EXPECT_FALSE(c.username.has_value());
    EXPECT_FALSE(c.password.has_value());
}

TEST(Connect, MQTT_3_1_3_1_every_field_golden_encode) {
    expect_encodes(full_connect_packet(), full_connect);
}

TEST(Connect, MQTT_3_1_2_9_every_field_golden_decode) {
    const auto p = expect_decodes(full_connect);
    const auto& c = std::get<Connect>(p);
    EXPECT_EQ(c.client_id, "c");
    EXPECT_EQ(c.keepalive, 10);
    EXPECT_FALSE(c.clean_session);
    ASSERT_TRUE(c.will.has_value());
    EXPECT_EQ(c.will->topic, "w/t");
    EXPECT_EQ(c.will->message, "bye");
    EXPECT_EQ(c.will->qos, QoS::at_least_once);
    EXPECT_TRUE(c.will->retain);
    ASSERT_TRUE(c.username.has_value());
    EXPECT_EQ(*c.username, "u");
    ASSERT_TRUE(c.password.has_value());
    EXPECT_EQ(*c.password, std::string_view("p\0", 2));
}

const auto empty_id_connect = hex(
    "10 0C"                 // CONNECT; remaining length 12
    "00 04 4D 51 54 54 04"  // "MQTT", level 4
    "02"                    // clean session
    "00 00"                 // keep alive 0 (disabled)
    "00 00");               // client id "" : the field is present even when empty [MQTT-3.1.3-3]

TEST(Connect, MQTT_3_1_3_3_empty_client_id_is_present) {
    Connect c;
    c.client_id = "";
    c.keepalive = 0;
    expect_encodes(c, empty_id_connect);
    const auto p = expect_decodes(empty_id_connect);
    EXPECT_EQ(std::get<Connect>(p).client_id, "");
    EXPECT_EQ(std::get<Connect>(p).keepalive, 0);
}

const auto empty_user_connect = hex(
    "10 0F"                 // CONNECT; remaining length 15
    "00 04 4D 51 54 54 04"  // "MQTT", level 4
    "82"                    // user name flag, clean session; no password flag [MQTT-3.1.2-20]
    "FF FF"                 // keep alive 65535 (most significant byte first)
    "00 01 63"              // client id "c"
    "00 00");               // user name "" (present, empty) [MQTT-3.1.2-19]

TEST(Connect, MQTT_3_1_2_19_empty_user_name_without_password) {
    Connect c;
    c.client_id = "c";
    c.keepalive = 65535;
    c.username = "";
    expect_encodes(c, empty_user_connect);
    const auto p = expect_decodes(empty_user_connect);
    const auto& d = std::get<Connect>(p);
    ASSERT_TRUE(d.username.has_value());
    EXPECT_EQ(*d.username, "");
    EXPECT_FALSE(d.password.has_value());
    EXPECT_EQ(d.keepalive, 65535);
}

const auto will_qos2_connect = hex(
    "10 12"                 // CONNECT; remaining length 18
    "00 04 4D 51 54 54 04"  // "MQTT", level 4
    "14"                    // 0001 0100: will QoS 10, will flag; will retain 0, clean session 0
    "00 05"                 // keep alive 5
    "00 01 63"              // client id "c"
    "00 01 77"              // will topic "w"
    "00 00");               // will message "" (empty is allowed)

TEST(Connect, MQTT_3_1_2_14_will_qos2_empty_message) {
    Connect c;
    c.client_id = "c";
    c.keepalive = 5;
    c.clean_session = false;
    c.will = Will{"w", "", QoS::exactly_once, false};
    expect_encodes(c, will_qos2_connect);
    const auto p = expect_decodes(will_qos2_connect);
    const auto& d = std::get<Connect>(p);
    ASSERT_TRUE(d.will.has_value());
    EXPECT_EQ(d.will->qos, QoS::exactly_once);
    EXPECT_FALSE(d.will->retain);
    EXPECT_EQ(d.will->message, "");
}

TEST(Connect, long_client_id_uses_two_byte_remaining_length) {
    const std::string id(200, 'x');
    Connect c;
    c.client_id = id;
    c.keepalive = 60;
    const auto golden = cat(hex("10 D4 01"            // remaining length 212 = 0x54 | 0x80, 0x01
                                "00 04 4D 51 54 54 04 02 00 3C"
                                "00 C8"),              // client id length 200
                            bytes_of(id));
    expect_encodes(c, golden);
    EXPECT_EQ(std::get<Connect>(expect_decodes(golden)).client_id, id);
}

// ---- malformed input ---------------------------------------------------------------------------------

TEST(Connect, MQTT_2_2_2_2_reserved_fixed_header_flags) {
    EXPECT_EQ(decode_error(hex("11 0E 00 04 4D 51 54 54 04 02 00 3C 00 02 61 62")), err(Errc::bad_flags));
    EXPECT_EQ(decode_error(hex("18 0E 00 04 4D 51 54 54 04 02 00 3C 00 02 61 62")), err(Errc::bad_flags));
}

TEST(Connect, MQTT_3_1_2_1_wrong_protocol_name) {
    // "MQIsdp" level 3 (MQTT 3.1)
    EXPECT_EQ(decode_error(hex("10 10 00 06 4D 51 49 73 64 70 03 02 00 3C 00 02 61 62")), err(Errc::bad_protocol));
    // "mqtt" in lower case
    EXPECT_EQ(decode_error(hex("10 0E 00 04 6D 71 74 74 04 02 00 3C 00 02 61 62")), err(Errc::bad_protocol));
}

TEST(Connect, MQTT_3_1_2_2_wrong_protocol_level) {
    EXPECT_EQ(decode_error(hex("10 0E 00 04 4D 51 54 54 05 02 00 3C 00 02 61 62")), err(Errc::bad_protocol));
    EXPECT_EQ(decode_error(hex("10 0E 00 04 4D 51 54 54 03 02 00 3C 00 02 61 62")), err(Errc::bad_protocol));
}

TEST(Connect, MQTT_3_1_2_3_reserved_flag_bit_set) {
    EXPECT_EQ(decode_error(hex("10 0E 00 04 4D 51 54 54 04 03 00 3C 00 02 61 62")), err(Errc::bad_connect_flags));
}

TEST(Connect, MQTT_3_1_2_13_will_qos_without_will) {
    // 0A = will QoS 01 + clean session, will flag 0
    EXPECT_EQ(decode_error(hex("10 0E 00 04 4D 51 54 54 04 0A 00 3C 00 02 61 62")), err(Errc::bad_connect_flags));
}

TEST(Connect, MQTT_3_1_2_15_will_retain_without_will) {
    // 22 = will retain + clean session, will flag 0
    EXPECT_EQ(decode_error(hex("10 0E 00 04 4D 51 54 54 04 22 00 3C 00 02 61 62")), err(Errc::bad_connect_flags));
}

TEST(Connect, MQTT_3_1_2_14_will_qos3_rejected) {
    // 1E = will QoS 11, will flag, clean session; will "w" = ""
    EXPECT_EQ(decode_error(hex("10 13 00 04 4D 51 54 54 04 1E 00 3C 00 02 61 62 00 01 77 00 00")),
              err(Errc::bad_qos));
}

TEST(Connect, MQTT_3_1_2_22_password_without_user_name) {
    // 42 = password + clean session, no user name; password "p"
    EXPECT_EQ(decode_error(hex("10 11 00 04 4D 51 54 54 04 42 00 3C 00 02 61 62 00 01 70")),
              err(Errc::bad_connect_flags));
}

TEST(Connect, truncated_fields) {
    // keep alive missing
    EXPECT_EQ(decode_error(hex("10 08 00 04 4D 51 54 54 04 02")), err(Errc::truncated_packet));
    // protocol name length runs past the end
    EXPECT_EQ(decode_error(hex("10 04 00 04 4D 51")), err(Errc::truncated_packet));
    // client id announces 5 bytes, 2 present
    EXPECT_EQ(decode_error(hex("10 0E 00 04 4D 51 54 54 04 02 00 3C 00 05 61 62")), err(Errc::truncated_packet));
    // user name flag set, no user name field
    EXPECT_EQ(decode_error(hex("10 0E 00 04 4D 51 54 54 04 82 00 3C 00 02 61 62")), err(Errc::truncated_packet));
    // will flag set, will message missing
    EXPECT_EQ(decode_error(hex("10 11 00 04 4D 51 54 54 04 06 00 3C 00 02 61 62 00 01 77")),
              err(Errc::truncated_packet));
}

TEST(Connect, trailing_bytes_after_last_field) {
    EXPECT_EQ(decode_error(hex("10 0F 00 04 4D 51 54 54 04 02 00 3C 00 02 61 62 FF")), err(Errc::trailing_bytes));
}

TEST(Connect, MQTT_3_1_3_4_client_id_bad_utf8) {
    EXPECT_EQ(decode_error(hex("10 0E 00 04 4D 51 54 54 04 02 00 3C 00 02 61 FF")), err(Errc::bad_utf8));
    EXPECT_EQ(decode_error(hex("10 0E 00 04 4D 51 54 54 04 02 00 3C 00 02 61 00")), err(Errc::bad_utf8));
}

TEST(Connect, MQTT_3_1_3_10_will_topic_wildcard) {
    // will topic "w/#"
    EXPECT_EQ(decode_error(hex("10 15 00 04 4D 51 54 54 04 06 00 3C 00 02 61 62 00 03 77 2F 23 00 00")),
              err(Errc::bad_topic_name));
}

TEST(Connect, decode_packet_rejects_short_and_long_input) {
    auto shorter = minimal_connect;
    shorter.pop_back();
    EXPECT_EQ(decode_error(shorter), err(Errc::truncated_packet));
    auto longer = minimal_connect;
    longer.push_back(0xE0);
    EXPECT_EQ(decode_error(longer), err(Errc::trailing_bytes));
}

// ---- requests the encoder refuses --------------------------------------------------------------------

TEST(Connect, MQTT_3_1_2_22_encoder_rejects_password_without_user_name) {
    Connect c;
    c.client_id = "c";
    c.password = "secret";
    EXPECT_EQ(encode_error(c), err(Errc::password_without_username));
}

TEST(Connect, MQTT_3_1_3_4_encoder_rejects_bad_utf8_client_id) {
    Connect c;
    c.client_id = "a\xFF";
    EXPECT_EQ(encode_error(c), err(Errc::bad_utf8));
    c.client_id = std::string_view("a\0b", 3);
    EXPECT_EQ(encode_error(c), err(Errc::bad_utf8));
    c.client_id = "\xED\xA0\x80";  // surrogate U+D800
    EXPECT_EQ(encode_error(c), err(Errc::bad_utf8));
}

TEST(Connect, MQTT_3_1_3_11_encoder_rejects_bad_utf8_user_name) {
    Connect c;
    c.client_id = "c";
    c.username = "\xC0\x80";  // overlong U+0000
    EXPECT_EQ(encode_error(c), err(Errc::bad_utf8));
}

TEST(Connect, MQTT_4_7_1_1_encoder_rejects_will_topic_with_wildcard) {
    Connect c;
    c.client_id = "c";
    c.will = Will{"w/#", "x", QoS::at_most_once, false};
    EXPECT_EQ(encode_error(c), err(Errc::bad_topic_name));
    c.will = Will{"w/+/x", "x", QoS::at_most_once, false};
    EXPECT_EQ(encode_error(c), err(Errc::bad_topic_name));
    c.will = Will{"", "x", QoS::at_most_once, false};
    EXPECT_EQ(encode_error(c), err(Errc::bad_topic_name));
}

TEST(Connect, MQTT_3_1_2_14_encoder_rejects_will_qos3) {
    Connect c;
    c.client_id = "c";
    c.will = Will{"w", "x", static_cast<QoS>(3), false};
    EXPECT_EQ(encode_error(c), err(Errc::bad_qos));
}

TEST(Connect, encoder_rejects_strings_longer_than_65535_bytes) {
    const std::string id(65'536, 'x');
    Connect c;
    c.client_id = id;
    EXPECT_EQ(encode_error(c), err(Errc::packet_too_large));
    const std::string max(65'535, 'x');
    c.client_id = max;
    EXPECT_FALSE(encode_error(c));
    c.client_id = "c";
    c.username = "u";
    c.password = id;  // binary fields have the same 2-byte length prefix
    EXPECT_EQ(encode_error(c), err(Errc::packet_too_large));
}

TEST(Connect, encoder_accepts_binary_will_message_and_password) {
    Connect c;
    c.client_id = "c";
    c.will = Will{"w", std::string_view("\xFF\x00\xC0", 3), QoS::at_most_once, false};
    c.username = "u";
    c.password = std::string_view("\x00\xFF", 2);
    EXPECT_FALSE(encode_error(c));
}

}  // namespace
}  // namespace nmqtt::test
