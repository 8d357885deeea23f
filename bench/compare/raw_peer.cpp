// The physical limit of the comparison: no library, plain sockets. PUBLISH packets are encoded once and only
// their packet id and payload stamp are patched; a whole batch goes out in one write; acks are counted with
// minimal parsing; TCP_NODELAY is set. Same command line and report as the other peers (bench_common.h).
// For QoS 0 a batch holds min(--inflight, 1024) messages; for QoS 1/2 at most --inflight are unacknowledged.
// With RAW_QUICKACK set in the environment, TCP_QUICKACK is re-armed after every read (Linux turns it off
// again by itself): the client then never delays its ACKs, which defuses a broker's Nagle algorithm.
#include <sys/epoll.h>
#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "bench_common.h"
#include "raw_mqtt.hpp"

namespace {

using raw_mqtt::Bytes;
using raw_mqtt::Packet;

constexpr const char* kLib = "raw";
constexpr std::size_t kMaxBatch = 1024;
std::uint8_t g_level = 4;  // -V 5: MQTT 5.0 (empty property lists; acks without reason codes)

std::string client_id(const char* role, long index)
{
    return "raw-" + std::string(role) + "-" + std::to_string(index) + "-" + std::to_string(getpid());
}

/// Buffered reader over a blocking socket with a 100 ms receive timeout (so loops can watch deadlines).
class Reader {
public:
    explicit Reader(int fd) : fd_(fd), buffer_(256 * 1024)
    {
        timeval tv{0, 100000};
        setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }

    /// Reads what is available (waiting up to 100 ms when `block`); false when the connection is gone.
    bool fill(bool block)
    {
        if (begin_ > 0) {
            std::copy(buffer_.begin() + static_cast<std::ptrdiff_t>(begin_),
                      buffer_.begin() + static_cast<std::ptrdiff_t>(end_), buffer_.begin());
            end_ -= begin_;
            begin_ = 0;
        }
        if (end_ == buffer_.size()) buffer_.resize(buffer_.size() * 2);
        ssize_t n = ::recv(fd_, buffer_.data() + end_, buffer_.size() - end_, block ? 0 : MSG_DONTWAIT);
        if (n > 0) end_ += static_cast<std::size_t>(n);
        if (quickack_) {
            int one = 1;
            setsockopt(fd_, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
        }
        return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR));
    }

    template <typename OnPacket>
    bool parse(OnPacket&& on_packet)
    {
        std::size_t next = raw_mqtt::for_each_packet(buffer_.data(), begin_, end_, on_packet);
        if (next == SIZE_MAX) return false;
        begin_ = next;
        return true;
    }

private:
    int fd_;
    bool quickack_ = std::getenv("RAW_QUICKACK") != nullptr;
    Bytes buffer_;
    std::size_t begin_ = 0;
    std::size_t end_ = 0;
};

/// Connects and waits for a successful CONNACK; -1 on failure.
int open_session(const bench_args& a, const std::string& id)
{
    int fd = raw_mqtt::dial(a.host, a.port);
    if (fd < 0) return -1;
    Reader reader(fd);
    bool accepted = false;
    bool done = false;
    uint64_t deadline = bench_deadline(10);
    if (!raw_mqtt::write_all(fd, raw_mqtt::connect_packet(id, 60, g_level))) done = true;
    while (!done && bench_now_ns() < deadline && reader.fill(true)) {
        reader.parse([&](const Packet& p) {
            if (p.header == raw_mqtt::kConnack && p.body.size() >= 2) {
                accepted = p.body[1] == 0;
                done = true;
            }
        });
    }
    if (!accepted) {
        close(fd);
        return -1;
    }
    return fd;
}

/// Sends SUBSCRIBE and waits for the SUBACK; false on failure.
bool subscribe(int fd, Reader& reader, const char* filter, int qos)
{
    if (!raw_mqtt::write_all(fd, raw_mqtt::subscribe_packet(1, filter, qos, g_level))) return false;
    bool acked = false;
    uint64_t deadline = bench_deadline(10);
    while (!acked && bench_now_ns() < deadline && reader.fill(true)) {
        reader.parse([&](const Packet& p) { acked = acked || p.header == raw_mqtt::kSuback; });
    }
    return acked;
}

