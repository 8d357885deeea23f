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

// Publishes `count` QoS 1 messages one at a time, each acknowledged before the next; returns their ids.
std::vector<PacketId> publish_and_ack(SessionDriver& d, std::size_t count) {
    std::vector<PacketId> ids;
    ids.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
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
    return ids;
}

// Counts ids after the first 65535 that are 0 or differ from the id 65535 places earlier.
std::size_t not_wrapped(const std::vector<PacketId>& ids) {
    std::size_t bad = 0;
    for (std::size_t i = all_ids; i < ids.size(); ++i)
        if (ids[i] == 0 || ids[i] != ids[i - all_ids]) ++bad;
    return bad;
}

TEST(SessionPacketId, NeverZeroAndWrapsAfter65535_MQTT_2_3_1_1) {
    SessionDriver d(default_options());
    d.connect();
    const auto ids = publish_and_ack(d, all_ids + 10);
    ASSERT_EQ(ids.size(), all_ids + 10);
    const std::vector<PacketId> first_round(ids.begin(), ids.begin() + all_ids);
    EXPECT_EQ(bad_ids(first_round), 0u);  // each of 1..65535 once before any is reused
    EXPECT_EQ(not_wrapped(ids), 0u);      // then the same sequence again
}

// The request made when no id is free went to the queue without an id and nothing was sent.
bool expect_queued_without_id(SessionDriver& d, PacketId returned) {
    EXPECT_EQ(returned, 0) << "no id is free, so none can be given";
    EXPECT_TRUE(d.take_output().empty()) << "sent without a free packet id";
    EXPECT_EQ(d.session().queued_count(), 1u);
    return true;
}

// With every id in use a new request cannot go out: either publish() reports packet_ids_exhausted, or (as
// design.md chooses: ids are given when a packet is sent) it waits in the queue until an id is free.
// Returns true when it was queued.
bool queued_for_lack_of_ids(SessionDriver& d, const Result<PacketId>& r) {
    if (r) return expect_queued_without_id(d, *r);
    EXPECT_EQ(r.error(), err(Errc::packet_ids_exhausted));
    return false;
}

// Uses every packet id with `qos` publishes (tags 1..65535), then makes one more publish ("t" "q", tag 99)
// that cannot go out. Returns the ids in use, or nothing when the extra publish was refused.
std::vector<PacketId> fill_and_queue_one(SessionDriver& d, QoS qos) {
    auto ids = use_every_id(d, qos);
    if (ids.size() != all_ids) {
        ADD_FAILURE() << "could not use every id";
        return {};
    }
    if (!queued_for_lack_of_ids(d, d.publish("t", "q", qos, 99))) return {};
    return ids;
}

TEST(SessionPacketId, DistinctWhileInUse_MQTT_2_3_1_2) {
    SessionDriver d(wide_window_options());
    d.connect();
    const auto ids = use_every_id(d, q1);
    ASSERT_EQ(ids.size(), all_ids);
    EXPECT_EQ(bad_ids(ids), 0u);
    EXPECT_EQ(d.session().inflight_count(), all_ids);
    // QoS 0 needs no id.
    const auto r = d.publish("t", "x", q0);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, 0);
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("30 04 00 01 74 78")));
}

TEST(SessionPacketId, Qos1IdReusedOnlyAfterPuback_MQTT_2_3_1_3) {
    SessionDriver d(wide_window_options());
    d.connect();
    const auto ids = fill_and_queue_one(d, q1);
    if (ids.empty()) return;
    const PacketId freed = ids[1234];
    d.feed(ack(0x40, freed));
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{1235, freed, q1, {}}}));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("32 06 00 01 74" + id_hex(freed) + "71")));
    d.feed(ack(0x40, freed));
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{99, freed, q1, {}}}));
}

TEST(SessionPacketId, Qos2IdReusedOnlyAfterPubcomp_MQTT_2_3_1_3) {
    SessionDriver d(wide_window_options());
    d.connect();
    const auto ids = fill_and_queue_one(d, q2);
    if (ids.empty()) return;
    const PacketId id = ids[40000];
    d.feed(ack(0x50, id));  // PUBREC: the id stays in use, only the PUBREL goes out
    EXPECT_TRUE(bytes_equal(d.take_output(), ack(0x62, id)));
    d.feed(ack(0x70, id));  // PUBCOMP: now it is free
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{40001, id, q2, {}}}));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("34 06 00 01 74" + id_hex(id) + "71")));
}

TEST(SessionPacketId, SubscribeIdReusedOnlyAfterSuback_MQTT_2_3_1_3) {
    SessionDriver d(wide_window_options());
    d.connect();
    const PacketId s = d.subscribe_ok({{"a", q1}}, 1);
    for (std::size_t i = 0; i + 1 < all_ids; ++i)
        if (!d.publish("t", "", q1)) {
            ADD_FAILURE() << "publish " << i << " failed";
            break;
        }
    d.take_output();
    if (!queued_for_lack_of_ids(d, d.publish("t", "q", q1, 99))) return;
    d.feed("90 03" + id_hex(s) + "01");
    EXPECT_EQ(d.take_events(), (Events{ev::SubscribeDone{1, s, {0x01}, {}}}));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("32 06 00 01 74" + id_hex(s) + "71")));
}

TEST(SessionPacketId, SubscribeWaitsForAFreeIdToo_MQTT_2_3_1_2) {
    SessionDriver d(wide_window_options());
    d.connect();
    const auto ids = use_every_id(d, q1);
    ASSERT_EQ(ids.size(), all_ids);
    const protocol::SubscribeEntry entry{"a", q0};
    if (!queued_for_lack_of_ids(d, d.session().subscribe({&entry, 1}, 5, d.now()))) return;
    d.feed(ack(0x40, ids[7]));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("82 06" + id_hex(ids[7]) + "00 01 61 00")));
}

TEST(SessionPacketId, IdsOfQueuedRequestsAreDistinctOnTheWire) {
    SessionDriver d(default_options());
    d.open();  // everything waits for the CONNACK
    for (int i = 0; i < 10; ++i) d.publish_ok("t", "", i % 2 ? q1 : q2, 1);
    d.subscribe_ok({{"a", q0}});
    d.unsubscribe_ok({"a"});
    d.take_output();
    d.feed("20 02 00 00");
    const auto packets = split_packets(d.take_output());
    ASSERT_EQ(packets.size(), 12u);
    std::vector<PacketId> ids;
    for (std::size_t i = 0; i < 10; ++i) ids.push_back(id_at(packets[i], 5));
    ids.push_back(id_at(packets[10], 2));
    ids.push_back(id_at(packets[11], 2));
    EXPECT_EQ(bad_ids(ids), 0u);
}

}  // namespace
}  // namespace nmqtt::test
