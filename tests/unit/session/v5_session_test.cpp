// MQTT 5.0 session flows on the fake clock, one per checklist id (docs/conformance/mqtt5-client-musts.md):
// CONNECT/CONNACK properties, refusals with reason codes, Server Keep Alive, Assigned Client Identifier,
// Receive Maximum both ways, Maximum Packet Size both ways, Topic Alias both ways, server capabilities,
// reason codes on acks, server DISCONNECT, our DISCONNECT with a reason code on a protocol error.
#include <gtest/gtest.h>

#include "nmqtt/protocol/decode.hpp"
#include "support/session_driver.hpp"

namespace nmqtt::test {
namespace {

using session::State;
using namespace std::chrono_literals;

session::SessionOptions v5_options() {
    auto o = default_options();
    o.protocol = protocol::ProtocolVersion::v5;
    return o;
}

// CONNECT for v5_options(): "MQTT" level 5, clean start, keep alive 60, no properties, client id "c".
const char* const v5_connect = "10 0E 00 04 4D 51 54 54 05 02 00 3C 00 00 01 63";

// Opens, checks the CONNECT against `connect_hex`, feeds `connack_hex` and expects Connected.
void connect_v5(SessionDriver& d, const char* connack_hex = "20 03 00 00 00", const char* connect_hex = v5_connect,
                bool session_present = false) {
    d.open();
    EXPECT_TRUE(bytes_equal(d.take_output(), hex(connect_hex)));
    d.feed(connack_hex);
    EXPECT_EQ(d.take_events(), (Events{ev::Connected{session_present}}));
    EXPECT_EQ(d.session().state(), State::connected);
}

// After a protocol error the client writes DISCONNECT with `reason`, then reports the loss.
void expect_violation(SessionDriver& d, const char* disconnect_hex, Errc error, std::uint8_t reason) {
    EXPECT_TRUE(bytes_equal(d.take_output(), hex(disconnect_hex)));
    EXPECT_EQ(d.take_events(), (Events{ev::ConnectionLost{err(error), reason}}));
    EXPECT_EQ(d.session().state(), State::idle);
}

TEST(V5Session, MQTT_3_1_2_1_connect_is_level_5_and_3_1_1_is_unchanged) {
    SessionDriver d(v5_options());
    connect_v5(d);
    EXPECT_EQ(d.session().protocol(), protocol::ProtocolVersion::v5);
    SessionDriver old(default_options());
    old.open();
    EXPECT_TRUE(bytes_equal(old.take_output(), default_connect()));
}

TEST(V5Session, MQTT_3_1_2_23_connect_properties_from_options) {
    auto o = v5_options();
    o.v5.session_expiry_interval = 0xFFFFFFFF;  // never expires
    o.v5.receive_maximum = 10;
    o.v5.maximum_packet_size = 1000;
    o.v5.topic_alias_maximum = 4;
    SessionDriver d(o);
    connect_v5(d, "20 03 00 00 00",
               "10 1E 00 04 4D 51 54 54 05 02 00 3C"
               "10 11 FF FF FF FF 21 00 0A 27 00 00 03 E8 22 00 04"
               "00 01 63");
}

TEST(V5Session, MQTT_3_1_3_8_refusals_carry_the_reason_code_and_a_nodemcu_code) {
    const struct { const char* connack; int code; std::uint8_t reason; } cases[] = {
        {"20 03 00 84 00", 1, 0x84}, {"20 03 00 85 00", 2, 0x85}, {"20 03 00 88 00", 3, 0x88},
        {"20 03 00 89 00", 3, 0x89}, {"20 03 00 86 00", 4, 0x86}, {"20 03 00 87 00", 5, 0x87},
        {"20 03 00 9C 00", 0x9C, 0x9C}, {"20 03 00 80 00", 0x80, 0x80},
    };
    for (const auto& c : cases) {
        SessionDriver d(v5_options());
        d.open();
        (void)d.take_output();
        d.feed(c.connack);
        EXPECT_EQ(d.take_events(), (Events{ev::ConnectFailed{c.code, err(Errc::connection_refused), c.reason}}))
            << c.connack;
        EXPECT_EQ(d.session().state(), State::idle);
    }
}

TEST(V5Session, MQTT_3_2_2_8_connack_with_an_invalid_reason_code_fails_the_attempt) {
    SessionDriver d(v5_options());
    d.open();
    (void)d.take_output();
    d.feed("20 03 00 01 00");
    EXPECT_EQ(d.take_events(), (Events{ev::ConnectFailed{-4, err(Errc::bad_reason_code)}}));
}

TEST(V5Session, MQTT_3_14_0_1_disconnect_before_connack_is_a_connect_failure_with_its_reason) {
    SessionDriver d(v5_options());
    d.open();
    (void)d.take_output();
    d.feed("E0 01 87");  // Not authorized
    EXPECT_EQ(d.take_events(), (Events{ev::ConnectFailed{-4, err(Errc::server_disconnected), 0x87}}));
}

TEST(V5Session, MQTT_3_2_2_21_server_keep_alive_replaces_ours) {
    SessionDriver d(v5_options());
    connect_v5(d, "20 06 00 00 03 13 00 05");
    EXPECT_EQ(d.session().keepalive_seconds(), 5);
    d.advance(4s);
    EXPECT_TRUE(d.take_output().empty());
    d.advance(1s);
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("C0 00")));  // PINGREQ after 5 s, not 60
}

