// MQTT 5.0 codec: golden bytes for every packet type and property (written by hand from the standard's
// layouts, never produced by our encoder), reason codes per packet, malformed input each with its own Errc,
// every prefix of every golden packet (truncated), every split point through the StreamDecoder.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "codec_check.hpp"
#include "nmqtt/protocol/stream_decoder.hpp"

namespace nmqtt::test {
namespace {

using namespace protocol;
constexpr auto v5 = ProtocolVersion::v5;

Bytes bytes_of(const std::vector<std::uint8_t>& v) { return {v.data(), v.size()}; }

// ---- CONNECT -------------------------------------------------------------------------------------------

TEST(V5Connect, MQTT_3_1_2_1_standard_example_variable_header) {
    // Figure 3-6 of MQTT 5.0: "MQTT", level 5, flags C2 (user name, password, clean start), keep alive 10,
    // properties length 5, Session Expiry Interval (17) = 10. Payload: "c", user "u", password "p".
    const auto wire = hex("10 19 00 04 4D 51 54 54 05 C2 00 0A 05 11 00 00 00 0A"
                          "00 01 63  00 01 75  00 01 70");
    Properties props;
    props.session_expiry_interval(10);
    Connect c;
    c.client_id = "c";
    c.keepalive = 10;
    c.clean_session = true;
    c.username = "u";
    c.password = "p";
    c.properties = props.view();
    expect_encodes(c, wire, v5);
    const auto d = std::get<Connect>(expect_decodes(wire, v5));
    EXPECT_EQ(d.properties.session_expiry_interval(), 10u);
    EXPECT_EQ(d.client_id, "c");
    EXPECT_EQ(*d.password, "p");
}

TEST(V5Connect, MQTT_3_1_3_1_will_properties_and_password_alone_MQTT_3_1_2_19) {
    const auto wire = hex(
        "10 33 00 04 4D 51 54 54 05"
        "6E"                                    // will, will QoS 1, will retain, password, clean start
        "00 3C"                                 // keep alive 60
        "0B 21 00 0A 27 00 00 10 00 22 00 05"   // Receive Maximum 10, Maximum Packet Size 4096, TAM 5
        "00 00"                                 // client id ""
        "0E 18 00 00 00 1E 01 01 03 00 04 74 65 78 74"  // Will Delay 30, UTF-8 payload, Content Type "text"
        "00 01 77 00 03 62 79 65"               // will topic "w", payload "bye"
        "00 02 70 77");                         // password "pw" (no user name: allowed in 5.0)
    Properties props;
    props.receive_maximum(10).maximum_packet_size(4096).topic_alias_maximum(5);
    Properties will_props;
    will_props.will_delay_interval(30).payload_format_indicator(true).content_type("text");
    Connect c;
    c.keepalive = 60;
    c.password = "pw";
    c.properties = props.view();
    c.will = Will{"w", "bye", QoS::at_least_once, true, will_props.view()};
    expect_encodes(c, wire, v5);
    const auto d = std::get<Connect>(expect_decodes(wire, v5));
    ASSERT_TRUE(d.will.has_value());
    EXPECT_EQ(d.will->properties.number(PropertyId::will_delay_interval), 30u);
    EXPECT_EQ(d.will->properties.content_type(), "text");
    EXPECT_EQ(d.properties.receive_maximum(), 10u);
    EXPECT_EQ(d.properties.maximum_packet_size(), 4096u);
    EXPECT_EQ(d.properties.topic_alias_maximum(), 5u);
    EXPECT_FALSE(d.username.has_value());
    // The same CONNECT is refused at 3.1.1 (password without user name, properties).
    c.properties = {};
    c.will->properties = {};
    EXPECT_EQ(encode_error(c), err(Errc::password_without_username));
}

TEST(V5Connect, properties_not_allowed_in_connect_or_will) {
    Properties alias;
    alias.add_two_byte(PropertyId::topic_alias, 1);
    Connect c;
    c.client_id = "x";
    c.properties = alias.view();
    EXPECT_EQ(encode_error(c, v5), err(Errc::property_not_allowed));
    Properties expiry;
    expiry.session_expiry_interval(1);
    c.properties = {};
    c.will = Will{"w", "m", QoS::at_most_once, false, expiry.view()};
    EXPECT_EQ(encode_error(c, v5), err(Errc::property_not_allowed));
    // 3.1.1 has no properties at all.
    c.will = Will{"w", "m", QoS::at_most_once, false, {}};
    c.properties = expiry.view();
    EXPECT_EQ(encode_error(c), err(Errc::invalid_argument));
}

TEST(V5Connect, level_must_match_the_version) {
    const auto v311 = hex("10 0D 00 04 4D 51 54 54 04 02 00 3C 00 01 61");
    EXPECT_EQ(decode_error(v311, v5), err(Errc::bad_protocol));
    const auto level5 = hex("10 0E 00 04 4D 51 54 54 05 02 00 3C 00 00 01 61");
    EXPECT_EQ(decode_error(level5), err(Errc::bad_protocol));
    EXPECT_FALSE(decode_error(level5, v5));
}

// ---- CONNACK -------------------------------------------------------------------------------------------

TEST(V5Connack, success_without_properties) {
    const auto wire = hex("20 03 00 00 00");
    expect_encodes(Connack{false, 0, {}}, wire, v5);
    const auto c = std::get<Connack>(expect_decodes(wire, v5));
    EXPECT_EQ(c.return_code, 0);
    EXPECT_TRUE(c.properties.empty());
}

TEST(V5Connack, MQTT_3_2_2_21_every_connack_property_has_an_accessor) {
    const auto wire = hex("20 19 01 00 16"
                          "12 00 03 61 62 63"   // Assigned Client Identifier "abc"
                          "13 00 1E"            // Server Keep Alive 30
                          "21 00 02"            // Receive Maximum 2
                          "22 00 0A"            // Topic Alias Maximum 10
                          "27 00 00 01 00"      // Maximum Packet Size 256
                          "25 00");             // Retain Available 0
    const auto c = std::get<Connack>(expect_decodes(wire, v5));
    EXPECT_TRUE(c.session_present);
    EXPECT_EQ(c.properties.assigned_client_identifier(), "abc");
    EXPECT_EQ(c.properties.server_keep_alive(), 30u);
    EXPECT_EQ(c.properties.receive_maximum(), 2u);
    EXPECT_EQ(c.properties.topic_alias_maximum(), 10u);
    EXPECT_EQ(c.properties.maximum_packet_size(), 256u);
    EXPECT_EQ(c.properties.number(PropertyId::retain_available), 0u);
    EXPECT_FALSE(c.properties.maximum_qos().has_value());
    Properties p;
    p.add_string(PropertyId::assigned_client_identifier, "abc")
        .add_two_byte(PropertyId::server_keep_alive, 30)
        .receive_maximum(2)
        .topic_alias_maximum(10)
        .maximum_packet_size(256)
        .add_byte(PropertyId::retain_available, 0);
    expect_encodes(Connack{true, 0, p.view()}, wire, v5);
}

TEST(V5Connack, refusal_with_reason_string) {
    const auto wire = hex("20 08 00 87 05 1F 00 02 6E 6F");  // Not authorized, Reason String "no"
    const auto c = std::get<Connack>(expect_decodes(wire, v5));
    EXPECT_EQ(c.return_code, 0x87);
    EXPECT_EQ(c.properties.reason_string(), "no");
}

TEST(V5Connack, MQTT_3_2_2_8_reason_code_must_be_a_connack_code) {
    EXPECT_EQ(decode_error(hex("20 03 00 01 00"), v5), err(Errc::bad_reason_code));  // 0x01 is SUBACK's
    EXPECT_EQ(decode_error(hex("20 03 00 04 00"), v5), err(Errc::bad_reason_code));
    EXPECT_EQ(decode_error(hex("20 03 00 8B 00"), v5), err(Errc::bad_reason_code));  // DISCONNECT only
    EXPECT_EQ(encode_error(Connack{false, 0x10, {}}, v5), err(Errc::bad_reason_code));
}

TEST(V5Connack, MQTT_3_2_2_1_reserved_flags_and_MQTT_3_2_2_6_session_present_on_refusal) {
    EXPECT_EQ(decode_error(hex("20 03 02 00 00"), v5), err(Errc::bad_connack));
    EXPECT_EQ(decode_error(hex("20 03 01 80 00"), v5), err(Errc::bad_connack));
}

TEST(V5Connack, missing_property_length_is_truncated) {
    EXPECT_EQ(decode_error(hex("20 02 00 00"), v5), err(Errc::truncated_packet));
    EXPECT_EQ(decode_error(hex("20 01 00"), v5), err(Errc::bad_remaining_length));
}

// ---- PUBLISH -------------------------------------------------------------------------------------------

TEST(V5Publish, qos1_with_message_properties) {
    const auto wire = hex("32 21 00 03 61 2F 62 00 07"
                          "17"                      // properties: 23 bytes
                          "01 01"                   // Payload Format Indicator: UTF-8
                          "02 00 00 00 3C"          // Message Expiry Interval 60
                          "08 00 01 72"             // Response Topic "r"
                          "09 00 02 01 02"          // Correlation Data 01 02
                          "26 00 01 6B 00 01 76"    // User Property k=v
                          "68 69");                 // payload "hi"
    Properties p;
    p.payload_format_indicator(true).message_expiry_interval(60).response_topic("r").correlation_data("\x01\x02");
    p.add_user_property("k", "v");
    Publish pub;
    pub.topic = "a/b";
    pub.payload = "hi";
    pub.qos = QoS::at_least_once;
    pub.packet_id = 7;
    pub.properties = p.view();
    expect_encodes(pub, wire, v5);
    const auto d = std::get<Publish>(expect_decodes(wire, v5));
    EXPECT_EQ(d.payload, "hi");
    EXPECT_EQ(d.properties.payload_format_indicator(), 1u);
    EXPECT_EQ(d.properties.message_expiry_interval(), 60u);
    EXPECT_EQ(d.properties.response_topic(), "r");
    EXPECT_EQ(d.properties.correlation_data(), std::string_view("\x01\x02", 2));
    std::vector<std::string> user;
    d.properties.for_each_user_property([&](std::string_view k, std::string_view v) {
        user.push_back(std::string(k) + "=" + std::string(v));
    });
    EXPECT_EQ(user, std::vector<std::string>{"k=v"});
    // Zero-copy: the view points into the wire bytes.
    EXPECT_EQ(d.properties.raw().data(), wire.data() + 10);
}

TEST(V5Publish, MQTT_2_2_1_2_qos0_without_properties) {
    const auto wire = hex("30 06 00 01 74 00 68 69");
    Publish p;
    p.topic = "t";
    p.payload = "hi";
    expect_encodes(p, wire, v5);
    EXPECT_EQ(std::get<Publish>(expect_decodes(wire, v5)).payload, "hi");
}

TEST(V5Publish, MQTT_3_3_2_10_topic_alias_with_topic_and_alone) {
    const auto with_topic = hex("30 09 00 01 74 03 23 00 01 68 69");
    Publish p;
    p.topic = "t";
    p.payload = "hi";
    p.topic_alias = 1;
    expect_encodes(p, with_topic, v5);
    EXPECT_EQ(std::get<Publish>(expect_decodes(with_topic, v5)).topic_alias, 1);
    const auto alone = hex("30 08 00 00 03 23 00 01 68 69");
    p.topic = "";
    expect_encodes(p, alone, v5);
    const auto d = std::get<Publish>(expect_decodes(alone, v5));
    EXPECT_EQ(d.topic, "");
    EXPECT_EQ(d.topic_alias, 1);
    // The alias field and a Topic Alias property at once would be two aliases.
    Properties dup;
    dup.add_two_byte(PropertyId::topic_alias, 2);
    p.properties = dup.view();
    EXPECT_EQ(encode_error(p, v5), err(Errc::duplicate_property));
    // No topic and no alias is not a topic name; 3.1.1 has no aliases.
    EXPECT_EQ(decode_error(hex("30 03 00 00 00"), v5), err(Errc::bad_topic_name));
    Publish v3;
    v3.topic = "t";
    v3.topic_alias = 1;
    EXPECT_EQ(encode_error(v3), err(Errc::invalid_argument));
}

TEST(V5Publish, MQTT_3_3_2_8_topic_alias_zero_is_refused) {
    EXPECT_EQ(decode_error(hex("30 07 00 01 74 03 23 00 00"), v5), err(Errc::bad_property_value));
}

TEST(V5Publish, MQTT_3_3_4_3_several_subscription_identifiers) {
    const auto wire = hex("30 09 00 01 74 05 0B 01 0B 80 01");  // ids 1 and 128 (two-byte VBI)
    const auto d = std::get<Publish>(expect_decodes(wire, v5));
    std::vector<std::uint32_t> ids;
    d.properties.for_each_subscription_identifier([&](std::uint32_t id) { ids.push_back(id); });
    EXPECT_EQ(ids, (std::vector<std::uint32_t>{1, 128}));
    Properties p;
    p.subscription_identifier(1).subscription_identifier(128);
    Publish pub;
    pub.topic = "t";
    pub.properties = p.view();
    expect_encodes(pub, wire, v5);
}

TEST(V5Publish, MQTT_3_3_2_14_response_topic_without_wildcards) {
    EXPECT_EQ(decode_error(hex("30 08 00 01 74 04 08 00 01 23"), v5), err(Errc::bad_property_value));
    Properties p;
    p.response_topic("a/+");
    Publish pub;
    pub.topic = "t";
    pub.properties = p.view();
    EXPECT_EQ(encode_error(pub, v5), err(Errc::bad_property_value));
}

// ---- malformed properties ------------------------------------------------------------------------------

struct Malformed {
    const char* name;
    const char* wire;
    Errc error;
};

class V5MalformedProperty : public ::testing::TestWithParam<Malformed> {};

TEST_P(V5MalformedProperty, is_its_own_error_at_exact_size) {
    const auto wire = hex(GetParam().wire);
    EXPECT_EQ(decode_error(wire, v5), err(GetParam().error)) << GetParam().name;
    // One byte short of the packet its header announces: truncated, whatever the error would be.
    EXPECT_EQ(decode_error(std::vector<std::uint8_t>(wire.begin(), wire.end() - 1), v5),
              err(Errc::truncated_packet));
}

INSTANTIATE_TEST_SUITE_P(
    Properties, V5MalformedProperty,
    ::testing::Values(
        Malformed{"unknown_id", "30 05 00 01 74 01 7F", Errc::bad_property_id},
        Malformed{"id_0", "30 06 00 01 74 02 00 00", Errc::bad_property_id},
        Malformed{"session_expiry_in_publish", "30 09 00 01 74 05 11 00 00 00 01", Errc::property_not_allowed},
        Malformed{"topic_alias_in_connack", "20 06 00 00 03 23 00 01", Errc::property_not_allowed},
        Malformed{"reason_string_in_publish", "30 08 00 01 74 04 1F 00 01 78", Errc::property_not_allowed},
        Malformed{"payload_format_twice", "30 08 00 01 74 04 01 00 01 01", Errc::duplicate_property},
        Malformed{"receive_maximum_twice", "20 09 00 00 06 21 00 01 21 00 02", Errc::duplicate_property},
        Malformed{"subscription_id_twice_in_subscribe", "82 0B 00 01 04 0B 01 0B 02 00 01 61 00",
                  Errc::duplicate_property},
        Malformed{"four_byte_value_short", "30 07 00 01 74 03 02 00 00", Errc::bad_property_length},
        Malformed{"string_runs_past_block", "30 08 00 01 74 04 03 00 05 61", Errc::bad_property_length},
        Malformed{"block_runs_past_packet", "30 05 00 01 74 05 01", Errc::bad_property_length},
        Malformed{"payload_format_2", "30 06 00 01 74 02 01 02", Errc::bad_property_value},
        Malformed{"receive_maximum_0", "20 06 00 00 03 21 00 00", Errc::bad_property_value},
        Malformed{"maximum_packet_size_0", "20 08 00 00 05 27 00 00 00 00", Errc::bad_property_value},
        Malformed{"maximum_qos_2", "20 05 00 00 02 24 02", Errc::bad_property_value},
        Malformed{"subscription_id_0", "82 09 00 01 02 0B 00 00 01 61 00", Errc::bad_property_value},
        Malformed{"property_length_5_bytes", "30 08 00 01 74 FF FF FF FF 01", Errc::bad_variable_byte_integer},
        Malformed{"subscription_id_5_bytes", "30 0A 00 01 74 06 0B 80 80 80 80 01",
                  Errc::bad_variable_byte_integer},
        Malformed{"MQTT_1_5_4_1_bad_utf8_content_type", "30 08 00 01 74 04 03 00 01 C0", Errc::bad_utf8},
        Malformed{"MQTT_1_5_4_2_nul_in_reason_string", "40 09 00 01 80 05 1F 00 02 61 00", Errc::bad_utf8},
        Malformed{"MQTT_1_5_7_1_user_property_value_nul", "30 0B 00 01 74 07 26 00 01 6B 00 01 00", Errc::bad_utf8},
        Malformed{"MQTT_1_5_7_1_user_property_name_surrogate", "30 0D 00 01 74 09 26 00 03 ED A0 80 00 01 76",
                  Errc::bad_utf8}),
    [](const auto& p) { return std::string(p.param.name); });

TEST(V5Properties, validate_names_the_first_problem_and_accepts_repeatable_ones) {
    Properties p;
    p.add_user_property("a", "1").add_user_property("a", "2");  // user properties may repeat
    EXPECT_FALSE(validate_properties(p.view().raw(), PropertyContext::disconnect));
    EXPECT_EQ(validate_properties(p.view().raw(), PropertyContext::pingreq), err(Errc::property_not_allowed));
    EXPECT_FALSE(validate_properties({}, PropertyContext::pingreq));
}

TEST(V5Properties, every_identifier_has_its_type_and_contexts) {
    // Table 2.4: identifiers, types and a few of the packets each may appear in.
    struct Row { std::uint8_t id; PropertyType type; PropertyContext ok; PropertyContext not_ok; };
    const Row rows[] = {
        {0x01, PropertyType::byte, PropertyContext::will, PropertyContext::connect},
        {0x02, PropertyType::four_byte, PropertyContext::publish, PropertyContext::connack},
        {0x03, PropertyType::utf8, PropertyContext::will, PropertyContext::subscribe},
        {0x08, PropertyType::utf8, PropertyContext::publish, PropertyContext::connect},
        {0x09, PropertyType::binary, PropertyContext::will, PropertyContext::auth},
        {0x0B, PropertyType::variable_byte, PropertyContext::subscribe, PropertyContext::will},
        {0x11, PropertyType::four_byte, PropertyContext::disconnect, PropertyContext::publish},
        {0x12, PropertyType::utf8, PropertyContext::connack, PropertyContext::connect},
        {0x13, PropertyType::two_byte, PropertyContext::connack, PropertyContext::connect},
        {0x15, PropertyType::utf8, PropertyContext::auth, PropertyContext::disconnect},
        {0x16, PropertyType::binary, PropertyContext::connect, PropertyContext::publish},
        {0x17, PropertyType::byte, PropertyContext::connect, PropertyContext::connack},
        {0x18, PropertyType::four_byte, PropertyContext::will, PropertyContext::connect},
        {0x19, PropertyType::byte, PropertyContext::connect, PropertyContext::connack},
        {0x1A, PropertyType::utf8, PropertyContext::connack, PropertyContext::connect},
        {0x1C, PropertyType::utf8, PropertyContext::disconnect, PropertyContext::connect},
        {0x1F, PropertyType::utf8, PropertyContext::pubcomp, PropertyContext::publish},
        {0x21, PropertyType::two_byte, PropertyContext::connect, PropertyContext::publish},
        {0x22, PropertyType::two_byte, PropertyContext::connack, PropertyContext::publish},
        {0x23, PropertyType::two_byte, PropertyContext::publish, PropertyContext::will},
        {0x24, PropertyType::byte, PropertyContext::connack, PropertyContext::connect},
        {0x25, PropertyType::byte, PropertyContext::connack, PropertyContext::connect},
        {0x26, PropertyType::utf8_pair, PropertyContext::unsubscribe, PropertyContext::pingresp},
        {0x27, PropertyType::four_byte, PropertyContext::connect, PropertyContext::publish},
        {0x28, PropertyType::byte, PropertyContext::connack, PropertyContext::connect},
        {0x29, PropertyType::byte, PropertyContext::connack, PropertyContext::connect},
        {0x2A, PropertyType::byte, PropertyContext::connack, PropertyContext::connect},
    };
    int known = 0;
    for (unsigned id = 0; id < 256; ++id) known += property_info(static_cast<std::uint8_t>(id)) ? 1 : 0;
    EXPECT_EQ(known, 27);
    for (const auto& r : rows) {
        const auto info = property_info(r.id);
        ASSERT_TRUE(info.has_value()) << int(r.id);
        EXPECT_EQ(info->type, r.type) << int(r.id);
        EXPECT_NE(info->contexts & (1u << static_cast<unsigned>(r.ok)), 0u) << int(r.id);
        EXPECT_EQ(info->contexts & (1u << static_cast<unsigned>(r.not_ok)), 0u) << int(r.id);
    }
}

// ---- acks ----------------------------------------------------------------------------------------------

TEST(V5Ack, MQTT_3_4_2_1_puback_short_reason_and_properties) {
    expect_encodes(Puback{1, 0, {}}, hex("40 02 00 01"), v5);
    expect_encodes(Puback{1, 0x10, {}}, hex("40 03 00 01 10"), v5);
    Properties p;
    p.reason_string("x");
    const auto wire = hex("40 08 00 01 87 04 1F 00 01 78");
    expect_encodes(Puback{1, 0x87, p.view()}, wire, v5);
    const auto d = std::get<Puback>(expect_decodes(wire, v5));
    EXPECT_EQ(d.reason_code, 0x87);
    EXPECT_EQ(d.properties.reason_string(), "x");
    EXPECT_EQ(std::get<Puback>(expect_decodes(hex("40 03 00 01 00"), v5)).reason_code, 0);
    EXPECT_EQ(std::get<Puback>(expect_decodes(hex("40 04 00 01 10 00"), v5)).reason_code, 0x10);
    EXPECT_EQ(decode_error(hex("40 03 00 01 92"), v5), err(Errc::bad_reason_code));
    EXPECT_EQ(encode_error(Puback{1, 0x92, {}}, v5), err(Errc::bad_reason_code));
    EXPECT_EQ(encode_error(Puback{1, 0x10, {}}), err(Errc::invalid_argument));  // 3.1.1 has no reason code
}

TEST(V5Ack, MQTT_3_5_2_1_pubrec_reason_codes) {
    expect_encodes(Pubrec{2, 0x80, {}}, hex("50 03 00 02 80"), v5);
    EXPECT_EQ(std::get<Pubrec>(expect_decodes(hex("50 03 00 02 99"), v5)).reason_code, 0x99);
    EXPECT_EQ(decode_error(hex("50 03 00 02 92"), v5), err(Errc::bad_reason_code));
}

TEST(V5Ack, MQTT_3_6_2_1_pubrel_and_MQTT_3_7_2_1_pubcomp_reason_codes) {
    expect_encodes(Pubrel{1, 0x92, {}}, hex("62 03 00 01 92"), v5);
    expect_encodes(Pubcomp{5, 0x92, {}}, hex("70 03 00 05 92"), v5);
    EXPECT_EQ(decode_error(hex("62 03 00 01 10"), v5), err(Errc::bad_reason_code));
    EXPECT_EQ(decode_error(hex("70 03 00 01 80"), v5), err(Errc::bad_reason_code));
    EXPECT_EQ(decode_error(hex("60 02 00 01"), v5), err(Errc::bad_flags));  // [MQTT-3.6.1-1]
}

TEST(V5Ack, ack_shorter_than_packet_id) {
    EXPECT_EQ(decode_error(hex("40 01 00"), v5), err(Errc::bad_remaining_length));
    EXPECT_EQ(decode_error(hex("40 02 00 00"), v5), err(Errc::zero_packet_id));
}

// ---- SUBSCRIBE / SUBACK / UNSUBSCRIBE / UNSUBACK -----------------------------------------------------

TEST(V5Subscribe, MQTT_3_8_1_1_subscription_options_and_identifier) {
    const auto wire = hex("82 0F 00 0A"
                          "02 0B 05"            // Subscription Identifier 5
                          "00 03 61 2F 2B 2D"   // "a/+": QoS 1, No Local, RAP, Retain Handling 2
                          "00 01 62 10");       // "b": QoS 0, Retain Handling 1
    const SubscribeEntry entries[] = {
        {"a/+", QoS::at_least_once, true, true, RetainHandling::do_not_send},
        {"b", QoS::at_most_once, false, false, RetainHandling::send_if_new},
    };
    Properties p;
    p.subscription_identifier(5);
    Subscribe s;
    s.packet_id = 10;
    s.entries = entries;
    s.properties = p.view();
    expect_encodes(s, wire, v5);
    const auto d = std::get<Subscribe>(expect_decodes(wire, v5));
    std::vector<SubscribeEntry> got;
    for_each_entry(d, [&](const SubscribeEntry& e) { got.push_back(e); });
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].filter, "a/+");
    EXPECT_EQ(got[0].qos, QoS::at_least_once);
    EXPECT_TRUE(got[0].no_local);
    EXPECT_TRUE(got[0].retain_as_published);
    EXPECT_EQ(got[0].retain_handling, RetainHandling::do_not_send);
    EXPECT_EQ(got[1].retain_handling, RetainHandling::send_if_new);
    EXPECT_EQ(d.properties.number(PropertyId::subscription_identifier), 5u);
    // 3.1.1 has no subscription options.
    Subscribe v3;
    v3.packet_id = 1;
    v3.entries = entries;
    EXPECT_EQ(encode_error(v3), err(Errc::invalid_argument));
}

