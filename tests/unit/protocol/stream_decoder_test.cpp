// StreamDecoder: every split point, zero-copy, one allocation per spanning packet, allocation failure,
// max_message_length overflow (NodeMCU semantics), and the failed state.
#include <gtest/gtest.h>

#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "codec_check.hpp"
#include "nmqtt/protocol/stream_decoder.hpp"

namespace nmqtt::test {
namespace {

using protocol::Publish;
using protocol::StreamDecoder;
using Kind = StreamDecoder::Kind;

// One packet of each of the 14 types, hand-written (see the per-type tests for the byte annotations).
const auto all_types_stream = hex(
    "10 0E 00 04 4D 51 54 54 04 02 00 3C 00 02 61 62"  // CONNECT "ab", keep alive 60, clean
    "20 02 01 00"                                      // CONNACK session present
    "30 07 00 03 61 2F 62 68 69"                       // PUBLISH QoS 0 "a/b" "hi"
    "3B 08 00 03 61 2F 62 12 34 78"                    // PUBLISH DUP QoS 1 RETAIN id 0x1234 "x"
    "40 02 12 34"                                      // PUBACK 0x1234
    "50 02 00 01"                                      // PUBREC 1
    "62 02 00 01"                                      // PUBREL 1
    "70 02 00 01"                                      // PUBCOMP 1
    "82 0C 00 0A 00 03 61 2F 2B 01 00 01 23 02"        // SUBSCRIBE 10 "a/+" 1, "#" 2
    "90 05 00 0A 01 02 80"                             // SUBACK 10: 01 02 80
    "A2 0A 00 0B 00 03 61 2F 2B 00 01 23"              // UNSUBSCRIBE 11 "a/+" "#"
    "B0 02 00 0B"                                      // UNSUBACK 11
    "C0 00"                                            // PINGREQ
    "D0 00"                                            // PINGRESP
    "E0 00"                                            // DISCONNECT
    "34 05 00 01 74 00 02");                           // PUBLISH QoS 2 "t" id 2, empty payload

const std::vector<std::string> all_types_expected = {
    "CONNECT id=\"ab\" ka=60 clean=1",
    "CONNACK sp=1 rc=0",
    "PUBLISH q0 r0 d0 id=0 topic=\"a/b\" payload=<68 69>",
    "PUBLISH q1 r1 d1 id=4660 topic=\"a/b\" payload=<78>",
    "PUBACK 4660",
    "PUBREC 1",
    "PUBREL 1",
    "PUBCOMP 1",
    "SUBSCRIBE 10 \"a/+\":q1 \"#\":q2",
    "SUBACK 10 01 02 80",
    "UNSUBSCRIBE 11 \"a/+\" \"#\"",
    "UNSUBACK 11",
    "PINGREQ",
    "PINGRESP",
    "DISCONNECT",
    "PUBLISH q2 r0 d0 id=2 topic=\"t\" payload=<>",
};

std::string describe_step(const StreamDecoder::Step& step) {
    switch (step.kind) {
        case Kind::packet: return describe(step.packet);
        case Kind::overflow: return "OVERFLOW total=" + std::to_string(step.total_size) + " " + describe(step.packet);
        case Kind::error: return "ERROR " + step.error.message();
        case Kind::need_more: break;
    }
    return "NEED_MORE";
}

// Feeds `chunks` in order, checking the feed() contract on every call, and describes every result.
// Stops at the first error.
std::vector<std::string> run(StreamDecoder& decoder, const std::vector<Bytes>& chunks) {
    std::vector<std::string> out;
    for (Bytes chunk : chunks) {
        for (;;) {
            const auto step = decoder.feed(chunk);
            EXPECT_LE(step.consumed, chunk.size());
            if (step.kind == Kind::need_more) {
                EXPECT_EQ(step.consumed, chunk.size()) << "need_more must use up the input";
                break;
            }
            out.push_back(describe_step(step));
            if (step.kind == Kind::error) return out;
            EXPECT_GT(step.consumed, 0u) << "a packet cannot complete without consuming a byte";
            chunk = chunk.subspan(step.consumed);
            if (chunk.empty()) break;
        }
    }
    return out;
}

std::vector<std::string> run_whole(StreamDecoder& decoder, Bytes input) { return run(decoder, {input}); }

std::vector<std::string> run_split(StreamDecoder& decoder, Bytes input, std::size_t at) {
    return run(decoder, {input.first(at), input.subspan(at)});
}

std::vector<std::string> run_bytewise(StreamDecoder& decoder, Bytes input) {
    std::vector<Bytes> chunks;
    for (std::size_t i = 0; i < input.size(); ++i) chunks.push_back(input.subspan(i, 1));
    return run(decoder, chunks);
}

bool points_into(std::string_view view, Bytes input) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(view.data());
    return p >= input.data() && p + view.size() <= input.data() + input.size();
}

// ---- counting allocator ------------------------------------------------------------------------------

struct AllocStats {
    std::size_t allocations = 0;
    std::size_t frees = 0;
    std::size_t last_size = 0;
    std::size_t failures = 0;
    std::size_t fail_at = 0;  ///< 1-based index of the allocation to fail; 0: never
    bool fail_all = false;
};
AllocStats stats;

std::uint8_t* counting_allocate(std::size_t size) {
    ++stats.allocations;
    stats.last_size = size;
    if (stats.fail_all || stats.allocations == stats.fail_at) {
        ++stats.failures;
        return nullptr;
    }
    return static_cast<std::uint8_t*>(std::malloc(size == 0 ? 1 : size));
}

void counting_deallocate(std::uint8_t* p) {
    ++stats.frees;
    std::free(p);
}

StreamDecoder::Options counting_options(std::size_t max_message_length = 1024) {
    StreamDecoder::Options o;
    o.max_message_length = max_message_length;
    o.allocate = counting_allocate;
    o.deallocate = counting_deallocate;
    return o;
}

class StreamDecoderAlloc : public ::testing::Test {
protected:
    void SetUp() override { stats = AllocStats{}; }
    void TearDown() override { EXPECT_EQ(stats.frees, stats.allocations - stats.failures) << "leaked buffers"; }
};

// ---- every packet type, every segmentation -----------------------------------------------------------

TEST(StreamDecoder, all_types_in_one_chunk) {
    StreamDecoder d;
    EXPECT_EQ(run_whole(d, all_types_stream), all_types_expected);
}

TEST(StreamDecoder, MQTT_6_0_0_2_all_types_split_at_every_point) {
    for (std::size_t at = 0; at <= all_types_stream.size(); ++at) {
        SCOPED_TRACE(at);
        StreamDecoder d;
        ASSERT_EQ(run_split(d, all_types_stream, at), all_types_expected);
    }
}

TEST(StreamDecoder, all_types_split_at_every_pair_of_points) {
    const Bytes in = all_types_stream;
    for (std::size_t a = 0; a <= in.size(); ++a) {
        for (std::size_t b = a; b <= in.size(); ++b) {
            StreamDecoder d;
            const auto got = run(d, {in.first(a), in.subspan(a, b - a), in.subspan(b)});
            ASSERT_EQ(got, all_types_expected) << "cut at " << a << " and " << b;
        }
    }
}

TEST(StreamDecoder, all_types_one_byte_at_a_time) {
    StreamDecoder d;
    EXPECT_EQ(run_bytewise(d, all_types_stream), all_types_expected);
}

TEST(StreamDecoder, empty_input_needs_more) {
    StreamDecoder d;
    const auto step = d.feed({});
    EXPECT_EQ(step.kind, Kind::need_more);
    EXPECT_EQ(step.consumed, 0u);
}

TEST(StreamDecoder, one_packet_per_call) {
    StreamDecoder d;
    const auto in = hex("D0 00 D0 00 E0 00");
    auto step = d.feed(in);
    EXPECT_EQ(step.kind, Kind::packet);
    EXPECT_EQ(step.consumed, 2u);
    step = d.feed(Bytes(in).subspan(2));
    EXPECT_EQ(step.kind, Kind::packet);
    EXPECT_EQ(step.consumed, 2u);
}

TEST(StreamDecoder, many_packets_in_one_chunk) {
    std::vector<std::uint8_t> in;
    std::vector<std::string> expected;
    for (int i = 1; i <= 500; ++i) {
        const auto id = static_cast<std::uint8_t>(i % 250 + 1);
        in.insert(in.end(), {0x40, 0x02, 0x00, id});
        expected.push_back("PUBACK " + std::to_string(id));
    }
    StreamDecoder d;
    EXPECT_EQ(run_whole(d, in), expected);
}

// ---- zero-copy and allocation --------------------------------------------------------------------------

TEST_F(StreamDecoderAlloc, whole_packets_are_zero_copy_and_allocate_nothing) {
    StreamDecoder d(counting_options());
    Bytes in = all_types_stream;
    std::size_t publishes = 0;
    while (!in.empty()) {
        const auto step = d.feed(in);
        ASSERT_EQ(step.kind, Kind::packet);
        if (const auto* p = std::get_if<Publish>(&step.packet)) {
            ++publishes;
            EXPECT_TRUE(points_into(p->topic, in.first(step.consumed)));
            EXPECT_TRUE(points_into(p->payload, in.first(step.consumed)));
        }
        if (const auto* s = std::get_if<protocol::Suback>(&step.packet)) {
            EXPECT_TRUE(points_into({reinterpret_cast<const char*>(s->return_codes.data()), s->return_codes.size()},
                                    in.first(step.consumed)));
        }
        in = in.subspan(step.consumed);
    }
    EXPECT_EQ(publishes, 3u);
    EXPECT_EQ(stats.allocations, 0u);
    EXPECT_EQ(d.buffer_capacity(), 0u);
}

TEST_F(StreamDecoderAlloc, spanning_packet_allocates_once_and_buffer_is_reused) {
    const std::string payload(300, 'p');
    const auto packet = cat(hex("30 B1 02 00 03 61 2F 62"), bytes_of(payload));  // remaining length 305
    ASSERT_EQ(packet.size(), 308u);
    {
        StreamDecoder d(counting_options());
        // Split inside the body (buffered), then inside the header (the body is whole in the second chunk:
        // decoded in place), then one byte at a time: one allocation in all.
        for (std::size_t at : {std::size_t{100}, std::size_t{2}, std::size_t{307}, std::size_t{1}, std::size_t{3}}) {
            SCOPED_TRACE(at);
            const Bytes in = packet;
            auto step = d.feed(in.first(at));
            EXPECT_EQ(step.kind, Kind::need_more);
            const Bytes second = in.subspan(at);
            step = d.feed(second);
            ASSERT_EQ(step.kind, Kind::packet);
            const auto& p = std::get<Publish>(step.packet);
            EXPECT_EQ(p.payload, payload);
            if (at < 3) {  // the header was cut: the body lies whole in the second chunk
                EXPECT_TRUE(points_into(p.topic, second));
                EXPECT_TRUE(points_into(p.payload, second));
            } else if (at > 3) {  // the body was cut: it was buffered
                EXPECT_FALSE(points_into(p.payload, second));
            }  // at == 3 (header whole, no body byte yet): either is allowed
            EXPECT_EQ(stats.allocations, 1u);
        }
        EXPECT_GE(d.buffer_capacity(), 305u);
        EXPECT_EQ(run_bytewise(d, packet).size(), 1u);
        EXPECT_EQ(stats.allocations, 1u);
        // A bigger spanning packet needs one more allocation.
        const std::string bigger(600, 'q');
        const auto big = cat(hex("30 DD 04 00 03 61 2F 62"), bytes_of(bigger));  // remaining length 605
        EXPECT_EQ(run_split(d, big, 10).size(), 1u);
        EXPECT_EQ(stats.allocations, 2u);
    }
    EXPECT_EQ(stats.frees, 2u);
}

TEST_F(StreamDecoderAlloc, MQTT_4_8_0_2_allocation_failure_is_an_error) {
    stats.fail_all = true;
    StreamDecoder d(counting_options());
    const auto packet = hex("30 07 00 03 61 2F 62 68 69");
    auto step = d.feed(Bytes(packet).first(4));
    ASSERT_EQ(step.kind, Kind::error);
    EXPECT_EQ(step.error, err(Errc::allocation_failed));
    // Stays failed, even for input that would otherwise decode in place.
    step = d.feed(hex("D0 00"));
    EXPECT_EQ(step.kind, Kind::error);
    // reset() recovers.
    d.reset();
    stats.fail_all = false;
    EXPECT_EQ(run_split(d, packet, 4), std::vector<std::string>{"PUBLISH q0 r0 d0 id=0 topic=\"a/b\" payload=<68 69>"});
}

TEST_F(StreamDecoderAlloc, MQTT_4_8_0_2_every_allocation_failure_in_an_overflow) {
    const std::string payload(2000, 'z');
    const auto packet = cat(hex("32 D7 0F 00 03 61 2F 62 00 07"), bytes_of(payload));  // QoS 1, rl 2007
    for (std::size_t n = 1;; ++n) {
        SCOPED_TRACE(n);
        ASSERT_LT(n, 10u);
        stats = AllocStats{};
        stats.fail_at = n;
        StreamDecoder d(counting_options(100));
        const auto got = run_bytewise(d, packet);
        ASSERT_EQ(got.size(), 1u);
        if (got[0].rfind("OVERFLOW", 0) == 0) break;  // no n-th allocation: success
        EXPECT_EQ(got[0], "ERROR " + err(Errc::allocation_failed).message());
    }
}

// ---- errors ----------------------------------------------------------------------------------------------

TEST(StreamDecoder, MQTT_4_8_0_1_error_at_every_split_point_then_stays_failed) {
    const auto in = cat(hex("D0 00"),          // PINGRESP
                        hex("41 02 00 01"),    // PUBACK with reserved flags 0001
                        hex("D0 00"));         // never reached
    const std::vector<std::string> expected = {"PINGRESP", "ERROR " + err(Errc::bad_flags).message()};
    for (std::size_t at = 0; at <= in.size(); ++at) {
        SCOPED_TRACE(at);
        StreamDecoder d;
        ASSERT_EQ(run_split(d, in, at), expected);
        const auto again = d.feed(hex("D0 00"));
        EXPECT_EQ(again.kind, Kind::error) << "the decoder must stay failed until reset()";
        d.reset();
        EXPECT_EQ(run_whole(d, hex("D0 00")), std::vector<std::string>{"PINGRESP"});
    }
}

TEST(StreamDecoder, malformed_packets_give_their_specific_error) {
    struct Case {
        const char* wire;
        Errc error;
    };
    const Case cases[] = {
        {"41 02 00 01", Errc::bad_flags},
        {"60 02 00 01", Errc::bad_flags},
        {"30 FF FF FF FF 01", Errc::bad_remaining_length},
        {"40 03 00 01 00", Errc::bad_remaining_length},
        {"36 07 00 03 61 2F 62 00 01", Errc::bad_qos},
        {"32 07 00 03 61 2F 62 00 00", Errc::zero_packet_id},
        {"90 03 00 01 03", Errc::bad_suback_code},
        {"90 03 00 00 00", Errc::zero_packet_id},
        {"20 02 02 00", Errc::bad_connack},
        {"20 02 00 06", Errc::bad_connack},
        {"00 00", Errc::bad_packet_type},
        {"F0 00", Errc::bad_packet_type},
        {"30 04 00 02 61 FF", Errc::bad_utf8},
        {"30 05 00 03 61 2F 23", Errc::bad_topic_name},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.wire);
        const auto wire = hex(c.wire);
        for (std::size_t at = 0; at <= wire.size(); ++at) {
            StreamDecoder d;
            ASSERT_EQ(run_split(d, wire, at), std::vector<std::string>{"ERROR " + err(c.error).message()})
                << "split at " << at;
        }
    }
}