TEST(V5Session, MQTT_3_1_3_7_assigned_client_identifier_is_used_and_kept) {
    auto o = v5_options();
    o.client_id = "";
    o.clean_session = false;  // 5.0 allows an empty id with a session [MQTT-3.1.3-6]
    EXPECT_FALSE(session::validate(o));
    SessionDriver d(o);
    d.open();
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("10 0D 00 04 4D 51 54 54 05 00 00 3C 00 00 00")));
    d.feed("20 08 00 00 05 12 00 02 69 64");  // Assigned Client Identifier "id"
    EXPECT_EQ(d.take_events(), (Events{ev::Connected{false}}));
    EXPECT_EQ(d.session().client_id(), "id");
    d.close();
    (void)d.take_events();
    d.open();
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("10 0F 00 04 4D 51 54 54 05 00 00 3C 00 00 02 69 64")));
}

TEST(V5Session, MQTT_3_3_4_7_never_more_unacknowledged_than_the_server_receive_maximum) {
    SessionDriver d(v5_options());
    connect_v5(d, "20 06 00 00 03 21 00 02");  // Receive Maximum 2
    const auto id1 = d.publish_ok("t", "x", QoS::at_least_once, 1);
    const auto id2 = d.publish_ok("t", "x", QoS::at_least_once, 2);
    const auto id3 = d.publish_ok("t", "x", QoS::at_least_once, 3);
    EXPECT_EQ(id1, 1);
    EXPECT_EQ(id2, 2);
    EXPECT_EQ(id3, 0);  // waits: the window is full [MQTT-4.9.0-2]
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("32 07 00 01 74 00 01 00 78  32 07 00 01 74 00 02 00 78")));
    EXPECT_EQ(d.session().queued_count(), 1u);
    // QoS 0 publishes keep their place behind the waiting ones; SUBSCRIBE does not wait (3.3.4-8 below).
    d.publish_ok("t", "x", QoS::at_most_once);
    EXPECT_TRUE(d.take_output().empty());
    d.feed("40 02 00 01");
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{1, 1, QoS::at_least_once, {}}}));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("32 07 00 01 74 00 03 00 78  30 05 00 01 74 00 78")));
}

TEST(V5Session, MQTT_3_3_4_8_subscribe_and_unsubscribe_are_not_delayed_by_a_full_window) {
    SessionDriver d(v5_options());
    connect_v5(d, "20 06 00 00 03 21 00 01");  // Receive Maximum 1
    EXPECT_EQ(d.publish_ok("t", "x", QoS::at_least_once, 1), 1);
    EXPECT_EQ(d.publish_ok("t", "y", QoS::at_least_once, 2), 0);  // waits for the window
    (void)d.take_output();
    d.subscribe_ok({{"s", QoS::at_most_once}});
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("82 07 00 02 00 00 01 73 00")));  // at once, id 2
    d.unsubscribe_ok({"s"});
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("A2 06 00 03 00 00 01 73")));
    EXPECT_EQ(d.session().queued_count(), 1u);
    d.feed("40 02 00 01");
    (void)d.take_events();
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("32 07 00 01 74 00 04 00 79")));
}