TEST(V5Subscribe, MQTT_3_8_3_5_reserved_option_bits_and_retain_handling_3) {
    EXPECT_EQ(decode_error(hex("82 07 00 01 00 00 01 61 40"), v5), err(Errc::bad_flags));
    EXPECT_EQ(decode_error(hex("82 07 00 01 00 00 01 61 30"), v5), err(Errc::bad_flags));
    EXPECT_EQ(decode_error(hex("82 07 00 01 00 00 01 61 03"), v5), err(Errc::bad_qos));
    EXPECT_EQ(decode_error(hex("82 03 00 01 00"), v5), err(Errc::empty_payload));
}

TEST(V5Suback, MQTT_3_9_3_2_reason_codes) {
    const auto wire = hex("90 05 00 0A 00 01 A2");
    const Bytes codes_view{wire.data() + 5, 2};
    expect_encodes(Suback{10, codes_view, {}}, wire, v5);
    const auto d = std::get<Suback>(expect_decodes(wire, v5));
    EXPECT_EQ(to_hex(d.return_codes), "01 A2");
    EXPECT_EQ(decode_error(hex("90 04 00 0A 00 03"), v5), err(Errc::bad_reason_code));
    EXPECT_EQ(decode_error(hex("90 04 00 0A 00 10"), v5), err(Errc::bad_reason_code));
    const auto with_reason = hex("90 08 00 0A 04 1F 00 01 78 80");
    EXPECT_EQ(std::get<Suback>(expect_decodes(with_reason, v5)).properties.reason_string(), "x");
}

