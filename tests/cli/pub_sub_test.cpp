// `nmqtt pub` and `nmqtt sub` against a real mosquitto: payloads byte for byte, -l, -r, -q, -v, -N, -C, -W,
// -L, -c, the will, signals and a lost connection.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <string>
#include <vector>

#include "cli_runner.hpp"

namespace nmqtt::test {
namespace {

using namespace std::string_literals;

TEST(CliPubSubTest, SubReceivesWhatPubSentByteExact) {
    MosquittoFixture broker;
    auto sub = start_nmqtt_sub(broker, "sub1", {"-t", "greetings", "-C", "1"});
    const auto pub = run_nmqtt("pub", at_broker(broker, {"-t", "greetings", "-m", "hello, world"}));
    EXPECT_EQ(pub.status.exit_code, exit_ok) << pub.err;
    EXPECT_EQ(pub.err, "");
    EXPECT_EQ(finish(sub).exit_code, exit_ok) << sub.stderr_text();
    EXPECT_EQ(sub.stdout_text(), "hello, world\n");
}

TEST(CliPubSubTest, BinaryFileWithZeroBytesArrivesUnchanged) {
    MosquittoFixture broker;
    TempDir dir;
    std::string content;
    for (int i = 0; i < 3 * 256; ++i) content.push_back(static_cast<char>(i % 256));
    content += "\0\0\n\0end\r\n"s;
    write_file(dir / "payload.bin", content);

    auto sub = start_nmqtt_sub(broker, "sub1", {"-t", "bin", "-C", "1", "-N"});
    const auto pub = run_nmqtt("pub", at_broker(broker, {"-t", "bin", "-f", (dir / "payload.bin").string()}));
    EXPECT_EQ(pub.status.exit_code, exit_ok) << pub.err;
    EXPECT_EQ(finish(sub).exit_code, exit_ok) << sub.stderr_text();
    const std::string received = sub.stdout_text();
    EXPECT_EQ(received.size(), content.size());
    EXPECT_TRUE(received == content) << "payload differs";
}

TEST(CliPubSubTest, StdinAsOneMessageWithDashS) {
    MosquittoFixture broker;
    const std::string content = "line 1\nline 2\n\0x"s;
    auto sub = start_nmqtt_sub(broker, "sub1", {"-t", "s", "-C", "1", "-N"});
    const auto pub = run_nmqtt("pub", at_broker(broker, {"-t", "s", "-s"}), {.stdin_data = content});
    EXPECT_EQ(pub.status.exit_code, exit_ok) << pub.err;
    EXPECT_EQ(finish(sub).exit_code, exit_ok) << sub.stderr_text();
    EXPECT_TRUE(sub.stdout_text() == content);
}

TEST(CliPubSubTest, EachStdinLineIsOneMessage) {
    MosquittoFixture broker;
    // An empty line is an empty message; a last line without newline is sent too.
    auto sub = start_nmqtt_sub(broker, "sub1", {"-t", "lines", "-C", "4", "-v"});
    const auto pub = run_nmqtt("pub", at_broker(broker, {"-t", "lines", "-l", "-q", "1"}),
                               {.stdin_data = "first\nsecond line\n\nlast"});
    EXPECT_EQ(pub.status.exit_code, exit_ok) << pub.err;
    EXPECT_EQ(finish(sub).exit_code, exit_ok) << sub.stderr_text();
    EXPECT_EQ(sub.stdout_text(), "lines first\nlines second line\nlines \nlines last\n");
}

TEST(CliPubSubTest, ManyStdinLinesAllArriveInOrder) {
    // mosquitto drops QoS 1 messages beyond 1000 queued for one subscriber unless told otherwise.
    MosquittoFixture broker({.extra_config = {"max_queued_messages 0"}});
    constexpr int lines = 3000;  // more than the reader's window of lines in flight
    std::string input;
    std::string expected;
    for (int i = 0; i < lines; ++i) {
        input += std::to_string(i) + "\n";
        expected += std::to_string(i) + "\n";
    }
    auto sub = start_nmqtt_sub(broker, "sub1", {"-t", "many", "-q", "1", "-C", std::to_string(lines)});
    const auto pub = run_nmqtt("pub", at_broker(broker, {"-t", "many", "-l", "-q", "1"}), {.stdin_data = input});
    EXPECT_EQ(pub.status.exit_code, exit_ok) << pub.err;
    EXPECT_EQ(finish(sub).exit_code, exit_ok) << sub.stderr_text();
    const std::string received = sub.stdout_text();
    const auto mismatch = std::mismatch(received.begin(), received.end(), expected.begin(), expected.end());
    EXPECT_TRUE(received == expected) << "received " << received.size() << " bytes of " << expected.size()
                                      << ", first difference at byte " << (mismatch.first - received.begin());
}

TEST(CliPubSubTest, NullMessageIsEmpty) {
    MosquittoFixture broker;
    auto sub = start_nmqtt_sub(broker, "sub1", {"-t", "n", "-C", "1", "-v"});
    const auto pub = run_nmqtt("pub", at_broker(broker, {"-t", "n", "-n"}));
    EXPECT_EQ(pub.status.exit_code, exit_ok) << pub.err;
    EXPECT_EQ(finish(sub).exit_code, exit_ok) << sub.stderr_text();
    EXPECT_EQ(sub.stdout_text(), "n \n");
}

TEST(CliPubSubTest, RetainedMessageReachesALaterSubscriber) {
    MosquittoFixture broker;
    const auto pub = run_nmqtt("pub", at_broker(broker, {"-t", "state/door", "-m", "open", "-r"}));
    ASSERT_EQ(pub.status.exit_code, exit_ok) << pub.err;
    // Subscribed only after the publisher has gone: only a retained message can arrive.
    const auto sub = run_nmqtt("sub", at_broker(broker, {"-t", "state/#", "-C", "1", "-v"}));
    EXPECT_EQ(sub.status.exit_code, exit_ok) << sub.err;
    EXPECT_EQ(sub.out, "state/door open\n");
}

TEST(CliPubSubTest, NotRetainedWithoutDashR) {
    MosquittoFixture broker;
    const auto pub = run_nmqtt("pub", at_broker(broker, {"-t", "state/door", "-m", "open"}));
    ASSERT_EQ(pub.status.exit_code, exit_ok) << pub.err;
    const auto sub = run_nmqtt("sub", at_broker(broker, {"-t", "state/#", "-C", "1", "-W", "1"}));
    EXPECT_EQ(sub.status.exit_code, exit_timeout) << sub.err;
    EXPECT_EQ(sub.out, "");
}

class CliQosTest : public ::testing::TestWithParam<int> {};

TEST_P(CliQosTest, PubCompletesTheQosFlowBeforeExiting) {
    const int qos = GetParam();
    MosquittoFixture broker;
    auto sub = start_nmqtt_sub(broker, "sub1", {"-t", "q", "-q", "2", "-C", "1"});
    const auto pub =
        run_nmqtt("pub", at_broker(broker, {"-t", "q", "-m", "payload", "-q", std::to_string(qos), "-i", "pub1"}));
    EXPECT_EQ(pub.status.exit_code, exit_ok) << pub.err;
    EXPECT_EQ(finish(sub).exit_code, exit_ok) << sub.stderr_text();
    EXPECT_EQ(sub.stdout_text(), "payload\n");
    // The broker saw the whole flow of the QoS asked for, and a clean DISCONNECT (no will, no timeout).
    EXPECT_EQ(broker.count_in_log("Received PUBLISH from pub1 (d0, q" + std::to_string(qos) + ", r0"), 1u)
        << broker.log();
    if (qos == 1) {
        EXPECT_TRUE(broker.wait_for_log("Sending PUBACK to pub1"));
    }
    if (qos == 2) {
        EXPECT_TRUE(broker.wait_for_log("Sending PUBREC to pub1"));
        EXPECT_TRUE(broker.wait_for_log("Received PUBREL from pub1"));
        EXPECT_TRUE(broker.wait_for_log("Sending PUBCOMP to pub1"));
    }
    EXPECT_TRUE(broker.wait_for_log("Received DISCONNECT from pub1"));
}

TEST_P(CliQosTest, SubAcknowledgesAtTheGrantedQos) {
    const int qos = GetParam();
    MosquittoFixture broker;
    auto sub = start_nmqtt_sub(broker, "sub1", {"-t", "q", "-q", std::to_string(qos), "-C", "1"});
    const auto pub = run_nmqtt("pub", at_broker(broker, {"-t", "q", "-m", "x", "-q", "2"}));
    EXPECT_EQ(pub.status.exit_code, exit_ok) << pub.err;
    EXPECT_EQ(finish(sub).exit_code, exit_ok) << sub.stderr_text();
    EXPECT_EQ(sub.stdout_text(), "x\n");
    if (qos == 1) {
        EXPECT_TRUE(broker.wait_for_log("Received PUBACK from sub1"));
    }
    if (qos == 2) {
        // -C 1 ends the run once the message is delivered (on PUBLISH); the PUBREC goes out before the
        // DISCONNECT, the broker's PUBREL may arrive after it.
        EXPECT_TRUE(broker.wait_for_log("Received PUBREC from sub1"));
    }
}

INSTANTIATE_TEST_SUITE_P(Qos, CliQosTest, ::testing::Values(0, 1, 2));

TEST(CliPubSubTest, VerbosePrintsTopicSpacePayload) {
    MosquittoFixture broker;
    auto sub = start_nmqtt_sub(broker, "sub1", {"-t", "a/+", "-t", "b", "-v", "-C", "2"});
    EXPECT_EQ(run_nmqtt("pub", at_broker(broker, {"-t", "a/x", "-m", "one two", "-q", "1"})).status.exit_code,
              exit_ok);
    EXPECT_EQ(run_nmqtt("pub", at_broker(broker, {"-t", "b", "-m", "three", "-q", "1"})).status.exit_code, exit_ok);
    EXPECT_EQ(finish(sub).exit_code, exit_ok) << sub.stderr_text();
    EXPECT_EQ(sub.stdout_text(), "a/x one two\nb three\n");
}

TEST(CliPubSubTest, NoNewlineWithDashN) {
    MosquittoFixture broker;
    auto sub = start_nmqtt_sub(broker, "sub1", {"-t", "t", "-N", "-C", "2"});
    EXPECT_EQ(run_nmqtt("pub", at_broker(broker, {"-t", "t", "-m", "ab", "-q", "1"})).status.exit_code, exit_ok);
    EXPECT_EQ(run_nmqtt("pub", at_broker(broker, {"-t", "t", "-m", "cd", "-q", "1"})).status.exit_code, exit_ok);
    EXPECT_EQ(finish(sub).exit_code, exit_ok) << sub.stderr_text();
    EXPECT_EQ(sub.stdout_text(), "abcd");
}

TEST(CliPubSubTest, CountStopsAfterNMessagesAndDisconnects) {
    MosquittoFixture broker;
    auto sub = start_nmqtt_sub(broker, "sub1", {"-t", "t", "-C", "2"});
    const auto pub = run_nmqtt("pub", at_broker(broker, {"-t", "t", "-l", "-q", "1"}), {.stdin_data = "1\n2\n3\n"});
    EXPECT_EQ(pub.status.exit_code, exit_ok) << pub.err;
    EXPECT_EQ(finish(sub).exit_code, exit_ok) << sub.stderr_text();
    EXPECT_EQ(sub.stdout_text(), "1\n2\n");
    EXPECT_TRUE(broker.wait_for_log("Received DISCONNECT from sub1"));
}

TEST(CliPubSubTest, TimeoutExitsWithCode3) {
    MosquittoFixture broker;
    const auto sub = run_nmqtt("sub", at_broker(broker, {"-t", "quiet", "-W", "1", "-i", "sub1"}));
    EXPECT_FALSE(sub.timed_out);
    EXPECT_EQ(sub.status.exit_code, exit_timeout);
    EXPECT_NE(sub.err.find("timed out after 1 s"), std::string::npos) << sub.err;
    EXPECT_TRUE(broker.wait_for_log("Received DISCONNECT from sub1"));
}

TEST(CliPubSubTest, CountReachedBeforeTimeoutExitsWithCode0) {
    MosquittoFixture broker;
    auto sub = start_nmqtt_sub(broker, "sub1", {"-t", "t", "-C", "1", "-W", "60"});
    EXPECT_EQ(run_nmqtt("pub", at_broker(broker, {"-t", "t", "-m", "m"})).status.exit_code, exit_ok);
    EXPECT_EQ(finish(sub).exit_code, exit_ok) << sub.stderr_text();
    EXPECT_EQ(sub.stdout_text(), "m\n");
}

TEST(CliPubSubTest, UrlGivesBrokerAndTopic) {
    MosquittoFixture broker;
    const std::string url = "mqtt://" + broker.host() + ":" + std::to_string(broker.port()) + "/url/topic";
    auto sub = start_subscriber(broker, "sub1", nmqtt_cli("sub", {"-L", url, "-i", "sub1", "-C", "1", "-v"}));
    const auto pub = run_nmqtt("pub", {"-L", url, "-m", "via url"});
    EXPECT_EQ(pub.status.exit_code, exit_ok) << pub.err;
    EXPECT_EQ(finish(sub).exit_code, exit_ok) << sub.stderr_text();
    EXPECT_EQ(sub.stdout_text(), "url/topic via url\n");
}

TEST(CliPubSubTest, PersistentSessionGetsWhatWasPublishedWhileAway) {
    MosquittoFixture broker;
    // Subscribe with clean session off, then leave.
    auto first = start_nmqtt_sub(broker, "keeper", {"-t", "mail", "-q", "1", "-c", "-W", "1"});
    EXPECT_EQ(finish(first).exit_code, exit_timeout);
    ASSERT_TRUE(broker.wait_for_log("Received DISCONNECT from keeper"));
    const auto pub = run_nmqtt("pub", at_broker(broker, {"-t", "mail", "-m", "while away", "-q", "1"}));
    ASSERT_EQ(pub.status.exit_code, exit_ok) << pub.err;
    // Back with the same id: the broker kept the subscription and the message.
    const auto second = run_nmqtt("sub", at_broker(broker, {"-t", "mail", "-q", "1", "-c", "-i", "keeper", "-C", "1"}));
    EXPECT_EQ(second.status.exit_code, exit_ok) << second.err;
    EXPECT_EQ(second.out, "while away\n");
}

TEST(CliPubSubTest, WillIsPublishedWhenTheClientDies) {
    MosquittoFixture broker;
    auto watcher = start_nmqtt_sub(broker, "watcher", {"-t", "wills/#", "-v", "-C", "1"});
    auto doomed = start_nmqtt_sub(broker, "doomed",
                                  {"-t", "nothing", "--will-topic", "wills/doomed", "--will-payload", "gone",
                                   "--will-qos", "1"});
    doomed.send_signal(SIGKILL);  // no DISCONNECT: the broker must publish the will
    (void)finish(doomed);
    EXPECT_EQ(finish(watcher).exit_code, exit_ok) << watcher.stderr_text();
    EXPECT_EQ(watcher.stdout_text(), "wills/doomed gone\n");
}

TEST(CliPubSubTest, SigintClosesCleanlyWithCode0AndNoWill) {
    MosquittoFixture broker;
    auto watcher = start_nmqtt_sub(broker, "watcher", {"-t", "wills/#", "-v", "-C", "1"});
    auto sub = start_nmqtt_sub(broker, "sub1",
                               {"-t", "t", "--will-topic", "wills/sub1", "--will-payload", "should not be sent"});
    sub.send_signal(SIGINT);
    EXPECT_EQ(finish(sub).exit_code, exit_ok) << sub.stderr_text();
    EXPECT_TRUE(broker.wait_for_log("Received DISCONNECT from sub1"));
    ASSERT_TRUE(broker.wait_for_log("Client sub1 disconnected"));
    // A will would have been sent to the watcher when sub1's connection ended, so before this marker.
    EXPECT_EQ(run_nmqtt("pub", at_broker(broker, {"-t", "wills/marker", "-m", "end"})).status.exit_code, exit_ok);
    EXPECT_EQ(finish(watcher).exit_code, exit_ok);
    EXPECT_EQ(watcher.stdout_text(), "wills/marker end\n");
}

TEST(CliPubSubTest, LostConnectionExitsWithCode4) {
    MosquittoFixture broker;
    auto sub = start_nmqtt_sub(broker, "sub1", {"-t", "t"});
    broker.stop();
    const auto status = finish(sub);
    EXPECT_EQ(status.exit_code, exit_connection_lost);
    EXPECT_NE(sub.stderr_text().find("connection lost"), std::string::npos) << sub.stderr_text();
}

}  // namespace
}  // namespace nmqtt::test