TEST(V5Session, MQTT_3_3_4_8_requests_queued_offline_overtake_once_the_window_is_full) {
    SessionDriver d(v5_options());
    d.open();
    (void)d.take_output();
    EXPECT_EQ(d.publish_ok("t", "x", QoS::at_least_once, 1), 0);  // queued before the CONNACK
    EXPECT_EQ(d.publish_ok("t", "y", QoS::at_least_once, 2), 0);
    d.subscribe_ok({{"s", QoS::at_most_once}});
    d.feed("20 06 00 00 03 21 00 01");  // Receive Maximum 1: the second publish waits, the SUBSCRIBE not
    (void)d.take_events();
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("32 07 00 01 74 00 01 00 78  82 07 00 02 00 00 01 73 00")));
    d.feed("40 02 00 01");
    (void)d.take_events();
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("32 07 00 01 74 00 03 00 79")));
}

TEST(V5Session, MQTT_3_2_2_15_nothing_above_the_server_maximum_packet_size) {
    SessionDriver d(v5_options());
    connect_v5(d, "20 08 00 00 05 27 00 00 00 0A");  // Maximum Packet Size 10
    EXPECT_EQ(d.publish("t", "0123456789", QoS::at_most_once).error(), err(Errc::packet_too_large));
    EXPECT_EQ(d.publish("t", "0123456789", QoS::at_least_once).error(), err(Errc::packet_too_large));
    EXPECT_TRUE(d.take_output().empty());
    d.publish_ok("t", "x", QoS::at_most_once);  // 7 bytes fit
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("30 05 00 01 74 00 78")));
}

TEST(V5Session, MQTT_3_1_2_24_inbound_packet_above_our_maximum_is_disconnect_0x95) {
    auto o = v5_options();
    o.v5.maximum_packet_size = 10;
    SessionDriver d(o);
    connect_v5(d, "20 03 00 00 00",
               "10 13 00 04 4D 51 54 54 05 02 00 3C 05 27 00 00 00 0A 00 01 63");
    d.feed("30 09 00 01 74 00 30 31 32 33 34");  // 11 bytes
    expect_violation(d, "E0 01 95", Errc::packet_too_large, 0x95);
}

// A hostile length is refused at the fixed header: the 5 header bytes of a PUBLISH announcing 268,435,455
// bytes (256 MiB) suffice, nothing of the body is awaited, skipped or buffered.
TEST(V5Session, MQTT_3_1_2_24_huge_remaining_length_is_refused_at_the_header) {
    auto o = v5_options();
    o.v5.maximum_packet_size = 4096;
    SessionDriver d(o);
    connect_v5(d, "20 03 00 00 00",
               "10 13 00 04 4D 51 54 54 05 02 00 3C 05 27 00 00 10 00 00 01 63");
    d.feed("30 FF FF FF 7F");
    expect_violation(d, "E0 01 95", Errc::packet_too_large, 0x95);
}

// set_v5_options() between connections changes the bound the next connection enforces.
TEST(V5Session, MQTT_3_1_2_24_maximum_packet_size_set_between_connections_applies) {
    SessionDriver d(v5_options());
    connect_v5(d);
    d.close();
    (void)d.take_events();
    auto v5 = d.session().options().v5;
    v5.maximum_packet_size = 10;
    ASSERT_FALSE(d.session().set_v5_options(v5));
    connect_v5(d, "20 03 00 00 00", "10 13 00 04 4D 51 54 54 05 02 00 3C 05 27 00 00 00 0A 00 01 63");
    d.feed("30 09 00 01 74 00 30 31 32 33 34");  // 11 bytes
    expect_violation(d, "E0 01 95", Errc::packet_too_large, 0x95);
}

