// The examples of examples/lua, run as a user would.
#include <gtest/gtest.h>

#include <csignal>

#include "lua_test_support.hpp"

namespace nmqtt::test::lua {
namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(LuaExamples, HelloRoundTrip) {
    MosquittoFixture broker;
    const auto r = run_script(example("hello.lua"), address(broker));
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_TRUE(contains(r.out, "connected to 127.0.0.1:" + std::to_string(broker.port()) + "\n")) << r.out;
    EXPECT_TRUE(contains(r.out, ": hello from nmqtt\n")) << r.out;
    EXPECT_TRUE(contains(r.out, "published\n")) << r.out;
    EXPECT_TRUE(r.out.ends_with("closed\n")) << r.out;
}

// The MQTT 5.0 example: request with a Response Topic and Correlation Data, answered with the same data.
TEST(LuaExamples, Mqtt5RequestResponse) {
    MosquittoFixture broker;
    const auto r = run_script(example("mqtt5.lua"), address(broker));
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_TRUE(contains(r.out, "connected with MQTT 5.0\nsubscribed: nil 1 1\n")) << r.out;
    EXPECT_TRUE(contains(r.out, "request: ping (reply to replies, sender example)\n")) << r.out;
    EXPECT_TRUE(contains(r.out, "reply: pong, correlation data req-1\n")) << r.out;
    EXPECT_TRUE(contains(r.out, "request acknowledged: nil, reason code 0\n")) << r.out;
    EXPECT_TRUE(r.out.ends_with("closed\n")) << r.out;
}

// The reference's main example, unchanged but for host/port from arg and a close once its message is back.
TEST(LuaExamples, NodemcuMainExample) {
    MosquittoFixture broker;
    const auto r = run_script(example("nodemcu_example.lua"), address(broker));
    ASSERT_TRUE(r.status.success()) << describe(r);
    // "sent" fires once the QoS 0 PUBLISH is written: the write's completion may run before or after the
    // SUBACK and even after the broker's copy of the message has been read. Everything else is ordered.
    std::string without_sent = r.out;
    const auto at = without_sent.find("sent\n");
    ASSERT_NE(at, std::string::npos) << r.out;
    without_sent.erase(at, 5);
    EXPECT_EQ(without_sent, "connected\nsubscribe success\n/topic:\nhello\noffline\n") << r.out;
    EXPECT_TRUE(r.out.starts_with("connected\n")) << r.out;
    EXPECT_NE(broker.log().find("as clientid (p2, c1, k120, u'user')"), std::string::npos) << broker.log();
}

// The sensor publisher's readings, received by the subscriber example.
TEST(LuaExamples, SensorPublisherToSubscriber) {
    MosquittoFixture broker;
    Process subscriber(nmqtt_run(example("subscriber.lua"), address(broker, {"nmqtt/sensors/#", "4"})));
    ASSERT_TRUE(subscriber.wait_for_stdout("subscribed to nmqtt/sensors/#\n", 20s)) << subscriber.stderr_text();
    const auto publisher = run_script(example("sensor_publisher.lua"), address(broker, {"3", "20", "kitchen"}));
    ASSERT_TRUE(publisher.status.success()) << describe(publisher);
    EXPECT_EQ(publisher.out,
        "connected, publishing 3 readings on nmqtt/sensors/kitchen/temperature\n"
        "reading 1: 21.4\n"
        "reading 2: 21.8\n"
        "reading 3: 22.1\n"
        "offline\n");
    EXPECT_TRUE(subscriber.wait_or_kill(20s).success()) << subscriber.stderr_text();
    EXPECT_EQ(subscriber.stdout_text(),
        "subscribed to nmqtt/sensors/#\n"
        "nmqtt/sensors/kitchen/status: online\n"
        "nmqtt/sensors/kitchen/temperature: 21.4\n"
        "nmqtt/sensors/kitchen/temperature: 21.8\n"
        "nmqtt/sensors/kitchen/temperature: 22.1\n"
        "offline\n");
}

// The reference's reconnect pattern: failures retried from a timer until the broker is there; after the
// broker goes away and comes back, "offline" and a new connection; Ctrl-C ends it.
TEST(LuaExamples, ReconnectOnFailure) {
    MosquittoFixture broker;
    broker.stop();
    Process runner(nmqtt_run(example("reconnect_on_failure.lua"), address(broker, {"100"})));
    ASSERT_TRUE(runner.wait_for_stdout("connection failed (-5), retrying in 100 ms\n", 20s)) << runner.stderr_text();
    broker.start();
    ASSERT_TRUE(runner.wait_for_stdout("connected\n", 20s)) << runner.stdout_text() << runner.stderr_text();
    broker.restart();
    ASSERT_TRUE(runner.wait_for_stdout("offline, reconnecting in 100 ms\n", 20s)) << runner.stdout_text();
    ASSERT_TRUE(wait_until([&] {
        const auto out = runner.stdout_text();
        return out.find("connected\n", out.find("offline")) != std::string::npos;
    }, 20s)) << runner.stdout_text();
    runner.send_signal(SIGINT);
    EXPECT_EQ(runner.wait_or_kill(20s).exit_code, 130) << runner.stderr_text();
}

// The same with the automatic reconnection of the extension: failures and attempts reported, connected once
// the broker is there, offline and connected again after a restart; Ctrl-C while it reconnects (the broker
// stopped again) ends it at once.
TEST(LuaExamples, AutoReconnect) {
    MosquittoFixture broker;
    broker.stop();
    Process runner(nmqtt_run(example("auto_reconnect.lua"), address(broker, {"100"})));
    ASSERT_TRUE(runner.wait_for_stdout("connection failed (-5)\nattempt 1 in ", 20s)) << runner.stderr_text();
    ASSERT_TRUE(runner.wait_for_stdout("attempt 1 to 127.0.0.1:" + std::to_string(broker.port()) + "\n", 20s))
        << runner.stdout_text() << runner.stderr_text();
    broker.start();
    ASSERT_TRUE(runner.wait_for_stdout("connected\n", 20s)) << runner.stdout_text() << runner.stderr_text();
    broker.restart();
    ASSERT_TRUE(runner.wait_for_stdout("offline\nattempt ", 20s)) << runner.stdout_text();
    ASSERT_TRUE(wait_until([&] {
        const auto out = runner.stdout_text();
        return out.find("connected\n", out.find("offline")) != std::string::npos;
    }, 20s)) << runner.stdout_text();
    const std::size_t mark = runner.stdout_text().size();
    broker.stop();  // reconnecting from now on: "offline", then failed attempts
    ASSERT_TRUE(wait_until([&] {
        const auto out = runner.stdout_text();
        const auto offline = out.find("offline\n", mark);
        return offline != std::string::npos && out.find("connection failed (-5)\n", offline) != std::string::npos;
    }, 20s)) << runner.stdout_text();
    runner.send_signal(SIGINT);
    EXPECT_EQ(runner.wait_or_kill(20s).exit_code, 130) << runner.stdout_text() << runner.stderr_text();
}

}  // namespace
}  // namespace nmqtt::test::lua
