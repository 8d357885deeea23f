// Connecting through the Lua API: every failure code the reference lists, credentials, what CONNECT
// carries, `secure` (boolean, deprecated integer, TLS options of the extension table).
#include <gtest/gtest.h>

#include <sys/types.h>
#include <unistd.h>

#include "lua_test_support.hpp"
#include "support/bytes.hpp"
#include "support/scripted_peer.hpp"
#include "support/tls_certs.hpp"

namespace nmqtt::test::lua {
namespace {

std::vector<std::string> peer_address(const ScriptedPeer& peer, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{peer.host(), std::to_string(peer.port())};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

// Nothing listens: CONN_FAIL_SERVER_NOT_FOUND (-5), and no other callback.
TEST(LuaConnect, ClosedPortIsServerNotFound) {
    const auto r = run_script(script("connfail.lua"), {"127.0.0.1", std::to_string(closed_loopback_port())});
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out, "connfail\t-5\tdisconnected\n");
}

// The first packet is not a CONNACK [MQTT-3.2.0-1]: CONN_FAIL_NOT_A_CONNACK_MSG (-4).
TEST(LuaConnect, FirstPacketNotConnackIsMinus4) {
    ScriptedPeer peer({{peer::expect_packet(0x10), peer::send(hex("d0 00")), peer::expect_close()}});
    const auto r = run_script(script("connfail.lua"), peer_address(peer));
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out, "connfail\t-4\tdisconnected\n");
}

// CONNECT written, no CONNACK within connack_timeout (extension option, 5 s by default as NodeMCU):
// CONN_FAIL_TIMEOUT_RECEIVING (-2).
TEST(LuaConnect, NoConnackIsTimeoutReceiving) {
    ScriptedPeer peer(ScriptedPeer::Mode::silent);
    const auto r = run_script(script("connfail.lua"), peer_address(peer, {"300"}));
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out, "connfail\t-2\tdisconnected\n");
}

// The TCP connection never completes, so CONNECT cannot be written within connect_timeout:
// CONN_FAIL_TIMEOUT_SENDING (-1).
TEST(LuaConnect, ConnectNotWrittenIsTimeoutSending) {
    ScriptedPeer peer(ScriptedPeer::Mode::never_accept, true);
    const auto r = run_script(script("connfail.lua"), peer_address(peer, {"300"}));
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out, "connfail\t-1\tdisconnected\n");
}

// Each CONNACK refusal code 1..5 reaches the failure callback as is (mqtt.CONNACK_REFUSED_*).
class LuaConnackRefusal : public ::testing::TestWithParam<int> {};

TEST_P(LuaConnackRefusal, ReachesFailureCallback) {
    const auto code = static_cast<std::uint8_t>(GetParam());
    ScriptedPeer peer({{peer::expect_packet(0x10), peer::send(peer::connack(code)), peer::expect_close()}});
    const auto r = run_script(script("connfail.lua"), peer_address(peer));
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out, "connfail\t" + std::to_string(code) + "\tdisconnected\n");
}

INSTANTIATE_TEST_SUITE_P(Codes, LuaConnackRefusal, ::testing::Range(1, 6));

// A name that cannot be resolved: CONN_FAIL_DNS (-3). Run in a network namespace of its own (no interface
// up), so that no DNS query can leave the machine; skipped when that is not possible.
TEST(LuaConnect, UnresolvableNameIsDnsFailure) {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for unshare --net";
    const auto probe = run_process({"unshare", "--net", "true"}, 10s);
    if (!probe.status.success()) GTEST_SKIP() << "unshare --net unavailable: " << probe.err;
    auto argv = nmqtt_run(script("connfail.lua"), {"no-such-host.invalid", "1883"});
    argv.insert(argv.begin(), {"unshare", "--net"});
    const auto r = run_process(argv, script_timeout);
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out, "connfail\t-3\tdisconnected\n");
}

