// Uses the installed library: the Client facade (with its own io_context) and the sans-I/O Session. Needs no
// broker: a client that is not connected refuses to publish, and a session queues CONNECT when opened.
#include <chrono>
#include <cstdio>
#include <string>

#include <nmqtt/nmqtt.hpp>

int main() {
    nmqtt::Client client("consumer", 30);
    if (client.publish("t", "x", 0, false) || client.last_error() != nmqtt::Errc::not_connected) {
        std::puts("publish while idle did not fail with not_connected");
        return 1;
    }
    client.poll();

    nmqtt::session::Session session(nmqtt::session::SessionOptions{.client_id = "consumer"});
    if (session.connection_opened(std::chrono::steady_clock::now())) return 1;
    const auto output = session.pending_output();
    if (output.empty() || output[0] != 0x10) {
        std::puts("the session did not queue CONNECT");
        return 1;
    }
    std::printf("nmqtt consumer ok (%s)\n", std::string(nmqtt::reason_name(-3)).c_str());
    return 0;
}
