// Messaging through the Lua API against a real mosquitto: QoS both ways, the aliasing rules, close and
// state, overflow, payloads, object lifetimes, many requests in flight, the last will.
#include <gtest/gtest.h>

#include "lua_test_support.hpp"
#include "support/fault_proxy.hpp"

namespace nmqtt::test::lua {
namespace {

// QoS 0/1/2 out and in: the delivery QoS is min(publish, subscription); completions carry packet ids
// (0 for QoS 0); the message callback's 4th argument (extension) holds qos/retain/dup/packet_id.
TEST(LuaMessaging, QosZeroOneTwoBothWays) {
    MosquittoFixture broker;
    const auto r = run_script(script("qos.lua"), address(broker));
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out,
        "subscribe\ttrue\n"
        "suback\tnil\ttrue\n"
        "granted\tq0\t0\n"
        "granted\tq1\t1\n"
        "granted\tq2\t2\n"
        "message q0 p0 qos=0 retain=false dup=false id=0\n"
        "message q0 p1 qos=0 retain=false dup=false id=0\n"
        "message q0 p2 qos=0 retain=false dup=false id=0\n"
        "message q1 p0 qos=0 retain=false dup=false id=0\n"
        "message q1 p1 qos=1 retain=false dup=false id=set\n"
        "message q1 p2 qos=1 retain=false dup=false id=set\n"
        "message q2 p0 qos=0 retain=false dup=false id=0\n"
        "message q2 p1 qos=1 retain=false dup=false id=set\n"
        "message q2 p2 qos=2 retain=false dup=false id=set\n"
        "done q0 p0 err=nil id=0\n"
        "done q0 p1 err=nil id=set\n"
        "done q0 p2 err=nil id=set\n"
        "done q1 p0 err=nil id=0\n"
        "done q1 p1 err=nil id=set\n"
        "done q1 p2 err=nil id=set\n"
        "done q2 p0 err=nil id=0\n"
        "done q2 p1 err=nil id=set\n"
        "done q2 p2 err=nil id=set\n"
        "pubacks\t10\n");  // 9 and the last round trip's
    // The client completed the broker's deliveries: PUBACK for the three of QoS 1 (q1 p1, q1 p2, q2 p1),
    // PUBREC then PUBCOMP for the one of QoS 2 (q2 p2) [MQTT-4.3.2-2, 4.3.3-2]; its own three QoS 2
    // publishes went through PUBREL [MQTT-4.3.3-1].
    EXPECT_EQ(log_count(broker, "Received PUBACK from nmqtt-qos", 3), 3U) << broker.log();
    EXPECT_EQ(log_count(broker, "Received PUBREC from nmqtt-qos", 1), 1U) << broker.log();
    EXPECT_EQ(log_count(broker, "Received PUBCOMP from nmqtt-qos", 1), 1U) << broker.log();
    EXPECT_EQ(log_count(broker, "Received PUBREL from nmqtt-qos", 3), 3U) << broker.log();
}

// The last publish/subscribe/unsubscribe callback runs for all of them and is the "puback"/"suback"/
// "unsuback" callback of on(); connect()'s callbacks alias "connect"/"connfail" and nil keeps them; a failed
// connect runs only the failure callback; on(event, nil) unregisters.
TEST(LuaMessaging, AliasingRules) {
    MosquittoFixture broker;
    const auto r = run_script(script("aliases.lua"), address(broker, {std::to_string(closed_loopback_port())}));
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out,
        "pubA\t0\n"
        "pubB\t2\n"
        "pubC\t2\n"
        "pubC\t2\n"
        "subA\t0\n"
        "subB\t2\n"
        "unsubA\t0\n"
        "unsubB\t2\n"
        "subC\t1\n"
        "offline after close\n"
        "on connfail\t-5\n"
        "on connfail\t-5\n"
        "connect's failure callback\t-5\n"
        "on connect\n"
        "offline\n"
        "connect's callback\n"
        "offline\n"
        "offline-after-failure\t0\n"
        "connect-after-failure\t0\n");
}

