// libFuzzer target: StreamDecoder fed the input as a byte stream, cut into chunks whose sizes come from the
// input, at both protocol levels (3.1.1, then 5.0: properties, reason codes, AUTH). Invariants (abort on
// violation):
//   - every feed() consumes at most its input; need_more consumes all of it; a packet or overflow consumes
//     at least one byte (progress); after an error the decoder stays failed until reset();
//   - the results do not depend on the segmentation: whole input, fuzzed chunks and one byte at a time give
//     the same sequence of packets, overflows and errors;
//   - 3.1.1: a decoded packet re-encodes to the very body bytes it was decoded from (decode and encode agree);
//   - 5.0: a decoded packet re-encodes (the encoder writes the short forms of the acks, so the bytes may be
//     shorter than the input), the re-encoded bytes decode again to a packet of the same type that encodes to
//     the same bytes (a fixed point), and the property block is kept byte for byte;
//   - an overflow has total_size above max_message_length and carries no more payload than the limit allows;
//   - with a hard max_packet_size, no packet or overflow above it is ever yielded (it is an error).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <variant>
#include <vector>

#include "nmqtt/protocol/decode.hpp"
#include "nmqtt/protocol/encode.hpp"
#include "nmqtt/protocol/stream_decoder.hpp"

namespace {

using nmqtt::Bytes;
using nmqtt::protocol::ProtocolVersion;
using nmqtt::protocol::StreamDecoder;
using Kind = StreamDecoder::Kind;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
}

void check(bool ok, const char* what) {
    if (!ok) fail(what);
}

