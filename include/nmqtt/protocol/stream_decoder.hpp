// StreamDecoder: turns a byte stream cut into arbitrary chunks into packets, Beast-parser style.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <system_error>

#include "nmqtt/protocol/decode.hpp"
#include "nmqtt/protocol/packets.hpp"

namespace nmqtt::protocol {

/// Decodes packets from a stream. Feed it whatever arrived; each call consumes bytes and yields at most one
/// packet, so views in a result stay valid until the next call to feed() or reset() (and, for zero-copy
/// results, as long as the caller keeps the input alive).
///
/// - A packet lying whole in the input is decoded in place (zero-copy).
/// - A packet spanning chunks gets one allocation of its full size when its fixed header is complete; a
///   buffer of up to 256 KiB is kept and reused, so steady traffic allocates nothing (a larger one is freed
///   when the next packet starts, so one huge message does not pin its memory). Allocation failure is
///   Errc::allocation_failed [MQTT-4.8.0-2].
/// - max_message_length (NodeMCU semantics) counts the whole packet. A PUBLISH larger than it is yielded as
///   Kind::overflow once the whole packet has been consumed: the topic and exactly as many leading payload
///   bytes as make fixed header + variable header + payload equal to max_message_length, whatever the
///   segmentation. The rest is skipped without being buffered. Other packets are bounded by
///   max_control_packet_length.
/// - After an error the decoder stays failed until reset(): the connection must be closed [MQTT-4.8.0-1].
///
/// Thread safety: none; one decoder per connection.
class StreamDecoder {
public:
    /// Replaceable allocation, for tests that make allocation fail (return nullptr to fail).
    using AllocateFn = std::uint8_t* (*)(std::size_t size);
    using DeallocateFn = void (*)(std::uint8_t* p);

    struct Options {
        std::size_t max_message_length = 1024;              ///< NodeMCU default; SIZE_MAX for no limit
        std::size_t max_control_packet_length = 1u << 20;   ///< bound for non-PUBLISH packets
        AllocateFn allocate = nullptr;                      ///< nullptr: operator new(std::nothrow)
        DeallocateFn deallocate = nullptr;
        ProtocolVersion version = ProtocolVersion::v3_1_1;  ///< the level packets are decoded at
        /// Hard bound on any packet (MQTT 5.0 Maximum Packet Size we advertised): a larger one is
        /// Errc::packet_too_large as soon as its fixed header is complete, before any of its body is read
        /// or buffered [MQTT-3.1.2-24]. 0: none (a PUBLISH above max_message_length overflows).
        std::size_t max_packet_size = 0;
    };

    enum class Kind : std::uint8_t { need_more, packet, overflow, error };

    struct Step {
        Kind kind = Kind::need_more;
        std::size_t consumed = 0;   ///< bytes of the input used by this call
        Packet packet;              ///< Kind::packet: the packet; Kind::overflow: a truncated Publish
        std::uint32_t total_size = 0;  ///< Kind::overflow: size of the whole packet on the wire
        std::error_code error;      ///< Kind::error
    };

    StreamDecoder() : StreamDecoder(Options{}) {}
    explicit StreamDecoder(Options options) noexcept;
    ~StreamDecoder();
    StreamDecoder(const StreamDecoder&) = delete;
    StreamDecoder& operator=(const StreamDecoder&) = delete;

    /// Consumes bytes from `input` until one packet (or overflow, or error) is complete or the input is
    /// used up (Kind::need_more, consumed == input.size()). Allocates only as described above.
    [[nodiscard]] Step feed(Bytes input) noexcept;

    /// Forgets any partial packet and a previous error (for a new connection). Keeps the buffer.
    void reset() noexcept;

    /// Changes the limit for packets whose header has not been seen yet.
    void set_max_message_length(std::size_t value) noexcept { options_.max_message_length = value; }
    [[nodiscard]] std::size_t max_message_length() const noexcept { return options_.max_message_length; }
    /// Changes the protocol level (a session sets it before each connection).
    void set_protocol_version(ProtocolVersion version) noexcept { options_.version = version; }
    /// Changes the hard packet size bound (0: none) for packets whose header has not been seen yet.
    void set_max_packet_size(std::size_t value) noexcept { options_.max_packet_size = value; }

    /// Bytes currently reserved for spanning packets (for memory accounting and tests).
    [[nodiscard]] std::size_t buffer_capacity() const noexcept { return capacity_; }

private:
    enum class State : std::uint8_t { header, body, skip, failed };

    Step feed_header(Bytes input) noexcept;
    Step feed_body(Bytes input) noexcept;
    Step feed_skip(Bytes input) noexcept;
    Step begin_packet(Bytes input, std::size_t header_bytes_used) noexcept;
    Step finish_buffered() noexcept;
    Step finish_overflow() noexcept;
    Step fail(std::error_code error, std::size_t consumed) noexcept;
    bool reserve(std::size_t size) noexcept;
    void release() noexcept;

    Options options_;
    State state_ = State::header;
    std::uint8_t header_bytes_[5] = {};
    std::uint8_t header_fill_ = 0;
    FixedHeader header_;
    std::uint8_t* buffer_ = nullptr;
    std::size_t capacity_ = 0;
    std::size_t fill_ = 0;      ///< body bytes buffered so far
    std::size_t want_ = 0;      ///< body bytes to buffer (full body, or the overflow prefix)
    std::size_t skip_ = 0;      ///< body bytes still to discard (overflow)
};

}  // namespace nmqtt::protocol
