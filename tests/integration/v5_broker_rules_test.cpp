// MQTT 5.0 rules that bind the server ("server: be ready for" in docs/conformance/mqtt5-client-musts.md),
// shown through a real mosquitto 2.0.x: what nmqtt's client sees when a conforming server forwards
// properties, applies subscription options, keeps or drops wills and sessions, and discards what is too big.
// Every client here is an nmqtt::Client speaking 5.0; several share one io_context so that one run_until()
// drives them all. Negative checks ("nothing arrives") use a marker: a later message on the same path, which a
// broker that keeps per-subscriber order delivers after the one that must not come.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio/io_context.hpp>

#include "client_harness.hpp"
#include "support/fault_proxy.hpp"
#include "support/mosquitto_fixture.hpp"

namespace nmqtt::test {
namespace {

/// A persistent session (Clean Start 0) that outlives the connection by `expiry` seconds.
ClientOptions persistent_options(std::string id, std::uint32_t expiry) {
    auto o = v5_options(std::move(id));
    o.clean_session = false;
    o.v5.session_expiry_interval = expiry;
    return o;
}

/// An owned copy of a received message with its properties.
struct Got {
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
    protocol::Properties props;

    [[nodiscard]] protocol::PropertiesView view() const { return props.view(); }
    [[nodiscard]] std::vector<std::string> user() const {
        std::vector<std::string> out;
        view().for_each_user_property(
            [&](std::string_view k, std::string_view v) { out.push_back(std::string(k) + "=" + std::string(v)); });
        return out;
    }
};

/// A v5 client on a shared io_context that records its messages and connection ends.
struct Peer {
    Peer(asio::io_context& io, ClientOptions o) : client(io, std::move(o)) {
        client.on_message([this](Client&, const MessageView& m) {
            Got g{std::string(m.topic), std::string(m.payload), static_cast<int>(m.qos), m.retain, {}};
            g.props.append(m.properties);
            got.push_back(std::move(g));
        });
        client.on(Event::offline, [this](Client&) { ++offlines; });
    }
    Peer(const Peer&) = delete;
    Peer& operator=(const Peer&) = delete;

    [[nodiscard]] std::vector<std::string> payloads() const {
        std::vector<std::string> out;
        for (const auto& g : got) out.push_back(g.payload);
        return out;
    }
    [[nodiscard]] bool has(const std::string& payload) const {
        for (const auto& g : got) {
            if (g.payload == payload) return true;
        }
        return false;
    }

    Client client;
    std::vector<Got> got;
    int offlines = 0;
};

/// Subscribes one entry and waits for the SUBACK; true when it granted the subscription. The completion's
/// state is shared, so that a SUBACK arriving after a timeout writes nothing freed.
bool subscribe_entry(Client& client, protocol::SubscribeEntry entry) {
    struct State {
        bool done = false;
        std::uint8_t code = 0xFF;
    };
    auto st = std::make_shared<State>();
    const std::vector<protocol::SubscribeEntry> entries{entry};
    const bool accepted = client.subscribe(entries, {}, [st](const Acknowledgement& ack) {
        if (!ack.error && !ack.reason_codes.empty()) st->code = ack.reason_codes[0];
        st->done = true;
    });
    return accepted && run_until(client, [&] { return st->done; }) && st->code < 0x80;
}

bool subscribe_qos1(Client& client, std::string_view filter) {
    return subscribe_entry(client, protocol::SubscribeEntry{filter, QoS::at_least_once});
}

/// Publishes at QoS 1 and waits for the PUBACK (a success, 0x10 No matching subscribers included).
bool publish_and_wait(Client& client, std::string_view topic, std::string_view payload, bool retain = false,
                      protocol::PropertiesView props = {}) {
    struct State {
        bool done = false;
        std::error_code error;
    };
    auto st = std::make_shared<State>();
    const bool accepted =
        client.publish(OutgoingMessage{topic, payload, 1, retain, props}, [st](const Acknowledgement& a) {
            st->error = a.error;
            st->done = true;
        });
    return accepted && run_until(client, [&] { return st->done; }) && !st->error;
}

/// Runs `io` for `duration` whatever happens (the broker needs wall-clock time: delays and expiries).
void run_for(asio::io_context& io, std::chrono::milliseconds duration) {
    (void)run_until(io, [] { return false; }, duration);
}

/// A client with a will, connected through a FaultProxy so that the test can cut it abruptly.
struct WillScene {
    explicit WillScene(MosquittoOptions options = {})
        : broker(std::move(options)), proxy(broker.host(), broker.port()), watcher(io, v5_options("v5r-watcher")) {
        EXPECT_TRUE(connect_and_wait(watcher.client, broker.host(), broker.port())) << broker.log();
        EXPECT_TRUE(subscribe_qos1(watcher.client, "will/t"));
    }
    /// Connects `peer` through the proxy (abrupt cut possible) or straight to the broker.
    bool connect(Peer& peer, bool through_proxy = true) {
        return through_proxy ? connect_and_wait(peer.client, proxy.host(), proxy.port())
                             : connect_and_wait(peer.client, broker.host(), broker.port());
    }
    /// The watcher publishes a marker on the will topic and waits for it: whatever the broker published there
    /// before has arrived by then.
    bool marker() {
        const auto before = watcher.got.size();
        return publish_and_wait(watcher.client, "will/t", "marker") &&
               run_until(io, [&] { return watcher.got.size() > before && watcher.got.back().payload == "marker"; });
    }
    [[nodiscard]] std::size_t wills() const {
        std::size_t n = 0;
        for (const auto& g : watcher.got) {
            if (g.payload == "gone") ++n;
        }
        return n;
    }

