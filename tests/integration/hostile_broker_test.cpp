// Resource bounds under a hostile broker (issue 17, part 4): byte-exact scripted brokers on 127.0.0.1 that
// flood the client while its message callback is slow, never read, announce a 256 MiB packet, or trickle one
// byte per second. Each test bounds its loops in count and time, uses short timeouts through ClientOptions,
// and asserts that the process's resident memory (VmRSS) grows by less than a few MiB to tens of MiB.
#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "client_harness.hpp"
#include "support/bytes.hpp"
#include "support/scripted_peer.hpp"

namespace nmqtt::test {
namespace {

using Clock = std::chrono::steady_clock;
constexpr long kib_per_mib = 1024;

// Resident set size of this process in KiB (VmRSS of /proc/self/status), 0 if unreadable.
long rss_kib() {
    std::ifstream status("/proc/self/status");
    std::string key;
    while (status >> key) {
        if (key == "VmRSS:") {
            long kib = 0;
            status >> kib;
            return kib;
        }
        status.ignore(4096, '\n');
    }
    return 0;
}

// A PUBLISH "s/n" carrying `seq` as 8 digits followed by filler, at QoS 0 or 1 (id 1 + seq % 60000).
ByteVector stream_publish(std::size_t seq, int qos, std::size_t payload_size) {
    std::string payload = std::to_string(100'000'000 + seq).substr(1);
    payload.resize(payload_size, 'f');
    const std::size_t remaining = 2 + 3 + (qos != 0 ? 2 : 0) + payload.size();
    ByteVector out{static_cast<std::uint8_t>(0x30 | (qos << 1))};
    for (std::size_t n = remaining;; n >>= 7) {  // Remaining Length
        out.push_back(static_cast<std::uint8_t>((n & 0x7F) | (n > 0x7F ? 0x80 : 0)));
        if (n <= 0x7F) break;
    }
    for (const char c : std::string("\0\3s/n", 5)) out.push_back(static_cast<std::uint8_t>(c));
    if (qos != 0) {
        const auto id = static_cast<std::uint16_t>(1 + seq % 60'000);
        out.push_back(static_cast<std::uint8_t>(id >> 8));
        out.push_back(static_cast<std::uint8_t>(id));
    }
    out.insert(out.end(), payload.begin(), payload.end());
    return out;
}

// Counts the PUBACKs (40 02 ..) in what the client wrote after its CONNECT, packet by packet.
std::size_t count_pubacks(const ByteVector& written) {
    std::size_t count = 0;
    for (std::size_t at = 0; at + 1 < written.size();) {
        std::size_t length = 0;
        std::size_t i = at + 1;
        for (unsigned shift = 0; i < written.size(); shift += 7) {
            length |= std::size_t{written[i] & 0x7Fu} << shift;
            if ((written[i++] & 0x80) == 0) break;
        }
        if (written[at] == 0x40) ++count;
        at = i + length;
    }
    return count;
}

// (1) An endless stream (bounded here: 2,000 PUBLISHes of 1 KB, QoS 0 and 1 alternating, in 20 writes of 100)
// while the message callback sleeps 1 ms per message: the client reads only as fast as it delivers (its
// receive side holds one packet of at most max_message_length), acknowledges every QoS 1 message, and its
// memory stays flat. It keeps working: every message arrives, in order, and close() ends cleanly.
TEST(HostileBroker, EndlessPublishStreamWithSlowCallbackStaysBounded) {
    constexpr std::size_t batches = 20;
    constexpr std::size_t per_batch = 100;
    Script script{peer::expect_packet(0x10), peer::send(peer::connack())};
    for (std::size_t b = 0; b < batches; ++b) {
        ByteVector blob;
        for (std::size_t i = 0; i < per_batch; ++i) {
            const std::size_t seq = b * per_batch + i;
            const auto packet = stream_publish(seq, static_cast<int>(seq % 2), 1000);
            blob.insert(blob.end(), packet.begin(), packet.end());
        }
        script.push_back(peer::send(std::move(blob)));
    }
    script.push_back(peer::expect_close(20'000ms));
    ScriptedPeer peer({script});

    auto o = test_options("hostile-flood");
    o.max_message_length = 2048;
    o.max_buffered_bytes = 64 * 1024;
    Client client(o);
    const long baseline = rss_kib();
    long peak = baseline;
    std::size_t received = 0;
    bool in_order = true;
    client.on_message([&](Client&, const MessageView& m) {
        in_order = in_order && m.payload.substr(0, 8) == std::to_string(100'000'000 + received).substr(1);
        ++received;
        std::this_thread::sleep_for(1ms);  // the slow application
        if (received % 100 == 0) peak = std::max(peak, rss_kib());
    });
    ASSERT_TRUE(connect_and_wait(client, peer.host(), peer.port()));
    ASSERT_TRUE(run_until(client, [&] { return received == batches * per_batch; }, 30'000ms))
        << "received " << received << ", " << client.last_error().message() << "; peer: " << peer.failure();
    EXPECT_TRUE(in_order);
    EXPECT_TRUE(client.is_connected());
    EXPECT_LT(peak - baseline, 16 * kib_per_mib) << "VmRSS grew by " << (peak - baseline) << " KiB";
    std::printf("flood: %zu messages, VmRSS growth %ld KiB\n", received, peak - baseline);
    ASSERT_TRUE(close_and_wait(client));
    ASSERT_TRUE(peer.wait_done(10s)) << peer.failure();
    EXPECT_EQ(count_pubacks(peer.received(0)), batches * per_batch / 2);
}

// (2) A broker that accepts, answers the CONNECT and never reads again: the kernel buffers fill, then the
// client's output; publish() then fails with queue_full instead of growing, within max_buffered_bytes (the
// kernel's socket buffers hold a few MiB more on loopback). close() cannot write its DISCONNECT and still
// ends within connect_write_timeout.
TEST(HostileBroker, BrokerThatNeverReadsMakesPublishFailWithQueueFull) {
    ScriptedPeer peer({{peer::expect_packet(0x10), peer::send(peer::connack()), peer::hold()}});
    auto o = test_options("hostile-noread");
    o.max_buffered_bytes = 256 * 1024;
    o.connect_write_timeout = 500ms;
    Client client(o);
    ASSERT_TRUE(connect_and_wait(client, peer.host(), peer.port()));
    const long baseline = rss_kib();
    const std::string payload(16 * 1024, 'x');
    std::size_t accepted = 0;
    bool refused = false;
    const auto deadline = Clock::now() + 15s;
    for (int i = 0; i < 8000 && !refused && Clock::now() < deadline; ++i) {
        refused = !client.publish("big/t", payload, 0);  // QoS 0: only the write side holds it
        if (!refused) accepted += payload.size();
        client.poll();  // let the transport write what the kernel takes
        if (i % 64 == 63) client.run_for(1ms);
    }
    ASSERT_TRUE(refused) << "accepted " << accepted << " bytes without refusing";
    EXPECT_EQ(client.last_error(), Errc::queue_full);
    EXPECT_LT(accepted, std::size_t{64} << 20);
    EXPECT_LT(rss_kib() - baseline, 32 * kib_per_mib);
    std::printf("never reads: %zu bytes accepted before queue_full, VmRSS growth %ld KiB\n", accepted,
                rss_kib() - baseline);
    // Still refused after a while: nothing drains.
    client.run_for(50ms);
    EXPECT_FALSE(client.publish("big/t", payload, 1));
    const auto closing = Clock::now();
    ASSERT_TRUE(close_and_wait(client));
    EXPECT_LT(Clock::now() - closing, 3s);
}

// (3a) MQTT 5.0 with a Maximum Packet Size: a PUBLISH header announcing 268,435,455 bytes (256 MiB) is refused
// at once: DISCONNECT 0x95 (Packet too large), "offline" with packet_too_large, no 256 MiB allocated.
TEST(HostileBroker, V5HugeRemainingLengthIsRefusedAtTheHeader_MQTT_3_1_2_24) {
    ScriptedPeer peer({{peer::expect_packet(0x10), peer::send(hex("20 03 00 00 00")),
                        peer::send(hex("30 FF FF FF 7F 00 01 74")), peer::expect(hex("E0 01 95")),
                        peer::expect_close()}});
    auto o = test_options("hostile-huge5");
    o.protocol = protocol::ProtocolVersion::v5;
    o.v5.maximum_packet_size = 64 * 1024;
    Client client(o);
    Recorder r;
    r.attach(client);
    const long baseline = rss_kib();
    client.connect(peer.host(), peer.port());
    ASSERT_TRUE(run_until(client, [&] { return r.offlines > 0 || !r.connfails.empty(); }, 5000ms));
    EXPECT_EQ(r.connects, 1);
    EXPECT_EQ(r.offlines, 1);
    EXPECT_EQ(client.last_error(), Errc::packet_too_large);
    EXPECT_EQ(client.last_reason_code(), 0x95);
    EXPECT_TRUE(r.messages.empty());
    EXPECT_TRUE(r.overflows.empty());
    EXPECT_LT(rss_kib() - baseline, 8 * kib_per_mib);
    ASSERT_TRUE(peer.wait_done(5s)) << peer.failure();
    EXPECT_TRUE(peer.matched()) << peer.failure();
}

// (3b) MQTT 3.1.1 (NodeMCU semantics: a PUBLISH above max_message_length is an overflow, its rest skipped
// unbuffered): the 256 MiB announcement allocates only the max_message_length prefix, and a broker that then
// goes silent is caught by the keepalive: PINGREQ unanswered, "offline" with ping_timeout, within seconds.
TEST(HostileBroker, HugeRemainingLengthAt311IsSkippedUnbufferedAndKeepaliveEndsIt) {
    ScriptedPeer peer({{peer::expect_packet(0x10), peer::send(peer::connack()),
                        peer::send(hex("30 FF FF FF 7F 00 01 74 70 70 70")), peer::expect_packet(0xC0),
                        peer::hold()}});
    auto o = test_options("hostile-huge3", 1);
    o.ping_timeout = 500ms;
    Client client(o);
    Recorder r;
    r.attach(client);
    const long baseline = rss_kib();
    const auto start = Clock::now();
    client.connect(peer.host(), peer.port());
    ASSERT_TRUE(run_until(client, [&] { return r.offlines > 0 || !r.connfails.empty(); }, 6000ms));
    EXPECT_LT(Clock::now() - start, 4s);
    EXPECT_EQ(r.offlines, 1);
    EXPECT_EQ(client.last_error(), Errc::ping_timeout);
    EXPECT_TRUE(r.overflows.empty());  // the packet never completed
    EXPECT_LT(rss_kib() - baseline, 8 * kib_per_mib);
}

// (4a) A CONNACK trickled one byte per second: the connack timeout (1.5 s) fires, connfail -2, no hang.
TEST(HostileBroker, TrickledConnackEndsWithConnackTimeout) {
    Script script{peer::expect_packet(0x10)};
    for (const std::uint8_t b : peer::connack()) {
        script.push_back(peer::send({b}));
        script.push_back(peer::silence(1000ms));
    }
    ScriptedPeer peer({script});
    auto o = test_options("hostile-trickle-connack");
    o.connack_timeout = 1500ms;
    Client client(o);
    Recorder r;
    r.attach(client);
    const auto start = Clock::now();
    client.connect(peer.host(), peer.port());
    ASSERT_TRUE(run_until(client, [&] { return r.connects > 0 || !r.connfails.empty(); }, 6000ms));
    const auto took = Clock::now() - start;
    EXPECT_EQ(r.connects, 0);
    EXPECT_EQ(r.connfails, std::vector<int>{static_cast<int>(ConnFail::timeout_receiving)});
    EXPECT_EQ(client.last_error(), Errc::connack_timeout);
    EXPECT_GE(took, 1400ms);
    EXPECT_LT(took, 3s);
}

// (4b) After the CONNACK, a PUBLISH trickled one byte per second: bytes keep arriving, but no whole packet,
// so the PINGREQ sent after the keepalive (1 s) is never answered: "offline" with ping_timeout in about
// keepalive + ping_timeout, not after the 10 s the trickle would take.
TEST(HostileBroker, TrickledPublishEndsWithPingTimeout) {
    Script script{peer::expect_packet(0x10), peer::send(peer::connack())};
    for (const std::uint8_t b : hex("30 0A 00 03 61 2F 62 68 65 6C 6C 6F")) {
        script.push_back(peer::send({b}));
        script.push_back(peer::silence(1000ms));
    }
    ScriptedPeer peer({script});
    auto o = test_options("hostile-trickle-publish", 1);
    o.ping_timeout = 1000ms;
    Client client(o);
    Recorder r;
    r.attach(client);
    const auto start = Clock::now();
    client.connect(peer.host(), peer.port());
    ASSERT_TRUE(run_until(client, [&] { return r.offlines > 0 || !r.connfails.empty(); }, 8000ms));
    const auto took = Clock::now() - start;
    EXPECT_EQ(r.connects, 1);
    EXPECT_EQ(r.offlines, 1);
    EXPECT_EQ(client.last_error(), Errc::ping_timeout);
    EXPECT_TRUE(r.messages.empty());
    EXPECT_LT(took, 4s);
}

}  // namespace
}  // namespace nmqtt::test
