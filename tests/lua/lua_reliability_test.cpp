// The reliability extensions of the Lua API (docs/lua.md): automatic reconnection (the `reconnect` option and
// the "reconnect" callback), the offline outbox (queue_while_offline) and the persistent session store
// (session_store), through `nmqtt run` against mosquitto, ScriptedPeer, or nothing at all.
#include <gtest/gtest.h>

#include "lua_test_support.hpp"
#include "support/scripted_peer.hpp"

namespace nmqtt::test::lua {
namespace {

// The broker restarts under a connected client: "offline", every step reported through the "reconnect"
// callback (the first ones printed with their arguments, the later ones checked by the script), "connfail"
// for the attempts made while it was down, "connect" again, and the client works afterwards. The waiting
// client alone keeps the runner going.
TEST(LuaReliability, ReconnectsAfterBrokerRestart) {
    MosquittoFixture broker;
    Process runner(nmqtt_run(script("reconnect_restart.lua"), address(broker)));
    ASSERT_TRUE(runner.wait_for_stdout("ready\n", 20s)) << runner.stdout_text() << runner.stderr_text();
    broker.restart();
    EXPECT_TRUE(runner.wait_or_kill(20s).success()) << runner.stderr_text();
    EXPECT_EQ(runner.stdout_text(),
        "connected\t1\tconnected\n"
        "ready\n"
        "offline\tdisconnected\n"
        "first reconnect scheduled attempt=1 delay=ok reason=connection closed by peer code=0 message=text "
        "127.0.0.1:broker secure=false giving_up=false state=waiting\n"
        "first reconnect attempting attempt=1 delay=ok reason=nil code=nil message=nil "
        "127.0.0.1:broker secure=false giving_up=false state=connecting\n"
        "connected\t2\tconnected\n"
        "two reports per attempt\ttrue\n"
        "message\tworks after the restart\n"
        "close\ttrue\n"
        "offline\tdisconnected\n");
    EXPECT_EQ(log_count(broker, "New client connected from 127.0.0.1", 2), 2U) << broker.log();
}

// Nothing listens: every attempt fails (-5) and is reported; after max_attempts the client gives up (delay 0,
// giving_up) and the runner exits. An attempt that cannot start (a CA file that cannot be loaded for a secure
// address of `brokers`) is a failed attempt and ends reconnection at once. close() while waiting cancels the
// wait and returns true (lwt() is accepted while waiting); close() from "connfail" returns false and no
// attempt follows; on("reconnect", nil) unregisters; from the "attempting" report connect() raises "already
// connected" and close() cancels the attempt (true, no "connfail" follows).
TEST(LuaReliability, GivesUpAfterMaxAttempts) {
    const auto r = run_script(script("reconnect_give_up.lua"), {"127.0.0.1", std::to_string(closed_loopback_port())});
    ASSERT_TRUE(r.status.success()) << describe(r);
    const std::string not_found = "reason=server not found (connection refused or unreachable) code=-5 message=text";
    const std::string a_scheduled = " delay=ok " + not_found + " 127.0.0.1:closed secure=false giving_up=false state=waiting\n";
    const std::string a_attempting =
        " delay=ok reason=nil code=nil message=nil 127.0.0.1:closed secure=false giving_up=false state=connecting\n";
    EXPECT_EQ(r.out,
        "main chunk done\tconnecting\n"
        "A connfail\t-5\tdisconnected\n"
        "A reconnect scheduled attempt=1" + a_scheduled +
        "A reconnect attempting attempt=1" + a_attempting +
        "A connfail\t-5\tdisconnected\n"
        "A reconnect scheduled attempt=2" + a_scheduled +
        "A reconnect attempting attempt=2" + a_attempting +
        "A connfail\t-5\tdisconnected\n"
        "A reconnect scheduled attempt=3" + a_scheduled +
        "A reconnect attempting attempt=3" + a_attempting +
        "A connfail\t-5\tdisconnected\n"
        "A reconnect gave_up attempt=3 delay=0 " + not_found +
        " 127.0.0.1:closed secure=false giving_up=true state=disconnected\n"
        "B connfail\t-5\tdisconnected\n"
        "B reconnect scheduled attempt=1 delay=ok " + not_found +
        " 127.0.0.1:closed secure=true giving_up=false state=waiting\n"
        "B reconnect attempting attempt=1 delay=ok reason=nil code=nil message=nil 127.0.0.1:closed secure=true "
        "giving_up=false state=connecting\n"
        "B connfail\t-5\tdisconnected\n"
        "B reconnect gave_up attempt=1 delay=0 reason=invalid argument code=-5 message=text 127.0.0.1:closed "
        "secure=true giving_up=true state=disconnected\n"
        "B message\tTLS: cannot load ca_file '/nonexistent/nmqtt-test-ca.pem': No such file or directory: "
        "invalid argument\n"
        "C connfail\t-5\tdisconnected\n"
        "C reconnect scheduled attempt=1" + a_scheduled +
        "C lwt while waiting\ttrue\n"
        "C close while waiting\ttrue\tdisconnected\n"
        "C close again\tfalse\tdisconnected\n"
        "D connfail\t-5\tdisconnected\n"
        "D close in connfail\tfalse\tdisconnected\n"
        "E connfail\t-5\tdisconnected\n"
        "E connfail\t-5\tdisconnected\n"
        "F connfail\t-5\tdisconnected\n"
        "F reconnect scheduled attempt=1" + a_scheduled +
        "F reconnect attempting attempt=1" + a_attempting +
        "F connect while attempting\tfalse\talready connected\n"
        "F close while attempting\ttrue\tdisconnected\n");
    EXPECT_EQ(r.err, "");
}

// The first address is dead: the next attempt goes to the second one (`brokers`), which works; a close()
// of that connection does not reconnect. connect() while waiting replaces the pending attempt.
TEST(LuaReliability, SecondBrokerAddressWhenTheFirstIsDead) {
    MosquittoFixture broker;
    const auto r = run_script(script("reconnect_brokers.lua"),
                              address(broker, {std::to_string(closed_loopback_port())}));
    ASSERT_TRUE(r.status.success()) << describe(r);
    const std::string not_found = "reason=server not found (connection refused or unreachable) code=-5 message=text";
    EXPECT_EQ(r.out,
        "1 connfail\t-5\tdisconnected\n"
        "1 reconnect scheduled attempt=1 delay=ok " + not_found +
        " 127.0.0.1:broker secure=false giving_up=false state=waiting\n"
        "1 reconnect attempting attempt=1 delay=ok reason=nil code=nil message=nil 127.0.0.1:broker secure=false "
        "giving_up=false state=connecting\n"
        "1 connected\tconnected\n"
        "1 message\tthrough the second address\n"
        "1 close\ttrue\n"
        "1 offline\tdisconnected\n"
        "2 connfail\t-5\tdisconnected\n"
        "2 reconnect scheduled attempt=1 delay=ok " + not_found +
        " 127.0.0.1:closed secure=false giving_up=false state=waiting\n"
        "2 connect while waiting\tconnecting\n"
        "2 connected\tconnected\n"
        "2 close\ttrue\n"
        "2 offline\tdisconnected\n");
    EXPECT_EQ(log_count(broker, "New client connected from 127.0.0.1", 2), 2U) << broker.log();
}

// CONNACK 3 (server unavailable) is retried; the next CONNACK accepts.
TEST(LuaReliability, ServerUnavailableIsRetried) {
    const peer::Step connect = peer::expect_packet(0x10);
    ScriptedPeer peer({{connect, peer::send(peer::connack(3)), peer::expect_close()},
                       {connect, peer::send(peer::connack(0)), peer::expect_packet(0xe0), peer::expect_close()}});
    const auto r = run_script(script("reconnect_refused.lua"), {peer.host(), std::to_string(peer.port())});
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out,
        "connfail\t3\tdisconnected\n"
        " reconnect scheduled attempt=1 delay=ok reason=connection refused by broker code=3 message=text "
        "127.0.0.1:peer secure=false giving_up=false state=waiting\n"
        " reconnect attempting attempt=1 delay=ok reason=nil code=nil message=nil 127.0.0.1:peer secure=false "
        "giving_up=false state=connecting\n"
        "connected\tconnected\n"
        "offline\tdisconnected\n");
}

// CONNACK 1, 2, 4 and 5 cannot change with another identical CONNECT: the client gives up at once
// (attempt 0: no automatic attempt was made).
class LuaReconnectRefusal : public ::testing::TestWithParam<int> {};

TEST_P(LuaReconnectRefusal, GivesUpAtOnce) {
    const auto code = static_cast<std::uint8_t>(GetParam());
    ScriptedPeer peer({{peer::expect_packet(0x10), peer::send(peer::connack(code)), peer::expect_close()}});
    const auto r = run_script(script("reconnect_refused.lua"), {peer.host(), std::to_string(peer.port())});
    ASSERT_TRUE(r.status.success()) << describe(r);
    const std::string c = std::to_string(code);
    EXPECT_EQ(r.out, "connfail\t" + c + "\tdisconnected\n"
                     " reconnect gave_up attempt=0 delay=0 reason=connection refused by broker code=" + c +
                     " message=text 127.0.0.1:peer secure=false giving_up=true state=disconnected\n");
}

INSTANTIATE_TEST_SUITE_P(Permanent, LuaReconnectRefusal, ::testing::Values(1, 2, 4, 5));

// healthy_after_ms: a connection lost before it was up that long continues the attempt count (2 after the
// refused attempt 1); with 0 every connection is healthy, so its loss starts again at attempt 1.
class LuaReconnectHealthy : public ::testing::TestWithParam<int> {};

TEST_P(LuaReconnectHealthy, AttemptCountAfterLoss) {
    const peer::Step connect = peer::expect_packet(0x10);
    ScriptedPeer peer({{connect, peer::send(peer::connack(3)), peer::expect_close()},
                       {connect, peer::send(peer::connack(0)), peer::close()},
                       {connect, peer::send(peer::connack(0)), peer::expect_packet(0xe0), peer::expect_close()}});
    const int healthy_after_ms = GetParam();
    const auto r = run_script(script("reconnect_healthy.lua"),
                              {peer.host(), std::to_string(peer.port()), std::to_string(healthy_after_ms)});
    ASSERT_TRUE(r.status.success()) << describe(r);
    const std::string after_loss = healthy_after_ms == 0 ? "1" : "2";
    EXPECT_EQ(r.out,
        "connfail\t3\tdisconnected\n"
        " reconnect scheduled attempt=1 delay=ok reason=connection refused by broker code=3 message=text "
        "127.0.0.1:peer secure=false giving_up=false state=waiting\n"
        " reconnect attempting attempt=1 delay=ok reason=nil code=nil message=nil 127.0.0.1:peer secure=false "
        "giving_up=false state=connecting\n"
        "connected\t1\n"
        "offline\tdisconnected\n"
        " reconnect scheduled attempt=" + after_loss + " delay=ok reason=connection closed by peer code=0 "
        "message=text 127.0.0.1:peer secure=false giving_up=false state=waiting\n"
        " reconnect attempting attempt=" + after_loss + " delay=ok reason=nil code=nil message=nil 127.0.0.1:peer "
        "secure=false giving_up=false state=connecting\n"
        "connected\t2\n"
        "offline\tdisconnected\n");
}

INSTANTIATE_TEST_SUITE_P(HealthyAfterMs, LuaReconnectHealthy, ::testing::Values(0, 60000));

// A client waiting to reconnect has no reference but is not collected (full collections every 5 ms); once
// it gave up, it is.
TEST(LuaReliability, WaitingClientIsNotCollected) {
    const auto r = run_script(script("reconnect_gc.lua"), {"127.0.0.1", std::to_string(closed_loopback_port())});
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out,
        "gave up\t6\n"
        "kept while reconnecting\ttrue\n"
        "collected after giving up\ttrue\n");
}

