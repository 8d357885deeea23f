// Result<T>: a value or an error code, until C++23 std::expected is available.
#pragma once

#include <cassert>
#include <optional>
#include <system_error>
#include <utility>

#include "nmqtt/error.hpp"

namespace nmqtt {

/// Holds either a T or a non-zero std::error_code. Never throws; works with -fno-exceptions.
template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
    Result(std::error_code error) : error_(error) { assert(error); }  // NOLINT(google-explicit-constructor)
    Result(Errc error) : error_(make_error_code(error)) {}  // NOLINT(google-explicit-constructor)

    [[nodiscard]] bool has_value() const noexcept { return value_.has_value(); }
    explicit operator bool() const noexcept { return has_value(); }
    [[nodiscard]] std::error_code error() const noexcept { return error_; }

    /// Precondition: has_value().
    [[nodiscard]] T& value() & noexcept { assert(value_); return *value_; }
    [[nodiscard]] const T& value() const& noexcept { assert(value_); return *value_; }
    [[nodiscard]] T&& value() && noexcept { assert(value_); return std::move(*value_); }
    T* operator->() noexcept { return &value(); }
    const T* operator->() const noexcept { return &value(); }
    T& operator*() & noexcept { return value(); }
    const T& operator*() const& noexcept { return value(); }

private:
    std::optional<T> value_;
    std::error_code error_;
};

}  // namespace nmqtt
