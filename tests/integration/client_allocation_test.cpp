// nmqtt::Client publishing and receiving allocates nothing in steady state (client.hpp: publish "Allocates
// nothing in steady state"). This file replaces the global operator new/delete of the integration test
// binary with malloc/free wrappers that count calls made on the counting thread while counting is on.
// The counted phase calls only the Client and its event loop, never gtest.
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdlib>
#include <new>
#include <string>

#include "client_harness.hpp"
#include "support/mosquitto_fixture.hpp"

namespace {

thread_local bool counting = false;
thread_local std::size_t allocations = 0;

void* counted_malloc(std::size_t size) noexcept {
    if (counting) ++allocations;
    return std::malloc(size == 0 ? 1 : size);
}

void* counted_aligned(std::size_t size, std::align_val_t align) noexcept {
    if (counting) ++allocations;
    const auto a = static_cast<std::size_t>(align);
    return std::aligned_alloc(a, size == 0 ? a : (size + a - 1) / a * a);
}

}  // namespace

void* operator new(std::size_t size) {
    if (void* p = counted_malloc(size)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
    if (void* p = counted_malloc(size)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return counted_malloc(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return counted_malloc(size); }
void* operator new(std::size_t size, std::align_val_t align) {
    if (void* p = counted_aligned(size, align)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t align) {
    if (void* p = counted_aligned(size, align)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
    return counted_aligned(size, align);
}
void* operator new[](std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
    return counted_aligned(size, align);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

namespace nmqtt::test {
namespace {

// One round: `count` publishes at each QoS with a per-operation completion, all received back.
struct Round {
    Client& client;
    int completed = 0;
    int received = 0;
    int pubacks = 0;

    bool run(int count) {
        completed = received = pubacks = 0;
        for (int i = 0; i < count; ++i) {
            const int qos = i % 3;
            if (!client.publish("alloc/t", "steady state payload", qos, false, {},
                                [this](std::error_code ec, PacketId) { completed += ec ? 0 : 1; })) {
                return false;
            }
        }
        return run_until(client, [this, count] { return completed == count && received == count && pubacks == count; },
                         10000ms);
    }
};

TEST(ClientAllocationTest, SteadyPublishAndReceiveAllocateNothing) {
    MosquittoFixture broker({.extra_config = {"max_inflight_messages 0"}});  // see client_messaging_test.cpp
    Client client(test_options("alloc"));
    ASSERT_TRUE(connect_and_wait(client, broker.host(), broker.port()));
    Round round{client};
    client.on_message([&round](Client&, const MessageView& m) { round.received += m.payload.size() == 20 ? 1 : 0; });
    client.on(Event::puback, [&round](Client&) { ++round.pubacks; });
    bool subscribed = false;
    ASSERT_TRUE(client.subscribe("alloc/t", 2, [&subscribed](Client&) { subscribed = true; }));
    ASSERT_TRUE(run_until(client, [&] { return subscribed; }));

    // Warm-up with bigger bursts: the handler caches fill and the session's two output buffers grow (vector
    // doubling) to the largest burst each has held. Which of the two takes a burst depends on the order of
    // writes and arrivals, and the session does not size one after the other, so a buffer that happened never
    // to take a burst allocates in the measured round: many warm-up rounds make that very unlikely.
    for (int warm = 0; warm < 12; ++warm) ASSERT_TRUE(round.run(600)) << "warm-up " << warm;

    allocations = 0;
    counting = true;
    const bool ok = round.run(300);
    counting = false;
    ASSERT_TRUE(ok);
    EXPECT_EQ(allocations, 0U) << "allocations while publishing and receiving 300 messages";
}

}  // namespace
}  // namespace nmqtt::test
