// The MQTT 5.0 overloads of nmqtt::Client against a real mosquitto 2.0: publish(OutgoingMessage) with
// properties, subscribe(entries, properties) with No Local and a Subscription Identifier, unsubscribe with
// UNSUBACK reason codes, lwt() with Will Properties, close(DisconnectRequest), and the reason code and
// properties of a refusal and of the CONNACK.
#include <gtest/gtest.h>

#include <signal.h>

#include <string>
#include <vector>

#include "client_harness.hpp"
#include "support/mosquitto_fixture.hpp"
#include "support/process.hpp"

namespace nmqtt::test {
namespace {

std::vector<std::string> mosquitto_sub_args(const MosquittoFixture& broker, const std::string& id,
                                            std::vector<std::string> args) {
    std::vector<std::string> argv{"mosquitto_sub", "-V", "mqttv5", "-h", broker.host(), "-p",
                                  std::to_string(broker.port()), "-i", id};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

// Starts mosquitto_sub and waits for the broker to acknowledge its subscription.
Process start_watcher(const MosquittoFixture& broker, const std::string& id, std::vector<std::string> args) {
    const auto needle = "Sending SUBACK to " + id;
    Process p(mosquitto_sub_args(broker, id, std::move(args)));
    EXPECT_TRUE(wait_until([&] { return broker.count_in_log(needle) > 0 || !p.running(); }, 10'000ms));
    return p;
}

TEST(V5ClientApi, MQTT_3_3_2_publish_properties_reach_mosquitto_sub_and_the_ack_has_its_code) {
    MosquittoFixture broker;
    auto watcher = start_watcher(broker, "w", {"-t", "api/pub", "-C", "1", "-F", "%p|%C|%R|%D|%P"});
    Client client(v5_options("api-pub"));
    ASSERT_TRUE(connect_and_wait(client, broker.host(), broker.port())) << broker.log();
    EXPECT_FALSE(client.connack_properties().empty()) << "mosquitto sends Topic Alias Maximum and Receive Maximum";
    protocol::Properties props;
    props.content_type("text/plain").response_topic("api/reply").correlation_data("c-1").add_user_property("k", "v");
    std::optional<Acknowledgement> ack;
    ASSERT_TRUE(client.publish(OutgoingMessage{"api/pub", "hi", 1, false, props.view()},
                               [&](const Acknowledgement& a) { ack = a; }));
    ASSERT_TRUE(run_until(client, [&] { return ack.has_value(); }));
    EXPECT_FALSE(ack->error);
    EXPECT_EQ(ack->reason_code, 0);  // a subscriber exists
    EXPECT_EQ(watcher.wait_or_kill(10'000ms).exit_code, 0);
    EXPECT_EQ(watcher.stdout_text(), "hi|text/plain|api/reply|c-1|k:v\n");

    ack.reset();
    ASSERT_TRUE(client.publish(OutgoingMessage{"api/nobody", "x", 1, false, {}}, [&](const Acknowledgement& a) { ack = a; }));
    ASSERT_TRUE(run_until(client, [&] { return ack.has_value(); }));
    EXPECT_EQ(ack->reason_code, 0x10) << "No matching subscribers";
    EXPECT_TRUE(close_and_wait(client));
}

TEST(V5ClientApi, MQTT_3_8_3_3_no_local_keeps_our_own_messages_away) {
    MosquittoFixture broker;
    Client client(v5_options("api-nl"));
    std::vector<std::string> got;
    std::vector<std::uint32_t> ids;
    client.on_message([&](Client&, const MessageView& m) {
        got.emplace_back(m.topic);
        m.properties.for_each_subscription_identifier([&](std::uint32_t id) { ids.push_back(id); });
    });
    ASSERT_TRUE(connect_and_wait(client, broker.host(), broker.port())) << broker.log();
    const std::vector<protocol::SubscribeEntry> entries{{"api/nl", QoS::at_least_once, true},
                                                        {"api/all", QoS::at_least_once, false}};
    protocol::Properties sub_props;
    sub_props.subscription_identifier(9);
    std::optional<Acknowledgement> suback;
    ASSERT_TRUE(client.subscribe(entries, sub_props.view(), [&](const Acknowledgement& a) { suback = a; }));
    ASSERT_TRUE(run_until(client, [&] { return suback.has_value(); }));
    ASSERT_EQ(suback->reason_codes.size(), 2u);
    EXPECT_EQ(suback->reason_codes[0], 1);
    ASSERT_TRUE(client.publish("api/nl", "mine", 1, false));
    ASSERT_TRUE(client.publish("api/all", "mine too", 1, false));
    ASSERT_TRUE(run_until(client, [&] { return !got.empty(); }));
    // Messages are delivered in order: the No Local one would have come first.
    EXPECT_EQ(got, std::vector<std::string>{"api/all"});
    EXPECT_EQ(ids, std::vector<std::uint32_t>{9});

    std::optional<Acknowledgement> unsuback;
    const std::vector<std::string_view> filters{"api/all", "api/never"};
    ASSERT_TRUE(client.unsubscribe(filters, {}, [&](const Acknowledgement& a) { unsuback = a; }));
    ASSERT_TRUE(run_until(client, [&] { return unsuback.has_value(); }));
    ASSERT_EQ(unsuback->reason_codes.size(), 2u);
    EXPECT_EQ(unsuback->reason_codes[0], 0x00);
    EXPECT_EQ(unsuback->reason_codes[1], 0x11) << "No subscription existed";
    EXPECT_TRUE(close_and_wait(client));
}

TEST(V5ClientApi, MQTT_3_1_3_9_will_properties_and_disconnect_with_will_message) {
    MosquittoFixture broker;
    auto watcher = start_watcher(broker, "w", {"-t", "api/will", "-C", "1", "-F", "%p|%C|%P"});
    Client client(v5_options("api-will"));
    protocol::Properties will_props;
    will_props.content_type("text/x").add_user_property("why", "asked");
    client.lwt("api/will", "bye", 1, false, will_props.view());
    ASSERT_TRUE(connect_and_wait(client, broker.host(), broker.port())) << broker.log();
    // 0x04 Disconnect with Will Message: the broker publishes the will although we close cleanly.
    protocol::Properties reason;
    reason.reason_string("testing");
    ASSERT_TRUE(client.close(session::DisconnectRequest{0x04, std::nullopt, reason.view()}));
    ASSERT_TRUE(run_until(client, [&] { return !client.is_connected() && !client.is_connecting(); }));
    EXPECT_EQ(watcher.wait_or_kill(10'000ms).exit_code, 0) << broker.log();
    EXPECT_EQ(watcher.stdout_text(), "bye|text/x|why:asked\n");
}

TEST(V5ClientApi, refusal_keeps_the_v5_reason_code) {
    MosquittoFixture broker(MosquittoOptions{.allow_anonymous = false});
    Client client(v5_options("api-refused"));
    Recorder r;
    r.attach(client);
    std::uint8_t code_in_callback = 0;
    client.on_connfail([&](Client& c, int) { code_in_callback = c.last_reason_code(); });
    client.connect(broker.host(), broker.port(), false, {}, {});
    ASSERT_TRUE(run_until(client, [&] { return code_in_callback != 0; })) << broker.log();
    EXPECT_EQ(code_in_callback, 0x87);
    EXPECT_EQ(client.last_reason_code(), 0x87);
}

TEST(V5ClientApi, close_with_a_forbidden_request_fails_with_invalid_argument) {
    MosquittoFixture broker;
    Client client(v5_options("api-bad-close"));  // Session Expiry 0 at CONNECT: it may not become non-zero
    ASSERT_TRUE(connect_and_wait(client, broker.host(), broker.port())) << broker.log();
    EXPECT_FALSE(client.close(session::DisconnectRequest{0, 60, {}}));
    EXPECT_EQ(client.last_error(), Errc::invalid_argument);
    EXPECT_TRUE(client.is_connected());
    EXPECT_TRUE(close_and_wait(client));
}

}  // namespace
}  // namespace nmqtt::test
