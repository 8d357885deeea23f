// StreamDecoder: header bytes are gathered in a 5-byte array; bodies are decoded in place when whole in the
// input, otherwise buffered in one allocation of their full size; oversized PUBLISHes keep only a prefix.
#include "nmqtt/protocol/stream_decoder.hpp"

#include <algorithm>
#include <cstring>
#include <new>

namespace nmqtt::protocol {
namespace {

// Buffers up to this size are kept between packets (steady traffic allocates nothing); larger ones are freed.
constexpr std::size_t retained_capacity = 256 * 1024;

std::uint8_t* default_allocate(std::size_t size) { return new (std::nothrow) std::uint8_t[size]; }
void default_deallocate(std::uint8_t* p) { delete[] p; }

// Size of a PUBLISH variable header once the topic length is known (2 + topic + packet id if QoS > 0).
std::size_t publish_variable_header(std::uint8_t flags, const std::uint8_t* body) noexcept {
    const std::size_t topic = (std::size_t{body[0]} << 8) | body[1];
    return 2 + topic + (((flags >> 1) & 0x03) != 0 ? 2 : 0);
}

}  // namespace

StreamDecoder::StreamDecoder(Options options) noexcept : options_(options) {
    if (options_.allocate == nullptr) options_.allocate = default_allocate;
    if (options_.deallocate == nullptr) options_.deallocate = default_deallocate;
}

StreamDecoder::~StreamDecoder() { release(); }

void StreamDecoder::release() noexcept {
    if (buffer_ != nullptr) options_.deallocate(buffer_);
    buffer_ = nullptr;
    capacity_ = 0;
}

void StreamDecoder::reset() noexcept {
    state_ = State::header;
    header_fill_ = 0;
    fill_ = want_ = skip_ = 0;
}

// Makes the buffer hold at least `size` bytes, keeping the `fill_` bytes already buffered.
bool StreamDecoder::reserve(std::size_t size) noexcept {
    if (size <= capacity_) return true;
    std::uint8_t* fresh = options_.allocate(size);
    if (fresh == nullptr) return false;
    if (fill_ != 0) std::memcpy(fresh, buffer_, fill_);
    release();
    buffer_ = fresh;
    capacity_ = size;
    return true;
}

StreamDecoder::Step StreamDecoder::fail(std::error_code error, std::size_t consumed) noexcept {
    state_ = State::failed;
    Step s;
    s.kind = Kind::error;
    s.consumed = consumed;
    s.error = error;
    return s;
}

StreamDecoder::Step StreamDecoder::feed(Bytes input) noexcept {
    switch (state_) {
        case State::header:
            // A buffer grown for one large message is not kept: memory stays bounded by the usual traffic.
            if (capacity_ > retained_capacity && header_fill_ == 0) release();
            return feed_header(input);
        case State::body: return feed_body(input);
        case State::skip: return feed_skip(input);
        case State::failed: break;
    }
    return fail(Errc::unexpected_packet, 0);
}

StreamDecoder::Step StreamDecoder::feed_header(Bytes input) noexcept {
    if (header_fill_ == 0) {
        // Fast path: the whole header is in the input.
        const auto h = parse_fixed_header(input, options_.version);
        if (h.status == HeaderParse::Status::error) return fail(h.error, 0);
        if (h.status == HeaderParse::Status::complete) {
            header_ = h.header;
            return begin_packet(input.subspan(header_.header_size), header_.header_size);
        }
    }
    // Slow path: gather header bytes one at a time across chunks.
    std::size_t used = 0;
    while (used < input.size()) {
        header_bytes_[header_fill_++] = input[used++];
        const auto h = parse_fixed_header({header_bytes_, header_fill_}, options_.version);
        if (h.status == HeaderParse::Status::error) return fail(h.error, used);
        if (h.status == HeaderParse::Status::complete) {
            header_fill_ = 0;
            header_ = h.header;
            auto step = begin_packet(input.subspan(used), 0);
            step.consumed += used;
            return step;
        }
    }
    return Step{Kind::need_more, used, {}, 0, {}};
}

// Called with the header parsed; `rest` is the input after the header. Step::consumed is relative to `rest`
// plus `header_bytes_used` (the part of the header taken from the same input).
StreamDecoder::Step StreamDecoder::begin_packet(Bytes rest, std::size_t header_bytes_used) noexcept {
    const std::size_t body = header_.remaining_length;
    const bool is_publish = header_.type == PacketType::publish;
    const std::size_t limit = is_publish ? options_.max_message_length : options_.max_control_packet_length;
    fill_ = 0;
    if (options_.max_packet_size != 0 && header_.packet_size() > options_.max_packet_size) {
        return fail(Errc::packet_too_large, header_bytes_used);
    }
    if (header_.packet_size() > limit) {
        if (!is_publish) return fail(Errc::packet_too_large, header_bytes_used);
        // Keep at least the topic length; the real prefix size is known once those two bytes are in.
        const std::size_t budget = limit > header_.header_size ? limit - header_.header_size : 0;
        want_ = std::max<std::size_t>(budget, 2);
        skip_ = body;  // counts down the whole body; the prefix is part of it
        if (!reserve(want_)) return fail(Errc::allocation_failed, header_bytes_used);
        state_ = State::skip;
        auto step = feed_skip(rest);
        step.consumed += header_bytes_used;
        return step;
    }
    if (rest.size() >= body) {  // zero-copy
        Step s;
        s.consumed = header_bytes_used + body;
        auto packet = decode_body(header_, rest.first(body), options_.version);
        if (!packet) return fail(packet.error(), s.consumed);
        s.kind = Kind::packet;
        s.packet = *packet;
        return s;
    }
    want_ = body;
    if (!reserve(body)) return fail(Errc::allocation_failed, header_bytes_used);
    state_ = State::body;
    auto step = feed_body(rest);
    step.consumed += header_bytes_used;
    return step;
}

StreamDecoder::Step StreamDecoder::feed_body(Bytes input) noexcept {
    const std::size_t n = std::min(input.size(), want_ - fill_);
    if (n != 0) std::memcpy(buffer_ + fill_, input.data(), n);
    fill_ += n;
    if (fill_ < want_) return Step{Kind::need_more, n, {}, 0, {}};
    auto step = finish_buffered();
    step.consumed = n;
    return step;
}

StreamDecoder::Step StreamDecoder::finish_buffered() noexcept {
    state_ = State::header;
    auto packet = decode_body(header_, {buffer_, want_}, options_.version);
    if (!packet) return fail(packet.error(), 0);
    Step s;
    s.kind = Kind::packet;
    s.packet = *packet;
    return s;
}

StreamDecoder::Step StreamDecoder::feed_skip(Bytes input) noexcept {
    std::size_t used = 0;
    while (fill_ < want_ && skip_ > 0 && used < input.size()) {  // gather the prefix
        const std::size_t take = std::min({input.size() - used, want_ - fill_, skip_});
        std::memcpy(buffer_ + fill_, input.data() + used, take);
        const bool had_length = fill_ >= 2;
        fill_ += take;
        used += take;
        skip_ -= take;
        if (!had_length && fill_ >= 2) {
            // The variable header is kept whole even when it alone exceeds the limit.
            want_ = std::max(want_, publish_variable_header(header_.flags, buffer_));
            want_ = std::min(want_, std::size_t{header_.remaining_length});
            if (!reserve(want_)) return fail(Errc::allocation_failed, used);
        }
    }
    const std::size_t discard = std::min(input.size() - used, skip_);
    skip_ -= discard;
    used += discard;
    if (skip_ > 0) return Step{Kind::need_more, used, {}, 0, {}};
    auto step = finish_overflow();
    step.consumed = used;
    return step;
}

StreamDecoder::Step StreamDecoder::finish_overflow() noexcept {
    state_ = State::header;
    auto publish = decode_publish_prefix(header_.flags, {buffer_, fill_}, options_.version);
    if (!publish) return fail(publish.error(), 0);
    // Deliver exactly max_message_length - (fixed + variable header) payload bytes (or none).
    const std::size_t limit = options_.max_message_length;
    const std::size_t headers = header_.header_size + (fill_ - publish->payload.size());
    const std::size_t keep = limit > headers ? limit - headers : 0;
    publish->payload = publish->payload.substr(0, std::min(keep, publish->payload.size()));
    Step s;
    s.kind = Kind::overflow;
    s.packet = *publish;
    s.total_size = static_cast<std::uint32_t>(header_.packet_size());
    return s;
}

}  // namespace nmqtt::protocol
