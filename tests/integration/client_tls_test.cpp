// nmqtt::Client over TLS against mosquitto, with certificates generated at test time: verified connection,
// wrong CA, wrong host name, verification opt-out, mutual TLS, unreadable files.
#include <gtest/gtest.h>

#include <string>

#include "client_harness.hpp"
#include "support/mosquitto_fixture.hpp"
#include "support/tls_certs.hpp"

namespace nmqtt::test {
namespace {

MosquittoOptions tls_broker(ServerCert cert = ServerCert::localhost, bool require_client_cert = false) {
    MosquittoOptions o;
    o.tls = true;
    o.server_cert = cert;
    o.require_client_cert = require_client_cert;
    return o;
}

ClientOptions tls_options(std::string id, const std::filesystem::path& ca) {
    auto o = test_options(std::move(id));
    o.tls.ca_file = ca.string();
    return o;
}

// Connects with TLS and returns the connfail code, or 0 when connected.
int connect_outcome(Client& client, const std::string& host, std::uint16_t port) {
    Recorder r;
    r.attach(client);
    client.connect(host, port, true);
    EXPECT_TRUE(run_until(client, [&] { return r.connects > 0 || !r.connfails.empty(); }));
    EXPECT_EQ(r.offlines, 0);
    const int code = r.connfails.empty() ? 0 : r.connfails[0];
    Recorder{}.attach(client);  // drop the callbacks that point at `r`
    return code;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(ClientTlsTest, VerifiedConnectionCarriesMessages) {
    MosquittoFixture broker(tls_broker());
    Client client(tls_options("tls-ok", tls_certs().ca_cert));
    Recorder r;
    r.attach(client);
    ASSERT_TRUE(connect_and_wait(client, "localhost", broker.tls_port(), true)) << client.last_error_message();
    ASSERT_TRUE(client.subscribe("tls/t", 1));
    ASSERT_TRUE(run_until(client, [&] { return r.subacks == 1; }));
    ASSERT_TRUE(client.publish("tls/t", "over tls", 1, false));
    ASSERT_TRUE(run_until(client, [&] { return !r.messages.empty(); }));
    EXPECT_EQ(r.messages[0].payload, "over tls");
    EXPECT_TRUE(close_and_wait(client));
    EXPECT_TRUE(broker.wait_for_log("Client tls-ok disconnected.")) << broker.log();
}

TEST(ClientTlsTest, IpAddressIsCheckedAgainstIpSubjectAltName) {
    MosquittoFixture broker(tls_broker());  // the server certificate names IP:127.0.0.1
    Client client(tls_options("tls-ip", tls_certs().ca_cert));
    EXPECT_EQ(connect_outcome(client, "127.0.0.1", broker.tls_port()), 0) << client.last_error_message();
}

TEST(ClientTlsTest, WrongCaFailsWithReason) {
    MosquittoFixture broker(tls_broker());
    Client client(tls_options("tls-wrong-ca", tls_certs().other_ca_cert));
    EXPECT_EQ(connect_outcome(client, "localhost", broker.tls_port()), static_cast<int>(ConnFail::server_not_found));
    EXPECT_EQ(client.last_error(), Errc::tls_handshake_failed);
    const auto message = client.last_error_message();
    EXPECT_TRUE(contains(message, "certificate verify failed")) << message;
    // mosquitto sends the chain with its CA, so OpenSSL finds a self-signed root it does not trust.
    EXPECT_TRUE(contains(message, "self-signed certificate in certificate chain") ||
                contains(message, "unable to get local issuer certificate"))
        << message;
}

TEST(ClientTlsTest, SystemTrustStoreIsTheDefault) {
    MosquittoFixture broker(tls_broker());
    Client client(test_options("tls-default-store"));  // no ca_file: the test CA is not trusted
    EXPECT_EQ(connect_outcome(client, "localhost", broker.tls_port()), static_cast<int>(ConnFail::server_not_found));
    EXPECT_EQ(client.last_error(), Errc::tls_handshake_failed);
    EXPECT_TRUE(contains(client.last_error_message(), "certificate verify failed")) << client.last_error_message();
}

TEST(ClientTlsTest, WrongHostNameFailsWithReason) {
    MosquittoFixture broker(tls_broker(ServerCert::wrong_name));  // presents CN/SAN wrong.example
    Client client(tls_options("tls-wrong-name", tls_certs().ca_cert));
    EXPECT_EQ(connect_outcome(client, "localhost", broker.tls_port()), static_cast<int>(ConnFail::server_not_found));
    EXPECT_EQ(client.last_error(), Errc::tls_handshake_failed);
    EXPECT_TRUE(contains(client.last_error_message(), "hostname mismatch")) << client.last_error_message();
}

TEST(ClientTlsTest, ServerNameOptionSelectsTheNameToVerify) {
    MosquittoFixture broker(tls_broker(ServerCert::wrong_name));
    auto o = tls_options("tls-server-name", tls_certs().ca_cert);
    o.tls.server_name = "wrong.example";
    Client client(o);
    EXPECT_EQ(connect_outcome(client, "127.0.0.1", broker.tls_port()), 0) << client.last_error_message();
}

TEST(ClientTlsTest, VerificationOptOutAcceptsAnyCertificate) {
    MosquittoFixture broker(tls_broker(ServerCert::wrong_name));
    auto o = tls_options("tls-no-verify", tls_certs().other_ca_cert);
    o.tls.verify_peer = false;
    Client client(o);
    EXPECT_EQ(connect_outcome(client, "localhost", broker.tls_port()), 0) << client.last_error_message();
}

TEST(ClientTlsTest, MutualTlsWithClientCertificate) {
    MosquittoFixture broker(tls_broker(ServerCert::localhost, true));
    auto o = tls_options("tls-mutual", tls_certs().ca_cert);
    o.tls.cert_file = tls_certs().client_cert.string();
    o.tls.key_file = tls_certs().client_key.string();
    Client client(o);
    EXPECT_EQ(connect_outcome(client, "localhost", broker.tls_port()), 0) << client.last_error_message();
    EXPECT_TRUE(close_and_wait(client));
}

// Without an acceptable client certificate the broker ends the TLS session. With TLS 1.3 the client's side of
// the handshake completes first and the refusal arrives as an alert where the CONNACK should be: a TLS
// failure (-5, tls_handshake_failed) with the alert as the reason. The broker closes with our CONNECT unread,
// so its RST can overtake the alert: then the client only sees a reset before any CONNACK (-4). Either way
// connfail runs with a reason, never "connected".
TEST(ClientTlsTest, MutualTlsRefusesMissingOrForeignCertificate) {
    MosquittoFixture broker(tls_broker(ServerCert::localhost, true));
    for (const bool foreign : {false, true}) {
        auto o = tls_options(foreign ? "tls-foreign-cert" : "tls-no-cert", tls_certs().ca_cert);
        if (foreign) {
            o.tls.cert_file = tls_certs().other_client_cert.string();
            o.tls.key_file = tls_certs().other_client_key.string();
        }
        Client client(o);
        const int code = connect_outcome(client, "localhost", broker.tls_port());
        const auto message = client.last_error_message();
        if (code == static_cast<int>(ConnFail::server_not_found)) {
            EXPECT_EQ(client.last_error(), Errc::tls_handshake_failed);
            EXPECT_TRUE(contains(message, foreign ? "unknown ca" : "certificate required")) << message;
        } else {
            EXPECT_EQ(code, static_cast<int>(ConnFail::not_a_connack_msg)) << message;
            EXPECT_EQ(client.last_error(), Errc::connection_closed) << message;
        }
    }
}

TEST(ClientTlsTest, UnreadableFilesThrowAtConnect) {
    auto o = test_options("tls-bad-files");
    o.tls.ca_file = "/nonexistent/ca.pem";
    Client client(o);
    try {
        client.connect("localhost", 8883, true);
        FAIL() << "connect() must throw for an unreadable ca_file";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), Errc::invalid_argument);
        EXPECT_TRUE(contains(e.what(), "/nonexistent/ca.pem")) << e.what();
    }
    EXPECT_FALSE(client.is_connecting());
    auto k = tls_options("tls-bad-key", tls_certs().ca_cert);
    k.tls.cert_file = tls_certs().client_cert.string();
    k.tls.key_file = tls_certs().server_key.string();  // does not match the certificate
    Client mismatched(k);
    EXPECT_THROW(mismatched.connect("localhost", 8883, true), std::system_error);
}

}  // namespace
}  // namespace nmqtt::test
