// Codec and session micro-benchmarks: PUBLISH encode/decode of 64 B, 1 KiB and 64 KiB next to a memcpy of the
// same size in the same run, and the session's per-message path with heap allocations counted.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include "nmqtt/protocol/decode.hpp"
#include "nmqtt/protocol/encode.hpp"
#include "nmqtt/protocol/stream_decoder.hpp"
#include "nmqtt/session/session.hpp"

// ---- allocation counting -----------------------------------------------------------------------------------
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // the replacements below pair malloc/free
namespace {
std::atomic<std::uint64_t> allocations{0};
}  // namespace

void* operator new(std::size_t n) {
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    allocations.fetch_add(1, std::memory_order_relaxed);
    return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace {

using namespace nmqtt;

const std::string topic = "sensors/room1/temperature";

void BM_memcpy(benchmark::State& state) {
    const auto size = static_cast<std::size_t>(state.range(0));
    std::vector<std::uint8_t> src(size, 0x5A), dst(size + 64);
    for (auto _ : state) {
        std::memcpy(dst.data(), src.data(), size);
        benchmark::DoNotOptimize(dst.data());
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
}

void BM_encode_publish(benchmark::State& state) {
    const auto size = static_cast<std::size_t>(state.range(0));
    const std::string payload(size, 'x');
    std::vector<std::uint8_t> out(size + 64);
    const protocol::Publish p{topic, payload, QoS::at_least_once, false, false, 42};
    for (auto _ : state) {
        auto n = protocol::encode(p, out);
        benchmark::DoNotOptimize(n);
        benchmark::ClobberMemory();
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
}

void BM_decode_publish(benchmark::State& state) {
    const auto size = static_cast<std::size_t>(state.range(0));
    const std::string payload(size, 'x');
    std::vector<std::uint8_t> wire(size + 64);
    const auto n = protocol::encode(protocol::Publish{topic, payload, QoS::at_least_once, false, false, 42}, wire);
    wire.resize(*n);
    protocol::StreamDecoder decoder(protocol::StreamDecoder::Options{SIZE_MAX, 1u << 20, nullptr, nullptr});
    for (auto _ : state) {
        auto step = decoder.feed(wire);
        benchmark::DoNotOptimize(step);
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(size));
}

// A connected session: CONNECT written, CONNACK fed.
session::Session connected_session() {
    session::SessionOptions o;
    o.client_id = "bench";
    o.max_message_length = SIZE_MAX;
    session::Session s(o);
    (void)s.connection_opened(TimePoint{});
    s.consume_output(s.pending_output().size(), TimePoint{});
    const std::uint8_t connack[] = {0x20, 0x02, 0x00, 0x00};
    s.handle_bytes(connack, TimePoint{});
    while (s.poll_event()) {}
    return s;
}

// QoS 1 publish -> write -> PUBACK -> completion, per message; reports heap allocations per message.
void BM_session_publish_qos1(benchmark::State& state) {
    auto s = connected_session();
    const std::string payload(64, 'x');
    std::uint8_t puback[4] = {0x40, 0x02, 0, 0};
    auto one = [&] {
        auto id = s.publish({topic, payload, QoS::at_least_once, false, 1}, TimePoint{});
        s.consume_output(s.pending_output().size(), TimePoint{});
        puback[2] = static_cast<std::uint8_t>(*id >> 8);
        puback[3] = static_cast<std::uint8_t>(*id);
        s.handle_bytes(puback, TimePoint{});
        while (s.poll_event()) {}
    };
    for (int i = 0; i < 1000; ++i) one();  // warm up pools
    const auto before = allocations.load();
    for (auto _ : state) one();
    state.counters["allocs_per_msg"] =
        static_cast<double>(allocations.load() - before) / static_cast<double>(state.iterations());
}

// QoS 0 publish -> write, per message.
void BM_session_publish_qos0(benchmark::State& state) {
    auto s = connected_session();
    const std::string payload(64, 'x');
    for (int i = 0; i < 1000; ++i) {
        (void)s.publish({topic, payload, QoS::at_most_once, false, 0}, TimePoint{});
        s.consume_output(s.pending_output().size(), TimePoint{});
    }
    const auto before = allocations.load();
    for (auto _ : state) {
        (void)s.publish({topic, payload, QoS::at_most_once, false, 0}, TimePoint{});
        s.consume_output(s.pending_output().size(), TimePoint{});
    }
    state.counters["allocs_per_msg"] =
        static_cast<double>(allocations.load() - before) / static_cast<double>(state.iterations());
}

// Incoming QoS 1 PUBLISH -> event -> PUBACK written, per message.
void BM_session_receive_qos1(benchmark::State& state) {
    auto s = connected_session();
    const std::string payload(64, 'x');
    std::vector<std::uint8_t> wire(256);
    wire.resize(*protocol::encode(protocol::Publish{topic, payload, QoS::at_least_once, false, false, 7}, wire));
    auto one = [&] {
        s.handle_bytes(wire, TimePoint{});
        while (auto e = s.poll_event()) benchmark::DoNotOptimize(e);
        s.consume_output(s.pending_output().size(), TimePoint{});
    };
    for (int i = 0; i < 1000; ++i) one();
    const auto before = allocations.load();
    for (auto _ : state) one();
    state.counters["allocs_per_msg"] =
        static_cast<double>(allocations.load() - before) / static_cast<double>(state.iterations());
}

}  // namespace

BENCHMARK(BM_memcpy)->Arg(64)->Arg(1024)->Arg(65536);
BENCHMARK(BM_encode_publish)->Arg(64)->Arg(1024)->Arg(65536);
BENCHMARK(BM_decode_publish)->Arg(64)->Arg(1024)->Arg(65536);
BENCHMARK(BM_session_publish_qos0);
BENCHMARK(BM_session_publish_qos1);
BENCHMARK(BM_session_receive_qos1);
BENCHMARK_MAIN();
