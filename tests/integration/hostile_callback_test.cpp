// Hostile callbacks (issue 17, part 2): callbacks (connect, message, offline, connfail, publish/subscribe
// completions) that close the client, destroy it, reconnect it, publish thousands of messages, throw, or block
// longer than the keepalive. Against mosquitto (and a scripted peer for exact timing). The outcomes are the
// ones documented in include/nmqtt/client.hpp and docs/design.md.
#include <gtest/gtest.h>

#include <asio/post.hpp>

#include <chrono>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "client_harness.hpp"
#include "support/bytes.hpp"
#include "support/mosquitto_fixture.hpp"
#include "support/process.hpp"
#include "support/scripted_peer.hpp"
#include "support/socket_util.hpp"

namespace nmqtt::test {
namespace {

struct Boom : std::runtime_error {
    using std::runtime_error::runtime_error;
};

MosquittoOptions unbounded_broker() {
    return MosquittoOptions{.extra_config = {"max_inflight_messages 0", "max_queued_messages 0"}};
}

// Runs `io` until `done()`, counting the Boom exceptions that leave it (the client must survive each).
bool run_catching(asio::io_context& io, const std::function<bool()>& done, int& caught,
                  std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        try {
            if (io.stopped()) io.restart();
            if (io.run_for(10ms) == 0) std::this_thread::sleep_for(1ms);
        } catch (const Boom&) {
            ++caught;
        }
    }
    return true;
}

// Publishes `n` QoS 1 messages "0".."n-1" on `topic` from a client of its own, and waits for their PUBACKs.
void publish_burst(const MosquittoFixture& broker, const std::string& topic, int n) {
    asio::io_context io;
    Client pub(io, test_options("hc-burst"));
    ASSERT_TRUE(connect_and_wait(pub, broker.host(), broker.port()));
    int acked = 0;
    for (int i = 0; i < n; ++i) {
        ASSERT_TRUE(pub.publish(topic, std::to_string(i), 1, false, {}, [&](std::error_code ec, PacketId) {
            EXPECT_FALSE(ec);
            ++acked;
        }));
    }
    ASSERT_TRUE(run_until(io, [&] { return acked == n; }));
    ASSERT_TRUE(close_and_wait(pub));
}

// ---- close from every callback ------------------------------------------------------------------------

TEST(HostileCallbackTest, CloseFromEveryCallback) {
    MosquittoFixture broker;
    for (const std::string where : {"connect", "message", "suback", "puback", "completion"}) {
        SCOPED_TRACE(where);
        Client client(test_options("hc-close-" + where));
        Recorder rec;
        rec.attach(client);
        int later_callbacks = 0;
        bool closed = false;
        const auto close_here = [&](Client& c) {
            if (closed) {
                ++later_callbacks;
                return;
            }
            closed = true;
            EXPECT_TRUE(c.close());
            EXPECT_FALSE(c.is_connected());
            EXPECT_TRUE(c.close()) << "a close under way";
        };
        client.on(Event::offline, [&](Client&) { ++rec.offlines; });
        client.on(Event::connect, [&](Client& c) {
            ++rec.connects;
            if (where == "connect") {
                close_here(c);
                return;
            }
            c.subscribe("hc/close", 1, [&](Client& s) {
                if (where == "suback") close_here(s);
                if (where == "message" || where == "puback" || where == "completion") {
                    s.publish("hc/close", "x", 1, false, [&](Client& p) {
                        if (where == "puback") close_here(p);
                    }, [&](std::error_code, PacketId) {
                        if (where == "completion") close_here(client);
                    });
                }
            });
        });
        client.on_message([&](Client& c, const MessageView&) {
            if (where == "message") close_here(c);
        });
        client.connect(broker.host(), broker.port());
        ASSERT_TRUE(run_until(client, [&] { return rec.offlines == 1; })) << rec.connects;
        client.run_for(100ms);
        EXPECT_EQ(rec.connects, 1);
        EXPECT_EQ(rec.offlines, 1);
        EXPECT_EQ(later_callbacks, 0);
        EXPECT_FALSE(client.is_connected());
        EXPECT_FALSE(client.is_connecting());
        EXPECT_EQ(client.last_error(), Errc::closed_by_client);
        EXPECT_TRUE(broker.wait_for_log("Received DISCONNECT from hc-close-" + where)) << broker.log();
    }
}

TEST(HostileCallbackTest, CloseFromOfflineAndConnfailIsANoOp) {
    MosquittoFixture broker;
    Client client(test_options("hc-close-off"));
    int offlines = 0;
    int connfails = 0;
    client.on(Event::offline, [&](Client& c) {
        ++offlines;
        EXPECT_FALSE(c.close()) << "nothing left to close";
    });
    client.on_connfail([&](Client& c, int) {
        ++connfails;
        EXPECT_FALSE(c.close());
    });
    client.connect("127.0.0.1", closed_loopback_port());
    ASSERT_TRUE(run_until(client, [&] { return connfails == 1; }));
    ASSERT_TRUE(connect_and_wait(client, broker.host(), broker.port()));
    ASSERT_TRUE(client.close());
    ASSERT_TRUE(run_until(client, [&] { return offlines == 1; }));
    ASSERT_TRUE(connect_and_wait(client, broker.host(), broker.port())) << "usable afterwards";
}

// ---- reconnect from callbacks ---------------------------------------------------------------------------

TEST(HostileCallbackTest, ReconnectFromConnfailAndFromOffline) {
    MosquittoFixture broker;
    Client client(test_options("hc-reconnect"));
    int connects = 0;
    int connfails = 0;
    int offlines = 0;
    client.on_connfail([&](Client& c, int) {
        if (++connfails < 3) {
            c.connect("127.0.0.1", closed_loopback_port());  // fails again
        } else {
            c.connect(broker.host(), broker.port());
        }
    });
    client.on(Event::connect, [&](Client& c) {
        ++connects;
        if (connects == 1) {
            EXPECT_TRUE(c.close());
        }
    });
    client.on(Event::offline, [&](Client& c) {
        ++offlines;
        c.connect(broker.host(), broker.port());  // idle here: starts at once
    });
    client.connect("127.0.0.1", closed_loopback_port());
    ASSERT_TRUE(run_until(client, [&] { return connects == 2; }));
    EXPECT_EQ(connfails, 3);
    EXPECT_EQ(offlines, 1);
    EXPECT_TRUE(client.is_connected());
    client.on(Event::offline, {});
    EXPECT_TRUE(close_and_wait(client));
}

// ---- destroy from callbacks -----------------------------------------------------------------------------

// Destroying the client from its own callback is not allowed; it is detected (abort with a message) rather
// than left to run on freed memory.
TEST(HostileCallbackDeathTest, DestroyInsideItsOwnCallbackAbortsWithAMessage) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    MosquittoFixture broker;
    for (const std::string where : {"connect", "message", "completion"}) {
        SCOPED_TRACE(where);
        EXPECT_DEATH(
            {
                auto client = std::make_unique<Client>(test_options("hc-destroy"));
                asio::io_context& io = client->context();
                client->on_message([&](Client&, const MessageView&) { client.reset(); });
                client->connect(broker.host(), broker.port(), false, [&](Client& c) {
                    if (where == "connect") client.reset();
                    c.subscribe("hc/destroy", 0);
                    c.publish("hc/destroy", "x", 0, false, {}, [&](std::error_code, PacketId) {
                        if (where == "completion") client.reset();
                    });
                });
                run_until(io, [] { return false; }, 5s);
            },
            "destroyed inside one of its own callbacks");
    }
}

