// nmqtt::Client connecting: against a real mosquitto (connect/close, will, authentication, IPv4/IPv6, name
// resolution) and against scripted listeners for every NodeMCU failure code (-5..-1, CONNACK 1..5).
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "client_harness.hpp"
#include "support/process.hpp"
#include "support/bytes.hpp"
#include "support/fault_proxy.hpp"
#include "support/mosquitto_fixture.hpp"
#include "support/process.hpp"
#include "support/scripted_peer.hpp"

namespace nmqtt::test {
namespace {

// Runs until the client reported the end of its attempt (connfail) or connected.
bool wait_outcome(Client& client, const Recorder& r, std::chrono::milliseconds timeout = 5000ms) {
    return run_until(client, [&] { return r.connects > 0 || !r.connfails.empty(); }, timeout);
}

// ---- connect / close against mosquitto ------------------------------------------------------------------

TEST(ClientConnectTest, ConnectsAndClosesCleanly_MQTT_3_14_4_1) {
    MosquittoFixture broker;
    Client client(test_options("cc-basic"));
    Recorder r;
    r.attach(client);
    client.connect(broker.host(), broker.port());
    EXPECT_TRUE(client.is_connecting());
    ASSERT_TRUE(wait_outcome(client, r));
    EXPECT_EQ(r.connects, 1);
    EXPECT_TRUE(r.connfails.empty());
    EXPECT_TRUE(client.is_connected());
    EXPECT_TRUE(broker.wait_for_log("New client connected from 127.0.0.1")) << broker.log();

    EXPECT_TRUE(client.close());
    EXPECT_FALSE(client.is_connected());
    ASSERT_TRUE(run_until(client, [&] { return r.offlines > 0; }));
    EXPECT_EQ(r.offlines, 1);
    EXPECT_EQ(client.last_error(), Errc::closed_by_client);
    // mosquitto logs "disconnected." for a DISCONNECT and "closed its connection." for a bare TCP close.
    EXPECT_TRUE(broker.wait_for_log("Client cc-basic disconnected.")) << broker.log();
    EXPECT_EQ(broker.count_in_log("Client cc-basic closed its connection"), 0U);
    EXPECT_FALSE(client.close()) << "nothing left to close";
    EXPECT_EQ(client.run(), 0U) << "run() returns at once when idle";
}

TEST(ClientConnectTest, ConnectWhileConnectedThrows) {
    MosquittoFixture broker;
    Client client(test_options("cc-twice"));
    client.connect(broker.host(), broker.port());
    try {
        client.connect(broker.host(), broker.port());
        FAIL() << "connect() while connecting must throw";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), Errc::already_connected);
    }
    ASSERT_TRUE(run_until(client, [&] { return client.is_connected(); }));
    EXPECT_THROW(client.connect(broker.host(), broker.port()), std::system_error);
}

TEST(ClientConnectTest, ReconnectsAfterClose) {
    MosquittoFixture broker;
    Client client(test_options("cc-again"));
    for (int round = 0; round < 3; ++round) {
        ASSERT_TRUE(connect_and_wait(client, broker.host(), broker.port())) << "round " << round;
        ASSERT_TRUE(close_and_wait(client)) << "round " << round;
    }
    // The broker logs the last DISCONNECT a moment after our close completes.
    EXPECT_TRUE(wait_until([&] { return broker.count_in_log("Client cc-again disconnected.") == 3U; }, 5s))
        << broker.log();
}

// A subscriber on the will topic, on its own io_context.
struct WillWatcher {
    explicit WillWatcher(const MosquittoFixture& broker) : client(test_options("will-watcher")) {
        r.attach(client);
        EXPECT_TRUE(connect_and_wait(client, broker.host(), broker.port()));
        EXPECT_TRUE(client.subscribe("will/topic", 1));
        EXPECT_TRUE(run_until(client, [&] { return r.subacks > 0; }));
    }
    Client client;
    Recorder r;
};

TEST(ClientConnectTest, CloseSendsDisconnectSoWillIsNotPublished_MQTT_3_14_4_3) {
    MosquittoFixture broker;
    WillWatcher watcher(broker);
    Client client(test_options("will-closer"));
    client.lwt("will/topic", "gone", 1, false);
    ASSERT_TRUE(connect_and_wait(client, broker.host(), broker.port()));
    ASSERT_TRUE(close_and_wait(client));
    ASSERT_TRUE(broker.wait_for_log("Client will-closer disconnected.")) << broker.log();
    // A marker published after the broker handled the DISCONNECT: had the will been published, it would be
    // delivered before the marker.
    ASSERT_TRUE(watcher.client.publish("will/topic", "marker", 1, false));
    ASSERT_TRUE(run_until(watcher.client, [&] { return !watcher.r.messages.empty(); }));
    ASSERT_EQ(watcher.r.messages.size(), 1U);
    EXPECT_EQ(watcher.r.messages[0].payload, "marker");
}

