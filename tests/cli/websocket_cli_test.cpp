// `nmqtt pub --ws` and `nmqtt sub -L ws://...` against aedes served over npm ws, and the ws(s):// -L URLs.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli_runner.hpp"
#include "connect_options.hpp"
#include "support/aedes_suite.hpp"
#include "support/broker_fixtures.hpp"
#include "support/tls_certs.hpp"

namespace nmqtt::test {
namespace {

TEST(CliWebSocketUrl, ws_and_wss_urls_parse_with_their_topic) {
    std::string error;
    const auto ws = cli::parse_broker_url("ws://127.0.0.1:8080/a/b", error);
    ASSERT_TRUE(ws.has_value()) << error;
    EXPECT_TRUE(ws->websocket);
    EXPECT_FALSE(ws->secure);
    EXPECT_EQ(ws->host, "127.0.0.1");
    EXPECT_EQ(ws->port, std::uint16_t{8080});
    EXPECT_EQ(ws->topic, "a/b");
    const auto wss = cli::parse_broker_url("WSS://user:pw@[::1]/t", error);
    ASSERT_TRUE(wss.has_value()) << error;
    EXPECT_TRUE(wss->websocket);
    EXPECT_TRUE(wss->secure);
    EXPECT_EQ(wss->host, "::1");
    EXPECT_FALSE(wss->port.has_value());
    EXPECT_FALSE(cli::parse_broker_url("http://h/t", error).has_value());
    EXPECT_NE(error.find("ws://"), std::string::npos);
}

class CliWebSocket : public AedesSuite<CliWebSocket> {};

TEST_F(CliWebSocket, sub_with_a_ws_url_receives_what_pub_with_ws_sent) {
    Process sub(nmqtt_cli("sub", {"-L", "ws://127.0.0.1:" + ws_port() + "/cli/ws", "-C", "1", "-q", "1", "-i",
                                  "cli-ws-sub"}));
    ASSERT_TRUE(broker().wait_for_log("subscribe cli-ws-sub cli/ws:1", cli_deadline)) << sub.stderr_text();
    const auto pub = run_nmqtt("pub", {"--ws", "-h", "127.0.0.1", "-p", ws_port(), "-t", "cli/ws", "-m",
                                       "over websockets", "-q", "1", "-d"});
    EXPECT_EQ(pub.status.exit_code, exit_ok) << pub.err;
    EXPECT_NE(pub.err.find("over WebSockets"), std::string::npos) << pub.err;
    EXPECT_EQ(finish(sub).exit_code, exit_ok) << sub.stderr_text();
    EXPECT_EQ(sub.stdout_text(), "over websockets\n");
}

TEST_F(CliWebSocket, wrong_ws_path_fails_with_the_status_line) {
    const auto pub = run_nmqtt("pub", {"--ws-path", "/nothing-here", "-h", "127.0.0.1", "-p", ws_port(), "-t",
                                       "cli/ws", "-m", "x"});
    EXPECT_EQ(pub.status.exit_code, exit_connection_failed) << pub.err;
    EXPECT_NE(pub.err.find("WebSocket handshake refused"), std::string::npos) << pub.err;
    EXPECT_NE(pub.err.find("status line 'HTTP/1.1 "), std::string::npos) << pub.err;
}

// aedes over TLS WebSockets: -L wss:// URLs with --cafile, verified against the test CA.
class CliWebSocketTls : public AedesSuite<CliWebSocketTls> {
public:
    static AedesOptions broker_options() { return aedes_wss_options(); }
};

TEST_F(CliWebSocketTls, sub_and_pub_with_wss_urls_and_the_test_ca) {
    const std::string ca = tls_certs().ca_cert.string();
    const std::string url = "wss://localhost:" + wss_port() + "/cli/wss";
    Process sub(nmqtt_cli("sub", {"-L", url, "--cafile", ca, "-C", "1", "-q", "1", "-i", "cli-wss-sub"}));
    ASSERT_TRUE(broker().wait_for_log("subscribe cli-wss-sub cli/wss:1", cli_deadline)) << sub.stderr_text();
    const auto pub = run_nmqtt("pub", {"-L", url, "--cafile", ca, "-m", "over tls websockets", "-q", "1", "-i",
                                       "cli-wss-pub"});
    EXPECT_EQ(pub.status.exit_code, exit_ok) << pub.err;
    EXPECT_EQ(finish(sub).exit_code, exit_ok) << sub.stderr_text();
    EXPECT_EQ(sub.stdout_text(), "over tls websockets\n");
    EXPECT_TRUE(broker().wait_for_log("publish cli-wss-pub cli/wss q1")) << broker().log();
}

TEST_F(CliWebSocketTls, wss_with_an_untrusted_ca_fails_with_the_verification_error) {
    const auto pub = run_nmqtt("pub", {"-L", "wss://localhost:" + wss_port() + "/cli/wss", "--cafile",
                                       tls_certs().other_ca_cert.string(), "-m", "x"});
    EXPECT_EQ(pub.status.exit_code, exit_connection_failed) << pub.err;
    EXPECT_NE(pub.err.find("certificate verify failed"), std::string::npos) << pub.err;
}

}  // namespace
}  // namespace nmqtt::test
