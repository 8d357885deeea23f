// A growable ring buffer: FIFO with push_front, reusing its storage so steady use allocates nothing.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace nmqtt::session::detail {

template <class T>
class Fifo {
public:
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    T& front() noexcept { return slots_[head_]; }
    T& operator[](std::size_t i) noexcept { return slots_[(head_ + i) & (slots_.size() - 1)]; }

    void push_back(T value) {
        grow_if_full();
        slots_[(head_ + size_) & (slots_.size() - 1)] = std::move(value);
        ++size_;
    }
    void push_front(T value) {
        grow_if_full();
        head_ = (head_ + slots_.size() - 1) & (slots_.size() - 1);
        slots_[head_] = std::move(value);
        ++size_;
    }
    void pop_front() noexcept {
        head_ = (head_ + 1) & (slots_.size() - 1);
        --size_;
    }
    void clear() noexcept { head_ = size_ = 0; }

    /// Moves the elements for which `pred` holds to the back of `out`, both keeping their order.
    template <class Pred>
    void move_out_if(Pred pred, Fifo& out) {
        std::size_t kept = 0;
        for (std::size_t i = 0; i < size_; ++i) {
            T& value = (*this)[i];
            if (pred(value)) {
                out.push_back(std::move(value));
            } else {
                (*this)[kept++] = std::move(value);
            }
        }
        size_ = kept;
    }

private:
    void grow_if_full() {
        if (size_ < slots_.size()) return;
        std::vector<T> bigger(slots_.empty() ? 2 : slots_.size() * 2);  // small first: idle clients are many
        for (std::size_t i = 0; i < size_; ++i) bigger[i] = std::move((*this)[i]);
        slots_ = std::move(bigger);
        head_ = 0;
    }
    std::vector<T> slots_;
    std::size_t head_ = 0;
    std::size_t size_ = 0;
};

}  // namespace nmqtt::session::detail