// What to do instead: close in the callback, destroy from a handler posted to the io_context (the caller's
// own here) once "offline" has run. Under ASan this shows nothing is touched afterwards.
TEST(HostileCallbackTest, DestroyFromAHandlerPostedByTheCallbackIsSafe) {
    MosquittoFixture broker;
    asio::io_context io;
    auto client = std::make_unique<Client>(io, test_options("hc-destroy-posted"));
    bool destroyed = false;
    client->on(Event::offline, [&](Client&) {
        asio::post(io, [&] {
            client.reset();
            destroyed = true;
        });
    });
    client->on_message([&](Client& c, const MessageView&) { EXPECT_TRUE(c.close()); });
    client->connect(broker.host(), broker.port(), false, [&](Client& c) {
        c.subscribe("hc/posted", 1);
        c.publish("hc/posted", "x", 1, false);
    });
    ASSERT_TRUE(run_until(io, [&] { return destroyed; }));
    io.run_for(100ms);
    EXPECT_EQ(client, nullptr);
}

// ---- thousands from a callback --------------------------------------------------------------------------

// 5000 QoS 1 publishes from inside one message callback: more than max_inflight (1024), so most are queued;
// every one is acknowledged, and a second client receives all of them.
TEST(HostileCallbackTest, FiveThousandQos1PublishesFromAMessageCallback) {
    constexpr int n = 5000;
    MosquittoFixture broker(unbounded_broker());
    asio::io_context io;
    Client sink(io, test_options("hc-sink"));
    std::set<std::string> received;
    sink.on_message([&](Client&, const MessageView& m) { received.emplace(m.payload); });
    ASSERT_TRUE(connect_and_wait(sink, broker.host(), broker.port()));
    bool subscribed = false;
    ASSERT_TRUE(sink.subscribe("hc/out", 1, [&](Client&) { subscribed = true; }));
    ASSERT_TRUE(run_until(io, [&] { return subscribed; }));

    Client client(io, test_options("hc-flood"));
    int completed = 0;
    int failed = 0;
    int pubacks = 0;
    client.on(Event::puback, [&](Client&) { ++pubacks; });
    client.on_message([&](Client& c, const MessageView&) {
        for (int i = 0; i < n; ++i) {
            const bool ok = c.publish("hc/out", std::to_string(i), 1, false, {}, [&](std::error_code ec, PacketId) {
                ++completed;
                if (ec) ++failed;
            });
            ASSERT_TRUE(ok) << i << " " << c.last_error().message();
        }
    });
    ASSERT_TRUE(connect_and_wait(client, broker.host(), broker.port()));
    bool trigger_subscribed = false;
    ASSERT_TRUE(client.subscribe("hc/go", 1, [&](Client&) { trigger_subscribed = true; }));
    ASSERT_TRUE(run_until(io, [&] { return trigger_subscribed; }));
    ASSERT_TRUE(client.publish("hc/go", "go", 1, false));
    ASSERT_TRUE(run_until(io, [&] { return completed == n && static_cast<int>(received.size()) == n; }, 60s))
        << completed << " " << received.size();
    EXPECT_EQ(failed, 0);
    EXPECT_EQ(pubacks, n + 1) << "every PUBACK, and the trigger's";
    EXPECT_EQ(client.pending_requests(), 0U);
    EXPECT_TRUE(client.is_connected());
}

