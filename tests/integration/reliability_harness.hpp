// Helpers for the reliability tests (tests/integration/reliability_*_test.cpp and tests/reliability/): clients
// that reconnect by themselves, a log of their reconnection reports, and a counter of numbered messages that
// tells what was lost, duplicated or out of order.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <asio/io_context.hpp>

#include "client_harness.hpp"
#include "nmqtt/client.hpp"

namespace nmqtt::test {

/// A test client that reconnects quickly: 50 ms doubling to 400 ms, full jitter from a fixed seed.
inline ClientOptions reconnecting_options(std::string client_id, std::uint16_t keepalive = 30) {
    ClientOptions o = test_options(std::move(client_id), keepalive);
    o.reconnect.enabled = true;
    o.reconnect.initial_delay = std::chrono::milliseconds(50);
    o.reconnect.max_delay = std::chrono::milliseconds(400);
    o.reconnect.seed = 7;
    return o;
}

/// An owned copy of a ReconnectInfo.
struct ReconnectRecord {
    ReconnectInfo::Kind kind = ReconnectInfo::Kind::scheduled;
    std::uint32_t attempt = 0;
    std::chrono::milliseconds delay{0};
    std::error_code reason;
    int code = 0;
    std::string message;
    BrokerAddress broker;
};

/// Records every on_reconnect() report of a client.
struct ReconnectLog {
    std::vector<ReconnectRecord> records;

    void attach(Client& client) {
        client.on_reconnect([this](Client&, const ReconnectInfo& i) {
            records.push_back({i.kind, i.attempt, i.delay, i.reason, i.code, std::string(i.message), i.broker});
        });
    }
    [[nodiscard]] std::vector<ReconnectRecord> of(ReconnectInfo::Kind kind) const {
        std::vector<ReconnectRecord> out;
        for (const auto& r : records) {
            if (r.kind == kind) out.push_back(r);
        }
        return out;
    }
    [[nodiscard]] std::size_t count(ReconnectInfo::Kind kind) const { return of(kind).size(); }
    [[nodiscard]] std::string describe() const {
        std::ostringstream out;
        for (const auto& r : records) {
            out << static_cast<int>(r.kind) << " #" << r.attempt << " " << r.delay.count() << "ms " << r.code << " "
                << r.reason.message() << " -> " << r.broker.host << ":" << r.broker.port << "\n";
        }
        return out.str();
    }
};

/// Counts numbered messages (payload "<n>" or "<n>:<anything>") as a subscriber receives them.
struct StreamCounter {
    std::vector<int> deliveries;       ///< how often each number arrived
    std::map<std::string, int> exact;  ///< how often each exact payload arrived
    std::vector<int> order;            ///< numbers in arrival order
    int total = 0;

    explicit StreamCounter(int n) : deliveries(static_cast<std::size_t>(n), 0) {}

    void add(std::string_view payload) {
        const int n = std::stoi(std::string(payload.substr(0, payload.find(':'))));
        ++total;
        ++exact[std::string(payload)];
        if (n >= 0 && static_cast<std::size_t>(n) < deliveries.size()) ++deliveries[static_cast<std::size_t>(n)];
        order.push_back(n);
    }
    /// Numbers that never arrived.
    [[nodiscard]] int lost() const {
        int lost = 0;
        for (const int d : deliveries) lost += d == 0 ? 1 : 0;
        return lost;
    }
    /// Numbers received at least once.
    [[nodiscard]] int distinct() const { return static_cast<int>(deliveries.size()) - lost(); }
    /// Deliveries beyond the first of each number.
    [[nodiscard]] int duplicates() const { return total - distinct(); }
    /// Deliveries of an exact payload beyond its first (for payloads that carry a publisher generation).
    [[nodiscard]] int exact_duplicates() const {
        int dups = 0;
        for (const auto& [payload, n] : exact) dups += n - 1;
        return dups;
    }
    /// Ordering of section 4.6 for a publisher whose messages go through one ordered topic: every number
    /// seen for the first time is above every number seen before (a resent message may come again later,
    /// as a duplicate, but never overtakes a newer one). Returns the count of violations.
    [[nodiscard]] int first_arrivals_out_of_order() const {
        std::set<int> seen;
        int highest = -1;
        int violations = 0;
        for (const int n : order) {
            if (!seen.insert(n).second) continue;
            if (n < highest) ++violations;
            highest = std::max(highest, n);
        }
        return violations;
    }
    /// Strict order: each arrival is not below the previous one (QoS 2: exactly once, in order).
    [[nodiscard]] int arrivals_out_of_order() const {
        int violations = 0;
        for (std::size_t i = 1; i < order.size(); ++i) violations += order[i] < order[i - 1] ? 1 : 0;
        return violations;
    }
};

/// A subscriber on `io` that counts numbered messages per topic.
class Subscriber {
public:
    Subscriber(asio::io_context& io, ClientOptions options) : client_(io, std::move(options)) {
        client_.on_message([this](Client&, const MessageView& m) {
            auto it = counters_.find(std::string(m.topic));
            if (it != counters_.end()) it->second.add(m.payload);
        });
    }
    /// Connects, subscribes to each topic (expecting `n` messages on it) and waits for the SUBACK.
    bool start(const std::string& host, std::uint16_t port, const std::vector<std::pair<std::string, int>>& topics,
               int n) {
        for (const auto& [topic, qos] : topics) counters_.emplace(topic, StreamCounter(n));
        if (!connect_and_wait(client_, host, port)) return false;
        bool subscribed = false;
        if (!client_.subscribe(topics, [&](Client&) { subscribed = true; })) return false;
        const bool ok = run_until(client_, [&] { return subscribed; });
        client_.on(Event::suback, {});
        return ok;
    }
    [[nodiscard]] const StreamCounter& counter(const std::string& topic) const { return counters_.at(topic); }
    [[nodiscard]] Client& client() noexcept { return client_; }

private:
    Client client_;
    std::map<std::string, StreamCounter> counters_;
};

/// Publishes 0..n-1 on `topic`, at most `window` of them unfinished at a time (the next one is published when
/// one completes), so that a fault injected at a given completion count lands mid-stream. `on_completed(count)`
/// runs after each completion.
class NumberedPublisher {
public:
    int completed = 0;
    int failed = 0;
    std::function<void(int)> on_completed;

    void start(Client& client, std::string topic, int n, int qos, int window = 1 << 30) {
        client_ = &client;
        topic_ = std::move(topic);
        n_ = n;
        qos_ = qos;
        for (int i = 0; i < std::min(n, window); ++i) publish_next();
    }

private:
    void publish_next() {
        const int i = next_++;
        const bool accepted = client_->publish(topic_, std::to_string(i), qos_, false, {}, [this](std::error_code ec, PacketId) {
            if (ec) {
                ++failed;
                return;
            }
            ++completed;
            if (next_ < n_) publish_next();
            if (on_completed) on_completed(completed);
        });
        EXPECT_TRUE(accepted) << i << ": " << client_->last_error().message();
    }

    Client* client_ = nullptr;
    std::string topic_;
    int n_ = 0;
    int qos_ = 0;
    int next_ = 0;
};

/// Reads a Linux process's resident set size in KiB from /proc/<pid>/status ("self" for this process).
inline std::optional<long> rss_kib(const std::string& pid = "self") {
    std::ifstream in("/proc/" + pid + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    }
    return std::nullopt;
}

}  // namespace nmqtt::test
