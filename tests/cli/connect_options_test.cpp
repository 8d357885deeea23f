// The flags shared by `nmqtt pub` and `nmqtt sub` (tools/nmqtt/connect_options.cpp), without a broker:
// -L URL parsing, the checks of finish() and the ClientOptions they produce.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <unistd.h>

#include <CLI/CLI.hpp>

#include "connect_options.hpp"

namespace nmqtt::cli {
namespace {

BrokerUrl parse_ok(std::string_view text) {
    std::string error;
    auto url = parse_broker_url(text, error);
    EXPECT_TRUE(url.has_value()) << text << ": " << error;
    EXPECT_EQ(error, "");
    return url.value_or(BrokerUrl{});
}

std::string parse_error(std::string_view text) {
    std::string error;
    EXPECT_FALSE(parse_broker_url(text, error).has_value()) << text;
    return error;
}

TEST(BrokerUrlTest, HostAndTopic) {
    const auto url = parse_ok("mqtt://broker.local/a/b/c");
    EXPECT_FALSE(url.secure);
    EXPECT_EQ(url.host, "broker.local");
    EXPECT_FALSE(url.port.has_value());
    EXPECT_FALSE(url.username.has_value());
    EXPECT_FALSE(url.password.has_value());
    EXPECT_EQ(url.topic, "a/b/c");
}

TEST(BrokerUrlTest, EverythingGiven) {
    const auto url = parse_ok("mqtts://alice:s3cret:x@127.0.0.1:8884/sensors/+/temp");
    EXPECT_TRUE(url.secure);
    EXPECT_EQ(url.host, "127.0.0.1");
    EXPECT_EQ(url.port, std::optional<std::uint16_t>(8884));
    EXPECT_EQ(url.username, std::optional<std::string>("alice"));
    EXPECT_EQ(url.password, std::optional<std::string>("s3cret:x"));  // only the first ':' splits
    EXPECT_EQ(url.topic, "sensors/+/temp");
}

TEST(BrokerUrlTest, UserWithoutPassword) {
    const auto url = parse_ok("mqtt://bob@h/t");
    EXPECT_EQ(url.username, std::optional<std::string>("bob"));
    EXPECT_FALSE(url.password.has_value());
}

TEST(BrokerUrlTest, AtSignInTheTopicIsNotUserInfo) {
    const auto url = parse_ok("mqtt://h:1883/mail/a@b");
    EXPECT_EQ(url.host, "h");
    EXPECT_FALSE(url.username.has_value());
    EXPECT_EQ(url.topic, "mail/a@b");
}

TEST(BrokerUrlTest, Ipv6LiteralInBrackets) {
    const auto with_port = parse_ok("mqtt://[::1]:1884/t");
    EXPECT_EQ(with_port.host, "::1");
    EXPECT_EQ(with_port.port, std::optional<std::uint16_t>(1884));
    const auto without_port = parse_ok("mqtt://[::1]/t");
    EXPECT_EQ(without_port.host, "::1");
    EXPECT_FALSE(without_port.port.has_value());
}

TEST(BrokerUrlTest, SchemeIsCaseInsensitive) {
    EXPECT_TRUE(parse_ok("MQTTS://h/t").secure);
    EXPECT_FALSE(parse_ok("Mqtt://h/t").secure);
}

TEST(BrokerUrlTest, Refusals) {
    EXPECT_NE(parse_error("http://h/t").find("mqtt://"), std::string::npos);
    EXPECT_NE(parse_error("h/t").find("mqtt://"), std::string::npos);
    EXPECT_NE(parse_error("mqtt://h").find("no topic"), std::string::npos);
    EXPECT_NE(parse_error("mqtt://h/").find("no topic"), std::string::npos);
    EXPECT_NE(parse_error("mqtt:///t").find("missing host"), std::string::npos);
    EXPECT_NE(parse_error("mqtt://u:p@/t").find("missing host"), std::string::npos);
    EXPECT_NE(parse_error("mqtt://h:0/t").find("bad port"), std::string::npos);
    EXPECT_NE(parse_error("mqtt://h:65536/t").find("bad port"), std::string::npos);
    EXPECT_NE(parse_error("mqtt://h:12x/t").find("bad port"), std::string::npos);
    EXPECT_NE(parse_error("mqtt://h:/t").find("bad port"), std::string::npos);
    EXPECT_NE(parse_error("mqtt://[::1/t").find("'['"), std::string::npos);
    EXPECT_NE(parse_error("mqtt://[::1]x/t").find("after ']'"), std::string::npos);
}

/// Parses `args` (without the program name) into fresh ConnectOptions and runs finish().
struct Parsed {
    ConnectOptions options{"test"};
    std::optional<std::string> error;
    std::string url_topic;
};

std::unique_ptr<Parsed> parse(std::vector<std::string> args) {
    auto parsed = std::make_unique<Parsed>();
    CLI::App app("test");
    app.set_help_flag("--help");
    parsed->options.add_to(app);
    std::reverse(args.begin(), args.end());  // CLI11 takes a vector in reverse order
    app.parse(args);
    parsed->error = parsed->options.finish(parsed->url_topic);
    return parsed;
}

TEST(ConnectOptionsTest, Defaults) {
    const auto p = parse({});
    ASSERT_FALSE(p->error) << *p->error;
    EXPECT_EQ(p->options.host(), "localhost");
    EXPECT_EQ(p->options.port(), 1883);
    EXPECT_FALSE(p->options.is_secure());
    const auto o = p->options.client_options();
    EXPECT_EQ(o.client_id.rfind("nmqtt-test-", 0), 0u) << o.client_id;
    EXPECT_EQ(o.keepalive_seconds, 60);
    EXPECT_TRUE(o.clean_session);
    EXPECT_FALSE(o.username);
    EXPECT_FALSE(o.password);
    EXPECT_TRUE(o.tls.verify_peer);
    EXPECT_GT(o.max_message_length, 268'435'455u);  // any packet a broker may forward
}

TEST(ConnectOptionsTest, GeneratedIdsDiffer) {
    EXPECT_NE(parse({})->options.client_options().client_id, parse({})->options.client_options().client_id);
}

TEST(ConnectOptionsTest, ExplicitFlags) {
    const auto p = parse({"-h", "::1", "-p", "1999", "-i", "me", "-u", "alice", "-P", "pw", "-k", "0", "-c"});
    ASSERT_FALSE(p->error) << *p->error;
    EXPECT_EQ(p->options.host(), "::1");
    EXPECT_EQ(p->options.port(), 1999);
    const auto o = p->options.client_options();
    EXPECT_EQ(o.client_id, "me");
    EXPECT_EQ(o.username, std::optional<std::string>("alice"));
    EXPECT_EQ(o.password, std::optional<std::string>("pw"));
    EXPECT_EQ(o.keepalive_seconds, 0);
    EXPECT_FALSE(o.clean_session);
}

TEST(ConnectOptionsTest, IdPrefixIsFollowedByTheProcessIdAndCountsAsAnIdForDashC) {
    const auto p = parse({"-I", "probe-", "-c"});
    ASSERT_FALSE(p->error) << *p->error;
    EXPECT_EQ(p->options.client_options().client_id, "probe-" + std::to_string(::getpid()));
    EXPECT_FALSE(p->options.client_options().clean_session);
}

TEST(ConnectOptionsTest, QuietAndNodelayAreAccepted) {
    const auto p = parse({"--quiet", "--nodelay"});
    ASSERT_FALSE(p->error) << *p->error;
    testing::internal::CaptureStderr();
    p->options.error("not shown");
    EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST(ConnectOptionsTest, EmptyPasswordIsSent) {
    const auto p = parse({"-u", "alice", "-P", ""});
    ASSERT_FALSE(p->error) << *p->error;
    EXPECT_EQ(p->options.client_options().password, std::optional<std::string>(""));
}

TEST(ConnectOptionsTest, TlsFlagsTurnTlsOnAndPort8883) {
    for (const auto& flag : std::vector<std::vector<std::string>>{
             {"--cafile", "ca.pem"}, {"--capath", "certs"}, {"--tls-use-os-certs"},
             {"--cert", "c.pem", "--key", "k.pem"}}) {
        const auto p = parse(flag);
        ASSERT_FALSE(p->error) << *p->error;
        EXPECT_TRUE(p->options.is_secure()) << flag.front();
        EXPECT_EQ(p->options.port(), 8883) << flag.front();
    }
    const auto p = parse({"--cafile", "ca.pem", "--capath", "d", "--cert", "c", "--key", "k", "--insecure"});
    const auto tls = p->options.client_options().tls;
    EXPECT_EQ(tls.ca_file, "ca.pem");
    EXPECT_EQ(tls.ca_path, "d");
    EXPECT_EQ(tls.cert_file, "c");
    EXPECT_EQ(tls.key_file, "k");
    EXPECT_FALSE(tls.verify_peer);
}

TEST(ConnectOptionsTest, UrlFillsHostPortCredentialsAndTopic) {
    const auto p = parse({"-L", "mqtts://bob:pw@example.test:9000/a/b"});
    ASSERT_FALSE(p->error) << *p->error;
    EXPECT_EQ(p->options.host(), "example.test");
    EXPECT_EQ(p->options.port(), 9000);
    EXPECT_TRUE(p->options.is_secure());
    EXPECT_EQ(p->url_topic, "a/b");
    const auto o = p->options.client_options();
    EXPECT_EQ(o.username, std::optional<std::string>("bob"));
    EXPECT_EQ(o.password, std::optional<std::string>("pw"));
}

TEST(ConnectOptionsTest, UrlDefaultPorts) {
    EXPECT_EQ(parse({"-L", "mqtt://h/t"})->options.port(), 1883);
    EXPECT_EQ(parse({"-L", "mqtts://h/t"})->options.port(), 8883);
}

TEST(ConnectOptionsTest, ExplicitCredentialsWinOverTheUrl) {
    const auto p = parse({"-L", "mqtt://bob:pw@h/t", "-u", "carol", "-P", "other"});
    ASSERT_FALSE(p->error) << *p->error;
    const auto o = p->options.client_options();
    EXPECT_EQ(o.username, std::optional<std::string>("carol"));
    EXPECT_EQ(o.password, std::optional<std::string>("other"));
}

TEST(ConnectOptionsTest, UsageErrors) {
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"-L", "mqtt://h/t", "-h", "x"}, "-L cannot be combined"},
        {{"-L", "mqtt://h/t", "-p", "1"}, "-L cannot be combined"},
        {{"-L", "mqtt://h"}, "bad -L URL"},
        {{"-P", "pw"}, "-P needs -u"},
        {{"-c"}, "-c needs a client id"},
        {{"-i", "a", "-I", "b"}, "-i and -I cannot be used together"},
        {{"--insecure"}, "--insecure needs TLS"},
        {{"--cert", "c"}, "--cert and --key go together"},
        {{"--key", "k"}, "--cert and --key go together"},
        {{"--will-payload", "x"}, "need --will-topic"},
        {{"--will-retain"}, "need --will-topic"},
        {{"--will-topic", "a/+"}, "bad --will-topic"},
    };
    for (const auto& [args, message] : cases) {
        const auto p = parse(args);
        ASSERT_TRUE(p->error.has_value()) << args.front();
        EXPECT_NE(p->error->find(message), std::string::npos) << *p->error;
    }
}

