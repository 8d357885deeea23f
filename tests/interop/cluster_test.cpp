// Failover across a two-node RabbitMQ cluster on loopback (RabbitCluster: one cookie, one private epmd,
// node 1 joined to node 0). The node a client is connected to is stopped mid-stream; the client moves to
// the other node (ClientOptions::reconnect with both nodes in its broker list) and finishes. Every message
// the publisher saw acknowledged must reach the subscriber; duplicates (allowed at QoS 1) are counted and
// printed, with the failover time, for docs/reliability.md. ctest: interop_rabbitmq_cluster.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "client_harness.hpp"
#include "nmqtt/client.hpp"
#include "support/broker_fixtures.hpp"

namespace nmqtt::test {
namespace {

constexpr std::uint32_t kMessages = 10'000;
constexpr std::size_t kWindow = 64;

ClientOptions failover_options(std::string id, const RabbitNode& other, bool clean) {
    ClientOptions o = test_options(std::move(id), 5);
    o.clean_session = clean;
    o.queue_while_offline = true;
    o.reconnect.enabled = true;
    o.reconnect.initial_delay = 200ms;
    o.reconnect.max_delay = 1000ms;
    o.reconnect.brokers = {BrokerAddress{other.host(), other.port(), false}};
    o.max_inflight = kWindow;
    return o;
}

// Counts what a subscriber receives: distinct payloads and duplicates.
struct Tally {
    std::map<std::uint32_t, int> seen;
    std::uint32_t duplicates = 0;
    void add(std::string_view payload) {
        const auto n = static_cast<std::uint32_t>(std::stoul(std::string(payload)));
        if (++seen[n] > 1) ++duplicates;
    }
};

// A QoS 1 publisher of kMessages numbered payloads, kWindow in flight, acknowledged ones recorded.
struct Publisher {
    Publisher(asio::io_context& io, ClientOptions o) : client(io, std::move(o)) {}
    void pump() {
        while (next < kMessages && client.pending_requests() < kWindow) {
            const std::uint32_t n = next;
            if (!client.publish("cluster/stream", std::to_string(n), 1, false, {},
                                [this, n](std::error_code e, PacketId) {
                                    if (!e) acked.insert(n);
                                    pump();
                                })) {
                return;  // queue_full: a completion pumps again
            }
            ++next;
        }
    }
    Client client;
    std::uint32_t next = 0;
    std::set<std::uint32_t> acked;
};

struct Figures {
    std::size_t lost = 0;
    std::uint32_t duplicates = 0;
    double failover_ms = 0;
};

Figures check_delivery(const Publisher& pub, const Tally& tally) {
    Figures f;
    for (const auto n : pub.acked) f.lost += tally.seen.count(n) == 0 ? 1u : 0u;
    f.duplicates = tally.duplicates;
    return f;
}

TEST(RabbitCluster, PublisherFailsOverWhenItsNodeStopsMidStream) {
    RabbitCluster cluster;
    RabbitNode& a = cluster.node(0);
    RabbitNode& b = cluster.node(1);
    asio::io_context io;
    Client sub(io, test_options("cluster-sub", 5));
    Tally tally;
    sub.on_message([&](Client&, const MessageView& m) { tally.add(m.payload); });
    ASSERT_TRUE(connect_and_wait(sub, b.host(), b.port()));
    bool subscribed = false;
    sub.subscribe("cluster/stream", 1, [&](Client&) { subscribed = true; });
    ASSERT_TRUE(run_until(io, [&] { return subscribed; }, 10s));

    Publisher pub(io, failover_options("cluster-pub", b, true));
    ASSERT_TRUE(connect_and_wait(pub.client, a.host(), a.port()));
    pub.pump();
    ASSERT_TRUE(run_until(io, [&] { return pub.acked.size() >= 3000; }, 60s));
    const auto cut = std::chrono::steady_clock::now();
    std::optional<std::chrono::steady_clock::time_point> back;
    pub.client.on(Event::connect, [&](Client&) { back = std::chrono::steady_clock::now(); });
    a.stop();  // clean shutdown of the publisher's node: its TCP connections close
    ASSERT_TRUE(run_until(io, [&] { return pub.acked.size() == kMessages; }, 120s))
        << pub.acked.size() << " acknowledged";
    ASSERT_TRUE(run_until(io, [&] { return tally.seen.size() >= kMessages; }, 30s)) << tally.seen.size();
    Figures f = check_delivery(pub, tally);
    ASSERT_TRUE(back.has_value());
    f.failover_ms = std::chrono::duration<double, std::milli>(*back - cut).count();
    std::printf("cluster failover (publisher's node stopped): %u messages, lost %zu, duplicates %u, failover %.0f ms\n",
                kMessages, f.lost, f.duplicates, f.failover_ms);
    EXPECT_EQ(f.lost, 0u);
    EXPECT_EQ(tally.seen.size(), kMessages);
}

// The subscriber's node stops; the subscriber (clean session = 0) moves to the other node and resumes its
// session there. The MQTT plugin's queue of a persistent session is a durable classic queue on the node the
// subscriber first connected to: a policy mirrors it to both nodes (ha-mode all), so that it survives.
TEST(RabbitCluster, PersistentSubscriberFailsOverWhenItsNodeStopsMidStream) {
    RabbitCluster cluster;
    RabbitNode& a = cluster.node(0);
    RabbitNode& b = cluster.node(1);
    const std::string policy = a.ctl({"set_policy", "--apply-to", "queues", "mqtt-ha", "^mqtt-subscription-",
                 R"({"ha-mode":"all","ha-sync-mode":"automatic"})"});
    ASSERT_NE(policy.find("Setting policy"), std::string::npos) << policy;
    asio::io_context io;
    Client sub(io, failover_options("cluster-psub", b, false));
    Tally tally;
    sub.on_message([&](Client&, const MessageView& m) { tally.add(m.payload); });
    ASSERT_TRUE(connect_and_wait(sub, a.host(), a.port()));
    bool subscribed = false;
    sub.subscribe("cluster/stream", 1, [&](Client&) { subscribed = true; });
    ASSERT_TRUE(run_until(io, [&] { return subscribed; }, 10s));

    Publisher pub(io, failover_options("cluster-pub2", a, true));
    ASSERT_TRUE(connect_and_wait(pub.client, b.host(), b.port()));
    pub.pump();
    ASSERT_TRUE(run_until(io, [&] { return tally.seen.size() >= 3000; }, 60s));
    const auto cut = std::chrono::steady_clock::now();
    std::optional<std::chrono::steady_clock::time_point> back;
    sub.on(Event::connect, [&](Client&) { back = std::chrono::steady_clock::now(); });
    a.stop();
    ASSERT_TRUE(run_until(io, [&] { return pub.acked.size() == kMessages; }, 120s))
        << pub.acked.size() << " acknowledged";
    ASSERT_TRUE(run_until(io, [&] { return tally.seen.size() >= kMessages; }, 30s))
        << tally.seen.size() << " received";
    Figures f = check_delivery(pub, tally);
    ASSERT_TRUE(back.has_value());
    f.failover_ms = std::chrono::duration<double, std::milli>(*back - cut).count();
    std::printf("cluster failover (subscriber's node stopped): %u messages, lost %zu, duplicates %u, failover %.0f ms\n",
                kMessages, f.lost, f.duplicates, f.failover_ms);
    EXPECT_EQ(f.lost, 0u);
}

}  // namespace
}  // namespace nmqtt::test
