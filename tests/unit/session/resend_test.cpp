// Session: what survives a lost connection. With clean session 0 the session state is kept and re-sent
// (sections 4.1, 4.4); with clean session 1 it is not carried over [MQTT-3.1.2-6], and CleanResendPolicy
// decides what happens to unacknowledged publishes.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "support/bytes.hpp"
#include "support/session_driver.hpp"

namespace nmqtt::test {
namespace {

constexpr QoS q0 = QoS::at_most_once;
constexpr QoS q1 = QoS::at_least_once;
constexpr QoS q2 = QoS::exactly_once;

using Packets = std::vector<std::vector<std::uint8_t>>;

// The CONNECT for client "c", keepalive 60, clean session 0.
const char* const connect_keep_session = "10 0D 00 04 4D 51 54 54 04 00 00 3C 00 01 63";

session::SessionOptions keep_session_options() {
    auto o = default_options();
    o.clean_session = false;
    return o;
}

Packets of_type(const Packets& packets, std::uint8_t type) {
    Packets out;
    std::copy_if(packets.begin(), packets.end(), std::back_inserter(out),
                 [type](const auto& p) { return !p.empty() && (p[0] >> 4) == type; });
    return out;
}

// The PublishDone events sorted by tag, packet ids set to 0 (which id a failed message reports is not pinned).
std::vector<ev::PublishDone> completions_by_tag(const Events& events) {
    auto done = only<ev::PublishDone>(events);
    for (auto& e : done) e.packet_id = 0;
    std::sort(done.begin(), done.end(), [](const auto& x, const auto& y) { return x.tag < y.tag; });
    return done;
}

// Loses the connection, reconnects and feeds the CONNACK; returns the events of the whole sequence.
// The CONNECT must be the only thing written before the CONNACK [MQTT-3.1.0-1].
Events reconnect(SessionDriver& d, const char* expected_connect, const char* connack) {
    d.close(Errc::connection_closed);
    d.open();
    EXPECT_TRUE(bytes_equal(d.take_output(), hex(expected_connect)));
    d.feed(connack);
    return d.take_events();
}

TEST(SessionResend, CleanSession0ResendsPublishesWithDupAndOriginalIds_MQTT_4_4_0_1) {
    SessionDriver d(keep_session_options());
    d.connect();
    const PacketId a = d.publish_ok("t", "a", q1, 1);
    const PacketId b = d.publish_ok("t", "b", q2, 2);
    const PacketId c = d.publish_ok("t", "c", q2, 3);
    const PacketId e = d.publish_ok("t", "e", q1, 5);
    d.publish_ok("t", "z", q0);
    d.take_output();
    d.feed("50 02" + id_hex(c));  // c is past PUBREC
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("62 02" + id_hex(c))));
    d.take_events();

    const Events events = reconnect(d, connect_keep_session, "20 02 01 00");
    EXPECT_EQ(events, (Events{ev::ConnectionLost{err(Errc::connection_closed)}, ev::Connected{true}}));
    EXPECT_EQ(d.session().inflight_count(), 4u);

    const Packets packets = split_packets(d.take_output());
    // PUBLISHes not yet past PUBREC, DUP=1 [MQTT-3.3.1-1], original ids [MQTT-2.3.1-3], original order
    // [MQTT-4.6.0-1]; the QoS 0 message is not re-sent [MQTT-4.3.1-1].
    EXPECT_EQ(of_type(packets, 3), (Packets{hex("3A 06 00 01 74" + id_hex(a) + "61"),
                                            hex("3C 06 00 01 74" + id_hex(b) + "62"),
                                            hex("3A 06 00 01 74" + id_hex(e) + "65")}));
    // c is re-sent as a PUBREL, never as a PUBLISH again [MQTT-4.3.3-1].
    EXPECT_EQ(of_type(packets, 6), (Packets{hex("62 02" + id_hex(c))}));
    EXPECT_EQ(packets.size(), 4u);

    d.feed("40 02" + id_hex(a) + "50 02" + id_hex(b));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("62 02" + id_hex(b))));
    d.feed("70 02" + id_hex(c) + "70 02" + id_hex(b) + "40 02" + id_hex(e));
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{1, a, q1, {}}, ev::PublishDone{3, c, q2, {}},
                                       ev::PublishDone{2, b, q2, {}}, ev::PublishDone{5, e, q1, {}}}));
    EXPECT_EQ(d.session().inflight_count(), 0u);
}

