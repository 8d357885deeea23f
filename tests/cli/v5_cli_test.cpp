// `nmqtt pub/sub` with MQTT 5.0 (mosquitto 2.0's -V, -D, -x, -F and the subscription options) against a real
// mosquitto, with mosquitto_pub/mosquitto_sub -V mqttv5 as the other side; properties checked at both ends,
// and -F output compared byte for byte with mosquitto_sub's. What mosquitto 2.0.11 will not do (a DISCONNECT
// from the server, showing the exact bytes we send) runs against a ScriptedPeer.
#include <gtest/gtest.h>

#include <signal.h>

#include <regex>
#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "support/bytes.hpp"
#include "support/scripted_peer.hpp"

namespace nmqtt::test {
namespace {

using namespace std::string_literals;

std::vector<std::string> mosquitto(const std::string& program, const MosquittoFixture& broker,
                                   std::vector<std::string> args) {
    args.insert(args.begin(), program);
    return at_broker(broker, std::move(args));
}

ProcessResult run_mosquitto_pub(const MosquittoFixture& broker, std::vector<std::string> args) {
    return run_process(mosquitto("mosquitto_pub", broker, std::move(args)), cli_deadline);
}

Process start_mosquitto_sub(const MosquittoFixture& broker, const std::string& id, std::vector<std::string> args) {
    args.insert(args.end(), {"-i", id});
    return start_subscriber(broker, id, mosquitto("mosquitto_sub", broker, std::move(args)));
}

// The "tst" member of a %j/%J record is the local wall-clock time: the only part that differs between two
// subscribers.
std::string without_timestamps(const std::string& text) {
    return std::regex_replace(text, std::regex("\"tst\":\\t?\"[^\"]*\""), "\"tst\":T");
}

const std::vector<std::string> all_publish_properties{
    "-D", "publish", "content-type", "text/plain",   "-D", "publish", "correlation-data", "req-42",
    "-D", "publish", "response-topic", "replies/me", "-D", "publish", "payload-format-indicator", "1",
    "-D", "publish", "user-property", "k1", "v1",    "-D", "publish", "user-property", "k2", "v 2"};

TEST(CliV5, NmqttPubPropertiesArriveAtMosquittoSub) {
    MosquittoFixture broker;
    auto sub = start_mosquitto_sub(broker, "msub", {"-V", "mqttv5", "-t", "v5/props", "-C", "1", "-F",
                                                    "%t|%p|%C|%D|%R|%F|%P"});
    auto args = at_broker(broker, {"-V", "mqttv5", "-t", "v5/props", "-m", "hello", "-q", "1"});
    args.insert(args.end(), all_publish_properties.begin(), all_publish_properties.end());
    const auto pub = run_nmqtt("pub", args);
    EXPECT_EQ(pub.status.exit_code, exit_ok) << pub.err;
    EXPECT_EQ(finish(sub).exit_code, 0) << sub.stderr_text();
    EXPECT_EQ(sub.stdout_text(), "v5/props|hello|text/plain|req-42|replies/me|1|k1:v1 k2:v 2\n");
}

TEST(CliV5, MosquittoPubPropertiesArriveAtNmqttSub) {
    MosquittoFixture broker;
    auto sub = start_nmqtt_sub(broker, "nsub", {"-V", "5", "-t", "v5/props", "-C", "1", "-F", "%t|%p|%C|%D|%R|%F|%P"});
    std::vector<std::string> args{"-V", "mqttv5", "-t", "v5/props", "-m", "hello", "-q", "1"};
    args.insert(args.end(), all_publish_properties.begin(), all_publish_properties.end());
    const auto pub = run_mosquitto_pub(broker, args);
    EXPECT_TRUE(pub.status.success()) << pub.err;
    EXPECT_EQ(finish(sub).exit_code, exit_ok) << sub.stderr_text();
    EXPECT_EQ(sub.stdout_text(), "v5/props|hello|text/plain|req-42|replies/me|1|k1:v1 k2:v 2\n");
}

// The same -F string through mosquitto_sub and nmqtt sub, for the same messages: the same bytes.
void expect_same_output_as_mosquitto_sub(const std::string& format, std::vector<std::string> extra = {}) {
    MosquittoFixture broker;
    std::vector<std::string> args{"-V", "mqttv5", "-t", "cmp/#", "-C", "5", "-q", "1", "-F", format};
    args.insert(args.end(), extra.begin(), extra.end());
    auto theirs = start_mosquitto_sub(broker, "theirs", args);
    auto ours = start_nmqtt_sub(broker, "ours", args);
    const std::vector<std::vector<std::string>> messages{
        {"-t", "cmp/a", "-m", R"({"a": [1, 2.5, "x\u00e9\n"], "b": {"c": null, "d": true}, "e": 1e3, "f": {}})", "-D",
         "publish", "user-property", "k1", "v1", "-D", "publish", "content-type", "ct", "-D", "publish",
         "user-property", "k2", "v2"},
        {"-t", "cmp/b", "-n"},
        {"-t", "cmp/c", "-m", "not json \"q\" \\ \t end", "-D", "publish", "response-topic", "r/t", "-D",
         "publish", "correlation-data", "cd"},
        {"-t", "cmp/d", "-m", "[1,2, 3.25e-2]", "-D", "publish", "payload-format-indicator", "1", "-q", "0"},
        {"-t", "cmp/e", "-m", "binary\x01\x7f\xc3\xa9", "-r"},
    };
    for (auto m : messages) {
        m.insert(m.begin(), {"-V", "mqttv5", "-q", "1"});
        const auto pub = run_mosquitto_pub(broker, m);
        ASSERT_TRUE(pub.status.success()) << pub.err;
    }
    EXPECT_EQ(finish(theirs).exit_code, 0) << theirs.stderr_text();
    EXPECT_EQ(finish(ours).exit_code, exit_ok) << ours.stderr_text();
    EXPECT_EQ(without_timestamps(ours.stdout_text()), without_timestamps(theirs.stdout_text()));
    EXPECT_EQ(ours.stderr_text(), theirs.stderr_text());
    EXPECT_FALSE(ours.stdout_text().empty());
}

TEST(CliV5, FormatSpecifiersMatchMosquittoSub) {
    expect_same_output_as_mosquitto_sub(
        "%t %q %r %l [%p] [%x] [%X] %% [%10t] [%-10t|] [%.3t] [%8.2t] [%05l] [%-5l|] [%3p] [%-3q] "
        "%C|%D|%R|%F|%E|%S|%A|%P\\t\\\\ tab\\n@@ [%20C] [%-6F|] [%04F] [%.2C] \\e\\a\\v end");
}

TEST(CliV5, JsonMatchesMosquittoSub) { expect_same_output_as_mosquitto_sub("%j"); }
TEST(CliV5, JsonPayloadMatchesMosquittoSubIncludingItsErrorLine) { expect_same_output_as_mosquitto_sub("%J"); }
TEST(CliV5, PrettyJsonMatchesMosquittoSub) { expect_same_output_as_mosquitto_sub("%j %J", {"--pretty"}); }

TEST(CliV5, SubscriptionIdentifierFromDashDSubscribe) {
    MosquittoFixture broker;
    auto sub = start_nmqtt_sub(broker, "nsub", {"-t", "sid", "-C", "1", "-F", "%S %p", "-D", "subscribe",
                                                "subscription-identifier", "42", "-D", "subscribe",
                                                "user-property", "a", "b"});
    const auto pub = run_mosquitto_pub(broker, {"-t", "sid", "-m", "x"});
    EXPECT_TRUE(pub.status.success()) << pub.err;
    EXPECT_EQ(finish(sub).exit_code, exit_ok) << sub.stderr_text();
    EXPECT_EQ(sub.stdout_text(), "42 x\n");  // -D alone turned MQTT 5 on, as with mosquitto_sub
}

TEST(CliV5, MessageExpiryIntervalIsForwarded) {
    MosquittoFixture broker;
    auto sub = start_mosquitto_sub(broker, "msub", {"-V", "5", "-t", "exp", "-C", "1", "-F", "%E"});
    const auto pub = run_nmqtt("pub", at_broker(broker, {"-t", "exp", "-m", "x", "-D", "publish",
                                                         "message-expiry-interval", "3600"}));
    EXPECT_EQ(pub.status.exit_code, exit_ok) << pub.err;
    EXPECT_EQ(finish(sub).exit_code, 0);
    const auto out = sub.stdout_text();
    EXPECT_TRUE(out == "3600\n" || out == "3599\n") << out;  // the broker sends what is left
}

TEST(CliV5, RetainHandlingTwoAndDashRGetNoRetainedMessage) {
    MosquittoFixture broker;
    ASSERT_TRUE(run_mosquitto_pub(broker, {"-t", "rh/old", "-m", "stale", "-r"}).status.success());
    // -E: exit once subscribed; a retained message would have come before the SUBACK's effects end.
    for (const auto& flags : std::vector<std::vector<std::string>>{{"--retain-handling", "2"}, {"-R"}}) {
        auto args = at_broker(broker, {"-V", "5", "-t", "rh/#", "-C", "1", "-W", "1", "-v", "-d"});
        args.insert(args.end(), flags.begin(), flags.end());
        auto sub = run_nmqtt("sub", args);
        EXPECT_EQ(sub.status.exit_code, exit_timeout) << flags[0] << sub.err;
        EXPECT_EQ(sub.out, "") << flags[0];
    }
    const auto sub = run_nmqtt("sub", at_broker(broker, {"-V", "5", "-t", "rh/#", "-C", "1", "-v",
                                                         "--retain-handling", "0"}));
    EXPECT_EQ(sub.status.exit_code, exit_ok) << sub.err;
    EXPECT_EQ(sub.out, "rh/old stale\n");
}

TEST(CliV5, DashRAtMqtt311DropsRetainedMessagesLocally) {
    MosquittoFixture broker;
    ASSERT_TRUE(run_mosquitto_pub(broker, {"-t", "r311/old", "-m", "stale", "-r"}).status.success());
    auto sub = start_nmqtt_sub(broker, "nsub", {"-t", "r311/#", "-C", "1", "-v", "-R"});
    ASSERT_TRUE(run_mosquitto_pub(broker, {"-t", "r311/new", "-m", "live"}).status.success());
    EXPECT_EQ(finish(sub).exit_code, exit_ok) << sub.stderr_text();
    EXPECT_EQ(sub.stdout_text(), "r311/new live\n");
}

TEST(CliV5, RetainAsPublishedKeepsTheRetainFlag) {
    MosquittoFixture broker;
    auto rap = start_nmqtt_sub(broker, "rap", {"-V", "5", "-t", "rap", "-C", "1", "-F", "%r %p", "--rap"});
    auto plain = start_nmqtt_sub(broker, "plain", {"-V", "5", "-t", "rap", "-C", "1", "-F", "%r %p"});
    ASSERT_TRUE(run_mosquitto_pub(broker, {"-t", "rap", "-m", "live", "-r"}).status.success());
    EXPECT_EQ(finish(rap).exit_code, exit_ok) << rap.stderr_text();
    EXPECT_EQ(finish(plain).exit_code, exit_ok) << plain.stderr_text();
    EXPECT_EQ(rap.stdout_text(), "1 live\n");
    EXPECT_EQ(plain.stdout_text(), "0 live\n");
}

TEST(CliV5, RetainedOnlyPrintsRetainedMessagesAndStopsAtTheFirstLiveOne) {
    MosquittoFixture broker;
    ASSERT_TRUE(run_mosquitto_pub(broker, {"-t", "ro/1", "-m", "one", "-r"}).status.success());
    ASSERT_TRUE(run_mosquitto_pub(broker, {"-t", "ro/2", "-m", "two", "-r"}).status.success());
    auto sub = start_nmqtt_sub(broker, "nsub", {"-t", "ro/#", "-v", "--retained-only"});
    ASSERT_TRUE(run_mosquitto_pub(broker, {"-t", "ro/3", "-m", "live"}).status.success());
    EXPECT_EQ(finish(sub).exit_code, exit_ok) << sub.stderr_text();
    EXPECT_EQ(sub.stdout_text(), "ro/1 one\nro/2 two\n");
}

TEST(CliV5, SessionExpiryKeepsTheSessionBetweenRuns) {
    MosquittoFixture broker;
    for (const auto& expiry : std::vector<std::vector<std::string>>{{"-x", "60"}, {}}) {  // {}: -c alone = never
        auto first = at_broker(broker, {"-V", "mqttv5", "-c", "-i", "keeper", "-t", "kept", "-q", "1", "-E"});
        first.insert(first.end(), expiry.begin(), expiry.end());
        const auto sub = run_nmqtt("sub", first);
        ASSERT_EQ(sub.status.exit_code, exit_ok) << sub.err;
        ASSERT_TRUE(run_mosquitto_pub(broker, {"-t", "kept", "-m", "while away", "-q", "1"}).status.success());
        auto again = at_broker(broker, {"-V", "mqttv5", "-c", "-i", "keeper", "-t", "kept", "-q", "1", "-C", "1"});
        again.insert(again.end(), expiry.begin(), expiry.end());
        const auto back = run_nmqtt("sub", again);
        EXPECT_EQ(back.status.exit_code, exit_ok) << back.err;
        EXPECT_EQ(back.out, "while away\n");
    }
}

TEST(CliV5, WillPropertiesReachTheWatcher) {
    MosquittoFixture broker;
    auto watcher = start_mosquitto_sub(broker, "watcher", {"-V", "5", "-t", "wills/#", "-C", "1", "-F",
                                                           "%t %p %C %P"});
    auto doomed = start_nmqtt_sub(broker, "doomed",
                                  {"-V", "5", "-t", "nothing", "--will-topic", "wills/doomed", "--will-payload",
                                   "gone", "-D", "will", "content-type", "text/x", "-D", "will", "user-property",
                                   "why", "killed"});
    doomed.send_signal(SIGKILL);
    EXPECT_EQ(finish(watcher).exit_code, 0) << broker.log();
    EXPECT_EQ(watcher.stdout_text(), "wills/doomed gone text/x why:killed\n");
}

TEST(CliV5, RefusalShowsTheReasonCode) {
    MosquittoFixture broker({.allow_anonymous = false});
    const auto sub = run_nmqtt("sub", at_broker(broker, {"-V", "mqttv5", "-t", "x"}));
    EXPECT_EQ(sub.status.exit_code, exit_connection_failed);
    EXPECT_NE(sub.err.find("reason code 0x87 Not authorized"), std::string::npos) << sub.err;
}

TEST(CliV5, PubackReasonCodeInDebugOutput) {
    MosquittoFixture broker;
    const auto pub = run_nmqtt("pub", at_broker(broker, {"-V", "5", "-t", "nobody/listens", "-m", "x", "-q", "1", "-d"}));
    EXPECT_EQ(pub.status.exit_code, exit_ok) << pub.err;
    EXPECT_NE(pub.err.find("reason code 0x10 No matching subscribers"), std::string::npos) << pub.err;
}

TEST(CliV5, UnsubscribeWithDashUShowsTheUnsubackReasonCode) {
    MosquittoFixture broker;
    const auto sub = run_nmqtt("sub", at_broker(broker, {"-V", "5", "-U", "never/subscribed", "-d", "-D",
                                                         "unsubscribe", "user-property", "a", "b"}));
    EXPECT_EQ(sub.status.exit_code, exit_ok) << sub.err;
    EXPECT_NE(sub.err.find("unsubscribed from 'never/subscribed' (reason code 0x11 No subscription existed)"),
              std::string::npos)
        << sub.err;
}

TEST(CliV5, UsageErrors) {
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
        {{"-V", "7"}, "invalid protocol version '7'"},
        {{"-V", "mqttv31"}, "MQTT 3.1 (-V mqttv31) is not supported"},
        {{"-D", "publish", "no-such-property", "1"}, "invalid property name 'no-such-property'"},
        {{"-D", "nothing", "content-type", "1"}, "invalid command 'nothing'"},
        {{"-D", "connect", "content-type", "x"}, "content-type property not allowed for connect"},
        {{"-D", "puback", "reason-string", "x"}, "reason-string property not supported for puback"},
        {{"-D", "publish", "user-property", "k"}, "--property publish user-property takes 2 value(s)"},
        {{"-D", "publish", "message-expiry-interval", "-5"}, "out of range for property message-expiry-interval"},
        {{"-D", "publish", "payload-format-indicator", "256"}, "out of range for property payload-format-indicator"},
        {{"-D", "publish", "topic-alias", "1"}, "nmqtt assigns topic aliases itself"},
        {{"-D", "publish", "subscription-identifier", "1"}, "subscription-identifier property not supported for publish"},
        {{"-V", "311", "-D", "publish", "content-type", "x"}, "-D properties need MQTT 5"},
        {{"-x", "60"}, "-x needs MQTT 5"},
        {{"-V", "5", "-x", "abc"}, "session-expiry-interval not a number"},
        {{"-V", "5", "-x", "4294967296"}, "session-expiry-interval out of range"},
        {{"-V", "5", "-x", "-1"}, "an infinite session expiry interval needs a client id"},
        {{"-D", "will", "content-type", "x"}, "-D will properties need --will-topic"},
    };
    for (const auto& [flags, message] : cases) {
        auto args = flags;
        args.insert(args.end(), {"-t", "t", "-m", "x", "-p", "1"});
        const auto pub = run_nmqtt("pub", args);
        EXPECT_EQ(pub.status.exit_code, exit_usage) << flags[0] << " " << flags[1];
        EXPECT_NE(pub.err.find(message), std::string::npos) << pub.err;
    }
    const std::vector<std::pair<std::vector<std::string>, std::string>> sub_cases{
        {{"--nl"}, "need MQTT 5"},
        {{"--rap"}, "need MQTT 5"},
        {{"--retain-handling", "1"}, "need MQTT 5"},
        {{"-R", "--retained-only"}, "-R and --retained-only cannot be used together"},
        {{"-V", "5", "-R", "--retain-handling", "1"}, "-R means --retain-handling 2"},
    };
    for (const auto& [flags, message] : sub_cases) {
        auto args = flags;
        args.insert(args.end(), {"-t", "t", "-p", "1"});
        const auto sub = run_nmqtt("sub", args);
        EXPECT_EQ(sub.status.exit_code, exit_usage) << flags[0];
        EXPECT_NE(sub.err.find(message), std::string::npos) << sub.err;
    }
}

// ---- against a ScriptedPeer: the exact bytes of what -D, -x and the options put on the wire -----------

std::vector<std::string> at_peer(const ScriptedPeer& peer, std::vector<std::string> args) {
    args.insert(args.end(), {"-h", peer.host(), "-p", std::to_string(peer.port())});
    return args;
}

TEST(CliV5, ConnectSubscribeAndDisconnectCarryTheDashDProperties) {
    ScriptedPeer peer({{peer::expect_packet(0x10), peer::send(hex("20 03 00 00 00")), peer::expect_packet(0x82),
                        peer::send(hex("90 04 00 01 00 01")),  // SUBACK id 1, no properties, granted QoS 1
                        peer::expect_packet(0xE0), peer::expect_close()}});
    const auto sub = run_nmqtt(
        "sub", at_peer(peer, {"-V", "mqttv5", "-i", "c", "-c", "-x", "30", "-t", "a/b", "-q", "1", "--nl", "--rap",
                              "--retain-handling", "1", "-E", "-D", "connect", "user-property", "u", "1", "-D",
                              "connect", "receive-maximum", "7", "-D", "subscribe", "subscription-identifier", "5",
                              "-D", "disconnect", "reason-string", "bye", "-D", "disconnect",
                              "session-expiry-interval", "0"}));
    EXPECT_EQ(sub.status.exit_code, exit_ok) << sub.err;
    ASSERT_TRUE(peer.wait_done(cli_deadline)) << peer.failure();
    EXPECT_TRUE(peer.matched()) << peer.failure();
    const auto sent = peer.received(0);
    const auto expected = hex(
        // CONNECT: "MQTT" 5, flags 0x00 (Clean Start 0), keepalive 60, properties (14): Session Expiry 30,
        // Receive Maximum 7, User Property u=1; client id "c".
        "10 1D 00 04 4D 51 54 54 05 00 00 3C"
        "0F 11 00 00 00 1E 21 00 07 26 00 01 75 00 01 31"
        "00 01 63"
        // SUBSCRIBE id 1, properties (2): Subscription Identifier 5; "a/b" options 0x1D = QoS 1, No Local,
        // Retain As Published, Retain Handling 1.
        "82 0B 00 01 02 0B 05 00 03 61 2F 62 1D"
        // DISCONNECT: reason 0x00, properties (11): Session Expiry 0, Reason String "bye".
        "E0 0D 00 0B 11 00 00 00 00 1F 00 03 62 79 65");
    EXPECT_EQ(to_hex(sent), to_hex(expected));
}

TEST(CliV5, ServerDisconnectReasonEndsTheRunWithExitCode4) {
    ScriptedPeer peer({{peer::expect_packet(0x10), peer::send(hex("20 03 00 00 00")), peer::expect_packet(0x82),
                        peer::send(hex("90 04 00 01 00 00")),
                        // DISCONNECT 0x8E Session taken over, Reason String "replaced"
                        peer::send(hex("E0 0E 8E 0C 1F 00 09 72 65 70 6C 61 63 65 64 21")), peer::expect_close()}});
    const auto sub = run_nmqtt("sub", at_peer(peer, {"-V", "5", "-t", "x"}));
    EXPECT_EQ(sub.status.exit_code, exit_connection_lost) << sub.err;
    EXPECT_NE(sub.err.find("disconnected by the server: reason code 0x8e Session taken over, reason string "
                           "'replaced!'"),
              std::string::npos)
        << sub.err;
}

}  // namespace
}  // namespace nmqtt::test
