// Helpers for driving nmqtt::Client in integration tests: run its loop until a condition holds (with a
// deadline, never a fixed sleep), and record every callback with owned copies of what it received.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <asio/io_context.hpp>

#include "nmqtt/client.hpp"
#include "nmqtt/error.hpp"

namespace nmqtt::test {

using namespace std::chrono_literals;

/// Runs `io` in slices until `done()` holds or `timeout` passes; returns done().
inline bool run_until(asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds timeout = 5000ms) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        if (io.stopped()) io.restart();
        if (io.run_for(10ms) == 0) std::this_thread::sleep_for(1ms);  // idle: nothing to wait on
    }
    return true;
}

inline bool run_until(Client& client, const std::function<bool()>& done, std::chrono::milliseconds timeout = 5000ms) {
    return run_until(client.context(), done, timeout);
}

/// An owned copy of a MessageView.
struct Message {
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
    bool dup = false;
};

/// Counts every callback of a client and keeps copies of messages and failure codes.
struct Recorder {
    int connects = 0;
    int offlines = 0;
    int pubacks = 0;
    int subacks = 0;
    int unsubacks = 0;
    std::vector<int> connfails;
    std::vector<Message> messages;
    std::vector<Message> overflows;

    /// Registers on every event of `client` through client:on().
    void attach(Client& client) {
        client.on(Event::connect, [this](Client&) { ++connects; });
        client.on(Event::offline, [this](Client&) { ++offlines; });
        client.on(Event::puback, [this](Client&) { ++pubacks; });
        client.on(Event::suback, [this](Client&) { ++subacks; });
        client.on(Event::unsuback, [this](Client&) { ++unsubacks; });
        client.on_connfail([this](Client&, int reason) { connfails.push_back(reason); });
        client.on_message([this](Client&, const MessageView& m) { messages.push_back(copy(m)); });
        client.on_overflow([this](Client&, const MessageView& m) { overflows.push_back(copy(m)); });
    }

    static Message copy(const MessageView& m) {
        return Message{std::string(m.topic), std::string(m.payload), static_cast<int>(m.qos), m.retain, m.dup};
    }

    [[nodiscard]] bool ended() const { return offlines > 0 || !connfails.empty(); }
};

/// Options for a test client: short timeouts so that failures are quick.
inline ClientOptions test_options(std::string client_id, std::uint16_t keepalive = 30) {
    ClientOptions o;
    o.client_id = std::move(client_id);
    o.keepalive_seconds = keepalive;
    o.connect_write_timeout = 3000ms;
    o.connack_timeout = 3000ms;
    return o;
}

/// test_options() speaking MQTT 5.0.
inline ClientOptions v5_options(std::string client_id, std::uint16_t keepalive = 30) {
    ClientOptions o = test_options(std::move(client_id), keepalive);
    o.protocol = protocol::ProtocolVersion::v5;
    return o;
}

/// Connects and runs until connected (true) or failed / timed out (false).
inline bool connect_and_wait(Client& client, const std::string& host, std::uint16_t port, bool secure = false) {
    bool connected = false;
    bool failed = false;
    client.connect(host, port, secure, [&](Client&) { connected = true; }, [&](Client&, int) { failed = true; });
    const bool ok = run_until(client, [&] { return connected || failed; }) && connected;
    // The callbacks above captured locals: replace them before they go out of scope.
    client.on(Event::connect, {});
    client.on_connfail({});
    return ok;
}

/// close() and run until "offline" (or until the client has nothing left to do).
inline bool close_and_wait(Client& client) {
    bool offline = false;
    client.on(Event::offline, [&](Client&) { offline = true; });
    const bool closing = client.close();
    const bool ok = closing && run_until(client, [&] { return offline; });
    client.on(Event::offline, {});
    return ok;
}

}  // namespace nmqtt::test