TEST(StreamDecoder, control_packet_above_its_bound_is_an_error) {
    StreamDecoder::Options o;
    o.max_control_packet_length = 10;
    StreamDecoder d(o);
    // SUBACK of 10 codes: 12 bytes > 10. The error comes from the header, before the body arrives.
    const auto step = d.feed(hex("90 0C 00 01"));
    ASSERT_EQ(step.kind, Kind::error);
    EXPECT_EQ(step.error, err(Errc::packet_too_large));
    // A SUBACK of exactly 10 bytes is fine.
    StreamDecoder d2(o);
    EXPECT_EQ(run_whole(d2, hex("90 08 00 01 00 00 00 00 00 00")), std::vector<std::string>{"SUBACK 1 00 00 00 00 00 00"});
}

// The hard bound (MQTT 5.0 Maximum Packet Size): a PUBLISH announcing 268,435,455 bytes (256 MiB) is refused
// by its 5 header bytes, at every split of them, with no allocation; at the bound exactly it decodes.
TEST_F(StreamDecoderAlloc, MQTT_3_1_2_24_max_packet_size_refuses_at_the_header_without_allocating) {
    auto o = counting_options();
    o.max_packet_size = 16;
    o.version = protocol::ProtocolVersion::v5;
    const auto huge = hex("30 FF FF FF 7F 00 01 74");
    for (std::size_t at = 1; at <= 5; ++at) {
        SCOPED_TRACE(at);
        StreamDecoder d(o);
        const Bytes in = huge;
        auto step = d.feed(in.first(at));
        if (at < 5) {
            ASSERT_EQ(step.kind, Kind::need_more);
            step = d.feed(in.subspan(at));
        }
        ASSERT_EQ(step.kind, Kind::error);
        EXPECT_EQ(step.error, err(Errc::packet_too_large));
        EXPECT_LE(step.consumed, 5u);
    }
    EXPECT_EQ(stats.allocations, 0u);
    StreamDecoder d(o);
    const auto sixteen = hex("30 0E 00 01 74 00 30 31 32 33 34 35 36 37 38 39");  // 16 bytes, no properties
    ASSERT_EQ(sixteen.size(), 16u);
    EXPECT_EQ(d.feed(sixteen).kind, Kind::packet);
}

