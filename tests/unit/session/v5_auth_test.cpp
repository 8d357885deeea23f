// MQTT 5.0 enhanced authentication (section 4.12) on the fake clock: the AUTH exchange before the CONNACK,
// re-authentication, every AUTH the client must refuse, and giving up. Golden bytes written from the standard.
#include <gtest/gtest.h>

#include "support/session_driver.hpp"

namespace nmqtt::test {
namespace {

using session::State;

session::SessionOptions auth_options(std::string method = "M", std::string data = "d1") {
    auto o = default_options();
    o.protocol = protocol::ProtocolVersion::v5;
    o.v5.authentication_method = std::move(method);
    o.v5.authentication_data = std::move(data);
    return o;
}

// CONNECT (client id "c", keep alive 60, clean start) with Authentication Method "M" and Data "d1".
const char* const auth_connect = "10 17 00 04 4D 51 54 54 05 02 00 3C 09 15 00 01 4D 16 00 02 64 31 00 01 63";
const char* const server_continue_s1 = "F0 0B 18 09 15 00 01 4D 16 00 02 73 31";  // AUTH 0x18, data "s1"
const char* const connack_with_method = "20 07 00 00 04 15 00 01 4D";

void open_with_auth(SessionDriver& d) {
    d.open();
    EXPECT_TRUE(bytes_equal(d.take_output(), hex(auth_connect)));
}

void connect_with_auth(SessionDriver& d) {
    open_with_auth(d);
    d.feed(connack_with_method);
    EXPECT_EQ(d.take_events(), (Events{ev::Connected{false}}));
}

TEST(V5Auth, MQTT_4_12_0_2_and_3_exchange_before_the_connack_and_MQTT_3_1_2_30_nothing_else_is_sent) {
    SessionDriver d(auth_options());
    open_with_auth(d);
    d.publish_ok("t", "x", QoS::at_most_once, 1);  // waits for the CONNACK [MQTT-3.1.2-30]
    d.feed(server_continue_s1);
    EXPECT_EQ(d.take_events(), (Events{ev::Auth{0x18, "s1"}}));
    EXPECT_TRUE(d.take_output().empty());
    EXPECT_FALSE(d.session().continue_authentication("c2", d.now()));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("F0 0B 18 09 15 00 01 4D 16 00 02 63 32")));  // same method
    d.feed(connack_with_method);
    auto events = d.take_events();
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.front(), (ev::Event{ev::Connected{false}}));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("30 05 00 01 74 00 78")));  // the PUBLISH, after the CONNACK
}

TEST(V5Auth, MQTT_4_12_0_5_auth_with_another_method_fails_the_attempt) {
    SessionDriver d(auth_options());
    open_with_auth(d);
    d.feed("F0 0B 18 09 15 00 01 58 16 00 02 73 31");  // method "X"
    EXPECT_EQ(d.take_events(), (Events{ev::ConnectFailed{-4, err(Errc::protocol_error)}}));
    EXPECT_EQ(d.session().state(), State::idle);
}

TEST(V5Auth, MQTT_4_12_0_5_connack_without_the_method_fails_the_attempt) {
    SessionDriver d(auth_options());
    open_with_auth(d);
    d.feed("20 03 00 00 00");
    EXPECT_EQ(d.take_events(), (Events{ev::ConnectFailed{-4, err(Errc::protocol_error)}}));
}

TEST(V5Auth, MQTT_4_12_0_1_unsupported_method_is_a_refusal_with_0x8C) {
    SessionDriver d(auth_options());
    open_with_auth(d);
    d.feed("20 03 00 8C 00");  // Bad authentication method
    EXPECT_EQ(d.take_events(), (Events{ev::ConnectFailed{0x8C, err(Errc::connection_refused), 0x8C}}));
}

TEST(V5Auth, MQTT_4_12_0_4_server_ends_the_exchange_with_a_refusal) {
    SessionDriver d(auth_options());
    open_with_auth(d);
    d.feed(server_continue_s1);
    (void)d.take_events();
    EXPECT_FALSE(d.session().continue_authentication("wrong", d.now()));
    (void)d.take_output();
    d.feed("20 03 00 87 00");  // Not authorized: NodeMCU code 5
    EXPECT_EQ(d.take_events(), (Events{ev::ConnectFailed{5, err(Errc::connection_refused), 0x87}}));
}

TEST(V5Auth, MQTT_4_12_0_7_no_auth_without_a_method) {
    auto o = auth_options("", "");
    SessionDriver d(o);
    d.open();
    (void)d.take_output();
    d.feed("20 03 00 00 00");
    EXPECT_EQ(d.take_events(), (Events{ev::Connected{false}}));
    EXPECT_EQ(d.session().reauthenticate("r", d.now()), err(Errc::invalid_argument));
    EXPECT_EQ(d.session().continue_authentication("r", d.now()), err(Errc::invalid_argument));
    EXPECT_TRUE(d.take_output().empty());
    SessionDriver old(default_options());  // 3.1.1 has no AUTH at all
    old.connect();
    EXPECT_EQ(old.session().reauthenticate("r", old.now()), err(Errc::invalid_argument));
}

