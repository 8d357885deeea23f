// Reliability scenarios shared by the default suite (tests/integration, short runs) and the long runs
// (tests/reliability, NMQTT_LONG_TESTS=1): the same code, with the sizes as parameters.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <signal.h>

#include <asio/io_context.hpp>

#include "nmqtt/file_store.hpp"
#include "reliability_harness.hpp"
#include "support/mosquitto_fixture.hpp"
#include "support/process.hpp"

namespace nmqtt::test {

/// True when the long reliability runs were asked for (environment NMQTT_LONG_TESTS=1).
inline bool long_tests_enabled() {
    const char* value = std::getenv("NMQTT_LONG_TESTS");
    return value != nullptr && std::string(value) == "1";
}

/// A broker for streams that must lose nothing across restarts, with two mosquitto 2.0.11 defects avoided:
/// - persistence on, and stopped with SIGTERM by MosquittoFixture::stop(), so that mosquitto saves what it
///   acknowledged (a SIGKILLed broker loses messages it had acknowledged, which no client can recover);
/// - max_inflight_messages 65534: the default (20) stalls QoS 2 toward a subscriber (see
///   client_messaging_test.cpp), and 0 ("unlimited", as the other tests use) or 65535 make mosquitto restore
///   its in-flight QoS 2 messages into the queue with their state lost: after the restart it sends the
///   PUBLISH again (DUP=1, same id) for a message whose PUBREL it had already sent, so a subscriber that had
///   completed that id receives the message a second time, as a new one [MQTT-4.3.3-2]. That violates
///   [MQTT-4.3.3-1] / section 4.4 (after PUBREL only the PUBREL is resent) and no client can undo it
///   (reproduced with raw sockets, no nmqtt involved: docs/reliability.md);
/// - max_queued_messages 0 (no bound): the default of 1000 per client drops QoS 1/2 messages for a
///   subscriber that is still reconnecting while the publisher has already resumed.
inline MosquittoOptions lossless_broker_options() {
    return MosquittoOptions{.persistence = true,
                            .extra_config = {"max_inflight_messages 65534", "max_queued_messages 0"}};
}

/// What a broker restart run counted, per QoS.
struct StreamFigures {
    int lost = 0;
    int duplicates = 0;
    int out_of_order = 0;  ///< QoS 1: first arrivals out of order; QoS 2: any arrival out of order
};

struct RestartFigures {
    int messages_per_qos = 0;
    int restarts = 0;
    StreamFigures qos1;
    StreamFigures qos2;
    int publisher_failed = 0;
    std::size_t publisher_attempts = 0;
    std::size_t subscriber_attempts = 0;
    double seconds = 0;
};

inline StreamFigures figures_of(const StreamCounter& c, int qos) {
    return StreamFigures{c.lost(), c.duplicates(),
                         qos == 1 ? c.first_arrivals_out_of_order() : c.arrivals_out_of_order()};
}

inline std::ostream& operator<<(std::ostream& out, const RestartFigures& f) {
    return out << f.messages_per_qos << " QoS 1 + " << f.messages_per_qos << " QoS 2, " << f.restarts
               << " broker restarts, " << f.seconds << " s: QoS 1 lost " << f.qos1.lost << ", duplicated "
               << f.qos1.duplicates << ", out of order " << f.qos1.out_of_order << "; QoS 2 lost " << f.qos2.lost
               << ", duplicated " << f.qos2.duplicates << ", out of order " << f.qos2.out_of_order
               << "; reconnection attempts: publisher " << f.publisher_attempts << ", subscriber "
               << f.subscriber_attempts;
}

/// Streams `n` QoS 1 and `n` QoS 2 messages from one client to another through a mosquitto with persistence,
/// stopping it with SIGTERM and starting it again `restarts` times mid-stream. Both clients use clean
/// session 0 and reconnect by themselves. Returns the counts; fails the test if the stream does not finish.
inline RestartFigures run_broker_restart(int n, int restarts, std::chrono::seconds timeout) {
    const auto started = std::chrono::steady_clock::now();
    MosquittoFixture broker(lossless_broker_options());
    asio::io_context io;
    ClientOptions so = reconnecting_options("restart-sub");
    so.clean_session = false;
    Subscriber sub(io, so);
    ReconnectLog sub_log;
    sub_log.attach(sub.client());
    EXPECT_TRUE(sub.start(broker.host(), broker.port(), {{"restart/q1", 1}, {"restart/q2", 2}}, n));

    ClientOptions po = reconnecting_options("restart-pub");
    po.clean_session = false;
    po.queue_while_offline = true;
    Client pub(io, po);
    ReconnectLog pub_log;
    pub_log.attach(pub);
    EXPECT_TRUE(connect_and_wait(pub, broker.host(), broker.port()));
    NumberedPublisher q1;
    NumberedPublisher q2;
    q1.start(pub, "restart/q1", n, 1, 200);
    q2.start(pub, "restart/q2", n, 2, 200);
    const auto received = [&] { return sub.counter("restart/q1").total + sub.counter("restart/q2").total; };

    for (int r = 1; r <= restarts; ++r) {
        const int threshold = 2 * n * r / (restarts + 1);
        EXPECT_TRUE(run_until(io, [&] { return received() >= threshold; }, timeout)) << "restart " << r;
        EXPECT_LT(q1.completed + q2.completed, 2 * n) << "the stream is still running when the broker stops";
        broker.stop();  // SIGTERM: mosquitto saves its state; both connections drop
        const auto attempts = pub_log.count(ReconnectInfo::Kind::attempting);
        // Both clients notice, and the publisher tries (and fails) while the broker is down.
        EXPECT_TRUE(run_until(io, [&] { return pub_log.count(ReconnectInfo::Kind::attempting) >= attempts + 2; }, 10s));
        broker.start();
    }
    const bool done = run_until(io, [&] {
        return q1.completed == n && q2.completed == n && sub.counter("restart/q1").distinct() == n &&
               sub.counter("restart/q2").distinct() == n;
    }, timeout);
    EXPECT_TRUE(done) << "completed " << q1.completed << "/" << q2.completed << ", received "
                      << sub.counter("restart/q1").distinct() << "/" << sub.counter("restart/q2").distinct();
    io.run_for(std::chrono::milliseconds(300));  // a late duplicate would arrive now (nothing awaited)

    RestartFigures f;
    f.messages_per_qos = n;
    f.restarts = restarts;
    f.qos1 = figures_of(sub.counter("restart/q1"), 1);
    f.qos2 = figures_of(sub.counter("restart/q2"), 2);
    f.publisher_failed = q1.failed + q2.failed;
    f.publisher_attempts = pub_log.count(ReconnectInfo::Kind::attempting);
    f.subscriber_attempts = sub_log.count(ReconnectInfo::Kind::attempting);
    f.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return f;
}

/// The assertions of a broker restart run: 0 lost at QoS 1 and 2, 0 duplicated at QoS 2, ordered.
inline void expect_lossless(const RestartFigures& f) {
    std::cout << "[ figures  ] " << f << std::endl;
    ::testing::Test::RecordProperty("qos1_lost", f.qos1.lost);
    ::testing::Test::RecordProperty("qos1_duplicates", f.qos1.duplicates);
    ::testing::Test::RecordProperty("qos2_lost", f.qos2.lost);
    ::testing::Test::RecordProperty("qos2_duplicates", f.qos2.duplicates);
    EXPECT_EQ(f.qos1.lost, 0);
    EXPECT_EQ(f.qos1.out_of_order, 0) << "ordered topic [MQTT-4.6.0-6]; resends in order [MQTT-4.6.0-1]";
    EXPECT_EQ(f.qos2.lost, 0);
    EXPECT_EQ(f.qos2.duplicates, 0) << "exactly once [MQTT-4.3.3]";
    EXPECT_EQ(f.qos2.out_of_order, 0);
    EXPECT_EQ(f.publisher_failed, 0);
    EXPECT_GE(f.publisher_attempts, static_cast<std::size_t>(2 * f.restarts));
    EXPECT_GE(f.subscriber_attempts, static_cast<std::size_t>(f.restarts));
}

#ifdef NMQTT_STORE_CHILD_PATH
/// What a client kill run counted.
struct KillFigures {
    int messages_per_qos = 0;
    int kills = 0;
    StreamFigures qos1;
    StreamFigures qos2;
    int qos2_payload_duplicates = 0;  ///< one payload (number and generation) delivered twice: the library's fault
    int application_resends = 0;      ///< numbers published again by a restarted child (its progress lagged)
    std::vector<int> restored;        ///< requests each restarted run found in the store
    int final_exit_code = -1;
    bool store_empty_at_end = false;
    double seconds = 0;
};

inline std::ostream& operator<<(std::ostream& out, const KillFigures& f) {
    out << f.messages_per_qos << " QoS 1 + " << f.messages_per_qos << " QoS 2, " << f.kills
               << " SIGKILLs of the publisher, " << f.seconds << " s: QoS 1 lost " << f.qos1.lost << ", duplicated "
               << f.qos1.duplicates << ", out of order " << f.qos1.out_of_order << "; QoS 2 lost " << f.qos2.lost
               << ", delivered twice " << f.qos2_payload_duplicates << ", out of order " << f.qos2.out_of_order
               << "; application resends " << f.application_resends << "; restored from the store:";
    for (const int n : f.restored) out << " " << n;
    return out << "; store empty at the end " << f.store_empty_at_end;
}

/// The number a store child printed as "restored N" (-1 when it printed none).
inline int restored_count(const Process& child) {
    const std::string out = child.stdout_text();
    const auto at = out.find("restored ");
    return at == std::string::npos ? -1 : std::atoi(out.c_str() + at + 9);
}

/// Runs the store child (tests/reliability/store_child.cpp) publishing `n` messages at QoS 1 and at QoS 2 with a
/// persistent store, SIGKILLs it `kills` times mid-stream and starts it again with the same client id and
/// store, and counts what a subscriber with a persistent session received.
inline KillFigures run_store_kill(int n, int kills, const std::string& sync, std::chrono::seconds timeout) {
    const auto started = std::chrono::steady_clock::now();
    MosquittoFixture broker(lossless_broker_options());
    TempDir dir("nmqtt-store-kill");
    asio::io_context io;
    ClientOptions so = reconnecting_options("kill-sub");
    so.clean_session = false;
    Subscriber sub(io, so);
    EXPECT_TRUE(sub.start(broker.host(), broker.port(), {{"kill/q1", 1}, {"kill/q2", 2}}, n));
    const auto& q1 = sub.counter("kill/q1");
    const auto& q2 = sub.counter("kill/q2");

    KillFigures f;
    int generation = 0;
    const auto start_child = [&] {
        ++generation;
        return Process({NMQTT_STORE_CHILD_PATH, broker.host(), std::to_string(broker.port()), "kill-pub",
                        (dir / "session.log").string(), (dir / "progress").string(), "kill", std::to_string(n),
                        std::to_string(generation), "100", sync});
    };
    for (int k = 1; k <= kills; ++k) {
        Process child = start_child();
        const int threshold = n * k / (kills + 1);
        EXPECT_TRUE(run_until(io, [&] { return q2.distinct() >= threshold || !child.running(); }, timeout));
        if (k > 1) f.restored.push_back(restored_count(child));
        EXPECT_TRUE(child.running()) << "killed mid-stream; output: " << child.stdout_text() << child.stderr_text();
        child.send_signal(SIGKILL);
        EXPECT_TRUE(child.wait_for(5s).has_value());
    }
    Process last = start_child();
    EXPECT_TRUE(run_until(io, [&] { return !last.running(); }, timeout)) << "the last run did not finish";
    f.restored.push_back(restored_count(last));
    EXPECT_TRUE(run_until(io, [&] { return q1.distinct() == n && q2.distinct() == n; }, 10s));
    io.run_for(std::chrono::milliseconds(300));  // a late duplicate would arrive now (nothing awaited)

    f.messages_per_qos = n;
    f.kills = kills;
    f.qos1 = figures_of(q1, 1);
    f.qos2 = figures_of(q2, 2);
    f.qos2_payload_duplicates = q2.exact_duplicates();
    f.application_resends = q2.duplicates() - q2.exact_duplicates();
    // QoS 2 order with application resends: number i may come once more right after itself (new generation).
    f.qos2.out_of_order = q2.arrivals_out_of_order();
    f.final_exit_code = last.status() ? last.status()->exit_code : -1;
    if (f.final_exit_code != 0) ADD_FAILURE() << last.stdout_text() << last.stderr_text();
    auto store = FileStore::open((dir / "session.log").string(), "kill-pub");
    f.store_empty_at_end = store && (*store)->outgoing().empty() && (*store)->incoming().empty();
    f.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return f;
}

/// The assertions of a kill run: every message completes, 0 lost, no QoS 2 payload delivered twice, ordered.
inline void expect_lossless(const KillFigures& f) {
    std::cout << "[ figures  ] " << f << std::endl;
    ::testing::Test::RecordProperty("qos1_lost", f.qos1.lost);
    ::testing::Test::RecordProperty("qos2_lost", f.qos2.lost);
    ::testing::Test::RecordProperty("qos2_delivered_twice", f.qos2_payload_duplicates);
    EXPECT_EQ(f.final_exit_code, 0) << "the last run completes every message, restored ones included";
    EXPECT_EQ(f.qos1.lost, 0);
    EXPECT_EQ(f.qos1.out_of_order, 0);
    EXPECT_EQ(f.qos2.lost, 0);
    EXPECT_EQ(f.qos2_payload_duplicates, 0) << "exactly once across process kills [MQTT-4.3.3]";
    EXPECT_LE(f.application_resends, f.kills) << "at most the one message a kill can catch before its progress line";
    EXPECT_EQ(f.qos2.out_of_order, 0);
    EXPECT_TRUE(f.store_empty_at_end) << "completed messages are removed from the store";
    for (const int n : f.restored) EXPECT_GT(n, 0) << "each kill left unfinished messages in the store";
}
#endif

}  // namespace nmqtt::test
