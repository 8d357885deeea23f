// nmqtt::Client through a FaultProxy: connections cut mid-stream, a stalled (not closed) connection found by
// the keepalive and recovered by reconnecting, traffic split into 1-byte segments and delayed. Every message
// still arrives: none lost, none duplicated at QoS 2, in order.
#include <gtest/gtest.h>

#include <asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "reliability_harness.hpp"
#include "support/fault_proxy.hpp"
#include "support/mosquitto_fixture.hpp"

namespace nmqtt::test {
namespace {

// mosquitto 2.0.11 stops sending QoS 2 to a subscriber after its default max_inflight_messages (20) when
// PUBRECs interleave with new messages (see client_messaging_test.cpp): lifted here.
MosquittoOptions broker_options() { return MosquittoOptions{.extra_config = {"max_inflight_messages 0"}}; }

void expect_complete_stream(const StreamCounter& c, int qos) {
    EXPECT_EQ(c.lost(), 0) << "every message arrives [MQTT-4.3]";
    EXPECT_EQ(c.first_arrivals_out_of_order(), 0) << "ordered topic [MQTT-4.6.0-6]";
    if (qos == 2) {
        EXPECT_EQ(c.duplicates(), 0) << "exactly once [MQTT-4.3.3]";
        EXPECT_EQ(c.arrivals_out_of_order(), 0);
    }
}

class CutTest : public ::testing::TestWithParam<int> {};

// The publisher's connection (through the proxy) is reset twice mid-stream; it reconnects by itself with its
// session (clean session 0) and sends the unacknowledged messages again [MQTT-4.4.0-1].
TEST_P(CutTest, ConnectionCutMidStreamLosesNothing) {
    const int qos = GetParam();
    constexpr int n = 600;
    MosquittoFixture broker(broker_options());
    FaultProxy proxy(broker.host(), broker.port());
    asio::io_context io;
    Subscriber sub(io, test_options("cut-sub"));
    ASSERT_TRUE(sub.start(broker.host(), broker.port(), {{"cut/t", qos}}, n));

    ClientOptions o = reconnecting_options("cut-pub");
    o.clean_session = false;
    o.queue_while_offline = true;
    Client pub(io, o);
    ReconnectLog log;
    log.attach(pub);
    ASSERT_TRUE(connect_and_wait(pub, proxy.host(), proxy.port()));
    NumberedPublisher p;
    p.on_completed = [&](int done) {
        if (done == n / 4 || done == n * 2 / 3) proxy.cut_all();  // mid-stream: 100 in flight, more to come
    };
    p.start(pub, "cut/t", n, qos, 100);
    ASSERT_TRUE(run_until(io, [&] { return p.completed == n && sub.counter("cut/t").distinct() == n; }, 30s))
        << "completed " << p.completed << ", received " << sub.counter("cut/t").distinct() << "\n" << log.describe();
    EXPECT_EQ(p.failed, 0);
    EXPECT_GE(log.count(ReconnectInfo::Kind::attempting), 2U) << "reconnected after each cut";
    EXPECT_GE(proxy.connections_accepted(), 3U);
    expect_complete_stream(sub.counter("cut/t"), qos);
}

INSTANTIATE_TEST_SUITE_P(Qos, CutTest, ::testing::Values(1, 2), [](const auto& param_info) {
    return "Qos" + std::to_string(param_info.param);
});

// A stalled connection (nothing forwarded, nothing closed) is found by the keepalive within 1.5 x keepalive
// (PINGREQ after a keepalive interval without traffic, then half an interval for the PINGRESP) and recovered
// by reconnecting; the message published into the stall arrives.
TEST(ReliabilityFaultTest, StalledConnectionIsDetectedByKeepaliveAndRecovered) {
    constexpr std::uint16_t keepalive = 2;
    MosquittoFixture broker;
    FaultProxy proxy(broker.host(), broker.port());
    asio::io_context io;
    Subscriber sub(io, test_options("stall-sub"));
    ASSERT_TRUE(sub.start(broker.host(), broker.port(), {{"stall/t", 1}}, 1));

    ClientOptions o = reconnecting_options("stall-pub", keepalive);
    o.clean_session = false;
    Client pub(io, o);
    Recorder r;
    r.attach(pub);
    ASSERT_TRUE(connect_and_wait(pub, proxy.host(), proxy.port()));
    r.attach(pub);
    proxy.stall(Direction::both);
    const auto stalled_at = std::chrono::steady_clock::now();
    NumberedPublisher p;
    p.start(pub, "stall/t", 1, 1);
    // The bound of the detection, plus 1 s for a loaded machine: the deadline of the wait, not a measured time.
    const auto bound = std::chrono::milliseconds(keepalive * 1500) + 1s;
    ASSERT_TRUE(run_until(io, [&] { return r.offlines == 1; }, bound)) << "stall not detected in time";
    const auto detected_after = std::chrono::steady_clock::now() - stalled_at;
    EXPECT_EQ(pub.last_error(), Errc::ping_timeout);
    const auto detected_ms = std::chrono::duration_cast<std::chrono::milliseconds>(detected_after).count();
    RecordProperty("detected_after_ms", static_cast<int>(detected_ms));
    std::cout << "[ figures  ] stall detected after " << detected_ms << " ms (keepalive " << keepalive << " s)"
              << std::endl;

    proxy.resume(Direction::both);
    ASSERT_TRUE(run_until(io, [&] { return p.completed == 1 && sub.counter("stall/t").distinct() == 1; }, 10s));
    EXPECT_EQ(r.connects, 1) << "reconnected";
}

// Every byte in its own TCP segment, both ways, for both clients: QoS 1 and 2 streams and a large message.
TEST(ReliabilityFaultTest, OneByteSegmentsBothWaysLoseNothing) {
    constexpr int n = 150;
    MosquittoFixture broker(broker_options());
    FaultProxy proxy(broker.host(), broker.port());
    proxy.set_one_byte_segments(true);
    asio::io_context io;
    ClientOptions so = test_options("seg-sub");
    so.max_message_length = 64 * 1024;
    Subscriber sub(io, so);
    ASSERT_TRUE(sub.start(proxy.host(), proxy.port(), {{"seg/1", 1}, {"seg/2", 2}, {"seg/big", 2}}, n));

    Client pub(io, reconnecting_options("seg-pub"));
    ASSERT_TRUE(connect_and_wait(pub, proxy.host(), proxy.port()));
    NumberedPublisher p;
    p.start(pub, "seg/1", n, 1);
    NumberedPublisher p2;
    p2.start(pub, "seg/2", n, 2);
    const std::string big = "0:" + std::string(5000, 'b');
    ASSERT_TRUE(pub.publish("seg/big", big, 2, false));
    ASSERT_TRUE(run_until(io, [&] {
        return sub.counter("seg/1").distinct() == n && sub.counter("seg/2").distinct() == n &&
               sub.counter("seg/big").total == 1 && p.completed == n && p2.completed == n;
    }, 60s)) << sub.counter("seg/1").distinct() << " " << sub.counter("seg/2").distinct();
    expect_complete_stream(sub.counter("seg/1"), 1);
    expect_complete_stream(sub.counter("seg/2"), 2);
    ASSERT_EQ(sub.counter("seg/big").exact.count(big), 1U) << "the large message arrives whole";
    EXPECT_EQ(sub.counter("seg/big").exact.at(big), 1);
}

// Every chunk delayed, both ways: slower, nothing lost.
TEST(ReliabilityFaultTest, DelayedTrafficLosesNothing) {
    constexpr int n = 300;
    MosquittoFixture broker(broker_options());
    FaultProxy proxy(broker.host(), broker.port());
    proxy.set_delay(3ms);
    asio::io_context io;
    Subscriber sub(io, test_options("delay-sub"));
    ASSERT_TRUE(sub.start(proxy.host(), proxy.port(), {{"delay/1", 1}, {"delay/2", 2}}, n));
    Client pub(io, reconnecting_options("delay-pub"));
    ASSERT_TRUE(connect_and_wait(pub, proxy.host(), proxy.port()));
    NumberedPublisher p;
    p.start(pub, "delay/1", n, 1);
    NumberedPublisher p2;
    p2.start(pub, "delay/2", n, 2);
    ASSERT_TRUE(run_until(io, [&] {
        return sub.counter("delay/1").distinct() == n && sub.counter("delay/2").distinct() == n && p.completed == n &&
               p2.completed == n;
    }, 30s));
    expect_complete_stream(sub.counter("delay/1"), 1);
    expect_complete_stream(sub.counter("delay/2"), 2);
}

}  // namespace
}  // namespace nmqtt::test
