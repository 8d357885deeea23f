// WebSocket framing (RFC 6455 section 5) for MQTT over WebSockets: a sans-I/O frame decoder for the
// client side and the encoder of masked client frames. No sockets, no clock, no allocation.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>

#include "nmqtt/types.hpp"

namespace nmqtt::protocol::websocket {

/// Frame opcodes (RFC 6455 section 5.2).
enum class Opcode : std::uint8_t {
    continuation = 0x0,
    text = 0x1,
    binary = 0x2,
    close = 0x8,
    ping = 0x9,
    pong = 0xA,
};

/// Close status codes used by the client (RFC 6455 section 7.4.1).
inline constexpr std::uint16_t close_normal = 1000;
inline constexpr std::uint16_t close_protocol_error = 1002;
inline constexpr std::uint16_t close_unsupported_data = 1003;
inline constexpr std::uint16_t close_message_too_big = 1009;

/// Largest control frame payload (RFC 6455 section 5.5).
inline constexpr std::size_t max_control_payload = 125;
/// Largest frame header: 2 bytes, 8 of extended length, 4 of mask.
inline constexpr std::size_t max_header_size = 14;
/// Default bound on a data frame from the server: the largest MQTT packet (256 MiB plus its fixed header).
/// Frames are streamed, never buffered, so the bound only refuses what no MQTT peer sends.
inline constexpr std::uint64_t default_max_frame_size = 268'435'455u + 5u;

using Mask = std::array<std::uint8_t, 4>;

/// Decodes the frames a server sends into the MQTT byte stream they carry, and reports control frames.
///
/// - Data (binary frames and their continuations) is yielded as views into the input: zero-copy, since
///   server frames are not masked [RFC 6455 5.1]. A frame cut anywhere, fragmented messages, several MQTT
///   packets in one frame and packets spanning frames all come out as the same byte stream.
/// - Control frames (ping, pong, close) are collected in a 125-byte buffer of the decoder and yielded whole;
///   their view is valid until the next decode().
/// - Refused, as Errc::websocket_protocol_error with reason(): text frames (MQTT needs binary frames,
///   [MQTT-6.0.0-1]), masked frames, reserved bits or opcodes, a continuation with no message open, a data
///   frame inside an unfinished message, a fragmented or oversized control frame, a data frame above
///   max_frame_size, and a 64-bit length with its top bit set. After an error the decoder stays failed.
///
/// Thread safety: none; one decoder per connection. Allocates nothing.
class FrameDecoder {
public:
    enum class Kind : std::uint8_t { need_more, data, ping, pong, close, error };

    struct Step {
        Kind kind = Kind::need_more;
        std::size_t consumed = 0;    ///< bytes of the input used by this call
        Bytes payload;               ///< data: MQTT bytes (in the input); ping/pong/close: the control payload
        std::uint16_t close_code = 0;  ///< close: the status code (1005 when the frame had none)
        std::error_code error;       ///< error: Errc::websocket_protocol_error
    };

    explicit FrameDecoder(std::uint64_t max_frame_size = default_max_frame_size) noexcept
        : max_frame_size_(max_frame_size) {}

    /// Consumes bytes from `input` and yields at most one result. need_more: every byte was used and more
    /// are needed (the input may be empty). data: `payload` is the next piece of the MQTT stream (call again
    /// with the rest of the input).
    [[nodiscard]] Step decode(Bytes input) noexcept;

    /// Why the last error happened ("text frame refused", ...); "" before any error.
    [[nodiscard]] std::string_view reason() const noexcept { return reason_; }
    /// The close status code the client should send after an error (1002, 1003 or 1009).
    [[nodiscard]] std::uint16_t close_code() const noexcept { return close_code_; }
    /// Forgets any partial frame (a new connection).
    void reset() noexcept;

private:
    Step fail(std::size_t consumed, std::string_view reason, std::uint16_t code) noexcept;
    [[nodiscard]] std::size_t header_size() const noexcept;
    Step start_frame(std::size_t consumed) noexcept;
    /// Why a frame with this opcode may not come now ("" when it may), and the close code to send.
    [[nodiscard]] std::string_view opcode_refusal(Opcode op, bool fin, std::uint64_t length,
                                                  std::uint16_t& code) const noexcept;
    /// Copies header bytes from `input` at `consumed`; true once the header is complete.
    bool read_header(Bytes input, std::size_t& consumed) noexcept;
    Step data_bytes(Bytes input, std::size_t consumed) noexcept;
    Step next_frame(Bytes input, std::size_t& consumed) noexcept;
    Step control_bytes(Bytes input, std::size_t consumed) noexcept;

    std::uint64_t max_frame_size_;
    std::array<std::uint8_t, max_header_size> header_{};
    std::size_t header_have_ = 0;
    bool in_payload_ = false;
    bool in_message_ = false;     ///< a fragmented data message is open (FIN not seen yet)
    bool failed_ = false;
    Opcode opcode_ = Opcode::binary;
    std::uint64_t remaining_ = 0;  ///< payload bytes of the current frame still to come
    std::array<std::uint8_t, max_control_payload> control_{};
    std::size_t control_have_ = 0;
    std::string_view reason_;
    std::uint16_t close_code_ = 0;
};

/// The size of a masked client frame header for a payload of `length` bytes: 6, 8 or 14.
[[nodiscard]] constexpr std::size_t client_header_size(std::uint64_t length) noexcept {
    if (length < 126) return 6;
    if (length <= 0xFFFF) return 8;
    return 14;
}

/// Writes one final (FIN) masked client frame [RFC 6455 5.2, 5.3]: header with the 7, 16 or 64-bit length
/// and `mask`, then `payload` masked. Returns the frame size, or 0 when `out` is smaller than
/// client_header_size(payload.size()) + payload.size(). One pass over the payload; allocates nothing.
[[nodiscard]] std::size_t encode_client_frame(Opcode opcode, Bytes payload, Mask mask, MutableBytes out) noexcept;

/// XORs `data` with `mask`, the first byte with mask[offset % 4] (unmasking is the same operation).
void apply_mask(MutableBytes data, Mask mask, std::size_t offset = 0) noexcept;

}  // namespace nmqtt::protocol::websocket
