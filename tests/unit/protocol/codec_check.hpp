// Shared checks of the protocol unit tests: encode against golden bytes (exact buffer, one byte short, guard
// bytes, append), decode golden bytes (whole-packet and header parsers), and expected error codes.
#pragma once

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>
#include <vector>

#include "nmqtt/error.hpp"
#include "nmqtt/protocol/decode.hpp"
#include "nmqtt/protocol/encode.hpp"
#include "nmqtt/protocol/packets.hpp"
#include "support/bytes.hpp"

namespace nmqtt::test {

inline constexpr std::size_t guard_size = 16;
inline constexpr std::uint8_t guard_byte = 0xA5;

/// True when every byte of `buffer` outside [from, from + n) still holds the guard pattern.
inline ::testing::AssertionResult guards_intact(const std::vector<std::uint8_t>& buffer, std::size_t from,
                                                std::size_t n) {
    for (std::size_t i = 0; i < buffer.size(); ++i) {
        if ((i < from || i >= from + n) && buffer[i] != guard_byte) {
            return ::testing::AssertionFailure() << "guard byte at buffer offset " << i << " was overwritten";
        }
    }
    return ::testing::AssertionSuccess();
}

/// Encodes `packet` every way the API allows and compares with `golden`:
/// encoded_size(), encode() into a guarded buffer of exactly the size (bytes equal, guards untouched),
/// encode() into a buffer one byte short (buffer_too_small, guards untouched), encode_append() after a prefix.
inline void expect_encodes(const protocol::Packet& packet, const std::vector<std::uint8_t>& golden,
                           protocol::ProtocolVersion v = protocol::ProtocolVersion::v3_1_1) {
    const auto size = protocol::encoded_size(packet, v);
    ASSERT_TRUE(size.has_value()) << "encoded_size failed: " << size.error().message();
    EXPECT_EQ(*size, golden.size());

    std::vector<std::uint8_t> buffer(golden.size() + 2 * guard_size, guard_byte);
    const auto written = protocol::encode(packet, MutableBytes(buffer.data() + guard_size, golden.size()), v);
    ASSERT_TRUE(written.has_value()) << "encode failed: " << written.error().message();
    EXPECT_EQ(*written, golden.size());
    EXPECT_TRUE(bytes_equal(Bytes(buffer.data() + guard_size, golden.size()), golden));
    EXPECT_TRUE(guards_intact(buffer, guard_size, golden.size()));

    std::vector<std::uint8_t> short_buffer(golden.size() + 2 * guard_size, guard_byte);
    const auto too_small =
        protocol::encode(packet, MutableBytes(short_buffer.data() + guard_size, golden.size() - 1), v);
    ASSERT_FALSE(too_small.has_value()) << "encode into a buffer one byte short succeeded";
    EXPECT_EQ(too_small.error(), make_error_code(Errc::buffer_too_small));
    EXPECT_TRUE(guards_intact(short_buffer, guard_size, golden.size() - 1));