// close() returns true when it closed or cancelled something, false otherwise; state() follows; requests
// made while connecting are queued and sent after the CONNACK; connect() right after close() is allowed.
TEST(LuaMessaging, CloseStateAndRequestsWhileConnecting) {
    MosquittoFixture broker;
    const auto r = run_script(script("close_state.lua"), address(broker));
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out,
        "initial\tdisconnected\tfalse\n"
        "connecting\tconnecting\n"
        "subscribe while connecting\ttrue\n"
        "publish while connecting\ttrue\n"
        "cancel\tconnecting\ttrue\tdisconnected\tfalse\n"
        "publish after cancel\tfalse\n"
        "connected\t1\tconnected\ttrue\n"
        "message\tqueued\tconnected\ttrue\n"
        "close\ttrue\tclosing\n"
        "close again\tfalse\n"
        "reconnect\tconnecting\n"
        "connect while connecting\tfalse\talready connected\n"
        "offline\t1\tconnecting\ttrue\n"
        "connected\t2\tconnected\ttrue\n"
        "close\ttrue\n"
        "offline\t2\tdisconnected\ttrue\n");
    EXPECT_EQ(log_count(broker, "Received DISCONNECT from nmqtt-close-state", 2), 2U) << broker.log();
}

// A message above max_message_length reaches "overflow" truncated, is acknowledged anyway, and the next one
// arrives normally; the default limit is 1024 bytes.
TEST(LuaMessaging, OverflowTruncatesAndAcknowledges) {
    MosquittoFixture broker;
    const auto r = run_script(script("overflow.lua"), address(broker));
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out,
        "limit100\toverflow\ttrue\ttrue\ttrue\ttrue\n"
        "limit100\tmessage\tsmall\n"
        "default\toverflow\ttrue\ttrue\ttrue\ttrue\n"
        "default\tmessage\tsmall\n"
        "done\n");
    EXPECT_EQ(log_count(broker, "Received PUBACK from nmqtt-limit100", 2), 2U) << broker.log();
    EXPECT_EQ(log_count(broker, "Received PUBACK from nmqtt-default", 2), 2U) << broker.log();
}

// Binary payloads (zeros, 0xff), an empty payload arriving as nil, 175 kB, UTF-8 topics, retain.
TEST(LuaMessaging, PayloadsAnyBytesEmptyLargeRetained) {
    MosquittoFixture broker;
    const auto r = run_script(script("payloads.lua"), address(broker));
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out,
        "binary\ttrue\t7\tfalse\n"
        "empty\ttrue\tnil\tfalse\n"
        "large\ttrue\t175000\tfalse\n"
        "grüße/日本\ttrue\t11\tfalse\n"
        "number\ttrue\t2\tfalse\n"
        "retained\ttrue\tkept\ttrue\n");
}

// A connected client and an armed timer live without references; closed or idle clients are collected.
TEST(LuaMessaging, ObjectLifetimes) {
    MosquittoFixture broker;
    const auto r = run_script(script("gc.lua"), address(broker));
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out,
        "never connected client collected\ttrue\n"
        "connecting client kept\ttrue\n"
        "message\tstill alive\n"
        "offline\n"
        "closed client collected\ttrue\n");
}

// 900 requests issued at once (300 per QoS): all complete and all messages arrive in order per QoS.
// mosquitto 2.0.11 stops sending queued messages to a client once its inflight window (20) filled up with
// QoS 2 deliveries, whoever the client is (mosquitto_sub too): the window is lifted for this test.
TEST(LuaMessaging, ManyRequestsInFlight) {
    MosquittoOptions options;
    options.extra_config = {"max_inflight_messages 0"};
    MosquittoFixture broker(options);
    const auto r = run_script(script("inflight.lua"), address(broker));
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out,
        "qos\t0\treceived\t300\tin order\ttrue\n"
        "qos\t1\treceived\t300\tin order\ttrue\n"
        "qos\t2\treceived\t300\tin order\ttrue\n"
        "completed\t900\n");
}

