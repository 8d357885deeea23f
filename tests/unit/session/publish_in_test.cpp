// Session: incoming PUBLISH at QoS 0, 1 and 2 (sections 3.3, 4.3.2, 4.3.3), ack order, exactly-once
// delivery, oversized messages, and input cut into arbitrary chunks.
#include <gtest/gtest.h>

#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "support/bytes.hpp"
#include "support/session_driver.hpp"

namespace nmqtt::test {
namespace {

constexpr QoS q0 = QoS::at_most_once;
constexpr QoS q1 = QoS::at_least_once;
constexpr QoS q2 = QoS::exactly_once;

// PUBLISH "a/b" "hi": QoS 0; QoS 1 id 7; QoS 2 id 7; QoS 2 id 7 with DUP.
constexpr const char* publish_q0 = "30 07 00 03 61 2F 62 68 69";
constexpr const char* publish_q1_id7 = "32 09 00 03 61 2F 62 00 07 68 69";
constexpr const char* publish_q2_id7 = "34 09 00 03 61 2F 62 00 07 68 69";
constexpr const char* publish_q2_id7_dup = "3C 09 00 03 61 2F 62 00 07 68 69";

ev::Message message(QoS qos, PacketId id, bool dup = false) { return {"a/b", "hi", qos, false, dup, id}; }

TEST(SessionPublishIn, Qos0IsDeliveredAndNotAnswered_MQTT_3_3_4_1) {
    SessionDriver d(default_options());
    d.connect();
    d.feed(publish_q0);
    EXPECT_EQ(d.take_events(), (Events{message(q0, 0)}));
    EXPECT_TRUE(d.take_output().empty());
}

TEST(SessionPublishIn, Qos1IsDeliveredAndPubacked_MQTT_3_3_4_1) {
    SessionDriver d(default_options());
    d.connect();
    d.feed(publish_q1_id7);
    EXPECT_EQ(d.take_events(), (Events{message(q1, 7)}));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("40 02 00 07")));
}

TEST(SessionPublishIn, Qos1SameIdAfterPubackIsANewMessage_MQTT_4_3_2_2) {
    SessionDriver d(default_options());
    d.connect();
    d.feed(publish_q1_id7);
    d.feed("3A 09 00 03 61 2F 62 00 07 68 69");  // same id, DUP=1, after our PUBACK
    EXPECT_EQ(d.take_events(), (Events{message(q1, 7), message(q1, 7, true)}));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("40 02 00 07 40 02 00 07")));
}

TEST(SessionPublishIn, Qos2IsDeliveredOnceAndReleased_MQTT_4_3_3_2) {
    SessionDriver d(default_options());
    d.connect();
    d.feed(publish_q2_id7);
    EXPECT_EQ(d.take_events(), (Events{message(q2, 7)}));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("50 02 00 07")));  // PUBREC
    EXPECT_EQ(d.session().incoming_qos2_count(), 1u);

    d.feed(publish_q2_id7_dup);  // re-sent before PUBREL: PUBREC again, not delivered again
    EXPECT_TRUE(d.take_events().empty());
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("50 02 00 07")));
    EXPECT_EQ(d.session().incoming_qos2_count(), 1u);

    d.feed("62 02 00 07");  // PUBREL
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("70 02 00 07")));  // PUBCOMP
    EXPECT_TRUE(d.take_events().empty());
    EXPECT_EQ(d.session().incoming_qos2_count(), 0u);

    d.feed(publish_q2_id7);  // after PUBCOMP the id starts a new message
    EXPECT_EQ(d.take_events(), (Events{message(q2, 7)}));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("50 02 00 07")));
}

TEST(SessionPublishIn, DupForAnUnseenIdIsDeliveredNormally_MQTT_3_3_1_3) {
    SessionDriver d(default_options());
    d.connect();
    d.feed(publish_q2_id7_dup);
    EXPECT_EQ(d.take_events(), (Events{message(q2, 7, true)}));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("50 02 00 07")));
}

TEST(SessionPublishIn, PubrelForAnUnknownIdIsAnsweredWithPubcomp) {
    SessionDriver d(default_options());
    d.connect();
    d.feed("62 02 12 34");
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("70 02 12 34")));
    EXPECT_TRUE(d.take_events().empty());
    EXPECT_EQ(d.session().state(), session::State::connected);
}

TEST(SessionPublishIn, PubacksInArrivalOrder_MQTT_4_6_0_2) {
    SessionDriver d(default_options());
    d.connect();
    d.feed("32 06 00 01 74 00 05 61"
           "32 06 00 01 74 00 03 62"
           "32 06 00 01 74 01 09 63");
    EXPECT_EQ(d.take_events(), (Events{ev::Message{"t", "a", q1, false, false, 5},
                                       ev::Message{"t", "b", q1, false, false, 3},
                                       ev::Message{"t", "c", q1, false, false, 0x0109}}));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("40 02 00 05 40 02 00 03 40 02 01 09")));
}

