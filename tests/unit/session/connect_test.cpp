// Session: connecting. CONNECT first on the wire, CONNACK accepted or refused, connect timeouts, the peer
// closing early. Golden bytes are written by hand from sections 3.1 and 3.2 of MQTT 3.1.1.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "support/bytes.hpp"
#include "support/session_driver.hpp"

namespace nmqtt::test {
namespace {

using namespace std::chrono_literals;
using session::State;

TEST(SessionConnect, ConnectIsFirstOnTheWireEvenWithRequestsQueued_MQTT_3_1_0_1) {
    SessionDriver d(default_options());
    d.open();
    EXPECT_EQ(d.session().state(), State::connecting);
    // Queued requests may get their packet ids only when they are sent (design.md): 0 until then.
    const PacketId p1 = d.publish_ok("t", "hi", QoS::at_least_once, 1);
    EXPECT_EQ(d.publish_ok("t", "x", QoS::at_most_once), 0);
    const PacketId s1 = d.subscribe_ok({{"a", QoS::at_least_once}}, 2);

    // Only the CONNECT may be written before the CONNACK.
    EXPECT_TRUE(bytes_equal(d.take_output(), default_connect()));
    d.feed("20 02 00 00");
    EXPECT_EQ(d.take_events(), (Events{ev::Connected{false}}));

    // Then the requests, in the order they were made.
    const auto packets = split_packets(d.take_output());
    ASSERT_EQ(packets.size(), 3u);
    const PacketId wire_p1 = id_at(packets[0], 5);
    const PacketId wire_s1 = id_at(packets[2], 2);
    EXPECT_NE(wire_p1, 0);
    EXPECT_NE(wire_s1, 0);
    EXPECT_NE(wire_p1, wire_s1);
    EXPECT_TRUE(p1 == 0 || p1 == wire_p1);
    EXPECT_TRUE(s1 == 0 || s1 == wire_s1);
    EXPECT_TRUE(bytes_equal(packets[0], hex("32 07 00 01 74" + id_hex(wire_p1) + "68 69")));  // QoS 1 "t" "hi"
    EXPECT_TRUE(bytes_equal(packets[1], hex("30 04 00 01 74 78")));                           // QoS 0 "t" "x"
    EXPECT_TRUE(bytes_equal(packets[2], hex("82 06" + id_hex(wire_s1) + "00 01 61 01")));     // SUBSCRIBE "a" 1

    d.feed("40 02" + id_hex(wire_p1) + "90 03" + id_hex(wire_s1) + "01");
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{1, wire_p1, QoS::at_least_once, {}},
                                       ev::SubscribeDone{2, wire_s1, {0x01}, {}}}));
}

TEST(SessionConnect, ConnectGoldenBytesDefaultOptions_MQTT_3_1_2_1) {
    SessionDriver d(default_options());
    d.open();
    // 10 0D | 00 04 "MQTT" | level 4 | flags: clean session | keepalive 60 | client id "c"
    EXPECT_TRUE(bytes_equal(d.peek_output(), hex("10 0D 00 04 4D 51 54 54 04 02 00 3C 00 01 63")));
}

TEST(SessionConnect, ConnectCarriesCredentialsInOrder_MQTT_3_1_3_1) {
    auto o = default_options();
    o.username = "u";
    o.password = "p";
    SessionDriver d(o);
    d.open();
    // flags C2: user name, password, clean session; payload: client id, user name, password.
    EXPECT_TRUE(bytes_equal(d.peek_output(),
                            hex("10 13 00 04 4D 51 54 54 04 C2 00 3C | 00 01 63 | 00 01 75 | 00 01 70")));
}

TEST(SessionConnect, ConnectCarriesWill_MQTT_3_1_2_9) {
    auto o = default_options();
    o.will = session::WillMessage{"w", "bye", QoS::at_least_once, true};
    SessionDriver d(o);
    d.open();
    // flags 2E: will retain (20), will QoS 1 (08), will flag (04), clean session (02).
    EXPECT_TRUE(bytes_equal(d.peek_output(),
                            hex("10 15 00 04 4D 51 54 54 04 2E 00 3C | 00 01 63 | 00 01 77 | 00 03 62 79 65")));
}