TEST(V5Session, MQTT_3_2_2_11_and_MQTT_3_2_2_14_qos_and_retain_the_server_cannot_serve_fail_locally) {
    SessionDriver d(v5_options());
    connect_v5(d, "20 07 00 00 04 24 00 25 00");  // Maximum QoS 0, Retain Available 0
    EXPECT_EQ(d.publish("t", "x", QoS::at_least_once).error(), err(Errc::qos_not_supported));
    EXPECT_EQ(d.publish("t", "x", QoS::at_most_once, 0, true).error(), err(Errc::retain_not_supported));
    EXPECT_TRUE(d.take_output().empty());
}

TEST(V5Session, MQTT_3_2_2_17_outgoing_topic_aliases_follow_the_policy) {
    SessionDriver d(v5_options());
    connect_v5(d, "20 06 00 00 03 22 00 02");  // Topic Alias Maximum 2
    d.publish_ok("t", "x", QoS::at_most_once);
    d.publish_ok("t", "x", QoS::at_most_once);
    d.publish_ok("u", "x", QoS::at_most_once);
    d.publish_ok("v", "x", QoS::at_most_once);   // no third alias: the server allows 2
    d.publish_ok("t", "x", QoS::at_least_once);  // QoS 1 keeps its topic (a resend may be on a new connection)
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("30 08 00 01 74 03 23 00 01 78"    // topic + alias 1
                                                 "30 07 00 00 03 23 00 01 78"       // alias 1 alone
                                                 "30 08 00 01 75 03 23 00 02 78"    // "u" + alias 2
                                                 "30 05 00 01 76 00 78"             // "v": no alias
                                                 "32 07 00 01 74 00 01 00 78")));
}

TEST(V5Session, MQTT_3_2_2_18_no_aliases_without_a_server_maximum) {
    SessionDriver d(v5_options());
    connect_v5(d);
    d.publish_ok("t", "x", QoS::at_most_once);
    d.publish_ok("t", "x", QoS::at_most_once);
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("30 05 00 01 74 00 78  30 05 00 01 74 00 78")));
}

TEST(V5Session, MQTT_3_3_2_7_outgoing_aliases_do_not_outlive_the_connection) {
    SessionDriver d(v5_options());
    connect_v5(d, "20 06 00 00 03 22 00 02");
    d.publish_ok("t", "x", QoS::at_most_once);
    (void)d.take_output();
    d.close();
    (void)d.take_events();
    connect_v5(d, "20 06 00 00 03 22 00 02");
    d.publish_ok("t", "x", QoS::at_most_once);
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("30 08 00 01 74 03 23 00 01 78")));  // topic again
}

session::SessionOptions with_incoming_aliases(std::uint16_t n) {
    auto o = v5_options();
    o.v5.topic_alias_maximum = n;
    return o;
}

TEST(V5Session, MQTT_3_3_2_10_incoming_aliases_are_mapped) {
    SessionDriver d(with_incoming_aliases(2));
    connect_v5(d, "20 03 00 00 00", "10 11 00 04 4D 51 54 54 05 02 00 3C 03 22 00 02 00 01 63");
    d.feed("30 08 00 01 74 03 23 00 01 78");  // "t" sets alias 1
    d.feed("30 07 00 00 03 23 00 01 79");     // alias 1 alone
    const auto events = d.take_events();
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(std::get<ev::Message>(events[0]).topic, "t");
    EXPECT_EQ(std::get<ev::Message>(events[1]).topic, "t");
    EXPECT_EQ(std::get<ev::Message>(events[1]).payload, "y");
    EXPECT_EQ(std::get<ev::Message>(events[1]).properties, hex("23 00 01"));
}

TEST(V5Session, MQTT_3_1_2_26_alias_above_our_maximum_is_disconnect_0x94) {
    SessionDriver d(with_incoming_aliases(2));
    connect_v5(d, "20 03 00 00 00", "10 11 00 04 4D 51 54 54 05 02 00 3C 03 22 00 02 00 01 63");
    d.feed("30 08 00 01 74 03 23 00 03 78");
    expect_violation(d, "E0 01 94", Errc::topic_alias_invalid, 0x94);
}