TEST(V5Unsubscribe, MQTT_3_10_1_1_with_and_without_user_property) {
    const std::string_view filters[] = {"ab"};
    Unsubscribe u;
    u.packet_id = 11;
    u.filters = filters;
    expect_encodes(u, hex("A2 07 00 0B 00 00 02 61 62"), v5);
    Properties p;
    p.add_user_property("k", "v");
    u.properties = p.view();
    const auto wire = hex("A2 0E 00 0B 07 26 00 01 6B 00 01 76 00 02 61 62");
    expect_encodes(u, wire, v5);
    EXPECT_EQ(describe(expect_decodes(wire, v5)), "UNSUBSCRIBE 11 \"ab\"");
}

TEST(V5Unsuback, MQTT_3_11_3_2_reason_codes) {
    const auto wire = hex("B0 05 00 0B 00 00 11");
    const Bytes codes{wire.data() + 5, 2};
    expect_encodes(Unsuback{11, codes, {}}, wire, v5);
    EXPECT_EQ(to_hex(std::get<Unsuback>(expect_decodes(wire, v5)).reason_codes), "00 11");
    EXPECT_EQ(decode_error(hex("B0 04 00 0B 00 01"), v5), err(Errc::bad_reason_code));
    EXPECT_EQ(decode_error(hex("B0 03 00 0B 00"), v5), err(Errc::empty_payload));
    EXPECT_EQ(decode_error(hex("B0 02 00 0B"), v5), err(Errc::truncated_packet));
}