// A broker with a password file: the right credentials connect, others are refused (mosquitto answers 5).
TEST(LuaConnect, UsernameAndPassword) {
    MosquittoOptions options;
    options.allow_anonymous = false;
    options.users = {{"alice", "secret"}};
    MosquittoFixture broker(options);
    const auto good = run_script(script("connfail.lua"), address(broker, {"", "alice", "secret"}));
    ASSERT_TRUE(good.status.success()) << describe(good);
    EXPECT_EQ(good.out, "connected\noffline\n");
    const auto bad = run_script(script("connfail.lua"), address(broker, {"", "alice", "wrong"}));
    ASSERT_TRUE(bad.status.success()) << describe(bad);
    EXPECT_EQ(bad.out, "connfail\t5\tdisconnected\n");
    const auto anonymous = run_script(script("connfail.lua"), address(broker));
    ASSERT_TRUE(anonymous.status.success()) << describe(anonymous);
    EXPECT_EQ(anonymous.out, "connfail\t5\tdisconnected\n");
}

// keepalive 0 is sent as 0 (NodeMCU turns it into 60), nil gives 60; cleansession defaults to 1 and takes
// 0/1 or a boolean; the username reaches the broker.
TEST(LuaConnect, KeepaliveCleanSessionAndUsernameInConnect) {
    MosquittoFixture broker;
    const auto r = run_script(script("connect_options.lua"), address(broker));
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out,
        "connected\tnmqtt-k0\n"
        "connected\tnmqtt-default\n"
        "connected\tnmqtt-c0\n"
        "connected\tnmqtt-cfalse\n"
        "connected\tnmqtt-user\n"
        "all closed\n");
    const auto log = broker.log();
    EXPECT_NE(log.find("as nmqtt-k0 (p2, c1, k0)"), std::string::npos) << log;
    EXPECT_NE(log.find("as nmqtt-default (p2, c1, k60)"), std::string::npos) << log;
    EXPECT_NE(log.find("as nmqtt-c0 (p2, c0, k45)"), std::string::npos) << log;
    EXPECT_NE(log.find("as nmqtt-cfalse (p2, c0, k45)"), std::string::npos) << log;
    EXPECT_NE(log.find("as nmqtt-user (p2, c1, k120, u'alice')"), std::string::npos) << log;
}

// `secure` as the integer 0 works, with one deprecation line on stderr for the whole run; 1 asks for TLS.
TEST(LuaConnect, SecureAsIntegerIsDeprecated) {
    MosquittoFixture broker;
    const auto r = run_script(script("secure_integer.lua"), address(broker));
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out, "connected with secure = 0\nsecure = 1 against a plain listener fails\t-5\n");
    EXPECT_EQ(r.err, "nmqtt: deprecated: connect()'s `secure` as integer 0/1; pass false or true\n");
}

// secure = true with the extension's TLS options: the test CA verifies the broker; another CA does not
// (-5, as NodeMCU has no TLS code).
TEST(LuaConnect, TlsWithCaFile) {
    MosquittoOptions options;
    options.tls = true;
    MosquittoFixture broker(options);
    const auto& certs = tls_certs();
    const std::string port = std::to_string(broker.tls_port());
    const auto good = run_script(script("tls.lua"), {broker.host(), port, certs.ca_cert.string()});
    ASSERT_TRUE(good.status.success()) << describe(good);
    EXPECT_EQ(good.out, "connected\nmessage\ttls/t\tover tls\n");
    const auto other = run_script(script("tls.lua"), {broker.host(), port, certs.other_ca_cert.string()});
    ASSERT_TRUE(other.status.success()) << describe(other);
    EXPECT_EQ(other.out, "connfail\t-5\n");
}

// Mutual TLS: the client certificate and key of the extension table.
TEST(LuaConnect, TlsWithClientCertificate) {
    MosquittoOptions options;
    options.tls = true;
    options.require_client_cert = true;
    MosquittoFixture broker(options);
    const auto& certs = tls_certs();
    const std::string port = std::to_string(broker.tls_port());
    const auto with_cert = run_script(script("tls.lua"), {broker.host(), port, certs.ca_cert.string(),
                                                          certs.client_cert.string(), certs.client_key.string()});
    ASSERT_TRUE(with_cert.status.success()) << describe(with_cert);
    EXPECT_EQ(with_cert.out, "connected\nmessage\ttls/t\tover tls\n");
    // Refused: with TLS 1.3 the server rejects the missing certificate after the client finished its side
    // of the handshake, so the client sees the connection closed before a CONNACK (-4); with TLS 1.2 the
    // handshake itself fails (-5).
    const auto without = run_script(script("tls.lua"), {broker.host(), port, certs.ca_cert.string()});
    ASSERT_TRUE(without.status.success()) << describe(without);
    EXPECT_TRUE(without.out == "connfail\t-4\n" || without.out == "connfail\t-5\n") << without.out;
}

