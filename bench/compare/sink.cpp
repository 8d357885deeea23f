// mqtt_sink: a minimal MQTT 3.1.1 "broker" for measuring clients where mosquitto is the bottleneck.
//
//   mqtt_sink [-h 127.0.0.1] [-p PORT|0] [--no-nodelay] [--max-seconds S]
//
// CONNECT -> CONNACK, PUBLISH QoS 1 -> PUBACK, QoS 2 -> PUBREC, PUBREL -> PUBCOMP, SUBSCRIBE -> SUBACK (QoS 0
// granted), UNSUBSCRIBE -> UNSUBACK, PINGREQ -> PINGRESP, DISCONNECT closes, anything else is discarded.
// Every PUBLISH is forwarded as QoS 0 to every connection that has subscribed, whatever the filter (no topic
// matching), so the pub and rtt modes of the peers work unchanged. One thread, epoll, one write per
// connection per loop turn (responses to everything read in a turn are coalesced, like a broker that
// batches). Publishers stop being read while a subscriber has more than 8 MiB unsent (TCP backpressure
// instead of loss). --no-nodelay leaves Nagle's algorithm on to show clients whose own writes stall.
// With -p 0 the chosen port is printed on stdout.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "raw_mqtt.hpp"

namespace {

using raw_mqtt::Bytes;
using raw_mqtt::Packet;

constexpr std::size_t kPauseAbove = 8u << 20;
constexpr std::size_t kResumeBelow = 1u << 20;

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int) { g_stop = 1; }

struct Conn {
    int fd = -1;
    Bytes in;
    std::size_t in_end = 0;
    Bytes out;
    std::size_t out_begin = 0;
    bool subscriber = false;
    bool paused = false;
    bool want_write = false;
    bool closing = false;

    [[nodiscard]] std::size_t unsent() const { return out.size() - out_begin; }
};

struct Options {
    std::string host = "127.0.0.1";
    int port = 1883;
    bool nodelay = true;
    long max_seconds = 3600;
};

class Sink {
public:
    Sink(int listener, bool nodelay) : listener_(listener), nodelay_(nodelay), ep_(epoll_create1(EPOLL_CLOEXEC))
    {
        watch(listener_, EPOLLIN);
    }

    void run(long max_seconds)
    {
        std::vector<epoll_event> events(512);
        long turns_left = max_seconds * 10;  // epoll_wait wakes at least every 100 ms
        while (g_stop == 0 && turns_left > 0) {
            int n = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 100);
            if (n == 0) --turns_left;
            for (int i = 0; i < n; ++i) on_event(events[static_cast<std::size_t>(i)]);
            flush_all();
            update_backpressure();
        }
    }