// ---- max_message_length overflow ---------------------------------------------------------------------

// A PUBLISH of topic "a/b" with `payload_size` payload bytes 0, 1, 2, ... (mod 251) at the given QoS.
std::vector<std::uint8_t> make_publish(std::size_t payload_size, QoS qos, std::uint16_t id = 0x0102) {
    const std::size_t vh = 5 + (qos == QoS::at_most_once ? 0 : 2);
    const auto rl = static_cast<std::uint32_t>(vh + payload_size);
    std::vector<std::uint8_t> out{static_cast<std::uint8_t>(0x30 | (static_cast<unsigned>(qos) << 1))};
    std::uint8_t len[4];
    const auto n = protocol::encode_remaining_length(rl, len);  // checked by remaining_length_test
    out.insert(out.end(), len, len + n);
    out.insert(out.end(), {0x00, 0x03, 'a', '/', 'b'});
    if (qos != QoS::at_most_once) out.insert(out.end(), {static_cast<std::uint8_t>(id >> 8), static_cast<std::uint8_t>(id)});
    for (std::size_t i = 0; i < payload_size; ++i) out.push_back(static_cast<std::uint8_t>(i % 251));
    return out;
}

std::string payload_bytes(std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s.push_back(static_cast<char>(i % 251));
    return s;
}