TEST(V5Session, MQTT_3_1_2_27_alias_without_our_maximum_is_disconnect_0x94) {
    SessionDriver d(v5_options());
    connect_v5(d);
    d.feed("30 08 00 01 74 03 23 00 01 78");
    expect_violation(d, "E0 01 94", Errc::topic_alias_invalid, 0x94);
}

TEST(V5Session, MQTT_3_3_2_10_unknown_alias_is_disconnect_0x94) {
    SessionDriver d(with_incoming_aliases(2));
    connect_v5(d, "20 03 00 00 00", "10 11 00 04 4D 51 54 54 05 02 00 3C 03 22 00 02 00 01 63");
    d.feed("30 07 00 00 03 23 00 02 79");
    expect_violation(d, "E0 01 94", Errc::topic_alias_invalid, 0x94);
}

TEST(V5Session, MQTT_3_3_2_8_alias_zero_is_malformed_0x81) {
    SessionDriver d(with_incoming_aliases(2));
    connect_v5(d, "20 03 00 00 00", "10 11 00 04 4D 51 54 54 05 02 00 3C 03 22 00 02 00 01 63");
    d.feed("30 08 00 01 74 03 23 00 00 78");
    expect_violation(d, "E0 01 82", Errc::bad_property_value, 0x82);
}

TEST(V5Session, MQTT_4_13_1_1_malformed_property_is_disconnect_0x81_and_later_input_is_ignored) {
    SessionDriver d(v5_options());
    connect_v5(d);
    d.feed("30 05 00 01 74 01 7F  30 05 00 01 74 00 78");  // unknown property id, then a valid PUBLISH
    expect_violation(d, "E0 01 81", Errc::bad_property_id, 0x81);
}

TEST(V5Session, duplicate_property_is_disconnect_0x82) {
    SessionDriver d(v5_options());
    connect_v5(d);
    d.feed("30 08 00 01 74 04 01 00 01 01");
    expect_violation(d, "E0 01 82", Errc::duplicate_property, 0x82);
}

TEST(V5Session, MQTT_3_3_4_9_inbound_qos2_above_our_receive_maximum_is_disconnect_0x93) {
    auto o = v5_options();
    o.v5.receive_maximum = 1;
    SessionDriver d(o);
    connect_v5(d, "20 03 00 00 00", "10 11 00 04 4D 51 54 54 05 02 00 3C 03 21 00 01 00 01 63");
    d.feed("34 06 00 01 74 00 01 00");
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("50 02 00 01")));  // PUBREC
    (void)d.take_events();
    d.feed("34 06 00 01 74 00 02 00");
    expect_violation(d, "E0 01 93", Errc::receive_maximum_exceeded, 0x93);
}

TEST(V5Session, MQTT_4_4_0_2_puback_with_an_error_code_ends_the_exchange) {
    SessionDriver d(v5_options());
    connect_v5(d);
    const auto id = d.publish_ok("t", "x", QoS::at_least_once, 9);
    (void)d.take_output();
    d.feed("40 03" + id_hex(id) + "87");
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{9, id, QoS::at_least_once, err(Errc::refused_by_server), 0x87}}));
    EXPECT_EQ(d.session().inflight_count(), 0u);
}

TEST(V5Session, MQTT_3_4_2_1_puback_success_codes_complete_normally) {
    SessionDriver d(v5_options());
    connect_v5(d);
    const auto id = d.publish_ok("t", "x", QoS::at_least_once, 9);
    (void)d.take_output();
    d.feed("40 03" + id_hex(id) + "10");  // No matching subscribers
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{9, id, QoS::at_least_once, {}, 0x10}}));
}

TEST(V5Session, MQTT_4_3_3_4_pubrec_with_an_error_code_gets_no_pubrel) {
    SessionDriver d(v5_options());
    connect_v5(d);
    const auto id = d.publish_ok("t", "x", QoS::exactly_once, 4);
    (void)d.take_output();
    d.feed("50 03" + id_hex(id) + "80");
    EXPECT_TRUE(d.take_output().empty());
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{4, id, QoS::exactly_once, err(Errc::refused_by_server), 0x80}}));
}

