// Regression tests for inputs found by fuzz/fuzz_session.cpp. Each test replays the essence of one finding.
#include <gtest/gtest.h>

#include "support/bytes.hpp"
#include "support/session_driver.hpp"

namespace nmqtt::test {
namespace {

// Found by fuzz_session (invariant "nothing is sent after DISCONNECT"): while DISCONNECT was queued, a QoS 2
// PUBLISH from the server made the session queue a PUBREC behind the DISCONNECT [MQTT-3.14.4-2].
TEST(SessionFuzzRegression, Qos2PublishWhileDisconnectingAddsNothing_MQTT_3_14_4_2) {
    SessionDriver d(default_options());
    d.connect();
    d.feed("3B 0A 00 03 61 2F 62 00 02 70 70 70");  // QoS 1 PUBLISH id 2: PUBACK pending, not yet written
    ASSERT_TRUE(d.session().disconnect(d.now()));
    d.feed("34 08 00 03 61 2F 62 00 06 70");  // QoS 2 PUBLISH id 6 arrives while disconnecting
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("40 02 00 02"   // PUBACK 2, queued before the DISCONNECT
                                                 "E0 00")));     // DISCONNECT, and nothing after it
}

// The same rule for the other packets the session answers: PUBREL (answered by PUBCOMP) and PUBREC
// (answered by PUBREL) arriving while DISCONNECT is queued.
TEST(SessionFuzzRegression, PubrelAndPubrecWhileDisconnectingAddNothing_MQTT_3_14_4_2) {
    SessionDriver d(default_options());
    d.connect();
    const PacketId id = d.publish_ok("t", "x", QoS::exactly_once, 1);
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("34 06 00 01 74" + id_hex(id) + "78")));
    ASSERT_TRUE(d.session().disconnect(d.now()));
    d.feed("62 02 00 09");            // PUBREL 9 from the server
    d.feed("50 02" + id_hex(id));     // PUBREC for our QoS 2 PUBLISH
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("E0 00")));
}

// Found by fuzz_session_ops (invariant "window"): a resumed 5.0 session resent every unacknowledged PUBLISH
// after the CONNACK, although the new connection's Receive Maximum was smaller than their number: three
// QoS 2 PUBLISHes (DUP=1) went out against a Receive Maximum of 2 [MQTT-4.9.0-2, 3.3.4-7]. The session now
// resends as many as the window allows, in order, and the rest as acknowledgements open it.
session::SessionOptions resumed_v5_options() {
    auto o = default_options();
    o.protocol = protocol::ProtocolVersion::v5;
    o.clean_session = false;
    o.v5.session_expiry_interval = 600;
    return o;
}

// Connects (first CONNACK: no limits), publishes three QoS `qos` messages (ids 1..3), writes them, loses the
// connection, then reconnects with a CONNACK saying session present and Receive Maximum 2.
void three_inflight_then_resume(SessionDriver& d, QoS qos) {
    d.open();
    (void)d.take_output();
    d.feed("20 03 00 00 00");
    EXPECT_EQ(d.take_events(), (Events{ev::Connected{false}}));
    for (std::uint64_t tag = 1; tag <= 3; ++tag) EXPECT_EQ(d.publish_ok("t", "x", qos, tag), tag);
    EXPECT_EQ(d.take_output().size(), 3 * 9u);
    d.close();
    (void)d.take_events();
    d.open();
    (void)d.take_output();
    d.feed("20 06 01 00 03 21 00 02");  // session present, Receive Maximum 2
    EXPECT_EQ(d.take_events(), (Events{ev::Connected{true}}));
}

TEST(SessionFuzzRegression, ResumedV5SessionResendsWithinTheNewReceiveMaximum_MQTT_4_9_0_2) {
    SessionDriver d(resumed_v5_options());
    three_inflight_then_resume(d, QoS::at_least_once);
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("3A 07 00 01 74 00 01 00 78  3A 07 00 01 74 00 02 00 78")));
    // A new message waits behind the resend still due.
    EXPECT_EQ(d.publish_ok("t", "y", QoS::at_least_once, 4), 0);
    EXPECT_TRUE(d.take_output().empty());
    d.feed("40 02 00 01");
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{1, 1, QoS::at_least_once, {}}}));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("3A 07 00 01 74 00 03 00 78")));
    d.feed("40 02 00 02");
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{2, 2, QoS::at_least_once, {}}}));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("32 07 00 01 74 00 04 00 79")));
}

// A message waiting for its resend that the server acknowledges meanwhile (it had it from the previous
// connection) is never resent: PUBACK completes it; PUBREC is answered by PUBREL only [MQTT-4.3.3-1].
TEST(SessionFuzzRegression, MessageAwaitingResendAcknowledgedMeanwhileIsNotResent_MQTT_4_3_3_1) {
    SessionDriver d(resumed_v5_options());
    three_inflight_then_resume(d, QoS::exactly_once);
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("3C 07 00 01 74 00 01 00 78  3C 07 00 01 74 00 02 00 78")));
    d.feed("50 02 00 03");  // PUBREC for id 3, not resent yet
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("62 02 00 03")));
    d.feed("70 02 00 03");
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{3, 3, QoS::exactly_once, {}}}));
    d.feed("50 02 00 01  70 02 00 01  50 02 00 02  70 02 00 02");
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{1, 1, QoS::exactly_once, {}},
                                       ev::PublishDone{2, 2, QoS::exactly_once, {}}}));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("62 02 00 01  62 02 00 02")));  // no PUBLISH for id 3
    EXPECT_EQ(d.session().inflight_count(), 0u);
}

}  // namespace
}  // namespace nmqtt::test