// The tls module (issue 10): a CA given only through tls.cert.verify(pem) verifies the broker; another CA
// does not (-5); tls.cert.verify(false) connects without verifying, with a warning.
TEST(LuaConnect, TlsModuleVerifyWithPem) {
    MosquittoOptions options;
    options.tls = true;
    MosquittoFixture broker(options);
    const auto& certs = tls_certs();
    auto run = [&](const char* mode) {
        return run_script(script("tls_module.lua"),
                          {broker.host(), std::to_string(broker.tls_port()), certs.ca_cert.string(),
                           certs.client_cert.string(), certs.client_key.string(), certs.other_ca_cert.string(), mode});
    };
    const auto good = run("verify");
    ASSERT_TRUE(good.status.success()) << describe(good);
    EXPECT_EQ(good.out, "verify\ttrue\nconnected\n");
    EXPECT_EQ(good.err, "nmqtt: deprecated: tls.cert.verify's PEM-string interface (the firmware prefers a callback)\n");
    const auto wrong = run("wrong-ca");
    ASSERT_TRUE(wrong.status.success()) << describe(wrong);
    EXPECT_EQ(wrong.out, "verify\ttrue\nconnfail\t-5\n");
    const auto off = run("verify-off");
    ASSERT_TRUE(off.status.success()) << describe(off);
    EXPECT_EQ(off.out, "verify\ttrue\nconnected\n");
    EXPECT_NE(off.err.find("tls.cert.verify(false)"), std::string::npos) << off.err;
}

// Mutual TLS through tls.cert.auth(cert, key) only; without it the broker refuses.
TEST(LuaConnect, TlsModuleClientCertificate) {
    MosquittoOptions options;
    options.tls = true;
    options.require_client_cert = true;
    MosquittoFixture broker(options);
    const auto& certs = tls_certs();
    auto run = [&](const char* mode) {
        return run_script(script("tls_module.lua"),
                          {broker.host(), std::to_string(broker.tls_port()), certs.ca_cert.string(),
                           certs.client_cert.string(), certs.client_key.string(), certs.other_ca_cert.string(), mode});
    };
    const auto with_cert = run("auth");
    ASSERT_TRUE(with_cert.status.success()) << describe(with_cert);
    EXPECT_EQ(with_cert.out, "verify\ttrue\nauth\ttrue\nconnected\n");
    const auto without = run("verify");
    ASSERT_TRUE(without.status.success()) << describe(without);
    EXPECT_TRUE(without.out == "verify\ttrue\nconnfail\t-4\n" || without.out == "verify\ttrue\nconnfail\t-5\n")
        << without.out;
}

// Bad PEM data and bad arguments are Lua errors naming what is wrong; nothing crashes.
TEST(LuaConnect, TlsModuleBadInput) {
    const auto& certs = tls_certs();
    const auto r = run_script(script("tls_module.lua"),
                              {"127.0.0.1", "1", certs.ca_cert.string(), certs.client_cert.string(),
                               certs.client_key.string(), certs.other_ca_cert.string(), "bad",
                               certs.other_ca_key.string()});
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out,
        "verify garbage\ttls.cert.verify: no certificate in the PEM data (expected -----BEGIN CERTIFICATE-----)\n"
        "auth no key\ttls.cert.auth: no private key in the PEM data (expected -----BEGIN ... PRIVATE KEY-----)\n"
        "auth wrong key\ttls.cert.auth: the private key does not match the certificate\n"
        "auth true before any\tno certificates found\n"
        "verify callback error\tboom\n"
        "setDebug type\tbad argument #1 to 'setDebug' (number expected, got string)\n"
        "setMaxFragmentLength\ttrue\n"
        "setDebug\n");
}

}  // namespace
}  // namespace nmqtt::test::lua