std::string expected_publish(QoS qos, std::size_t payload_size, std::uint16_t id = 0x0102) {
    const auto payload = payload_bytes(payload_size);
    return describe(Publish{"a/b", payload, qos, false, false, qos == QoS::at_most_once ? PacketId{0} : id});
}

std::string expected_overflow(QoS qos, std::size_t total, std::size_t kept, std::uint16_t id = 0x0102) {
    return "OVERFLOW total=" + std::to_string(total) + " " + expected_publish(qos, kept, id);
}

TEST(StreamDecoderOverflow, NodeMCU_limit_counts_the_whole_packet_at_every_split) {
    constexpr std::size_t max = 200;
    for (QoS qos : {QoS::at_most_once, QoS::at_least_once, QoS::exactly_once}) {
        for (std::size_t size : {max - 1, max, max + 1, max + 2, 3 * max}) {
            SCOPED_TRACE("qos " + std::to_string(static_cast<int>(qos)) + " packet size " + std::to_string(size));
            // Every size here has a remaining length of 2 bytes: fixed header 3, variable header 5 or 7.
            const std::size_t payload = size - 3 - (qos == QoS::at_most_once ? 5 : 7);
            const auto packet = make_publish(payload, qos);
            ASSERT_EQ(packet.size(), size);
            const auto tail = hex("B0 02 00 2A");  // UNSUBACK 42 follows and decodes normally
            const auto in = cat(packet, tail);
            const std::size_t fixed_and_variable = packet.size() - payload;
            std::vector<std::string> expected;
            if (size <= max) {
                expected.push_back(expected_publish(qos, payload));
            } else {
                expected.push_back(expected_overflow(qos, size, max - fixed_and_variable));
            }
            expected.push_back("UNSUBACK 42");
            for (std::size_t at = 0; at <= in.size(); ++at) {
                StreamDecoder::Options o;
                o.max_message_length = max;
                StreamDecoder d(o);
                ASSERT_EQ(run_split(d, in, at), expected) << "split at " << at;
            }
            StreamDecoder::Options o;
            o.max_message_length = max;
            StreamDecoder d(o);
            ASSERT_EQ(run_bytewise(d, in), expected);
        }
    }
}

