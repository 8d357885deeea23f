// WebSocket framing (RFC 6455 section 5): the client-side frame decoder and the masked frame encoder.
#include "nmqtt/protocol/websocket.hpp"

#include <algorithm>
#include <cstring>

#include "nmqtt/error.hpp"

namespace nmqtt::protocol::websocket {
namespace {

constexpr std::uint8_t fin_bit = 0x80;
constexpr std::uint8_t reserved_bits = 0x70;
constexpr std::uint8_t opcode_bits = 0x0F;
constexpr std::uint8_t mask_bit = 0x80;
constexpr std::uint8_t length_bits = 0x7F;
constexpr std::uint8_t length_16 = 126;
constexpr std::uint8_t length_64 = 127;
constexpr std::uint16_t close_no_status = 1005;

bool is_control(Opcode op) noexcept { return (static_cast<std::uint8_t>(op) & 0x08) != 0; }

std::uint64_t read_big_endian(const std::uint8_t* p, std::size_t n) noexcept {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
    return v;
}

}  // namespace

void FrameDecoder::reset() noexcept {
    const auto limit = max_frame_size_;
    *this = FrameDecoder(limit);
}

FrameDecoder::Step FrameDecoder::fail(std::size_t consumed, std::string_view reason, std::uint16_t code) noexcept {
    failed_ = true;
    reason_ = reason;
    close_code_ = code;
    Step step;
    step.kind = Kind::error;
    step.consumed = consumed;
    step.error = make_error_code(Errc::websocket_protocol_error);
    return step;
}

std::size_t FrameDecoder::header_size() const noexcept {
    if (header_have_ < 2) return 2;
    std::size_t size = 2;
    const auto length = static_cast<std::uint8_t>(header_[1] & length_bits);
    if (length == length_16) size += 2;
    if (length == length_64) size += 8;
    if ((header_[1] & mask_bit) != 0) size += 4;
    return size;
}

// The header is complete: check it against what a client accepts and enter the payload.
FrameDecoder::Step FrameDecoder::start_frame(std::size_t consumed) noexcept {
    const std::uint8_t b0 = header_[0];
    const std::uint8_t b1 = header_[1];
    header_have_ = 0;
    if ((b0 & reserved_bits) != 0) return fail(consumed, "reserved bits set (no extension was negotiated)", close_protocol_error);
    if ((b1 & mask_bit) != 0) return fail(consumed, "masked frame from the server", close_protocol_error);
    const bool fin = (b0 & fin_bit) != 0;
    const auto op = static_cast<Opcode>(b0 & opcode_bits);
    std::uint64_t length = b1 & length_bits;
    if (length == length_16) length = read_big_endian(&header_[2], 2);
    if (length == length_64) {
        length = read_big_endian(&header_[2], 8);
        if ((length >> 63) != 0) return fail(consumed, "64-bit frame length with its top bit set", close_protocol_error);
    }
    std::uint16_t code = close_protocol_error;
    if (const auto refusal = opcode_refusal(op, fin, length, code); !refusal.empty()) {
        return fail(consumed, refusal, code);
    }
    if (!is_control(op)) {
        if (length > max_frame_size_) return fail(consumed, "data frame above the size limit", close_message_too_big);
        in_message_ = !fin;
    }
    opcode_ = op;
    remaining_ = length;
    control_have_ = 0;
    in_payload_ = is_control(op) || length != 0;  // an empty data frame has no payload to wait for
    return Step{Kind::need_more, consumed, {}, 0, {}};
}

std::string_view FrameDecoder::opcode_refusal(Opcode op, bool fin, std::uint64_t length,
                                              std::uint16_t& code) const noexcept {
    code = close_protocol_error;
    switch (op) {
    case Opcode::text:
        code = close_unsupported_data;
        return "text frame refused (MQTT needs binary frames)";
    case Opcode::binary: return in_message_ ? "data frame inside an unfinished message" : "";
    case Opcode::continuation: return in_message_ ? "" : "continuation frame with no message open";
    case Opcode::close:
    case Opcode::ping:
    case Opcode::pong:
        if (!fin) return "fragmented control frame";
        return length > max_control_payload ? "control frame above 125 bytes" : "";
    default: return "reserved opcode";
    }
}

// Collects a control frame's payload; yields the frame once it is whole.
FrameDecoder::Step FrameDecoder::control_bytes(Bytes input, std::size_t consumed) noexcept {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, input.size()));
    std::copy_n(input.begin(), n, control_.begin() + static_cast<std::ptrdiff_t>(control_have_));
    control_have_ += n;
    remaining_ -= n;
    consumed += n;
    if (remaining_ != 0) return Step{Kind::need_more, consumed, {}, 0, {}};
    in_payload_ = false;
    Step step;
    step.consumed = consumed;
    step.payload = Bytes{control_.data(), control_have_};
    if (opcode_ == Opcode::ping) {
        step.kind = Kind::ping;
    } else if (opcode_ == Opcode::pong) {
        step.kind = Kind::pong;
    } else {
        step.kind = Kind::close;
        step.close_code = control_have_ >= 2 ? static_cast<std::uint16_t>(read_big_endian(control_.data(), 2))
                                             : close_no_status;
    }
    return step;
}