// ---- DISCONNECT / AUTH ---------------------------------------------------------------------------------

TEST(V5Disconnect, MQTT_3_14_2_1_forms_and_reason_codes) {
    expect_encodes(Disconnect{}, hex("E0 00"), v5);
    expect_encodes(Disconnect{0x04, {}}, hex("E0 01 04"), v5);
    Properties expiry;
    expiry.session_expiry_interval(60);
    expect_encodes(Disconnect{0x00, expiry.view()}, hex("E0 07 00 05 11 00 00 00 3C"), v5);
    const auto moved = hex("E0 06 9C 04 1C 00 01 68");  // Use another server, Server Reference "h"
    const auto d = std::get<Disconnect>(expect_decodes(moved, v5));
    EXPECT_EQ(d.reason_code, 0x9C);
    EXPECT_EQ(d.properties.server_reference(), "h");
    EXPECT_EQ(decode_error(hex("E0 01 01"), v5), err(Errc::bad_reason_code));
    EXPECT_EQ(decode_error(hex("E1 00"), v5), err(Errc::bad_flags));  // [MQTT-3.14.1-1]
    EXPECT_EQ(encode_error(Disconnect{0x04, {}}), err(Errc::invalid_argument));
}

TEST(V5Auth, MQTT_3_15_2_1_continue_authentication) {
    const auto wire = hex("F0 0E 18 0C 15 00 04 58 2D 41 42 16 00 02 01 02");
    Properties p;
    p.authentication_method("X-AB").authentication_data("\x01\x02");
    expect_encodes(Auth{0x18, p.view()}, wire, v5);
    const auto a = std::get<Auth>(expect_decodes(wire, v5));
    EXPECT_EQ(a.reason_code, 0x18);
    EXPECT_EQ(a.properties.authentication_method(), "X-AB");
    EXPECT_EQ(a.properties.authentication_data(), std::string_view("\x01\x02", 2));
    expect_encodes(Auth{}, hex("F0 00"), v5);
    EXPECT_EQ(decode_error(hex("F0 01 01"), v5), err(Errc::bad_reason_code));
    EXPECT_EQ(decode_error(hex("F1 00"), v5), err(Errc::bad_flags));  // [MQTT-3.15.1-1]
    EXPECT_EQ(decode_error(hex("F0 00")), err(Errc::bad_packet_type));  // no AUTH in 3.1.1
    EXPECT_EQ(encode_error(Auth{}), err(Errc::invalid_argument));
}