TEST(SessionConnect, ConnectWithoutCleanSessionAndKeepaliveZero_MQTT_3_1_2_4) {
    auto o = default_options();
    o.clean_session = false;
    o.keepalive_seconds = 0;
    SessionDriver d(o);
    d.open();
    EXPECT_TRUE(bytes_equal(d.peek_output(), hex("10 0D 00 04 4D 51 54 54 04 00 00 00 00 01 63")));
}

TEST(SessionConnect, SetWillWhileIdleChangesTheNextConnect) {
    SessionDriver d(default_options());
    EXPECT_FALSE(d.session().set_will(session::WillMessage{"w", "", QoS::exactly_once, false}));
    d.open();
    // flags 16: will QoS 2 (10), will flag (04), clean session (02); empty will message.
    EXPECT_TRUE(bytes_equal(d.peek_output(),
                            hex("10 12 00 04 4D 51 54 54 04 16 00 3C | 00 01 63 | 00 01 77 | 00 00")));
}

TEST(SessionConnect, SetWillNulloptRemovesTheWill) {
    auto o = default_options();
    o.will = session::WillMessage{"w", "bye", QoS::at_least_once, true};
    SessionDriver d(o);
    EXPECT_FALSE(d.session().set_will(std::nullopt));
    d.open();
    EXPECT_TRUE(bytes_equal(d.peek_output(), default_connect()));
}

// NodeMCU's lwt() may be called at any time; the will it sets goes with the next CONNECT, the connection
// already opened keeps the will of its own CONNECT.
TEST(SessionConnect, SetWillWhileConnectingOrConnectedChangesOnlyTheNextConnect) {
    SessionDriver d(default_options());
    d.open();
    EXPECT_FALSE(d.session().set_will(session::WillMessage{"w", "", QoS::exactly_once, false}));
    EXPECT_TRUE(bytes_equal(d.take_output(), default_connect()));
    d.feed("20 02 00 00");
    EXPECT_EQ(d.take_events(), (Events{ev::Connected{false}}));
    EXPECT_FALSE(d.session().set_will(session::WillMessage{"w", "", QoS::exactly_once, false}));
    EXPECT_TRUE(d.take_output().empty());
    d.close();
    d.take_events();
    d.open();
    // flags 16: will QoS 2 (10), will flag (04), clean session (02); empty will message.
    EXPECT_TRUE(bytes_equal(d.peek_output(),
                            hex("10 12 00 04 4D 51 54 54 04 16 00 3C | 00 01 63 | 00 01 77 | 00 00")));
}

TEST(SessionConnect, SetWillRejectsBadWill_MQTT_4_7_1_1) {
    SessionDriver d(default_options());
    EXPECT_EQ(d.session().set_will(session::WillMessage{"a/#", "x", QoS::at_most_once, false}),
              err(Errc::bad_topic_name));
    EXPECT_EQ(d.session().set_will(session::WillMessage{"a", "x", static_cast<QoS>(3), false}), err(Errc::bad_qos));
    EXPECT_EQ(d.session().set_will(session::WillMessage{"a\xC0\x80", "x", QoS::at_most_once, false}),
              err(Errc::bad_utf8));
}

TEST(SessionConnect, ConnectionOpenedTwiceIsAlreadyConnected_MQTT_3_1_0_2) {
    SessionDriver d(default_options());
    d.open();
    EXPECT_EQ(d.session().connection_opened(d.now()), err(Errc::already_connected));
    EXPECT_TRUE(bytes_equal(d.take_output(), default_connect()));
    d.feed("20 02 00 00");
    EXPECT_EQ(d.session().connection_opened(d.now()), err(Errc::already_connected));
    EXPECT_TRUE(d.take_output().empty());
}

TEST(SessionConnect, PublishWhileIdleIsNotConnected) {
    SessionDriver d(default_options());
    EXPECT_EQ(d.session().state(), State::idle);
    EXPECT_EQ(d.publish("t", "x", QoS::at_most_once).error(), err(Errc::not_connected));
    EXPECT_EQ(d.publish("t", "x", QoS::at_least_once, 1).error(), err(Errc::not_connected));
    const protocol::SubscribeEntry entry{"t", QoS::at_most_once};
    EXPECT_EQ(d.session().subscribe({&entry, 1}, 0, d.now()).error(), err(Errc::not_connected));
    const std::string_view filter = "t";
    EXPECT_EQ(d.session().unsubscribe({&filter, 1}, 0, d.now()).error(), err(Errc::not_connected));
    EXPECT_TRUE(d.take_output().empty());
    EXPECT_TRUE(d.take_events().empty());
}