TEST(V5Session, MQTT_3_3_4_1_qos2_flow_with_pubcomp_reason) {
    SessionDriver d(v5_options());
    connect_v5(d);
    const auto id = d.publish_ok("t", "x", QoS::exactly_once, 4);
    (void)d.take_output();
    d.feed("50 02" + id_hex(id));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("62 02" + id_hex(id))));
    d.feed("70 03" + id_hex(id) + "92");  // Packet Identifier not found
    EXPECT_EQ(d.take_events(), (Events{ev::PublishDone{4, id, QoS::exactly_once, {}, 0x92}}));
}

TEST(V5Session, server_disconnect_is_delivered_with_its_reason_and_properties) {
    SessionDriver d(v5_options());
    connect_v5(d);
    d.set_auto_write(false);
    const auto input = hex("E0 06 9C 04 1C 00 01 68");  // views in the event point into it
    std::size_t used = d.session().handle_bytes(input, d.now());
    EXPECT_EQ(used, 8u);
    auto e = d.session().poll_event();
    ASSERT_TRUE(e.has_value());
    const auto* lost = std::get_if<session::ConnectionLost>(&*e);
    ASSERT_NE(lost, nullptr);
    EXPECT_EQ(lost->error, err(Errc::server_disconnected));
    EXPECT_EQ(lost->reason_code, 0x9C);  // Use another server
    EXPECT_EQ(lost->properties.server_reference(), "h");
    EXPECT_EQ(d.session().state(), State::idle);
}

TEST(V5Session, MQTT_3_14_2_2_session_expiry_in_a_server_disconnect_is_a_protocol_error) {
    SessionDriver d(v5_options());
    connect_v5(d);
    d.feed("E0 07 00 05 11 00 00 00 01");
    expect_violation(d, "E0 01 82", Errc::protocol_error, 0x82);
}

TEST(V5Session, MQTT_4_12_0_6_auth_without_a_method_is_a_protocol_error) {
    SessionDriver d(v5_options());
    connect_v5(d);
    d.feed("F0 00");
    expect_violation(d, "E0 01 82", Errc::protocol_error, 0x82);
}

TEST(V5Session, disconnect_with_reason_and_session_expiry) {
    auto o = v5_options();
    o.v5.session_expiry_interval = 60;
    SessionDriver d(o);
    connect_v5(d, "20 03 00 00 00", "10 13 00 04 4D 51 54 54 05 02 00 3C 05 11 00 00 00 3C 00 01 63");
    session::DisconnectRequest r;
    r.session_expiry_interval = 0;
    EXPECT_TRUE(d.session().disconnect(r, d.now()).value());
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("E0 07 00 05 11 00 00 00 00")));
    EXPECT_EQ(d.take_events(), (Events{ev::ConnectionLost{err(Errc::closed_by_client)}}));
}

TEST(V5Session, disconnect_with_will_reason_code) {
    SessionDriver d(v5_options());
    connect_v5(d);
    session::DisconnectRequest r;
    r.reason_code = 0x04;
    EXPECT_TRUE(d.session().disconnect(r, d.now()).value());
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("E0 01 04")));
}

TEST(V5Session, session_expiry_cannot_go_from_zero_to_non_zero_at_disconnect) {
    SessionDriver d(v5_options());
    connect_v5(d);
    session::DisconnectRequest r;
    r.session_expiry_interval = 10;
    EXPECT_EQ(d.session().disconnect(r, d.now()).error(), err(Errc::invalid_argument));
    r = {};
    r.reason_code = 0x01;  // not a DISCONNECT reason code
    EXPECT_EQ(d.session().disconnect(r, d.now()).error(), err(Errc::invalid_argument));
    EXPECT_EQ(d.session().state(), State::connected);
}

