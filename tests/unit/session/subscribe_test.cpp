// Session: SUBSCRIBE / SUBACK and UNSUBSCRIBE / UNSUBACK (sections 3.8 to 3.11). Golden bytes by hand.
#include <gtest/gtest.h>

#include <string_view>
#include <system_error>
#include <type_traits>
#include <vector>

#include "support/bytes.hpp"
#include "support/session_driver.hpp"

namespace nmqtt::test {
namespace {

constexpr QoS q0 = QoS::at_most_once;
constexpr QoS q1 = QoS::at_least_once;
constexpr QoS q2 = QoS::exactly_once;

TEST(SessionSubscribe, SubscribeGoldenBytesAndSuback_MQTT_3_8_1_1) {
    SessionDriver d(default_options());
    d.connect();
    const PacketId id = d.subscribe_ok({{"a/b", q1}, {"c", q0}}, 3);
    EXPECT_NE(id, 0);
    // 82 0C | id | 00 03 "a/b" 01 | 00 01 "c" 00
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("82 0C" + id_hex(id) + "00 03 61 2F 62 01 00 01 63 00")));
    EXPECT_TRUE(d.take_events().empty());  // completes only on its SUBACK [MQTT-3.8.4-1]
    d.feed("90 04" + id_hex(id) + "01 00");
    EXPECT_EQ(d.take_events(), (Events{ev::SubscribeDone{3, id, {0x01, 0x00}, {}}}));
}

TEST(SessionSubscribe, SubackCodesPerFilterInOrder_MQTT_3_9_3_1) {
    SessionDriver d(default_options());
    d.connect();
    const PacketId id = d.subscribe_ok({{"a", q2}, {"b", q1}, {"c", q0}}, 4);
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("82 0E" + id_hex(id) + "00 01 61 02 00 01 62 01 00 01 63 00")));
    d.feed("90 05" + id_hex(id) + "02 80 00");  // granted 2, refused [MQTT-3.8.3-2], granted 0
    EXPECT_EQ(d.take_events(), (Events{ev::SubscribeDone{4, id, {0x02, 0x80, 0x00}, {}}}));
}

TEST(SessionSubscribe, LowerGrantedQosIsReported_MQTT_3_8_4_6) {
    SessionDriver d(default_options());
    d.connect();
    const PacketId id = d.subscribe_ok({{"a", q2}}, 5);
    d.take_output();
    d.feed("90 03" + id_hex(id) + "00");
    EXPECT_EQ(d.take_events(), (Events{ev::SubscribeDone{5, id, {0x00}, {}}}));
}

TEST(SessionSubscribe, SubackCountMismatchLosesTheConnection_MQTT_3_8_4_5) {
    SessionDriver d(default_options());
    d.connect();
    const PacketId id = d.subscribe_ok({{"a", q1}, {"b", q1}}, 6);
    d.take_output();
    d.feed("90 03" + id_hex(id) + "01");  // one code for two filters
    const auto events = d.take_events();
    EXPECT_EQ(only<ev::ConnectionLost>(events), (std::vector<ev::ConnectionLost>{{err(Errc::suback_count_mismatch)}}))
        << ::testing::PrintToString(events);
    for (const auto& done : only<ev::SubscribeDone>(events)) EXPECT_TRUE(done.error) << done;
    d.feed("32 06 00 01 74 00 05 78");  // nothing more is sent on this connection
    EXPECT_TRUE(d.take_output().empty());
}

TEST(SessionSubscribe, TwoSubscribesAckedInReverseOrderEachMatch_MQTT_2_3_1_7) {
    SessionDriver d(default_options());
    d.connect();
    const PacketId first = d.subscribe_ok({{"a", q0}}, 1);
    const PacketId second = d.subscribe_ok({{"b", q1}, {"c", q2}}, 2);
    EXPECT_NE(first, second);
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("82 06" + id_hex(first) + "00 01 61 00"
                                                  "82 0A" + id_hex(second) + "00 01 62 01 00 01 63 02")));
    d.feed("90 04" + id_hex(second) + "01 02" + "90 03" + id_hex(first) + "00");
    EXPECT_EQ(d.take_events(), (Events{ev::SubscribeDone{2, second, {0x01, 0x02}, {}},
                                       ev::SubscribeDone{1, first, {0x00}, {}}}));
}

TEST(SessionSubscribe, SubackWithUnknownIdCompletesNothing_MQTT_3_8_4_2) {
    SessionDriver d(default_options());
    d.connect();
    const PacketId id = d.subscribe_ok({{"a", q0}}, 1);
    d.take_output();
    d.feed("90 03" + id_hex(static_cast<PacketId>(id + 1)) + "00");
    EXPECT_TRUE(only<ev::SubscribeDone>(d.take_events()).empty());
}

