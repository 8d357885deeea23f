// Packet-id containers: IdSet (a bitmap, allocated on first use) and IdMap (open addressing, id -> index).
#pragma once

#include <cstdint>
#include <vector>

#include "nmqtt/types.hpp"

namespace nmqtt::session::detail {

/// A set of packet ids as a 65,536-bit bitmap (8 KiB), allocated on first insert.
class IdSet {
public:
    [[nodiscard]] bool contains(PacketId id) const noexcept {
        return !words_.empty() && (words_[id >> 6] >> (id & 63) & 1U) != 0;
    }
    /// Returns false when already present.
    bool insert(PacketId id) {
        if (words_.empty()) words_.assign(1024, 0);
        auto& w = words_[id >> 6];
        const std::uint64_t bit = std::uint64_t{1} << (id & 63);
        if ((w & bit) != 0) return false;
        w |= bit;
        ++count_;
        return true;
    }
    bool erase(PacketId id) noexcept {
        if (!contains(id)) return false;
        words_[id >> 6] &= ~(std::uint64_t{1} << (id & 63));
        --count_;
        return true;
    }
    void clear() noexcept {
        for (auto& w : words_) w = 0;
        count_ = 0;
    }
    [[nodiscard]] std::size_t size() const noexcept { return count_; }

private:
    std::vector<std::uint64_t> words_;
    std::size_t count_ = 0;
};

/// Maps in-use packet ids to record indices. Linear probing with backward-shift deletion; the table doubles
/// when half full, so lookups stay O(1) whatever the in-flight window (no walk over the queue per ack).
class IdMap {
public:
    static constexpr std::uint32_t npos = 0xFFFFFFFF;

    [[nodiscard]] std::uint32_t find(PacketId id) const noexcept {
        if (slots_.empty()) return npos;
        for (std::size_t i = home(id);; i = next(i)) {
            if (slots_[i].id == id) return slots_[i].index;
            if (slots_[i].id == 0) return npos;
        }
    }
    void insert(PacketId id, std::uint32_t index) {
        if ((count_ + 1) * 2 > slots_.size()) rehash(slots_.empty() ? 16 : slots_.size() * 2);
        std::size_t i = home(id);
        while (slots_[i].id != 0 && slots_[i].id != id) i = next(i);
        if (slots_[i].id == 0) ++count_;
        slots_[i] = {id, index};
    }
    void erase(PacketId id) noexcept {
        if (slots_.empty()) return;
        std::size_t i = home(id);
        while (slots_[i].id != id) {
            if (slots_[i].id == 0) return;
            i = next(i);
        }
        // Backward shift: move later entries of the cluster into the hole when their home allows it.
        for (std::size_t j = next(i);; j = next(j)) {
            if (slots_[j].id == 0) break;
            const std::size_t h = home(slots_[j].id);
            const bool movable = (i <= j) ? (h <= i || h > j) : (h <= i && h > j);
            if (movable) {
                slots_[i] = slots_[j];
                i = j;
            }
        }
        slots_[i] = {};
        --count_;
    }
    void clear() noexcept {
        for (auto& s : slots_) s = {};
        count_ = 0;
    }
    [[nodiscard]] std::size_t size() const noexcept { return count_; }

private:
    struct Slot {
        PacketId id = 0;
        std::uint32_t index = 0;
    };
    [[nodiscard]] std::size_t home(PacketId id) const noexcept { return (id * 40503U) & (slots_.size() - 1); }
    [[nodiscard]] std::size_t next(std::size_t i) const noexcept { return (i + 1) & (slots_.size() - 1); }
    void rehash(std::size_t capacity) {
        std::vector<Slot> old(capacity);
        old.swap(slots_);
        count_ = 0;
        for (const auto& s : old) {
            if (s.id != 0) insert(s.id, s.index);
        }
    }
    std::vector<Slot> slots_;
    std::size_t count_ = 0;
};

}  // namespace nmqtt::session::detail
