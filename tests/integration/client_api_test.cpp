// nmqtt::Client's NodeMCU semantics: argument checks and last_error(), requests queued while connecting,
// silent cancel, callback aliasing, per-operation completions, re-entrant callbacks, connection endings,
// the caller's io_context and calls from another thread.
#include <gtest/gtest.h>

#include <asio/post.hpp>

#include <atomic>
#include <thread>
#include <string>
#include <vector>

#include "client_harness.hpp"
#include "support/bytes.hpp"
#include "support/mosquitto_fixture.hpp"
#include "support/process.hpp"
#include "support/scripted_peer.hpp"

namespace nmqtt::test {
namespace {

// ---- arguments and state --------------------------------------------------------------------------------

TEST(ClientApiTest, RequestsWhileIdleFailWithNotConnected) {
    Client client(test_options("idle"));
    EXPECT_FALSE(client.publish("a", "x", 0, false));
    EXPECT_EQ(client.last_error(), Errc::not_connected);
    EXPECT_FALSE(client.subscribe("a", 1));
    EXPECT_EQ(client.last_error(), Errc::not_connected);
    EXPECT_FALSE(client.unsubscribe("a"));
    EXPECT_EQ(client.last_error(), Errc::not_connected);
    EXPECT_FALSE(client.close());
    EXPECT_FALSE(client.is_connected());
    EXPECT_FALSE(client.is_connecting());
    EXPECT_EQ(client.poll(), 0U);
}

TEST(ClientApiTest, BadArgumentsFailWithReason) {
    MosquittoFixture broker;
    Client client(test_options("args"));
    ASSERT_TRUE(connect_and_wait(client, broker.host(), broker.port()));
    EXPECT_FALSE(client.publish("a", "x", 3, false));
    EXPECT_EQ(client.last_error(), Errc::bad_qos);
    EXPECT_FALSE(client.publish("a", "x", -1, false));
    EXPECT_EQ(client.last_error(), Errc::bad_qos);
    EXPECT_FALSE(client.publish("a/+", "x", 0, false));
    EXPECT_EQ(client.last_error(), Errc::bad_topic_name);
    EXPECT_FALSE(client.publish("", "x", 0, false));
    EXPECT_EQ(client.last_error(), Errc::bad_topic_name);
    EXPECT_FALSE(client.subscribe("a/#/b", 0));
    EXPECT_EQ(client.last_error(), Errc::bad_topic_filter);
    EXPECT_FALSE(client.subscribe("a", 7));
    EXPECT_EQ(client.last_error(), Errc::bad_qos);
    EXPECT_FALSE(client.subscribe(std::span<const std::pair<std::string, int>>{}));
    EXPECT_EQ(client.last_error(), Errc::empty_payload);
    EXPECT_FALSE(client.unsubscribe(std::span<const std::string>{}));
    EXPECT_EQ(client.last_error(), Errc::empty_payload);
    EXPECT_FALSE(client.publish(std::string_view("a\0b", 3), "x", 0, false));
    EXPECT_EQ(client.last_error(), Errc::bad_utf8);
    EXPECT_TRUE(client.is_connected()) << "refused requests leave the connection alone";
    EXPECT_TRUE(close_and_wait(client));
}

TEST(ClientApiTest, ConstructorRefusesForbiddenOptions) {
    auto code_of = [](auto make) {
        try {
            make();
        } catch (const std::system_error& e) {
            return e.code();
        }
        return std::error_code{};
    };
    EXPECT_EQ(code_of([] { Client c("id", 60, std::nullopt, std::string("pw")); }), Errc::password_without_username);
    EXPECT_EQ(code_of([] { Client c("", 60, std::nullopt, std::nullopt, false); }),
              Errc::empty_client_id_needs_clean_session);
    EXPECT_EQ(code_of([] { Client c(std::string("bad\xff", 4), 60); }), Errc::bad_utf8);
    EXPECT_EQ(code_of([] {
                  auto o = test_options("zero-inflight");
                  o.max_inflight = 0;
                  Client c(o);
              }),
              Errc::invalid_argument);
    EXPECT_EQ(code_of([] { Client c("", 60); }), std::error_code{}) << "empty id with clean session is allowed";
}

TEST(ClientApiTest, LwtChecksItsArguments) {
    MosquittoFixture broker;
    Client client(test_options("lwt-args"));
    EXPECT_THROW(client.lwt("a/+", "x"), std::system_error);
    try {
        client.lwt("a", "x", 3);
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), Errc::bad_qos);
    }
    client.lwt("a", "x", 2, true);
    ASSERT_TRUE(connect_and_wait(client, broker.host(), broker.port()));
    // While connected: accepted for the next connect, as NodeMCU's lwt() is; bad arguments still throw.
    EXPECT_NO_THROW(client.lwt("a", "y"));
    EXPECT_THROW(client.lwt("a/#", "y"), std::system_error);
}