/// Handles one incoming packet of a receiving client: records PUBLISH payloads and queues the acks.
void on_incoming(const Packet& p, bench_recorder& rec, Bytes& out)
{
    std::uint8_t type = p.header & 0xF0;
    if (type == raw_mqtt::kPublish && p.body.size() >= 2) {
        int qos = (p.header >> 1) & 3;
        std::size_t pos = 2u + raw_mqtt::get_u16(p.body.data());
        std::uint16_t id = 0;
        if (qos > 0 && pos + 2 <= p.body.size()) {
            id = raw_mqtt::get_u16(p.body.data() + pos);
            pos += 2;
        }
        if (g_level == 5) pos = raw_mqtt::skip_properties(p.body, pos);
        if (pos > p.body.size()) return;
        bench_record(&rec, p.body.data() + pos, p.body.size() - pos);
        if (qos == 1) raw_mqtt::put_ack(out, raw_mqtt::kPuback, id);
        if (qos == 2) raw_mqtt::put_ack(out, raw_mqtt::kPubrec, id);
    } else if (p.header == raw_mqtt::kPubrel && p.body.size() >= 2) {
        raw_mqtt::put_ack(out, raw_mqtt::kPubcomp, raw_mqtt::get_u16(p.body.data()));
    }
}

/// Pre-encoded PUBLISH: only the packet id and the payload stamp change per message.
struct PublishTemplate {
    Bytes bytes;
    std::size_t id_offset = 0;
    std::size_t payload_offset = 0;
    bool has_id = false;  // QoS 0 has no packet id (and in 5.0 the property length follows the topic)

    PublishTemplate(const std::string& topic, int qos, std::size_t payload)
    {
        bytes.push_back(static_cast<std::uint8_t>(raw_mqtt::kPublish | (qos << 1)));
        bool v5 = g_level == 5;
        raw_mqtt::put_remaining_length(bytes, 2 + topic.size() + (qos > 0 ? 2 : 0) + (v5 ? 1 : 0) + payload);
        raw_mqtt::put_string(bytes, topic);
        id_offset = bytes.size();
        has_id = qos > 0;
        if (has_id) raw_mqtt::put_u16(bytes, 0);
        if (v5) bytes.push_back(0);  // no properties
        payload_offset = bytes.size();
        bytes.resize(bytes.size() + payload, 0);
    }

    void append(Bytes& out, std::uint16_t id, std::uint32_t index, std::uint32_t seq) const
    {
        std::size_t at = out.size();
        out.insert(out.end(), bytes.begin(), bytes.end());
        if (has_id) {
            out[at + id_offset] = static_cast<std::uint8_t>(id >> 8);
            out[at + id_offset + 1] = static_cast<std::uint8_t>(id & 0xFF);
        }
        bench_stamp(out.data() + at + payload_offset, index, seq);
    }
};

struct PublisherStats {
    std::uint64_t sent = 0;
};

/// Processes the acks of a publishing session; returns false when the framing is broken.
bool on_acks(Reader& reader, long& outstanding, Bytes& pending)
{
    return reader.parse([&](const Packet& p) {
        if (p.body.size() < 2) return;
        if (p.header == raw_mqtt::kPuback || p.header == raw_mqtt::kPubcomp) --outstanding;
        if (p.header == raw_mqtt::kPubrec) {
            pending.push_back(raw_mqtt::kPubrel);
            pending.push_back(2);
            pending.insert(pending.end(), p.body.begin(), p.body.begin() + 2);
        }
    });
}

