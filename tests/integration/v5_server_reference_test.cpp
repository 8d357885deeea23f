// MQTT 5.0 Server Reference (section 4.11) through nmqtt::Client against scripted brokers: a CONNACK 0x9C
// (Use another server) or a DISCONNECT 0x9D (Server moved) naming another server is followed by the automatic
// reconnection; without reconnect it is only reported (last_properties()).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "client_harness.hpp"
#include "nmqtt/client.hpp"
#include "support/bytes.hpp"
#include "support/scripted_peer.hpp"

namespace nmqtt::test {
namespace {

const ByteVector v5_connack_ok = hex("20 03 00 00 00");

// A CONNACK or DISCONNECT with `reason` and a Server Reference property "127.0.0.1:<port>".
ByteVector with_reference(std::uint8_t type, std::uint8_t reason, std::uint16_t port) {
    const std::string ref = "127.0.0.1:" + std::to_string(port);
    // Sized up front: GCC 12's -Warray-bounds misfires on an insert into a braced 3-byte vector at -O2.
    ByteVector props(3 + ref.size());
    props[0] = 0x1C;
    props[2] = static_cast<std::uint8_t>(ref.size());
    std::copy(ref.begin(), ref.end(), props.begin() + 3);
    ByteVector out{type};
    const bool connack = type == 0x20;
    out.push_back(static_cast<std::uint8_t>((connack ? 3 : 2) + props.size()));
    if (connack) out.push_back(0x00);  // acknowledge flags
    out.push_back(reason);
    out.push_back(static_cast<std::uint8_t>(props.size()));
    out.insert(out.end(), props.begin(), props.end());
    return out;
}

ClientOptions v5_reconnecting(std::string id, bool reconnect) {
    ClientOptions o = v5_options(std::move(id));
    o.reconnect.enabled = reconnect;
    o.reconnect.initial_delay = 50ms;
    o.reconnect.max_delay = 100ms;
    return o;
}

TEST(V5ServerReference, UseAnotherServerInTheConnackIsFollowed) {
    ScriptedPeer target({{peer::expect_packet(0x10), peer::send(v5_connack_ok), peer::expect_packet(0xE0),
                          peer::expect_close()}});
    ScriptedPeer first({{peer::expect_packet(0x10), peer::send(with_reference(0x20, 0x9C, target.port())),
                         peer::expect_close()}});
    Client client(v5_reconnecting("ref", true));
    Recorder r;
    r.attach(client);
    client.connect(first.host(), first.port());
    ASSERT_TRUE(run_until(client, [&] { return r.connects > 0; }));
    EXPECT_EQ(r.connfails, (std::vector<int>{0x9C}));
    EXPECT_EQ(target.connections_accepted(), 1u);
    EXPECT_TRUE(close_and_wait(client));
    ASSERT_TRUE(target.wait_done(5s)) << target.failure();
    EXPECT_TRUE(target.matched()) << target.failure();
}

TEST(V5ServerReference, ServerMovedDisconnectIsFollowed) {
    ScriptedPeer target({{peer::expect_packet(0x10), peer::send(v5_connack_ok), peer::expect_packet(0xE0),
                          peer::expect_close()}});
    ScriptedPeer first({{peer::expect_packet(0x10), peer::send(v5_connack_ok),
                         peer::send(with_reference(0xE0, 0x9D, target.port())), peer::expect_close()}});
    Client client(v5_reconnecting("moved", true));
    Recorder r;
    r.attach(client);
    client.connect(first.host(), first.port());
    ASSERT_TRUE(run_until(client, [&] { return r.connects >= 2; }));
    EXPECT_EQ(r.offlines, 1);
    EXPECT_EQ(target.connections_accepted(), 1u);
    EXPECT_TRUE(close_and_wait(client));
    ASSERT_TRUE(target.wait_done(5s)) << target.failure();
}

TEST(V5ServerReference, WithoutReconnectTheReferenceIsReported) {
    ScriptedPeer first({{peer::expect_packet(0x10), peer::send(with_reference(0x20, 0x9C, 1884)),
                         peer::expect_close()}});
    Client client(v5_reconnecting("report", false));
    Recorder r;
    r.attach(client);
    client.connect(first.host(), first.port());
    ASSERT_TRUE(run_until(client, [&] { return !r.connfails.empty(); }));
    EXPECT_EQ(client.last_reason_code(), 0x9C);
    EXPECT_EQ(client.last_properties().server_reference(), std::optional<std::string_view>{"127.0.0.1:1884"});
}

}  // namespace
}  // namespace nmqtt::test
