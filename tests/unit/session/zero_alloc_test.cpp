// Session: no allocation in steady state (session.hpp: "Cost: no allocation in steady state"). This file
// replaces the global operator new/delete of the unit test binary (support/counting_new.hpp); the counted
// loops call only the Session's public API, never gtest.
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <optional>
#include <string_view>
#include <variant>

#include "nmqtt/session/session.hpp"
#include "support/counting_new.hpp"
#include "support/fake_clock.hpp"


namespace nmqtt::test {
namespace {

using namespace std::chrono_literals;

constexpr int warm_up = 2000;
constexpr int measured = 2000;

/// A session connected to nobody: CONNECT written, CONNACK fed, events drained.
struct Rig {
    FakeClock clock;
    session::Session session{make_options()};
    bool ok = true;

    protocol::PropertiesView properties{};  ///< MQTT 5.0 publish properties (v5 rigs)

    static session::SessionOptions make_options(bool v5 = false) {
        session::SessionOptions o;
        o.client_id = "c";
        o.keepalive_seconds = 30;
        if (v5) {
            o.protocol = protocol::ProtocolVersion::v5;
            o.v5.topic_alias_maximum = 4;
        }
        return o;
    }
    Rig() {
        ok = !session.connection_opened(clock.now());
        write_all();
        const std::array<std::uint8_t, 4> connack{0x20, 0x02, 0x00, 0x00};
        feed(connack);
        ok = ok && session.state() == session::State::connected;
    }
    /// MQTT 5.0: CONNACK with Topic Alias Maximum 4, so QoS 0 publishes use an alias.
    explicit Rig(bool /*v5*/) : session{make_options(true)} {
        ok = !session.connection_opened(clock.now());
        write_all();
        const std::array<std::uint8_t, 8> connack{0x20, 0x06, 0x00, 0x00, 0x03, 0x22, 0x00, 0x04};
        feed(connack);
        ok = ok && session.state() == session::State::connected;
    }
    // Everything here must allocate nothing by itself: no gtest, no containers.
    void write_all() {
        const Bytes out = session.pending_output();
        if (!out.empty()) session.consume_output(out.size(), clock.now());
        drain();
    }
    void feed(Bytes input) {
        while (!input.empty()) {
            const std::size_t n = session.handle_bytes(input, clock.now());
            drain();
            if (n == 0) {
                ok = false;
                return;
            }
            input = input.subspan(n);
        }
    }
    void drain() {
        while (auto e = session.poll_event()) {
            if (std::holds_alternative<session::ConnectionLost>(*e) ||
                std::holds_alternative<session::ConnectFailed>(*e))
                ok = false;
        }
    }
    PacketId publish(QoS qos, std::uint64_t tag) {
        const auto r = session.publish(
            session::PublishRequest{"sensors/1/temp", "21.5", qos, false, tag, properties}, clock.now());
        if (!r) ok = false;
        return r ? *r : PacketId{0};
    }
    void ack(std::uint8_t first_byte, PacketId id) {
        const std::array<std::uint8_t, 4> packet{first_byte, 0x02, static_cast<std::uint8_t>(id >> 8),
                                                 static_cast<std::uint8_t>(id & 0xFF)};
        feed(packet);
    }
};

// Runs `step` warm_up times uncounted, then `measured` times counted; returns the allocations counted.
template <class Step>
std::size_t allocations_in_steady_state(Step step) {
    for (int i = 0; i < warm_up; ++i) step(i);
    AllocationCounter counter;
    for (int i = warm_up; i < warm_up + measured; ++i) step(i);
    return counter.stop();
}

TEST(SessionZeroAlloc, PublishQos0InSteadyStateAllocatesNothing) {
    Rig rig;
    ASSERT_TRUE(rig.ok);
    const std::size_t n = allocations_in_steady_state([&rig](int i) {
        rig.publish(QoS::at_most_once, static_cast<std::uint64_t>(i) + 1);
        rig.clock.advance(1ms);
        rig.write_all();  // PublishDone for the tag
    });
    EXPECT_TRUE(rig.ok);
    EXPECT_EQ(n, 0u);
}

TEST(SessionZeroAlloc, PublishQos1WithAcksInSteadyStateAllocatesNothing) {
    Rig rig;
    ASSERT_TRUE(rig.ok);
    std::array<PacketId, 8> window{};  // 8 in flight, acked oldest first
    const std::size_t n = allocations_in_steady_state([&rig, &window](int i) {
        const std::size_t slot = static_cast<std::size_t>(i) % window.size();
        if (window[slot] != 0) rig.ack(0x40, window[slot]);
        window[slot] = rig.publish(QoS::at_least_once, static_cast<std::uint64_t>(i) + 1);
        rig.clock.advance(1ms);
        rig.write_all();
    });
    EXPECT_TRUE(rig.ok);
    EXPECT_EQ(n, 0u);
}

TEST(SessionZeroAlloc, PublishQos2WithAcksInSteadyStateAllocatesNothing) {
    Rig rig;
    ASSERT_TRUE(rig.ok);
    const std::size_t n = allocations_in_steady_state([&rig](int i) {
        const PacketId id = rig.publish(QoS::exactly_once, static_cast<std::uint64_t>(i) + 1);
        rig.write_all();
        rig.ack(0x50, id);
        rig.write_all();  // PUBREL
        rig.ack(0x70, id);
        rig.clock.advance(1ms);
    });
    EXPECT_TRUE(rig.ok);
    EXPECT_EQ(n, 0u);
}

// One round of incoming traffic: QoS 0, QoS 1 and QoS 2 PUBLISHes of "a/b" "hi", then the PUBREL for the
// QoS 2 one, with a different id each round; odd rounds arrive in two reads cut inside the QoS 2 PUBLISH.
class IncomingRound {
public:
    explicit IncomingRound(Rig& rig) : rig_(rig) {}

