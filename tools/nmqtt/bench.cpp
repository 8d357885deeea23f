// `nmqtt bench`: a load generator in the habits of emqtt-bench, and nmqtt's entry in the side-by-side
// comparison (bench/compare/run.sh): the same flags and the same one-line JSON report as the peers there.
//   pub   -c publishers stream -n messages each (at most --inflight outstanding, or one per -I ms); a
//         subscriber in this process counts them end to end (--no-sub: only the publishers)
//   sub   -c subscribers (topic %i = subscriber index) each wait for -n messages
//   rtt   one client publishes to its own topic and waits for the message: -n round trips
//   conn  -c clients connect (at most --connecting attempts at once) and stay idle for --idle seconds
// Clients share one io_context per thread (--threads, default one per core).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <asio/post.hpp>
#include <fmt/core.h>

#include "bench_roles.hpp"
#include "bench_stats.hpp"
#include "commands.hpp"
#include "connect_options.hpp"

namespace nmqtt::cli {
namespace {

namespace b = bench;

constexpr int exit_ok = 0;
constexpr int exit_usage = 1;
constexpr int exit_connect_failed = 2;
constexpr int exit_incomplete = 3;
constexpr std::uint64_t idle_limit_ns = 3'000'000'000u;  // no arrival for 3 s after the publishers are done
// How often main() looks at the counters while the clients work: rarely enough to cost nothing measurable
// (the measured end is the time of the last arrival or completion, not the end of this wait).
constexpr std::chrono::milliseconds poll_interval{10};

std::uint64_t deadline_after(double seconds) {
    return b::now_ns() + static_cast<std::uint64_t>(seconds * 1e9);
}

/// The progress line: once a second on stderr, only when stderr is a terminal.
class Progress {
public:
    explicit Progress(std::string mode) : mode_(std::move(mode)), enabled_(isatty(STDERR_FILENO) == 1) {}
    ~Progress() {
        if (printed_) std::fputs("\n", stderr);
    }
    Progress(const Progress&) = delete;
    Progress& operator=(const Progress&) = delete;

