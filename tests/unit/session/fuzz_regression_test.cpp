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

}  // namespace
}  // namespace nmqtt::test