TEST(V5Session, MQTT_3_8_3_5_subscription_options_and_identifier_on_the_wire) {
    SessionDriver d(v5_options());
    connect_v5(d);
    const protocol::SubscribeEntry entries[] = {
        {"a/+", QoS::at_least_once, true, true, protocol::RetainHandling::do_not_send}};
    protocol::Properties props;
    props.subscription_identifier(5);
    auto id = d.session().subscribe(entries, props.view(), 3, d.now());
    ASSERT_TRUE(id.has_value());
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("82 0B 00 01 02 0B 05 00 03 61 2F 2B 2D")));
    d.feed("90 04 00 01 00 01");
    EXPECT_EQ(d.take_events(), (Events{ev::SubscribeDone{3, 1, {0x01}, {}}}));
}

TEST(V5Session, server_capabilities_for_subscriptions_are_honoured_locally) {
    SessionDriver d(v5_options());
    connect_v5(d, "20 09 00 00 06 28 00 29 00 2A 00");  // no wildcards, no sub ids, no shared
    const protocol::SubscribeEntry wild[] = {{"a/+", QoS::at_most_once}};
    EXPECT_EQ(d.session().subscribe(wild, 0, d.now()).error(), err(Errc::wildcard_not_supported));
    const protocol::SubscribeEntry shared[] = {{"$share/g/a", QoS::at_most_once}};
    EXPECT_EQ(d.session().subscribe(shared, 0, d.now()).error(), err(Errc::shared_not_supported));
    const protocol::SubscribeEntry plain[] = {{"a", QoS::at_most_once}};
    protocol::Properties props;
    props.subscription_identifier(1);
    EXPECT_EQ(d.session().subscribe(plain, props.view(), 0, d.now()).error(), err(Errc::subscription_id_not_supported));
    EXPECT_TRUE(d.take_output().empty());
}

TEST(V5Session, MQTT_3_8_3_4_no_local_on_shared_and_MQTT_4_8_2_1_share_names) {
    SessionDriver d(v5_options());
    connect_v5(d);
    const protocol::SubscribeEntry no_local[] = {{"$share/g/a", QoS::at_most_once, true}};
    EXPECT_EQ(d.session().subscribe(no_local, 0, d.now()).error(), err(Errc::invalid_argument));
    const protocol::SubscribeEntry empty_name[] = {{"$share//a", QoS::at_most_once}};
    EXPECT_EQ(d.session().subscribe(empty_name, 0, d.now()).error(), err(Errc::bad_topic_filter));
    const protocol::SubscribeEntry wild_name[] = {{"$share/g+/a", QoS::at_most_once}};
    EXPECT_EQ(d.session().subscribe(wild_name, 0, d.now()).error(), err(Errc::bad_topic_filter));
    const protocol::SubscribeEntry ok[] = {{"$share/g/a", QoS::at_most_once}};
    EXPECT_TRUE(d.session().subscribe(ok, 0, d.now()).has_value());
}

TEST(V5Session, MQTT_3_11_3_2_unsuback_reason_codes_are_delivered) {
    SessionDriver d(v5_options());
    connect_v5(d);
    const auto id = d.unsubscribe_ok({"a"}, 8);
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("A2 06 00 01 00 00 01 61")));
    d.feed("B0 04" + id_hex(id) + "00 11");
    EXPECT_EQ(d.take_events(), (Events{ev::UnsubscribeDone{8, id, {}, {0x11}}}));
}

TEST(V5Session, MQTT_3_3_4_6_client_publish_may_not_carry_subscription_id_or_alias) {
    SessionDriver d(v5_options());
    connect_v5(d);
    protocol::Properties props;
    props.subscription_identifier(1);
    session::PublishRequest r{"t", "x", QoS::at_most_once, false, 0, props.view()};
    EXPECT_EQ(d.session().publish(r, d.now()).error(), err(Errc::invalid_argument));
}