TEST(V5ReasonCode, names_and_disconnect_reasons) {
    EXPECT_EQ(reason_code_name(0x81), "Malformed Packet");
    EXPECT_EQ(reason_code_name(0x9C), "Use another server");
    EXPECT_EQ(reason_code_name(0x03), "Unknown reason code");
    EXPECT_EQ(disconnect_reason_for(Errc::bad_property_id), 0x81);
    EXPECT_EQ(disconnect_reason_for(Errc::duplicate_property), 0x82);
    EXPECT_EQ(disconnect_reason_for(Errc::topic_alias_invalid), 0x94);
    EXPECT_EQ(disconnect_reason_for(Errc::receive_maximum_exceeded), 0x93);
    EXPECT_EQ(disconnect_reason_for(Errc::packet_too_large), 0x95);
    EXPECT_EQ(disconnect_reason_for(Errc::ping_timeout), 0x8D);
    EXPECT_EQ(disconnect_reason_for(std::make_error_code(std::errc::io_error)), 0x00);
}

// ---- prefixes and split points ---------------------------------------------------------------------------

const std::vector<std::vector<std::uint8_t>>& v5_golden() {
    static const std::vector<std::vector<std::uint8_t>> all = {
        hex("10 19 00 04 4D 51 54 54 05 C2 00 0A 05 11 00 00 00 0A 00 01 63 00 01 75 00 01 70"),
        hex("20 19 01 00 16 12 00 03 61 62 63 13 00 1E 21 00 02 22 00 0A 27 00 00 01 00 25 00"),
        hex("32 21 00 03 61 2F 62 00 07 17 01 01 02 00 00 00 3C 08 00 01 72 09 00 02 01 02 26 00 01 6B 00 01 76 68 69"),
        hex("30 08 00 00 03 23 00 01 68 69"),
        hex("40 08 00 01 87 04 1F 00 01 78"),
        hex("50 03 00 02 80"),
        hex("62 03 00 01 92"),
        hex("70 02 00 05"),
        hex("82 0F 00 0A 02 0B 05 00 03 61 2F 2B 2D 00 01 62 10"),
        hex("90 08 00 0A 04 1F 00 01 78 80"),
        hex("A2 0E 00 0B 07 26 00 01 6B 00 01 76 00 02 61 62"),
        hex("B0 05 00 0B 00 00 11"),
        hex("C0 00"),
        hex("D0 00"),
        hex("E0 06 9C 04 1C 00 01 68"),
        hex("F0 0E 18 0C 15 00 04 58 2D 41 42 16 00 02 01 02"),
    };
    return all;
}