bool FrameDecoder::read_header(Bytes input, std::size_t& consumed) noexcept {
    while (header_have_ < header_size() && consumed < input.size()) header_[header_have_++] = input[consumed++];
    return header_have_ >= header_size();
}

// Reads and checks the next frame's header: Kind::data once it is complete and accepted (the payload follows),
// else need_more or the error to return.
FrameDecoder::Step FrameDecoder::next_frame(Bytes input, std::size_t& consumed) noexcept {
    if (!read_header(input, consumed)) return Step{Kind::need_more, consumed, {}, 0, {}};
    const Step started = start_frame(consumed);
    if (started.kind == Kind::error) return started;
    return Step{Kind::data, consumed, {}, 0, {}};
}

// A data frame's payload: a view of what `input` holds of it, no copy.
FrameDecoder::Step FrameDecoder::data_bytes(Bytes input, std::size_t consumed) noexcept {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, input.size() - consumed));
    remaining_ -= n;
    if (remaining_ == 0) in_payload_ = false;
    return Step{Kind::data, consumed + n, input.subspan(consumed, n), 0, {}};
}

FrameDecoder::Step FrameDecoder::decode(Bytes input) noexcept {
    if (failed_) return fail(0, reason_, close_code_);
    std::size_t consumed = 0;
    for (;;) {
        if (!in_payload_) {
            const Step started = next_frame(input, consumed);
            if (started.kind != Kind::data) return started;  // need more, or refused
            if (!in_payload_) continue;                        // an empty data frame
        }
        if (is_control(opcode_)) return control_bytes(input.subspan(consumed), consumed);  // uses all or ends
        if (consumed == input.size()) return Step{Kind::need_more, consumed, {}, 0, {}};
        return data_bytes(input, consumed);
    }
}

void apply_mask(MutableBytes data, Mask mask, std::size_t offset) noexcept {
    std::array<std::uint8_t, 8> rotated{};
    for (std::size_t i = 0; i < rotated.size(); ++i) rotated[i] = mask[(offset + i) % 4];
    std::uint64_t word_mask = 0;
    std::memcpy(&word_mask, rotated.data(), sizeof word_mask);
    std::size_t i = 0;
    for (; i + 8 <= data.size(); i += 8) {
        std::uint64_t word = 0;
        std::memcpy(&word, data.data() + i, sizeof word);
        word ^= word_mask;
        std::memcpy(data.data() + i, &word, sizeof word);
    }
    for (; i < data.size(); ++i) data[i] ^= rotated[i % 8];
}

std::size_t encode_client_frame(Opcode opcode, Bytes payload, Mask mask, MutableBytes out) noexcept {
    const std::uint64_t length = payload.size();
    const std::size_t header = client_header_size(length);
    if (out.size() < header || out.size() - header < payload.size()) return 0;
    out[0] = static_cast<std::uint8_t>(fin_bit | static_cast<std::uint8_t>(opcode));
    if (header == 6) {
        out[1] = static_cast<std::uint8_t>(mask_bit | length);
    } else {
        const std::size_t n = header == 8 ? 2 : 8;
        out[1] = static_cast<std::uint8_t>(mask_bit | (header == 8 ? length_16 : length_64));
        for (std::size_t i = 0; i < n; ++i) out[2 + i] = static_cast<std::uint8_t>(length >> (8 * (n - 1 - i)));
    }
    std::copy(mask.begin(), mask.end(), out.begin() + static_cast<std::ptrdiff_t>(header - 4));
    const MutableBytes body = out.subspan(header, payload.size());
    std::copy(payload.begin(), payload.end(), body.begin());
    apply_mask(body, mask);
    return header + payload.size();
}

}  // namespace nmqtt::protocol::websocket