TEST(V5Auth, MQTT_4_12_1_1_reauthentication_with_the_same_method_while_traffic_goes_on) {
    SessionDriver d(auth_options());
    connect_with_auth(d);
    EXPECT_FALSE(d.session().reauthenticate("r1", d.now()));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("F0 0B 19 09 15 00 01 4D 16 00 02 72 31")));
    EXPECT_EQ(d.session().reauthenticate("r1", d.now()), err(Errc::authentication_in_progress));
    d.publish_ok("t", "x", QoS::at_most_once, 1);  // not held back by the exchange
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("30 05 00 01 74 00 78")));
    (void)d.take_events();
    d.feed("F0 0B 18 09 15 00 01 4D 16 00 02 73 32");  // continue, "s2"
    EXPECT_EQ(d.take_events(), (Events{ev::Auth{0x18, "s2"}}));
    EXPECT_FALSE(d.session().continue_authentication("c3", d.now()));
    EXPECT_TRUE(bytes_equal(d.take_output(), hex("F0 0B 18 09 15 00 01 4D 16 00 02 63 33")));
    d.feed("F0 06 00 04 15 00 01 4D");  // success
    EXPECT_EQ(d.take_events(), (Events{ev::Auth{0x00, ""}}));
    EXPECT_FALSE(d.session().reauthenticate("r2", d.now()));  // a new one may start
    EXPECT_EQ(d.session().state(), State::connected);
}

TEST(V5Auth, MQTT_4_12_1_2_failed_reauthentication_ends_with_the_servers_disconnect) {
    SessionDriver d(auth_options());
    connect_with_auth(d);
    EXPECT_FALSE(d.session().reauthenticate("r1", d.now()));
    (void)d.take_output();
    d.feed("E0 02 87 00");  // DISCONNECT, Not authorized
    EXPECT_EQ(d.take_events(), (Events{ev::ConnectionLost{err(Errc::server_disconnected), 0x87}}));
    EXPECT_EQ(d.session().state(), State::idle);
}

TEST(V5Auth, unexpected_auth_packets_are_protocol_errors) {
    {  // Success before the CONNACK: success is the CONNACK itself
        SessionDriver d(auth_options());
        open_with_auth(d);
        d.feed("F0 06 00 04 15 00 01 4D");
        EXPECT_EQ(d.take_events(), (Events{ev::ConnectFailed{-4, err(Errc::protocol_error)}}));
    }
    {  // Continue while no re-authentication was asked for
        SessionDriver d(auth_options());
        connect_with_auth(d);
        d.feed(server_continue_s1);
        EXPECT_TRUE(bytes_equal(d.take_output(), hex("E0 01 82")));
        EXPECT_EQ(d.take_events(), (Events{ev::ConnectionLost{err(Errc::protocol_error), 0x82}}));
    }
    {  // Re-authenticate comes from clients only
        SessionDriver d(auth_options());
        connect_with_auth(d);
        d.feed("F0 06 19 04 15 00 01 4D");
        EXPECT_TRUE(bytes_equal(d.take_output(), hex("E0 01 82")));
    }
}

TEST(V5Auth, giving_up_while_connecting_is_connect_failed_5_and_once_connected_disconnect_0x87) {
    {
        SessionDriver d(auth_options());
        open_with_auth(d);
        d.feed(server_continue_s1);
        (void)d.take_events();
        d.session().abort_authentication(d.now());
        EXPECT_EQ(d.take_events(), (Events{ev::ConnectFailed{5, err(Errc::auth_failed)}}));
        EXPECT_EQ(d.session().state(), State::idle);
    }
    {
        SessionDriver d(auth_options());
        connect_with_auth(d);
        EXPECT_FALSE(d.session().reauthenticate("r1", d.now()));
        (void)d.take_output();
        d.feed("F0 0B 18 09 15 00 01 4D 16 00 02 73 32");
        (void)d.take_events();
        d.session().abort_authentication(d.now());
        EXPECT_TRUE(bytes_equal(d.take_output(), hex("E0 01 87")));  // Not authorized
        EXPECT_EQ(d.take_events(), (Events{ev::ConnectionLost{err(Errc::auth_failed), 0x87}}));
    }
}

TEST(V5Auth, answer_without_a_pending_challenge_is_refused) {
    SessionDriver d(auth_options());
    connect_with_auth(d);
    EXPECT_EQ(d.session().continue_authentication("c", d.now()), err(Errc::not_connected));
    EXPECT_TRUE(d.take_output().empty());
}

}  // namespace
}  // namespace nmqtt::test