TEST(SessionSubscribe, UnsubscribeGoldenBytesAndUnsuback_MQTT_3_10_1_1) {
    SessionDriver d(default_options());
    d.connect();
    const PacketId id = d.unsubscribe_ok({"a/b", "c"}, 7);
    EXPECT_NE(id, 0);
    // A2 0A | id | 00 03 "a/b" | 00 01 "c": no QoS bytes [MQTT-3.10.3-1]
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("A2 0A" + id_hex(id) + "00 03 61 2F 62 00 01 63")));
    EXPECT_TRUE(d.take_events().empty());
    d.feed("B0 02" + id_hex(id));
    EXPECT_EQ(d.take_events(), (Events{ev::UnsubscribeDone{7, id, {}}}));
}

TEST(SessionSubscribe, UnsubackWithUnknownIdCompletesNothing) {
    SessionDriver d(default_options());
    d.connect();
    const PacketId id = d.unsubscribe_ok({"a"}, 1);
    d.take_output();
    d.feed("B0 02" + id_hex(static_cast<PacketId>(id + 1)));
    EXPECT_TRUE(only<ev::UnsubscribeDone>(d.take_events()).empty());
}

TEST(SessionSubscribe, SubscribeAndUnsubscribeIdsAreDistinctFromPublishIds_MQTT_2_3_1_2) {
    SessionDriver d(default_options());
    d.connect();
    const PacketId p = d.publish_ok("t", "x", q1, 1);
    const PacketId s = d.subscribe_ok({{"a", q0}}, 2);
    const PacketId u = d.unsubscribe_ok({"a"}, 3);
    EXPECT_NE(p, 0);
    EXPECT_NE(s, 0);
    EXPECT_NE(u, 0);
    EXPECT_NE(p, s);
    EXPECT_NE(p, u);
    EXPECT_NE(s, u);
}

using Entries = std::vector<protocol::SubscribeEntry>;
using Filters = std::vector<std::string_view>;
using Errors = std::vector<std::error_code>;

// The result of subscribe() (or unsubscribe()) for each request, in order: an error or success ({}).
template <class Request>
Errors errors_of(SessionDriver& d, const std::vector<Request>& requests) {
    Errors out;
    for (const auto& r : requests) {
        if constexpr (std::is_same_v<Request, Entries>)
            out.push_back(d.session().subscribe(r, 0, d.now()).error());
        else
            out.push_back(d.session().unsubscribe(r, 0, d.now()).error());
    }
    return out;
}

TEST(SessionSubscribe, SubscribeErrors) {
    SessionDriver d(default_options());
    d.connect();
    const std::vector<Entries> requests{
        {},                                 // [MQTT-3.8.3-3]
        {{"a#", q0}},                       // [MQTT-4.7.1-2]
        {{"a/#/b", q0}},                    //
        {{"a+", q0}},                       // [MQTT-4.7.1-3]
        {{"ok", q0}, {"", q0}},             // [MQTT-4.7.3-1]
        {{"a\xFF", q0}},                    // [MQTT-3.8.3-1]
        {{"a", static_cast<QoS>(3)}},       // [MQTT-3.8.3-4]
    };
    EXPECT_EQ(errors_of(d, requests), (Errors{err(Errc::empty_payload), err(Errc::bad_topic_filter),
                                              err(Errc::bad_topic_filter), err(Errc::bad_topic_filter),
                                              err(Errc::bad_topic_filter), err(Errc::bad_utf8), err(Errc::bad_qos)}));
    EXPECT_TRUE(d.take_output().empty());
    // Wildcards in their places are fine.
    EXPECT_EQ(errors_of(d, std::vector<Entries>{{{"#", q0}, {"+/a/+", q1}, {"a/#", q2}}}), (Errors{{}}));
}

TEST(SessionSubscribe, UnsubscribeErrors) {
    SessionDriver d(default_options());
    d.connect();
    const std::vector<Filters> requests{{}, {"a#"}, {"a", ""}, {"a\xFF"}};  // [MQTT-3.10.3-2], filter rules
    EXPECT_EQ(errors_of(d, requests), (Errors{err(Errc::empty_payload), err(Errc::bad_topic_filter),
                                              err(Errc::bad_topic_filter), err(Errc::bad_utf8)}));
    EXPECT_TRUE(d.take_output().empty());
}

}  // namespace
}  // namespace nmqtt::test