TEST(ClientConnectTest, WillIsPublishedWhenTcpIsCut_MQTT_3_1_2_8) {
    MosquittoFixture broker;
    FaultProxy proxy(broker.host(), broker.port());
    WillWatcher watcher(broker);
    Client client(watcher.client.context(), test_options("will-cut"));
    Recorder r;
    r.attach(client);
    client.lwt("will/topic", "gone", 1, false);
    client.connect(proxy.host(), proxy.port());
    ASSERT_TRUE(run_until(client, [&] { return r.connects > 0; }));
    proxy.cut_all();
    ASSERT_TRUE(run_until(client, [&] { return r.offlines > 0 && !watcher.r.messages.empty(); }));
    EXPECT_EQ(r.offlines, 1);
    EXPECT_TRUE(r.connfails.empty()) << "an established connection ends with offline only";
    EXPECT_EQ(client.last_error(), Errc::connection_closed);
    ASSERT_EQ(watcher.r.messages.size(), 1U);
    EXPECT_EQ(watcher.r.messages[0].topic, "will/topic");
    EXPECT_EQ(watcher.r.messages[0].payload, "gone");
    EXPECT_EQ(watcher.r.messages[0].qos, 1);
}

// ---- authentication -------------------------------------------------------------------------------------

MosquittoOptions auth_broker() {
    MosquittoOptions o;
    o.allow_anonymous = false;
    o.users = {{"alice", "secret"}};
    o.acl = "user alice\ntopic readwrite alice/#\n";
    return o;
}

TEST(ClientConnectTest, UserNameAndPasswordAccepted) {
    MosquittoFixture broker(auth_broker());
    Client client("auth-ok", 30, "alice", "secret");
    ASSERT_TRUE(connect_and_wait(client, broker.host(), broker.port()));
    EXPECT_TRUE(close_and_wait(client));
}

TEST(ClientConnectTest, WrongPasswordIsRefused) {
    MosquittoFixture broker(auth_broker());
    Client client("auth-bad", 30, "alice", "wrong");
    Recorder r;
    r.attach(client);
    client.connect(broker.host(), broker.port());
    ASSERT_TRUE(wait_outcome(client, r));
    ASSERT_EQ(r.connfails.size(), 1U);
    // mosquitto 2.0 answers a failed password check on MQTT 3.1.1 with "not authorized" (5), not 4.
    EXPECT_EQ(r.connfails[0], static_cast<int>(ConnackCode::refused_not_authorized));
    EXPECT_EQ(client.last_error(), Errc::connection_refused);
    EXPECT_NE(client.last_error_message().find("CONNACK 5"), std::string::npos) << client.last_error_message();
    EXPECT_EQ(r.offlines, 0);
    EXPECT_EQ(r.connects, 0);
}

TEST(ClientConnectTest, AnonymousIsRefusedWhenNotAllowed) {
    MosquittoFixture broker(auth_broker());
    Client client("auth-anon", 30);
    Recorder r;
    r.attach(client);
    client.connect(broker.host(), broker.port());
    ASSERT_TRUE(wait_outcome(client, r));
    ASSERT_EQ(r.connfails.size(), 1U);
    EXPECT_EQ(r.connfails[0], static_cast<int>(ConnackCode::refused_not_authorized));
}

TEST(ClientConnectTest, AclLimitsWhatIsDelivered) {
    MosquittoFixture broker(auth_broker());
    Client client("auth-acl", 30, "alice", "secret");
    Recorder r;
    r.attach(client);
    ASSERT_TRUE(connect_and_wait(client, broker.host(), broker.port()));
    std::vector<std::uint8_t> granted;
    const std::vector<std::pair<std::string, int>> filters{{"alice/x", 1}, {"bob/x", 1}};
    ASSERT_TRUE(client.subscribe(filters, {}, [&](std::error_code ec, PacketId id, std::span<const std::uint8_t> g) {
        EXPECT_FALSE(ec);
        EXPECT_NE(id, 0);
        granted.assign(g.begin(), g.end());
    }));
    ASSERT_TRUE(run_until(client, [&] { return !granted.empty(); }));
    // mosquitto 2.0.11 grants a subscription the ACL denies on MQTT 3.1.1 (no 0x80) and filters at delivery.
    EXPECT_EQ(granted.size(), 2U);
    ASSERT_TRUE(client.publish("bob/x", "denied", 1, false));
    ASSERT_TRUE(client.publish("alice/x", "allowed", 1, false));
    ASSERT_TRUE(run_until(client, [&] { return !r.messages.empty() && r.pubacks == 2; }));
    ASSERT_EQ(r.messages.size(), 1U);
    EXPECT_EQ(r.messages[0].payload, "allowed");
}

