// `nmqtt bench` against a real mosquitto: every mode reports what it did in its JSON line (the format the
// comparison script bench/compare/run.sh reads), losses are counted, and usage and connection errors give
// their documented exit codes.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "support/tls_certs.hpp"

namespace nmqtt::test {
namespace {

constexpr int exit_incomplete = 3;  // nmqtt bench: messages lost or the run timed out

/// The number after "key": in a one-line JSON object, or -1 when the key is missing.
double json_number(const std::string& json, const std::string& key) {
    const std::string needle = "\"" + key + "\":";
    const auto at = json.find(needle);
    if (at == std::string::npos) return -1;
    return std::stod(json.substr(at + needle.size()));
}

std::string json_string(const std::string& json, const std::string& key) {
    const std::string needle = "\"" + key + "\":\"";
    const auto at = json.find(needle);
    if (at == std::string::npos) return {};
    const auto begin = at + needle.size();
    return json.substr(begin, json.find('"', begin) - begin);
}

ProcessResult run_bench(const MosquittoFixture& broker, std::vector<std::string> args) {
    args.insert(args.end(), {"--json", "--timeout", "15"});
    return run_nmqtt("bench", at_broker(broker, std::move(args)));
}

class CliBenchPubTest : public ::testing::TestWithParam<int> {};

TEST_P(CliBenchPubTest, EveryMessageArrivesOnceEndToEnd) {
    MosquittoFixture broker;
    const auto qos = std::to_string(GetParam());
    const auto r = run_bench(broker, {"pub", "-n", "500", "-q", qos, "--inflight", "16", "-t", "bench-test/%i"});
    EXPECT_EQ(r.status.exit_code, exit_ok) << r.err;
    EXPECT_EQ(json_string(r.out, "lib"), "nmqtt") << r.out;
    EXPECT_EQ(json_string(r.out, "mode"), "pub");
    EXPECT_EQ(json_number(r.out, "qos"), GetParam());
    EXPECT_EQ(json_number(r.out, "sent"), 500);
    EXPECT_EQ(json_number(r.out, "messages"), 500);
    EXPECT_EQ(json_number(r.out, "lost"), 0);
    EXPECT_EQ(json_number(r.out, "duplicated"), 0);
    EXPECT_GT(json_number(r.out, "msgs_per_s"), 0);
    EXPECT_GT(json_number(r.out, "max_us"), 0);
    EXPECT_LE(json_number(r.out, "p50_us"), json_number(r.out, "p99_us"));
    EXPECT_LE(json_number(r.out, "p99_us"), json_number(r.out, "max_us"));
}

INSTANTIATE_TEST_SUITE_P(Qos, CliBenchPubTest, ::testing::Values(0, 1, 2));

// -V 5: the same runs over MQTT 5.0 (mosquitto logs the protocol of each connection: "p5").
class CliBenchV5Test : public ::testing::TestWithParam<int> {};

TEST_P(CliBenchV5Test, EveryMessageArrivesOnceOverMqtt5) {
    MosquittoFixture broker;
    const auto qos = std::to_string(GetParam());
    const auto r = run_bench(broker, {"pub", "-V", "5", "-n", "500", "-q", qos, "--inflight", "16", "-t", "bench5/%i"});
    EXPECT_EQ(r.status.exit_code, exit_ok) << r.err;
    EXPECT_EQ(json_number(r.out, "sent"), 500) << r.out;
    EXPECT_EQ(json_number(r.out, "messages"), 500);
    EXPECT_EQ(json_number(r.out, "lost"), 0);
    EXPECT_EQ(json_number(r.out, "duplicated"), 0);
    EXPECT_GE(broker.count_in_log("(p5, "), 2u) << broker.log();  // publisher and subscriber
    EXPECT_EQ(broker.count_in_log("(p2, "), 0u);  // mosquitto logs 3.1.1 as p2
}

INSTANTIATE_TEST_SUITE_P(Qos, CliBenchV5Test, ::testing::Values(0, 1, 2));

// A long stream with a window: completions publish the next messages from inside the client's read
// handler. Catches a client that starts a new read into its buffer while still parsing it (Asio reads
// speculatively when a read starts), which loses acknowledgements and leaves publishes incomplete.
TEST(CliBenchTest, LongQos2StreamWithWindowLosesNothing) {
    // mosquitto drops QoS 1/2 messages for a subscriber beyond 1000 queued, and disconnects a 3.1.1 client
    // with more than 20 QoS 2 messages in flight, by default: lift both bounds.
    MosquittoFixture broker({.extra_config = {"max_queued_messages 0", "max_inflight_messages 1000"}});
    const auto r = run_bench(broker, {"pub", "-n", "20000", "-q", "2", "--inflight", "64", "-t", "bench-long/%i"});
    EXPECT_EQ(r.status.exit_code, exit_ok) << r.err;
    EXPECT_EQ(json_number(r.out, "messages"), 20000) << r.out;
    EXPECT_EQ(json_number(r.out, "lost"), 0);
}

TEST(CliBenchTest, SeveralPublishersWithIntervalAndNoSubscriberCountCompletions) {
    MosquittoFixture broker;
    const auto r = run_bench(broker, {"pub", "--no-sub", "-c", "3", "-n", "20", "-I", "2", "-q", "1"});
    EXPECT_EQ(r.status.exit_code, exit_ok) << r.err;
    EXPECT_EQ(json_number(r.out, "clients"), 3) << r.out;
    EXPECT_EQ(json_number(r.out, "sent"), 60);
    EXPECT_EQ(json_number(r.out, "messages"), 60);
    EXPECT_EQ(broker.count_in_log("Received PUBLISH from nmqtt-bench-pub-"), 60u);
}

TEST(CliBenchTest, SubCountsWhatAnotherProcessPublishes) {
    MosquittoFixture broker;
    Process sub(nmqtt_cli("bench", at_broker(broker, {"sub", "-n", "100", "-q", "1", "-t", "feed/%i", "--json"})));
    const std::string subscribed = "Sending SUBACK to nmqtt-bench-sub-" + std::to_string(sub.pid()) + "-0";
    ASSERT_TRUE(broker.wait_for_log(subscribed, cli_deadline)) << sub.stderr_text();
    const auto pub = run_bench(broker, {"pub", "--no-sub", "-n", "100", "-q", "1", "-t", "feed/%i"});
    EXPECT_EQ(pub.status.exit_code, exit_ok) << pub.err;
    EXPECT_EQ(finish(sub).exit_code, exit_ok) << sub.stderr_text();
    const auto out = sub.stdout_text();
    EXPECT_EQ(json_string(out, "mode"), "sub") << out;
    EXPECT_EQ(json_number(out, "messages"), 100);
    EXPECT_EQ(json_number(out, "lost"), 0);
}

TEST(CliBenchTest, SubReportsMissingMessagesAsLost) {
    MosquittoFixture broker;
    Process sub(nmqtt_cli("bench", at_broker(broker, {"sub", "-n", "50", "-t", "few/%i", "--json", "--timeout", "2"})));
    const std::string subscribed = "Sending SUBACK to nmqtt-bench-sub-" + std::to_string(sub.pid()) + "-0";
    ASSERT_TRUE(broker.wait_for_log(subscribed, cli_deadline)) << sub.stderr_text();
    const auto pub = run_bench(broker, {"pub", "--no-sub", "-n", "20", "-q", "1", "-t", "few/%i"});
    EXPECT_EQ(pub.status.exit_code, exit_ok) << pub.err;
    EXPECT_EQ(finish(sub).exit_code, exit_incomplete) << sub.stderr_text();
    const auto out = sub.stdout_text();
    EXPECT_EQ(json_number(out, "messages"), 20) << out;
    EXPECT_EQ(json_number(out, "lost"), 30);
}

TEST(CliBenchTest, RoundTripTakesEverySample) {
    MosquittoFixture broker;
    const auto r = run_bench(broker, {"rtt", "-n", "50", "-q", "1"});
    EXPECT_EQ(r.status.exit_code, exit_ok) << r.err;
    EXPECT_EQ(json_string(r.out, "mode"), "rtt") << r.out;
    EXPECT_EQ(json_number(r.out, "messages"), 50);
    EXPECT_EQ(json_number(r.out, "lost"), 0);
    EXPECT_GT(json_number(r.out, "p50_us"), 0);
    EXPECT_EQ(broker.count_in_log("Received PUBLISH from nmqtt-bench-rtt-"), 50u);
}

TEST(CliBenchTest, ConnConnectsEveryClientAndMeasuresMemory) {
    MosquittoFixture broker;
    const auto r = run_bench(broker, {"conn", "-c", "40"});
    EXPECT_EQ(r.status.exit_code, exit_ok) << r.err;
    EXPECT_EQ(json_string(r.out, "mode"), "conn") << r.out;
    EXPECT_EQ(json_number(r.out, "messages"), 40);
    EXPECT_EQ(json_number(r.out, "lost"), 0);
    EXPECT_GT(json_number(r.out, "connect_per_s"), 0);
    EXPECT_GT(json_number(r.out, "rss_after_kib"), 0);
    EXPECT_EQ(broker.count_in_log("New client connected from 127.0.0.1"), 40u);
}

TEST(CliBenchTest, PubOverTlsWithTheTestCa) {
    MosquittoFixture broker({.tls = true});
    const auto r = run_nmqtt("bench", {"pub", "-h", "127.0.0.1", "-p", std::to_string(broker.tls_port()), "--cafile",
                                       tls_certs().ca_cert.string(), "-n", "50", "-q", "1", "--json"});
    EXPECT_EQ(r.status.exit_code, exit_ok) << r.err;
    EXPECT_EQ(json_number(r.out, "messages"), 50) << r.out;
    EXPECT_EQ(json_number(r.out, "lost"), 0);
}

TEST(CliBenchTest, TlsWithAnUnknownCaFailsToConnect) {
    MosquittoFixture broker({.tls = true});
    const auto r = run_nmqtt("bench", {"conn", "-h", "127.0.0.1", "-p", std::to_string(broker.tls_port()), "--tls",
                                       "-c", "2", "--timeout", "10"});
    EXPECT_EQ(r.status.exit_code, exit_connection_failed) << r.err;
    EXPECT_NE(r.err.find("failed to connect"), std::string::npos) << r.err;
}

TEST(CliBenchTest, InsecureSkipsTheCertificateCheck) {
    MosquittoFixture broker({.tls = true});
    const auto r = run_nmqtt("bench", {"rtt", "-h", "127.0.0.1", "-p", std::to_string(broker.tls_port()), "--tls",
                                       "--insecure", "-n", "5", "--json"});
    EXPECT_EQ(r.status.exit_code, exit_ok) << r.err;
    EXPECT_EQ(json_number(r.out, "messages"), 5) << r.out;
}

TEST(CliBenchTest, HumanSummaryWithoutJson) {
    MosquittoFixture broker;
    const auto r = run_nmqtt("bench", at_broker(broker, {"pub", "-n", "10"}));
    EXPECT_EQ(r.status.exit_code, exit_ok) << r.err;
    EXPECT_NE(r.out.find("nmqtt bench pub qos 0: 10 messages"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("latency us: p50"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find('{'), std::string::npos);
}

TEST(CliBenchTest, UsageErrorsExitWithOne) {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {}, {"publish"}, {"pub", "-q", "3"}, {"pub", "-s", "8"}, {"pub", "--inflight", "0"}, {"conn", "-c", "0"}}) {
        const auto r = run_nmqtt("bench", args);
        EXPECT_EQ(r.status.exit_code, exit_usage) << "args: " << ::testing::PrintToString(args) << " " << r.err;
        EXPECT_NE(r.err, "");
    }
}

TEST(CliBenchTest, NoBrokerIsAConnectionFailureWithItsReason) {
    MosquittoFixture broker;
    const std::string port = std::to_string(broker.port());
    broker.stop();
    const auto r = run_nmqtt("bench", {"pub", "-h", "127.0.0.1", "-p", port, "-n", "5"});
    EXPECT_EQ(r.status.exit_code, exit_connection_failed) << r.err;
    EXPECT_NE(r.err.find("CONN_FAIL_SERVER_NOT_FOUND"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace nmqtt::test
