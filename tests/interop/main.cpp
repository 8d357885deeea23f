// The interop matrix's main(): --broker=mosquitto|aedes|rabbitmq|none chooses the broker that the gtest
// Environment starts once for the whole run (tests/support/interop_broker.hpp).
#include <gtest/gtest.h>

#include "support/interop_broker.hpp"

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    nmqtt::test::add_interop_environment(argc, argv);
    return RUN_ALL_TESTS();
}
