// MQTT 5.0 through the Lua API (docs/lua.md, docs/mqtt5.md): the options table, property tables on connect,
// publish, subscribe, unsubscribe, close and lwt, the message callback's properties, v5 completions, a
// refusal's reason code in "connfail", a server DISCONNECT in "offline". Against mosquitto 2.0 with
// mosquitto_pub/mosquitto_sub -V mqttv5 as the other side; the server DISCONNECT from a ScriptedPeer (mosquitto
// 2.0.11 sends none a test can provoke).
#include <gtest/gtest.h>

#include <regex>

#include "lua_test_support.hpp"
#include "support/bytes.hpp"
#include "support/scripted_peer.hpp"

namespace nmqtt::test::lua {
namespace {

std::vector<std::string> mosquitto_sub_argv(const MosquittoFixture& broker, const std::string& id,
                                            std::vector<std::string> args) {
    std::vector<std::string> argv{"mosquitto_sub", "-V", "mqttv5", "-h", broker.host(), "-p",
                                  std::to_string(broker.port()), "-i", id};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

Process start_watcher(const MosquittoFixture& broker, const std::string& id, std::vector<std::string> args) {
    const auto needle = "Sending SUBACK to " + id;
    Process p(mosquitto_sub_argv(broker, id, std::move(args)));
    EXPECT_TRUE(wait_until([&] { return broker.count_in_log(needle) > 0 || !p.running(); }, 10s));
    return p;
}

TEST(LuaV5, MessagingWithPropertiesOptionsAndReasonCodes) {
    MosquittoFixture broker;
    const auto r = run_script(script("v5_messaging.lua"), address(broker));
    ASSERT_TRUE(r.status.success()) << describe(r);
    const auto out = std::regex_replace(r.out, std::regex("nmqtt-test/[0-9a-f]+/"), "T/");
    EXPECT_EQ(out,
              "connected\n"
              "suback\tnil\ttrue\t1\t1\ttable\n"
              "unsuback\tnil\t0\t17\n"  // 0x11 No subscription existed
              "close\ttrue\n"
              "done mine\tnil\t0\n"
              "done nobody\tnil\t16\n"  // 0x10 No matching subscribers
              "done plain\tnil\t0\n"
              "message\tplain\thello\t1\tcontent_type=text/plain response_topic=T/reply correlation_data=c-7 "
              "payload_format_indicator=1 up.a=1 up.b=2 sid=5\n"
              "offline\tnil\n");
    // The options table's CONNECT settings and the connect() table's user properties replaced the options
    // table's; the DISCONNECT carried its reason string (mosquitto logs neither, but accepted both).
    EXPECT_EQ(log_count(broker, "Received DISCONNECT from nmqtt-v5-msg", 1), 1U) << broker.log();
    EXPECT_EQ(log_count(broker, "New client connected from", 1), 1U);
}

TEST(LuaV5, PublishPropertiesReachMosquittoSub) {
    MosquittoFixture broker;
    auto watcher = start_watcher(broker, "watcher", {"-t", "nmqtt-test/+/plain", "-C", "1", "-F", "%p|%C|%D|%F|%P"});
    const auto r = run_script(script("v5_messaging.lua"), address(broker));
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(watcher.wait_or_kill(20s).exit_code, 0);
    EXPECT_EQ(watcher.stdout_text(), "hello|text/plain|c-7|1|b:2 a:1\n");  // a list keeps its order
}

TEST(LuaV5, WillPropertiesAndDisconnectWithWillMessage) {
    MosquittoFixture broker;
    auto watcher = start_watcher(broker, "watcher", {"-t", "v5/will", "-C", "1", "-F", "%p|%C|%P"});
    const auto r = run_script(script("v5_lwt.lua"), address(broker, {"v5/will"}));
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out, "connected\nclose\ttrue\noffline\n");
    EXPECT_EQ(watcher.wait_or_kill(20s).exit_code, 0) << broker.log();
    EXPECT_EQ(watcher.stdout_text(), "gone|text/x|why:asked\n");
}

TEST(LuaV5, RefusalReachesConnfailAsTheReasonCode) {
    MosquittoFixture broker({.allow_anonymous = false});
    const auto r = run_script(script("v5_connfail.lua"), address(broker));
    ASSERT_TRUE(r.status.success()) << describe(r);
    // 0x87 Not authorized = 135 at 5.0; CONNACK_REFUSED_NOT_AUTHORIZED (5) at 3.1.1, without a third argument.
    EXPECT_EQ(r.out, "v5 connfail\t135\tnil\n3.1.1 connfail\t5\tnil\n");
}

TEST(LuaV5, ServerDisconnectReachesOffline) {
    ScriptedPeer peer({{peer::expect_packet(0x10), peer::send(hex("20 03 00 00 00")),
                        // DISCONNECT 0x8B Server shutting down, Reason String "bye", User Property k=v
                        peer::send(hex("E0 0F 8B 0D 1F 00 03 62 79 65 26 00 01 6B 00 01 76")), peer::expect_close()}});
    const auto r = run_script(script("v5_offline.lua"), {peer.host(), std::to_string(peer.port())});
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out, "connected\noffline\t139\tbye\tv\n");
    ASSERT_TRUE(peer.wait_done(10s)) << peer.failure();
}

TEST(LuaV5, EnhancedAuthenticationThroughTheAuthCallbackAndReauth) {
    ScriptedPeer peer({{
        peer::expect_packet(0x10),
        peer::send(hex("F0 0B 18 09 15 00 01 4D 16 00 02 73 31")),     // AUTH continue, "s1"
        peer::expect(hex("F0 0B 18 09 15 00 01 4D 16 00 02 63 32")),   // the callback's answer "c2"
        peer::send(hex("20 0C 00 00 09 15 00 01 4D 16 00 02 6F 6B")),  // CONNACK, final data "ok"
        peer::expect(hex("F0 0B 19 09 15 00 01 4D 16 00 02 72 31")),   // reauth("r1")
        peer::send(hex("F0 0B 18 09 15 00 01 4D 16 00 02 73 33")),     // continue, "s3"
        peer::expect(hex("F0 0B 18 09 15 00 01 4D 16 00 02 63 33")),   // "c3"
        peer::send(hex("F0 0C 00 0A 15 00 01 4D 16 00 03 65 6E 64")),  // success, "end"
        peer::expect_packet(0xE0),
        peer::expect_close(),
    }});
    const auto r = run_script(script("v5_auth.lua"), {peer.host(), std::to_string(peer.port())});
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out, "auth\ts1\tfalse\nconnected\nreauth\ttrue\nagain\tfalse\nauth\ts3\ttrue\n"
                     "reauthenticated\tnil\noffline\n");
    ASSERT_TRUE(peer.wait_done(10s)) << peer.failure();
    EXPECT_TRUE(peer.matched()) << peer.failure();
}