    asio::io_context io;
    MosquittoFixture broker;
    FaultProxy proxy;
    Peer watcher;
};

// ---- the will ---------------------------------------------------------------------------------------------

// Will Flag 1: the server stores the will with the session and publishes it when the connection is lost
// without a DISCONNECT (here: TCP reset by the proxy).
TEST(V5BrokerRules, MQTT_3_1_2_7_will_is_stored_and_published_on_abrupt_loss) {
    WillScene s;
    Peer c(s.io, v5_options("v5r-will"));
    c.client.lwt("will/t", "gone", 1, false);
    ASSERT_TRUE(s.connect(c)) << s.broker.log();
    EXPECT_TRUE(s.watcher.got.empty());  // stored, not published while connected
    s.proxy.cut_all();
    ASSERT_TRUE(run_until(s.io, [&] { return c.offlines == 1 && s.wills() == 1; })) << s.broker.log();
    EXPECT_EQ(s.watcher.got[0].topic, "will/t");
    EXPECT_EQ(s.watcher.got[0].qos, 1);
    EXPECT_FALSE(s.watcher.got[0].retain);
}

// The will is published once the connection is closed and the Will Delay Interval (2 s) has passed, not
// before (the session, 60 s, outlives the delay). mosquitto counts whole seconds: the will comes 1..3 s after
// the loss.
TEST(V5BrokerRules, MQTT_3_1_2_8_will_is_published_after_the_will_delay_interval) {
    WillScene s;
    Peer c(s.io, persistent_options("v5r-delay", 60));
    c.client.lwt("will/t", "gone", 1, false, protocol::Properties().will_delay_interval(2).view());
    ASSERT_TRUE(s.connect(c)) << s.broker.log();
    s.proxy.cut_all();
    const auto cut = std::chrono::steady_clock::now();
    ASSERT_TRUE(run_until(s.io, [&] { return c.offlines == 1; }));
    EXPECT_FALSE(run_until(s.io, [&] { return s.wills() > 0; }, 700ms)) << "published before the delay";
    ASSERT_TRUE(run_until(s.io, [&] { return s.wills() == 1; }, 4000ms)) << s.broker.log();
    EXPECT_GE(std::chrono::steady_clock::now() - cut, 900ms);
}

// The will is removed from the session once published: a new connection of the same session (Clean Start 0,
// no will of its own) that is lost abruptly publishes nothing more.
TEST(V5BrokerRules, MQTT_3_1_2_10_will_is_removed_once_published) {
    WillScene s;
    {
        Peer c(s.io, persistent_options("v5r-once", 60));
        c.client.lwt("will/t", "gone", 1, false);
        ASSERT_TRUE(s.connect(c)) << s.broker.log();
        s.proxy.cut_all();
        ASSERT_TRUE(run_until(s.io, [&] { return c.offlines == 1 && s.wills() == 1; })) << s.broker.log();
    }
    Peer again(s.io, persistent_options("v5r-once", 60));
    ASSERT_TRUE(s.connect(again)) << s.broker.log();
    s.proxy.cut_all();
    ASSERT_TRUE(run_until(s.io, [&] { return again.offlines == 1; }));
    run_for(s.io, 500ms);  // the broker notices the reset
    ASSERT_TRUE(s.marker());
    EXPECT_EQ(s.wills(), 1U) << s.broker.log();
}

// A new connection to the session within the Will Delay Interval: the will is not sent.
TEST(V5BrokerRules, MQTT_3_1_3_9_new_connection_within_the_will_delay_suppresses_the_will) {
    WillScene s;
    {
        Peer c(s.io, persistent_options("v5r-back", 60));
        c.client.lwt("will/t", "gone", 1, false, protocol::Properties().will_delay_interval(2).view());
        ASSERT_TRUE(s.connect(c)) << s.broker.log();
        s.proxy.cut_all();
        ASSERT_TRUE(run_until(s.io, [&] { return c.offlines == 1; }));
    }
    Peer again(s.io, persistent_options("v5r-back", 60));
    ASSERT_TRUE(s.connect(again, false)) << s.broker.log();
    run_for(s.io, 3500ms);  // past the delay, with mosquitto's whole-second rounding
    ASSERT_TRUE(s.marker());
    EXPECT_EQ(s.wills(), 0U) << s.broker.log();
    EXPECT_EQ(again.offlines, 0);
    EXPECT_TRUE(close_and_wait(again.client));
}

// The will's User Properties arrive in the order the CONNECT gave them, repeated names included.
TEST(V5BrokerRules, MQTT_3_1_3_10_will_user_properties_keep_their_order) {
    WillScene s;
    Peer c(s.io, v5_options("v5r-willprops"));
    protocol::Properties p;
    p.add_user_property("b", "2").add_user_property("a", "1").add_user_property("b", "3").add_user_property("z", "");
    c.client.lwt("will/t", "gone", 1, false, p.view());
    ASSERT_TRUE(s.connect(c)) << s.broker.log();
    s.proxy.cut_all();
    ASSERT_TRUE(run_until(s.io, [&] { return s.wills() == 1; })) << s.broker.log();
    EXPECT_EQ(s.watcher.got[0].user(), (std::vector<std::string>{"b=2", "a=1", "b=3", "z="}));
}

// DISCONNECT 0x04 (Disconnect with Will Message) publishes the will; DISCONNECT 0x00 discards it.
TEST(V5BrokerRules, MQTT_3_14_4_3_disconnect_0x04_publishes_the_will_0x00_does_not) {
    WillScene s;
    Peer normal(s.io, v5_options("v5r-normal"));
    normal.client.lwt("will/t", "gone", 1, false);
    ASSERT_TRUE(s.connect(normal, false)) << s.broker.log();
    ASSERT_TRUE(normal.client.close(session::DisconnectRequest{0x00, std::nullopt, {}}));
    ASSERT_TRUE(run_until(s.io, [&] { return normal.offlines == 1; }));
    ASSERT_TRUE(s.broker.wait_for_log("Client v5r-normal disconnected")) << s.broker.log();
    ASSERT_TRUE(s.marker());
    EXPECT_EQ(s.wills(), 0U) << "DISCONNECT 0x00 must discard the will";

    Peer with_will(s.io, v5_options("v5r-with-will"));
    with_will.client.lwt("will/t", "gone", 1, false);
    ASSERT_TRUE(s.connect(with_will, false)) << s.broker.log();
    ASSERT_TRUE(with_will.client.close(session::DisconnectRequest{0x04, std::nullopt, {}}));
    ASSERT_TRUE(run_until(s.io, [&] { return with_will.offlines == 1 && s.wills() == 1; })) << s.broker.log();
    EXPECT_EQ(with_will.client.last_error(), Errc::closed_by_client);
}

// ---- limits -----------------------------------------------------------------------------------------------

// We announce Maximum Packet Size 128: the broker discards a larger message for us (QoS 1) without sending it
// and goes on as if it had been delivered; the next small message arrives on the same connection.
TEST(V5BrokerRules, MQTT_3_1_2_25_message_above_our_maximum_packet_size_is_discarded) {
    asio::io_context io;
    MosquittoFixture broker;
    auto o = v5_options("v5r-small");
    o.v5.maximum_packet_size = 128;
    Peer sub(io, o);
    Peer pub(io, v5_options("v5r-bigpub"));
    ASSERT_TRUE(connect_and_wait(sub.client, broker.host(), broker.port())) << broker.log();
    ASSERT_TRUE(connect_and_wait(pub.client, broker.host(), broker.port())) << broker.log();
    ASSERT_TRUE(subscribe_qos1(sub.client, "mps/t"));
    ASSERT_TRUE(publish_and_wait(pub.client, "mps/t", std::string(600, 'x')));
    ASSERT_TRUE(publish_and_wait(pub.client, "mps/t", "small"));
    ASSERT_TRUE(run_until(io, [&] { return sub.has("small") || sub.offlines > 0; })) << broker.log();
    EXPECT_EQ(sub.payloads(), std::vector<std::string>{"small"});
    EXPECT_EQ(sub.offlines, 0) << sub.client.last_error().message();
    EXPECT_TRUE(close_and_wait(sub.client));
}

// ---- subscription options ---------------------------------------------------------------------------------

/// A broker holding a retained message on "ret/t", and a subscriber.
struct RetainScene {
    RetainScene() : sub(io, v5_options("v5r-rsub")), pub(io, v5_options("v5r-rpub")) {
        EXPECT_TRUE(connect_and_wait(sub.client, broker.host(), broker.port())) << broker.log();
        EXPECT_TRUE(connect_and_wait(pub.client, broker.host(), broker.port())) << broker.log();
        EXPECT_TRUE(publish_and_wait(pub.client, "ret/t", "kept", true));
    }
    /// A live (not retained) marker on the topic; true once the subscriber has it.
    bool marker() {
        return publish_and_wait(pub.client, "ret/t", "marker") && run_until(io, [&] { return sub.has("marker"); });
    }
    [[nodiscard]] std::size_t retained_copies() const {
        std::size_t n = 0;
        for (const auto& g : sub.got) {
            if (g.payload == "kept") ++n;
        }
        return n;
    }
    static protocol::SubscribeEntry entry(protocol::RetainHandling rh, bool rap = false) {
        return protocol::SubscribeEntry{"ret/t", QoS::at_least_once, false, rap, rh};
    }