TEST(ClientConnectTest, EmptyClientIdRejectedByBroker) {
    MosquittoFixture broker({.extra_config = {"allow_zero_length_clientid false"}});
    Client client("", 30);
    Recorder r;
    r.attach(client);
    client.connect(broker.host(), broker.port());
    ASSERT_TRUE(wait_outcome(client, r));
    ASSERT_EQ(r.connfails, std::vector<int>{static_cast<int>(ConnackCode::refused_identifier_rejected)});
}

// ---- addresses and name resolution ----------------------------------------------------------------------

TEST(ClientConnectTest, ConnectsOverIpv6) {
    MosquittoOptions o;
    o.ipv6 = true;
    MosquittoFixture broker(o);
    Client client(test_options("cc-v6"));
    ASSERT_TRUE(connect_and_wait(client, "::1", broker.ipv6_port()));
    EXPECT_TRUE(broker.wait_for_log("New client connected from ::1")) << broker.log();
    EXPECT_TRUE(close_and_wait(client));
}

TEST(ClientConnectTest, ResolvesLocalhostWithoutDns) {
    MosquittoFixture broker;
    Client client(test_options("cc-localhost"));
    ASSERT_TRUE(connect_and_wait(client, "localhost", broker.port()));
    EXPECT_TRUE(close_and_wait(client));
}

TEST(ClientConnectTest, TriesEveryAddressInTurn) {
    MosquittoFixture broker;  // IPv4 only: ::1 refuses, 127.0.0.1 accepts
    auto o = test_options("cc-addresses");
    std::vector<std::string> asked;
    o.resolve = [&](const std::string& host, ResolveHandler done) {
        asked.push_back(host);
        done({}, {"::1", "127.0.0.1"});
    };
    Client client(o);
    ASSERT_TRUE(connect_and_wait(client, "broker.test", broker.port()));
    EXPECT_EQ(asked, std::vector<std::string>{"broker.test"});
    EXPECT_TRUE(close_and_wait(client));
}

// ---- every NodeMCU failure code -------------------------------------------------------------------------

TEST(ClientConnectFailTest, ClosedPortIsServerNotFound) {
    const auto port = closed_loopback_port();
    Client client(test_options("cf-closed"));
    Recorder r;
    r.attach(client);
    client.connect("127.0.0.1", port);
    ASSERT_TRUE(wait_outcome(client, r));
    ASSERT_EQ(r.connfails, std::vector<int>{static_cast<int>(ConnFail::server_not_found)});
    EXPECT_EQ(client.last_error(), Errc::server_not_found);
    EXPECT_NE(client.last_error_message().find("127.0.0.1:" + std::to_string(port)), std::string::npos)
        << client.last_error_message();
    EXPECT_EQ(r.offlines, 0) << "a failed connect never reports offline";
    EXPECT_FALSE(client.is_connecting());
}

TEST(ClientConnectFailTest, EveryAddressRefusedIsServerNotFound) {
    const auto port = closed_loopback_port();
    auto o = test_options("cf-all-refused");
    o.resolve = [](const std::string&, ResolveHandler done) { done({}, {"127.0.0.1", "::1"}); };
    Client client(o);
    Recorder r;
    r.attach(client);
    client.connect("broker.test", port);
    ASSERT_TRUE(wait_outcome(client, r));
    ASSERT_EQ(r.connfails, std::vector<int>{static_cast<int>(ConnFail::server_not_found)});
    const auto message = client.last_error_message();
    EXPECT_NE(message.find("127.0.0.1:"), std::string::npos) << message;
    EXPECT_NE(message.find("[::1]:"), std::string::npos) << message;
}

TEST(ClientConnectFailTest, UnresolvableNameIsDns) {
    auto o = test_options("cf-dns");
    o.resolve = [](const std::string&, ResolveHandler done) {
        done(std::make_error_code(std::errc::no_such_device_or_address), {});
    };
    Client client(o);
    Recorder r;
    r.attach(client);
    client.connect("no-such-host.invalid", 1883);
    EXPECT_TRUE(r.connfails.empty()) << "never reported inside connect()";
    ASSERT_TRUE(wait_outcome(client, r));
    ASSERT_EQ(r.connfails, std::vector<int>{static_cast<int>(ConnFail::dns)});
    EXPECT_EQ(client.last_error(), Errc::host_not_found);
    EXPECT_NE(client.last_error_message().find("no-such-host.invalid"), std::string::npos);
}

