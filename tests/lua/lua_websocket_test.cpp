// MQTT over WebSockets through the Lua API (docs/lua.md): the options table's transport, path and headers
// (and a reconnect broker's transport and path), their argument errors, the Upgrade request they produce (a
// scripted peer), and messaging and reconnection against aedes served over npm ws.
#include <gtest/gtest.h>

#include <string>

#include "lua_test_support.hpp"
#include "support/aedes_suite.hpp"
#include "support/scripted_peer.hpp"
#include "support/tls_certs.hpp"

namespace nmqtt::test::lua {
namespace {

TEST(LuaWebSocket, BadOptionsRaiseClearErrors) {
    const auto r = run_script(script("ws_bad_args.lua"));
    ASSERT_TRUE(r.status.success()) << describe(r);
    const std::string bad = "\tfalse\tbad argument #7 to 'Client' (option ";
    EXPECT_EQ(r.out,
              "transport number" + bad + "'transport' must be a string)\n"
              "transport http" + bad + "'transport' must be \"tcp\" or \"ws\")\n"
              "transport wss" + bad + "'transport' \"wss\" is transport = \"ws\" with connect()'s secure = true)\n"
              "path type" + bad + "'path' must be a string)\n"
              "path relative" + bad + "'path' must start with '/' and hold no spaces or control characters)\n"
              "path space" + bad + "'path' must start with '/' and hold no spaces or control characters)\n"
              "headers string" + bad + "'headers' must be a table of header name = string value)\n"
              "header value type" + bad + "'headers.X-A' must be a string)\n"
              "header name" + bad + "'headers.X A' is not a valid HTTP header name)\n"
              "header name type" + bad + "'headers' names must be strings)\n"
              "header name nul" + bad + "'headers.X?Y' is not a valid HTTP header name)\n"
              "header crlf" + bad + "'headers.X-A' must not hold CR, LF or NUL)\n"
              "header reserved" + bad + "'headers.host' is written by the client itself)\n"
              "broker transport" + bad + "'reconnect.brokers[1].transport' must be \"tcp\" or \"ws\")\n"
              "broker path" + bad + "'reconnect.brokers[1].path' must be a string)\n"
              "good\ttrue\n");
}

// The request goes out with the options' path and headers (sorted by name), the subprotocol and a key; a
// 403 answer fails the connection with CONN_FAIL_SERVER_NOT_FOUND.
TEST(LuaWebSocket, PathAndHeadersReachTheUpgradeRequest) {
    ScriptedPeer peer({{peer::silence(500ms), peer::send(bytes_of("HTTP/1.1 403 Forbidden\r\n\r\n")),
                        peer::expect_close()}});
    const auto r = run_script(script("ws_request.lua"), {peer.host(), std::to_string(peer.port())});
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out, "connfail\t-5\ttrue\n");
    ASSERT_TRUE(peer.wait_done(5s)) << peer.failure();
    const auto received = peer.received(0);
    const std::string request(received.begin(), received.end());
    EXPECT_TRUE(request.starts_with("GET /custom/path?x=1 HTTP/1.1\r\nHost: 127.0.0.1:" +
                                    std::to_string(peer.port()) + "\r\n"))
        << request;
    EXPECT_NE(request.find("\r\nSec-WebSocket-Protocol: mqtt\r\nAuthorization: Bearer t\r\nX-Token: abc\r\n\r\n"),
              std::string::npos)
        << request;
    EXPECT_NE(request.find("\r\nSec-WebSocket-Key: "), std::string::npos) << request;
}

class LuaWebSocketAedes : public AedesSuite<LuaWebSocketAedes> {};

TEST_F(LuaWebSocketAedes, ConnectSubscribePublishRoundTrip) {
    const auto r = run_script(script("ws_messaging.lua"), {"127.0.0.1", ws_port()});
    ASSERT_TRUE(r.status.success()) << describe(r);
    using namespace std::string_literals;
    EXPECT_EQ(r.out, "connected\tconnected\nsuback\nmessage\ttrue\tover websockets \0 binary\npuback\n"
                     "close\ttrue\noffline\n"s);
    EXPECT_TRUE(broker().wait_for_log("subscribe nmqtt-ws-lua nmqtt-test/")) << broker().log();
    EXPECT_TRUE(broker().wait_for_log("publish nmqtt-ws-lua nmqtt-test/")) << broker().log();
}

TEST_F(LuaWebSocketAedes, ReconnectsOverWebSocketsAndThroughAWsBrokerEntry) {
    Process runner(nmqtt_run(script("ws_reconnect.lua"),
                             {"127.0.0.1", ws_port(), std::to_string(closed_loopback_port())}));
    ASSERT_TRUE(runner.wait_for_stdout("ready\n", 20s)) << runner.stdout_text() << runner.stderr_text();
    broker().restart();
    EXPECT_TRUE(runner.wait_or_kill(20s).success()) << runner.stderr_text();
    EXPECT_EQ(runner.stdout_text(),
              "connected\t1\n"
              "ready\n"
              "offline\n"
              "connected\t2\n"
              "message\tback over ws\n"
              "close\ttrue\n"
              "offline\n"
              "listed connected\n"
              "listed close\ttrue\n");
    EXPECT_TRUE(broker().wait_for_log("client connected nmqtt-ws-listed")) << broker().log();
}

// wss://: transport = "ws" with connect()'s secure = true and the options table's ca_file.
class LuaWebSocketAedesTls : public AedesSuite<LuaWebSocketAedesTls> {
public:
    static AedesOptions broker_options() { return aedes_wss_options(); }
};

TEST_F(LuaWebSocketAedesTls, SecureConnectIsWssVerifiedByCaFile) {
    const auto r = run_script(script("ws_messaging.lua"), {"localhost", wss_port(), tls_certs().ca_cert.string()});
    ASSERT_TRUE(r.status.success()) << describe(r);
    using namespace std::string_literals;
    EXPECT_EQ(r.out, "connected\tconnected\nsuback\nmessage\ttrue\tover websockets \0 binary\npuback\n"
                     "close\ttrue\noffline\n"s);
    EXPECT_TRUE(broker().wait_for_log("publish nmqtt-ws-lua nmqtt-test/")) << broker().log();
}

TEST_F(LuaWebSocketAedesTls, UntrustedCertificateIsConnfailMinus5) {
    const auto r = run_script(script("ws_messaging.lua"),
                              {"localhost", wss_port(), tls_certs().other_ca_cert.string()});
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out, "connfail\t-5\n");
}

}  // namespace
}  // namespace nmqtt::test::lua