// The will is not published after close() (DISCONNECT sent), and is published after a cut connection,
// which runs "offline" and never "connfail".
TEST(LuaMessaging, WillAfterCutConnectionNotAfterClose) {
    MosquittoFixture broker;
    FaultProxy proxy(broker.host(), broker.port());
    Process script_process(nmqtt_run(script("lwt.lua"), address(broker, {std::to_string(proxy.port())})));
    ASSERT_TRUE(script_process.wait_for_stdout("ready\n", 20s)) << script_process.stdout_text()
                                                                 << script_process.stderr_text();
    proxy.cut_all();
    const auto status = script_process.wait_or_kill(20s);
    EXPECT_TRUE(status.success()) << script_process.stderr_text();
    EXPECT_EQ(script_process.stdout_text(),
        "closing-victim lwt\n"
        "closing-victim close\ttrue\n"
        "closing-victim offline\n"
        "after clean close, first message:\tmarker\n"
        "cut-victim lwt\n"
        "ready\n"
        "cut-victim offline\n"
        "will: cut-victim is gone\n");
    EXPECT_EQ(log_count(broker, "Received DISCONNECT from nmqtt-closing-victim", 1), 1U) << broker.log();
}

// cleansession 0: a QoS 1 publish without PUBACK is sent again with DUP after the reconnect
// [MQTT-4.4.0-1, MQTT-3.3.1-1], and completes once.
TEST(LuaMessaging, UnacknowledgedPublishResentWithDupAfterReconnect) {
    MosquittoFixture broker;
    FaultProxy proxy(broker.host(), broker.port());
    Process runner(nmqtt_run(script("resend.lua"), address(broker, {std::to_string(proxy.port())})));
    ASSERT_TRUE(runner.wait_for_stdout("ready\n", 20s)) << runner.stdout_text() << runner.stderr_text();
    proxy.stall(Direction::broker_to_client);
    const auto go = run_process({"mosquitto_pub", "-h", broker.host(), "-p", std::to_string(broker.port()), "-t",
                                 "nmqtt-test/resend/control", "-m", "go"}, 20s);
    ASSERT_TRUE(go.status.success()) << go.err;
    ASSERT_TRUE(broker.wait_for_log("Received PUBLISH from nmqtt-resend (d0, q1", 20s)) << broker.log();
    proxy.cut_all();
    proxy.resume(Direction::broker_to_client);
    EXPECT_TRUE(runner.wait_or_kill(20s).success()) << runner.stderr_text();
    EXPECT_EQ(runner.stdout_text(),
        "victim connected\t1\n"
        "ready\n"
        "publish\ttrue\n"
        "victim offline\n"
        "victim connected\t2\n"
        "done\tnil\ttrue\n"
        "victim offline\n");
    EXPECT_EQ(log_count(broker, "Received PUBLISH from nmqtt-resend (d1, q1", 1), 1U) << broker.log();
}

// Keepalive detects a silent connection while publishes keep being queued: "offline", not "connfail"
// (no PINGRESP in time: the client closes, section 3.1.2.10 and [MQTT-3.12.4-1]).
TEST(LuaMessaging, SilentConnectionGoesOffline) {
    MosquittoFixture broker;
    FaultProxy proxy(broker.host(), broker.port());
    Process script_process(nmqtt_run(script("keepalive.lua"), {proxy.host(), std::to_string(proxy.port())}));
    ASSERT_TRUE(script_process.wait_for_stdout("ready\n", 20s)) << script_process.stderr_text();
    proxy.stall();
    const auto status = script_process.wait_or_kill(20s);
    EXPECT_TRUE(status.success()) << script_process.stderr_text();
    EXPECT_EQ(script_process.stdout_text(), "ready\noffline\tdisconnected\n");
}

}  // namespace
}  // namespace nmqtt::test::lua
