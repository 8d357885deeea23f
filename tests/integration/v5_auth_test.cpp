// MQTT 5.0 enhanced authentication through nmqtt::Client against byte-exact scripted brokers (mosquitto
// 2.0.11 has no AUTH method without a plugin): the exchange before the CONNACK, re-authentication with its
// completion, and an authenticator that gives up. The session's rules per id are in tests/unit/session.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client_harness.hpp"
#include "nmqtt/client.hpp"
#include "nmqtt/error.hpp"
#include "support/bytes.hpp"
#include "support/scripted_peer.hpp"

namespace nmqtt::test {
namespace {

// Answers "c<n>" to the n-th challenge; refuses challenges whose data is "no".
class RecordingAuthenticator final : public Authenticator {
public:
    [[nodiscard]] std::string method() const override { return "M"; }
    std::string initial_data(bool reauthentication) override {
        starts.push_back(reauthentication);
        return reauthentication ? "r1" : "d1";
    }
    std::optional<std::string> challenge(std::string_view server_data) override {
        challenges.emplace_back(server_data);
        if (server_data == "no") return std::nullopt;
        return "c" + std::to_string(challenges.size() + 1);
    }
    bool succeeded(std::string_view server_data) override {
        finals.emplace_back(server_data);
        return server_data != "forged";
    }
    std::vector<bool> starts;
    std::vector<std::string> challenges;
    std::vector<std::string> finals;
};

ClientOptions auth_options(std::shared_ptr<Authenticator> a) {
    ClientOptions o = v5_options("auth");
    o.authenticator = std::move(a);
    return o;
}

bool contains(const ByteVector& haystack, const ByteVector& needle) {
    return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) != haystack.end();
}

TEST(V5ClientAuth, ExchangeBeforeTheConnackThenReauthenticationWithItsCompletion) {
    ScriptedPeer peer({{
        peer::expect_packet(0x10),
        peer::send(hex("F0 0B 18 09 15 00 01 4D 16 00 02 73 31")),           // AUTH continue, "s1"
        peer::expect(hex("F0 0B 18 09 15 00 01 4D 16 00 02 63 32")),         // the answer "c2"
        peer::send(hex("20 0C 00 00 09 15 00 01 4D 16 00 02 6F 6B")),        // CONNACK, final data "ok"
        peer::expect(hex("F0 0B 19 09 15 00 01 4D 16 00 02 72 31")),         // re-authenticate, "r1"
        peer::send(hex("F0 0B 18 09 15 00 01 4D 16 00 02 73 33")),           // continue, "s3"
        peer::expect(hex("F0 0B 18 09 15 00 01 4D 16 00 02 63 33")),         // "c3"
        peer::send(hex("F0 0C 00 0A 15 00 01 4D 16 00 03 65 6E 64")),        // success, "end"
        peer::expect_packet(0xE0),
        peer::expect_close(),
    }});
    auto auth = std::make_shared<RecordingAuthenticator>();
    Client client(auth_options(auth));
    ASSERT_TRUE(connect_and_wait(client, peer.host(), peer.port())) << client.last_error().message();
    EXPECT_EQ(auth->challenges, (std::vector<std::string>{"s1"}));
    EXPECT_EQ(auth->finals, (std::vector<std::string>{"ok"}));
    std::optional<std::error_code> reauth;
    ASSERT_TRUE(client.reauthenticate([&](std::error_code e) { reauth = e; }));
    EXPECT_FALSE(client.reauthenticate());  // one at a time
    EXPECT_EQ(client.last_error(), Errc::authentication_in_progress);
    ASSERT_TRUE(run_until(client, [&] { return reauth.has_value(); }));
    EXPECT_FALSE(*reauth) << reauth->message();
    EXPECT_EQ(auth->challenges, (std::vector<std::string>{"s1", "s3"}));
    EXPECT_EQ(auth->finals, (std::vector<std::string>{"ok", "end"}));
    EXPECT_EQ(auth->starts, (std::vector<bool>{false, true}));
    EXPECT_TRUE(close_and_wait(client));
    ASSERT_TRUE(peer.wait_done(5s)) << peer.failure();
    EXPECT_TRUE(peer.matched()) << peer.failure();
    // The CONNECT carried the method and the first data [MQTT-3.1.2-30 context]
    EXPECT_TRUE(contains(peer.received(0), hex("15 00 01 4D 16 00 02 64 31")));
}

TEST(V5ClientAuth, AuthenticatorGivingUpFailsTheAttemptWithConnfail5) {
    ScriptedPeer peer({{
        peer::expect_packet(0x10),
        peer::send(hex("F0 0B 18 09 15 00 01 4D 16 00 02 6E 6F")),  // continue, "no"
        peer::expect_close(),
    }});
    auto auth = std::make_shared<RecordingAuthenticator>();
    Client client(auth_options(auth));
    std::vector<int> failures;
    client.connect(peer.host(), peer.port(), false, {}, [&](Client&, int code) { failures.push_back(code); });
    ASSERT_TRUE(run_until(client, [&] { return !failures.empty(); }));
    EXPECT_EQ(failures, (std::vector<int>{5}));
    EXPECT_EQ(client.last_error(), Errc::auth_failed);
    ASSERT_TRUE(peer.wait_done(5s)) << peer.failure();
}

TEST(V5ClientAuth, ForgedFinalDataEndsTheConnectionWithDisconnect0x87) {
    ScriptedPeer peer({{
        peer::expect_packet(0x10),
        peer::send(hex("20 10 00 00 0D 15 00 01 4D 16 00 06 66 6F 72 67 65 64")),  // CONNACK, "forged"
        peer::expect(hex("E0 01 87")),
        peer::expect_close(),
    }});
    auto auth = std::make_shared<RecordingAuthenticator>();
    Client client(auth_options(auth));
    Recorder r;
    r.attach(client);
    client.connect(peer.host(), peer.port());
    ASSERT_TRUE(run_until(client, [&] { return r.offlines > 0; }));
    EXPECT_EQ(r.connects, 0);  // never reported connected
    EXPECT_EQ(client.last_error(), Errc::auth_failed);
    ASSERT_TRUE(peer.wait_done(5s)) << peer.failure();
    EXPECT_TRUE(peer.matched()) << peer.failure();
}

TEST(V5ClientAuth, AuthenticatorNeedsMqtt5AndReauthenticateNeedsAnAuthenticator) {
    ClientOptions o = auth_options(std::make_shared<RecordingAuthenticator>());
    o.protocol = protocol::ProtocolVersion::v3_1_1;
    EXPECT_THROW(Client{o}, std::system_error);
    Client plain(test_options("plain"));
    EXPECT_FALSE(plain.reauthenticate());
    EXPECT_EQ(plain.last_error(), Errc::invalid_argument);
}

}  // namespace
}  // namespace nmqtt::test