TEST(LuaV5, AuthCallbackReturningNilGivesUpWithConnfail5) {
    ScriptedPeer peer({{peer::expect_packet(0x10), peer::send(hex("F0 0B 18 09 15 00 01 4D 16 00 02 6E 6F")),
                        peer::expect_close()}});
    const auto r = run_script(script("v5_auth_giveup.lua"), {peer.host(), std::to_string(peer.port())});
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out, "no method\tfalse\treauth needs protocol = 5 and authentication_method\n"
                     "challenge\tno\nconnfail\t5\n");
    ASSERT_TRUE(peer.wait_done(10s)) << peer.failure();
}

TEST(LuaV5, ArgumentErrors) {
    const auto r = run_script(script("v5_bad_args.lua"));
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out,
              "v5 option without protocol\tfalse\tbad argument #7 to 'Client' (MQTT 5 options need protocol = 5)\n"
              "protocol 6\tfalse\tbad argument #7 to 'Client' (option 'protocol' must be an integer in 4..5)\n"
              "receive_maximum 0\tfalse\tbad argument #7 to 'Client' (option 'receive_maximum' must be an integer "
              "in 1..65535)\n"
              "unknown property\tfalse\tbad argument #7 to 'publish' (unknown property 'no_such')\n"
              "not allowed\tfalse\tbad argument #7 to 'publish' (properties not valid here (property not allowed "
              "in this packet))\n"
              "wrong type\tfalse\tbad argument #7 to 'publish' (property 'content_type' must be a string)\n"
              "out of range\tfalse\tbad argument #7 to 'publish' (properties not valid here (property value out of "
              "range))\n"
              "bad user props\tfalse\tbad argument #7 to 'publish' (user_properties must be {name = value, ...} or "
              "{{name, value}, ...})\n"
              "bad retain_handling\tfalse\tbad argument #5 to 'subscribe' (retain_handling must be 0, 1 or 2)\n"
              "bad filter option\tfalse\tbad argument #1 to 'subscribe' (unknown subscription option 'nope' for "
              "'t')\n"
              "bad reason_code\tfalse\tbad argument #1 to 'close' (reason_code must be an integer in 0..255)\n"
              "lwt props\tfalse\tbad argument #5 to 'lwt' (property 'will_delay_interval' must be an integer in "
              "0..4294967295)\n"
              "3.1.1 trailing table\ttrue\tnil\n");
}

}  // namespace
}  // namespace nmqtt::test::lua