/// One publishing session: a window of unacknowledged messages, written in batches.
class PublisherLoop {
public:
    PublisherLoop(const bench_args& a, int fd, long index)
        : a_(a), fd_(fd), index_(static_cast<std::uint32_t>(index)), tmpl_(topic(a, index), a.qos,
                                                                           static_cast<std::size_t>(a.payload)),
          reader_(fd)
    {
        batch_.reserve(tmpl_.bytes.size() * kMaxBatch + 4096);
    }

    /// Runs until every message is acknowledged (or written, for QoS 0) or the deadline; returns the count sent.
    std::uint64_t run(std::uint64_t deadline)
    {
        while ((seq_ < a_.messages || outstanding_ > 0) && bench_now_ns() < deadline) {
            fill_batch();
            if (!batch_.empty() && !raw_mqtt::write_all(fd_, batch_)) break;
            batch_.clear();
            if (a_.qos == 0) continue;
            bool block = outstanding_ >= a_.inflight || seq_ >= a_.messages;
            if (!reader_.fill(block) || !on_acks(reader_, outstanding_, pending_)) break;
        }
        return static_cast<std::uint64_t>(seq_);
    }

private:
    static std::string topic(const bench_args& a, long index)
    {
        char text[256];
        bench_topic(&a, index, text, sizeof text);
        return text;
    }

    /// The PUBRELs due, then as many new messages as the window and the batch size allow.
    void fill_batch()
    {
        batch_.swap(pending_);
        pending_.clear();
        long room = std::min<long>(a_.qos == 0 ? a_.inflight : a_.inflight - outstanding_, static_cast<long>(kMaxBatch));
        for (long k = 0; k < room && seq_ < a_.messages; ++k, ++seq_) {
            next_id_ = static_cast<std::uint16_t>(next_id_ == 65535 ? 1 : next_id_ + 1);
            tmpl_.append(batch_, next_id_, index_, static_cast<std::uint32_t>(seq_));
            if (a_.qos > 0) ++outstanding_;
        }
    }

    const bench_args& a_;
    int fd_;
    std::uint32_t index_;
    PublishTemplate tmpl_;
    Reader reader_;
    Bytes batch_;
    Bytes pending_;
    long seq_ = 0;
    long outstanding_ = 0;
    std::uint16_t next_id_ = 0;
};

void publisher(const bench_args& a, int fd, long index, std::uint64_t deadline, PublisherStats& stats)
{
    PublisherLoop loop(a, fd, index);
    stats.sent = loop.run(deadline);
}

void subscriber(int fd, Reader& reader, bench_recorder& rec, const std::atomic<bool>& stop)
{
    Bytes out;
    while (!stop.load(std::memory_order_relaxed) && reader.fill(true)) {
        if (!reader.parse([&](const Packet& p) { on_incoming(p, rec, out); })) break;
        if (!out.empty() && !raw_mqtt::write_all(fd, out)) break;
        out.clear();
    }
}

/// Publishers only, one thread each; returns the number of messages sent.
std::uint64_t publish_from(const bench_args& a, const std::vector<int>& fds, std::uint64_t deadline)
{
    std::vector<PublisherStats> stats(fds.size());
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < fds.size(); ++i) {
        threads.emplace_back([&, i] { publisher(a, fds[i], static_cast<long>(i), deadline, stats[i]); });
    }
    for (auto& t : threads) t.join();
    std::uint64_t sent = 0;
    for (const auto& s : stats) sent += s.sent;
    return sent;
}