// ---- exceptions -----------------------------------------------------------------------------------------

// The message callback throws for one of ten messages that arrive in one read: the exception leaves run(),
// the nine others are delivered (in order) by the next runs, every message is acknowledged, the connection
// stays up and the client stays usable.
TEST(HostileCallbackTest, ExceptionFromTheMessageCallbackLeavesRunAndLosesNothingElse) {
    constexpr int n = 10;
    MosquittoFixture broker(unbounded_broker());
    asio::io_context io;
    auto options = test_options("hc-throw");
    options.clean_session = false;
    Client client(io, options);
    std::vector<std::string> delivered;
    bool throw_all = false;
    client.on_message([&](Client&, const MessageView& m) {
        delivered.emplace_back(m.payload);
        if (throw_all || m.payload == "3") throw Boom("message " + std::string(m.payload));
    });
    ASSERT_TRUE(connect_and_wait(client, broker.host(), broker.port()));
    bool subscribed = false;
    ASSERT_TRUE(client.subscribe("hc/throw", 1, [&](Client&) { subscribed = true; }));
    ASSERT_TRUE(run_until(io, [&] { return subscribed; }));

    publish_burst(broker, "hc/throw", n);  // while this client's loop is not running: one read takes them all
    int caught = 0;
    ASSERT_TRUE(run_catching(io, [&] { return delivered.size() == static_cast<std::size_t>(n); }, caught)) << delivered.size();
    EXPECT_EQ(caught, 1);
    std::vector<std::string> expected;
    for (int i = 0; i < n; ++i) expected.push_back(std::to_string(i));
    EXPECT_EQ(delivered, expected);
    EXPECT_TRUE(client.is_connected());
    EXPECT_TRUE(wait_until([&] { return broker.count_in_log("Received PUBACK from hc-throw") == n; }, 5s))
        << broker.count_in_log("Received PUBACK from hc-throw");

    // Every callback throws: one exception per message, all delivered once, all acknowledged.
    throw_all = true;
    delivered.clear();
    caught = 0;
    publish_burst(broker, "hc/throw", n);
    ASSERT_TRUE(run_catching(io, [&] { return delivered.size() == static_cast<std::size_t>(n); }, caught)) << delivered.size();
    EXPECT_EQ(caught, n);
    EXPECT_EQ(delivered, expected);
    EXPECT_TRUE(wait_until([&] { return broker.count_in_log("Received PUBACK from hc-throw") == 2 * n; }, 5s));
    throw_all = false;

    bool acked = false;
    ASSERT_TRUE(client.publish("hc/after", "x", 1, false, {}, [&](std::error_code ec, PacketId) {
        EXPECT_FALSE(ec);
        acked = true;
    }));
    ASSERT_TRUE(run_until(io, [&] { return acked; })) << "still usable";
    EXPECT_TRUE(close_and_wait(client));
}

