// Session: keep alive (section 3.1.2.10). PINGREQ (C0 00) after keepalive seconds without sending, any
// send resets it, no PINGRESP within ping_timeout loses the connection. Time moves only through the driver,
// which calls handle_timeout() at next_deadline() as an event loop would.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "support/bytes.hpp"
#include "support/session_driver.hpp"

namespace nmqtt::test {
namespace {

using namespace std::chrono_literals;

session::SessionOptions keepalive_options(std::uint16_t seconds) {
    auto o = default_options();
    o.keepalive_seconds = seconds;
    return o;
}

TEST(SessionKeepalive, PingreqAfterKeepaliveWithoutSending_MQTT_3_1_2_23) {
    SessionDriver d(keepalive_options(10));
    const TimePoint t0 = d.now();
    d.connect();  // CONNECT written at t0
    EXPECT_EQ(d.session().next_deadline(), t0 + 10s);
    d.advance(10s - 1ms);
    EXPECT_TRUE(d.take_output().empty());
    d.advance(1ms);
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("C0 00")));
    EXPECT_EQ(d.write_times().back(), t0 + 10s);
    EXPECT_TRUE(d.take_events().empty());
}

TEST(SessionKeepalive, PublishResetsTheTimer_MQTT_3_1_2_23) {
    SessionDriver d(keepalive_options(10));
    const TimePoint t0 = d.now();
    d.connect();
    d.advance(6s);
    d.publish_ok("t", "x", QoS::at_most_once);
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("30 04 00 01 74 78")));  // written at t0 + 6 s
    // The server is heard from too (design.md also pings after a keepalive of silence from the server).
    d.feed("30 04 00 01 74 79");
    d.take_events();
    d.advance(10s - 1ms);
    EXPECT_TRUE(d.take_output().empty());
    d.advance(1ms);
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("C0 00")));
    EXPECT_EQ(d.write_times().back(), t0 + 16s);
}

TEST(SessionKeepalive, PingreqWhenTheServerIsSilentForKeepalive) {  // design.md: detects dead links
    SessionDriver d(keepalive_options(10));
    const TimePoint t0 = d.now();
    d.connect();
    for (int i = 0; i < 3; ++i) {
        d.advance(3s);
        d.publish_ok("t", "x", QoS::at_most_once);
    }
    EXPECT_EQ(split_packets(d.take_output()).size(), 3u);
    d.advance(1s);  // t0 + 10 s: sent 1 s ago, but nothing heard since the CONNACK
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("C0 00")));
    EXPECT_EQ(d.write_times().back(), t0 + 10s);
}

TEST(SessionKeepalive, AnAckSentResetsTheTimer_MQTT_3_1_2_23) {
    SessionDriver d(keepalive_options(10));
    const TimePoint t0 = d.now();
    d.connect();
    d.advance(7s);
    d.feed("32 06 00 01 74 00 05 78");  // QoS 1 PUBLISH id 5: the PUBACK is a send
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("40 02 00 05")));
    d.advance(10s - 1ms);
    EXPECT_TRUE(d.take_output().empty());
    d.advance(1ms);
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("C0 00")));
    EXPECT_EQ(d.write_times().back(), t0 + 17s);
}

TEST(SessionKeepalive, ReceivingDoesNotResetTheTimer_MQTT_3_1_2_23) {
    SessionDriver d(keepalive_options(10));
    const TimePoint t0 = d.now();
    d.connect();
    d.advance(6s);
    d.feed("30 04 00 01 74 78");  // QoS 0 PUBLISH: nothing to answer
    EXPECT_TRUE(d.take_output().empty());
    d.advance(4s);
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("C0 00")));
    EXPECT_EQ(d.write_times().back(), t0 + 10s);
}

TEST(SessionKeepalive, PingrespKeepsTheConnectionAndPingsContinue) {
    SessionDriver d(keepalive_options(10));
    const TimePoint t0 = d.now();
    d.connect();
    d.advance(10s);
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("C0 00")));
    d.advance(1s);
    d.feed("D0 00");
    EXPECT_EQ(d.take_events(), (Events{ev::PingResponse{}}));
    d.advance(9s);  // t0 + 20 s: ten seconds after the last PINGREQ was written
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("C0 00")));
    EXPECT_EQ(d.write_times().back(), t0 + 20s);
    EXPECT_TRUE(d.take_events().empty());
    EXPECT_EQ(d.session().state(), session::State::connected);
}