TEST(SessionPublishIn, PubrecsInArrivalOrder_MQTT_4_6_0_3) {
    SessionDriver d(default_options());
    d.connect();
    d.feed("34 06 00 01 74 00 05 61"
           "34 06 00 01 74 00 03 62"
           "34 06 00 01 74 01 09 63");
    EXPECT_EQ(d.take_events().size(), 3u);
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("50 02 00 05 50 02 00 03 50 02 01 09")));
    EXPECT_EQ(d.session().incoming_qos2_count(), 3u);
    d.feed("62 02 00 03 62 02 01 09 62 02 00 05");
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("70 02 00 03 70 02 01 09 70 02 00 05")));
    EXPECT_EQ(d.session().incoming_qos2_count(), 0u);
}

TEST(SessionPublishIn, FlagsAndPayloadsReachTheApplication_MQTT_3_3_1_8) {
    SessionDriver d(default_options());
    d.connect();
    d.feed("31 03 00 01 74"              // retained, empty payload [MQTT-3.3.1-10]
           "30 06 00 01 74 00 FF 00"     // binary payload with zero bytes
           "30 06 00 04 EF BB BF 61");   // topic starting with EF BB BF kept as is [MQTT-1.5.3-3]
    EXPECT_EQ(d.take_events(), (Events{ev::Message{"t", "", q0, true, false, 0},
                                       ev::Message{"t", std::string("\x00\xFF\x00", 3), q0, false, false, 0},
                                       ev::Message{"\xEF\xBB\xBF" "a", "", q0, false, false, 0}}));
}

TEST(SessionPublishIn, OversizedQos1IsOverflowAndStillAcked_MQTT_4_5_0_2) {
    auto o = default_options();
    o.max_message_length = 20;
    SessionDriver d(o);
    d.connect();
    std::string payload;
    for (int i = 0; i < 40; ++i) payload.push_back(static_cast<char>('A' + i % 26));
    // 32 2D | 00 01 74 | 01 02 | 40 payload bytes: 47 bytes in all; 2 + 5 + 13 = 20 are kept.
    d.feed(cat(hex("32 2D 00 01 74 01 02"), bytes_of(payload)));
    EXPECT_EQ(d.take_events(),
              (Events{ev::Overflow{ev::Message{"t", payload.substr(0, 13), q1, false, false, 0x0102}, 47}}));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("40 02 01 02")));
    d.feed(publish_q0);  // the next message is handled as usual
    EXPECT_EQ(d.take_events(), (Events{message(q0, 0)}));
}

TEST(SessionPublishIn, OversizedQos2IsOverflowAndStillCompleted_MQTT_4_5_0_2) {
    auto o = default_options();
    o.max_message_length = 20;
    SessionDriver d(o);
    d.connect();
    const std::string payload(40, 'x');
    const auto packet = cat(hex("34 2D 00 01 74 01 02"), bytes_of(payload));
    d.feed(packet);
    EXPECT_EQ(d.take_events(),
              (Events{ev::Overflow{ev::Message{"t", payload.substr(0, 13), q2, false, false, 0x0102}, 47}}));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("50 02 01 02")));
    d.feed(packet);  // a repeat before PUBREL is not reported again
    EXPECT_TRUE(d.take_events().empty());
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("50 02 01 02")));
    d.feed("62 02 01 02");
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("70 02 01 02")));
}

TEST(SessionPublishIn, OversizedQos0FedByteByByte) {
    auto o = default_options();
    o.max_message_length = 20;
    SessionDriver d(o);
    d.connect();
    const std::string payload(40, 'y');
    const auto packet = cat(hex("30 2B 00 01 74"), bytes_of(payload));  // 45 bytes; 2 + 3 + 15 kept
    for (const std::uint8_t b : packet) d.feed(std::span<const std::uint8_t>(&b, 1));
    EXPECT_EQ(d.take_events(), (Events{ev::Overflow{ev::Message{"t", payload.substr(0, 15), q0, false, false, 0}, 45}}));
    EXPECT_TRUE(d.take_output().empty());
}

TEST(SessionPublishIn, SameIdInBothDirectionsUsesSeparateTables) {
    SessionDriver d(default_options());
    d.connect();
    const PacketId id = d.publish_ok("t", "hi", q2, 4);
    d.take_output();
    const std::string id_text = id_hex(id);
    d.feed("34 06 00 01 74" + id_text + "78");  // the server's own QoS 2 PUBLISH with the same id
    EXPECT_EQ(d.take_events(), (Events{ev::Message{"t", "x", q2, false, false, id}}));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("50 02" + id_text)));  // our PUBREC for it
    d.feed("50 02" + id_text);                                         // the server's PUBREC for ours
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("62 02" + id_text)));
    EXPECT_TRUE(d.take_events().empty());
    d.feed("62 02" + id_text);  // the server releases its message
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("70 02" + id_text)));
    EXPECT_TRUE(d.take_events().empty());
    d.feed("70 02" + id_text);  // and completes ours
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{4, id, q2, {}}}));
    EXPECT_EQ(d.session().incoming_qos2_count(), 0u);
    EXPECT_EQ(d.session().inflight_count(), 0u);
}