    asio::io_context io;
    MosquittoFixture broker;
    Peer sub;
    Peer pub;
};

// Retain Handling 0: the retained message is sent at every subscribe, also when the subscription exists.
TEST(V5BrokerRules, MQTT_3_3_1_9_retain_handling_0_sends_retained_at_every_subscribe) {
    RetainScene s;
    ASSERT_TRUE(subscribe_entry(s.sub.client, RetainScene::entry(protocol::RetainHandling::send_at_subscribe)));
    ASSERT_TRUE(run_until(s.io, [&] { return s.retained_copies() == 1; })) << s.broker.log();
    EXPECT_TRUE(s.sub.got[0].retain) << "a retained message sent at subscribe has RETAIN 1";
    ASSERT_TRUE(subscribe_entry(s.sub.client, RetainScene::entry(protocol::RetainHandling::send_at_subscribe)));
    ASSERT_TRUE(run_until(s.io, [&] { return s.retained_copies() == 2; })) << s.broker.log();
    ASSERT_TRUE(s.marker());
    EXPECT_EQ(s.sub.payloads(), (std::vector<std::string>{"kept", "kept", "marker"}));
}

// Retain Handling 1: sent only when the subscription did not exist yet.
TEST(V5BrokerRules, MQTT_3_3_1_10_retain_handling_1_sends_retained_only_for_a_new_subscription) {
    RetainScene s;
    ASSERT_TRUE(subscribe_entry(s.sub.client, RetainScene::entry(protocol::RetainHandling::send_if_new)));
    ASSERT_TRUE(run_until(s.io, [&] { return s.retained_copies() == 1; })) << s.broker.log();
    ASSERT_TRUE(subscribe_entry(s.sub.client, RetainScene::entry(protocol::RetainHandling::send_if_new)));
    ASSERT_TRUE(s.marker());
    EXPECT_EQ(s.sub.payloads(), (std::vector<std::string>{"kept", "marker"}));
}

// Retain Handling 2: no retained message at subscribe.
TEST(V5BrokerRules, MQTT_3_3_1_11_retain_handling_2_sends_no_retained_message) {
    RetainScene s;
    ASSERT_TRUE(subscribe_entry(s.sub.client, RetainScene::entry(protocol::RetainHandling::do_not_send)));
    ASSERT_TRUE(s.marker());
    EXPECT_EQ(s.sub.payloads(), std::vector<std::string>{"marker"});
}

// Retain As Published 0: a live message published with RETAIN 1 is forwarded with RETAIN 0.
TEST(V5BrokerRules, MQTT_3_3_1_12_retain_as_published_0_clears_retain_on_forwarding) {
    RetainScene s;
    ASSERT_TRUE(subscribe_entry(s.sub.client, RetainScene::entry(protocol::RetainHandling::do_not_send, false)));
    ASSERT_TRUE(publish_and_wait(s.pub.client, "ret/t", "live", true));
    ASSERT_TRUE(run_until(s.io, [&] { return s.sub.has("live"); })) << s.broker.log();
    EXPECT_FALSE(s.sub.got[0].retain);
}

// Retain As Published 1: the forwarded RETAIN is the one published.
TEST(V5BrokerRules, MQTT_3_3_1_13_retain_as_published_1_keeps_retain_on_forwarding) {
    RetainScene s;
    ASSERT_TRUE(subscribe_entry(s.sub.client, RetainScene::entry(protocol::RetainHandling::do_not_send, true)));
    ASSERT_TRUE(publish_and_wait(s.pub.client, "ret/t", "live", true));
    ASSERT_TRUE(publish_and_wait(s.pub.client, "ret/t", "plain", false));
    ASSERT_TRUE(run_until(s.io, [&] { return s.sub.has("plain"); })) << s.broker.log();
    ASSERT_EQ(s.sub.payloads(), (std::vector<std::string>{"live", "plain"}));
    EXPECT_TRUE(s.sub.got[0].retain);
    EXPECT_FALSE(s.sub.got[1].retain);
}

// No Local: our own messages are not forwarded to us (another subscriber gets them).
TEST(V5BrokerRules, MQTT_3_8_3_3_no_local_own_messages_not_forwarded) {
    asio::io_context io;
    MosquittoFixture broker;
    Peer self(io, v5_options("v5r-self"));
    Peer other(io, v5_options("v5r-other"));
    ASSERT_TRUE(connect_and_wait(self.client, broker.host(), broker.port())) << broker.log();
    ASSERT_TRUE(connect_and_wait(other.client, broker.host(), broker.port())) << broker.log();
    ASSERT_TRUE(subscribe_entry(self.client, protocol::SubscribeEntry{"nl/t", QoS::at_least_once, true}));
    ASSERT_TRUE(subscribe_qos1(other.client, "nl/t"));
    ASSERT_TRUE(publish_and_wait(self.client, "nl/t", "own"));
    ASSERT_TRUE(publish_and_wait(other.client, "nl/t", "theirs"));
    ASSERT_TRUE(run_until(io, [&] { return self.has("theirs") && other.has("own"); })) << broker.log();
    EXPECT_EQ(self.payloads(), std::vector<std::string>{"theirs"});
    EXPECT_TRUE(other.has("own"));
}

// ---- properties forwarded unaltered -----------------------------------------------------------------------

/// A publisher and a subscriber on "props/t": publish one message with `props`, return what arrived.
struct ForwardScene {
    ForwardScene() : sub(io, v5_options("v5r-fsub")), pub(io, v5_options("v5r-fpub")) {
        EXPECT_TRUE(connect_and_wait(sub.client, broker.host(), broker.port())) << broker.log();
        EXPECT_TRUE(connect_and_wait(pub.client, broker.host(), broker.port())) << broker.log();
        EXPECT_TRUE(subscribe_qos1(sub.client, "props/t"));
    }
    const Got* forward(const protocol::Properties& props) {
        if (!publish_and_wait(pub.client, "props/t", "body", false, props.view())) return nullptr;
        if (!run_until(io, [&] { return !sub.got.empty(); })) return nullptr;
        return &sub.got.front();
    }