TEST(StreamDecoderOverflow, NodeMCU_default_1024_with_a_large_message) {
    const auto packet = make_publish(5000, QoS::at_least_once, 77);  // rl 5007: 2 length bytes
    const std::size_t headers = 1 + 2 + 5 + 2;
    StreamDecoder d;  // default max_message_length 1024
    EXPECT_EQ(d.max_message_length(), 1024u);
    const auto got = run(d, {Bytes(packet).first(1460), Bytes(packet).subspan(1460, 1460), Bytes(packet).subspan(2920)});
    EXPECT_EQ(got, std::vector<std::string>{expected_overflow(QoS::at_least_once, packet.size(), 1024 - headers, 77)});
    EXPECT_LE(d.buffer_capacity(), 1024u) << "an overflowing message is not stored whole";
}

TEST(StreamDecoderOverflow, whole_oversized_packet_in_one_chunk) {
    const auto packet = make_publish(100, QoS::exactly_once, 9);
    StreamDecoder::Options o;
    o.max_message_length = 50;
    StreamDecoder d(o);
    const auto step = d.feed(packet);
    ASSERT_EQ(step.kind, Kind::overflow);
    EXPECT_EQ(step.consumed, packet.size());
    EXPECT_EQ(step.total_size, packet.size());
    const auto& p = std::get<Publish>(step.packet);
    EXPECT_EQ(p.topic, "a/b");
    EXPECT_EQ(p.packet_id, 9);
    EXPECT_EQ(p.qos, QoS::exactly_once);
    EXPECT_EQ(p.payload, payload_bytes(50 - 9));
}