TEST(SessionResend, ResentAgainAfterASecondLoss_MQTT_4_4_0_1) {
    SessionDriver d(keep_session_options());
    d.connect();
    const PacketId a = d.publish_ok("t", "a", q1, 1);
    d.take_output();
    for (int round = 0; round < 3; ++round) {
        SCOPED_TRACE(round);
        reconnect(d, connect_keep_session, "20 02 01 00");
        EXPECT_TRUE(bytes_equal(d.take_output(), hex("3A 06 00 01 74" + id_hex(a) + "61")));
    }
    d.feed("40 02" + id_hex(a));
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{1, a, q1, {}}}));
}

TEST(SessionResend, PendingSubscribeIsResent) {
    SessionDriver d(keep_session_options());
    d.connect();
    const PacketId s = d.subscribe_ok({{"a", q1}}, 9);
    const auto subscribe = hex("82 06" + id_hex(s) + "00 01 61 01");
    EXPECT_TRUE(bytes_equal(d.take_output(), subscribe));
    reconnect(d, connect_keep_session, "20 02 01 00");
    EXPECT_EQ(of_type(split_packets(d.take_output()), 8), (Packets{subscribe}));
    d.feed("90 03" + id_hex(s) + "01");
    EXPECT_EQ(d.take_events(), (Events{ev::SubscribeDone{9, s, {0x01}, {}}}));
}

TEST(SessionResend, PendingUnsubscribeIsResent) {
    SessionDriver d(keep_session_options());
    d.connect();
    const PacketId u = d.unsubscribe_ok({"a"}, 9);
    const auto unsubscribe = hex("A2 05" + id_hex(u) + "00 01 61");
    EXPECT_TRUE(bytes_equal(d.take_output(), unsubscribe));
    reconnect(d, connect_keep_session, "20 02 01 00");
    EXPECT_EQ(of_type(split_packets(d.take_output()), 10), (Packets{unsubscribe}));
    d.feed("B0 02" + id_hex(u));
    EXPECT_EQ(d.take_events(), (Events{ev::UnsubscribeDone{9, u, {}}}));
}

TEST(SessionResend, QueuedPublishesFollowTheResendsWithDup0) {
    auto o = keep_session_options();
    o.max_inflight = 1;
    SessionDriver d(o);
    d.connect();
    const PacketId a = d.publish_ok("t", "a", q1, 1);
    d.publish_ok("t", "b", q1, 2);  // waits behind the window, never sent
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("32 06 00 01 74" + id_hex(a) + "61")));
    reconnect(d, connect_keep_session, "20 02 01 00");
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("3A 06 00 01 74" + id_hex(a) + "61")));
    d.feed("40 02" + id_hex(a));
    const auto out = d.take_output();
    EXPECT_TRUE(bytes_equal(out, hex("32 06 00 01 74" + id_hex(id_at(out, 5)) + "62")));  // first send: DUP 0
    EXPECT_NE(id_at(out, 5), 0);
}

TEST(SessionResend, IncomingQos2StateIsKeptWithCleanSession0_MQTT_4_1_0_1) {
    SessionDriver d(keep_session_options());
    d.connect();
    d.feed("34 06 00 01 74 00 07 78");
    EXPECT_EQ(d.take_events().size(), 1u);
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("50 02 00 07")));
    reconnect(d, connect_keep_session, "20 02 01 00");
    EXPECT_EQ(d.session().incoming_qos2_count(), 1u);
    EXPECT_TRUE(d.take_output().empty());
    d.feed("3C 06 00 01 74 00 07 78");  // the server re-sends it: acknowledged, not delivered twice
    EXPECT_TRUE(d.take_events().empty());
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("50 02 00 07")));
    d.feed("62 02 00 07");
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("70 02 00 07")));
    EXPECT_EQ(d.session().incoming_qos2_count(), 0u);
}

TEST(SessionResend, SessionPresent0DropsIncomingQos2StateButResendsOurs_MQTT_3_2_2_3) {
    SessionDriver d(keep_session_options());
    d.connect();
    const PacketId a = d.publish_ok("t", "a", q1, 1);
    d.take_output();
    d.feed("34 06 00 01 74 00 07 78");
    d.take_output();
    d.take_events();
    // The server kept no session: it forgot the incoming id 7 (design.md: dropped) but our message is resent.
    const Events events = reconnect(d, connect_keep_session, "20 02 00 00");
    EXPECT_EQ(only<ev::Connected>(events), (std::vector<ev::Connected>{{false}}));
    EXPECT_EQ(d.session().incoming_qos2_count(), 0u);
    const Packets packets = split_packets(d.take_output());
    ASSERT_EQ(packets.size(), 1u);
    auto resent = packets[0];
    ASSERT_FALSE(resent.empty());
    resent[0] &= 0xF7;  // DUP either way: the server has no record of the first copy
    EXPECT_EQ(resent, hex("32 06 00 01 74" + id_hex(a) + "61"));
    d.feed("34 06 00 01 74 00 07 79");  // id 7 again is a new message now
    EXPECT_EQ(only<ev::Message>(d.take_events()).size(), 1u);
}