TEST(SessionConnect, QueueWhileOfflineAcceptsRequestsWhileIdle) {
    auto o = default_options();
    o.queue_while_offline = true;
    o.max_queued_messages = 2;
    SessionDriver d(o);
    d.publish_ok("t", "x", QoS::at_most_once, 1);
    d.publish_ok("t", "y", QoS::at_least_once, 2);
    EXPECT_EQ(d.publish("t", "z", QoS::at_most_once).error(), err(Errc::queue_full));  // bounds still apply
    EXPECT_TRUE(d.take_output().empty());
    EXPECT_TRUE(d.take_events().empty());
    d.open();
    EXPECT_TRUE(bytes_equal(d.take_output(), default_connect()));  // still first [MQTT-3.1.0-1]
    d.feed("20 02 00 00");
    const auto packets = split_packets(d.take_output());
    ASSERT_EQ(packets.size(), 2u);
    EXPECT_TRUE(bytes_equal(packets[0], hex("30 04 00 01 74 78")));
    EXPECT_TRUE(bytes_equal(packets[1], hex("32 06 00 01 74" + id_hex(id_at(packets[1], 5)) + "79")));
    EXPECT_NE(id_at(packets[1], 5), 0);
}

TEST(SessionConnect, ConnackAcceptedIsConnected_MQTT_3_1_4_4) {
    SessionDriver d(default_options());
    d.open();
    d.take_output();
    d.feed("20 02 00 00");
    EXPECT_EQ(d.take_events(), (Events{ev::Connected{false}}));
    EXPECT_EQ(d.session().state(), State::connected);
}

TEST(SessionConnect, ConnackSplitAcrossReads) {
    SessionDriver d(default_options());
    d.open();
    d.take_output();
    d.feed("20");
    d.feed("02 00");
    EXPECT_TRUE(d.take_events().empty());
    d.feed("00");
    EXPECT_EQ(d.take_events(), (Events{ev::Connected{false}}));
}

TEST(SessionConnect, ConnackAndPublishInOneChunk) {
    SessionDriver d(default_options());
    d.open();
    d.take_output();
    d.feed("20 02 00 00 | 30 04 00 01 74 78");
    EXPECT_EQ(d.take_events(), (Events{ev::Connected{false}, ev::Message{"t", "x", QoS::at_most_once, false, false, 0}}));
}

TEST(SessionConnect, SessionPresentIsSurfaced_MQTT_3_2_2_2) {
    auto o = default_options();
    o.clean_session = false;
    for (const bool present : {false, true}) {
        SCOPED_TRACE(present);
        SessionDriver d(o);
        d.open();
        d.take_output();
        d.feed(present ? "20 02 01 00" : "20 02 00 00");
        EXPECT_EQ(d.take_events(), (Events{ev::Connected{present}}));
    }
}

// Opens a connection, writes the CONNECT and feeds the server's `reply`; returns the events.
Events after_reply(SessionDriver& d, std::string_view reply) {
    d.open();
    d.take_output();
    d.feed(reply);
    return d.take_events();
}

class SessionConnackRefused : public ::testing::TestWithParam<int> {};

TEST_P(SessionConnackRefused, IsConnectFailedWithTheCode_MQTT_3_2_2_5) {
    const int code = GetParam();
    SessionDriver d(default_options());
    EXPECT_EQ(after_reply(d, std::string("20 02 00 0") + char('0' + code)),
              (Events{ev::ConnectFailed{code, err(Errc::connection_refused)}}));
    EXPECT_TRUE(d.take_output().empty());
    d.close();  // the session already reported the end of this connection
    EXPECT_TRUE(d.take_events().empty());
    EXPECT_EQ(d.session().state(), State::idle);
}

INSTANTIATE_TEST_SUITE_P(SessionConnect, SessionConnackRefused, ::testing::Range(1, 6));

