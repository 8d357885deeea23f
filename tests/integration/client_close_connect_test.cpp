// connect() while a close is under way (issue 17, part 3a): deferred until the old connection is gone, never
// thrown. Callbacks in order: "offline" of the old connection, then "connect" (or "connfail") of the new one.
// From outside and from the "connect", message and "offline" callbacks, many times in a row, against mosquitto.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <vector>

#include "client_harness.hpp"
#include "support/mosquitto_fixture.hpp"
#include "support/process.hpp"

namespace nmqtt::test {
namespace {

constexpr int rounds = 100;

// The broker's count of sessions opened by `id` once it reached `count` (its log may lag), or what it is.
std::size_t sessions_seen(const MosquittoFixture& broker, const std::string& id, std::size_t count) {
    const std::string needle = " as " + id + " (";
    wait_until([&] { return broker.count_in_log(needle) >= count; }, 5s);
    return broker.count_in_log(needle);
}

// The expected event sequence: "connect", then rounds x ("offline", "connect").
std::vector<std::string> alternating(int n) {
    std::vector<std::string> events{"connect"};
    for (int i = 0; i < n; ++i) {
        events.emplace_back("offline");
        events.emplace_back("connect");
    }
    return events;
}

TEST(ClientCloseConnectTest, ConnectRightAfterCloseFromOutsideIsDeferred) {
    MosquittoFixture broker;
    Client client(test_options("cc-outside"));
    std::vector<std::string> events;
    client.on(Event::connect, [&](Client&) { events.emplace_back("connect"); });
    client.on(Event::offline, [&](Client&) { events.emplace_back("offline"); });
    client.on_connfail([&](Client&, int reason) { events.push_back("connfail " + std::to_string(reason)); });
    client.connect(broker.host(), broker.port());
    ASSERT_TRUE(run_until(client, [&] { return client.is_connected(); }));
    for (int i = 0; i < rounds; ++i) {
        ASSERT_TRUE(client.close());
        EXPECT_FALSE(client.is_connected());
        ASSERT_NO_THROW(client.connect(broker.host(), broker.port())) << "round " << i;
        EXPECT_TRUE(client.is_connecting()) << "a deferred connect counts as connecting";
        ASSERT_TRUE(run_until(client, [&] { return client.is_connected(); })) << "round " << i;
    }
    EXPECT_EQ(events, alternating(rounds));
    EXPECT_EQ(sessions_seen(broker, "cc-outside", rounds + 1), static_cast<std::size_t>(rounds + 1));
    EXPECT_EQ(broker.count_in_log("Received DISCONNECT from cc-outside"), static_cast<std::size_t>(rounds));
    EXPECT_TRUE(close_and_wait(client));
    EXPECT_FALSE(client.is_connecting());
}

TEST(ClientCloseConnectTest, CloseAndConnectFromTheConnectCallback) {
    MosquittoFixture broker;
    Client client(test_options("cc-oncon"));
    std::vector<std::string> events;
    int connects = 0;
    client.on(Event::offline, [&](Client&) { events.emplace_back("offline"); });
    client.on(Event::connect, [&](Client& c) {
        events.emplace_back("connect");
        if (++connects > rounds) return;
        EXPECT_TRUE(c.close());
        c.connect(broker.host(), broker.port());  // a throw here would leave run()
    });
    client.connect(broker.host(), broker.port());
    ASSERT_TRUE(run_until(client, [&] { return connects > rounds; }, 30s)) << connects;
    EXPECT_TRUE(client.is_connected());
    EXPECT_EQ(events, alternating(rounds));
    EXPECT_EQ(sessions_seen(broker, "cc-oncon", rounds + 1), static_cast<std::size_t>(rounds + 1));
    EXPECT_TRUE(close_and_wait(client));
}

TEST(ClientCloseConnectTest, CloseAndConnectFromTheMessageCallback) {
    constexpr int n = 50;
    MosquittoFixture broker;
    Client client(test_options("cc-onmsg"));
    int connects = 0;
    int messages = 0;
    int offlines = 0;
    client.on(Event::offline, [&](Client&) {
        ++offlines;
        EXPECT_EQ(offlines, messages) << "offline runs after the message that closed, before the next connect";
    });
    client.on(Event::connect, [&](Client& c) {
        ++connects;
        EXPECT_EQ(offlines, connects - 1);
        EXPECT_TRUE(c.subscribe("cc/onmsg", 1));  // a clean session: subscribe again
        EXPECT_TRUE(c.publish("cc/onmsg", std::to_string(connects), 1, false));
    });
    client.on_message([&](Client& c, const MessageView& m) {
        ++messages;
        EXPECT_EQ(m.payload, std::to_string(connects));
        if (messages >= n) return;
        EXPECT_TRUE(c.close());
        c.connect(broker.host(), broker.port());
        EXPECT_TRUE(c.is_connecting());
    });
    client.connect(broker.host(), broker.port());
    ASSERT_TRUE(run_until(client, [&] { return messages >= n; }, 30s)) << messages;
    EXPECT_EQ(connects, n);
    EXPECT_EQ(offlines, n - 1);
    EXPECT_TRUE(client.is_connected());
    EXPECT_EQ(sessions_seen(broker, "cc-onmsg", n), static_cast<std::size_t>(n));
    EXPECT_TRUE(close_and_wait(client));
}

// In "offline" the old connection is gone: a connect() there starts at once and replaces the deferred one
// (the last connect() wins); only one new session reaches the broker.
TEST(ClientCloseConnectTest, ConnectFromTheOfflineCallbackReplacesTheDeferredOne) {
    MosquittoFixture broker;
    Client client(test_options("cc-onoff"));
    int offline_rounds = 0;
    int connects = 0;
    std::vector<std::string> events;
    client.on(Event::offline, [&](Client& c) {
        events.emplace_back("offline");
        ++offline_rounds;
        EXPECT_TRUE(c.is_connecting()) << "the deferred connect is still pending here";
        c.connect(broker.host(), broker.port(), false, [&](Client&) {
            events.emplace_back("connect from offline");
            ++connects;
        });
    });
    client.connect(broker.host(), broker.port(), false, [&](Client&) { ++connects; });
    ASSERT_TRUE(run_until(client, [&] { return client.is_connected(); }));
    for (int i = 0; i < 20; ++i) {
        const int before = connects;
        ASSERT_TRUE(client.close());
        client.connect(broker.host(), broker.port(), false, [&](Client&) { events.emplace_back("deferred"); });
        ASSERT_TRUE(run_until(client, [&] { return connects == before + 1; })) << i;
    }
    client.poll();
    EXPECT_EQ(offline_rounds, 20);
    EXPECT_EQ(std::count(events.begin(), events.end(), "deferred"), 0);
    EXPECT_EQ(std::count(events.begin(), events.end(), "connect from offline"), 20);
    EXPECT_EQ(sessions_seen(broker, "cc-onoff", 21), 21U);
    client.on(Event::offline, {});
    EXPECT_TRUE(close_and_wait(client));
}

TEST(ClientCloseConnectTest, CloseCancelsTheDeferredConnect) {
    MosquittoFixture broker;
    Client client(test_options("cc-cancel"));
    Recorder rec;
    rec.attach(client);
    client.connect(broker.host(), broker.port());
    ASSERT_TRUE(run_until(client, [&] { return client.is_connected(); }));
    ASSERT_TRUE(client.close());
    client.connect(broker.host(), broker.port());
    EXPECT_TRUE(client.is_connecting());
    EXPECT_TRUE(client.close()) << "a close is under way";
    EXPECT_FALSE(client.is_connecting());
    ASSERT_TRUE(run_until(client, [&] { return rec.offlines == 1; }));
    client.run_for(200ms);
    EXPECT_EQ(rec.connects, 1);
    EXPECT_TRUE(rec.connfails.empty());
    EXPECT_FALSE(client.is_connected());
    EXPECT_FALSE(client.is_connecting());
    EXPECT_EQ(sessions_seen(broker, "cc-cancel", 1), 1U);
    client.connect(broker.host(), broker.port());  // idle again: starts at once
    EXPECT_TRUE(client.is_connecting());
    EXPECT_THROW(client.connect(broker.host(), broker.port()), std::system_error)
        << "connect() while connecting (no close under way) still throws already_connected";
    ASSERT_TRUE(run_until(client, [&] { return client.is_connected(); }));
    EXPECT_TRUE(close_and_wait(client));
}

// A deferred connect whose TLS files cannot be loaded: "connfail" -5 through the event loop, no throw.
TEST(ClientCloseConnectTest, DeferredConnectThatCannotStartReportsConnfail) {
    MosquittoFixture broker;
    auto options = test_options("cc-badtls");
    options.tls.ca_file = "/nonexistent/ca.pem";
    Client client(options);
    Recorder rec;
    rec.attach(client);
    client.connect(broker.host(), broker.port());
    ASSERT_TRUE(run_until(client, [&] { return client.is_connected(); }));
    ASSERT_TRUE(client.close());
    ASSERT_NO_THROW(client.connect(broker.host(), broker.tls_port() == 0 ? broker.port() : broker.tls_port(), true));
    ASSERT_TRUE(run_until(client, [&] { return !rec.connfails.empty(); }));
    EXPECT_EQ(rec.offlines, 1);
    EXPECT_EQ(rec.connfails, std::vector<int>{-5});
    EXPECT_EQ(client.last_error(), Errc::invalid_argument);
    EXPECT_FALSE(client.is_connecting());
}

}  // namespace
}  // namespace nmqtt::test
