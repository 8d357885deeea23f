// Long reliability runs (label `long`; skipped unless NMQTT_LONG_TESTS=1): the broker restart and client kill
// scenarios of the default suite, repeated and bigger, for the figures of docs/reliability.md.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "reliability_scenarios.hpp"

namespace nmqtt::test {
namespace {

// Runs per scenario: NMQTT_LONG_RUNS (default 5).
int runs() {
    const char* value = std::getenv("NMQTT_LONG_RUNS");
    return value != nullptr ? std::max(1, std::atoi(value)) : 5;
}

TEST(LongRunsTest, BrokerRestartsUnderTenThousandPerQos) {
    if (!long_tests_enabled()) GTEST_SKIP() << "set NMQTT_LONG_TESTS=1";
    for (int run = 0; run < runs(); ++run) {
        SCOPED_TRACE("run " + std::to_string(run + 1));
        expect_lossless(run_broker_restart(10'000, 3, std::chrono::seconds(300)));
    }
}

TEST(LongRunsTest, PublisherKilledFiveTimesWithItsStore) {
    if (!long_tests_enabled()) GTEST_SKIP() << "set NMQTT_LONG_TESTS=1";
    for (int run = 0; run < runs(); ++run) {
        SCOPED_TRACE("run " + std::to_string(run + 1));
        expect_lossless(run_store_kill(10'000, 5, "every", std::chrono::seconds(600)));
    }
}

}  // namespace
}  // namespace nmqtt::test
