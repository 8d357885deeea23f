// FakeClock: a time value tests advance explicitly and pass to the core as `now`. It never reads a real clock.
//   FakeClock clock;
//   session.connection_opened(clock.now());
//   clock.advance(std::chrono::seconds(5));
//   session.handle_timeout(clock.now());
#pragma once

#include <chrono>

#include "nmqtt/types.hpp"

namespace nmqtt::test {

class FakeClock {
public:
    /// Starts one hour after the clock's epoch, so that a TimePoint{} used as "unset" never equals now().
    FakeClock() = default;
    explicit FakeClock(TimePoint start) : now_(start) {}

    [[nodiscard]] TimePoint now() const noexcept { return now_; }

    /// Moves time forward by `d` (a negative duration is a test bug and is ignored).
    void advance(Duration d) noexcept {
        if (d > Duration::zero()) now_ += d;
    }

    /// Moves time forward to `t` if it lies in the future; never goes back.
    void advance_to(TimePoint t) noexcept {
        if (t > now_) now_ = t;
    }

private:
    TimePoint now_ = TimePoint{} + std::chrono::hours(1);
};

}  // namespace nmqtt::test
