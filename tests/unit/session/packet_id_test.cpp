// Session: packet identifiers (section 2.3.1). Never 0, distinct while in use, free again only after the
// exchange's last ack, wrapping after 65535.
#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

#include "support/bytes.hpp"
#include "support/session_driver.hpp"

namespace nmqtt::test {
namespace {

constexpr QoS q0 = QoS::at_most_once;
constexpr QoS q1 = QoS::at_least_once;
constexpr QoS q2 = QoS::exactly_once;
constexpr std::size_t all_ids = 65'535;

std::array<std::uint8_t, 4> ack(std::uint8_t first_byte, PacketId id) {
    return {first_byte, 0x02, static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id & 0xFF)};
}

session::SessionOptions wide_window_options() {
    auto o = default_options();
    o.max_inflight = 65'535;
    return o;
}

// Publishes until every packet id is in use; returns the ids in the order they were given.
std::vector<PacketId> use_every_id(SessionDriver& d, QoS qos) {
    std::vector<PacketId> ids;
    ids.reserve(all_ids);
    for (std::size_t i = 0; i < all_ids; ++i) {
        auto r = d.publish("t", "", qos, i + 1);
        if (!r) {
            ADD_FAILURE() << "publish " << i << " failed: " << r.error().message();
            break;
        }
        ids.push_back(*r);
        if (i % 4096 == 0) d.take_output();
    }
    d.take_output();
    d.take_events();
    return ids;
}

// Counts ids that are 0 or repeated.
std::size_t bad_ids(const std::vector<PacketId>& ids) {
    std::vector<bool> seen(65'536, false);
    std::size_t bad = 0;
    for (const PacketId id : ids) {
        if (id == 0 || seen[id]) ++bad;
        seen[id] = true;
    }
    return bad;
}

TEST(SessionPacketId, NeverZeroAndWrapsAfter65535_MQTT_2_3_1_1) {
    SessionDriver d(default_options());
    d.connect();
    std::vector<PacketId> ids;
    ids.reserve(all_ids + 10);
    for (std::size_t i = 0; i < all_ids + 10; ++i) {
        const auto r = d.publish("t", "", q1, 1);
        if (!r) {
            ADD_FAILURE() << "publish " << i << " failed: " << r.error().message();
            break;
        }
        ids.push_back(*r);
        d.take_output();
        d.feed(ack(0x40, *r));
        d.take_events();
    }
    ASSERT_EQ(ids.size(), all_ids + 10);
    const std::vector<PacketId> first_round(ids.begin(), ids.begin() + all_ids);
    EXPECT_EQ(bad_ids(first_round), 0u);  // each of 1..65535 once before any is reused
    for (std::size_t i = all_ids; i < ids.size(); ++i) {
        EXPECT_NE(ids[i], 0);
        EXPECT_EQ(ids[i], ids[i - all_ids]) << "after 65535 the ids wrap around";
    }
}

TEST(SessionPacketId, DistinctWhileInUseAndExhaustionReported_MQTT_2_3_1_2) {
    SessionDriver d(wide_window_options());
    d.connect();
    const auto ids = use_every_id(d, q1);
    ASSERT_EQ(ids.size(), all_ids);
    EXPECT_EQ(bad_ids(ids), 0u);
    EXPECT_EQ(d.session().inflight_count(), all_ids);

    EXPECT_EQ(d.publish("t", "", q1).error(), err(Errc::packet_ids_exhausted));
    EXPECT_EQ(d.publish("t", "", q2).error(), err(Errc::packet_ids_exhausted));
    const protocol::SubscribeEntry entry{"a", q0};
    EXPECT_EQ(d.session().subscribe({&entry, 1}, 0, d.now()).error(), err(Errc::packet_ids_exhausted));
    const std::string_view filter = "a";
    EXPECT_EQ(d.session().unsubscribe({&filter, 1}, 0, d.now()).error(), err(Errc::packet_ids_exhausted));
    // QoS 0 needs no id.
    const auto r = d.publish("t", "x", q0);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, 0);
}

TEST(SessionPacketId, Qos1IdFreeAgainOnlyAfterPuback_MQTT_2_3_1_3) {
    SessionDriver d(wide_window_options());
    d.connect();
    const auto ids = use_every_id(d, q1);
    ASSERT_EQ(ids.size(), all_ids);
    const PacketId freed = ids[1234];
    d.feed(ack(0x40, freed));
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{1235, freed, q1, {}}}));
    const auto r = d.publish("t", "", q1, 1);
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(*r, freed);
    EXPECT_EQ(d.publish("t", "", q1).error(), err(Errc::packet_ids_exhausted));
}

TEST(SessionPacketId, Qos2IdFreeAgainOnlyAfterPubcomp_MQTT_2_3_1_3) {
    SessionDriver d(wide_window_options());
    d.connect();
    const auto ids = use_every_id(d, q2);
    ASSERT_EQ(ids.size(), all_ids);
    const PacketId id = ids[40000];
    d.feed(ack(0x50, id));  // PUBREC: the id stays in use
    EXPECT_TRUE(bytes_equal(d.take_output(), ack(0x62, id)));
    EXPECT_EQ(d.publish("t", "", q2).error(), err(Errc::packet_ids_exhausted));
    d.feed(ack(0x70, id));  // PUBCOMP: now it is free
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{40001, id, q2, {}}}));
    const auto r = d.publish("t", "", q2);
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(*r, id);
}

TEST(SessionPacketId, SubscribeIdFreeAgainAfterSuback_MQTT_2_3_1_3) {
    SessionDriver d(wide_window_options());
    d.connect();
    const PacketId s = d.subscribe_ok({{"a", q1}}, 1);
    for (std::size_t i = 0; i + 1 < all_ids; ++i)
        if (!d.publish("t", "", q1)) {
            ADD_FAILURE() << "publish " << i << " failed";
            break;
        }
    d.take_output();
    EXPECT_EQ(d.publish("t", "", q1).error(), err(Errc::packet_ids_exhausted));
    d.feed("90 03" + id_hex(s) + "01");
    EXPECT_EQ(d.take_events(), (Events{ev::SubscribeDone{1, s, {0x01}, {}}}));
    const auto r = d.publish("t", "", q1);
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(*r, s);
}

TEST(SessionPacketId, IdsOfQueuedPublishesAreDistinctToo) {
    auto o = default_options();
    o.max_inflight = 2;
    SessionDriver d(o);
    d.open();  // everything waits for the CONNACK
    std::vector<PacketId> ids;
    for (int i = 0; i < 10; ++i) ids.push_back(d.publish_ok("t", "", i % 2 ? q1 : q2, 1));
    ids.push_back(d.subscribe_ok({{"a", q0}}));
    EXPECT_EQ(bad_ids(ids), 0u);
}

}  // namespace
}  // namespace nmqtt::test