TEST(SessionConnect, RefusalWithSessionPresentSetIsStillARefusal_MQTT_3_2_2_4) {
    auto o = default_options();
    o.clean_session = false;
    SessionDriver d(o);
    EXPECT_EQ(after_reply(d, "20 02 01 04"), (Events{ev::ConnectFailed{4, err(Errc::connection_refused)}}));
}

class SessionFirstPacketNotConnack : public ::testing::TestWithParam<const char*> {};

TEST_P(SessionFirstPacketNotConnack, IsConnectFailedMinus4_MQTT_3_2_0_1) {
    SessionDriver d(default_options());
    EXPECT_EQ(after_reply(d, GetParam()), (Events{ev::ConnectFailed{-4, err(Errc::not_a_connack)}}));
    EXPECT_NE(d.session().state(), State::connected);
    EXPECT_TRUE(d.take_output().empty());
}

INSTANTIATE_TEST_SUITE_P(SessionConnect, SessionFirstPacketNotConnack,
                         ::testing::Values("30 03 00 01 74", "D0 00", "90 03 00 01 00", "40 02 00 01"));

class SessionMalformedConnack : public ::testing::TestWithParam<const char*> {};

TEST_P(SessionMalformedConnack, IsConnectFailed) {
    SessionDriver d(default_options());
    const auto got = only<ev::ConnectFailed>(after_reply(d, GetParam()));
    ASSERT_EQ(got.size(), 1u);
    const std::error_code e = got[0].error;
    EXPECT_TRUE(e == err(Errc::bad_connack) || e == err(Errc::bad_remaining_length)) << got[0];
    EXPECT_NE(d.session().state(), State::connected);
}

// Reserved bits of the acknowledge flags set; return code above 5; wrong remaining length.
INSTANTIATE_TEST_SUITE_P(SessionConnect, SessionMalformedConnack,
                         ::testing::Values("20 02 02 00", "20 02 00 06", "20 03 00 00 00"));

TEST(SessionConnect, SessionPresentOnCleanSessionIsAFailure_MQTT_3_2_2_1) {
    SessionDriver d(default_options());
    d.open();
    d.take_output();
    d.feed("20 02 01 00");
    const auto events = d.take_events();
    EXPECT_TRUE(only<ev::Connected>(events).empty());
    const auto failed = only<ev::ConnectFailed>(events);
    ASSERT_EQ(failed.size(), 1u) << ::testing::PrintToString(events);
    EXPECT_EQ(failed[0].error, err(Errc::session_present_on_clean));
    EXPECT_EQ(failed[0].code, -4);  // design.md: reported as "not a (valid) CONNACK"
    EXPECT_NE(d.session().state(), State::connected);
}

TEST(SessionConnect, FirstDeadlineIsTheConnectTimeout) {
    SessionDriver d(default_options());
    const TimePoint t0 = d.now();
    EXPECT_EQ(d.session().next_deadline(), std::nullopt);
    d.open();
    EXPECT_EQ(d.session().next_deadline(), t0 + 5s);
}

TEST(SessionConnect, ConnackTimeoutIsConnectFailedMinus2) {
    SessionDriver d(default_options());
    d.open();
    d.take_output();  // CONNECT written at t0
    d.advance(5s - 1ms);
    EXPECT_TRUE(d.take_events().empty());
    d.advance(1ms);
    EXPECT_EQ(d.take_events(), (Events{ev::ConnectFailed{-2, err(Errc::connack_timeout)}}));
    EXPECT_TRUE(d.take_output().empty());
    d.close();
    EXPECT_TRUE(d.take_events().empty());
    EXPECT_EQ(d.session().state(), State::idle);
}

TEST(SessionConnect, ConnackTimeoutCountsFromTheConnectWrite) {
    SessionDriver d(default_options());
    d.set_auto_write(false);
    d.open();
    d.advance(2s);
    d.take_output();  // the CONNECT is written at t0 + 2 s; then 5 s for the CONNACK (NodeMCU)
    d.advance(5s - 1ms);
    EXPECT_TRUE(d.take_events().empty());
    d.advance(1ms);
    EXPECT_EQ(d.take_events(), (Events{ev::ConnectFailed{-2, err(Errc::connack_timeout)}}));
}