TEST(SessionResend, CleanSession1RepublishesAsNewMessages_MQTT_3_1_2_6) {
    SessionDriver d(default_options());  // clean session, CleanResendPolicy::republish
    d.connect();
    d.publish_ok("t", "a", q1, 1);
    d.publish_ok("t", "b", q2, 2);
    const PacketId c = d.publish_ok("t", "c", q2, 3);
    d.take_output();
    d.feed("50 02" + id_hex(c));  // c reached the server: done, nothing to re-send
    d.take_output();

    const Events events = reconnect(d, "10 0D 00 04 4D 51 54 54 04 02 00 3C 00 01 63", "20 02 00 00");
    EXPECT_EQ(only<ev::Connected>(events), (std::vector<ev::Connected>{{false}}));
    const auto done = only<ev::PublishDone>(events);
    ASSERT_EQ(done.size(), 1u) << ::testing::PrintToString(events);
    EXPECT_EQ(done[0].tag, 3u);
    EXPECT_EQ(done[0].qos, q2);
    EXPECT_FALSE(done[0].error) << done[0];

    // a and b go out again as new messages: DUP 0, ids from the new session; no PUBREL for c.
    const Packets packets = split_packets(d.take_output());
    ASSERT_EQ(packets.size(), 2u);
    const PacketId new_a = id_at(packets[0], 5);
    const PacketId new_b = id_at(packets[1], 5);
    EXPECT_NE(new_a, 0);
    EXPECT_NE(new_b, 0);
    EXPECT_NE(new_a, new_b);
    EXPECT_EQ(packets[0], hex("32 06 00 01 74" + id_hex(new_a) + "61"));
    EXPECT_EQ(packets[1], hex("34 06 00 01 74" + id_hex(new_b) + "62"));

    d.feed("40 02" + id_hex(new_a) + "50 02" + id_hex(new_b));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("62 02" + id_hex(new_b))));
    d.feed("70 02" + id_hex(new_b));
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{1, new_a, q1, {}}, ev::PublishDone{2, new_b, q2, {}}}));
    EXPECT_EQ(d.session().inflight_count(), 0u);
}

TEST(SessionResend, CleanSession1WithFailPolicyCompletesWithSessionLost) {
    auto o = default_options();
    o.clean_resend = session::CleanResendPolicy::fail;
    SessionDriver d(o);
    d.connect();
    d.publish_ok("t", "a", q1, 1);
    d.publish_ok("t", "b", q2, 2);
    d.take_output();

    const Events events = reconnect(d, "10 0D 00 04 4D 51 54 54 04 02 00 3C 00 01 63", "20 02 00 00");
    EXPECT_EQ(completions_by_tag(events), (std::vector<ev::PublishDone>{{1, 0, q1, err(Errc::session_lost)},
                                                                       {2, 0, q2, err(Errc::session_lost)}}));
    EXPECT_TRUE(d.take_output().empty());
    EXPECT_EQ(d.session().inflight_count(), 0u);
}

TEST(SessionResend, IncomingQos2StateIsDroppedOnCleanSession_MQTT_3_1_2_6) {
    SessionDriver d(default_options());
    d.connect();
    d.feed("34 06 00 01 74 00 07 78");
    d.take_output();
    EXPECT_EQ(d.take_events().size(), 1u);
    reconnect(d, "10 0D 00 04 4D 51 54 54 04 02 00 3C 00 01 63", "20 02 00 00");
    EXPECT_EQ(d.session().incoming_qos2_count(), 0u);
    d.feed("34 06 00 01 74 00 07 79");  // a new message in the new session with the same id
    EXPECT_EQ(d.take_events(), (Events{ev::Message{"t", "y", q2, false, false, 7}}));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("50 02 00 07")));
}

TEST(SessionResend, NothingIsSentWhileIdle) {
    SessionDriver d(keep_session_options());
    d.connect();
    d.publish_ok("t", "a", q1, 1);
    d.take_output();
    d.close();
    d.take_events();
    d.advance(std::chrono::minutes(5));
    EXPECT_TRUE(d.take_output().empty());
    EXPECT_EQ(d.session().inflight_count(), 1u);
}

}  // namespace
}  // namespace nmqtt::test