private:
    void watch(int fd, std::uint32_t events, int op = EPOLL_CTL_ADD)
    {
        epoll_event ev{};
        ev.events = events;
        ev.data.fd = fd;
        epoll_ctl(ep_, op, fd, &ev);
    }

    void on_event(const epoll_event& ev)
    {
        if (ev.data.fd == listener_) {
            accept_all();
            return;
        }
        auto it = conns_.find(ev.data.fd);
        if (it == conns_.end()) return;
        Conn& c = *it->second;
        if ((ev.events & (EPOLLIN | EPOLLHUP | EPOLLERR)) != 0 && !c.paused) read_from(c);
        if ((ev.events & EPOLLOUT) != 0) dirty_.push_back(c.fd);
    }

    void accept_all()
    {
        for (;;) {
            int fd = accept4(listener_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) return;
            int one = nodelay_ ? 1 : 0;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            auto conn = std::make_unique<Conn>();
            conn->fd = fd;
            conn->in.resize(64 * 1024);
            conns_[fd] = std::move(conn);
            watch(fd, EPOLLIN);
        }
    }

    void read_from(Conn& c)
    {
        if (c.in_end == c.in.size()) c.in.resize(c.in.size() * 2);
        ssize_t n = ::recv(c.fd, c.in.data() + c.in_end, c.in.size() - c.in_end, 0);
        if (n <= 0) {
            if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
            c.closing = true;
            dirty_.push_back(c.fd);
            return;
        }
        c.in_end += static_cast<std::size_t>(n);
        std::size_t next = raw_mqtt::for_each_packet(c.in.data(), 0, c.in_end, [&](const Packet& p) { handle(c, p); });
        if (next == SIZE_MAX) {
            c.closing = true;
        } else {
            std::memmove(c.in.data(), c.in.data() + next, c.in_end - next);
            c.in_end -= next;
        }
        dirty_.push_back(c.fd);
    }

    void handle(Conn& c, const Packet& p)
    {
        std::uint8_t type = p.header & 0xF0;
        std::uint16_t id = p.body.size() >= 2 ? raw_mqtt::get_u16(p.body.data()) : 0;
        switch (type) {
        case raw_mqtt::kConnect: append(c, {raw_mqtt::kConnack, 2, 0, 0}); break;
        case raw_mqtt::kPublish: on_publish(c, p); break;
        case raw_mqtt::kPubrel & 0xF0: raw_mqtt::put_ack(c.out, raw_mqtt::kPubcomp, id); break;
        case raw_mqtt::kSubscribe & 0xF0: on_subscribe(c, p, id); break;
        case raw_mqtt::kUnsubscribe & 0xF0: raw_mqtt::put_ack(c.out, raw_mqtt::kUnsuback, id); break;
        case raw_mqtt::kPingreq: append(c, {raw_mqtt::kPingresp, 0}); break;
        case raw_mqtt::kDisconnect: c.closing = true; break;
        default: break;
        }
    }

    static void append(Conn& c, std::initializer_list<std::uint8_t> bytes) { c.out.insert(c.out.end(), bytes); }

    void on_subscribe(Conn& c, const Packet& p, std::uint16_t id)
    {
        std::size_t count = 0;
        for (std::size_t pos = 2; pos + 2 <= p.body.size(); ++count) pos += 3u + raw_mqtt::get_u16(&p.body[pos]);
        c.out.push_back(raw_mqtt::kSuback);
        raw_mqtt::put_remaining_length(c.out, 2 + count);
        raw_mqtt::put_u16(c.out, id);
        c.out.insert(c.out.end(), count, 0);
        c.subscriber = true;
    }

    void on_publish(Conn& c, const Packet& p)
    {
        if (p.body.size() < 2) return;
        int qos = (p.header >> 1) & 3;
        std::size_t topic_end = 2u + raw_mqtt::get_u16(p.body.data());
        std::size_t payload_at = topic_end + (qos > 0 ? 2 : 0);
        if (payload_at > p.body.size()) return;
        if (qos > 0) {
            std::uint16_t id = raw_mqtt::get_u16(p.body.data() + topic_end);
            raw_mqtt::put_ack(c.out, qos == 1 ? raw_mqtt::kPuback : raw_mqtt::kPubrec, id);
        }
        for (auto& [fd, sub] : conns_) {
            if (!sub->subscriber) continue;
            Bytes& out = sub->out;
            out.push_back(raw_mqtt::kPublish);
            raw_mqtt::put_remaining_length(out, topic_end + (p.body.size() - payload_at));
            out.insert(out.end(), p.body.begin(), p.body.begin() + static_cast<std::ptrdiff_t>(topic_end));
            out.insert(out.end(), p.body.begin() + static_cast<std::ptrdiff_t>(payload_at), p.body.end());
            if (fd != c.fd) dirty_.push_back(fd);
        }
    }

    void flush_all()
    {
        for (int fd : dirty_) {
            auto it = conns_.find(fd);
            if (it != conns_.end()) flush(*it->second);
        }
        dirty_.clear();
    }

    void flush(Conn& c)
    {
        write_out(c);
        if (c.closing) {
            close_conn(c.fd);
            return;
        }
        if (c.unsent() == 0) {
            c.out.clear();
            c.out_begin = 0;
        }
        bool want = c.unsent() > 0;
        if (want != c.want_write) {
            c.want_write = want;
            watch(c.fd, (c.paused ? 0u : EPOLLIN) | (want ? EPOLLOUT : 0u), EPOLL_CTL_MOD);
        }
    }

    static void write_out(Conn& c)
    {
        while (c.unsent() > 0 && !c.closing) {
            ssize_t n = ::send(c.fd, c.out.data() + c.out_begin, c.unsent(), MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) break;
            if (n <= 0) c.closing = true;
            else c.out_begin += static_cast<std::size_t>(n);
        }
    }

    void close_conn(int fd)
    {
        epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
        close(fd);
        conns_.erase(fd);
    }

    void update_backpressure()
    {
        std::size_t worst = 0;
        for (auto& [fd, c] : conns_) {
            if (c->subscriber && c->unsent() > worst) worst = c->unsent();
        }
        bool pause = worst > kPauseAbove;
        bool resume = worst < kResumeBelow;
        if (!pause && !resume) return;
        for (auto& [fd, c] : conns_) {
            if (c->subscriber || c->paused == pause) continue;
            c->paused = pause;
            watch(fd, (pause ? 0u : EPOLLIN) | (c->want_write ? EPOLLOUT : 0u), EPOLL_CTL_MOD);
        }
    }

    int listener_;
    bool nodelay_;
    int ep_;
    std::unordered_map<int, std::unique_ptr<Conn>> conns_;
    std::vector<int> dirty_;
};

