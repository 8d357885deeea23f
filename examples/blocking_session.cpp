// Drives the sans-I/O session over a plain blocking POSIX socket, without Asio: the core needs nothing but
// bytes, a clock and requests. Usage: blocking_session HOST PORT
// Connects, subscribes to "nmqtt/blocking", publishes one QoS 1 message to it, prints it when it comes back,
// and disconnects.
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <variant>

#include "nmqtt/session/session.hpp"

namespace {

using nmqtt::session::Session;
using Clock = std::chrono::steady_clock;

int dial(const char* host, const char* port) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    if (getaddrinfo(host, port, &hints, &list) != 0) return -1;
    int fd = -1;
    for (addrinfo* a = list; a != nullptr && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(list);
    return fd;
}

// Writes everything the session has queued.
bool flush(int fd, Session& s) {
    for (auto out = s.pending_output(); !out.empty(); out = s.pending_output()) {
        const ssize_t n = send(fd, out.data(), out.size(), MSG_NOSIGNAL);
        if (n <= 0) return false;
        s.consume_output(static_cast<std::size_t>(n), Clock::now());
    }
    return true;
}

// Milliseconds until the session's next deadline (-1: none).
int timeout_ms(const Session& s) {
    const auto due = s.next_deadline();
    if (!due) return -1;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*due - Clock::now()).count();
    return left < 0 ? 0 : static_cast<int>(left);
}

// Reacts to one event; returns false when the connection is over.
bool on_event(Session& s, const nmqtt::session::Event& e) {
    if (std::holds_alternative<nmqtt::session::Connected>(e)) {
        const nmqtt::protocol::SubscribeEntry topic{"nmqtt/blocking", nmqtt::QoS::at_least_once};
        (void)s.subscribe({&topic, 1}, 1, Clock::now());
    } else if (std::holds_alternative<nmqtt::session::SubscribeDone>(e)) {
        (void)s.publish({"nmqtt/blocking", "hello from a blocking socket", nmqtt::QoS::at_least_once, false, 2},
                        Clock::now());
    } else if (const auto* m = std::get_if<nmqtt::session::MessageReceived>(&e)) {
        std::printf("%.*s: %.*s\n", static_cast<int>(m->message.topic.size()), m->message.topic.data(),
                    static_cast<int>(m->message.payload.size()), m->message.payload.data());
        s.disconnect(Clock::now());
    } else if (const auto* f = std::get_if<nmqtt::session::ConnectFailed>(&e)) {
        std::fprintf(stderr, "connect failed: %d (%s)\n", f->code, f->error.message().c_str());
        return false;
    } else if (const auto* l = std::get_if<nmqtt::session::ConnectionLost>(&e)) {
        if (l->error != nmqtt::Errc::closed_by_client) std::fprintf(stderr, "connection lost: %s\n", l->error.message().c_str());
        return false;
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s HOST PORT\n", argv[0]);
        return 2;
    }
    const int fd = dial(argv[1], argv[2]);
    if (fd < 0) {
        std::fprintf(stderr, "cannot connect to %s:%s\n", argv[1], argv[2]);
        return 1;
    }
    nmqtt::session::SessionOptions options;
    options.client_id = "blocking-example";
    options.keepalive_seconds = 30;
    Session s(options);
    (void)s.connection_opened(Clock::now());
    bool running = flush(fd, s);
    unsigned char buffer[4096];
    while (running) {
        pollfd p{fd, POLLIN, 0};
        const int ready = poll(&p, 1, timeout_ms(s));
        if (ready > 0) {
            const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
            if (n <= 0) s.connection_closed({}, Clock::now());
            nmqtt::Bytes input{buffer, n > 0 ? static_cast<std::size_t>(n) : 0};
            while (!input.empty() && s.state() != nmqtt::session::State::idle) {
                input = input.subspan(s.handle_bytes(input, Clock::now()));
                while (auto e = s.poll_event()) running = on_event(s, *e) && running;
            }
        }
        s.handle_timeout(Clock::now());
        while (auto e = s.poll_event()) running = on_event(s, *e) && running;
        running = running && flush(fd, s);
        while (auto e = s.poll_event()) running = on_event(s, *e) && running;  // e.g. DISCONNECT written
    }
    close(fd);
    return s.state() == nmqtt::session::State::idle ? 0 : 1;
}
