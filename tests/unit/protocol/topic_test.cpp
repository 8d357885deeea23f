// Topic names, topic filters and matching (section 4.7).
#include <gtest/gtest.h>

#include <string>

#include "nmqtt/error.hpp"
#include "nmqtt/protocol/topic.hpp"

namespace nmqtt::test {
namespace {

using protocol::topic_matches;
using protocol::validate_topic_filter;
using protocol::validate_topic_name;

std::error_code err(Errc e) { return make_error_code(e); }

TEST(TopicName, valid_names) {
    for (const char* t : {"a", "a/b", "/", "//", "/a", "a/", " ", "$SYS/broker", "sport/tennis/player1",
                          "\xC3\xA9t\xC3\xA9", "\xF0\x9F\x98\x80"}) {
        SCOPED_TRACE(t);
        EXPECT_FALSE(validate_topic_name(t));
    }
}

TEST(TopicName, MQTT_4_7_1_1_wildcards_rejected) {
    for (const char* t : {"#", "+", "a/#", "a/+", "a/+/b", "a#", "a+b", "+/a"}) {
        SCOPED_TRACE(t);
        EXPECT_EQ(validate_topic_name(t), err(Errc::bad_topic_name));
    }
}

TEST(TopicName, MQTT_4_7_3_1_empty_rejected) {
    EXPECT_EQ(validate_topic_name(""), err(Errc::bad_topic_name));
}

TEST(TopicName, MQTT_4_7_3_2_nul_rejected) {
    EXPECT_EQ(validate_topic_name(std::string_view("a\0b", 3)), err(Errc::bad_utf8));
}

TEST(TopicName, MQTT_1_5_3_1_bad_utf8_rejected) {
    EXPECT_EQ(validate_topic_name("a\xFF"), err(Errc::bad_utf8));
    EXPECT_EQ(validate_topic_name("\xED\xBF\xBF"), err(Errc::bad_utf8));  // surrogate U+DFFF
}

TEST(TopicName, MQTT_4_7_3_3_length_65535_accepted_65536_rejected) {
    const std::string max(65'535, 'a');
    EXPECT_FALSE(validate_topic_name(max));
    const std::string over(65'536, 'a');
    EXPECT_EQ(validate_topic_name(over), err(Errc::bad_topic_name));
}

TEST(TopicFilter, MQTT_4_7_1_2_and_3_valid_filters) {
    for (const char* f : {"#", "a/#", "a/b/#", "/#", "+", "+/a/+", "a/+/b", "+/+", "/+", "+/", "a/+/#", "+/#",
                          "a", "/", "$SYS/#", "$SYS/+", "sport/tennis/+"}) {
        SCOPED_TRACE(f);
        EXPECT_FALSE(validate_topic_filter(f));
    }
}

TEST(TopicFilter, MQTT_4_7_1_2_misplaced_hash_rejected) {
    for (const char* f : {"a#", "a/#/b", "#/", "#/a", "a/b#", "##", "#+", "a/#/"}) {
        SCOPED_TRACE(f);
        EXPECT_EQ(validate_topic_filter(f), err(Errc::bad_topic_filter));
    }
}

TEST(TopicFilter, MQTT_4_7_1_3_partial_plus_rejected) {
    for (const char* f : {"a+", "a/+b", "+a", "a/b+/c", "++", "+#", "sport+"}) {
        SCOPED_TRACE(f);
        EXPECT_EQ(validate_topic_filter(f), err(Errc::bad_topic_filter));
    }
}

TEST(TopicFilter, MQTT_4_7_3_1_empty_rejected) {
    EXPECT_EQ(validate_topic_filter(""), err(Errc::bad_topic_filter));
}

TEST(TopicFilter, bad_utf8_rejected) {
    EXPECT_EQ(validate_topic_filter(std::string_view("a/\0", 3)), err(Errc::bad_utf8));
    EXPECT_EQ(validate_topic_filter("a/\xC0\x80"), err(Errc::bad_utf8));
}

TEST(TopicFilter, MQTT_4_7_3_3_length_65535_accepted_65536_rejected) {
    std::string max(65'533, 'a');
    max += "/#";
    EXPECT_FALSE(validate_topic_filter(max));
    const std::string over(65'536, 'a');
    EXPECT_EQ(validate_topic_filter(over), err(Errc::bad_topic_filter));
}

struct MatchCase {
    const char* filter;
    const char* topic;
    bool matches;
};

// Examples of section 4.7.1 and a few edges.
constexpr MatchCase match_cases[] = {
    {"sport/tennis/player1/#", "sport/tennis/player1", true},
    {"sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
    {"sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
    {"sport/#", "sport", true},  // "#" also matches the parent level
    {"sport/tennis/+", "sport/tennis/player1", true},
    {"sport/tennis/+", "sport/tennis/player1/ranking", false},
    {"sport/+", "sport", false},
    {"sport/+", "sport/", true},  // an empty level is a level
    {"+/+", "/finance", true},
    {"/+", "/finance", true},
    {"+", "/finance", false},
    {"#", "a", true},
    {"#", "a/b/c", true},
    {"#", "/", true},
    {"+", "a", true},
    {"+", "a/b", false},
    {"a/+/c", "a/b/c", true},
    {"a/+/c", "a/b/d", false},
    {"a/+/c", "a//c", true},
    {"a/b", "a/b", true},
    {"a/b", "a/b/", false},
    {"a/b", "a", false},
    {"a", "a/b", false},
    {"a/#", "a", true},
    {"a/#", "ab", false},
    {"a/+/#", "a/b", true},
    {"a/+/#", "a", false},
    {"+/+/+", "a/b", false},
    {"a/b/c", "a/b", false},
};

TEST(TopicMatch, section_4_7_1_examples) {
    for (const auto& c : match_cases) {
        SCOPED_TRACE(std::string(c.filter) + " vs " + c.topic);
        EXPECT_EQ(topic_matches(c.filter, c.topic), c.matches);
    }
}

TEST(TopicMatch, MQTT_4_7_2_1_wildcard_first_does_not_match_dollar_topics) {
    EXPECT_FALSE(topic_matches("#", "$SYS"));
    EXPECT_FALSE(topic_matches("#", "$SYS/broker/uptime"));
    EXPECT_FALSE(topic_matches("+/monitor/Clients", "$SYS/monitor/Clients"));
    EXPECT_FALSE(topic_matches("+", "$"));
    EXPECT_TRUE(topic_matches("$SYS/#", "$SYS/monitor/Clients"));
    EXPECT_TRUE(topic_matches("$SYS/monitor/+", "$SYS/monitor/Clients"));
    EXPECT_TRUE(topic_matches("$SYS/#", "$SYS"));
    // '$' only matters as the first character of the topic.
    EXPECT_TRUE(topic_matches("#", "a/$SYS"));
    EXPECT_TRUE(topic_matches("a/+", "a/$x"));
}

TEST(TopicMatch, MQTT_4_7_3_4_case_sensitive_and_literal) {
    EXPECT_FALSE(topic_matches("ACCOUNTS", "Accounts"));
    EXPECT_FALSE(topic_matches("Accounts", "ACCOUNTS"));
    EXPECT_TRUE(topic_matches("Accounts", "Accounts"));
    EXPECT_FALSE(topic_matches("a b", "a  b"));
    EXPECT_FALSE(topic_matches("\xC3\xA9", "e\xCC\x81"));  // no Unicode normalisation
    EXPECT_TRUE(topic_matches("+/\xC3\xA9", "x/\xC3\xA9"));
}

TEST(TopicMatch, long_topics) {
    std::string topic(65'535, 'a');
    topic[100] = '/';
    EXPECT_TRUE(topic_matches("#", topic));
    EXPECT_TRUE(topic_matches("+/+", topic));
    EXPECT_FALSE(topic_matches("+", topic));
    EXPECT_TRUE(topic_matches(topic, topic));
}

}  // namespace
}  // namespace nmqtt::test