// A small deterministic generator seeded from the input, so that mutating the input also changes the cuts.
struct SplitMix {
    std::uint64_t state;
    std::uint64_t next() {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
};

std::uint64_t hash_of(const std::uint8_t* data, std::size_t size) {
    std::uint64_t h = 1469598103934665603ull;  // FNV-1a
    for (std::size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 1099511628211ull;
    return h;
}

// One result of the decoder, as bytes: kind, then the packet re-encoded (or the encoder's error), the
// overflow fields, or the error code.
std::string summarize(const StreamDecoder::Step& step, ProtocolVersion version) {
    std::string s(1, static_cast<char>(step.kind));
    if (step.kind == Kind::error) return s + std::to_string(step.error.value());
    std::vector<std::uint8_t> wire;
    if (auto ec = nmqtt::protocol::encode_append(step.packet, wire, version)) {
        s += "encode error " + std::to_string(ec.value());
    }
    s.append(wire.begin(), wire.end());
    if (step.kind == Kind::overflow) s += " total " + std::to_string(step.total_size);
    return s;
}

// The property block of a packet, if its type has one.
Bytes properties_of(const nmqtt::protocol::Packet& packet) {
    return std::visit([](const auto& p) -> Bytes {
        if constexpr (requires { p.properties; }) {
            return p.properties.raw();
        } else {
            return {};
        }
    }, packet);
}

// Checks that a packet decoded in place re-encodes to the body bytes it came from (3.1.1), or to a fixed
// point of decode and encode with the same properties (5.0).
void check_reencodes(const StreamDecoder::Step& step, Bytes consumed, ProtocolVersion version) {
    std::vector<std::uint8_t> wire;
    if (nmqtt::protocol::encode_append(step.packet, wire, version)) return;  // e.g. CONNACK refusal with session present
    const auto header = nmqtt::protocol::parse_fixed_header(wire, version);
    check(header.status == nmqtt::protocol::HeaderParse::Status::complete, "re-encoded header parses");
    check((wire[0] & 0xF0) == (consumed[0] & 0xF0), "re-encoded type equals input");
    const std::size_t body = header.header.remaining_length;
    check(body <= consumed.size(), "re-encoded body is no longer than the packet");
    if (version == ProtocolVersion::v5) {
        const auto again = nmqtt::protocol::decode_packet(wire, version);
        check(again.has_value(), "5.0: the re-encoded packet decodes");
        check(again->index() == step.packet.index(), "5.0: the re-encoded packet has the same type");
        std::vector<std::uint8_t> wire2;
        check(!nmqtt::protocol::encode_append(*again, wire2, version), "5.0: the decoded re-encoding encodes");
        check(wire2 == wire, "5.0: encode(decode(encode(p))) == encode(p)");
        const Bytes a = properties_of(step.packet);
        const Bytes b = properties_of(*again);
        check(std::equal(a.begin(), a.end(), b.begin(), b.end()), "5.0: properties survive re-encoding");
        return;
    }
    const Bytes original = consumed.subspan(consumed.size() - body);
    for (std::size_t i = 0; i < body; ++i) check(original[i] == wire[header.header.header_size + i], "re-encoded body equals input");
}

// Bytes taken by a variable byte integer at the start of `b` (1..4; the decoder has validated it).
std::size_t varint_size(Bytes b) {
    std::size_t n = 0;
    while (n < b.size() && n < 4 && (b[n] & 0x80) != 0) ++n;
    return n + 1;
}

// `consumed` is the whole packet (whole-input run): its fixed header size is known, and the remaining length
// may use more bytes than needed (3.1.1 does not forbid it).
void check_overflow(const StreamDecoder::Step& step, std::size_t max, Bytes consumed, ProtocolVersion version) {
    check(step.total_size > max, "overflow only above max_message_length");
    check(step.total_size == consumed.size(), "overflow total_size is the packet size");
    const auto& p = std::get<nmqtt::protocol::Publish>(step.packet);
    const auto header = nmqtt::protocol::parse_fixed_header(consumed, version);
    check(header.status == nmqtt::protocol::HeaderParse::Status::complete, "overflow header parses");
    const std::size_t fixed = header.header.header_size;
    std::size_t headers = fixed + 2 + p.topic.size() + (p.qos == nmqtt::QoS::at_most_once ? 0 : 2);
    if (version == ProtocolVersion::v5) {  // the property block lies whole in the kept prefix
        check(headers < consumed.size(), "5.0: overflow keeps the property length");
        headers += varint_size(consumed.subspan(headers)) + p.properties.raw().size();
    }
    const std::size_t kept = max > headers ? max - headers : 0;
    check(p.payload.size() == kept, "overflow payload is exactly max_message_length - headers");
}

// Feeds `chunks` and returns the summaries of all results; stops at the first error.
std::vector<std::string> run(StreamDecoder& d, const std::vector<Bytes>& chunks, bool whole,
                             const StreamDecoder::Options& options) {
    const std::size_t max = options.max_message_length;
    const ProtocolVersion version = options.version;
    const std::size_t hard = options.max_packet_size;
    std::vector<std::string> out;
    for (Bytes chunk : chunks) {
        const std::size_t max_calls = chunk.size() + 2;
        std::size_t calls = 0;
        for (;;) {
            check(++calls <= max_calls, "bounded number of feed() calls per chunk");
            const auto step = d.feed(chunk);
            check(step.consumed <= chunk.size(), "consumed <= size");
            if (step.kind == Kind::need_more) {
                check(step.consumed == chunk.size(), "need_more consumes everything");
                break;
            }
            out.push_back(summarize(step, version));
            if (step.kind == Kind::error) {
                check(static_cast<bool>(step.error), "an error has an error code");
                check(d.feed(chunk.subspan(step.consumed)).kind == Kind::error, "failed until reset()");
                return out;
            }
            check(step.consumed > 0, "progress");
            if (hard != 0 && step.kind == Kind::overflow) check(step.total_size <= hard, "nothing above max_packet_size");
            if (hard != 0 && whole && step.kind == Kind::packet) check(step.consumed <= hard, "nothing above max_packet_size");
            if (whole && step.kind == Kind::overflow) check_overflow(step, max, chunk.first(step.consumed), version);
            if (whole && step.kind == Kind::packet) check_reencodes(step, chunk.first(step.consumed), version);
            chunk = chunk.subspan(step.consumed);
            if (chunk.empty()) break;
        }
    }
    return out;
}

// Runs the three segmentations of the input at one protocol level and compares them.
void run_level(const std::uint8_t* data, std::size_t size, ProtocolVersion version) {
    SplitMix rng{hash_of(data, size) + static_cast<std::uint64_t>(version)};
    static constexpr std::size_t limits[] = {std::numeric_limits<std::size_t>::max(), 1024, 100, 20, 9, 2, 0};
    StreamDecoder::Options options;
    options.max_message_length = limits[rng.next() % (sizeof limits / sizeof limits[0])];
    options.max_control_packet_length = rng.next() % 2 == 0 ? std::size_t{1} << 20 : 64;
    options.version = version;
    static constexpr std::size_t hard_limits[] = {0, 0, 300, 40};
    options.max_packet_size = hard_limits[rng.next() % 4];
    const Bytes input(data, size);

    StreamDecoder whole(options);
    const auto expected = run(whole, {input}, true, options);

    std::vector<Bytes> chunks;
    for (std::size_t pos = 0; pos < size;) {
        const std::size_t n = std::min<std::size_t>(size - pos, rng.next() % 8 == 0 ? 0 : 1 + rng.next() % 64);
        chunks.push_back(input.subspan(pos, n));
        pos += n;
    }
    StreamDecoder chunked(options);
    check(run(chunked, chunks, false, options) == expected, "fuzzed chunks agree with whole");

    std::vector<Bytes> bytes;
    for (std::size_t i = 0; i < size; ++i) bytes.push_back(input.subspan(i, 1));
    StreamDecoder bytewise(options);
    check(run(bytewise, bytes, false, options) == expected, "byte by byte agrees with whole");

    // reset() makes a failed or half-fed decoder usable again.
    bytewise.reset();
    static constexpr std::uint8_t pingresp[] = {0xD0, 0x00};
    check(bytewise.feed(pingresp).kind == Kind::packet, "decoder works after reset()");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    run_level(data, size, ProtocolVersion::v3_1_1);
    run_level(data, size, ProtocolVersion::v5);
    return 0;
}