int listen_on(const Options& o)
{
    sockaddr_in6 addr6{};
    sockaddr_in addr4{};
    bool v6 = inet_pton(AF_INET6, o.host.c_str(), &addr6.sin6_addr) == 1;
    if (!v6 && inet_pton(AF_INET, o.host.c_str(), &addr4.sin_addr) != 1) return -1;
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    addr6.sin6_family = AF_INET6;
    addr6.sin6_port = htons(static_cast<std::uint16_t>(o.port));
    addr4.sin_family = AF_INET;
    addr4.sin_port = htons(static_cast<std::uint16_t>(o.port));
    const auto* addr = v6 ? reinterpret_cast<const sockaddr*>(&addr6) : reinterpret_cast<const sockaddr*>(&addr4);
    socklen_t len = v6 ? sizeof addr6 : sizeof addr4;
    if (bind(fd, addr, len) != 0 || listen(fd, 4096) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int bound_port(int fd)
{
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_port);
    return ntohs(reinterpret_cast<const sockaddr_in*>(&ss)->sin_port);
}

bool parse(int argc, char** argv, Options& o)
{
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        bool has_value = i + 1 < argc;
        if (arg == "--no-nodelay") o.nodelay = false;
        else if (arg == "-h" && has_value) o.host = argv[++i];
        else if (arg == "-p" && has_value) o.port = std::atoi(argv[++i]);
        else if (arg == "--max-seconds" && has_value) o.max_seconds = std::atol(argv[++i]);
        else return false;
    }
    return o.port >= 0 && o.port <= 65535 && o.max_seconds > 0;
}

}  // namespace

int main(int argc, char** argv)
{
    Options o;
    if (!parse(argc, argv, o)) {
        std::fprintf(stderr, "usage: mqtt_sink [-h 127.0.0.1] [-p PORT|0] [--no-nodelay] [--max-seconds S]\n");
        return 2;
    }
    int listener = listen_on(o);
    if (listener < 0) {
        std::fprintf(stderr, "mqtt_sink: cannot listen on %s:%d: %s\n", o.host.c_str(), o.port, std::strerror(errno));
        return 1;
    }
    std::signal(SIGTERM, on_signal);
    std::signal(SIGINT, on_signal);
    std::signal(SIGPIPE, SIG_IGN);
    if (o.port == 0) std::printf("%d\n", bound_port(listener));
    std::fflush(stdout);
    std::fprintf(stderr, "mqtt_sink: listening on %s:%d (TCP_NODELAY %s)\n", o.host.c_str(), bound_port(listener),
                 o.nodelay ? "on" : "off");
    Sink(listener, o.nodelay).run(o.max_seconds);
    return 0;
}
