// nmqtt_store_sub_child: a QoS 2 subscriber with a persistent session store, meant to be SIGKILLed mid-stream
// and started again by the reliability tests. It subscribes to TOPIC at QoS 2 (clean session 0, the store at
// STORE) and appends each payload delivered to on_message, with a newline, to OUTPUT with one write(2), so the
// file holds exactly what the application saw across every run. "subscribed" on stdout once the SUBACK came
// (the first run), "connected" on every connection. Runs until killed (SIGTERM: closes cleanly, exits 0).
//
// Usage: nmqtt_store_sub_child HOST PORT CLIENT_ID STORE OUTPUT TOPIC
// Exit codes: 0 closed by SIGTERM, 2 bad usage, 3 the store could not be opened, 4 output file not writable.
#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <iostream>
#include <memory>
#include <string>
#include <system_error>

#include "nmqtt/client.hpp"

namespace {

volatile std::sig_atomic_t stop_requested = 0;

void on_sigterm(int /*signal*/) { stop_requested = 1; }

nmqtt::ClientOptions options_of(const std::string& client_id, const std::string& store) {
    nmqtt::ClientOptions o;
    o.client_id = client_id;
    o.keepalive_seconds = 30;
    o.clean_session = false;
    o.session_store_path = store;
    o.reconnect.enabled = true;
    o.reconnect.initial_delay = std::chrono::milliseconds(20);
    o.reconnect.max_delay = std::chrono::milliseconds(200);
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 7) {
        std::cerr << "usage: nmqtt_store_sub_child HOST PORT CLIENT_ID STORE OUTPUT TOPIC\n";
        return 2;
    }
    const std::string host = argv[1];
    const auto port = static_cast<std::uint16_t>(std::stoi(argv[2]));
    const std::string topic = argv[6];
    const int out = ::open(argv[5], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (out < 0) return 4;
    std::unique_ptr<nmqtt::Client> client;
    try {
        client = std::make_unique<nmqtt::Client>(options_of(argv[3], argv[4]));
    } catch (const std::system_error& e) {
        std::cerr << "store: " << e.what() << "\n";
        return 3;
    }
    std::signal(SIGTERM, on_sigterm);
    bool failed = false;
    client->on_message([&](nmqtt::Client&, const nmqtt::MessageView& m) {
        std::string line(m.payload);
        line += '\n';
        if (::write(out, line.data(), line.size()) != static_cast<ssize_t>(line.size())) failed = true;
    });
    client->on(nmqtt::Event::connect, [&](nmqtt::Client& c) {
        std::cout << "connected" << std::endl;
        c.subscribe(topic, 2, [](nmqtt::Client&) { std::cout << "subscribed" << std::endl; });
    });
    client->connect(host, port);
    while (stop_requested == 0 && !failed) client->run_for(std::chrono::milliseconds(20));
    client->close();
    client->run_for(std::chrono::milliseconds(1000));
    ::close(out);
    return failed ? 4 : 0;
}
