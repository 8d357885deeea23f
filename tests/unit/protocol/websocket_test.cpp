// WebSocket framing: masked client frames byte for byte (RFC 6455 section 5.7 examples), the decoder of
// server frames (7/16/64-bit lengths, fragments, control frames, every refusal), and the MQTT stream they
// carry through StreamDecoder (packets spanning frames, several packets in one frame, every split point).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nmqtt/error.hpp"
#include "nmqtt/protocol/stream_decoder.hpp"
#include "nmqtt/protocol/websocket.hpp"
#include "support/bytes.hpp"

namespace nmqtt::test {
namespace {

namespace ws = protocol::websocket;
using Kind = ws::FrameDecoder::Kind;

constexpr ws::Mask rfc_mask{0x37, 0xfa, 0x21, 0x3d};

std::vector<std::uint8_t> encode(ws::Opcode opcode, const std::vector<std::uint8_t>& payload, ws::Mask mask) {
    std::vector<std::uint8_t> out(ws::client_header_size(payload.size()) + payload.size());
    const auto n = ws::encode_client_frame(opcode, payload, mask, out);
    EXPECT_EQ(n, out.size());
    return out;
}

std::string text(Bytes b) { return {b.begin(), b.end()}; }

/// Everything the decoder yields for `input` fed in chunks of `chunk` bytes: data concatenated, each
/// control frame as "<kind>:<payload>", the error reason as "error:<reason>".
struct Decoded {
    std::string data;
    std::vector<std::string> events;
};

Decoded decode_all(ws::FrameDecoder& decoder, const std::vector<std::uint8_t>& input, std::size_t chunk) {
    Decoded out;
    for (std::size_t at = 0; at < input.size(); at += chunk) {
        Bytes piece{input.data() + at, std::min(chunk, input.size() - at)};
        for (int guard = 0; guard < 10'000; ++guard) {
            const auto step = decoder.decode(piece);
            piece = piece.subspan(step.consumed);
            if (step.kind == Kind::data) out.data += text(step.payload);
            if (step.kind == Kind::ping) out.events.push_back("ping:" + text(step.payload));
            if (step.kind == Kind::pong) out.events.push_back("pong:" + text(step.payload));
            if (step.kind == Kind::close) out.events.push_back("close:" + std::to_string(step.close_code));
            if (step.kind == Kind::error) {
                out.events.push_back("error:" + std::string(decoder.reason()));
                return out;
            }
            if (step.kind == Kind::need_more) break;
        }
    }
    return out;
}

Decoded decode_all(const std::vector<std::uint8_t>& input, std::size_t chunk = 1 << 30) {
    ws::FrameDecoder decoder;
    return decode_all(decoder, input, chunk);
}

std::vector<std::uint8_t> concat(std::initializer_list<std::vector<std::uint8_t>> parts) {
    std::vector<std::uint8_t> out;
    for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
}

// ---- encoding ---------------------------------------------------------------------------------------------

TEST(WebSocketEncode, masked_text_frame_matches_the_rfc_example) {
    EXPECT_TRUE(bytes_equal(encode(ws::Opcode::text, hex("48 65 6c 6c 6f"), rfc_mask),
                            hex("81 85 37 fa 21 3d 7f 9f 4d 51 58")));
}

TEST(WebSocketEncode, binary_pingreq_is_masked_with_a_7_bit_length) {
    EXPECT_TRUE(bytes_equal(encode(ws::Opcode::binary, hex("C0 00"), rfc_mask), hex("82 82 37 fa 21 3d f7 fa")));
}

TEST(WebSocketEncode, payload_of_256_bytes_takes_a_16_bit_length) {
    const std::vector<std::uint8_t> payload(256, 0x00);
    const auto frame = encode(ws::Opcode::binary, payload, rfc_mask);
    ASSERT_EQ(frame.size(), 8u + 256u);
    EXPECT_TRUE(bytes_equal(std::vector<std::uint8_t>(frame.begin(), frame.begin() + 12),
                            hex("82 FE 01 00 37 fa 21 3d 37 fa 21 3d")));  // zeros masked are the mask
}

TEST(WebSocketEncode, payload_of_64_KiB_takes_a_64_bit_length) {
    const std::vector<std::uint8_t> payload(65536, 0xAB);
    const auto frame = encode(ws::Opcode::binary, payload, {1, 2, 3, 4});
    ASSERT_EQ(frame.size(), 14u + 65536u);
    EXPECT_TRUE(bytes_equal(std::vector<std::uint8_t>(frame.begin(), frame.begin() + 14),
                            hex("82 FF 00 00 00 00 00 01 00 00 01 02 03 04")));
    EXPECT_EQ(frame[14], 0xAB ^ 1);
    EXPECT_EQ(frame.back(), 0xAB ^ 4);
}

TEST(WebSocketEncode, boundary_lengths_125_126_65535_65536) {
    EXPECT_EQ(ws::client_header_size(125), 6u);
    EXPECT_EQ(ws::client_header_size(126), 8u);
    EXPECT_EQ(ws::client_header_size(65535), 8u);
    EXPECT_EQ(ws::client_header_size(65536), 14u);
    const auto frame = encode(ws::Opcode::binary, std::vector<std::uint8_t>(126, 0), rfc_mask);
    EXPECT_EQ(frame[1], 0xFE);
    EXPECT_EQ(frame[2], 0x00);
    EXPECT_EQ(frame[3], 0x7E);
}

TEST(WebSocketEncode, output_too_small_writes_nothing) {
    std::vector<std::uint8_t> out(7);
    EXPECT_EQ(ws::encode_client_frame(ws::Opcode::binary, hex("C0 00"), rfc_mask, out), 0u);
}

TEST(WebSocketEncode, masking_twice_restores_the_payload_at_any_offset) {
    std::vector<std::uint8_t> data(37);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i);
    auto copy = data;
    ws::apply_mask(copy, rfc_mask, 3);
    EXPECT_EQ(copy[0], 0 ^ 0x3d);
    EXPECT_EQ(copy[1], 1 ^ 0x37);
    ws::apply_mask(copy, rfc_mask, 3);
    EXPECT_EQ(copy, data);
}

// ---- decoding -------------------------------------------------------------------------------------------

TEST(WebSocketDecode, unmasked_binary_frame_yields_its_payload_in_place) {
    const auto frame = hex("82 05 48 65 6c 6c 6f");
    ws::FrameDecoder decoder;
    const auto step = decoder.decode(frame);
    EXPECT_EQ(step.kind, Kind::data);
    EXPECT_EQ(step.consumed, frame.size());
    EXPECT_EQ(step.payload.data(), frame.data() + 2);  // zero-copy: a view into the input
    EXPECT_EQ(text(step.payload), "Hello");
}

TEST(WebSocketDecode, lengths_16_and_64_bit) {
    auto frame16 = hex("82 7E 01 00");
    frame16.resize(4 + 256, 'x');
    EXPECT_EQ(decode_all(frame16).data, std::string(256, 'x'));
    auto frame64 = hex("82 7F 00 00 00 00 00 01 00 00");
    frame64.resize(10 + 65536, 'y');
    EXPECT_EQ(decode_all(frame64).data, std::string(65536, 'y'));
}

TEST(WebSocketDecode, fragmented_message_with_a_ping_between_fragments) {
    const auto input = hex("02 03 48 65 6c  89 05 48 65 6c 6c 6f  80 02 6c 6f");
    for (std::size_t chunk = 1; chunk <= input.size(); ++chunk) {
        const auto d = decode_all(input, chunk);
        EXPECT_EQ(d.data, "Hello") << chunk;
        EXPECT_EQ(d.events, std::vector<std::string>{"ping:Hello"}) << chunk;
    }
}

TEST(WebSocketDecode, pong_and_empty_data_frames) {
    const auto d = decode_all(hex("82 00  8A 02 6f 6b  82 01 41"));
    EXPECT_EQ(d.data, "A");
    EXPECT_EQ(d.events, std::vector<std::string>{"pong:ok"});
}

TEST(WebSocketDecode, close_frame_reports_its_status_code) {
    EXPECT_EQ(decode_all(hex("88 02 03 E8")).events, std::vector<std::string>{"close:1000"});
    EXPECT_EQ(decode_all(hex("88 00")).events, std::vector<std::string>{"close:1005"});
}

struct Refusal {
    const char* name;
    const char* frame;
    const char* reason;
    std::uint16_t close_code;
};

TEST(WebSocketDecode, every_refusal_has_its_reason_and_close_code) {
    const Refusal refusals[] = {
        {"text", "81 05 48 65 6c 6c 6f", "text frame refused (MQTT needs binary frames)", 1003},
        {"masked", "82 85 37 fa 21 3d 7f 9f 4d 51 58", "masked frame from the server", 1002},
        {"reserved bits", "C2 00", "reserved bits set (no extension was negotiated)", 1002},
        {"reserved opcode", "83 00", "reserved opcode", 1002},
        {"lone continuation", "80 01 41", "continuation frame with no message open", 1002},
        {"binary inside message", "02 01 41 82 01 41", "data frame inside an unfinished message", 1002},
        {"fragmented ping", "09 00", "fragmented control frame", 1002},
        {"long ping", "89 7E 00 7E", "control frame above 125 bytes", 1002},
        {"top bit", "82 7F 80 00 00 00 00 00 00 00", "64-bit frame length with its top bit set", 1002},
    };
    for (const auto& r : refusals) {
        ws::FrameDecoder decoder;
        const auto d = decode_all(decoder, hex(r.frame), 1 << 30);
        ASSERT_FALSE(d.events.empty()) << r.name;
        EXPECT_EQ(d.events.back(), std::string("error:") + r.reason) << r.name;
        EXPECT_EQ(decoder.close_code(), r.close_code) << r.name;
        const auto again = decoder.decode(hex("82 01 41"));  // stays failed
        EXPECT_EQ(again.kind, Kind::error) << r.name;
        EXPECT_EQ(again.error, Errc::websocket_protocol_error) << r.name;
    }
}

TEST(WebSocketDecode, oversized_data_frame_is_refused_at_its_header) {
    ws::FrameDecoder decoder(1000);
    const auto header = hex("82 7E 03 E9");  // 1001 bytes announced, none sent
    const auto step = decoder.decode(header);
    EXPECT_EQ(step.kind, Kind::error);
    EXPECT_EQ(step.consumed, header.size());
    EXPECT_EQ(decoder.reason(), "data frame above the size limit");
    EXPECT_EQ(decoder.close_code(), ws::close_message_too_big);
    ws::FrameDecoder fits(1000);
    EXPECT_EQ(fits.decode(hex("82 7E 03 E8")).kind, Kind::need_more);
}

TEST(WebSocketDecode, default_limit_refuses_a_frame_above_the_largest_mqtt_packet) {
    ws::FrameDecoder decoder;
    EXPECT_EQ(decoder.decode(hex("82 7F 00 00 00 00 10 00 00 05")).kind, Kind::error);
    ws::FrameDecoder largest;
    EXPECT_EQ(largest.decode(hex("82 7F 00 00 00 00 10 00 00 04")).kind, Kind::need_more);
}

// ---- the MQTT stream the frames carry -----------------------------------------------------------------

/// The packet types StreamDecoder finds in the data of `frames` fed in chunks of `chunk` bytes.
std::vector<int> packet_types(const std::vector<std::uint8_t>& frames, std::size_t chunk) {
    ws::FrameDecoder frame_decoder;
    protocol::StreamDecoder packets;
    std::vector<int> types;
    for (std::size_t at = 0; at < frames.size(); at += chunk) {
        Bytes piece{frames.data() + at, std::min(chunk, frames.size() - at)};
        for (int guard = 0; guard < 10'000 && !piece.empty(); ++guard) {
            const auto step = frame_decoder.decode(piece);
            piece = piece.subspan(step.consumed);
            if (step.kind != Kind::data) continue;
            Bytes data = step.payload;
            while (!data.empty()) {
                const auto p = packets.feed(data);
                data = data.subspan(p.consumed);
                if (p.kind == protocol::StreamDecoder::Kind::packet) types.push_back(static_cast<int>(p.packet.index()));
                if (p.kind == protocol::StreamDecoder::Kind::error) return {-1};
            }
        }
    }
    return types;
}

TEST(WebSocketStream, packets_spanning_frames_and_several_in_one_frame_at_every_split_point) {
    // Frame 1: PINGRESP, PINGRESP, and the first 4 bytes of a PUBLISH "a/b" "hi"; frame 2: its other 5.
    const auto publish = hex("30 07 00 03 61 2F 62 68 69");
    const auto frame1 = concat({hex("82 08 D0 00 D0 00"), std::vector<std::uint8_t>(publish.begin(), publish.begin() + 4)});
    const auto frame2 = concat({hex("82 05"), std::vector<std::uint8_t>(publish.begin() + 4, publish.end())});
    const auto frames = concat({frame1, frame2});
    const auto whole = packet_types(frames, frames.size());
    ASSERT_EQ(whole.size(), 3u);
    for (std::size_t chunk = 1; chunk < frames.size(); ++chunk) EXPECT_EQ(packet_types(frames, chunk), whole) << chunk;
}

TEST(WebSocketStream, large_publish_over_many_fragments_arrives_whole) {
    std::vector<std::uint8_t> publish = hex("30 FF FF 03 00 01 74");  // remaining length 65535, topic "t"
    publish.resize(3 + 65535, 0x5A);
    std::vector<std::uint8_t> frames;
    constexpr std::size_t fragment = 1000;
    for (std::size_t at = 0; at < publish.size(); at += fragment) {
        const std::size_t n = std::min(fragment, publish.size() - at);
        const bool first = at == 0;
        const bool last = at + n == publish.size();
        frames.push_back(static_cast<std::uint8_t>((last ? 0x80 : 0x00) | (first ? 0x02 : 0x00)));
        frames.push_back(126);
        frames.push_back(static_cast<std::uint8_t>(n >> 8));
        frames.push_back(static_cast<std::uint8_t>(n));
        frames.insert(frames.end(), publish.begin() + static_cast<std::ptrdiff_t>(at),
                      publish.begin() + static_cast<std::ptrdiff_t>(at + n));
    }
    ws::FrameDecoder frame_decoder;
    const auto d = decode_all(frame_decoder, frames, 4096);
    EXPECT_TRUE(d.events.empty());
    EXPECT_EQ(d.data.size(), publish.size());
    EXPECT_EQ(d.data, std::string(publish.begin(), publish.end()));
}

}  // namespace
}  // namespace nmqtt::test