// ---- connecting -----------------------------------------------------------------------------------------

// [MQTT-3.1.0-1]: requests made before the CONNACK are queued; CONNECT is still the first packet.
TEST(ClientApiTest, RequestsWhileConnectingAreQueuedBehindConnect_MQTT_3_1_0_1) {
    ScriptedPeer peer({{peer::expect_packet(0x10), peer::send(peer::connack(0)), peer::expect_packet(0x82),
                        peer::expect_packet(0x32), peer::send(hex("90 03 00 01 01")),  // SUBACK id 1, QoS 1
                        peer::send(hex("40 02 00 02")),                              // PUBACK id 2
                        peer::expect_packet(0xE0), peer::expect_close()}});
    Client client(test_options("queued"));
    Recorder r;
    r.attach(client);
    client.connect(peer.host(), peer.port());
    std::vector<std::uint8_t> granted;
    PacketId publish_id = 0;
    ASSERT_TRUE(client.subscribe("q/t", 1, {}, [&](std::error_code, PacketId, std::span<const std::uint8_t> g) {
        granted.assign(g.begin(), g.end());
    }));
    ASSERT_TRUE(client.publish("q/t", "early", 1, false, {}, [&](std::error_code ec, PacketId id) {
        EXPECT_FALSE(ec);
        publish_id = id;
    }));
    ASSERT_TRUE(run_until(client, [&] { return r.pubacks == 1 && r.subacks == 1; })) << peer.failure();
    EXPECT_EQ(granted, std::vector<std::uint8_t>{1});
    EXPECT_EQ(publish_id, 2);
    EXPECT_TRUE(client.close());
    ASSERT_TRUE(run_until(client, [&] { return r.offlines == 1; }));
    ASSERT_TRUE(peer.wait_done(5s)) << peer.failure();
    EXPECT_TRUE(peer.matched()) << peer.failure();
}

TEST(ClientApiTest, CloseDuringConnectCancelsSilently) {
    ScriptedPeer silent(ScriptedPeer::Mode::silent);
    MosquittoFixture broker;
    Client client(test_options("cancel"));
    Recorder r;
    r.attach(client);
    client.connect(silent.host(), silent.port());
    ASSERT_TRUE(run_until(client, [&] { return silent.connections_accepted() >= 1; }));
    EXPECT_TRUE(client.close());
    EXPECT_FALSE(client.is_connecting());
    client.run();  // returns: nothing left to do once the attempt is gone
    EXPECT_EQ(r.connects, 0);
    EXPECT_TRUE(r.connfails.empty()) << "close() during connect reports nothing";
    EXPECT_EQ(r.offlines, 0);
    ASSERT_TRUE(connect_and_wait(client, broker.host(), broker.port())) << "usable again";
}