    asio::io_context io;
    MosquittoFixture broker;
    Peer sub;
    Peer pub;
};

TEST(V5BrokerRules, MQTT_3_3_2_4_payload_format_indicator_is_forwarded) {
    ForwardScene s;
    const Got* g = s.forward(protocol::Properties().payload_format_indicator(true));
    ASSERT_NE(g, nullptr) << s.broker.log();
    EXPECT_EQ(g->view().payload_format_indicator(), 1U);
}

TEST(V5BrokerRules, MQTT_3_3_2_15_response_topic_is_forwarded) {
    ForwardScene s;
    const Got* g = s.forward(protocol::Properties().response_topic("replies/for/me"));
    ASSERT_NE(g, nullptr) << s.broker.log();
    EXPECT_EQ(g->view().response_topic(), "replies/for/me");
}

TEST(V5BrokerRules, MQTT_3_3_2_16_correlation_data_is_forwarded) {
    ForwardScene s;
    const std::string binary("\x00\x01\xFF\x80 id-42", 10);
    const Got* g = s.forward(protocol::Properties().correlation_data(binary));
    ASSERT_NE(g, nullptr) << s.broker.log();
    EXPECT_EQ(g->view().correlation_data(), binary);
}

TEST(V5BrokerRules, MQTT_3_3_2_17_user_properties_are_all_forwarded) {
    ForwardScene s;
    protocol::Properties p;
    p.add_user_property("k", "v").add_user_property("k", "v").add_user_property("empty", "").add_user_property(
        "utf8", "\xC3\xA9t\xC3\xA9");
    const Got* g = s.forward(p);
    ASSERT_NE(g, nullptr) << s.broker.log();
    EXPECT_EQ(g->user(), (std::vector<std::string>{"k=v", "k=v", "empty=", "utf8=\xC3\xA9t\xC3\xA9"}));
}

TEST(V5BrokerRules, MQTT_3_3_2_18_user_properties_keep_their_order) {
    ForwardScene s;
    protocol::Properties p;
    p.add_user_property("z", "1").add_user_property("a", "2").add_user_property("z", "3").add_user_property("m", "4");
    const Got* g = s.forward(p);
    ASSERT_NE(g, nullptr) << s.broker.log();
    EXPECT_EQ(g->user(), (std::vector<std::string>{"z=1", "a=2", "z=3", "m=4"}));
}

TEST(V5BrokerRules, MQTT_3_3_2_20_content_type_is_forwarded) {
    ForwardScene s;
    const Got* g = s.forward(protocol::Properties().content_type("application/json; charset=utf-8"));
    ASSERT_NE(g, nullptr) << s.broker.log();
    EXPECT_EQ(g->view().content_type(), "application/json; charset=utf-8");
}

// ---- message expiry and session expiry --------------------------------------------------------------------

/// A persistent subscriber on "exp/t" that goes offline, a publisher, and the subscriber's return.
struct OfflineScene {
    OfflineScene() : pub(io, v5_options("v5r-epub")) {
        {
            Peer sub(io, persistent_options("v5r-esub", 60));
            EXPECT_TRUE(connect_and_wait(sub.client, broker.host(), broker.port())) << broker.log();
            EXPECT_TRUE(subscribe_qos1(sub.client, "exp/t"));
            EXPECT_TRUE(close_and_wait(sub.client));
        }
        EXPECT_TRUE(connect_and_wait(pub.client, broker.host(), broker.port())) << broker.log();
    }

