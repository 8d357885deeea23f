// Property test: random valid packets of all 14 types, encoded then decoded (whole and streamed), equal.
// Fixed seed, so a failure reproduces; the iteration number is printed.
#include <gtest/gtest.h>

#include <array>
#include <deque>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "codec_check.hpp"
#include "nmqtt/protocol/stream_decoder.hpp"
#include "nmqtt/protocol/topic.hpp"

namespace nmqtt::test {
namespace {

using namespace protocol;

class Generator {
public:
    explicit Generator(std::uint32_t seed) : rng_(seed) {}

    std::size_t below(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }
    bool coin() { return below(2) == 0; }
    QoS qos() { return static_cast<QoS>(below(3)); }
    PacketId id() { return static_cast<PacketId>(1 + below(65535)); }

    /// A valid UTF-8 string without wildcards; may contain '/', '$', U+FEFF and 2-, 3- and 4-byte chars.
    std::string_view name(std::size_t min_pieces, std::size_t max_pieces) {
        static constexpr std::array<const char*, 12> pieces = {
            "a", "b", "/", "Z", "0", " ", "$", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xEF\xBB\xBF", "~"};
        std::string s;
        const std::size_t n = min_pieces + below(max_pieces - min_pieces + 1);
        for (std::size_t i = 0; i < n; ++i) s += pieces[below(pieces.size())];
        return keep(std::move(s));
    }

    /// A valid topic filter: levels that are words or '+', optionally ending in '#'.
    std::string_view filter() {
        std::string s;
        const std::size_t levels = 1 + below(4);
        for (std::size_t i = 0; i < levels; ++i) {
            if (i != 0) s += '/';
            if (below(4) == 0) {
                s += '+';
            } else {
                s += name(0, 3);
                strings_.pop_back();
            }
        }
        if (below(4) == 0) s += s.empty() ? "#" : "/#";
        if (s.empty()) s = "x";
        return keep(std::move(s));
    }

    /// Any bytes; usually short, sometimes long enough for 2- and 3-byte remaining lengths.
    std::string_view binary() {
        const std::size_t n = below(10) == 0 ? below(20'000) : below(200);
        std::string s(n, '\0');
        for (auto& c : s) c = static_cast<char>(below(256));
        return keep(std::move(s));
    }

    Packet packet(std::size_t type) {
        switch (type) {
            case 1: return connect();
            case 2: {
                const auto rc = static_cast<std::uint8_t>(below(6));
                return Connack{rc == 0 && coin(), rc};
            }
            case 3: return publish();
            case 4: return Puback{id()};
            case 5: return Pubrec{id()};
            case 6: return Pubrel{id()};
            case 7: return Pubcomp{id()};
            case 8: return subscribe();
            case 9: return suback();
            case 10: return unsubscribe();
            case 11: return Unsuback{id()};
            case 12: return Pingreq{};
            case 13: return Pingresp{};
            default: return Disconnect{};
        }
    }

private:
    std::string_view keep(std::string s) {
        strings_.push_back(std::move(s));
        return strings_.back();
    }

    Connect connect() {
        Connect c;
        c.client_id = name(0, 8);
        c.keepalive = static_cast<std::uint16_t>(below(65536));
        c.clean_session = coin();
        if (coin()) c.will = Will{name(1, 6), binary(), qos(), coin()};
        if (coin()) {
            c.username = name(0, 5);
            if (coin()) c.password = binary();
        }
        return c;
    }

    Publish publish() {
        Publish p;
        p.topic = name(1, 10);
        p.payload = binary();
        p.qos = qos();
        p.retain = coin();
        if (p.qos != QoS::at_most_once) {
            p.packet_id = id();
            p.dup = coin();
        }
        return p;
    }

    Subscribe subscribe() {
        entries_.emplace_back();
        auto& entries = entries_.back();
        const std::size_t n = 1 + below(5);
        for (std::size_t i = 0; i < n; ++i) entries.push_back({filter(), qos()});
        Subscribe s;
        s.packet_id = id();
        s.entries = entries;
        return s;
    }

    Suback suback() {
        static constexpr std::array<std::uint8_t, 4> legal = {0x00, 0x01, 0x02, 0x80};
        codes_.emplace_back();
        auto& codes = codes_.back();
        const std::size_t n = 1 + below(8);
        for (std::size_t i = 0; i < n; ++i) codes.push_back(legal[below(legal.size())]);
        return Suback{id(), codes};
    }

    Unsubscribe unsubscribe() {
        filters_.emplace_back();
        auto& filters = filters_.back();
        const std::size_t n = 1 + below(5);
        for (std::size_t i = 0; i < n; ++i) filters.push_back(filter());
        Unsubscribe u;
        u.packet_id = id();
        u.filters = filters;
        return u;
    }

    std::mt19937 rng_;
    // Deques: growing them never moves the elements the generated views point into.
    std::deque<std::string> strings_;
    std::deque<std::vector<SubscribeEntry>> entries_;
    std::deque<std::vector<std::string_view>> filters_;
    std::deque<std::vector<std::uint8_t>> codes_;
};

TEST(Roundtrip, random_packets_of_every_type) {
    Generator gen(20241127);
    std::array<int, 15> per_type{};
    for (int i = 0; i < 5000; ++i) {
        SCOPED_TRACE("iteration " + std::to_string(i));
        const std::size_t type = 1 + static_cast<std::size_t>(i % 14);
        const Packet original = gen.packet(type);
        const std::string expected = describe(original);

        std::vector<std::uint8_t> wire;
        ASSERT_FALSE(encode_append(original, wire)) << expected;
        const auto size = encoded_size(original);
        ASSERT_TRUE(size.has_value());
        ASSERT_EQ(*size, wire.size());
        EXPECT_EQ(wire[0] >> 4, static_cast<int>(type));

        const auto decoded = decode_packet(wire);
        ASSERT_TRUE(decoded.has_value()) << expected << ": " << decoded.error().message();
        ASSERT_EQ(describe(*decoded), expected);

        // Re-encoding the decoded packet gives the same bytes.
        std::vector<std::uint8_t> again;
        ASSERT_FALSE(encode_append(*decoded, again));
        ASSERT_TRUE(bytes_equal(again, wire));

        // Streamed at a random split point, without a size limit.
        StreamDecoder::Options o;
        o.max_message_length = std::numeric_limits<std::size_t>::max();
        StreamDecoder d(o);
        const std::size_t at = gen.below(wire.size() + 1);
        const Bytes in = wire;
        auto step = d.feed(in.first(at));
        if (step.kind == StreamDecoder::Kind::need_more) {
            ASSERT_EQ(step.consumed, at);
            step = d.feed(in.subspan(at));
            ASSERT_EQ(step.consumed, wire.size() - at);
        } else {
            ASSERT_EQ(step.consumed, wire.size());
        }
        ASSERT_EQ(step.kind, StreamDecoder::Kind::packet) << step.error.message();
        ASSERT_EQ(describe(step.packet), expected);
        ++per_type[type];
    }
    for (std::size_t t = 1; t <= 14; ++t) EXPECT_GT(per_type[t], 300) << "type " << t;
}

TEST(Roundtrip, generated_topics_and_filters_are_valid_and_match) {
    Generator gen(7);
    for (int i = 0; i < 2000; ++i) {
        const auto topic = gen.name(1, 10);
        ASSERT_FALSE(validate_topic_name(topic)) << topic;
        ASSERT_FALSE(validate_topic_filter(topic)) << topic;  // a valid name is a valid filter
        if (topic[0] != '$') {
            EXPECT_TRUE(topic_matches("#", topic)) << topic;
        } else {
            EXPECT_FALSE(topic_matches("#", topic)) << topic;
        }
        EXPECT_TRUE(topic_matches(topic, topic)) << topic;
        const auto filter = gen.filter();
        ASSERT_FALSE(validate_topic_filter(filter)) << filter;
    }
}

}  // namespace
}  // namespace nmqtt::test
