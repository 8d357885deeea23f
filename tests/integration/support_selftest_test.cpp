// Self-tests of the integration test support: MosquittoFixture with the Debian mosquitto_pub/_sub clients,
// TLS certificates, FaultProxy, ScriptedPeer and the process helpers, all driven by raw sockets or the
// mosquitto command line clients (never by nmqtt's own code).
#include <gtest/gtest.h>

#include <signal.h>

#include <string>
#include <vector>

#include "support/bytes.hpp"
#include "support/fault_proxy.hpp"
#include "support/mosquitto_fixture.hpp"
#include "support/process.hpp"
#include "support/raw_client.hpp"
#include "support/scripted_peer.hpp"
#include "support/tls_certs.hpp"

namespace nmqtt::test {
namespace {

// CONNECT, MQTT 3.1.1, clean session, keep alive 60 s, client id "c1", no credentials.
//   10 0E            CONNECT, remaining length 14
//   00 04 4D 51 54 54 04   protocol name "MQTT", level 4
//   02               flags: clean session
//   00 3C            keep alive 60
//   00 02 63 31      client id "c1"
const ByteVector connect_c1 = hex("10 0E | 00 04 4D 51 54 54 04 | 02 | 00 3C | 00 02 63 31");
const ByteVector connack_accepted = hex("20 02 00 00");
const ByteVector pingreq = hex("C0 00");
const ByteVector pingresp = hex("D0 00");

// CONNECT as connect_c1 with user name "alice" and the given password (flags C2 = user, password, clean).
ByteVector connect_alice(const std::string& password) {
    const auto remaining = static_cast<std::uint8_t>(10 + 4 + 7 + 2 + password.size());
    return cat(ByteVector{0x10, remaining}, hex("00 04 4D 51 54 54 04 | C2 | 00 3C | 00 02 63 31"),
               hex("00 05"), bytes_of("alice"), ByteVector{0x00, static_cast<std::uint8_t>(password.size())},
               bytes_of(password));
}

std::vector<std::string> pub_args(const MosquittoFixture& broker, const std::string& topic,
                                  const std::string& message) {
    return {"mosquitto_pub", "-V", "mqttv311", "-h", broker.host(), "-p", std::to_string(broker.port()),
            "-t", topic, "-m", message};
}

// Starts `mosquitto_sub -C 1` and waits until the broker has its subscription.
Process start_sub(const MosquittoFixture& broker, const std::string& host, std::uint16_t port,
                  const std::string& topic) {
    const std::size_t before = broker.count_in_log("Received SUBSCRIBE");
    Process sub({"mosquitto_sub", "-V", "mqttv311", "-h", host, "-p", std::to_string(port), "-t", topic, "-C",
                 "1", "-v"});
    wait_until([&] { return broker.count_in_log("Received SUBSCRIBE") > before; }, 5s);
    return sub;
}

TEST(MosquittoFixtureTest, SubReceivesWhatPubSent) {
    MosquittoFixture broker;
    ASSERT_TRUE(broker.is_running());
    ASSERT_NE(broker.port(), 0);
    Process sub = start_sub(broker, broker.host(), broker.port(), "self/test");

    const ProcessResult pub = run_process(pub_args(broker, "self/test", "hello"), 10s);
    ASSERT_TRUE(pub.status.success()) << pub.err;

    const auto status = sub.wait_for(10s);
    ASSERT_TRUE(status.has_value()) << "mosquitto_sub did not get the message";
    EXPECT_TRUE(status->success());
    EXPECT_EQ(sub.stdout_text(), "self/test hello\n");
}

TEST(MosquittoFixtureTest, LogShowsPingreq) {
    MosquittoFixture broker;
    RawClient raw(broker.host(), broker.port());
    ASSERT_TRUE(raw.send(connect_c1));
    EXPECT_TRUE(bytes_equal(raw.read_packet(), connack_accepted));
    ASSERT_TRUE(raw.send(pingreq));
    EXPECT_TRUE(bytes_equal(raw.read_packet(), pingresp));
    EXPECT_TRUE(broker.wait_for_log("Received PINGREQ from c1")) << broker.log();
}

TEST(MosquittoFixtureTest, PasswordFileRefusesBadPasswordWithConnackNotAuthorized) {
    MosquittoFixture broker({.allow_anonymous = false, .users = {{"alice", "secret"}, {"bob", "hunter2"}}});
    {
        RawClient raw(broker.host(), broker.port());
        ASSERT_TRUE(raw.send(connect_alice("wrong")));
        EXPECT_TRUE(bytes_equal(raw.read_packet(), hex("20 02 00 05")));  // 5: not authorized
    }
    {
        RawClient raw(broker.host(), broker.port());
        ASSERT_TRUE(raw.send(connect_alice("secret")));
        EXPECT_TRUE(bytes_equal(raw.read_packet(), connack_accepted));
    }
    {
        RawClient raw(broker.host(), broker.port());  // anonymous refused too
        ASSERT_TRUE(raw.send(connect_c1));
        EXPECT_TRUE(bytes_equal(raw.read_packet(), hex("20 02 00 05")));
    }
    auto bob = pub_args(broker, "t", "m");
    bob.insert(bob.end(), {"-u", "bob", "-P", "hunter2"});
    EXPECT_TRUE(run_process(bob, 10s).status.success());
}

TEST(MosquittoFixtureTest, AclDeniesPublishOutsideTheGrant) {
    MosquittoFixture broker({.acl = "topic readwrite allowed/#\n"});
    EXPECT_TRUE(run_process(pub_args(broker, "denied/x", "m"), 10s).status.success());
    EXPECT_TRUE(broker.wait_for_log("Denied PUBLISH from")) << broker.log();
    EXPECT_TRUE(run_process(pub_args(broker, "allowed/x", "m"), 10s).status.success());
    EXPECT_TRUE(broker.wait_for_log("'allowed/x'"));
    EXPECT_EQ(broker.count_in_log("Denied PUBLISH from"), 1U);
}

TEST(MosquittoFixtureTest, RestartKeepsThePortAndPersistenceKeepsRetained) {
    MosquittoFixture broker({.persistence = true});
    const std::uint16_t port = broker.port();
    const pid_t first_pid = broker.pid();
    auto retained = pub_args(broker, "keep/me", "still here");
    retained.push_back("-r");
    ASSERT_TRUE(run_process(retained, 10s).status.success());
    // mosquitto_pub may exit before the broker has read its PUBLISH; a SIGTERM then would lose it.
    ASSERT_TRUE(broker.wait_for_log("Received PUBLISH from"));

    broker.restart();
    EXPECT_EQ(broker.port(), port);
    EXPECT_NE(broker.pid(), first_pid);
    const ProcessResult sub = run_process({"mosquitto_sub", "-h", broker.host(), "-p", std::to_string(port), "-t",
                                           "keep/me", "-C", "1", "-v"},
                                          10s);
    EXPECT_FALSE(sub.timed_out);
    EXPECT_EQ(sub.out, "keep/me still here\n");
}

TEST(MosquittoFixtureTest, StopRefusesConnectionsAndStartServesAgain) {
    MosquittoFixture broker;
    broker.stop();
    EXPECT_FALSE(broker.is_running());
    EXPECT_FALSE(can_connect(broker.host(), broker.port()));
    broker.start();
    EXPECT_TRUE(can_connect(broker.host(), broker.port()));
}

TEST(MosquittoFixtureTest, KillLeavesNoProcess) {
    MosquittoFixture broker;
    const pid_t pid = broker.pid();
    broker.kill();
    EXPECT_EQ(broker.pid(), -1);
    EXPECT_NE(::kill(pid, 0), 0);  // reaped: the PID no longer names our child
}

TEST(MosquittoFixtureTest, Ipv6Listener) {
    MosquittoFixture broker({.ipv6 = true});
    ASSERT_NE(broker.ipv6_port(), 0);
    RawClient raw("::1", broker.ipv6_port());
    ASSERT_TRUE(raw.send(connect_c1));
    EXPECT_TRUE(bytes_equal(raw.read_packet(), connack_accepted));
}

// CONNECT as connect_c1 but with a zero-length client id.
const ByteVector connect_no_id = hex("10 0C | 00 04 4D 51 54 54 04 | 02 | 00 3C | 00 00");

TEST(MosquittoFixtureTest, ExtraConfigIsApplied) {
    MosquittoFixture defaults;
    RawClient accepted(defaults.host(), defaults.port());
    ASSERT_TRUE(accepted.send(connect_no_id));
    EXPECT_TRUE(bytes_equal(accepted.read_packet(), connack_accepted));

    MosquittoFixture broker({.extra_config = {"allow_zero_length_clientid false"}});
    EXPECT_NE(read_file(broker.config_path()).find("allow_zero_length_clientid false"), std::string::npos);
    RawClient refused(broker.host(), broker.port());
    ASSERT_TRUE(refused.send(connect_no_id));
    EXPECT_TRUE(bytes_equal(refused.read_packet(), hex("20 02 00 02")));  // 2: identifier rejected
}

std::vector<std::string> tls_pub_args(const MosquittoFixture& broker, const std::filesystem::path& cafile) {
    return {"mosquitto_pub", "-V",      "mqttv311", "-h", "localhost", "-p", std::to_string(broker.tls_port()),
            "--cafile",      cafile.string(), "-t", "tls/t", "-m", "x"};
}

TEST(TlsTest, ListenerAcceptsClientTrustingTheCa) {
    MosquittoFixture broker({.tls = true});
    ASSERT_NE(broker.tls_port(), 0);
    const ProcessResult ok = run_process(tls_pub_args(broker, tls_certs().ca_cert), 10s);
    EXPECT_TRUE(ok.status.success()) << ok.err;
    const ProcessResult untrusted = run_process(tls_pub_args(broker, tls_certs().other_ca_cert), 10s);
    EXPECT_FALSE(untrusted.status.success());
}

TEST(TlsTest, WrongNameCertificateFailsHostnameCheck) {
    MosquittoFixture broker({.tls = true, .server_cert = ServerCert::wrong_name});
    const ProcessResult checked = run_process(tls_pub_args(broker, tls_certs().ca_cert), 10s);
    EXPECT_FALSE(checked.status.success());
    auto insecure = tls_pub_args(broker, tls_certs().ca_cert);
    insecure.push_back("--insecure");
    const ProcessResult unchecked = run_process(insecure, 10s);
    EXPECT_TRUE(unchecked.status.success()) << unchecked.err;
}

TEST(TlsTest, MutualTlsNeedsAClientCertificateFromTheCa) {
    MosquittoFixture broker({.tls = true, .require_client_cert = true});
    const TlsCerts& certs = tls_certs();
    EXPECT_FALSE(run_process(tls_pub_args(broker, certs.ca_cert), 10s).status.success());
    auto with_cert = tls_pub_args(broker, certs.ca_cert);
    with_cert.insert(with_cert.end(), {"--cert", certs.client_cert.string(), "--key", certs.client_key.string()});
    const ProcessResult ok = run_process(with_cert, 10s);
    EXPECT_TRUE(ok.status.success()) << ok.err;
    auto other = tls_pub_args(broker, certs.ca_cert);
    other.insert(other.end(),
                 {"--cert", certs.other_client_cert.string(), "--key", certs.other_client_key.string()});
    EXPECT_FALSE(run_process(other, 10s).status.success());
}

TEST(FaultProxyTest, OneByteSegmentsStillDeliver) {
    MosquittoFixture broker;
    FaultProxy proxy(broker.host(), broker.port());
    proxy.set_one_byte_segments(true);
    Process sub = start_sub(broker, proxy.host(), proxy.port(), "seg/t");
    const ProcessResult pub = run_process(pub_args(broker, "seg/t", "split me"), 10s);
    ASSERT_TRUE(pub.status.success()) << pub.err;
    ASSERT_TRUE(sub.wait_for(10s).has_value());
    EXPECT_EQ(sub.stdout_text(), "seg/t split me\n");
    EXPECT_GT(proxy.bytes_forwarded(Direction::broker_to_client), 0U);
    EXPECT_EQ(proxy.connections_accepted(), 1U);
}

TEST(FaultProxyTest, ForwardsRawBytesWithDelay) {
    MosquittoFixture broker;
    FaultProxy proxy(broker.host(), broker.port());
    proxy.set_delay(5ms);
    proxy.set_one_byte_segments(true);
    RawClient raw(proxy.host(), proxy.port());
    ASSERT_TRUE(raw.send(connect_c1));
    EXPECT_TRUE(bytes_equal(raw.read_packet(), connack_accepted));
    EXPECT_EQ(proxy.bytes_forwarded(Direction::client_to_broker), connect_c1.size());
}

TEST(FaultProxyTest, CutAllResetsTheClient) {
    MosquittoFixture broker;
    FaultProxy proxy(broker.host(), broker.port());
    RawClient raw(proxy.host(), proxy.port());
    ASSERT_TRUE(raw.send(connect_c1));
    ASSERT_TRUE(bytes_equal(raw.read_packet(), connack_accepted));
    ASSERT_TRUE(wait_until([&] { return proxy.active_connections() == 1; }, 5s));
    proxy.cut_all();
    EXPECT_TRUE(raw.wait_closed());
    EXPECT_EQ(proxy.active_connections(), 0U);
    EXPECT_TRUE(broker.wait_for_log("Client c1 closed its connection"));
}

// True when a connection to host:port is reset or closed by the other side right after it is accepted (the
// reset may already arrive while connect() completes).
bool connection_dies(const std::string& host, std::uint16_t port) {
    try {
        RawClient raw(host, port);
        return raw.wait_closed();
    } catch (const std::runtime_error& e) {
        return std::string(e.what()).find("reset") != std::string::npos;
    }
}

TEST(FaultProxyTest, RefuseNewClosesAtOnce) {
    MosquittoFixture broker;
    FaultProxy proxy(broker.host(), broker.port());
    proxy.refuse_new(true);
    EXPECT_TRUE(connection_dies(proxy.host(), proxy.port()));
    proxy.refuse_new(false);
    RawClient again(proxy.host(), proxy.port());
    ASSERT_TRUE(again.send(connect_c1));
    EXPECT_TRUE(bytes_equal(again.read_packet(), connack_accepted));
}

TEST(FaultProxyTest, StallHoldsBytesUntilResume) {
    MosquittoFixture broker;
    FaultProxy proxy(broker.host(), broker.port());
    RawClient raw(proxy.host(), proxy.port());
    ASSERT_TRUE(raw.send(connect_c1));
    ASSERT_TRUE(bytes_equal(raw.read_packet(), connack_accepted));
    proxy.stall(Direction::broker_to_client);
    ASSERT_TRUE(raw.send(pingreq));
    ASSERT_TRUE(broker.wait_for_log("Sending PINGRESP to c1"));  // the broker answered; the proxy holds it
    EXPECT_TRUE(raw.read(2, 200ms).empty());
    proxy.resume();
    EXPECT_TRUE(bytes_equal(raw.read_packet(), pingresp));
}

TEST(FaultProxyTest, StallBothWaysThenResumeDeliversEverything) {
    MosquittoFixture broker;
    FaultProxy proxy(broker.host(), broker.port());
    RawClient raw(proxy.host(), proxy.port());
    ASSERT_TRUE(raw.send(connect_c1));
    ASSERT_TRUE(bytes_equal(raw.read_packet(), connack_accepted));
    // SUBSCRIBE id 1 to "b/t" at QoS 1; SUBACK granting QoS 1.
    ASSERT_TRUE(raw.send(hex("82 08 00 01 | 00 03 62 2F 74 | 01")));
    ASSERT_TRUE(bytes_equal(raw.read_packet(), hex("90 03 00 01 01")));
    proxy.stall();
    constexpr std::uint8_t count = 15;
    const ByteVector payload(16384, 'b');
    for (std::uint8_t id = 1; id <= count; ++id) {
        // PUBLISH QoS 1 "b/t", packet id `id`: remaining length 2 + 3 + 2 + 16384 = 16391 = 87 80 01.
        ASSERT_TRUE(raw.send(cat(hex("32 87 80 01 | 00 03 62 2F 74 | 00"), ByteVector{id}, payload)));
    }
    proxy.resume();
    int pubacks = 0;
    int publishes = 0;
    while (pubacks < count || publishes < count) {
        const ByteVector packet = raw.read_packet(10s);
        ASSERT_FALSE(packet.empty()) << pubacks << " PUBACKs, " << publishes << " PUBLISHes";
        if (packet[0] == 0x40) ++pubacks;
        if ((packet[0] & 0xF0) == 0x30) {
            ++publishes;
            EXPECT_EQ(packet.size(), 4U + 16391U);
            ASSERT_TRUE(raw.send(cat(hex("40 02"), ByteVector{packet[9], packet[10]})));  // PUBACK its id
        }
    }
    const std::size_t sent = connect_c1.size() + 10U + count * (16395U + 4U);  // + SUBSCRIBE + PUBACKs
    EXPECT_TRUE(wait_until([&] { return proxy.bytes_forwarded(Direction::client_to_broker) == sent; }, 5s))
        << proxy.bytes_forwarded(Direction::client_to_broker) << " of " << sent;
}

TEST(FaultProxyTest, TargetDownResetsTheClient) {
    FaultProxy proxy("127.0.0.1", closed_loopback_port());
    EXPECT_TRUE(connection_dies(proxy.host(), proxy.port()));
    EXPECT_EQ(proxy.connections_accepted(), 1U);
}

TEST(ScriptedPeerTest, RunsAScriptByteExactly) {
    ScriptedPeer peer({{peer::expect_packet(0x10), peer::send(connack_accepted), peer::expect(pingreq),
                        peer::send(pingresp), peer::expect_close()}});
    RawClient raw(peer.host(), peer.port());
    ASSERT_TRUE(raw.send(connect_c1));
    EXPECT_TRUE(bytes_equal(raw.read_packet(), connack_accepted));
    ASSERT_TRUE(raw.send(pingreq));
    EXPECT_TRUE(bytes_equal(raw.read_packet(), pingresp));
    raw.close();
    ASSERT_TRUE(peer.wait_done(5s)) << peer.failure();
    EXPECT_TRUE(peer.matched()) << peer.failure();
    EXPECT_TRUE(bytes_equal(peer.received(), cat(connect_c1, pingreq)));
}

TEST(ScriptedPeerTest, ReportsAMismatch) {
    ScriptedPeer peer({{peer::expect(pingreq), peer::send(pingresp)}});
    RawClient raw(peer.host(), peer.port());
    ASSERT_TRUE(raw.send(hex("E0 00")));  // DISCONNECT instead of PINGREQ
    ASSERT_TRUE(peer.wait_done(5s));
    EXPECT_FALSE(peer.matched());
    EXPECT_NE(peer.failure().find("step 0"), std::string::npos) << peer.failure();
    EXPECT_TRUE(raw.wait_closed());  // a failed script closes the connection
}

TEST(ScriptedPeerTest, ExpectTimesOutWhenTheClientIsSilent) {
    ScriptedPeer peer({{peer::expect_count(1, 100ms)}});
    RawClient raw(peer.host(), peer.port());
    ASSERT_TRUE(peer.wait_done(5s));
    EXPECT_FALSE(peer.matched());
    EXPECT_NE(peer.failure().find("timed out"), std::string::npos) << peer.failure();
}

TEST(ScriptedPeerTest, SeveralConnectionsAndReset) {
    ScriptedPeer peer({{peer::expect_packet(0x10), peer::reset()},
                       {peer::expect_packet(0x10), peer::send(peer::connack(0, true)), peer::hold()}});
    RawClient first(peer.host(), peer.port());
    ASSERT_TRUE(first.send(connect_c1));
    EXPECT_TRUE(first.wait_closed());
    RawClient second(peer.host(), peer.port());
    ASSERT_TRUE(second.send(connect_c1));
    EXPECT_TRUE(bytes_equal(second.read_packet(), hex("20 02 01 00")));
    ASSERT_TRUE(peer.wait_done(5s));
    EXPECT_TRUE(peer.matched()) << peer.failure();
    EXPECT_EQ(peer.connections_accepted(), 2U);
    EXPECT_TRUE(bytes_equal(peer.received(1), connect_c1));
}

TEST(ScriptedPeerTest, SilentListenerAcceptsAndNeverAnswers) {
    ScriptedPeer peer(ScriptedPeer::Mode::silent);
    RawClient raw(peer.host(), peer.port());
    ASSERT_TRUE(raw.send(connect_c1));
    ASSERT_TRUE(peer.wait_connections(1, 5s));
    EXPECT_TRUE(raw.read(1, 200ms).empty());
    EXPECT_TRUE(peer.received().empty());
}

TEST(ScriptedPeerTest, NeverAcceptWithFullBacklogLeavesConnectPending) {
    ScriptedPeer peer(ScriptedPeer::Mode::never_accept, true);
    EXPECT_THROW(RawClient(peer.host(), peer.port(), 300ms), std::runtime_error);
    EXPECT_EQ(peer.connections_accepted(), 0U);
}

TEST(ScriptedPeerTest, NeverAcceptStillCompletesTheHandshake) {
    ScriptedPeer peer(ScriptedPeer::Mode::never_accept);
    RawClient raw(peer.host(), peer.port());
    EXPECT_TRUE(raw.send(connect_c1));
    EXPECT_TRUE(raw.read(1, 200ms).empty());
}

TEST(ProcessTest, ClosedPortRefuses) { EXPECT_FALSE(can_connect("127.0.0.1", closed_loopback_port())); }

TEST(ProcessTest, CapturesOutputAndExitCode) {
    const ProcessResult r = run_process({"sh", "-c", "echo out; echo err >&2; exit 3"}, 10s);
    EXPECT_FALSE(r.timed_out);
    EXPECT_EQ(r.status.exit_code, 3);
    EXPECT_EQ(r.out, "out\n");
    EXPECT_EQ(r.err, "err\n");
}

TEST(ProcessTest, FeedsStdinAndSetsEnvironment) {
    ProcessOptions options;
    options.stdin_data = "from stdin";
    options.env = {"NMQTT_SELFTEST=yes"};
    const ProcessResult r = run_process({"sh", "-c", "cat; echo \" $NMQTT_SELFTEST\""}, 10s, options);
    EXPECT_EQ(r.out, "from stdin yes\n");
}

TEST(ProcessTest, TimeoutKillsTheChild) {
    const ProcessResult r = run_process({"sleep", "30"}, 100ms);
    EXPECT_TRUE(r.timed_out);
    EXPECT_EQ(r.status.term_signal, SIGTERM);
}

TEST(ProcessTest, ChildInheritsOnlyStdio) {
    ScriptedPeer listener(ScriptedPeer::Mode::silent);  // open sockets in the test process
    RawClient connection(listener.host(), listener.port());
    const ProcessResult r = run_process({"ls", "/proc/self/fd"}, 10s);
    EXPECT_EQ(r.out, "0\n1\n2\n3\n");  // 3 is the directory ls itself is reading
}

TEST(ProcessTest, MissingProgramThrows) {
    EXPECT_THROW((void)run_process({"nmqtt-no-such-program"}, 1s), std::runtime_error);
}

TEST(ProcessTest, WaitForStdout) {
    Process p({"sh", "-c", "echo ready; exec sleep 30"});  // exec: no grandchild left behind
    EXPECT_TRUE(p.wait_for_stdout("ready", 5s));
    EXPECT_TRUE(p.running());
    EXPECT_EQ(p.wait_or_kill(0ms).term_signal, SIGTERM);
}

}  // namespace
}  // namespace nmqtt::test
