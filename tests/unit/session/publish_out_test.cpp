// Session: outgoing PUBLISH at QoS 0, 1 and 2 (sections 3.3, 4.3), the in-flight window and the queue
// behind it, and acks the session does not expect. Golden bytes are written by hand from the standard.
#include <gtest/gtest.h>

#include <string>

#include "support/bytes.hpp"
#include "support/session_driver.hpp"

namespace nmqtt::test {
namespace {

constexpr QoS q0 = QoS::at_most_once;
constexpr QoS q1 = QoS::at_least_once;
constexpr QoS q2 = QoS::exactly_once;

TEST(SessionPublishOut, Qos0GoldenBytesAndDoneOnceWritten_MQTT_4_3_1_1) {
    SessionDriver d(default_options());
    d.connect();
    EXPECT_EQ(d.publish_ok("t", "hi", q0, 5), 0);
    const auto expected = hex("30 05 00 01 74 68 69");  // QoS 0: no packet id [MQTT-2.3.1-5], DUP 0 [MQTT-3.3.1-2]
    EXPECT_TRUE(bytes_equal(d.peek_output(), expected));
    EXPECT_TRUE(d.take_events().empty());
    d.consume(expected.size() - 1);
    EXPECT_TRUE(d.take_events().empty());  // not all of it written yet
    d.consume(1);
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{5, 0, q0, {}}}));
    EXPECT_EQ(d.session().inflight_count(), 0u);
    EXPECT_TRUE(d.peek_output().empty());
}

TEST(SessionPublishOut, Qos0NotWrittenWhenTheConnectionDropsCompletesWithAnError) {
    SessionDriver d(default_options());
    d.connect();
    d.publish_ok("t", "hi", q0, 5);
    d.close(Errc::connection_closed);
    const auto done = only<ev::PublishDone>(d.take_events());
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].tag, 5u);
    EXPECT_TRUE(done[0].error) << done[0];
}

TEST(SessionPublishOut, Qos0WithoutTagHasNoCompletion) {
    SessionDriver d(default_options());
    d.connect();
    EXPECT_EQ(d.publish_ok("t", "hi", q0, 0), 0);
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("30 05 00 01 74 68 69")));
    EXPECT_TRUE(d.take_events().empty());
}

TEST(SessionPublishOut, Qos0RetainBinaryAndEmptyPayloads) {
    SessionDriver d(default_options());
    d.connect();
    d.publish_ok("t", "hi", q0, 0, true);
    d.publish_ok("t", std::string("\x00\xFF", 2), q0);
    d.publish_ok("t", "", q0, 0, true);  // empty retained message clears the topic [MQTT-3.3.1-10]
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("31 05 00 01 74 68 69"
                                                  "30 05 00 01 74 00 FF"
                                                  "31 03 00 01 74")));
}

TEST(SessionPublishOut, TwoByteRemainingLength) {
    SessionDriver d(default_options());
    d.connect();
    const std::string payload(200, 'z');
    d.publish_ok("t", payload, q0);
    // remaining length 2 + 1 + 200 = 203 = CB 01
    EXPECT_TRUE(bytes_equal(d.take_output(), cat(hex("30 CB 01 00 01 74"), bytes_of(payload))));
}

TEST(SessionPublishOut, Qos0MadeWhileConnectingIsDoneAfterConnackAndWrite) {
    SessionDriver d(default_options());
    d.open();
    d.publish_ok("t", "x", q0, 9);
    d.take_output();  // the CONNECT
    EXPECT_TRUE(d.take_events().empty());
    d.feed("20 02 00 00");
    EXPECT_EQ(d.take_events(), (Events{ev::Connected{false}}));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("30 04 00 01 74 78")));
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{9, 0, q0, {}}}));
}