// queue_while_offline: publish() before the first connect() and while the broker is down returns true, and
// each message reaches the broker after the next CONNACK (retained, then read back by a subscription).
TEST(LuaReliability, OfflineQueueDeliveredAfterReconnect) {
    MosquittoFixture broker;
    Process runner(nmqtt_run(script("reconnect_queue.lua"), address(broker)));
    ASSERT_TRUE(runner.wait_for_stdout("ready\n", 20s)) << runner.stdout_text() << runner.stderr_text();
    broker.stop();
    ASSERT_TRUE(runner.wait_for_stdout("queued while offline\ttrue\n", 20s))
        << runner.stdout_text() << runner.stderr_text();
    broker.start();
    EXPECT_TRUE(runner.wait_or_kill(20s).success()) << runner.stderr_text();
    EXPECT_EQ(runner.stdout_text(),
        "before connect\tdisconnected\ttrue\n"
        "connected\t1\n"
        "done\tearly\tnil\ttrue\n"
        "message\tearly\tqueued before connect()\ttrue\n"
        "ready\n"
        "offline\tdisconnected\n"
        "queued while offline\ttrue\n"
        "connected\t2\n"
        "done\tlate\tnil\ttrue\n"
        "message\tlate\tqueued while offline\ttrue\n"
        "close\ttrue\n"
        "offline\tdisconnected\n");
}

// session_store: QoS 1 and 2 messages queued by a process that never connected are in the store when
// publish() returns; a second process with the same client id and store sends them once connected.
TEST(LuaReliability, SessionStoreKeepsMessagesAcrossProcesses) {
    MosquittoFixture broker;
    TempDir dir("nmqtt-lua-store");
    const std::string store = (dir / "session.store").string();
    const auto write = run_script(script("store_write.lua"), {store});
    ASSERT_TRUE(write.status.success()) << describe(write);
    EXPECT_EQ(write.out, "queued\ttrue\nqueued\ttrue\n");
    const auto resend = run_script(script("store_resend.lua"), address(broker, {store}));
    ASSERT_TRUE(resend.status.success()) << describe(resend);
    EXPECT_EQ(resend.out,
        "stored client connected\tconnected\n"
        "message\tkept on disk, QoS 1\t1\n"
        "message\tkept on disk, QoS 2\t2\n");
    EXPECT_EQ(log_count(broker, "Received PUBLISH from nmqtt-lua-store", 2), 2U) << broker.log();
}

}  // namespace
}  // namespace nmqtt::test::lua
