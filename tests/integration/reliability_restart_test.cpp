// Broker restarts under a stream: 10,000 QoS 1 and 10,000 QoS 2 messages while mosquitto (persistence on) is
// stopped with SIGTERM and started again twice; a subscriber with a persistent session counts 0 lost at QoS 1
// and 2, 0 duplicated at QoS 2, in order. (About 2 s; tests/reliability repeats it with NMQTT_LONG_TESTS=1.)
#include <gtest/gtest.h>

#include "reliability_scenarios.hpp"

namespace nmqtt::test {
namespace {

TEST(ReliabilityRestartTest, TenThousandPerQosSurviveTwoBrokerRestarts) {
    expect_lossless(run_broker_restart(10'000, 2, std::chrono::seconds(60)));
}

}  // namespace
}  // namespace nmqtt::test