TEST(SessionPublishOut, Qos1PubackCompletes_MQTT_4_3_2_1) {
    SessionDriver d(default_options());
    d.connect();
    const PacketId id = d.publish_ok("t", "hi", q1, 7);
    EXPECT_NE(id, 0);
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("32 07 00 01 74" + id_hex(id) + "68 69")));
    EXPECT_TRUE(d.take_events().empty());  // held until its PUBACK
    EXPECT_EQ(d.session().inflight_count(), 1u);
    d.feed("40 02" + id_hex(id));
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{7, id, q1, {}}}));
    EXPECT_EQ(d.session().inflight_count(), 0u);
    EXPECT_TRUE(d.take_output().empty());
}

TEST(SessionPublishOut, Qos1RetainGoldenBytes) {
    SessionDriver d(default_options());
    d.connect();
    const PacketId id = d.publish_ok("a/b", "", q1, 1, true);
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("33 07 00 03 61 2F 62" + id_hex(id))));
}

TEST(SessionPublishOut, DuplicatePubackCompletesOnce) {
    SessionDriver d(default_options());
    d.connect();
    const PacketId id = d.publish_ok("t", "hi", q1, 7);
    d.take_output();
    d.feed("40 02" + id_hex(id) + "40 02" + id_hex(id));
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{7, id, q1, {}}}));
    EXPECT_EQ(d.session().state(), session::State::connected);
}

TEST(SessionPublishOut, Qos2PubrecPubrelPubcomp_MQTT_4_3_3_1) {
    SessionDriver d(default_options());
    d.connect();
    const PacketId id = d.publish_ok("t", "hi", q2, 9);
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("34 07 00 01 74" + id_hex(id) + "68 69")));
    d.feed("50 02" + id_hex(id));  // PUBREC
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("62 02" + id_hex(id))));  // PUBREL, flags 0010 [MQTT-3.6.1-1]
    EXPECT_TRUE(d.take_events().empty());
    EXPECT_EQ(d.session().inflight_count(), 1u);
    d.feed("70 02" + id_hex(id));  // PUBCOMP
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{9, id, q2, {}}}));
    EXPECT_EQ(d.session().inflight_count(), 0u);
    EXPECT_TRUE(d.take_output().empty());
}

TEST(SessionPublishOut, DuplicatePubrecIsAnsweredWithPubrelAgain) {
    SessionDriver d(default_options());
    d.connect();
    const PacketId id = d.publish_ok("t", "hi", q2, 9);
    d.take_output();
    d.feed("50 02" + id_hex(id));
    d.feed("50 02" + id_hex(id));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("62 02" + id_hex(id) + "62 02" + id_hex(id))));
    EXPECT_TRUE(d.take_events().empty());
    d.feed("70 02" + id_hex(id));
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{9, id, q2, {}}}));
}

TEST(SessionPublishOut, PubrelsFollowPubrecOrder_MQTT_4_6_0_4) {
    SessionDriver d(default_options());
    d.connect();
    const PacketId a = d.publish_ok("t", "a", q2, 1);
    const PacketId b = d.publish_ok("t", "b", q2, 2);
    const PacketId c = d.publish_ok("t", "c", q2, 3);
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("34 06 00 01 74" + id_hex(a) + "61"
                                                  "34 06 00 01 74" + id_hex(b) + "62"
                                                  "34 06 00 01 74" + id_hex(c) + "63")));
    d.feed("50 02" + id_hex(c) + "50 02" + id_hex(a) + "50 02" + id_hex(b));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("62 02" + id_hex(c) + "62 02" + id_hex(a) + "62 02" + id_hex(b))));
    d.feed("70 02" + id_hex(b) + "70 02" + id_hex(c) + "70 02" + id_hex(a));
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{2, b, q2, {}}, ev::PublishDone{3, c, q2, {}},
                                       ev::PublishDone{1, a, q2, {}}}));
}

