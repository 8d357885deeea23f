// Soak (label `long`; skipped unless NMQTT_LONG_TESTS=1): 1,000 clients on one io_context publish QoS 1 for a
// bounded time (NMQTT_SOAK_SECONDS, default 120) with a broker restart in the middle. Every publish completes,
// none fails, and the resident memory of this process at the end stays within a stated bound of the memory
// measured once the clients were connected and warmed up.
#include <gtest/gtest.h>

#include <asio/io_context.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "reliability_scenarios.hpp"

namespace nmqtt::test {
namespace {

constexpr int clients = 1000;
constexpr auto publish_interval = std::chrono::seconds(2);  // per client: 500 messages/s in total
constexpr auto slice = std::chrono::milliseconds(20);
// The bound: 10 % of the warmed-up RSS plus 8 MiB (allocator slack after 1,000 transports are torn down and
// built again by the restart).
constexpr long growth_bound_kib(long start_kib) { return start_kib / 10 + 8 * 1024; }

std::chrono::seconds soak_duration() {
    const char* value = std::getenv("NMQTT_SOAK_SECONDS");
    return std::chrono::seconds(value != nullptr ? std::max(20, std::atoi(value)) : 120);
}

struct Counts {
    long accepted = 0;
    long refused = 0;
    long completed = 0;
    long failed = 0;
};

class Fleet {
public:
    Fleet(asio::io_context& io, const MosquittoFixture& broker) {
        for (int i = 0; i < clients; ++i) {
            ClientOptions o = reconnecting_options("soak-" + std::to_string(i));
            o.reconnect.initial_delay = std::chrono::milliseconds(100);
            o.reconnect.max_delay = std::chrono::milliseconds(2000);
            o.reconnect.seed = static_cast<std::uint64_t>(i + 1);
            o.queue_while_offline = true;
            o.max_queued_messages = 100;
            o.connect_write_timeout = std::chrono::seconds(10);
            o.connack_timeout = std::chrono::seconds(10);
            clients_.push_back(std::make_unique<Client>(io, o));
            clients_.back()->connect(broker.host(), broker.port());
        }
    }

    [[nodiscard]] int connected() const {
        int n = 0;
        for (const auto& c : clients_) n += c->is_connected() ? 1 : 0;
        return n;
    }
    [[nodiscard]] std::size_t pending() const {
        std::size_t n = 0;
        for (const auto& c : clients_) n += c->pending_requests();
        return n;
    }

    // Publishes one message from each client of the next share (all clients once per publish_interval).
    void publish_share() {
        const int share = static_cast<int>(clients * slice / publish_interval);
        for (int k = 0; k < share; ++k) {
            Client& c = *clients_[static_cast<std::size_t>(next_++ % clients)];
            const bool ok = c.publish("soak/" + std::to_string(next_ % clients), std::to_string(next_), 1, false, {},
                                      [this](std::error_code ec, PacketId) { ++(ec ? counts.failed : counts.completed); });
            ++(ok ? counts.accepted : counts.refused);
        }
    }

    Counts counts;

private:
    std::vector<std::unique_ptr<Client>> clients_;
    long next_ = 0;
};

// Publishes for `duration`, running the loop in slices.
void publish_for(asio::io_context& io, Fleet& fleet, std::chrono::steady_clock::duration duration) {
    const auto until = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < until) {
        fleet.publish_share();
        io.run_for(slice);
    }
}

TEST(SoakTest, ThousandClientsPublishThroughABrokerRestartWithoutGrowing) {
    if (!long_tests_enabled()) GTEST_SKIP() << "set NMQTT_LONG_TESTS=1";
    const auto duration = soak_duration();
    MosquittoFixture broker(MosquittoOptions{.extra_config = {"max_inflight_messages 0", "max_queued_messages 0"}});
    asio::io_context io;
    Fleet fleet(io, broker);
    ASSERT_TRUE(run_until(io, [&] { return fleet.connected() == clients; }, std::chrono::seconds(60)))
        << fleet.connected() << " connected";

    publish_for(io, fleet, duration / 6);  // warm-up: pools and buffers reach their working size
    const long start_kib = rss_kib().value_or(0);
    publish_for(io, fleet, duration / 3);
    broker.restart();  // SIGTERM, start again on the same port: every client reconnects by itself
    ASSERT_TRUE(run_until(io, [&] { fleet.publish_share(); return fleet.connected() == clients; },
                          std::chrono::seconds(60)))
        << fleet.connected() << " connected after the restart";
    publish_for(io, fleet, duration / 2);
    ASSERT_TRUE(run_until(io, [&] { return fleet.pending() == 0; }, std::chrono::seconds(60))) << fleet.pending();
    const long end_kib = rss_kib().value_or(0);

    const Counts& c = fleet.counts;
    std::cout << "[ figures  ] soak: " << clients << " clients, " << duration.count() << " s, accepted " << c.accepted
              << ", completed " << c.completed << ", failed " << c.failed << ", refused " << c.refused
              << "; RSS " << start_kib << " KiB after warm-up, " << end_kib << " KiB at the end (bound +"
              << growth_bound_kib(start_kib) << " KiB)" << std::endl;
    RecordProperty("rss_start_kib", static_cast<int>(start_kib));
    RecordProperty("rss_end_kib", static_cast<int>(end_kib));
    EXPECT_GT(start_kib, 0);
    EXPECT_EQ(c.failed, 0);
    EXPECT_EQ(c.refused, 0) << "the outbox (100 per client) absorbs the restart";
    EXPECT_EQ(c.completed, c.accepted) << "every accepted publish completed";
    EXPECT_LE(end_kib - start_kib, growth_bound_kib(start_kib));
}

}  // namespace
}  // namespace nmqtt::test