TEST(ClientApiTest, CloseDuringResolutionDropsTheLateAnswer) {
    MosquittoFixture broker;
    ResolveHandler pending;
    auto o = test_options("cancel-resolve");
    o.resolve = [&](const std::string&, ResolveHandler done) { pending = std::move(done); };
    Client client(o);
    Recorder r;
    r.attach(client);
    client.connect("broker.test", broker.port());
    client.poll();
    ASSERT_TRUE(pending);
    EXPECT_TRUE(client.close());
    pending({}, {"127.0.0.1"});  // arrives after the attempt was cancelled
    client.run();
    EXPECT_EQ(r.connects, 0);
    EXPECT_TRUE(r.connfails.empty());
    EXPECT_EQ(broker.count_in_log("New connection from"), 0U) << broker.log();
}

// ---- callbacks ------------------------------------------------------------------------------------------

TEST(ClientApiTest, ConnectCallbacksAliasOnCallbacks) {
    MosquittoFixture broker;
    Client client(test_options("alias-connect"));
    int via_on = 0;
    int via_connect = 0;
    client.on(Event::connect, [&](Client&) { ++via_on; });
    client.connect(broker.host(), broker.port(), false, [&](Client&) { ++via_connect; });
    ASSERT_TRUE(run_until(client, [&] { return via_connect + via_on > 0; }));
    EXPECT_EQ(via_on, 0) << "the callback passed to connect() replaced the one from on()";
    ASSERT_TRUE(close_and_wait(client));
    client.connect(broker.host(), broker.port());  // null callbacks keep the existing ones
    ASSERT_TRUE(run_until(client, [&] { return via_connect == 2; }));
    ASSERT_TRUE(close_and_wait(client));
    client.on(Event::connect, {});  // unregistered
    client.connect(broker.host(), broker.port());
    ASSERT_TRUE(run_until(client, [&] { return client.is_connected(); }));
    EXPECT_EQ(via_connect, 2);
    EXPECT_EQ(via_on, 0);
}

TEST(ClientApiTest, PublishCallbackAliasesPubackForAllPublishes) {
    MosquittoFixture broker;
    Client client(test_options("alias-puback"));
    ASSERT_TRUE(connect_and_wait(client, broker.host(), broker.port()));
    int first = 0;
    int second = 0;
    ASSERT_TRUE(client.publish("a", "1", 1, false, [&](Client&) { ++first; }));
    ASSERT_TRUE(client.publish("a", "2", 1, false));  // null: keeps `first`
    ASSERT_TRUE(run_until(client, [&] { return first == 2; }));
    ASSERT_TRUE(client.publish("a", "3", 0, false, [&](Client&) { ++second; }));
    ASSERT_TRUE(run_until(client, [&] { return second == 1; }));
    EXPECT_EQ(first, 2);
}

TEST(ClientApiTest, SubscribeAndUnsubscribeCallbacksAlias) {
    MosquittoFixture broker;
    Client client(test_options("alias-sub"));
    ASSERT_TRUE(connect_and_wait(client, broker.host(), broker.port()));
    int on_suback = 0;
    int passed = 0;
    client.on(Event::suback, [&](Client&) { ++on_suback; });
    ASSERT_TRUE(client.subscribe("a", 0));
    ASSERT_TRUE(run_until(client, [&] { return on_suback == 1; }));
    ASSERT_TRUE(client.subscribe("b", 0, [&](Client&) { ++passed; }));
    ASSERT_TRUE(client.subscribe("c", 0));
    ASSERT_TRUE(run_until(client, [&] { return passed == 2; }));
    EXPECT_EQ(on_suback, 1);
    int unsub = 0;
    ASSERT_TRUE(client.unsubscribe("a", [&](Client&) { ++unsub; }));
    ASSERT_TRUE(client.unsubscribe(std::vector<std::string>{"b", "c"}));
    ASSERT_TRUE(run_until(client, [&] { return unsub == 2; }));
}