TEST(SessionPublishOut, WindowHoldsBackPublishesBeyondMaxInflight) {
    auto o = default_options();
    o.max_inflight = 2;
    SessionDriver d(o);
    d.connect();
    const PacketId a = d.publish_ok("t", "a", q1, 1);
    const PacketId b = d.publish_ok("t", "b", q1, 2);
    const PacketId queued = d.publish_ok("t", "c", q1, 3);  // 0 while it waits (ids are given when sent)
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("32 06 00 01 74" + id_hex(a) + "61"
                                                  "32 06 00 01 74" + id_hex(b) + "62")));
    EXPECT_EQ(d.session().inflight_count(), 2u);
    EXPECT_EQ(d.session().queued_count(), 1u);
    d.feed("40 02" + id_hex(a));
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{1, a, q1, {}}}));
    const auto out = d.take_output();
    const PacketId c = id_at(out, 5);
    EXPECT_TRUE(queued == 0 || queued == c);
    EXPECT_NE(c, 0);
    EXPECT_NE(c, b);
    EXPECT_TRUE(bytes_equal(out, hex("32 06 00 01 74" + id_hex(c) + "63")));  // first time: DUP 0
    EXPECT_EQ(d.session().inflight_count(), 2u);
    EXPECT_EQ(d.session().queued_count(), 0u);
    d.feed("40 02" + id_hex(c) + "40 02" + id_hex(b));
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{3, c, q1, {}}, ev::PublishDone{2, b, q1, {}}}));
    EXPECT_EQ(d.session().inflight_count(), 0u);
}

TEST(SessionPublishOut, Qos2HoldsItsWindowSlotUntilPubcomp) {
    auto o = default_options();
    o.max_inflight = 1;
    SessionDriver d(o);
    d.connect();
    const PacketId a = d.publish_ok("t", "a", q2, 1);
    d.publish_ok("t", "b", q1, 2);
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("34 06 00 01 74" + id_hex(a) + "61")));
    d.feed("50 02" + id_hex(a));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("62 02" + id_hex(a))));
    d.feed("70 02" + id_hex(a));
    const auto out = d.take_output();
    EXPECT_TRUE(bytes_equal(out, hex("32 06 00 01 74" + id_hex(id_at(out, 5)) + "62")));
    EXPECT_NE(id_at(out, 5), 0);
}

TEST(SessionPublishOut, QueueFullAtMaxQueuedMessages) {
    auto o = default_options();
    o.max_inflight = 1;
    o.max_queued_messages = 2;
    SessionDriver d(o);
    d.connect();
    const PacketId a = d.publish_ok("t", "a", q1, 1);
    d.publish_ok("t", "b", q1, 2);
    d.publish_ok("t", "c", q1, 3);
    EXPECT_EQ(d.session().queued_count(), 2u);
    EXPECT_EQ(d.publish("t", "d", q1, 4).error(), err(Errc::queue_full));
    d.take_output();
    d.feed("40 02" + id_hex(a));  // b leaves the queue for the window
    EXPECT_TRUE(d.publish("t", "d", q1, 4).has_value());
    EXPECT_EQ(d.session().queued_count(), 2u);
}

TEST(SessionPublishOut, QueueFullWhileConnecting) {
    auto o = default_options();
    o.max_queued_messages = 2;
    SessionDriver d(o);
    d.open();
    d.publish_ok("t", "a", q1, 1);
    d.publish_ok("t", "b", q0, 2);
    EXPECT_EQ(d.publish("t", "c", q1, 3).error(), err(Errc::queue_full));
    EXPECT_TRUE(bytes_equal(d.take_output(), default_connect()));
}

TEST(SessionPublishOut, QueueFullAtMaxBufferedBytesOfUnsentOutput) {
    auto o = default_options();
    o.max_buffered_bytes = 1000;
    SessionDriver d(o);
    d.connect();
    const std::string payload(400, 'p');  // each PUBLISH is 406 bytes
    d.publish_ok("t", payload, q0);
    d.publish_ok("t", payload, q0);
    EXPECT_EQ(d.publish("t", payload, q0).error(), err(Errc::queue_full));
    EXPECT_EQ(split_packets(d.take_output()).size(), 2u);
    EXPECT_TRUE(d.publish("t", payload, q0).has_value());  // written output no longer counts
}

