// Replaces the global operator new/delete of a test executable with malloc/free wrappers that count the
// allocations made on the current thread while an AllocationCounter is alive. Include it in exactly ONE .cpp
// of an executable (it defines the replacement operators); the counted code should call only the code under
// test, never gtest.
//   { AllocationCounter counter; do_steady_state_work(); EXPECT_EQ(counter.stop(), 0U); }
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>

namespace nmqtt::test {
namespace detail {
inline thread_local bool counting = false;
inline thread_local std::size_t allocations = 0;

inline void* counted_malloc(std::size_t size) noexcept {
    if (counting) ++allocations;
    return std::malloc(size == 0 ? 1 : size);
}

inline void* counted_aligned(std::size_t size, std::align_val_t align) noexcept {
    if (counting) ++allocations;
    const auto a = static_cast<std::size_t>(align);
    return std::aligned_alloc(a, size == 0 ? a : (size + a - 1) / a * a);
}
}  // namespace detail

/// Counts this thread's allocations from construction until stop() or destruction.
class AllocationCounter {
public:
    AllocationCounter() noexcept {
        detail::allocations = 0;
        detail::counting = true;
    }
    ~AllocationCounter() { detail::counting = false; }
    AllocationCounter(const AllocationCounter&) = delete;
    AllocationCounter& operator=(const AllocationCounter&) = delete;
    /// Stops counting and returns the allocations counted.
    std::size_t stop() noexcept {
        detail::counting = false;
        return detail::allocations;
    }
};

}  // namespace nmqtt::test

// The replacements pair malloc with free, which GCC cannot see through the operator names.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
    if (void* p = nmqtt::test::detail::counted_malloc(size)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
    if (void* p = nmqtt::test::detail::counted_malloc(size)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return nmqtt::test::detail::counted_malloc(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return nmqtt::test::detail::counted_malloc(size); }
void* operator new(std::size_t size, std::align_val_t align) {
    if (void* p = nmqtt::test::detail::counted_aligned(size, align)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t align) {
    if (void* p = nmqtt::test::detail::counted_aligned(size, align)) return p;
    throw std::bad_alloc();
}
void* operator new(std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
    return nmqtt::test::detail::counted_aligned(size, align);
}
void* operator new[](std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
    return nmqtt::test::detail::counted_aligned(size, align);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
#pragma GCC diagnostic pop
