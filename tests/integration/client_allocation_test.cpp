// nmqtt::Client publishing and receiving allocates nothing in steady state (client.hpp: publish "Allocates
// nothing in steady state"), over TCP to mosquitto and over WebSockets to aedes (npm ws). This file replaces the global operator new/delete of the integration test
// binary (support/counting_new.hpp), counting the calls made on the counting thread.
// The counted phase calls only the Client and its event loop, never gtest.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdlib>
#include <exception>
#include <memory>
#include <new>
#include <string>

#include "client_harness.hpp"
#include "support/counting_new.hpp"
#include "support/broker_fixtures.hpp"
#include "support/mosquitto_fixture.hpp"


namespace nmqtt::test {
namespace {

// One round: `count` publishes at each QoS with a per-operation completion, all received back.
struct Round {
    Client& client;
    int completed = 0;
    int received = 0;
    int pubacks = 0;

    bool run(int count) {
        completed = received = pubacks = 0;
        for (int i = 0; i < count; ++i) {
            const int qos = i % 3;
            if (!client.publish("alloc/t", "steady state payload", qos, false, {},
                                [this](std::error_code ec, PacketId) { completed += ec ? 0 : 1; })) {
                return false;
            }
        }
        return run_until(client, [this, count] { return completed == count && received == count && pubacks == count; },
                         10000ms);
    }
};

// Subscribes `client` (connected) to alloc/t at QoS 2, warms up, then counts the allocations of one round of
// 300 publishes at QoS 0, 1, 2 received back: none expected.
void expect_steady_state_allocates_nothing(Client& client) {
    Round round{client};
    client.on_message([&round](Client&, const MessageView& m) { round.received += m.payload.size() == 20 ? 1 : 0; });
    client.on(Event::puback, [&round](Client&) { ++round.pubacks; });
    bool subscribed = false;
    ASSERT_TRUE(client.subscribe("alloc/t", 2, [&subscribed](Client&) { subscribed = true; }));
    ASSERT_TRUE(run_until(client, [&] { return subscribed; }));

    // Warm-up with bigger bursts: the handler caches fill and the session's two output buffers grow (vector
    // doubling) to the largest burst each has held. Which of the two takes a burst depends on the order of
    // writes and arrivals, and the session does not size one after the other, so a buffer that happened never
    // to take a burst allocates in the measured round: many warm-up rounds make that very unlikely.
    for (int warm = 0; warm < 12; ++warm) ASSERT_TRUE(round.run(600)) << "warm-up " << warm;

    AllocationCounter counter;
    const bool ok = round.run(300);
    const std::size_t allocations = counter.stop();
    ASSERT_TRUE(ok);
    EXPECT_EQ(allocations, 0U) << "allocations while publishing and receiving 300 messages";
}

TEST(ClientAllocationTest, SteadyPublishAndReceiveAllocateNothing) {
    MosquittoFixture broker({.extra_config = {"max_inflight_messages 0"}});  // see client_messaging_test.cpp
    Client client(test_options("alloc"));
    ASSERT_TRUE(connect_and_wait(client, broker.host(), broker.port()));
    expect_steady_state_allocates_nothing(client);
}

// The same over ws://: frames are masked into the session's output and unwrapped in place on receipt. aedes
// runs in its own process, so only the client's thread is counted.
TEST(ClientAllocationTest, SteadyPublishAndReceiveOverWebSocketAllocateNothing) {
    std::unique_ptr<AedesFixture> broker;
    try {
        broker = std::make_unique<AedesFixture>(AedesOptions{.websocket = true});
    } catch (const std::exception& e) {
        GTEST_SKIP() << e.what();
    }
    auto options = test_options("alloc-ws");
    options.transport = TransportKind::websocket;
    Client client(options);
    ASSERT_TRUE(connect_and_wait(client, broker->host(), broker->ws_port())) << client.last_error_message();
    expect_steady_state_allocates_nothing(client);
}

}  // namespace
}  // namespace nmqtt::test