TEST(SessionPublishOut, QueueFullAtMaxBufferedBytesOfKeptRequests) {
    auto o = default_options();
    o.max_inflight = 1;
    o.max_buffered_bytes = 1300;
    SessionDriver d(o);
    d.connect();
    const std::string payload(400, 'p');
    const PacketId a = d.publish_ok("t", payload, q1, 1);
    d.take_output();  // in flight, written: its kept copy still counts until the PUBACK
    d.publish_ok("t", payload, q1, 2);
    d.publish_ok("t", payload, q1, 3);
    EXPECT_EQ(d.publish("t", payload, q1, 4).error(), err(Errc::queue_full));
    d.feed("40 02" + id_hex(a));
    d.take_output();
    EXPECT_TRUE(d.publish("t", payload, q1, 4).has_value());
}

TEST(SessionPublishOut, UnknownPubackIsIgnored_MQTT_2_3_1_6) {
    SessionDriver d(default_options());
    d.connect();
    const PacketId id = d.publish_ok("t", "hi", q1, 7);
    d.take_output();
    const PacketId other = static_cast<PacketId>(id + 100);
    d.feed("40 02" + id_hex(other));
    EXPECT_TRUE(d.take_events().empty());
    EXPECT_TRUE(d.take_output().empty());
    EXPECT_EQ(d.session().state(), session::State::connected);
    EXPECT_EQ(d.session().inflight_count(), 1u);
    d.feed("40 02" + id_hex(id));
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{7, id, q1, {}}}));
}

TEST(SessionPublishOut, UnknownPubcompIsIgnored) {
    SessionDriver d(default_options());
    d.connect();
    d.feed("70 02 12 34");
    EXPECT_TRUE(d.take_events().empty());
    EXPECT_TRUE(d.take_output().empty());
    EXPECT_EQ(d.session().state(), session::State::connected);
}

TEST(SessionPublishOut, UnknownPubrecIsAnsweredWithPubrel) {
    SessionDriver d(default_options());
    d.connect();
    d.feed("50 02 12 34");
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("62 02 12 34")));
    EXPECT_TRUE(d.take_events().empty());
    EXPECT_EQ(d.session().state(), session::State::connected);
}

// RabbitMQ 3.x has no QoS 2 and answers PUBLISH QoS 2 with PUBACK: the publish completes with its own
// outcome instead of waiting for a PUBREC that never comes (the publisher would hang), and the id is free.
TEST(SessionPublishOut, PubackAnsweringQos2CompletesAsAcknowledgedAtQos1) {
    SessionDriver d(default_options());
    d.connect();
    const PacketId id = d.publish_ok("t", "hi", q2, 9);
    d.take_output();
    d.feed("40 02" + id_hex(id));  // PUBACK where PUBREC belongs
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{9, id, q2, err(Errc::acknowledged_at_qos1)}}));
    EXPECT_EQ(d.session().inflight_count(), 0u);
    EXPECT_TRUE(d.take_output().empty());  // no PUBREL: the broker ended the flow
    EXPECT_EQ(d.session().state(), session::State::connected);
    d.feed("50 02" + id_hex(id));  // a late PUBREC for the freed id is answered as unknown
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("62 02" + id_hex(id))));
    EXPECT_TRUE(only<ev::PublishDone>(d.take_events()).empty());
}