/// pub: publishers and a subscriber in this process. With RAW_PUBLISH_ONLY set in the environment there is
/// no subscriber (the feeder of the sub rows, whose subscriber is another process).
int run_pub(const bench_args& a)
{
    const bool publish_only = std::getenv("RAW_PUBLISH_ONLY") != nullptr;
    bench_recorder rec;
    bench_recorder_init(&rec, a.clients, a.messages);
    char filter[256];
    bench_filter(&a, filter, sizeof filter);
    int sub_fd = publish_only ? -1 : open_session(a, client_id("sub", 0));
    Reader sub_reader(sub_fd);
    if (!publish_only && (sub_fd < 0 || !subscribe(sub_fd, sub_reader, filter, a.qos))) {
        std::fprintf(stderr, "%s: subscriber failed\n", kLib);
        return 1;
    }
    std::vector<int> fds;
    for (long i = 0; i < a.clients; ++i) {
        fds.push_back(open_session(a, client_id("pub", i)));
        if (fds.back() < 0) {
            std::fprintf(stderr, "%s: publisher %ld failed to connect\n", kLib, i);
            return 1;
        }
    }
    std::atomic<bool> stop{false};
    std::thread sub_thread;
    if (!publish_only) sub_thread = std::thread([&] { subscriber(sub_fd, sub_reader, rec, stop); });
    bench_result r{};
    uint64_t deadline = bench_deadline(a.timeout_s);
    uint64_t cpu0 = bench_cpu_us();
    uint64_t t0 = bench_now_ns();
    r.sent = publish_from(a, fds, deadline);
    if (!publish_only) bench_wait_all(&rec, r.sent, 3000, deadline);
    r.cpu_us = bench_cpu_us() - cpu0;
    uint64_t t1 = rec.last_ns > t0 ? rec.last_ns : bench_now_ns();
    r.seconds = static_cast<double>(t1 - t0) / 1e9;
    stop = true;
    if (sub_thread.joinable()) sub_thread.join();
    bench_fill_arrivals(&r, &rec);
    bench_report(&a, kLib, &r, &rec);
    for (int fd : fds) close(fd);
    if (sub_fd >= 0) close(sub_fd);
    bench_recorder_free(&rec);
    return 0;
}

/// sub: a subscriber only (one blocking recv per read: the floor of what a library can spend).
int run_sub(const bench_args& a)
{
    bench_recorder rec;
    bench_recorder_init(&rec, a.clients, a.messages);
    char filter[256];
    bench_filter(&a, filter, sizeof filter);
    int fd = open_session(a, client_id("sub", 0));
    Reader reader(fd);
    if (fd < 0 || !subscribe(fd, reader, filter, a.qos)) {
        std::fprintf(stderr, "%s: subscriber failed\n", kLib);
        return 1;
    }
    std::atomic<bool> stop{false};
    uint64_t cpu0 = bench_cpu_us();
    std::thread sub_thread([&] { subscriber(fd, reader, rec, stop); });
    bench_sub_ready();
    bench_sub_measure(&a, kLib, &rec, cpu0);
    stop = true;
    sub_thread.join();
    close(fd);
    bench_recorder_free(&rec);
    return 0;
}

/// Reads until `sent` messages have arrived or the deadline. Acks the broker waits for mid-sample (PUBREL
/// of our QoS 2 publish, answers to its PUBREL) are written at once; the rest waits in `out` for the next
/// PUBLISH.
void await_sample(int fd, Reader& reader, bench_recorder& rec, std::uint64_t sent, std::uint64_t deadline, Bytes& out)
{
    while (bench_received(&rec) < sent && bench_now_ns() < deadline && reader.fill(true)) {
        reader.parse([&](const Packet& p) {
            on_incoming(p, rec, out);
            if (p.header == raw_mqtt::kPubrec && p.body.size() >= 2) {  // our QoS 2 publish: release it
                raw_mqtt::put_ack(out, raw_mqtt::kPubrel, raw_mqtt::get_u16(p.body.data()));
            }
        });
        if (bench_received(&rec) < sent && !out.empty()) {
            raw_mqtt::write_all(fd, out);
            out.clear();
        }
    }
}