TEST(SessionKeepalive, NoPingrespWithinKeepaliveIsConnectionLost_MQTT_3_12_4_1) {
    SessionDriver d(keepalive_options(10));  // ping_timeout 0: half the keepalive interval
    d.connect();
    d.advance(10s);
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("C0 00")));
    d.advance(5s - 1ms);
    EXPECT_TRUE(d.take_events().empty());
    d.advance(1ms);
    EXPECT_EQ(d.take_events(), (Events{ev::ConnectionLost{err(Errc::ping_timeout)}}));
    // Nothing more is sent on this connection, and closing it reports nothing more.
    (void)d.publish("t", "x", QoS::at_least_once, 1);
    d.advance(1min);
    EXPECT_TRUE(d.take_output().empty());
    d.close();
    EXPECT_TRUE(d.take_events().empty());
    EXPECT_EQ(d.session().state(), session::State::idle);
}

TEST(SessionKeepalive, PingTimeoutIsConfigurable) {
    auto o = keepalive_options(10);
    o.ping_timeout = 3s;
    SessionDriver d(o);
    const TimePoint t0 = d.now();
    d.connect();
    d.advance(13s - 1ms);
    EXPECT_TRUE(d.take_events().empty());
    d.advance(1ms);
    EXPECT_EQ(d.take_events(), (Events{ev::ConnectionLost{err(Errc::ping_timeout)}}));
    EXPECT_EQ(d.now(), t0 + 13s);
}

TEST(SessionKeepalive, PingrespJustInTime) {
    auto o = keepalive_options(10);
    o.ping_timeout = 3s;
    SessionDriver d(o);
    d.connect();
    d.advance(13s - 1ms);
    d.feed("D0 00");
    d.advance(2s);
    EXPECT_EQ(d.take_events(), (Events{ev::PingResponse{}}));
}

TEST(SessionKeepalive, KeepaliveZeroNeverPings) {
    SessionDriver d(keepalive_options(0));
    d.connect();
    EXPECT_EQ(d.session().next_deadline(), std::nullopt);
    d.advance(10h);
    EXPECT_TRUE(d.take_output().empty());
    EXPECT_TRUE(d.take_events().empty());
    EXPECT_EQ(d.session().state(), session::State::connected);
}

TEST(SessionKeepalive, LateConnackStillPingsWithinKeepaliveOfTheConnect_MQTT_3_1_2_23) {
    SessionDriver d(keepalive_options(10));
    const TimePoint t0 = d.now();
    d.open();
    d.take_output();  // CONNECT written at t0
    d.advance(3s);
    d.feed("20 02 00 00");
    d.advance(7s);  // t0 + 10 s
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("C0 00")));
    EXPECT_LE(d.write_times().back(), t0 + 10s);
}

// Irregular traffic both ways for `steps` x 700 ms; the server answers every PINGREQ.
void run_mixed_traffic(SessionDriver& d, int steps) {
    for (int step = 0; step < steps; ++step) {
        if (step % 7 == 0) d.publish_ok("t", "x", QoS::at_most_once);
        if (step % 11 == 0) d.feed("32 06 00 01 74 00 05 78");  // answered with a PUBACK
        d.advance(700ms);
        for (const auto& packet : split_packets(d.take_output()))
            if (packet == hex("C0 00")) d.feed("D0 00");
    }
}

// The longest time between two writes, and between the last write and now.
Duration longest_silence(const std::vector<TimePoint>& writes, TimePoint now) {
    Duration longest{};
    for (std::size_t i = 1; i < writes.size(); ++i) longest = std::max(longest, writes[i] - writes[i - 1]);
    return writes.empty() ? longest : std::max(longest, now - writes.back());
}

TEST(SessionKeepalive, NeverMoreThanKeepaliveBetweenSends_MQTT_3_1_2_23) {
    SessionDriver d(keepalive_options(5));
    d.connect();
    run_mixed_traffic(d, 200);
    EXPECT_EQ(d.session().state(), session::State::connected);
    EXPECT_TRUE(only<ev::ConnectionLost>(d.take_events()).empty());
    EXPECT_GE(d.write_times().size(), 20u);
    EXPECT_LE(longest_silence(d.write_times(), d.now()), Duration(5s));
}

}  // namespace
}  // namespace nmqtt::test