    void update(std::uint64_t sent, std::uint64_t received, std::uint64_t in_flight) {
        const auto now = b::now_ns();
        if (!enabled_ || now < last_ns_ + 1'000'000'000u) return;
        const double seconds = last_ns_ == 0 ? 1.0 : static_cast<double>(now - last_ns_) / 1e9;
        const auto counted = received > 0 ? received : sent;
        const double rate = static_cast<double>(counted - last_count_) / seconds;
        fmt::print(stderr, "\rnmqtt bench {}: sent {} received {} ({:.0f} msg/s) in flight {}     ", mode_, sent,
                   received, rate, in_flight);
        std::fflush(stderr);
        printed_ = true;
        last_ns_ = now;
        last_count_ = counted;
    }

private:
    std::string mode_;
    bool enabled_;
    bool printed_ = false;
    std::uint64_t last_ns_ = 0;
    std::uint64_t last_count_ = 0;
};

std::size_t thread_count(const b::Flags& f, std::size_t clients) {
    if (f.threads > 0) return static_cast<std::size_t>(f.threads);
    const std::size_t cores = std::max(1u, std::thread::hardware_concurrency());
    return std::clamp<std::size_t>(clients, 1, cores);
}

/// Waits until every one of `expected` clients is ready or one failed; false (with a message) otherwise.
bool wait_ready(b::RunState& state, long expected, double seconds) {
    const auto deadline = deadline_after(seconds);
    while (state.ready.load() < expected && state.failed.load() == 0 && b::now_ns() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (state.ready.load() >= expected) return true;
    const int reason = state.first_failure.load();
    if (state.failed.load() == 0) {
        fmt::print(stderr, "nmqtt bench: {} of {} clients ready after {:.0f} s\n", state.ready.load(), expected, seconds);
    } else if (reason <= -2000) {
        fmt::print(stderr, "nmqtt bench: subscription refused\n");
    } else if (reason <= -1000) {
        fmt::print(stderr, "nmqtt bench: publish refused (error {})\n", -1000 - reason);
    } else {
        fmt::print(stderr, "nmqtt bench: {}\n", connection_failure_message(reason));
    }
    return false;
}

template <class T>
void post_each(std::vector<std::pair<asio::io_context*, std::unique_ptr<T>>>& items, void (T::*member)()) {
    for (auto& [io, item] : items) asio::post(*io, [object = item.get(), member] { (object->*member)(); });
}

struct PubTotals {
    std::uint64_t sent = 0;
    std::uint64_t completed = 0;
    std::uint64_t last_completion_ns = 0;
    bool finished = true;
};

template <class Items>
PubTotals totals(const Items& pubs) {
    PubTotals t;
    for (const auto& [io, p] : pubs) {
        t.sent += p->sent();
        t.completed += p->completed();
        t.last_completion_ns = std::max(t.last_completion_ns, p->last_completion_ns());
        t.finished = t.finished && p->is_finished();
    }
    return t;
}

/// Main thread of pub mode: waits for the publishers and then for the arrivals (3 s without progress
/// ends the wait), printing progress.
template <class Items>
void watch_pub(const Items& pubs, b::Receiver* receiver, std::uint64_t deadline) {
    Progress progress("pub");
    std::uint64_t last_received = 0;
    std::uint64_t progress_ns = b::now_ns();
    for (;;) {
        std::this_thread::sleep_for(poll_interval);
        const auto t = totals(pubs);
        const std::uint64_t received = receiver != nullptr ? receiver->arrivals().received() : 0;
        progress.update(t.sent, received, t.sent - t.completed);
        const auto now = b::now_ns();
        if (received != last_received) {
            last_received = received;
            progress_ns = now;
        }
        if (now >= deadline) return;
        if (!t.finished) continue;
        if (receiver == nullptr || received >= t.sent || now >= progress_ns + idle_limit_ns) return;
    }
}

/// Counts of pub mode: arrivals at the subscriber, or completions with --no-sub (no latencies then).
void fill_pub_result(b::Result& r, const PubTotals& t, b::Receiver* receiver, std::uint64_t t0,
                     std::vector<std::uint32_t>& none) {
    r.sent = t.sent;
    if (receiver != nullptr) {
        auto& a = receiver->arrivals();
        r.messages = a.unique();
        r.lost = r.sent > r.messages ? r.sent - r.messages : 0;
        r.duplicated = a.duplicated();
        r.seconds = static_cast<double>((a.last_ns() > t0 ? a.last_ns() : b::now_ns()) - t0) / 1e9;
        r.latencies_us = &a.latencies_us();
        return;
    }
    r.messages = t.completed;
    r.lost = r.sent - t.completed;
    r.seconds = static_cast<double>((t.last_completion_ns > t0 ? t.last_completion_ns : b::now_ns()) - t0) / 1e9;
    r.latencies_us = &none;
}

int run_pub(const b::Flags& f) {
    b::RunState state;
    const bool with_sub = !f.no_sub;
    b::Workers workers(thread_count(f, static_cast<std::size_t>(f.clients) + (with_sub ? 1 : 0)));
    std::vector<std::pair<asio::io_context*, std::unique_ptr<b::Receiver>>> subs;
    if (with_sub) {
        subs.emplace_back(&workers.at(0), std::make_unique<b::Receiver>(
                                              workers.at(0), f, b::expand_topic(f.topic, "+"),
                                              fmt::format("nmqtt-bench-sub-{}", static_cast<long>(getpid())),
                                              static_cast<std::uint32_t>(f.clients),
                                              static_cast<std::uint32_t>(f.messages), state));
    }
    std::vector<std::pair<asio::io_context*, std::unique_ptr<b::Publisher>>> pubs;
    for (long i = 0; i < f.clients; ++i) {
        auto& io = workers.at(static_cast<std::size_t>(i) + subs.size());
        pubs.emplace_back(&io, std::make_unique<b::Publisher>(io, f, static_cast<std::uint32_t>(i), state));
    }
    post_each(subs, &b::Receiver::connect);
    post_each(pubs, &b::Publisher::connect);
    if (!wait_ready(state, f.clients + static_cast<long>(subs.size()), 30)) {
        workers.stop(std::chrono::milliseconds(0));
        return exit_connect_failed;
    }
    const auto deadline = deadline_after(f.timeout_s);
    const auto cpu0 = b::cpu_us();
    const auto t0 = b::now_ns();
    post_each(pubs, &b::Publisher::go);
    b::Receiver* receiver = subs.empty() ? nullptr : subs.front().second.get();
    watch_pub(pubs, receiver, deadline);
    b::Result r{.mode = "pub", .qos = f.qos, .clients = f.clients, .inflight = f.inflight, .payload = f.payload};
    r.cpu_us = b::cpu_us() - cpu0;
    const auto t = totals(pubs);
    const long dropped = state.offline.load();  // before close() makes every client go offline
    post_each(subs, &b::Receiver::close);
    post_each(pubs, &b::Publisher::close);
    workers.stop(std::chrono::seconds(2));
    std::vector<std::uint32_t> none;
    fill_pub_result(r, t, receiver, t0, none);
    b::print_result(r, f.json);
    if (dropped > 0) fmt::print(stderr, "nmqtt bench: {} connections lost during the run\n", dropped);
    return r.lost == 0 && dropped == 0 ? exit_ok : exit_incomplete;
}

/// Main thread of sub mode: waits until every subscriber has its messages, or 3 s without arrivals after
/// the first one, or the deadline.
template <class Items>
void watch_sub(const Items& subs, std::uint64_t expected, std::uint64_t deadline) {
    Progress progress("sub");
    std::uint64_t last = 0;
    std::uint64_t progress_ns = b::now_ns();
    for (;;) {
        std::this_thread::sleep_for(poll_interval);
        std::uint64_t received = 0;
        bool all = true;
        for (const auto& [io, s] : subs) {
            received += s->arrivals().received();
            all = all && s->arrivals().received() >= expected;
        }
        progress.update(0, received, 0);
        const auto now = b::now_ns();
        if (received != last) {
            last = received;
            progress_ns = now;
        }
        if (all || now >= deadline || (received > 0 && now >= progress_ns + idle_limit_ns)) return;
    }
}

/// Sub mode: the subscriptions stand. bench/compare/run.sh starts the publisher of its subscriber rows when
/// the file named by $BENCH_READY_FILE appears.
void signal_ready() {
    const char* path = std::getenv("BENCH_READY_FILE");
    if (path == nullptr || *path == '\0') return;
    if (std::FILE* file = std::fopen(path, "w")) std::fclose(file);
}

int run_sub(const b::Flags& f) {
    b::RunState state;
    b::Workers workers(thread_count(f, static_cast<std::size_t>(f.clients)));
    std::vector<std::pair<asio::io_context*, std::unique_ptr<b::Receiver>>> subs;
    for (long i = 0; i < f.clients; ++i) {
        auto& io = workers.at(static_cast<std::size_t>(i));
        subs.emplace_back(&io, std::make_unique<b::Receiver>(
                                   io, f, b::expand_topic(f.topic, std::to_string(i)),
                                   fmt::format("nmqtt-bench-sub-{}-{}", static_cast<long>(getpid()), i), 1,
                                   static_cast<std::uint32_t>(f.messages), state));
    }
    post_each(subs, &b::Receiver::connect);
    if (!wait_ready(state, f.clients, 30)) return exit_connect_failed;
    const auto cpu0 = b::cpu_us();
    signal_ready();
    watch_sub(subs, static_cast<std::uint64_t>(f.messages), deadline_after(f.timeout_s));
    b::Result r{.mode = "sub", .qos = f.qos, .clients = f.clients, .inflight = f.inflight, .payload = f.payload};
    r.cpu_us = b::cpu_us() - cpu0;
    post_each(subs, &b::Receiver::close);
    workers.stop(std::chrono::seconds(2));
    auto& total = subs.front().second->arrivals();
    const auto expected = static_cast<std::uint64_t>(f.messages);
    for (const auto& s : subs) r.lost += expected - std::min(expected, s.second->arrivals().unique());
    for (std::size_t i = 1; i < subs.size(); ++i) total.merge(subs[i].second->arrivals());
    r.messages = total.unique();
    r.sent = r.messages + r.lost;
    r.duplicated = total.duplicated();
    r.seconds = total.first_ns() > 0 ? static_cast<double>(total.last_ns() - total.first_ns()) / 1e9 : 0.0;
    r.latencies_us = &total.latencies_us();
    b::print_result(r, f.json);
    return r.lost == 0 ? exit_ok : exit_incomplete;
}

int run_rtt(const b::Flags& f) {
    b::RunState state;
    b::Workers workers(1);
    b::RoundTrip rtt(workers.at(0), f, state);
    asio::post(workers.at(0), [&rtt] { rtt.connect(); });
    if (!wait_ready(state, 1, 30)) return exit_connect_failed;
    const auto deadline = deadline_after(f.timeout_s);
    const auto cpu0 = b::cpu_us();
    const auto t0 = b::now_ns();
    asio::post(workers.at(0), [&rtt, deadline] { rtt.go(deadline); });
    Progress progress("rtt");
    while (!rtt.is_finished() && b::now_ns() < deadline + idle_limit_ns) {
        std::this_thread::sleep_for(poll_interval);
        progress.update(rtt.sent(), rtt.arrivals().received(), 0);
    }
    b::Result r{.mode = "rtt", .qos = f.qos, .clients = 1, .inflight = f.inflight, .payload = f.payload};
    r.cpu_us = b::cpu_us() - cpu0;
    r.seconds = static_cast<double>(b::now_ns() - t0) / 1e9;
    const long dropped = state.offline.load();
    asio::post(workers.at(0), [&rtt] { rtt.close(); });
    workers.stop(std::chrono::seconds(2));
    r.sent = rtt.sent();
    r.messages = rtt.arrivals().unique();
    r.lost = r.sent - std::min(r.sent, r.messages);
    r.duplicated = rtt.arrivals().duplicated();
    r.latencies_us = &rtt.arrivals().latencies_us();
    b::print_result(r, f.json);
    return r.lost == 0 && dropped == 0 ? exit_ok : exit_incomplete;
}

int run_conn(const b::Flags& f) {
    const auto needed = static_cast<std::size_t>(f.clients) + 64;
    if (const auto limit = b::raise_fd_limit(needed); limit < needed) {
        fmt::print(stderr, "nmqtt bench: {} clients need about {} file descriptors, the limit is {} (ulimit -n)\n",
                   f.clients, needed, limit);
        return exit_usage;
    }
    b::RunState state;
    b::Workers workers(thread_count(f, static_cast<std::size_t>(f.clients)));
    b::Result r{.mode = "conn", .qos = f.qos, .clients = f.clients, .inflight = f.inflight, .payload = f.payload};
    const auto deadline = deadline_after(f.timeout_s);
    r.rss_before_kib = b::rss_kib();
    const auto cpu0 = b::cpu_us();
    const auto t0 = b::now_ns();
    std::vector<std::unique_ptr<b::IdleClient>> clients;
    std::vector<std::vector<b::IdleClient*>> per_context(workers.size());
    for (long i = 0; i < f.clients; ++i) {
        const auto slot = static_cast<std::size_t>(i) % workers.size();
        clients.push_back(std::make_unique<b::IdleClient>(workers.at(slot), f, static_cast<std::uint32_t>(i), state));
        per_context[slot].push_back(clients.back().get());
    }
    const long parallel = std::max<long>(1, f.connecting / static_cast<long>(workers.size()));
    std::vector<std::unique_ptr<b::Connector>> connectors;
    for (std::size_t slot = 0; slot < workers.size(); ++slot) {
        connectors.push_back(std::make_unique<b::Connector>(std::move(per_context[slot]), parallel));
        asio::post(workers.at(slot), [c = connectors.back().get()] { c->start(); });
    }
    Progress progress("conn");
    while (state.ready.load() + state.failed.load() < f.clients && b::now_ns() < deadline) {
        std::this_thread::sleep_for(poll_interval);
        progress.update(static_cast<std::uint64_t>(state.ready.load() + state.failed.load()),
                        static_cast<std::uint64_t>(state.ready.load()), 0);
    }
    r.seconds = static_cast<double>(b::now_ns() - t0) / 1e9;
    r.cpu_us = b::cpu_us() - cpu0;
    r.rss_after_kib = b::rss_kib();
    r.messages = static_cast<std::uint64_t>(state.ready.load());
    r.lost = static_cast<std::uint64_t>(f.clients) - r.messages;
    if (f.idle_s > 0) std::this_thread::sleep_for(std::chrono::duration<double>(f.idle_s));
    const long dropped = state.offline.load();
    for (std::size_t i = 0; i < clients.size(); ++i) {
        asio::post(workers.at(i % workers.size()), [c = clients[i].get()] { c->close(); });
    }
    workers.stop(std::chrono::seconds(3));
    b::print_result(r, f.json);
    if (state.failed.load() > 0) {
        fmt::print(stderr, "nmqtt bench: {} clients failed to connect; first: {}\n", state.failed.load(),
                   connection_failure_message(state.first_failure.load()));
    }
    if (dropped > 0) fmt::print(stderr, "nmqtt bench: {} idle connections were lost\n", dropped);
    return r.lost == 0 && dropped == 0 ? exit_ok : exit_connect_failed;
}

int run_bench(const b::Flags& f) {
    try {
        if (f.mode == "pub") return run_pub(f);
        if (f.mode == "sub") return run_sub(f);
        if (f.mode == "rtt") return run_rtt(f);
        return run_conn(f);
    } catch (const std::system_error& e) {  // options the client refuses (bad TLS files, password without user)
        fmt::print(stderr, "nmqtt bench: {}\n", e.what());
        return exit_usage;
    }
}

/// The flags and what CLI11 fills before they are final.
struct Parsed {
    b::Flags flags;
    std::string password;
    CLI::Option* password_option = nullptr;
};

void add_bench_flags(CLI::App& app, Parsed& parsed) {
    b::Flags& f = parsed.flags;
    app.add_option("mode", f.mode, "pub | sub | rtt | conn")->required()->check(CLI::IsMember({"pub", "sub", "rtt", "conn"}));
    app.add_option("-h,--host", f.host, "Broker host (default: 127.0.0.1)");
    app.add_option("-p,--port", f.port, "Broker port (default: 1883, 8883 with TLS)")->check(CLI::Range(1, 65535));
    app.add_option("-c,--clients", f.clients, "Clients: publishers (pub), subscribers (sub), connections (conn)")
        ->check(CLI::Range(1L, 1'000'000L));
    app.add_option("-n,--messages", f.messages, "Messages per publisher (pub), per subscriber (sub), samples (rtt)")
        ->check(CLI::Range(1L, 100'000'000L));
    app.add_option("-I,--interval", f.interval_ms, "pub: milliseconds between messages of a publisher (0: stream)")
        ->check(CLI::Range(0L, 3'600'000L));
    app.add_option("-s,--size", f.payload, "Payload bytes (at least 16: timestamp, publisher, sequence)")
        ->check(CLI::Range(16L, 256L << 20));
    app.add_option("-q,--qos", f.qos, "Quality of service 0, 1 or 2")->check(CLI::Range(0, 2));
    app.add_option("--inflight", f.inflight, "Messages outstanding per publisher (written for QoS 0, unacknowledged for 1/2)")
        ->check(CLI::Range(1L, 65535L));
    app.add_option("-V,--protocol-version", f.protocol, "MQTT version: mqttv311 (or 311, default) or mqttv5 (or 5)")
        ->check(CLI::IsMember({"311", "mqttv311", "5", "mqttv5"}));
    app.add_option("-t,--topic", f.topic, "Topic; %i is replaced by the client index (default: bench/%i)");
    app.add_option("-u,--username", f.username, "User name");
    parsed.password_option = app.add_option("-P,--pw", parsed.password, "Password (needs -u)");
    app.add_flag("--tls", f.tls, "Use TLS (implied by --cafile, --capath, --cert)");
    app.add_option("--cafile", f.cafile, "PEM file of trusted CAs")->check(CLI::ExistingFile);
    app.add_option("--capath", f.capath, "Directory of hashed CA certificates")->check(CLI::ExistingDirectory);
    app.add_option("--cert", f.cert, "Client certificate (PEM)")->check(CLI::ExistingFile);
    app.add_option("--key", f.key, "Client private key (PEM)")->check(CLI::ExistingFile);
    app.add_flag("--insecure", f.insecure, "Do not verify the server certificate and host name");
    app.add_flag("--ws", f.websocket, "MQTT over WebSockets (wss:// with TLS)");
    app.add_option("--ws-path", f.ws_path, "WebSocket request path with --ws (default: /mqtt)");
    app.add_flag("--json", f.json, "Print the result as one JSON line");
    app.add_flag("--no-sub", f.no_sub, "pub: no subscriber; count publish completions instead of arrivals");
    app.add_option("--timeout", f.timeout_s, "Bound of the measured phase in seconds (default: 60)")->check(CLI::PositiveNumber);
    app.add_option("--idle", f.idle_s, "conn: seconds to stay connected before disconnecting")->check(CLI::NonNegativeNumber);
    app.add_option("--threads", f.threads, "Threads, each with its own io_context (default: one per core)")
        ->check(CLI::Range(1L, 1024L));
    app.add_option("--connecting", f.connecting, "conn: connection attempts in progress at once (default: 64)")
        ->check(CLI::Range(1L, 1'000'000L));
}

}  // namespace

Command setup_bench(CLI::App& parent) {
    auto parsed = std::make_shared<Parsed>();
    auto* command = parent.add_subcommand("bench", "Benchmark a broker and this client (emqtt-bench habits)");
    command->set_help_flag("--help", "Print this help and exit");
    command->footer(
        "Modes: pub streams -n messages per publisher and counts them end to end with a subscriber in this "
        "process; sub waits for -n messages per subscriber; rtt measures -n publish->receive round trips; "
        "conn connects -c clients and keeps them idle. Payloads carry a timestamp, so latencies are end to end "
        "on one machine.\nExit status: 0 all done, 1 usage, 2 a client could not connect or subscribe, "
        "3 messages lost or the run timed out.");
    add_bench_flags(*command, *parsed);
    return Command{command, [parsed] {
                       if (parsed->password_option->count() > 0) parsed->flags.password = parsed->password;
                       return run_bench(parsed->flags);
                   }};
}

}  // namespace nmqtt::cli