TEST(ClientApiTest, OnForMessageEventsWithoutArguments) {
    MosquittoFixture broker;
    Client client(test_options("on-message"));
    int messages = 0;
    client.on(Event::message, [&](Client&) { ++messages; });
    ASSERT_TRUE(connect_and_wait(client, broker.host(), broker.port()));
    ASSERT_TRUE(client.subscribe("m", 0));
    ASSERT_TRUE(client.publish("m", "x", 1, false));
    ASSERT_TRUE(run_until(client, [&] { return messages == 1; }));
}

TEST(ClientApiTest, CallbacksMayReenterTheClient) {
    MosquittoFixture broker;
    Client client(test_options("reenter"));
    std::vector<std::string> seen;
    bool offline = false;
    // Echo: each message makes the next one, from inside the callback; the last closes the client.
    client.on_message([&](Client& c, const MessageView& m) {
        seen.emplace_back(m.payload);
        if (seen.size() < 5) {
            EXPECT_TRUE(c.publish("echo", "n" + std::to_string(seen.size()), 1, false));
        } else {
            EXPECT_TRUE(c.close());
        }
    });
    client.on(Event::offline, [&](Client&) { offline = true; });
    client.connect(broker.host(), broker.port(), false, [](Client& c) {
        EXPECT_TRUE(c.subscribe("echo", 1, [](Client& s) { EXPECT_TRUE(s.publish("echo", "n0", 1, false)); }));
    });
    client.run();  // returns once the connection ended
    EXPECT_TRUE(offline);
    EXPECT_EQ(seen, (std::vector<std::string>{"n0", "n1", "n2", "n3", "n4"}));
}

TEST(ClientApiTest, CallbackMayReplaceItself) {
    MosquittoFixture broker;
    Client client(test_options("replace"));
    int first = 0;
    int second = 0;
    client.on_message([&](Client& c, const MessageView&) {
        ++first;
        c.on_message([&](Client&, const MessageView&) { ++second; });  // destroys the running function's slot
    });
    ASSERT_TRUE(connect_and_wait(client, broker.host(), broker.port()));
    ASSERT_TRUE(client.subscribe("r", 1));
    ASSERT_TRUE(client.publish("r", "1", 1, false));
    ASSERT_TRUE(client.publish("r", "2", 1, false));
    ASSERT_TRUE(run_until(client, [&] { return first + second == 2; }));
    EXPECT_EQ(first, 1);
    EXPECT_EQ(second, 1);
}

TEST(ClientApiTest, ConnfailCallbackMayConnectAgain) {
    MosquittoFixture broker;
    Client client(test_options("retry"));
    std::vector<int> failures;
    bool connected = false;
    client.on(Event::connect, [&](Client&) { connected = true; });
    client.on_connfail([&](Client& c, int reason) {
        failures.push_back(reason);
        c.connect(broker.host(), broker.port());  // from inside the failure callback
    });
    client.connect("127.0.0.1", closed_loopback_port());
    ASSERT_TRUE(run_until(client, [&] { return connected; }));
    EXPECT_EQ(failures, std::vector<int>{static_cast<int>(ConnFail::server_not_found)});
}

TEST(ClientApiTest, OfflineCallbackMayConnectAgain) {
    MosquittoFixture broker;
    Client client(test_options("again-offline"));
    int connects = 0;
    client.on(Event::connect, [&](Client& c) {
        if (++connects == 1) c.close();
    });
    client.on(Event::offline, [&](Client& c) { c.connect(broker.host(), broker.port()); });
    client.connect(broker.host(), broker.port());
    ASSERT_TRUE(run_until(client, [&] { return connects == 2; }));
    EXPECT_TRUE(client.is_connected());
}

// ---- connection endings ---------------------------------------------------------------------------------