TEST(V5Session, publish_properties_go_on_the_wire_and_come_back_on_messages) {
    SessionDriver d(v5_options());
    connect_v5(d);
    protocol::Properties props;
    props.add_user_property("k", "v");
    session::PublishRequest r{"t", "x", QoS::at_least_once, false, 1, props.view()};
    ASSERT_TRUE(d.session().publish(r, d.now()).has_value());
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("32 0E 00 01 74 00 01 07 26 00 01 6B 00 01 76 78")));
    d.feed("30 0C 00 01 74 07 26 00 01 6B 00 01 76 79");
    const auto events = d.take_events();
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(std::get<ev::Message>(events[0]).properties, hex("26 00 01 6B 00 01 76"));
}

TEST(V5Session, MQTT_4_4_0_1_resend_on_session_present_keeps_properties) {
    auto o = v5_options();
    o.clean_session = false;
    o.v5.session_expiry_interval = 60;
    SessionDriver d(o);
    const char* connect = "10 13 00 04 4D 51 54 54 05 00 00 3C 05 11 00 00 00 3C 00 01 63";
    connect_v5(d, "20 03 00 00 00", connect);
    protocol::Properties props;
    props.add_user_property("k", "v");
    session::PublishRequest r{"t", "x", QoS::at_least_once, false, 1, props.view()};
    ASSERT_TRUE(d.session().publish(r, d.now()).has_value());
    (void)d.take_output();
    d.close();
    (void)d.take_events();
    connect_v5(d, "20 03 01 00 00", connect, true);
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("3A 0E 00 01 74 00 01 07 26 00 01 6B 00 01 76 78")));  // DUP
}

TEST(V5Session, validate_checks_the_v5_options) {
    auto o = v5_options();
    o.v5.receive_maximum = 0;
    EXPECT_EQ(session::validate(o), err(Errc::invalid_argument));
    o = v5_options();
    o.v5.connect_properties.add_two_byte(protocol::PropertyId::topic_alias, 1);
    EXPECT_EQ(session::validate(o), err(Errc::invalid_argument));
    auto v3 = default_options();
    v3.will = session::WillMessage{"w", "m", QoS::at_most_once, false, {}};
    v3.will->properties.will_delay_interval(5);
    EXPECT_EQ(session::validate(v3), err(Errc::invalid_argument));
}

TEST(V5Session, MQTT_3_1_2_9_will_properties_in_connect) {
    auto o = v5_options();
    o.will = session::WillMessage{"w", "m", QoS::at_most_once, false, {}};
    o.will->properties.will_delay_interval(30);
    SessionDriver d(o);
    d.open();
    EXPECT_TRUE(bytes_equal(d.take_output(),
                            hex("10 1A 00 04 4D 51 54 54 05 06 00 3C 00 00 01 63 05 18 00 00 00 1E 00 01 77 00 01 6D")));
}

}  // namespace
}  // namespace nmqtt::test

namespace nmqtt::test {
namespace {

// Found by fuzz_session: the packet id of a queued QoS 1/2 PUBLISH was patched one byte early when the whole
// packet was 129..130 bytes (the Remaining Length field was sized from the total, not the remaining length).
TEST(SessionRegression, queued_publish_of_129_bytes_gets_its_id_in_the_right_place) {
    for (const auto version : {protocol::ProtocolVersion::v3_1_1, protocol::ProtocolVersion::v5}) {
        auto o = default_options();
        o.protocol = version;
        SessionDriver d(o);
        d.open();
        (void)d.take_output();
        const std::size_t payload = version == protocol::ProtocolVersion::v5 ? 121 : 122;  // 129 bytes in all
        ASSERT_TRUE(d.publish("t", std::string(payload, 'x'), QoS::at_least_once).has_value());  // queued
        d.feed(version == protocol::ProtocolVersion::v5 ? "20 03 00 00 00" : "20 02 00 00");
        (void)d.take_events();
        const auto out = d.take_output();
        ASSERT_EQ(out.size(), 129u);
        const auto decoded = protocol::decode_packet(out, version);
        ASSERT_TRUE(decoded.has_value()) << decoded.error().message();
        EXPECT_EQ(std::get<protocol::Publish>(*decoded).topic, "t");
        EXPECT_EQ(std::get<protocol::Publish>(*decoded).packet_id, 1);
    }
}

}  // namespace
}  // namespace nmqtt::test
