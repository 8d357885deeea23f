// Private byte reader and writer for the codec: big-endian integers and length-prefixed strings.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

#include "nmqtt/types.hpp"

namespace nmqtt::protocol::detail {

/// Reads fields from a packet body; any read past the end sets `overrun` and yields zeros.
class Reader {
public:
    explicit Reader(Bytes data) noexcept : data_(data) {}

    std::uint8_t u8() noexcept {
        if (!need(1)) return 0;
        return data_[pos_++];
    }
    std::uint16_t u16() noexcept {
        if (!need(2)) return 0;
        const auto v = static_cast<std::uint16_t>((data_[pos_] << 8) | data_[pos_ + 1]);
        pos_ += 2;
        return v;
    }
    std::uint32_t u32() noexcept {
        if (!need(4)) return 0;
        const auto v = (std::uint32_t{data_[pos_]} << 24) | (std::uint32_t{data_[pos_ + 1]} << 16) |
                       (std::uint32_t{data_[pos_ + 2]} << 8) | std::uint32_t{data_[pos_ + 3]};
        pos_ += 4;
        return v;
    }
    /// A variable byte integer (section 1.5.5); sets `too_long` when a fifth byte would be needed.
    std::uint32_t vbi(bool& too_long) noexcept {
        std::uint32_t value = 0;
        for (unsigned i = 0; i < 4; ++i) {
            const auto b = u8();
            value |= std::uint32_t{b & 0x7Fu} << (7 * i);
            if ((b & 0x80) == 0 || overrun_) return value;
        }
        too_long = true;
        return 0;
    }
    std::string_view bytes(std::size_t n) noexcept {
        if (!need(n)) return {};
        std::string_view v{reinterpret_cast<const char*>(data_.data() + pos_), n};
        pos_ += n;
        return v;
    }
    Bytes span(std::size_t n) noexcept {
        if (!need(n)) return {};
        Bytes v = data_.subspan(pos_, n);
        pos_ += n;
        return v;
    }
    std::string_view string() noexcept { return bytes(u16()); }
    std::string_view rest() noexcept { return bytes(data_.size() - pos_); }

    [[nodiscard]] bool overrun() const noexcept { return overrun_; }
    [[nodiscard]] std::size_t remaining() const noexcept { return data_.size() - pos_; }
    [[nodiscard]] std::size_t position() const noexcept { return pos_; }

private:
    bool need(std::size_t n) noexcept {
        if (overrun_ || data_.size() - pos_ < n) {
            overrun_ = true;
            return false;
        }
        return true;
    }
    Bytes data_;
    std::size_t pos_ = 0;
    bool overrun_ = false;
};

/// Writes fields into memory whose size was checked beforehand.
class Writer {
public:
    explicit Writer(std::uint8_t* out) noexcept : p_(out) {}
    void u8(std::uint8_t v) noexcept { *p_++ = v; }
    void u16(std::uint16_t v) noexcept {
        *p_++ = static_cast<std::uint8_t>(v >> 8);
        *p_++ = static_cast<std::uint8_t>(v);
    }
    void u32(std::uint32_t v) noexcept {
        u16(static_cast<std::uint16_t>(v >> 16));
        u16(static_cast<std::uint16_t>(v));
    }
    void raw(Bytes v) noexcept {
        if (!v.empty()) std::memcpy(p_, v.data(), v.size());
        p_ += v.size();
    }
    void bytes(std::string_view v) noexcept {
        if (!v.empty()) std::memcpy(p_, v.data(), v.size());
        p_ += v.size();
    }
    void string(std::string_view v) noexcept {
        u16(static_cast<std::uint16_t>(v.size()));
        bytes(v);
    }
    void remaining_length(std::uint32_t v) noexcept {
        do {
            auto b = static_cast<std::uint8_t>(v & 0x7F);
            v >>= 7;
            if (v != 0) b |= 0x80;
            *p_++ = b;
        } while (v != 0);
    }
    void vbi(std::uint32_t v) noexcept { remaining_length(v); }
    [[nodiscard]] std::uint8_t* position() const noexcept { return p_; }

private:
    std::uint8_t* p_;
};

}  // namespace nmqtt::protocol::detail