    asio::io_context io;
    MosquittoFixture broker;
    Peer pub;
};

// A message whose Message Expiry Interval (1 s) passes while the subscriber is offline is not delivered; a
// message without expiry queued after it is.
TEST(V5BrokerRules, MQTT_3_3_2_5_expired_message_is_not_delivered_to_an_offline_session) {
    OfflineScene s;
    ASSERT_TRUE(publish_and_wait(s.pub.client, "exp/t", "short", false, protocol::Properties().message_expiry_interval(1).view()));
    ASSERT_TRUE(publish_and_wait(s.pub.client, "exp/t", "lasting"));
    run_for(s.io, 2500ms);
    Peer sub(s.io, persistent_options("v5r-esub", 60));
    ASSERT_TRUE(connect_and_wait(sub.client, s.broker.host(), s.broker.port())) << s.broker.log();
    ASSERT_TRUE(run_until(s.io, [&] { return sub.has("lasting"); })) << s.broker.log();
    EXPECT_EQ(sub.payloads(), std::vector<std::string>{"lasting"});
    EXPECT_TRUE(close_and_wait(sub.client));
}

// A message that waited ~2 s in the offline session is forwarded with its Message Expiry Interval reduced by
// the time it waited (10 s published: at most 9 left, mosquitto counting whole seconds).
TEST(V5BrokerRules, MQTT_3_3_2_6_forwarded_message_expiry_is_reduced_by_the_wait) {
    OfflineScene s;
    ASSERT_TRUE(publish_and_wait(s.pub.client, "exp/t", "waited", false, protocol::Properties().message_expiry_interval(10).view()));
    run_for(s.io, 2100ms);
    Peer sub(s.io, persistent_options("v5r-esub", 60));
    ASSERT_TRUE(connect_and_wait(sub.client, s.broker.host(), s.broker.port())) << s.broker.log();
    ASSERT_TRUE(run_until(s.io, [&] { return sub.has("waited"); })) << s.broker.log();
    const auto left = sub.got[0].view().message_expiry_interval();
    ASSERT_TRUE(left.has_value()) << "the expiry must be forwarded";
    EXPECT_LE(*left, 9U);
    EXPECT_GE(*left, 5U);
    EXPECT_TRUE(close_and_wait(sub.client));
}

// Session Expiry Interval 1 s: once the connection is closed and the interval has passed, the broker discards
// the session. The reconnect (Clean Start 0) gets Session Present 0 (mosquitto's log: "Sending CONNACK to id
// (0, 0)") and the old subscription is gone.
TEST(V5BrokerRules, MQTT_4_1_0_2_session_is_discarded_after_the_session_expiry_interval) {
    asio::io_context io;
    MosquittoFixture broker;
    Peer pub(io, v5_options("v5r-spub"));
    ASSERT_TRUE(connect_and_wait(pub.client, broker.host(), broker.port())) << broker.log();
    {
        Peer sub(io, persistent_options("v5r-sexp", 1));
        ASSERT_TRUE(connect_and_wait(sub.client, broker.host(), broker.port())) << broker.log();
        ASSERT_TRUE(subscribe_qos1(sub.client, "sexp/t"));
        EXPECT_TRUE(close_and_wait(sub.client));
    }
    // mosquitto checks session expiry about once a second, on whole seconds.
    ASSERT_TRUE(broker.wait_for_log("Expiring client v5r-sexp", 5000ms)) << broker.log();
    Peer sub(io, persistent_options("v5r-sexp", 1));
    ASSERT_TRUE(connect_and_wait(sub.client, broker.host(), broker.port())) << broker.log();
    EXPECT_EQ(broker.count_in_log("Sending CONNACK to v5r-sexp (0, 0)"), 2U) << broker.log();
    EXPECT_EQ(broker.count_in_log("Sending CONNACK to v5r-sexp (1, 0)"), 0U) << broker.log();
    ASSERT_TRUE(subscribe_qos1(sub.client, "sexp/marker"));
    ASSERT_TRUE(publish_and_wait(pub.client, "sexp/t", "lost"));
    ASSERT_TRUE(publish_and_wait(pub.client, "sexp/marker", "marker"));
    ASSERT_TRUE(run_until(io, [&] { return sub.has("marker"); })) << broker.log();
    EXPECT_EQ(sub.payloads(), std::vector<std::string>{"marker"});
    EXPECT_TRUE(close_and_wait(sub.client));
}

}  // namespace
}  // namespace nmqtt::test