TEST(SessionConnect, ConnackJustInTimeIsAccepted) {
    SessionDriver d(default_options());
    d.open();
    d.take_output();
    d.advance(5s - 1ms);
    d.feed("20 02 00 00");
    EXPECT_EQ(d.take_events(), (Events{ev::Connected{false}}));
    d.advance(2s);
    EXPECT_TRUE(d.take_events().empty());
}

TEST(SessionConnect, ConnectNotWrittenInTimeIsConnectFailedMinus1) {
    SessionDriver d(default_options());
    d.set_auto_write(false);  // the transport never manages to write
    d.open();
    d.advance(5s - 1ms);
    EXPECT_TRUE(d.take_events().empty());
    d.advance(1ms);
    EXPECT_EQ(d.take_events(), (Events{ev::ConnectFailed{-1, err(Errc::connect_write_timeout)}}));
}

TEST(SessionConnect, ConnectWriteTimeoutIsConfigurable) {
    auto o = default_options();
    o.connect_write_timeout = 2s;
    SessionDriver d(o);
    d.set_auto_write(false);
    d.open();
    d.advance(2s - 1ms);
    EXPECT_TRUE(d.take_events().empty());
    d.advance(1ms);
    EXPECT_EQ(d.take_events(), (Events{ev::ConnectFailed{-1, err(Errc::connect_write_timeout)}}));
}

TEST(SessionConnect, PeerClosesBeforeConnack_MQTT_3_1_4_1) {
    SessionDriver d(default_options());
    d.open();
    d.take_output();
    d.close(Errc::connection_closed);
    EXPECT_EQ(d.take_events(), (Events{ev::ConnectFailed{-4, err(Errc::connection_closed)}}));
    EXPECT_EQ(d.session().state(), State::idle);
    EXPECT_EQ(d.session().next_deadline(), std::nullopt);
}

TEST(SessionConnect, ReconnectAfterRefusalSendsConnectFirstAgain) {
    SessionDriver d(default_options());
    d.open();
    d.take_output();
    d.feed("20 02 00 05");
    d.close();
    d.take_events();
    d.open();
    EXPECT_TRUE(bytes_equal(d.take_output(), default_connect()));
    d.feed("20 02 00 00");
    EXPECT_EQ(d.take_events(), (Events{ev::Connected{false}}));
}

TEST(SessionConnect, ConnectionLostWhenConnectedAndTransportCloses) {
    SessionDriver d(default_options());
    d.connect();
    d.close(Errc::connection_closed);
    EXPECT_EQ(d.take_events(), (Events{ev::ConnectionLost{err(Errc::connection_closed)}}));
    EXPECT_EQ(d.session().state(), State::idle);
    d.close(Errc::connection_closed);  // reported once only
    EXPECT_TRUE(d.take_events().empty());
}

TEST(SessionConnect, EarlyHandleTimeoutDoesNothing) {
    SessionDriver d(default_options());
    d.open();
    d.session().handle_timeout(d.now());
    d.take_output();
    d.feed("20 02 00 00");
    for (int i = 0; i < 10; ++i) d.session().handle_timeout(d.now());
    EXPECT_TRUE(d.take_output().empty());
    EXPECT_EQ(d.take_events(), (Events{ev::Connected{false}}));
    EXPECT_EQ(d.session().state(), State::connected);
}

TEST(SessionConnect, AMovedSessionCarriesOn) {
    auto d = std::make_unique<SessionDriver>(default_options());
    d->connect();
    session::Session moved(std::move(d->session()));
    EXPECT_EQ(moved.state(), State::connected);
    EXPECT_EQ(moved.options().client_id, "c");
    const auto r = moved.publish(session::PublishRequest{"t", "x", QoS::at_most_once, false, 0}, d->now());
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(bytes_equal(moved.pending_output(), hex("30 04 00 01 74 78")));
}

TEST(SessionConnect, NoTimersWhileIdle) {
    SessionDriver d(default_options());
    d.connect();
    d.close();
    EXPECT_EQ(d.session().next_deadline(), std::nullopt);
    d.advance(1h);
    EXPECT_TRUE(d.take_output().empty());
}

}  // namespace
}  // namespace nmqtt::test
