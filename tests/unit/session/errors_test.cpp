// Session: protocol violations from the server close the connection [MQTT-4.8.0-1]: ConnectionLost with
// the typed error, exactly once, and nothing more is sent on that connection. Also validate(options).
#include <gtest/gtest.h>

#include <chrono>
#include <ostream>
#include <string>

#include "support/bytes.hpp"
#include "support/session_driver.hpp"

namespace nmqtt::test {
namespace {

using namespace std::chrono_literals;

struct Violation {
    const char* name;
    const char* bytes;
    Errc error;
    Errc alternative;  ///< a second acceptable error (same value when only one is)
};

void PrintTo(const Violation& v, std::ostream* os) { *os << v.name << " (" << v.bytes << ")"; }

const Violation violations[] = {
    // Packet types a server never sends (Table 2.1) [MQTT-4.8.0-1].
    {"SUBSCRIBE", "82 06 00 01 00 01 61 00", Errc::unexpected_packet, Errc::bad_packet_type},
    {"UNSUBSCRIBE", "A2 05 00 01 00 01 61", Errc::unexpected_packet, Errc::bad_packet_type},
    {"CONNECT", "10 0D 00 04 4D 51 54 54 04 02 00 3C 00 01 63", Errc::unexpected_packet, Errc::bad_packet_type},
    {"PINGREQ", "C0 00", Errc::unexpected_packet, Errc::bad_packet_type},
    {"DISCONNECT", "E0 00", Errc::unexpected_packet, Errc::bad_packet_type},
    {"type 0", "00 00", Errc::bad_packet_type, Errc::bad_packet_type},
    {"type 15", "F0 00", Errc::bad_packet_type, Errc::bad_packet_type},
    // A second CONNACK on the same connection.
    {"second CONNACK", "20 02 00 00", Errc::unexpected_packet, Errc::unexpected_packet},
    // Malformed packets.
    {"PUBACK flags 0001 [MQTT-2.2.2-2]", "41 02 00 01", Errc::bad_flags, Errc::bad_flags},
    {"PUBREL flags 0000 [MQTT-2.2.2-2]", "60 02 00 01", Errc::bad_flags, Errc::bad_flags},
    {"PUBLISH QoS 3 [MQTT-3.3.1-4]", "36 06 00 01 74 00 01 78", Errc::bad_qos, Errc::bad_qos},
    {"PUBLISH QoS 1 id 0 [MQTT-2.3.1-1]", "32 06 00 01 74 00 00 78", Errc::zero_packet_id, Errc::zero_packet_id},
    {"PUBLISH topic with # [MQTT-3.3.2-2]", "30 05 00 03 61 2F 23", Errc::bad_topic_name, Errc::bad_topic_name},
    {"PUBLISH empty topic [MQTT-4.7.3-1]", "30 03 00 00 78", Errc::bad_topic_name, Errc::bad_topic_name},
    {"PUBLISH topic with U+0000 [MQTT-1.5.3-2]", "30 05 00 03 61 00 62", Errc::bad_utf8, Errc::bad_topic_name},
    {"PUBLISH overlong UTF-8 [MQTT-1.5.3-1]", "30 04 00 02 C0 80", Errc::bad_utf8, Errc::bad_utf8},
    {"PUBLISH surrogate [MQTT-1.5.3-1]", "30 05 00 03 ED A0 80", Errc::bad_utf8, Errc::bad_utf8},
    {"PUBLISH topic past the end", "30 02 00 05", Errc::truncated_packet, Errc::truncated_packet},
    {"Remaining Length of 5 bytes", "30 FF FF FF FF 01", Errc::bad_remaining_length, Errc::bad_remaining_length},
    {"PUBACK of length 3", "40 03 00 01 00", Errc::bad_remaining_length, Errc::trailing_bytes},
    {"PINGRESP of length 1", "D0 01 00", Errc::bad_remaining_length, Errc::trailing_bytes},
    {"SUBACK code 03 [MQTT-3.9.3-2]", "90 03 00 01 03", Errc::bad_suback_code, Errc::bad_suback_code},
    {"PUBREC id 0", "50 02 00 00", Errc::zero_packet_id, Errc::zero_packet_id},
};

class SessionViolation : public ::testing::TestWithParam<Violation> {};

TEST_P(SessionViolation, LosesTheConnectionWithTheTypedError_MQTT_4_8_0_1) {
    const Violation& v = GetParam();
    SessionDriver d(default_options());
    d.connect();
    d.feed(v.bytes);
    const auto events = d.take_events();
    const auto lost = only<ev::ConnectionLost>(events);
    ASSERT_EQ(lost.size(), 1u) << ::testing::PrintToString(events);
    EXPECT_TRUE(lost[0].error == err(v.error) || lost[0].error == err(v.alternative)) << lost[0];
    EXPECT_TRUE(only<ev::Message>(events).empty());
    EXPECT_TRUE(d.take_output().empty());
}

TEST_P(SessionViolation, NothingMoreIsSentOrReported_MQTT_4_8_0_1) {
    SessionDriver d(default_options());
    d.connect();
    d.feed(GetParam().bytes);
    d.take_events();
    // No PUBACK for a later PUBLISH, no PINGREQ, no new request; closing reports nothing more.
    d.feed("32 06 00 01 74 00 05 78");
    (void)d.publish("t", "x", QoS::at_least_once, 1);
    d.advance(5min);
    EXPECT_TRUE(d.take_output().empty());
    d.close();
    EXPECT_TRUE(only<ev::ConnectionLost>(d.take_events()).empty()) << "reported twice";
    EXPECT_EQ(d.session().state(), session::State::idle);
}

INSTANTIATE_TEST_SUITE_P(SessionErrors, SessionViolation, ::testing::ValuesIn(violations));

TEST(SessionErrors, ViolationAfterValidPacketsInTheSameChunk) {
    SessionDriver d(default_options());
    d.connect();
    d.feed("32 06 00 01 74 00 05 78"  // valid: delivered and acked
           "41 02 00 01"              // malformed
           "32 06 00 01 74 00 06 78");  // after the violation: ignored
    const auto events = d.take_events();
    EXPECT_EQ(only<ev::Message>(events), (std::vector<ev::Message>{{"t", "x", QoS::at_least_once, false, false, 5}}));
    EXPECT_EQ(only<ev::ConnectionLost>(events), (std::vector<ev::ConnectionLost>{{err(Errc::bad_flags)}}));
    // The PUBACK queued before the violation may be written or dropped; nothing else may be.
    const auto out = d.take_output();
    EXPECT_TRUE(out.empty() || bytes_equal(out, hex("40 02 00 05"))) << to_hex(out);
}

TEST(SessionErrors, ViolationWhileOutputIsPendingAddsNothingToIt) {
    SessionDriver d(default_options());
    d.connect();
    const PacketId id = d.publish_ok("t", "x", QoS::at_least_once, 1);  // not written yet
    d.feed("C0 00");
    EXPECT_EQ(only<ev::ConnectionLost>(d.take_events()).size(), 1u);
    d.feed("32 06 00 01 74 00 05 78");
    d.set_auto_write(false);
    d.advance(5min);
    // What was pending may be dropped or still written, but nothing was added after the violation.
    const auto out = d.take_output();
    EXPECT_TRUE(out.empty() || bytes_equal(out, hex("32 06 00 01 74" + id_hex(id) + "78"))) << to_hex(out);
}

TEST(SessionErrors, ViolationWhileConnectingIsConnectFailed) {
    SessionDriver d(default_options());
    d.open();
    d.take_output();
    d.feed("20 03 00 00 00");
    const auto events = d.take_events();
    EXPECT_EQ(only<ev::ConnectFailed>(events).size(), 1u) << ::testing::PrintToString(events);
    EXPECT_TRUE(only<ev::ConnectionLost>(events).empty());
}

// ---- validate() --------------------------------------------------------------------------------------

TEST(SessionErrors, ValidateAcceptsDefaults) {
    EXPECT_FALSE(session::validate(default_options()));
    session::SessionOptions empty_id;  // empty client id with clean session is fine [MQTT-3.1.3-6]
    EXPECT_FALSE(session::validate(empty_id));
}

TEST(SessionErrors, ValidateEmptyClientIdNeedsCleanSession_MQTT_3_1_3_7) {
    session::SessionOptions o;
    o.clean_session = false;
    EXPECT_EQ(session::validate(o), err(Errc::empty_client_id_needs_clean_session));
}

TEST(SessionErrors, ValidatePasswordWithoutUserName_MQTT_3_1_2_22) {
    auto o = default_options();
    o.password = "p";
    EXPECT_EQ(session::validate(o), err(Errc::password_without_username));
    o.username = "";
    EXPECT_FALSE(session::validate(o));
}

TEST(SessionErrors, ValidateStrings_MQTT_3_1_3_4) {
    auto o = default_options();
    o.client_id = "a\xC0\x80";
    EXPECT_EQ(session::validate(o), err(Errc::bad_utf8));
    o.client_id = std::string("a\0b", 3);
    EXPECT_EQ(session::validate(o), err(Errc::bad_utf8));
    o = default_options();
    o.username = "\xED\xA0\x80";  // a surrogate [MQTT-3.1.3-11]
    EXPECT_EQ(session::validate(o), err(Errc::bad_utf8));
}

TEST(SessionErrors, ValidateWill_MQTT_3_1_3_10) {
    auto o = default_options();
    o.will = session::WillMessage{"a/+", "x", QoS::at_most_once, false};
    EXPECT_EQ(session::validate(o), err(Errc::bad_topic_name));
    o.will = session::WillMessage{"", "x", QoS::at_most_once, false};
    EXPECT_EQ(session::validate(o), err(Errc::bad_topic_name));
    o.will = session::WillMessage{"a\xFF", "x", QoS::at_most_once, false};
    EXPECT_EQ(session::validate(o), err(Errc::bad_utf8));
    o.will = session::WillMessage{"a", "x", static_cast<QoS>(3), false};  // [MQTT-3.1.2-14]
    EXPECT_EQ(session::validate(o), err(Errc::bad_qos));
    o.will = session::WillMessage{"a", std::string("\x00\xFF", 2), QoS::exactly_once, true};  // binary message
    EXPECT_FALSE(session::validate(o));
}

TEST(SessionErrors, ValidateMaxInflightAtLeastOne) {
    auto o = default_options();
    o.max_inflight = 0;
    EXPECT_EQ(session::validate(o), err(Errc::invalid_argument));
}

}  // namespace
}  // namespace nmqtt::test
