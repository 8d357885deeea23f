// hello: connects to a broker, subscribes to a topic of its own, publishes to it, prints the message that
// comes back, then closes cleanly. Usage: hello [HOST [PORT]]   (default 127.0.0.1 1883)
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>

#include "nmqtt/client.hpp"

int main(int argc, char** argv) {
    const std::string host = argc > 1 ? argv[1] : "127.0.0.1";
    const int port = argc > 2 ? std::stoi(argv[2]) : 1883;
    const std::string id = "nmqtt-hello-" + std::to_string(getpid());
    const std::string topic = "nmqtt/hello/" + std::to_string(getpid());
    int status = 1;
    try {
        nmqtt::Client client(id, 60);
        client.on_message([&](nmqtt::Client& c, const nmqtt::MessageView& m) {
            std::printf("%.*s: %.*s\n", static_cast<int>(m.topic.size()), m.topic.data(),
                        static_cast<int>(m.payload.size()), m.payload.data());
            c.close();  // DISCONNECT, then TCP close: "offline" follows
        });
        client.on(nmqtt::Event::offline, [&](nmqtt::Client&) {
            std::printf("closed\n");
            status = 0;
        });
        auto on_connect = [&](nmqtt::Client& c) {
            std::printf("connected to %s:%d as %s\n", host.c_str(), port, id.c_str());
            c.subscribe(topic, 1, [&](nmqtt::Client& s) { s.publish(topic, "hello from nmqtt", 1, false); });
        };
        auto on_fail = [&](nmqtt::Client& c, int reason) {
            std::fprintf(stderr, "connection failed: %d (%s): %s\n", reason,
                         std::string(nmqtt::reason_name(reason)).c_str(), c.last_error_message().c_str());
        };
        client.connect(host, static_cast<std::uint16_t>(port), false, on_connect, on_fail);
        // run() returns once the connection has ended; the bound keeps a silent broker from hanging us.
        client.run_for(std::chrono::seconds(30));
        if (client.is_connected() || client.is_connecting()) std::fprintf(stderr, "timed out\n");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "hello: %s\n", e.what());
    }
    return status;
}
