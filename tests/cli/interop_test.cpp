// Interoperability with the mosquitto command line clients: nmqtt pub -> mosquitto_sub and
// mosquitto_pub -> nmqtt sub, text, binary and retained.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cli_runner.hpp"

namespace nmqtt::test {
namespace {

using namespace std::string_literals;

std::vector<std::string> mosquitto_sub(const MosquittoFixture& broker, std::vector<std::string> args) {
    args.insert(args.begin(), {"mosquitto_sub", "-V", "mqttv311"});
    return at_broker(broker, std::move(args));
}

std::vector<std::string> mosquitto_pub(const MosquittoFixture& broker, std::vector<std::string> args) {
    args.insert(args.begin(), {"mosquitto_pub", "-V", "mqttv311"});
    return at_broker(broker, std::move(args));
}

std::string binary_content() {
    std::string content = "\0\x01\xff\n\r\0"s;
    for (int i = 0; i < 512; ++i) content.push_back(static_cast<char>((i * 7) % 256));
    return content;
}

TEST(CliInteropTest, NmqttPubToMosquittoSub) {
    MosquittoFixture broker;
    auto sub = start_subscriber(broker, "msub", mosquitto_sub(broker, {"-i", "msub", "-t", "x/#", "-v", "-C", "2"}));
    EXPECT_EQ(run_nmqtt("pub", at_broker(broker, {"-t", "x/1", "-m", "from nmqtt", "-q", "1"})).status.exit_code,
              exit_ok);
    EXPECT_EQ(run_nmqtt("pub", at_broker(broker, {"-t", "x/2", "-m", "again", "-q", "2"})).status.exit_code, exit_ok);
    EXPECT_EQ(finish(sub).exit_code, 0) << sub.stderr_text();
    EXPECT_EQ(sub.stdout_text(), "x/1 from nmqtt\nx/2 again\n");
}

TEST(CliInteropTest, NmqttPubBinaryFileToMosquittoSub) {
    MosquittoFixture broker;
    TempDir dir;
    const std::string content = binary_content();
    write_file(dir / "in.bin", content);
    auto sub = start_subscriber(broker, "msub", mosquitto_sub(broker, {"-i", "msub", "-t", "bin", "-N", "-C", "1"}));
    const auto pub = run_nmqtt("pub", at_broker(broker, {"-t", "bin", "-f", (dir / "in.bin").string(), "-q", "1"}));
    EXPECT_EQ(pub.status.exit_code, exit_ok) << pub.err;
    EXPECT_EQ(finish(sub).exit_code, 0) << sub.stderr_text();
    EXPECT_TRUE(sub.stdout_text() == content) << "payload differs, size " << sub.stdout_text().size();
}

TEST(CliInteropTest, NmqttRetainedSeenByMosquittoSub) {
    MosquittoFixture broker;
    ASSERT_EQ(run_nmqtt("pub", at_broker(broker, {"-t", "kept", "-m", "value", "-r"})).status.exit_code, exit_ok);
    const auto sub = run_process(mosquitto_sub(broker, {"-t", "kept", "-C", "1", "-v"}), cli_deadline);
    EXPECT_EQ(sub.status.exit_code, 0) << sub.err;
    EXPECT_EQ(sub.out, "kept value\n");
}

TEST(CliInteropTest, MosquittoPubToNmqttSub) {
    MosquittoFixture broker;
    auto sub = start_nmqtt_sub(broker, "nsub", {"-t", "y/+", "-v", "-q", "2", "-C", "2"});
    EXPECT_EQ(run_process(mosquitto_pub(broker, {"-t", "y/a", "-m", "from mosquitto", "-q", "1"}), cli_deadline)
                  .status.exit_code,
              0);
    EXPECT_EQ(run_process(mosquitto_pub(broker, {"-t", "y/b", "-m", "qos two", "-q", "2"}), cli_deadline)
                  .status.exit_code,
              0);
    EXPECT_EQ(finish(sub).exit_code, exit_ok) << sub.stderr_text();
    EXPECT_EQ(sub.stdout_text(), "y/a from mosquitto\ny/b qos two\n");
}

TEST(CliInteropTest, MosquittoPubBinaryFileToNmqttSub) {
    MosquittoFixture broker;
    TempDir dir;
    const std::string content = binary_content();
    write_file(dir / "in.bin", content);
    auto sub = start_nmqtt_sub(broker, "nsub", {"-t", "bin", "-N", "-C", "1"});
    const auto pub = run_process(mosquitto_pub(broker, {"-t", "bin", "-f", (dir / "in.bin").string()}), cli_deadline);
    EXPECT_EQ(pub.status.exit_code, 0) << pub.err;
    EXPECT_EQ(finish(sub).exit_code, exit_ok) << sub.stderr_text();
    EXPECT_TRUE(sub.stdout_text() == content) << "payload differs, size " << sub.stdout_text().size();
}

TEST(CliInteropTest, MosquittoPubLinesToNmqttSub) {
    MosquittoFixture broker;
    auto sub = start_nmqtt_sub(broker, "nsub", {"-t", "l", "-C", "3"});
    const auto pub =
        run_process(mosquitto_pub(broker, {"-t", "l", "-l", "-q", "1"}), cli_deadline, {.stdin_data = "a\nb\nc\n"});
    EXPECT_EQ(pub.status.exit_code, 0) << pub.err;
    EXPECT_EQ(finish(sub).exit_code, exit_ok) << sub.stderr_text();
    EXPECT_EQ(sub.stdout_text(), "a\nb\nc\n");
}

TEST(CliInteropTest, LargeMessageBothWays) {
    MosquittoFixture broker;
    TempDir dir;
    std::string content(300'000, 'z');
    content[0] = '\0';
    content.back() = '!';
    write_file(dir / "big.bin", content);
    auto nsub = start_nmqtt_sub(broker, "nsub", {"-t", "big", "-N", "-C", "1"});
    ASSERT_EQ(run_process(mosquitto_pub(broker, {"-t", "big", "-f", (dir / "big.bin").string()}), cli_deadline)
                  .status.exit_code,
              0);
    EXPECT_EQ(finish(nsub).exit_code, exit_ok) << nsub.stderr_text();
    EXPECT_TRUE(nsub.stdout_text() == content) << "size " << nsub.stdout_text().size();

    auto msub = start_subscriber(broker, "msub", mosquitto_sub(broker, {"-i", "msub", "-t", "big", "-N", "-C", "1"}));
    const auto pub = run_nmqtt("pub", at_broker(broker, {"-t", "big", "-f", (dir / "big.bin").string(), "-q", "2"}));
    EXPECT_EQ(pub.status.exit_code, exit_ok) << pub.err;
    EXPECT_EQ(finish(msub).exit_code, 0) << msub.stderr_text();
    EXPECT_TRUE(msub.stdout_text() == content) << "size " << msub.stdout_text().size();
}

}  // namespace
}  // namespace nmqtt::test