// The system resolver (Asio's getaddrinfo) failing: run in a fresh network namespace (`unshare --net`, as
// root) where no query can leave the machine. The test re-runs itself there; the child checks that it is
// isolated (no interface but lo) before it resolves anything.
bool only_loopback_interface() {
    // /proc/net/dev lists the interfaces of this process's network namespace (two header lines first).
    std::istringstream lines(read_file("/proc/net/dev"));
    std::vector<std::string> names;
    std::string line;
    for (int skip = 0; skip < 2 && std::getline(lines, line); ++skip) {
    }
    while (std::getline(lines, line)) {
        const auto colon = line.find(':');
        if (colon == std::string::npos) return false;
        const auto first = line.find_first_not_of(' ');
        names.push_back(line.substr(first, colon - first));
    }
    return names == std::vector<std::string>{"lo"};
}

TEST(ClientConnectFailTest, SystemResolverFailureIsDns) {
    if (std::getenv("NMQTT_TEST_IN_NETNS") != nullptr) {
        ASSERT_TRUE(only_loopback_interface()) << "not in an isolated network namespace: refusing to resolve";
        Client client(test_options("cf-dns-system"));
        Recorder r;
        r.attach(client);
        client.connect("no-such-host.invalid", 1883);
        ASSERT_TRUE(wait_outcome(client, r, 10s));
        ASSERT_EQ(r.connfails, std::vector<int>{static_cast<int>(ConnFail::dns)});
        EXPECT_EQ(client.last_error(), Errc::host_not_found);
        return;
    }
    if (::geteuid() != 0 || !run_process({"unshare", "--net", "true"}, 10s).status.success()) {
        GTEST_SKIP() << "needs root for unshare --net (the resolver hook covers -3 otherwise)";
    }
    ProcessOptions po;
    po.env = {"NMQTT_TEST_IN_NETNS=1"};
    const auto self = std::filesystem::read_symlink("/proc/self/exe").string();
    const auto child = run_process({"unshare", "--net", self,
                                    "--gtest_filter=ClientConnectFailTest.SystemResolverFailureIsDns"},
                                   30s, po);
    EXPECT_TRUE(child.status.success()) << child.out << child.err;
    EXPECT_NE(child.out.find("[  PASSED  ] 1 test"), std::string::npos) << child.out;
}

TEST(ClientConnectFailTest, MalformedAddressFromResolverIsDns) {
    auto o = test_options("cf-dns-garbage");
    o.resolve = [](const std::string&, ResolveHandler done) { done({}, {"not an address"}); };
    Client client(o);
    Recorder r;
    r.attach(client);
    client.connect("broker.test", 1883);
    ASSERT_TRUE(wait_outcome(client, r));
    ASSERT_EQ(r.connfails, std::vector<int>{static_cast<int>(ConnFail::dns)});
}

TEST(ClientConnectFailTest, SilentListenerIsTimeoutReceiving) {
    ScriptedPeer peer(ScriptedPeer::Mode::silent);
    auto o = test_options("cf-silent");
    o.connack_timeout = 200ms;
    Client client(o);
    Recorder r;
    r.attach(client);
    client.connect(peer.host(), peer.port());
    ASSERT_TRUE(wait_outcome(client, r));
    ASSERT_EQ(r.connfails, std::vector<int>{static_cast<int>(ConnFail::timeout_receiving)});
    EXPECT_EQ(client.last_error(), Errc::connack_timeout);
}

TEST(ClientConnectFailTest, NonConnackFirstIsNotAConnack_MQTT_3_2_0_1) {
    // PINGRESP (D0 00) where the CONNACK should be.
    ScriptedPeer peer({{peer::expect_packet(0x10), peer::send(hex("D0 00")), peer::expect_close()}});
    Client client(test_options("cf-not-connack"));
    Recorder r;
    r.attach(client);
    client.connect(peer.host(), peer.port());
    ASSERT_TRUE(wait_outcome(client, r));
    ASSERT_EQ(r.connfails, std::vector<int>{static_cast<int>(ConnFail::not_a_connack_msg)});
    EXPECT_EQ(client.last_error(), Errc::not_a_connack);
    ASSERT_TRUE(peer.wait_done(5s)) << peer.failure();
    EXPECT_TRUE(peer.matched()) << "the client must close the connection: " << peer.failure();
}