TEST(SessionPublishOut, PubackAfterPubrecOfQos2IsIgnored) {
    SessionDriver d(default_options());
    d.connect();
    const PacketId id = d.publish_ok("t", "hi", q2, 9);
    d.take_output();
    d.feed("50 02" + id_hex(id));  // PUBREC: past it, only PUBCOMP ends the flow [MQTT-4.3.3-1]
    d.take_output();
    d.feed("40 02" + id_hex(id));
    EXPECT_TRUE(only<ev::PublishDone>(d.take_events()).empty());
    EXPECT_EQ(d.session().inflight_count(), 1u);
    d.feed("70 02" + id_hex(id));
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{9, id, q2, {}}}));
}

TEST(SessionPublishOut, PublishRequestViewsAreCopied) {
    SessionDriver d(default_options());
    d.open();
    std::string topic = "t";
    std::string payload = "hi";
    d.publish_ok(topic, payload, q1, 1);
    topic.assign("X");
    payload.assign("YY");
    d.take_output();
    d.feed("20 02 00 00");
    const auto out = d.take_output();
    EXPECT_TRUE(bytes_equal(out, hex("32 07 00 01 74" + id_hex(id_at(out, 5)) + "68 69")));
}

TEST(SessionPublishOut, PendingOutputStaysUnchangedWhileBeingWritten) {
    SessionDriver d(default_options());
    d.connect();
    d.publish_ok("t", "a", q0);
    const Bytes first = d.session().pending_output();  // a transport starts an asynchronous write of this
    const auto expected_first = hex("30 04 00 01 74 61");
    ASSERT_TRUE(bytes_equal(first, expected_first));
    d.publish_ok("t", "b", q0);  // made during the write: goes to the second buffer
    d.feed("32 06 00 01 74 00 05 78");
    EXPECT_TRUE(bytes_equal(first, expected_first));  // the span is still valid and unchanged
    d.session().consume_output(2, d.now());           // a partial write
    EXPECT_TRUE(bytes_equal(d.session().pending_output(), hex("00 01 74 61")));
    d.session().consume_output(4, d.now());
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("30 04 00 01 74 62 | 40 02 00 05")));
}

TEST(SessionPublishOut, PublishErrors) {
    SessionDriver d(default_options());
    d.connect();
    EXPECT_EQ(d.publish("a/+", "x", q0).error(), err(Errc::bad_topic_name));  // [MQTT-3.3.2-2]
    EXPECT_EQ(d.publish("a/#", "x", q1).error(), err(Errc::bad_topic_name));
    EXPECT_EQ(d.publish("", "x", q0).error(), err(Errc::bad_topic_name));  // [MQTT-4.7.3-1]
    EXPECT_EQ(d.publish("a\xFF", "x", q0).error(), err(Errc::bad_utf8));  // [MQTT-1.5.3-1]
    EXPECT_EQ(d.publish(std::string("a\0b", 3), "x", q0).error(), err(Errc::bad_utf8));  // [MQTT-1.5.3-2]
    EXPECT_EQ(d.publish("t", "x", static_cast<QoS>(3)).error(), err(Errc::bad_qos));  // [MQTT-3.3.1-4]
    EXPECT_TRUE(d.take_output().empty());
    EXPECT_TRUE(d.take_events().empty());
    EXPECT_EQ(d.session().inflight_count(), 0u);
}

TEST(SessionPublishOut, TopicOf65535BytesIsAccepted_MQTT_4_7_3_3) {
    auto o = default_options();
    o.max_buffered_bytes = 1u << 20;
    SessionDriver d(o);
    d.connect();
    const std::string topic(65'535, 'a');
    EXPECT_TRUE(d.publish(topic, "", q0).has_value());
    const std::string too_long(65'536, 'a');
    EXPECT_EQ(d.publish(too_long, "", q0).error(), err(Errc::bad_topic_name));
    // remaining length 2 + 65535 = 65537 = 81 80 04
    EXPECT_TRUE(bytes_equal(d.take_output(), cat(hex("30 81 80 04 FF FF"), bytes_of(topic))));
}

}  // namespace
}  // namespace nmqtt::test