TEST(SessionPublishIn, SameIdQos1BothDirections) {
    SessionDriver d(default_options());
    d.connect();
    const PacketId id = d.publish_ok("t", "hi", q1, 4);
    d.take_output();
    d.feed("32 06 00 01 74" + id_hex(id) + "78");
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("40 02" + id_hex(id))));
    EXPECT_EQ(only<ev::PublishDone>(d.take_events()).size(), 0u);  // our PUBACK is not the server's
    d.feed("40 02" + id_hex(id));
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{4, id, q1, {}}}));
}

TEST(SessionPublishIn, MessageBeforeSubackIsAccepted_MQTT_3_3_1_6) {
    SessionDriver d(default_options());
    d.connect();
    const PacketId s = d.subscribe_ok({{"t", q1}}, 8);
    d.take_output();
    d.feed("33 06 00 01 74 00 01 72" + std::string(" 90 03") + id_hex(s) + "01");
    EXPECT_EQ(d.take_events(), (Events{ev::Message{"t", "r", q1, true, false, 1},
                                       ev::SubscribeDone{8, s, {0x01}, {}}}));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("40 02 00 01")));
}

// What a connected session makes of a byte stream: bytes used, events, output.
struct Outcome {
    std::size_t used = 0;
    Events events;
    std::vector<std::uint8_t> output;
    bool operator==(const Outcome&) const = default;
};

void PrintTo(const Outcome& o, std::ostream* os) {
    *os << "used " << o.used << ", events " << ::testing::PrintToString(o.events) << ", output [" << to_hex(o.output)
        << "]";
}

// Feeds `stream` to a newly connected session in two reads, cut at `cut`.
Outcome feed_in_two_reads(std::span<const std::uint8_t> stream, std::size_t cut) {
    SessionDriver d(default_options());
    d.connect();
    Outcome o;
    o.used = d.feed(stream.first(cut));
    o.used += d.feed(stream.subspan(cut));
    o.events = d.take_events();
    o.output = d.take_output();
    return o;
}

// A stream of four packets, cut once at every offset, gives the same events and output as when whole.
TEST(SessionPublishIn, EverySplitPointGivesTheSameResult) {
    const auto stream = hex("32 09 00 03 61 2F 62 00 05 68 69"  // QoS 1 id 5
                            "34 09 00 03 61 2F 62 00 06 68 69"  // QoS 2 id 6
                            "62 02 00 06"                       // PUBREL 6
                            "30 07 00 03 61 2F 62 68 69");      // QoS 0
    const Outcome expected{stream.size(), {message(q1, 5), message(q2, 6), message(q0, 0)},
                           hex("40 02 00 05 50 02 00 06 70 02 00 06")};
    for (std::size_t cut = 0; cut <= stream.size(); ++cut)
        EXPECT_EQ(feed_in_two_reads(stream, cut), expected) << "cut at " << cut;
}

TEST(SessionPublishIn, ByteByByteGivesTheSameResult) {
    const auto stream = hex("20 02 00 00"                       // CONNACK
                            "32 09 00 03 61 2F 62 00 05 68 69"  // QoS 1 id 5
                            "D0 00");                           // PINGRESP
    SessionDriver d(default_options());
    d.open();
    d.take_output();
    for (const std::uint8_t b : stream) EXPECT_EQ(d.feed(std::span<const std::uint8_t>(&b, 1)), 1u);
    EXPECT_EQ(d.take_events(), (Events{ev::Connected{false}, message(q1, 5), ev::PingResponse{}}));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("40 02 00 05")));
}

TEST(SessionPublishIn, HandleBytesStopsAfterEachEventSoViewsStayValid) {
    SessionDriver d(default_options());
    d.connect();
    const auto stream = hex(std::string(publish_q0) + publish_q0);
    const std::size_t n = d.session().handle_bytes(stream, d.now());
    EXPECT_EQ(n, stream.size() / 2);  // stopped after the first message
    auto e = d.session().poll_event();
    ASSERT_TRUE(e.has_value());
    const auto* m = std::get_if<session::MessageReceived>(&*e);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(m->message.topic, "a/b");
    EXPECT_EQ(m->message.payload, "hi");
    EXPECT_FALSE(d.session().poll_event().has_value());
}

TEST(SessionPublishIn, WantsInputIsFalseWhileUnsentOutputExceedsTheBound) {
    auto o = default_options();
    o.max_buffered_bytes = 64;
    SessionDriver d(o);
    d.connect();
    EXPECT_TRUE(d.session().wants_input());
    std::string many;
    for (int i = 1; i <= 20; ++i) many += "32 06 00 01 74" + id_hex(static_cast<PacketId>(i)) + "78 ";
    d.feed(many);  // 20 PUBACKs = 80 bytes waiting
    EXPECT_FALSE(d.session().wants_input());
    d.take_output();
    EXPECT_TRUE(d.session().wants_input());
}

}  // namespace
}  // namespace nmqtt::test