TEST(ClientConnectFailTest, CloseBeforeConnackIsNotAConnack_MQTT_3_1_4_1) {
    ScriptedPeer peer({{peer::expect_packet(0x10), peer::close()}});
    Client client(test_options("cf-closed-early"));
    Recorder r;
    r.attach(client);
    client.connect(peer.host(), peer.port());
    ASSERT_TRUE(wait_outcome(client, r));
    ASSERT_EQ(r.connfails, std::vector<int>{static_cast<int>(ConnFail::not_a_connack_msg)});
    EXPECT_EQ(client.last_error(), Errc::connection_closed);
}

class ConnackRefusalTest : public ::testing::TestWithParam<int> {};

TEST_P(ConnackRefusalTest, RefusalCodeReachesConnfail_MQTT_3_2_2_5) {
    const int code = GetParam();
    ScriptedPeer peer({{peer::expect_packet(0x10), peer::send(peer::connack(static_cast<std::uint8_t>(code))),
                        peer::expect_close()}});
    Client client(test_options("cf-refused"));
    Recorder r;
    r.attach(client);
    int callback_code = 0;
    client.connect(peer.host(), peer.port(), false, {}, [&](Client&, int reason) { callback_code = reason; });
    ASSERT_TRUE(run_until(client, [&] { return callback_code != 0; }));
    EXPECT_EQ(callback_code, code);
    EXPECT_TRUE(r.connfails.empty()) << "the callback passed to connect() replaced on_connfail()";
    EXPECT_EQ(client.last_error(), Errc::connection_refused);
    EXPECT_NE(client.last_error_message().find(std::string(reason_name(code))), std::string::npos);
    ASSERT_TRUE(peer.wait_done(5s)) << peer.failure();
    EXPECT_TRUE(peer.matched()) << peer.failure();
}

INSTANTIATE_TEST_SUITE_P(Codes1To5, ConnackRefusalTest, ::testing::Values(1, 2, 3, 4, 5));

TEST(ClientConnectFailTest, ConnectThatNeverCompletesIsTimeoutSending) {
    // The peer's accept queue is full, so the client's SYNs go unanswered: CONNECT cannot be written.
    ScriptedPeer peer(ScriptedPeer::Mode::never_accept, true);
    auto o = test_options("cf-no-accept");
    o.connect_write_timeout = 300ms;
    Client client(o);
    Recorder r;
    r.attach(client);
    client.connect(peer.host(), peer.port());
    ASSERT_TRUE(wait_outcome(client, r));
    ASSERT_EQ(r.connfails.size(), 1U);
    if (r.connfails[0] == static_cast<int>(ConnFail::timeout_receiving)) {
        GTEST_SKIP() << "this network stack completed the TCP handshake despite the full accept queue";
    }
    EXPECT_EQ(r.connfails[0], static_cast<int>(ConnFail::timeout_sending));
    EXPECT_EQ(client.last_error(), Errc::connect_write_timeout);
}

// A listener with a tiny receive buffer that accepts and never reads: a large CONNECT cannot be written.
class NonReadingListener {
public:
    NonReadingListener() {
        fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        const int small = 2048;
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 4) != 0) {
            throw std::runtime_error("NonReadingListener: bind/listen failed");
        }
        socklen_t len = sizeof a;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
    }
    ~NonReadingListener() { ::close(fd_); }
    NonReadingListener(const NonReadingListener&) = delete;
    NonReadingListener& operator=(const NonReadingListener&) = delete;
    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

TEST(ClientConnectFailTest, ConnectThatCannotBeWrittenIsTimeoutSending) {
    NonReadingListener listener;
    // CONNECT of about 320 KB: five strings of 64000 bytes.
    ClientOptions o = test_options(std::string(64000, 'c'));
    o.username = std::string(64000, 'u');
    o.password = std::string(64000, 'p');
    o.connect_write_timeout = 500ms;
    o.connack_timeout = 200ms;
    Client client(o);
    client.lwt("will/topic" + std::string(63990, 't'), std::string(64000, 'w'));
    Recorder r;
    r.attach(client);
    client.connect("127.0.0.1", listener.port());
    ASSERT_TRUE(wait_outcome(client, r));
    ASSERT_EQ(r.connfails.size(), 1U);
    if (r.connfails[0] == static_cast<int>(ConnFail::timeout_receiving)) {
        // gVisor's netstack, for one, buffers megabytes whatever SO_RCVBUF says.
        GTEST_SKIP() << "this network stack buffered the whole 320 KB CONNECT";
    }
    EXPECT_EQ(r.connfails[0], static_cast<int>(ConnFail::timeout_sending)) << client.last_error_message();
    EXPECT_EQ(client.last_error(), Errc::connect_write_timeout);
}

}  // namespace
}  // namespace nmqtt::test
