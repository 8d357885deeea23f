// Session: disconnect(). DISCONNECT (E0 00) goes out after the output already queued, nothing follows it
// [MQTT-3.14.4-2], and the connection ends with closed_by_client once it has been written.
#include <gtest/gtest.h>

#include <chrono>

#include "support/bytes.hpp"
#include "support/session_driver.hpp"

namespace nmqtt::test {
namespace {

using namespace std::chrono_literals;
using session::State;

TEST(SessionDisconnect, DisconnectGoldenBytes_MQTT_3_14_1_1) {
    SessionDriver d(default_options());
    d.connect();
    EXPECT_TRUE(d.session().disconnect(d.now()));
    EXPECT_EQ(d.session().state(), State::disconnecting);
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("E0 00")));
    EXPECT_EQ(d.take_events(), (Events{ev::ConnectionLost{err(Errc::closed_by_client)}}));
    d.close(Errc::connection_closed);  // the transport closes [MQTT-3.14.4-1]: nothing more to report
    EXPECT_TRUE(d.take_events().empty());
    EXPECT_EQ(d.session().state(), State::idle);
}

TEST(SessionDisconnect, DisconnectFollowsPendingOutputAndNothingFollowsIt_MQTT_3_14_4_2) {
    SessionDriver d(default_options());
    d.connect();
    d.publish_ok("t", "x", QoS::at_most_once);  // queued, not written yet
    EXPECT_TRUE(d.session().disconnect(d.now()));
    // Requests and received packets that would be answered add nothing after the DISCONNECT.
    (void)d.publish("t", "y", QoS::at_least_once, 1);
    const protocol::SubscribeEntry entry{"a", QoS::at_most_once};
    (void)d.session().subscribe({&entry, 1}, 2, d.now());
    d.feed("32 06 00 01 74 00 05 78");
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("30 04 00 01 74 78 | E0 00")));
    EXPECT_EQ(only<ev::ConnectionLost>(d.take_events()),
              (std::vector<ev::ConnectionLost>{{err(Errc::closed_by_client)}}));
    d.advance(5min);  // nor do timers
    EXPECT_TRUE(d.take_output().empty());
    EXPECT_TRUE(d.take_events().empty());
}

TEST(SessionDisconnect, ConnectionLostOnlyOnceDisconnectIsWholeWritten_MQTT_3_14_4_1) {
    SessionDriver d(default_options());
    d.connect();
    d.publish_ok("t", "x", QoS::at_most_once);
    EXPECT_TRUE(d.session().disconnect(d.now()));
    const auto expected = hex("30 04 00 01 74 78 | E0 00");
    EXPECT_TRUE(bytes_equal(d.peek_output(), expected));
    d.consume(expected.size() - 1);
    EXPECT_TRUE(d.take_events().empty()) << "DISCONNECT not fully written yet";
    EXPECT_TRUE(bytes_equal(d.peek_output(), hex("00")));
    d.consume(1);
    EXPECT_EQ(d.take_events(), (Events{ev::ConnectionLost{err(Errc::closed_by_client)}}));
}

TEST(SessionDisconnect, DisconnectAfterUnackedQos1KeepsItForTheNextSession_MQTT_4_1_0_1) {
    auto o = default_options();
    o.clean_session = false;
    SessionDriver d(o);
    d.connect();
    const PacketId id = d.publish_ok("t", "x", QoS::at_least_once, 1);
    d.take_output();
    EXPECT_TRUE(d.session().disconnect(d.now()));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("E0 00")));
    d.close();
    d.take_events();
    EXPECT_EQ(d.session().inflight_count(), 1u);
    d.open();
    d.take_output();
    d.feed("20 02 01 00");
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("3A 06 00 01 74" + id_hex(id) + "78")));
}

TEST(SessionDisconnect, SecondDisconnectSendsNoSecondDisconnect) {
    SessionDriver d(default_options());
    d.connect();
    EXPECT_TRUE(d.session().disconnect(d.now()));
    (void)d.session().disconnect(d.now());
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("E0 00")));
    EXPECT_EQ(d.take_events(), (Events{ev::ConnectionLost{err(Errc::closed_by_client)}}));
}

TEST(SessionDisconnect, DisconnectWhileConnectingIsSilent) {
    SessionDriver d(default_options());
    d.open();
    EXPECT_TRUE(d.session().disconnect(d.now()));
    EXPECT_TRUE(d.take_events().empty());
    d.close();
    EXPECT_TRUE(d.take_events().empty());
    EXPECT_EQ(d.session().state(), State::idle);
    d.advance(1min);  // no connect timer left behind
    EXPECT_TRUE(d.take_events().empty());
}

TEST(SessionDisconnect, DisconnectWhenIdleReturnsFalse) {
    SessionDriver d(default_options());
    EXPECT_FALSE(d.session().disconnect(d.now()));
    EXPECT_TRUE(d.take_output().empty());
    d.connect();
    d.close();
    d.take_events();
    EXPECT_FALSE(d.session().disconnect(d.now()));
    EXPECT_TRUE(d.take_output().empty());
    EXPECT_TRUE(d.take_events().empty());
}

}  // namespace
}  // namespace nmqtt::test