TEST(ConnectOptionsTest, OutOfRangeValuesAreRefusedByTheParser) {
    EXPECT_THROW((void)parse({"-p", "0"}), CLI::ValidationError);
    EXPECT_THROW((void)parse({"-p", "65536"}), CLI::ParseError);
    EXPECT_THROW((void)parse({"-k", "70000"}), CLI::ParseError);
    EXPECT_THROW((void)parse({"--will-qos", "3"}), CLI::ValidationError);
}

TEST(ConnectOptionsTest, WillFlags) {
    const auto p = parse({"--will-topic", "status/me", "--will-payload", "offline", "--will-qos", "2", "--will-retain"});
    ASSERT_FALSE(p->error) << *p->error;
    EXPECT_TRUE(p->options.has_will());
    EXPECT_EQ(p->options.will_topic(), "status/me");
    EXPECT_EQ(p->options.will_payload(), "offline");
    EXPECT_EQ(p->options.will_qos(), 2);
    EXPECT_TRUE(p->options.will_retain());
}

TEST(ConnectionFailureMessageTest, NamesTheNodeMcuReasonAndCode) {
    EXPECT_EQ(connection_failure_message(-5), "connection failed: CONN_FAIL_SERVER_NOT_FOUND (-5)");
    EXPECT_EQ(connection_failure_message(-3), "connection failed: CONN_FAIL_DNS (-3)");
    EXPECT_EQ(connection_failure_message(4), "connection failed: CONNACK_REFUSED_BAD_USER_OR_PASS (4)");
}

}  // namespace
}  // namespace nmqtt::cli
