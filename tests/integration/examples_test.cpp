// The C++ examples work against a real mosquitto: each prints the message it published to itself.
#include <gtest/gtest.h>

#include "support/mosquitto_fixture.hpp"
#include "support/process.hpp"

namespace nmqtt::test {
namespace {

void expect_example_prints(const char* path, const std::string& expected) {
    MosquittoFixture broker;
    const auto r = run_process({path, "127.0.0.1", std::to_string(broker.port())}, 20s);
    EXPECT_FALSE(r.timed_out);
    EXPECT_TRUE(r.status.success()) << r.err;
    EXPECT_NE(r.out.find(expected), std::string::npos) << r.out;
    // A clean close: the broker saw a DISCONNECT, not a lost connection.
    EXPECT_TRUE(broker.wait_for_log("Received DISCONNECT", 5s)) << broker.log();
}

#ifdef NMQTT_EXAMPLE_BLOCKING_SESSION
TEST(Examples, BlockingSessionDrivesTheCoreOverAPlainSocket) {
    expect_example_prints(NMQTT_EXAMPLE_BLOCKING_SESSION, "nmqtt/blocking: hello from a blocking socket");
}
#endif

#ifdef NMQTT_EXAMPLE_HELLO
TEST(Examples, HelloReceivesItsOwnMessage) { expect_example_prints(NMQTT_EXAMPLE_HELLO, "hello from nmqtt"); }
#endif

#ifdef NMQTT_EXAMPLE_MQTT5
TEST(Examples, Mqtt5RequestGetsItsReplyWithTheCorrelationData) {
    expect_example_prints(NMQTT_EXAMPLE_MQTT5, "request: ping\n  user property sender=example\n");
    expect_example_prints(NMQTT_EXAMPLE_MQTT5, "reply: pong\n  correlation data: req-1\n");
}
#endif

}  // namespace
}  // namespace nmqtt::test