    std::vector<std::uint8_t> appended = hex("DE AD");
    EXPECT_FALSE(protocol::encode_append(packet, appended, v));
    EXPECT_TRUE(bytes_equal(appended, cat(hex("DE AD"), golden)));
}

/// Decodes `wire` (exactly one packet) and returns it; checks the fixed header parse on the way.
/// Views in the result point into `wire`.
inline protocol::Packet expect_decodes(const std::vector<std::uint8_t>& wire,
                                       protocol::ProtocolVersion v = protocol::ProtocolVersion::v3_1_1) {
    const auto header = protocol::parse_fixed_header(wire, v);
    EXPECT_EQ(header.status, protocol::HeaderParse::Status::complete) << header.error.message();
    EXPECT_EQ(header.header.packet_size(), wire.size());
    const auto packet = protocol::decode_packet(wire, v);
    EXPECT_TRUE(packet.has_value()) << "decode failed: " << packet.error().message();
    if (!packet.has_value()) return protocol::Disconnect{};
    EXPECT_EQ(static_cast<int>(protocol::type_of(*packet)), wire[0] >> 4);
    return *packet;
}

/// Decodes `wire` as one whole packet and returns the error (an empty error_code when it decoded).
inline std::error_code decode_error(const std::vector<std::uint8_t>& wire,
                                    protocol::ProtocolVersion v = protocol::ProtocolVersion::v3_1_1) {
    const auto packet = protocol::decode_packet(wire, v);
    return packet.has_value() ? std::error_code{} : packet.error();
}

/// Returns the error of encoding `packet`, after checking that encoded_size(), encode() and encode_append()
/// agree on it and that encode_append() left its vector unchanged.
inline std::error_code encode_error(const protocol::Packet& packet,
                                    protocol::ProtocolVersion v = protocol::ProtocolVersion::v3_1_1) {
    const auto size = protocol::encoded_size(packet, v);
    if (size.has_value()) return {};
    std::vector<std::uint8_t> buffer(256, guard_byte);
    const auto written = protocol::encode(packet, buffer, v);
    EXPECT_FALSE(written.has_value());
    if (!written.has_value()) {
        EXPECT_EQ(written.error(), size.error());
    }
    std::vector<std::uint8_t> appended = hex("DE AD");
    EXPECT_EQ(protocol::encode_append(packet, appended, v), size.error());
    EXPECT_TRUE(bytes_equal(appended, hex("DE AD")));
    return size.error();
}

inline std::error_code err(Errc e) { return make_error_code(e); }

/// Describes every field of a packet in one line, payloads and passwords in hex, so that two packets are
/// equal exactly when their descriptions are (decoded SUBSCRIBE/UNSUBSCRIBE lists included).
inline std::string describe(const protocol::Packet& packet) {
    using namespace protocol;
    auto text = [](std::string_view s) { return "\"" + std::string(s) + "\""; };
    auto bin = [](std::string_view s) {
        return "<" + to_hex({reinterpret_cast<const std::uint8_t*>(s.data()), s.size()}) + ">";
    };
    auto num = [](auto v) { return std::to_string(static_cast<unsigned long long>(v)); };
    struct Visitor {
        decltype(text) t;
        decltype(bin) b;
        decltype(num) n;
        std::string operator()(const Connect& c) const {
            std::string s = "CONNECT id=" + t(c.client_id) + " ka=" + n(c.keepalive) + " clean=" + n(c.clean_session);
            if (c.will) {
                s += " will=" + t(c.will->topic) + ":" + b(c.will->message) + ":q" + n(c.will->qos) + ":r" +
                     n(c.will->retain);
            }
            if (c.username) s += " user=" + t(*c.username);
            if (c.password) s += " pass=" + b(*c.password);
            return s;
        }
        std::string operator()(const Connack& c) const {
            return "CONNACK sp=" + n(c.session_present) + " rc=" + n(c.return_code);
        }
        std::string operator()(const Publish& p) const {
            return "PUBLISH q" + n(p.qos) + " r" + n(p.retain) + " d" + n(p.dup) + " id=" + n(p.packet_id) +
                   " topic=" + t(p.topic) + " payload=" + b(p.payload);
        }
        std::string operator()(const Puback& p) const { return "PUBACK " + n(p.packet_id); }
        std::string operator()(const Pubrec& p) const { return "PUBREC " + n(p.packet_id); }
        std::string operator()(const Pubrel& p) const { return "PUBREL " + n(p.packet_id); }
        std::string operator()(const Pubcomp& p) const { return "PUBCOMP " + n(p.packet_id); }
        std::string operator()(const Subscribe& sub) const {
            std::string s = "SUBSCRIBE " + n(sub.packet_id);
            for_each_entry(sub, [&](const SubscribeEntry& e) { s += " " + t(e.filter) + ":q" + n(e.qos); });
            return s;
        }
        std::string operator()(const Suback& s) const {
            return "SUBACK " + n(s.packet_id) + " " + to_hex(s.return_codes);
        }
        std::string operator()(const Unsubscribe& u) const {
            std::string s = "UNSUBSCRIBE " + n(u.packet_id);
            for_each_filter(u, [&](std::string_view f) { s += " " + t(f); });
            return s;
        }
        std::string operator()(const Unsuback& u) const { return "UNSUBACK " + n(u.packet_id); }
        std::string operator()(const Pingreq&) const { return "PINGREQ"; }
        std::string operator()(const Pingresp&) const { return "PINGRESP"; }
        std::string operator()(const Disconnect& d) const {
            return "DISCONNECT" + (d.reason_code != 0 || !d.properties.empty()
                                       ? " rc=" + n(d.reason_code) + " props=" + to_hex(d.properties.raw())
                                       : std::string{});
        }
        std::string operator()(const Auth& a) const {
            return "AUTH rc=" + n(a.reason_code) + " props=" + to_hex(a.properties.raw());
        }
    };
    return std::visit(Visitor{text, bin, num}, packet);
}

inline std::string_view sv(const std::vector<std::uint8_t>& b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace nmqtt::test