TEST(HostileCallbackTest, ExceptionsFromConnectCompletionAndOfflineCallbacks) {
    MosquittoFixture broker(unbounded_broker());
    asio::io_context io;
    Client client(io, test_options("hc-throw2"));
    int caught = 0;
    int connects = 0;
    client.on(Event::connect, [&](Client&) {
        ++connects;
        throw Boom("connect");
    });
    client.connect(broker.host(), broker.port());
    ASSERT_TRUE(run_catching(io, [&] { return caught == 1; }, caught));
    EXPECT_TRUE(client.is_connected()) << "the connection outlives the exception";
    EXPECT_EQ(connects, 1);

    // A QoS 1 completion that throws; the other completions still run, each once.
    int completions = 0;
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(client.publish("hc/c", std::to_string(i), 1, false, {}, [&, i](std::error_code ec, PacketId) {
            EXPECT_FALSE(ec);
            ++completions;
            if (i == 2) throw Boom("completion");
        }));
    }
    ASSERT_TRUE(run_catching(io, [&] { return completions == 5; }, caught));
    io.run_for(100ms);
    EXPECT_EQ(caught, 2);
    EXPECT_EQ(completions, 5);
    EXPECT_EQ(client.pending_requests(), 0U);

    // "offline" throws while a connect() deferred by the close waits: the connect starts all the same.
    client.on(Event::offline, [&](Client&) { throw Boom("offline"); });
    client.on(Event::connect, [&](Client&) { ++connects; });
    ASSERT_TRUE(client.close());
    client.connect(broker.host(), broker.port());
    ASSERT_TRUE(run_catching(io, [&] { return connects == 2; }, caught));
    EXPECT_EQ(caught, 3);
    EXPECT_TRUE(client.is_connected());
    client.on(Event::offline, {});
    EXPECT_TRUE(close_and_wait(client));
}