TEST(StreamDecoderOverflow, limit_below_the_headers_still_yields_topic_and_id) {
    const auto packet = make_publish(40, QoS::at_least_once, 5);
    for (std::size_t max : {std::size_t{0}, std::size_t{1}, std::size_t{4}, std::size_t{9}}) {
        SCOPED_TRACE(max);
        StreamDecoder::Options o;
        o.max_message_length = max;
        for (std::size_t at = 0; at <= packet.size(); ++at) {
            StreamDecoder d(o);
            ASSERT_EQ(run_split(d, packet, at),
                      std::vector<std::string>{expected_overflow(QoS::at_least_once, packet.size(), 0, 5)});
        }
    }
}

TEST(StreamDecoderOverflow, oversized_publish_with_bad_topic_is_an_error) {
    StreamDecoder::Options o;
    o.max_message_length = 10;
    StreamDecoder d(o);
    auto packet = make_publish(50, QoS::at_least_once);
    packet[6] = '#';  // topic "a/#"
    EXPECT_EQ(run_bytewise(d, packet), std::vector<std::string>{"ERROR " + err(Errc::bad_topic_name).message()});
}

TEST(StreamDecoderOverflow, no_limit) {
    StreamDecoder::Options o;
    o.max_message_length = std::numeric_limits<std::size_t>::max();
    StreamDecoder d(o);
    const auto packet = make_publish(70'000, QoS::at_most_once);
    EXPECT_EQ(run_split(d, packet, 1000), std::vector<std::string>{expected_publish(QoS::at_most_once, 70'000)});
}

TEST(StreamDecoderOverflow, set_max_message_length_applies_to_the_next_packet) {
    StreamDecoder d;
    const auto packet = make_publish(100, QoS::at_most_once);
    EXPECT_EQ(run_whole(d, packet), std::vector<std::string>{expected_publish(QoS::at_most_once, 100)});
    d.set_max_message_length(50);
    EXPECT_EQ(d.max_message_length(), 50u);
    EXPECT_EQ(run_whole(d, packet),
              std::vector<std::string>{expected_overflow(QoS::at_most_once, packet.size(), 50 - 7)});
}

TEST(StreamDecoderOverflow, reset_forgets_a_partial_packet) {
    StreamDecoder d;
    const auto packet = make_publish(100, QoS::at_most_once);
    EXPECT_EQ(d.feed(Bytes(packet).first(50)).kind, Kind::need_more);
    d.reset();
    EXPECT_EQ(run_whole(d, hex("D0 00")), std::vector<std::string>{"PINGRESP"});
}

// A buffer grown for one large spanning message is freed when the next packet starts (bounded memory);
// a usual-sized one is kept (steady traffic allocates nothing).
TEST(StreamDecoder, a_buffer_grown_for_a_large_message_is_not_kept) {
    StreamDecoder decoder(StreamDecoder::Options{std::numeric_limits<std::size_t>::max(), 1u << 20, nullptr, nullptr});
    const std::string big(300 * 1024, 'b');
    std::vector<std::uint8_t> wire(big.size() + 16);
    wire.resize(*protocol::encode(Publish{"t", big, QoS::at_most_once, false, false, 0}, wire));
    const auto first = decoder.feed(Bytes{wire}.first(100));  // spans chunks: one allocation of its size
    ASSERT_EQ(first.kind, Kind::need_more);
    EXPECT_GE(decoder.buffer_capacity(), big.size());
    const auto rest = decoder.feed(Bytes{wire}.subspan(100));
    ASSERT_EQ(rest.kind, Kind::packet);
    EXPECT_EQ(std::get<Publish>(rest.packet).payload.size(), big.size());
    const auto ping = hex("D0 00");
    EXPECT_EQ(decoder.feed(ping).kind, Kind::packet);
    EXPECT_EQ(decoder.buffer_capacity(), 0U);
}

}  // namespace
}  // namespace nmqtt::test