TEST(ClientApiTest, MissingPingrespEndsConnection_MQTT_3_1_2_24) {
    ScriptedPeer peer({{peer::expect_packet(0x10), peer::send(peer::connack(0)), peer::expect_packet(0xC0),
                        peer::expect_close(10s)}});
    auto o = test_options("no-pingresp", 1);
    o.ping_timeout = 300ms;
    Client client(o);
    Recorder r;
    r.attach(client);
    client.connect(peer.host(), peer.port());
    ASSERT_TRUE(run_until(client, [&] { return r.offlines == 1; }, 10s));
    EXPECT_EQ(r.connects, 1);
    EXPECT_TRUE(r.connfails.empty());
    EXPECT_EQ(client.last_error(), Errc::ping_timeout);
    ASSERT_TRUE(peer.wait_done(5s));
    EXPECT_TRUE(peer.matched()) << "the client closes the connection: " << peer.failure();
}

TEST(ClientApiTest, MalformedPacketClosesConnection_MQTT_4_8_0_1) {
    // Packet type 0 is reserved (Table 2.1).
    ScriptedPeer peer({{peer::expect_packet(0x10), peer::send(peer::connack(0)), peer::send(hex("00 00")),
                        peer::expect_close()}});
    Client client(test_options("malformed"));
    Recorder r;
    r.attach(client);
    client.connect(peer.host(), peer.port());
    ASSERT_TRUE(run_until(client, [&] { return r.offlines == 1; }));
    EXPECT_EQ(client.last_error(), Errc::bad_packet_type);
    ASSERT_TRUE(peer.wait_done(5s));
    EXPECT_TRUE(peer.matched()) << peer.failure();
}

TEST(ClientApiTest, ServerClosingIsOffline) {
    ScriptedPeer peer({{peer::expect_packet(0x10), peer::send(peer::connack(0)), peer::close()}});
    Client client(test_options("server-closes"));
    Recorder r;
    r.attach(client);
    client.connect(peer.host(), peer.port());
    ASSERT_TRUE(run_until(client, [&] { return r.offlines == 1; }));
    EXPECT_EQ(r.connects, 1);
    EXPECT_EQ(client.last_error(), Errc::connection_closed);
    EXPECT_FALSE(client.last_error_message().empty());
}

// ---- event loops ----------------------------------------------------------------------------------------

TEST(ClientApiTest, DestroyedClientLeavesTheCallersLoopClean) {
    MosquittoFixture broker;
    asio::io_context io;
    int callbacks = 0;
    {
        Client client(io, test_options("destroyed"));
        client.on(Event::offline, [&](Client&) { ++callbacks; });
        ASSERT_TRUE(connect_and_wait(client, broker.host(), broker.port()));
        ASSERT_TRUE(client.subscribe("d", 1));
        ASSERT_TRUE(client.publish("d", "pending", 1, false));
    }  // destroyed with a read, a write and the timer pending
    io.restart();
    io.run_for(200ms);
    EXPECT_EQ(callbacks, 0);
    EXPECT_TRUE(broker.wait_for_log("Client destroyed closed its connection.")) << broker.log();
}

TEST(ClientApiTest, CallsFromAnotherThreadThroughPost) {
    MosquittoFixture broker;
    Client client(test_options("threads"));
    Recorder r;
    r.attach(client);
    ASSERT_TRUE(connect_and_wait(client, broker.host(), broker.port()));
    ASSERT_TRUE(client.subscribe("t", 1));
    ASSERT_TRUE(run_until(client, [&] { return r.subacks == 1; }));
    std::atomic<int> posted{0};
    std::thread other([&] {
        for (int i = 0; i < 20; ++i) {
            asio::post(client.context(), [&client, i] { client.publish("t", std::to_string(i), 1, false); });
            ++posted;
        }
    });
    other.join();
    ASSERT_TRUE(run_until(client, [&] { return r.messages.size() == 20; }));
    EXPECT_EQ(posted.load(), 20);
    EXPECT_EQ(r.messages.front().payload, "0");
    EXPECT_EQ(r.messages.back().payload, "19");
}

}  // namespace
}  // namespace nmqtt::test
