// The broker under test answers the Debian mosquitto_pub/mosquitto_sub clients (never nmqtt's own code), and
// the fixtures start, stop and restart brokers on the same ports.
#include <gtest/gtest.h>

#include <string>

#include "support/interop_broker.hpp"
#include "support/process.hpp"

namespace nmqtt::test {
namespace {

TEST(InteropFixture, MosquittoClientsRoundTripThroughTheBroker) {
    InteropBroker& b = interop_broker();
    const std::string port = std::to_string(b.port());
    Process sub({"stdbuf", "-oL", "mosquitto_sub", "-V", "mqttv311", "-h", b.host(), "-p", port, "-t", "fixture/#", "-q", "1",
                 "-C", "1", "-v", "-d"});
    ASSERT_TRUE(sub.wait_for_stdout("received SUBACK", 10s)) << sub.stdout_text() << sub.stderr_text();
    const ProcessResult pub = run_process(
        {"mosquitto_pub", "-V", "mqttv311", "-h", b.host(), "-p", port, "-t", "fixture/a", "-m", "hello", "-q", "1"},
        10s);
    ASSERT_TRUE(pub.status.success()) << pub.err;
    ASSERT_TRUE(sub.wait_for(10s).has_value()) << sub.stdout_text();
    EXPECT_NE(sub.stdout_text().find("fixture/a hello"), std::string::npos) << sub.stdout_text();
}

TEST(InteropFixture, RestartKeepsThePort) {
    InteropBroker& b = interop_broker();
    const auto port = b.port();
    const pid_t before = b.pid();
    b.stop();
    EXPECT_EQ(b.pid(), -1);
    EXPECT_FALSE(can_connect(b.host(), port));
    b.start();
    EXPECT_EQ(b.port(), port);
    EXPECT_NE(b.pid(), before);
    EXPECT_TRUE(can_connect(b.host(), port));
}

TEST(InteropFixture, WebSocketListenerAcceptsTcp) {
    InteropBroker& b = interop_broker();
    if (b.ws_port() == 0) GTEST_SKIP() << b.name() << " runs here without a WebSocket listener";
    EXPECT_TRUE(can_connect(b.host(), b.ws_port()));
}

}  // namespace
}  // namespace nmqtt::test