// ---- blocking longer than the keepalive -----------------------------------------------------------------

// A message callback blocks 1.5 x keepalive right after a PINGREQ went out, while the PINGRESP arrives (the
// peer sends it 100 ms after the PUBLISH, so it waits unread in the socket). Once the loop runs again the
// PINGRESP is read before the ping deadline is judged: no false ping timeout, the connection stays up.
TEST(HostileCallbackTest, CallbackBlockingPastThePingDeadlineDoesNotTimeOutFalsely) {
    const auto publish = hex("30 04 00 01 74 78");  // PUBLISH QoS 0 "t" "x"
    ScriptedPeer peer({{peer::expect_packet(0x10), peer::send(peer::connack(0, false)),
                        peer::expect(hex("C0 00"), 3s), peer::send(publish), peer::silence(100ms),
                        peer::send(hex("D0 00")), peer::expect(hex("C0 00"), 3s), peer::send(hex("D0 00")),
                        peer::expect_close(10s)}});
    Client client(test_options("hc-block", 1));
    Recorder rec;
    rec.attach(client);
    int blocked = 0;
    client.on_message([&](Client&, const MessageView&) {
        ++blocked;
        std::this_thread::sleep_for(1500ms);  // 1.5 x keepalive, past the ping deadline (1 s)
    });
    client.connect(peer.host(), peer.port());
    ASSERT_TRUE(run_until(client, [&] { return blocked == 1; }, 5s)) << peer.failure();
    client.run_for(500ms);  // the next PINGREQ (due at once: nothing was sent while blocked), answered
    EXPECT_EQ(rec.offlines, 0) << client.last_error().message();
    EXPECT_TRUE(client.is_connected()) << client.last_error().message();
    EXPECT_NE(client.last_error(), Errc::ping_timeout);
    EXPECT_TRUE(close_and_wait(client));
    ASSERT_TRUE(peer.wait_done(5s));
    EXPECT_TRUE(peer.matched()) << peer.failure();
}

// Against mosquitto with keepalive 1 s, a callback that blocks 1.5 s may let the broker drop the connection
// (1.5 x keepalive of silence, [MQTT-3.1.2-24]): the client then reports a lost connection, never a ping
// timeout of its own, and with reconnect and clean session 0 recovers without losing a message.
TEST(HostileCallbackTest, CallbackBlockingPastOneAndAHalfKeepaliveRecovers) {
    constexpr int n = 6;
    MosquittoFixture broker(unbounded_broker());
    asio::io_context io;
    auto options = test_options("hc-block2", 1);
    options.clean_session = false;
    options.reconnect.enabled = true;
    options.reconnect.initial_delay = 50ms;
    options.reconnect.max_delay = 200ms;
    Client client(io, options);
    std::set<std::string> received;
    std::vector<std::error_code> endings;
    client.on(Event::offline, [&](Client& c) { endings.push_back(c.last_error()); });
    client.on_message([&](Client&, const MessageView& m) {
        if (received.emplace(m.payload).second && m.payload == "0") std::this_thread::sleep_for(1500ms);
    });
    ASSERT_TRUE(connect_and_wait(client, broker.host(), broker.port()));
    bool subscribed = false;
    ASSERT_TRUE(client.subscribe("hc/block", 1, [&](Client&) { subscribed = true; }));
    ASSERT_TRUE(run_until(io, [&] { return subscribed; }));
    publish_burst(broker, "hc/block", n);
    ASSERT_TRUE(run_until(io, [&] { return received.size() == static_cast<std::size_t>(n) && client.is_connected(); }, 15s))
        << received.size();
    for (const auto& e : endings) EXPECT_NE(e, Errc::ping_timeout) << e.message();
    std::cout << "[ outcome  ] connections lost while blocked: " << endings.size() << std::endl;
    EXPECT_TRUE(close_and_wait(client));
}

}  // namespace
}  // namespace nmqtt::test
