// `nmqtt pub` / `nmqtt sub`: --help, usage errors, connection failures, credentials and TLS.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "support/scripted_peer.hpp"
#include "support/tls_certs.hpp"

namespace nmqtt::test {
namespace {

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

// Exactly one line on stderr.
bool is_one_line(const std::string& text) {
    return !text.empty() && text.back() == '\n' && text.find('\n') == text.size() - 1;
}

class CliCommandTest : public ::testing::TestWithParam<std::string> {
protected:
    // `args` plus what the command needs besides a topic: a message for pub.
    [[nodiscard]] std::vector<std::string> with_message(std::vector<std::string> args) const {
        if (GetParam() == "pub") args.insert(args.end(), {"-m", "x"});
        return args;
    }
};

TEST_P(CliCommandTest, HelpListsTheFlagsAndExits0) {
    const auto r = run_nmqtt(GetParam(), {"--help"});
    EXPECT_EQ(r.status.exit_code, exit_ok) << r.err;
    EXPECT_TRUE(contains(r.out, "Usage: nmqtt " + GetParam())) << r.out;
    for (const char* flag : {"-h,--host", "-p,--port", "-t,--topic", "-q,--qos", "-L,--url", "--will-topic",
                             "--cafile", "--insecure", "-d,--debug"}) {
        EXPECT_TRUE(contains(r.out, flag)) << flag;
    }
}

TEST_P(CliCommandTest, UnknownFlagIsAUsageError) {
    const auto r = run_nmqtt(GetParam(), {"-t", "t", "--no-such-flag"});
    EXPECT_EQ(r.status.exit_code, exit_usage) << r.err;
    EXPECT_TRUE(contains(r.err, "--no-such-flag")) << r.err;
}

TEST_P(CliCommandTest, BadValueIsAUsageError) {
    const auto r = run_nmqtt(GetParam(), with_message({"-t", "t", "-q", "3"}));
    EXPECT_EQ(r.status.exit_code, exit_usage) << r.err;
    EXPECT_TRUE(contains(r.err, "-q")) << r.err;
}

TEST_P(CliCommandTest, MissingTopicIsAUsageError) {
    const auto r = run_nmqtt(GetParam(), with_message({"-p", std::to_string(closed_loopback_port())}));
    EXPECT_EQ(r.status.exit_code, exit_usage) << r.err;
    EXPECT_TRUE(is_one_line(r.err)) << r.err;
    EXPECT_TRUE(contains(r.err, "no topic")) << r.err;
}

TEST_P(CliCommandTest, ClosedPortFailsWithServerNotFound) {
    const auto r = run_nmqtt(
        GetParam(), with_message({"-h", "127.0.0.1", "-p", std::to_string(closed_loopback_port()), "-t", "t"}));
    EXPECT_EQ(r.status.exit_code, exit_connection_failed);
    EXPECT_TRUE(is_one_line(r.err)) << r.err;
    EXPECT_TRUE(contains(r.err, "connection failed: CONN_FAIL_SERVER_NOT_FOUND (-5)")) << r.err;
}

TEST_P(CliCommandTest, DisableCleanSessionNeedsAnId) {
    const auto r = run_nmqtt(GetParam(), with_message({"-t", "t", "-c"}));
    EXPECT_EQ(r.status.exit_code, exit_usage);
    EXPECT_TRUE(contains(r.err, "-c needs a client id")) << r.err;
}

TEST_P(CliCommandTest, BadUrlIsAUsageError) {
    const auto r = run_nmqtt(GetParam(), with_message({"-L", "http://127.0.0.1/t"}));
    EXPECT_EQ(r.status.exit_code, exit_usage);
    EXPECT_TRUE(contains(r.err, "mqtt://")) << r.err;
}

INSTANTIATE_TEST_SUITE_P(Commands, CliCommandTest, ::testing::Values("pub", "sub"));

TEST(CliUsageTest, PubNeedsExactlyOneMessageSource) {
    EXPECT_EQ(run_nmqtt("pub", {"-t", "t"}).status.exit_code, exit_usage);
    const auto r = run_nmqtt("pub", {"-t", "t", "-m", "x", "-n"});
    EXPECT_EQ(r.status.exit_code, exit_usage);
    EXPECT_TRUE(contains(r.err, "exactly one of -m, -f, -l, -n, -s")) << r.err;
}

TEST(CliUsageTest, PubRefusesAWildcardTopic) {
    const auto r = run_nmqtt("pub", {"-t", "a/#", "-m", "x"});
    EXPECT_EQ(r.status.exit_code, exit_usage);
    EXPECT_TRUE(contains(r.err, "bad topic 'a/#'")) << r.err;
}

TEST(CliUsageTest, SubRefusesABadFilter) {
    const auto r = run_nmqtt("sub", {"-t", "a/#/b"});
    EXPECT_EQ(r.status.exit_code, exit_usage);
    EXPECT_TRUE(contains(r.err, "bad topic filter 'a/#/b'")) << r.err;
}

TEST(CliUsageTest, UnreadableFileIsAUsageError) {
    TempDir dir;
    const auto r = run_nmqtt("pub", {"-t", "t", "-f", (dir / "missing.bin").string()});
    EXPECT_EQ(r.status.exit_code, exit_usage);
    EXPECT_TRUE(contains(r.err, "cannot read -f file")) << r.err;
}

TEST(CliUsageTest, PasswordNeedsAUserName) {
    const auto r = run_nmqtt("pub", {"-t", "t", "-n", "-P", "secret"});
    EXPECT_EQ(r.status.exit_code, exit_usage);
    EXPECT_TRUE(contains(r.err, "-P needs -u")) << r.err;
}

MosquittoOptions with_alice() {
    return {.allow_anonymous = false, .users = {{"alice", "secret"}}};
}

TEST(CliAuthTest, UserNameAndPasswordAreAccepted) {
    MosquittoFixture broker(with_alice());
    auto sub = start_nmqtt_sub(broker, "sub1", {"-t", "t", "-C", "1", "-u", "alice", "-P", "secret"});
    const auto pub = run_nmqtt("pub", at_broker(broker, {"-t", "t", "-m", "authorized", "-u", "alice", "-P", "secret"}));
    EXPECT_EQ(pub.status.exit_code, exit_ok) << pub.err;
    EXPECT_EQ(finish(sub).exit_code, exit_ok) << sub.stderr_text();
    EXPECT_EQ(sub.stdout_text(), "authorized\n");
}

TEST(CliAuthTest, CredentialsInTheUrlAreUsed) {
    MosquittoFixture broker(with_alice());
    const std::string url = "mqtt://alice:secret@127.0.0.1:" + std::to_string(broker.port()) + "/t";
    auto sub = start_subscriber(broker, "sub1", nmqtt_cli("sub", {"-L", url, "-i", "sub1", "-C", "1"}));
    const auto pub = run_nmqtt("pub", {"-L", url, "-m", "from url"});
    EXPECT_EQ(pub.status.exit_code, exit_ok) << pub.err;
    EXPECT_EQ(finish(sub).exit_code, exit_ok) << sub.stderr_text();
    EXPECT_EQ(sub.stdout_text(), "from url\n");
}

TEST(CliAuthTest, WrongPasswordIsRefusedWithTheConnackCode) {
    MosquittoFixture broker(with_alice());
    const auto r = run_nmqtt("pub", at_broker(broker, {"-t", "t", "-m", "x", "-u", "alice", "-P", "wrong"}));
    EXPECT_EQ(r.status.exit_code, exit_connection_failed);
    EXPECT_TRUE(is_one_line(r.err)) << r.err;
    // mosquitto 2.0 answers a bad password on MQTT 3.1.1 with "not authorized" (5).
    EXPECT_TRUE(contains(r.err, "connection failed: CONNACK_REFUSED_NOT_AUTHORIZED (5)")) << r.err;
}

TEST(CliAuthTest, AnonymousIsRefused) {
    MosquittoFixture broker(with_alice());
    const auto r = run_nmqtt("sub", at_broker(broker, {"-t", "t"}));
    EXPECT_EQ(r.status.exit_code, exit_connection_failed);
    EXPECT_TRUE(contains(r.err, "connection failed: CONNACK_REFUSED_NOT_AUTHORIZED (5)")) << r.err;
}

// mosquitto 2.0 grants every subscription on MQTT 3.1.1 (its ACL filters on delivery), so refusals come
// from a scripted broker.
std::vector<std::string> at_peer(const ScriptedPeer& peer, std::vector<std::string> args) {
    args.insert(args.end(), {"-h", peer.host(), "-p", std::to_string(peer.port())});
    return args;
}

TEST(CliRefusalTest, EverySubscriptionRefusedExitsWithCode5) {
    // SUBACK, packet id 1, one return code: 0x80 failure.
    ScriptedPeer peer({{peer::expect_packet(0x10), peer::send(peer::connack(0)), peer::expect_packet(0x82),
                        peer::send(hex("90 03 00 01 80")), peer::expect(hex("E0 00")), peer::expect_close()}});
    const auto r = run_nmqtt("sub", at_peer(peer, {"-t", "forbidden"}));
    EXPECT_EQ(r.status.exit_code, exit_request_failed) << r.err;
    EXPECT_TRUE(contains(r.err, "subscription to 'forbidden' refused by the broker")) << r.err;
    EXPECT_TRUE(contains(r.err, "every subscription was refused")) << r.err;
    EXPECT_TRUE(peer.wait_done(cli_deadline));
    EXPECT_TRUE(peer.matched()) << peer.failure();
}

TEST(CliRefusalTest, OneRefusedFilterOfTwoIsAWarning) {
    // SUBACK id 1: granted QoS 0, then 0x80. Then PUBLISH QoS 0 "ok/1" "fine".
    ScriptedPeer peer({{peer::expect_packet(0x10), peer::send(peer::connack(0)), peer::expect_packet(0x82),
                        peer::send(hex("90 04 00 01 00 80")),
                        peer::send(cat(hex("30 0A 00 04"), bytes_of("ok/1"), bytes_of("fine"))),
                        peer::expect(hex("E0 00")), peer::expect_close()}});
    const auto r = run_nmqtt("sub", at_peer(peer, {"-t", "ok/#", "-t", "no", "-C", "1", "-v"}));
    EXPECT_EQ(r.status.exit_code, exit_ok) << r.err;
    EXPECT_EQ(r.out, "ok/1 fine\n");
    EXPECT_EQ(r.err, "nmqtt sub: subscription to 'no' refused by the broker\n");
    EXPECT_TRUE(peer.wait_done(cli_deadline));
    EXPECT_TRUE(peer.matched()) << peer.failure();
}

TEST(CliRefusalTest, AnswerThatIsNotAConnack) {
    ScriptedPeer peer({{peer::expect_packet(0x10), peer::send(hex("D0 00")), peer::expect_close()}});
    const auto r = run_nmqtt("pub", at_peer(peer, {"-t", "t", "-m", "x"}));
    EXPECT_EQ(r.status.exit_code, exit_connection_failed);
    EXPECT_TRUE(is_one_line(r.err)) << r.err;
    EXPECT_TRUE(contains(r.err, "connection failed: CONN_FAIL_NOT_A_CONNACK_MSG (-4)")) << r.err;
}

TEST(CliRefusalTest, ConnackRefusalCodeIsNamed) {
    ScriptedPeer peer({{peer::expect_packet(0x10), peer::send(peer::connack(2)), peer::expect_close()}});
    const auto r = run_nmqtt("sub", at_peer(peer, {"-t", "t"}));
    EXPECT_EQ(r.status.exit_code, exit_connection_failed);
    EXPECT_TRUE(contains(r.err, "connection failed: CONNACK_REFUSED_ID_REJECTED (2)")) << r.err;
}

TEST(CliRefusalTest, BrokerClosingAfterConnackIsALostConnection) {
    ScriptedPeer peer({{peer::expect_packet(0x10), peer::send(peer::connack(0)), peer::expect_packet(0x82),
                        peer::close()}});
    const auto r = run_nmqtt("sub", at_peer(peer, {"-t", "t"}));
    EXPECT_EQ(r.status.exit_code, exit_connection_lost);
    EXPECT_TRUE(is_one_line(r.err)) << r.err;
    EXPECT_TRUE(contains(r.err, "connection lost")) << r.err;
}

class CliTlsTest : public ::testing::Test {
protected:
    std::vector<std::string> tls_flags(const MosquittoFixture& broker, const std::filesystem::path& ca) {
        return {"-h", "127.0.0.1", "-p", std::to_string(broker.tls_port()), "--cafile", ca.string()};
    }
};

TEST_F(CliTlsTest, PubAndSubOverTls) {
    MosquittoFixture broker({.tls = true});
    const auto& certs = tls_certs();
    auto args = tls_flags(broker, certs.ca_cert);
    auto sub_args = args;
    sub_args.insert(sub_args.end(), {"-t", "secure", "-C", "1", "-i", "sub1"});
    auto sub = start_subscriber(broker, "sub1", nmqtt_cli("sub", sub_args));
    args.insert(args.end(), {"-t", "secure", "-m", "over tls", "-q", "1"});
    const auto pub = run_nmqtt("pub", args);
    EXPECT_EQ(pub.status.exit_code, exit_ok) << pub.err;
    EXPECT_EQ(finish(sub).exit_code, exit_ok) << sub.stderr_text();
    EXPECT_EQ(sub.stdout_text(), "over tls\n");
}

TEST_F(CliTlsTest, UntrustedServerFailsUnlessInsecure) {
    MosquittoFixture broker({.tls = true});
    auto args = tls_flags(broker, tls_certs().other_ca_cert);
    args.insert(args.end(), {"-t", "t", "-m", "x"});
    const auto refused = run_nmqtt("pub", args);
    EXPECT_EQ(refused.status.exit_code, exit_connection_failed);
    EXPECT_TRUE(contains(refused.err, "CONN_FAIL_SERVER_NOT_FOUND (-5)")) << refused.err;
    args.emplace_back("--insecure");
    const auto accepted = run_nmqtt("pub", args);
    EXPECT_EQ(accepted.status.exit_code, exit_ok) << accepted.err;
}

TEST_F(CliTlsTest, ClientCertificateForMutualTls) {
    MosquittoFixture broker({.tls = true, .require_client_cert = true});
    const auto& certs = tls_certs();
    auto args = tls_flags(broker, certs.ca_cert);
    args.insert(args.end(), {"-t", "t", "-m", "x"});
    const auto without = run_nmqtt("pub", args);
    EXPECT_EQ(without.status.exit_code, exit_connection_failed) << without.err;
    args.insert(args.end(), {"--cert", certs.client_cert.string(), "--key", certs.client_key.string()});
    const auto with = run_nmqtt("pub", args);
    EXPECT_EQ(with.status.exit_code, exit_ok) << with.err;
}

TEST_F(CliTlsTest, UnreadableCaFileIsAUsageError) {
    TempDir dir;
    const auto r = run_nmqtt("sub", {"-p", std::to_string(closed_loopback_port()), "-t", "t", "--cafile",
                                     (dir / "missing.pem").string()});
    EXPECT_EQ(r.status.exit_code, exit_usage);
    EXPECT_TRUE(is_one_line(r.err)) << r.err;
    EXPECT_TRUE(contains(r.err, "missing.pem")) << r.err;
}

TEST_F(CliTlsTest, MqttsUrlUsesTls) {
    MosquittoFixture broker({.tls = true});
    const std::string url = "mqtts://127.0.0.1:" + std::to_string(broker.tls_port()) + "/t";
    const auto r = run_nmqtt("pub", {"-L", url, "-m", "x", "--cafile", tls_certs().ca_cert.string(), "-i", "p1"});
    EXPECT_EQ(r.status.exit_code, exit_ok) << r.err;
    EXPECT_TRUE(broker.wait_for_log("Received DISCONNECT from p1"));
}

}  // namespace
}  // namespace nmqtt::test
