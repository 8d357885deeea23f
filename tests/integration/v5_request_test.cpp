// Client::request() (MQTT 5.0 request/response, section 4.10) against a real mosquitto: a responder client
// answers on the Response Topic with the request's Correlation Data; replies are matched, kept away from
// "message", and a request nobody answers ends with request_timeout.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "client_harness.hpp"
#include "nmqtt/client.hpp"
#include "support/mosquitto_fixture.hpp"

namespace nmqtt::test {
namespace {

TEST(V5Request, MQTT_4_10_responses_matched_by_correlation_data_and_a_timeout) {
    MosquittoFixture broker;
    asio::io_context io;
    Client responder(io, v5_options("responder"));
    responder.on_message([](Client& c, const MessageView& m) {
        const auto topic = m.properties.response_topic();
        const auto correlation = m.properties.correlation_data();
        if (!topic || !correlation || m.payload == "ignore me") return;
        protocol::Properties props;
        props.correlation_data(*correlation);
        c.publish(OutgoingMessage{*topic, "re:" + std::string(m.payload), 1, false, props.view()});
    });
    ASSERT_TRUE(connect_and_wait(responder, broker.host(), broker.port()));
    bool subscribed = false;
    responder.subscribe("svc/echo", 1, [&](Client&) { subscribed = true; });
    ASSERT_TRUE(run_until(io, [&] { return subscribed; }));

    Client client(io, v5_options("requester"));
    int stray = 0;
    client.on_message([&](Client&, const MessageView&) { ++stray; });
    ASSERT_TRUE(connect_and_wait(client, broker.host(), broker.port()));
    std::map<std::string, std::string> answers;
    std::vector<std::error_code> errors;
    for (const char* body : {"a", "b", "c"}) {
        ASSERT_TRUE(client.request(OutgoingMessage{"svc/echo", body, 1}, "reply/requester", 5000ms,
                                   [&, body](std::error_code e, const MessageView* m) {
                                       if (e) errors.push_back(e);
                                       if (m != nullptr) answers[body] = std::string(m->payload);
                                   }));
    }
    ASSERT_TRUE(run_until(io, [&] { return answers.size() == 3; }));
    EXPECT_EQ(answers, (std::map<std::string, std::string>{{"a", "re:a"}, {"b", "re:b"}, {"c", "re:c"}}));
    ASSERT_TRUE(client.request(OutgoingMessage{"svc/echo", "ignore me", 1}, "reply/requester", 300ms,
                               [&](std::error_code e, const MessageView* m) {
                                   errors.push_back(e);
                                   EXPECT_EQ(m, nullptr);
                               }));
    ASSERT_TRUE(run_until(io, [&] { return !errors.empty(); }));
    EXPECT_EQ(errors, (std::vector<std::error_code>{make_error_code(Errc::request_timeout)}));
    EXPECT_EQ(stray, 0);  // the replies did not reach "message"
    EXPECT_FALSE(client.request(OutgoingMessage{"svc/echo", "x", 1}, "another/topic", 100ms, {}));
    EXPECT_EQ(client.last_error(), Errc::invalid_argument);
    EXPECT_TRUE(close_and_wait(client) && close_and_wait(responder));
}

}  // namespace
}  // namespace nmqtt::test