/// rtt: publish one message, read until it comes back. The acks for the returned message are sent together
/// with the next PUBLISH (one write per sample).
int run_rtt(const bench_args& a)
{
    bench_recorder rec;
    bench_recorder_init(&rec, 1, a.messages);
    char topic[256];
    bench_topic(&a, 0, topic, sizeof topic);
    int fd = open_session(a, client_id("rtt", 0));
    Reader reader(fd);
    if (fd < 0 || !subscribe(fd, reader, topic, a.qos)) {
        std::fprintf(stderr, "%s: rtt client failed to connect/subscribe\n", kLib);
        return 1;
    }
    PublishTemplate tmpl(topic, a.qos, static_cast<std::size_t>(a.payload));
    Bytes out;
    bench_result r{};
    uint64_t deadline = bench_deadline(a.timeout_s);
    uint64_t cpu0 = bench_cpu_us();
    uint64_t t0 = bench_now_ns();
    for (long k = 0; k < a.messages && bench_now_ns() < deadline; ++k) {
        tmpl.append(out, static_cast<std::uint16_t>(k % 65535 + 1), 0, static_cast<std::uint32_t>(k));
        if (!raw_mqtt::write_all(fd, out)) break;
        out.clear();
        ++r.sent;
        await_sample(fd, reader, rec, r.sent, std::min(bench_deadline(2.0), deadline), out);
    }
    r.cpu_us = bench_cpu_us() - cpu0;
    r.seconds = static_cast<double>(bench_now_ns() - t0) / 1e9;
    if (!out.empty()) raw_mqtt::write_all(fd, out);
    bench_fill_arrivals(&r, &rec);
    bench_report(&a, kLib, &r, &rec);
    close(fd);
    bench_recorder_free(&rec);
    return 0;
}

/// Reads CONNACKs from the sockets epoll reports; each answered socket leaves the epoll set.
void drain_connacks(int ep, int timeout_ms, long& connected)
{
    epoll_event events[256];
    int n = epoll_wait(ep, events, 256, timeout_ms);
    for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        std::uint8_t buf[64];
        ssize_t got = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (got >= 4 && buf[0] == raw_mqtt::kConnack && buf[3] == 0) ++connected;
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
    }
}

int run_conn(const bench_args& a)
{
    bench_raise_nofile(a.clients + 64);
    std::vector<int> fds;
    fds.reserve(static_cast<std::size_t>(a.clients));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    long connected = 0;
    bench_result r{};
    uint64_t deadline = bench_deadline(a.timeout_s);
    r.rss_before_kib = bench_rss_kib();
    uint64_t cpu0 = bench_cpu_us();
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < a.clients && bench_now_ns() < deadline; ++i) {
        int fd = raw_mqtt::dial(a.host, a.port);
        if (fd < 0 || !raw_mqtt::write_all(fd, raw_mqtt::connect_packet(client_id("conn", i), 60, g_level))) {
            std::fprintf(stderr, "%s: connect %ld failed: %s\n", kLib, i, std::strerror(errno));
            if (fd >= 0) close(fd);
            break;
        }
        fds.push_back(fd);
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        if (i % 32 == 31) drain_connacks(ep, 0, connected);
    }
    while (connected < static_cast<long>(fds.size()) && bench_now_ns() < deadline) drain_connacks(ep, 100, connected);
    uint64_t t1 = bench_now_ns();
    r.cpu_us = bench_cpu_us() - cpu0;
    r.rss_after_kib = bench_rss_kib();
    r.seconds = static_cast<double>(t1 - t0) / 1e9;
    r.messages = static_cast<std::uint64_t>(connected);
    r.lost = static_cast<std::uint64_t>(a.clients - connected);
    bench_report(&a, kLib, &r, nullptr);
    static const std::uint8_t disconnect[] = {raw_mqtt::kDisconnect, 0};
    for (int fd : fds) {
        raw_mqtt::write_all(fd, disconnect, sizeof disconnect);
        close(fd);
    }
    close(ep);
    return connected == a.clients ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv)
{
    bench_args a{};
    if (bench_parse_args(argc, argv, "raw_peer", &a) != 0) return 2;
    if (a.protocol == 5) g_level = 5;
    switch (a.mode) {
    case BENCH_PUB: return run_pub(a);
    case BENCH_RTT: return run_rtt(a);
    case BENCH_CONN: return run_conn(a);
    case BENCH_SUB: return run_sub(a);
    }
    return 2;
}