TEST(V5Codec, every_prefix_of_every_golden_packet_is_truncated) {
    for (const auto& wire : v5_golden()) {
        ASSERT_FALSE(decode_error(wire, v5)) << to_hex(wire);
        for (std::size_t n = 0; n < wire.size(); ++n) {
            EXPECT_EQ(decode_error(std::vector<std::uint8_t>(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(n)), v5),
                      err(Errc::truncated_packet))
                << to_hex(wire) << " cut at " << n;
        }
    }
}

TEST(V5Codec, every_split_point_gives_the_same_packets) {
    std::vector<std::uint8_t> stream;
    std::vector<std::string> expected;
    for (const auto& wire : v5_golden()) {
        stream.insert(stream.end(), wire.begin(), wire.end());
        expected.push_back(describe(*decode_packet(wire, v5)));
    }
    for (std::size_t split = 0; split <= stream.size(); ++split) {
        StreamDecoder::Options options;
        options.max_message_length = 4096;
        options.version = v5;
        StreamDecoder decoder(options);
        std::vector<std::string> got;
        const Bytes all = bytes_of(stream);
        for (Bytes chunk : {all.first(split), all.subspan(split)}) {
            while (!chunk.empty()) {
                const auto step = decoder.feed(chunk);
                chunk = chunk.subspan(step.consumed);
                ASSERT_NE(step.kind, StreamDecoder::Kind::error) << step.error.message() << " split " << split;
                if (step.kind == StreamDecoder::Kind::packet) got.push_back(describe(step.packet));
            }
        }
        EXPECT_EQ(got, expected) << "split at " << split;
    }
}

TEST(V5Codec, MQTT_1_5_5_1_property_length_uses_the_fewest_bytes) {
    // 128 bytes of user property -> Property Length 0x80 0x01.
    Properties p;
    p.add_user_property(std::string(60, 'k'), std::string(63, 'v'));  // 1 + 2 + 60 + 2 + 63 = 128
    ASSERT_EQ(p.bytes().size(), 128u);
    Publish pub;
    pub.topic = "t";
    pub.properties = p.view();
    std::vector<std::uint8_t> out;
    ASSERT_FALSE(encode_append(pub, out, v5));
    ASSERT_GE(out.size(), 7u);
    EXPECT_EQ(to_hex(Bytes(out.data(), 7)), "30 85 01 00 01 74 80");  // remaining 3 + 2 + 128 = 133; property length 80 01
    EXPECT_EQ(out[7], 0x01);
    EXPECT_EQ(std::get<Publish>(*decode_packet(out, v5)).properties.raw().size(), 128u);
}

}  // namespace
}  // namespace nmqtt::test
