// Automatic reconnection of nmqtt::Client (ClientOptions::reconnect): backoff with full jitter as reported by
// on_reconnect(), the give-up after max_attempts and on a refusal, several broker addresses in turn, a broker
// stopped and restarted under a connected client, close() stopping it, and the offline outbox.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "reliability_harness.hpp"
#include "support/fault_proxy.hpp"
#include "support/mosquitto_fixture.hpp"
#include "support/process.hpp"

namespace nmqtt::test {
namespace {

using Kind = ReconnectInfo::Kind;

// A client whose attempts all fail at once: nothing listens on the port.
ClientOptions failing_options(std::string id, std::uint32_t max_attempts) {
    ClientOptions o = reconnecting_options(std::move(id));
    o.reconnect.initial_delay = 10ms;
    o.reconnect.max_delay = 80ms;
    o.reconnect.max_attempts = max_attempts;
    return o;
}

// Runs a client against a closed port until it gives up; returns its reports.
ReconnectLog run_until_give_up(ClientOptions options, std::vector<int>* connfails = nullptr) {
    Client client(std::move(options));
    ReconnectLog log;
    log.attach(client);
    Recorder r;
    r.attach(client);
    client.connect("127.0.0.1", closed_loopback_port());
    EXPECT_TRUE(run_until(client, [&] { return log.count(Kind::gave_up) > 0; }, 10s)) << log.describe();
    EXPECT_FALSE(client.is_waiting_to_reconnect());
    EXPECT_FALSE(client.is_connecting());
    if (connfails != nullptr) *connfails = r.connfails;
    return log;
}

// ---- backoff ----------------------------------------------------------------------------------------------

// Delay n = random * min(max, initial * 2^(n-1)), with the injected random source.
TEST(ReliabilityReconnectTest, DelaysAreTheInjectedRandomTimesTheCappedExponential) {
    ClientOptions o = failing_options("backoff-exact", 5);
    o.reconnect.initial_delay = 40ms;
    o.reconnect.max_delay = 100ms;
    const std::vector<double> draws{0.5, 0.999, 0.0, 0.25, 0.75};
    std::size_t next = 0;
    o.reconnect.random = [&] { return draws[next++ % draws.size()]; };
    std::vector<int> connfails;
    const ReconnectLog log = run_until_give_up(std::move(o), &connfails);

    const auto scheduled = log.of(Kind::scheduled);
    ASSERT_EQ(scheduled.size(), 5U) << log.describe();
    const std::vector<long> expected{20, 79, 0, 25, 75};  // caps 40, 80, 100, 100, 100
    for (std::size_t i = 0; i < scheduled.size(); ++i) {
        EXPECT_EQ(scheduled[i].attempt, i + 1);
        EXPECT_EQ(scheduled[i].delay.count(), expected[i]) << "attempt " << i + 1;
        EXPECT_EQ(scheduled[i].reason, Errc::server_not_found);
        EXPECT_EQ(scheduled[i].code, -5);
        EXPECT_NE(scheduled[i].message.find("127.0.0.1"), std::string::npos) << scheduled[i].message;
    }
    EXPECT_EQ(log.count(Kind::attempting), 5U) << "every attempt is reported when it starts";
    const auto gave_up = log.of(Kind::gave_up);
    ASSERT_EQ(gave_up.size(), 1U);
    EXPECT_EQ(gave_up[0].attempt, 5U) << "give-up after max_attempts";
    EXPECT_EQ(gave_up[0].reason, Errc::server_not_found);
    EXPECT_EQ(gave_up[0].code, -5);
    EXPECT_EQ(log.records.back().kind, Kind::gave_up) << "nothing after the give-up";
    EXPECT_EQ(connfails, std::vector<int>(6, -5)) << "connfail for connect() and for each of the 5 attempts";
}

// The default random source: seeded, so reproducible; every delay within [0, cap]; jittered, not the cap.
TEST(ReliabilityReconnectTest, SeededJitterIsBoundedVariedAndReproducible) {
    const auto delays_of = [](std::uint64_t seed) {
        ClientOptions o = failing_options("backoff-seeded", 8);
        o.reconnect.seed = seed;
        std::vector<long> delays;
        for (const auto& s : run_until_give_up(std::move(o)).of(Kind::scheduled)) delays.push_back(s.delay.count());
        return delays;
    };
    const auto first = delays_of(42);
    ASSERT_EQ(first.size(), 8U);
    const std::vector<long> caps{10, 20, 40, 80, 80, 80, 80, 80};
    int at_cap = 0;
    for (std::size_t i = 0; i < first.size(); ++i) {
        EXPECT_GE(first[i], 0);
        EXPECT_LE(first[i], caps[i]) << "attempt " << i + 1;
        at_cap += first[i] == caps[i] ? 1 : 0;
    }
    EXPECT_LT(at_cap, 8) << "full jitter: the delays are not simply the caps";
    EXPECT_EQ(delays_of(42), first) << "the same seed gives the same delays";
    EXPECT_NE(delays_of(43), first) << "another seed gives other delays";
}

// Two dead addresses: attempts alternate between them; the give-up names the address that failed last.
TEST(ReliabilityReconnectTest, DeadAddressesAlternateAndTheGiveUpNamesTheLastOne) {
    const auto first = closed_loopback_port();
    auto second = closed_loopback_port();
    while (second == first) second = closed_loopback_port();
    ClientOptions o = failing_options("alternate", 3);
    o.reconnect.brokers = {BrokerAddress{"127.0.0.1", second, false}};
    Client client(o);
    ReconnectLog log;
    log.attach(client);
    client.connect("127.0.0.1", first);
    ASSERT_TRUE(run_until(client, [&] { return log.count(Kind::gave_up) == 1; }, 10s)) << log.describe();
    const auto attempting = log.of(Kind::attempting);
    ASSERT_EQ(attempting.size(), 3U) << log.describe();
    EXPECT_EQ(attempting[0].broker.port, second);
    EXPECT_EQ(attempting[1].broker.port, first);
    EXPECT_EQ(attempting[2].broker.port, second);
    EXPECT_EQ(log.of(Kind::gave_up)[0].broker.port, second);
}

TEST(ReliabilityReconnectTest, OptionsOutOfRangeAreRejected) {
    ClientOptions o = reconnecting_options("bad-options");
    o.reconnect.max_delay = 10ms;  // below initial_delay
    EXPECT_THROW(Client{o}, std::system_error);
    o = reconnecting_options("bad-options");
    o.reconnect.multiplier = 0.5;
    EXPECT_THROW(Client{o}, std::system_error);
    o.reconnect.enabled = false;  // not checked when off
    EXPECT_NO_THROW(Client{o});
}

// ---- against a broker -----------------------------------------------------------------------------------

// The broker stops under a connected client (SIGTERM) and comes back: the client reconnects by itself, its
// persistent subscription still works, and every attempt in between was reported with a bounded delay.
TEST(ReliabilityReconnectTest, ReconnectsByItselfAfterTheBrokerRestarts) {
    MosquittoFixture broker({.persistence = true});
    ClientOptions o = reconnecting_options("restart-sub");
    o.clean_session = false;
    Client client(o);
    Recorder r;
    r.attach(client);
    ReconnectLog log;
    log.attach(client);
    ASSERT_TRUE(connect_and_wait(client, broker.host(), broker.port()));
    r.attach(client);  // connect_and_wait() replaced the connect callback
    bool subscribed = false;
    ASSERT_TRUE(client.subscribe("restart/t", 1, [&](Client&) { subscribed = true; }));
    ASSERT_TRUE(run_until(client, [&] { return subscribed; }));

    broker.stop();
    ASSERT_TRUE(run_until(client, [&] { return r.offlines == 1 && r.connfails.size() >= 3; }, 10s)) << log.describe();
    EXPECT_EQ(client.last_error(), Errc::server_not_found) << "the attempts while it is down are refused";
    broker.start();
    ASSERT_TRUE(run_until(client, [&] { return client.is_connected(); }, 10s)) << log.describe();
    EXPECT_EQ(r.connects, 1) << "connect ran again for the new connection (once; the first ran in connect_and_wait)";
    EXPECT_EQ(r.offlines, 1);

    const auto scheduled = log.of(Kind::scheduled);
    ASSERT_GE(scheduled.size(), 4U) << log.describe();
    EXPECT_EQ(scheduled[0].reason, Errc::connection_closed) << "first: the lost connection";
    EXPECT_EQ(scheduled[0].code, 0);
    for (std::size_t i = 0; i < scheduled.size(); ++i) {
        EXPECT_EQ(scheduled[i].attempt, i + 1);
        EXPECT_LE(scheduled[i].delay, std::min(400ms, 50ms * (1 << std::min<std::size_t>(i, 10)))) << i;
        EXPECT_EQ(scheduled[i].broker.port, broker.port());
        if (i > 0) {
            EXPECT_EQ(scheduled[i].code, -5) << "later: refused attempts";
        }
    }
    EXPECT_EQ(log.count(Kind::attempting), scheduled.size());
    EXPECT_EQ(log.count(Kind::gave_up), 0U);

    const auto pub = run_process({"mosquitto_pub", "-h", broker.host(), "-p", std::to_string(broker.port()), "-q",
                                  "1", "-t", "restart/t", "-m", "after"},
                                 10s);
    ASSERT_TRUE(pub.status.success()) << pub.err;
    ASSERT_TRUE(run_until(client, [&] { return !r.messages.empty(); })) << "the persistent subscription survived";
    EXPECT_EQ(r.messages[0].payload, "after");
}

// healthy_after: a connection that stayed up that long resets the count (the next loss starts at attempt 1);
// one that did not continues it.
class HealthyTest : public ::testing::TestWithParam<bool> {};

TEST_P(HealthyTest, HealthyConnectionResetsTheAttemptCount) {
    const bool healthy = GetParam();
    MosquittoFixture broker;
    ClientOptions o = reconnecting_options("healthy");
    o.reconnect.healthy_after = healthy ? 0ms : 3600s;
    Client client(o);
    ReconnectLog log;
    log.attach(client);
    ASSERT_TRUE(connect_and_wait(client, broker.host(), broker.port()));
    for (int loss = 1; loss <= 2; ++loss) {
        const auto before = log.count(Kind::scheduled);
        broker.restart();
        ASSERT_TRUE(run_until(client, [&] { return log.count(Kind::scheduled) > before && client.is_connected(); }, 10s))
            << log.describe();
    }
    // The first report after the second loss: attempt 1 again, or the count of the first loss carried on.
    std::vector<ReconnectRecord> first_of_loss;
    for (const auto& r : log.of(Kind::scheduled)) {
        if (r.code == 0) first_of_loss.push_back(r);  // scheduled by a lost connection (not a failed attempt)
    }
    ASSERT_EQ(first_of_loss.size(), 2U) << log.describe();
    EXPECT_EQ(first_of_loss[0].attempt, 1U);
    if (healthy) {
        EXPECT_EQ(first_of_loss[1].attempt, 1U) << log.describe();
    } else {
        EXPECT_GT(first_of_loss[1].attempt, first_of_loss[0].attempt) << log.describe();
    }
}

INSTANTIATE_TEST_SUITE_P(Reset, HealthyTest, ::testing::Bool(), [](const auto& param_info) {
    return param_info.param ? std::string("Healthy") : std::string("Short");
});

// Several addresses: the first refuses, the second is a broker. One connfail, then the second address.
TEST(ReliabilityReconnectTest, TriesTheNextAddressWhenTheFirstIsDead) {
    MosquittoFixture broker;
    ClientOptions o = reconnecting_options("two-addresses");
    o.reconnect.brokers = {BrokerAddress{broker.host(), broker.port(), false}};
    Client client(o);
    Recorder r;
    r.attach(client);
    ReconnectLog log;
    log.attach(client);
    const auto dead = closed_loopback_port();
    client.connect("127.0.0.1", dead);
    ASSERT_TRUE(run_until(client, [&] { return r.connects == 1; }, 10s)) << log.describe();
    EXPECT_EQ(r.connfails, std::vector<int>{-5});
    const auto attempting = log.of(Kind::attempting);
    ASSERT_EQ(attempting.size(), 1U) << log.describe();
    EXPECT_EQ(attempting[0].broker.port, broker.port());
    EXPECT_EQ(attempting[0].attempt, 1U);

    // Lost later: the same (working) address is tried first again.
    broker.restart();
    ASSERT_TRUE(run_until(client, [&] { return r.connects == 2; }, 10s)) << log.describe();
    EXPECT_EQ(log.of(Kind::attempting)[1].broker.port, broker.port()) << log.describe();
}

// A refusal that another attempt cannot change (CONNACK 5, not authorized) ends the reconnection at once.
TEST(ReliabilityReconnectTest, GivesUpAtOnceOnARefusal) {
    MosquittoFixture broker({.allow_anonymous = false});
    Client client(reconnecting_options("refused"));
    Recorder r;
    r.attach(client);
    ReconnectLog log;
    log.attach(client);
    client.connect(broker.host(), broker.port());
    ASSERT_TRUE(run_until(client, [&] { return log.count(Kind::gave_up) == 1; })) << log.describe();
    EXPECT_EQ(r.connfails, std::vector<int>{5});
    const auto gave_up = log.of(Kind::gave_up)[0];
    EXPECT_EQ(gave_up.attempt, 0U);
    EXPECT_EQ(gave_up.code, 5);
    EXPECT_EQ(gave_up.reason, Errc::connection_refused);
    EXPECT_EQ(log.count(Kind::scheduled), 0U);
}

// close() while waiting cancels the wait silently; close() while connected does not lead to a reconnection.
TEST(ReliabilityReconnectTest, CloseStopsReconnecting) {
    ClientOptions o = reconnecting_options("closing");
    o.reconnect.initial_delay = 200ms;
    Client client(o);
    ReconnectLog log;
    log.attach(client);
    client.connect("127.0.0.1", closed_loopback_port());
    ASSERT_TRUE(run_until(client, [&] { return client.is_waiting_to_reconnect(); })) << log.describe();
    EXPECT_TRUE(client.close()) << "a pending wait counts as something cancelled";
    EXPECT_FALSE(client.is_waiting_to_reconnect());
    EXPECT_FALSE(client.close()) << "idle now";
    client.run_for(600ms);  // returns at once: nothing is pending (an armed wait would keep the loop running)
    EXPECT_EQ(log.count(Kind::attempting), 0U) << log.describe();

    MosquittoFixture broker;
    Recorder r;
    r.attach(client);
    ASSERT_TRUE(connect_and_wait(client, broker.host(), broker.port()));
    ASSERT_TRUE(close_and_wait(client));
    client.run_for(600ms);
    EXPECT_FALSE(client.is_connecting());
    EXPECT_EQ(log.count(Kind::scheduled), 1U) << "only the one of the first connect(): " << log.describe();
}

// connect() from the user while a wait is pending starts afresh: the pending attempt never starts.
TEST(ReliabilityReconnectTest, ConnectWhileWaitingReplacesThePendingAttempt) {
    MosquittoFixture broker;
    ClientOptions o = reconnecting_options("manual");
    o.reconnect.initial_delay = 300ms;
    o.reconnect.max_delay = 300ms;
    o.reconnect.random = [] { return 0.99; };
    Client client(o);
    ReconnectLog log;
    log.attach(client);
    client.connect("127.0.0.1", closed_loopback_port());
    ASSERT_TRUE(run_until(client, [&] { return client.is_waiting_to_reconnect(); }));
    ASSERT_TRUE(connect_and_wait(client, broker.host(), broker.port()));
    EXPECT_FALSE(client.is_waiting_to_reconnect());
    client.run_for(600ms);
    EXPECT_TRUE(client.is_connected());
    EXPECT_EQ(log.count(Kind::attempting), 0U) << log.describe();
}

// ---- the offline outbox ---------------------------------------------------------------------------------

// Publishing while the connection is down (reconnect on, queue_while_offline): accepted up to the bound,
// then false with queue_full; everything accepted arrives, in order, once the client is back.
TEST(ReliabilityReconnectTest, PublishesWhileOfflineWaitInABoundedOutbox) {
    constexpr int bound = 50;
    MosquittoFixture broker;
    FaultProxy proxy(broker.host(), broker.port());
    Client sub(test_options("outbox-sub"));
    Recorder received;
    received.attach(sub);
    ASSERT_TRUE(connect_and_wait(sub, broker.host(), broker.port()));
    bool subscribed = false;
    ASSERT_TRUE(sub.subscribe("outbox/t", 1, [&](Client&) { subscribed = true; }));
    ASSERT_TRUE(run_until(sub, [&] { return subscribed; }));

    ClientOptions o = reconnecting_options("outbox-pub");
    o.queue_while_offline = true;
    o.max_queued_messages = bound;
    Client pub(sub.context(), o);
    Recorder r;
    r.attach(pub);
    ASSERT_TRUE(connect_and_wait(pub, proxy.host(), proxy.port()));
    r.attach(pub);  // connect_and_wait() replaced the connect and connfail callbacks
    proxy.refuse_new(true);
    proxy.cut_all();
    ASSERT_TRUE(run_until(pub, [&] { return r.offlines == 1 && !r.connfails.empty(); }, 10s));
    ASSERT_FALSE(pub.is_connected());

    for (int i = 0; i < bound; ++i) ASSERT_TRUE(pub.publish("outbox/t", std::to_string(i), 1, false)) << i;
    EXPECT_FALSE(pub.publish("outbox/t", "one too many", 1, false));
    EXPECT_EQ(pub.last_error(), Errc::queue_full);
    proxy.refuse_new(false);
    ASSERT_TRUE(run_until(pub, [&] { return received.messages.size() >= bound && r.pubacks == bound; }, 10s));
    StreamCounter counter(bound);
    for (const auto& m : received.messages) counter.add(m.payload);
    EXPECT_EQ(counter.lost(), 0);
    EXPECT_EQ(counter.arrivals_out_of_order(), 0);
    EXPECT_EQ(r.pubacks, bound);
}

// The byte bound of the outbox (max_buffered_bytes) refuses with queue_full too, before any connection.
TEST(ReliabilityReconnectTest, OfflineOutboxIsBoundedInBytes) {
    ClientOptions o = reconnecting_options("outbox-bytes");
    o.queue_while_offline = true;
    o.max_buffered_bytes = 10 * 1024;
    Client client(o);
    const std::string payload(1024, 'x');
    int accepted = 0;
    while (accepted < 100 && client.publish("outbox/bytes", payload, 1, false)) ++accepted;
    EXPECT_EQ(client.last_error(), Errc::queue_full);
    EXPECT_GE(accepted, 8);
    EXPECT_LT(accepted, 10);
}

}  // namespace
}  // namespace nmqtt::test
