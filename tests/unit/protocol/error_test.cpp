// Errc as std::error_code: every value has its own message; the NodeMCU reason names are the reference's.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "nmqtt/error.hpp"

namespace nmqtt::test {
namespace {

TEST(Errc, every_value_has_its_own_message) {
    std::set<std::string> seen;
    for (int v = 1; v <= static_cast<int>(last_errc); ++v) {
        const std::error_code ec = static_cast<Errc>(v);
        EXPECT_STREQ(ec.category().name(), "nmqtt");
        EXPECT_NE(ec.message(), "unknown nmqtt error") << v;
        EXPECT_TRUE(seen.insert(ec.message()).second) << "duplicate message for " << v << ": " << ec.message();
    }
    EXPECT_EQ(std::error_code(static_cast<Errc>(999)).message(), "unknown nmqtt error");
}

TEST(Errc, converts_implicitly_and_compares) {
    const std::error_code ec = Errc::queue_full;
    EXPECT_TRUE(ec);
    EXPECT_EQ(ec, Errc::queue_full);
    EXPECT_NE(ec, Errc::not_connected);
}

TEST(ReasonName, matches_the_nodemcu_constants) {
    EXPECT_EQ(reason_name(-5), "CONN_FAIL_SERVER_NOT_FOUND");
    EXPECT_EQ(reason_name(-4), "CONN_FAIL_NOT_A_CONNACK_MSG");
    EXPECT_EQ(reason_name(-3), "CONN_FAIL_DNS");
    EXPECT_EQ(reason_name(-2), "CONN_FAIL_TIMEOUT_RECEIVING");
    EXPECT_EQ(reason_name(-1), "CONN_FAIL_TIMEOUT_SENDING");
    EXPECT_EQ(reason_name(0), "CONNACK_ACCEPTED");
    EXPECT_EQ(reason_name(1), "CONNACK_REFUSED_PROTOCOL_VER");
    EXPECT_EQ(reason_name(2), "CONNACK_REFUSED_ID_REJECTED");
    EXPECT_EQ(reason_name(3), "CONNACK_REFUSED_SERVER_UNAVAILABLE");
    EXPECT_EQ(reason_name(4), "CONNACK_REFUSED_BAD_USER_OR_PASS");
    EXPECT_EQ(reason_name(5), "CONNACK_REFUSED_NOT_AUTHORIZED");
    EXPECT_EQ(reason_name(6), "UNKNOWN");
    EXPECT_EQ(reason_name(-6), "UNKNOWN");
}

}  // namespace
}  // namespace nmqtt::test
