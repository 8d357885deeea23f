// mqtt5: MQTT 5.0 with nmqtt::Client. Subscribes with a Subscription Identifier, publishes a
// request carrying a Response Topic, Correlation Data and a user property to a responder (itself, through a
// second subscription), answers it on the response topic with the same correlation data, prints what the
// broker said at each step (reason codes), then closes with a Reason String.
// Usage: mqtt5 [HOST [PORT]]   (default 127.0.0.1 1883; the broker must speak MQTT 5.0, as mosquitto 2.0 does)
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "nmqtt/client.hpp"

namespace {

void print_view(const char* label, std::string_view text) {
    std::printf("%s%.*s\n", label, static_cast<int>(text.size()), text.data());
}

}  // namespace

int main(int argc, char** argv) {
    const std::string host = argc > 1 ? argv[1] : "127.0.0.1";
    const int port = argc > 2 ? std::stoi(argv[2]) : 1883;
    const std::string base = "nmqtt/mqtt5/" + std::to_string(getpid());
    const std::string requests = base + "/requests";
    const std::string replies = base + "/replies";
    int status = 1;
    try {
        nmqtt::ClientOptions options;
        options.client_id = "nmqtt-mqtt5-" + std::to_string(getpid());
        options.protocol = nmqtt::protocol::ProtocolVersion::v5;
        options.v5.session_expiry_interval = 0;
        nmqtt::Client client(options);

        client.on_message([&](nmqtt::Client& c, const nmqtt::MessageView& m) {
            const auto& p = m.properties;
            if (m.topic == requests) {  // the responder: answer on the Response Topic, same Correlation Data
                print_view("request: ", m.payload);
                p.for_each_user_property([](std::string_view k, std::string_view v) {
                    std::printf("  user property %.*s=%.*s\n", static_cast<int>(k.size()), k.data(),
                                static_cast<int>(v.size()), v.data());
                });
                nmqtt::protocol::Properties reply;
                reply.correlation_data(p.correlation_data().value_or(""));
                c.publish(nmqtt::OutgoingMessage{p.response_topic().value_or(replies), "pong", 1, false, reply.view()});
                return;
            }
            print_view("reply: ", m.payload);
            print_view("  correlation data: ", p.correlation_data().value_or("(none)"));
            nmqtt::protocol::Properties bye;
            bye.reason_string("example done");
            c.close(nmqtt::session::DisconnectRequest{0x00, std::nullopt, bye.view()});
        });
        client.on(nmqtt::Event::offline, [&](nmqtt::Client&) {
            std::printf("closed\n");
            status = 0;
        });
        auto send_request = [&](nmqtt::Client& c) {
            nmqtt::protocol::Properties props;
            props.response_topic(replies).correlation_data("req-1").content_type("text/plain");
            props.add_user_property("sender", "example");
            c.publish(nmqtt::OutgoingMessage{requests, "ping", 1, false, props.view()},
                      [](const nmqtt::Acknowledgement& ack) {
                          std::printf("request acknowledged: reason code %u\n", ack.reason_code);
                      });
        };
        auto on_connect = [&](nmqtt::Client& c) {
            std::printf("connected to %s:%d with MQTT 5.0 as %.*s\n", host.c_str(), port,
                        static_cast<int>(c.client_id().size()), c.client_id().data());
            const std::vector<nmqtt::protocol::SubscribeEntry> entries{
                {requests, nmqtt::QoS::at_least_once}, {replies, nmqtt::QoS::at_least_once}};
            nmqtt::protocol::Properties sub;
            sub.subscription_identifier(1);
            c.subscribe(entries, sub.view(), [&](const nmqtt::Acknowledgement& ack) {
                std::printf("subscribed: %zu reason code(s), first %u\n", ack.reason_codes.size(),
                            ack.reason_codes.empty() ? 0u : ack.reason_codes[0]);
                send_request(c);
            });
        };
        auto on_fail = [&](nmqtt::Client& c, int reason) {
            std::fprintf(stderr, "connection failed: %d, reason code 0x%02x: %s\n", reason, c.last_reason_code(),
                         c.last_error_message().c_str());
        };
        client.connect(host, static_cast<std::uint16_t>(port), false, on_connect, on_fail);
        client.run_for(std::chrono::seconds(30));
        if (client.is_connected() || client.is_connecting()) std::fprintf(stderr, "timed out\n");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "mqtt5: %s\n", e.what());
    }
    return status;
}