    void operator()(int round) {
        const auto id = static_cast<PacketId>(round % 60000 + 1);
        for (const std::size_t at : {std::size_t{16}, std::size_t{27}, std::size_t{33}}) {
            stream_[at] = static_cast<std::uint8_t>(id >> 8);
            stream_[at + 1] = static_cast<std::uint8_t>(id & 0xFF);
        }
        const Bytes all(stream_);
        if (round % 2 == 0) {
            rig_.feed(all);
        } else {
            rig_.feed(all.first(25));
            rig_.feed(all.subspan(25));
        }
        rig_.clock.advance(1ms);
        rig_.write_all();  // PUBACK, PUBREC, PUBCOMP
    }

private:
    Rig& rig_;
    std::array<std::uint8_t, 9 + 11 + 11 + 4> stream_{
        0x30, 0x07, 0x00, 0x03, 0x61, 0x2F, 0x62, 0x68, 0x69,                // QoS 0
        0x32, 0x09, 0x00, 0x03, 0x61, 0x2F, 0x62, 0x00, 0x00, 0x68, 0x69,    // QoS 1, id at 16
        0x34, 0x09, 0x00, 0x03, 0x61, 0x2F, 0x62, 0x00, 0x00, 0x68, 0x69,    // QoS 2, id at 27
        0x62, 0x02, 0x00, 0x00};                                             // PUBREL, id at 33
};

TEST(SessionZeroAlloc, ReceivingPublishesInSteadyStateAllocatesNothing) {
    Rig rig;
    ASSERT_TRUE(rig.ok);
    const std::size_t n = allocations_in_steady_state(IncomingRound(rig));
    EXPECT_TRUE(rig.ok);
    EXPECT_EQ(rig.session.incoming_qos2_count(), 0u);
    EXPECT_EQ(n, 0u);
}

TEST(SessionZeroAlloc, KeepalivePingsInSteadyStateAllocateNothing) {
    Rig rig;
    ASSERT_TRUE(rig.ok);
    const std::array<std::uint8_t, 2> pingresp{0xD0, 0x00};
    const std::size_t n = allocations_in_steady_state([&rig, &pingresp](int) {
        if (const auto due = rig.session.next_deadline()) rig.clock.advance_to(*due);
        rig.session.handle_timeout(rig.clock.now());
        rig.write_all();  // PINGREQ
        rig.feed(pingresp);
    });
    EXPECT_TRUE(rig.ok);
    EXPECT_EQ(n, 0u);
}

}  // namespace
}  // namespace nmqtt::test

namespace nmqtt::test {
namespace {

// MQTT 5.0: the same steady state with a user property on every message and topic aliases.
const std::array<std::uint8_t, 14> user_property{0x26, 0x00, 0x04, 'u', 'n', 'i', 't', 0x00, 0x05, 'c', 'e', 'l', 's', 'i'};

TEST(SessionZeroAlloc, V5PublishQos0WithUserPropertyAndTopicAliasAllocatesNothing) {
    Rig rig(true);
    ASSERT_TRUE(rig.ok);
    rig.properties = protocol::PropertiesView{Bytes{user_property.data(), user_property.size()}};
    const std::size_t n = allocations_in_steady_state([&rig](int i) {
        rig.publish(QoS::at_most_once, static_cast<std::uint64_t>(i) + 1);
        rig.clock.advance(1ms);
        rig.write_all();
    });
    EXPECT_TRUE(rig.ok);
    EXPECT_EQ(n, 0u);
}

TEST(SessionZeroAlloc, V5PublishQos1WithAcksAllocatesNothing) {
    for (const bool with_property : {false, true}) {
        Rig rig(true);
        ASSERT_TRUE(rig.ok);
        if (with_property) rig.properties = protocol::PropertiesView{Bytes{user_property.data(), user_property.size()}};
        std::array<PacketId, 8> window{};
        const std::size_t n = allocations_in_steady_state([&rig, &window](int i) {
            const std::size_t slot = static_cast<std::size_t>(i) % window.size();
            if (window[slot] != 0) rig.ack(0x40, window[slot]);
            window[slot] = rig.publish(QoS::at_least_once, static_cast<std::uint64_t>(i) + 1);
            rig.clock.advance(1ms);
            rig.write_all();
        });
        EXPECT_TRUE(rig.ok);
        EXPECT_EQ(n, 0u) << "with user property: " << with_property;
    }
}

TEST(SessionZeroAlloc, V5IncomingPublishWithAliasAndPropertiesAllocatesNothing) {
    Rig rig(true);
    ASSERT_TRUE(rig.ok);
    // First sets alias 1 for "s/t", then alias-only PUBLISHes with a user property (QoS 1: PUBACK each).
    const std::array<std::uint8_t, 12> first{0x30, 0x0A, 0x00, 0x03, 's', '/', 't', 0x03, 0x23, 0x00, 0x01, 'x'};
    rig.feed(first);
    std::array<std::uint8_t, 16> next{0x32, 0x0E, 0x00, 0x00, 0x00, 0x01, 0x09, 0x23, 0x00, 0x01,
                                      0x26, 0x00, 0x01, 'k', 0x00, 0x00};
    const std::size_t n = allocations_in_steady_state([&rig, &next](int i) {
        const auto id = static_cast<PacketId>(i % 60000 + 1);
        next[4] = static_cast<std::uint8_t>(id >> 8);
        next[5] = static_cast<std::uint8_t>(id & 0xFF);
        rig.feed(next);
        rig.write_all();
    });
    EXPECT_TRUE(rig.ok);
    EXPECT_EQ(n, 0u);
}

}  // namespace
}  // namespace nmqtt::test
