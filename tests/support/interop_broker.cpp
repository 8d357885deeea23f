#include "support/interop_broker.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "support/broker_fixtures.hpp"
#include "support/mosquitto_fixture.hpp"

namespace nmqtt::test {
namespace {

class MosquittoBroker final : public InteropBroker {
public:
    [[nodiscard]] BrokerKind kind() const noexcept override { return BrokerKind::mosquitto; }
    [[nodiscard]] std::string name() const override { return "mosquitto"; }
    [[nodiscard]] std::string version() const override { return "2.0.11"; }
    [[nodiscard]] const std::string& host() const override { return broker_.host(); }
    [[nodiscard]] std::uint16_t port() const override { return broker_.port(); }
    [[nodiscard]] std::uint16_t ws_port() const override { return 0; }
    [[nodiscard]] std::string ws_path() const override { return ""; }
    void start() override { broker_.start(); }
    void stop() override { broker_.stop(); }
    void kill() override { broker_.kill(); }
    [[nodiscard]] pid_t pid() const override { return broker_.pid(); }
    [[nodiscard]] std::string log() const override { return broker_.log(); }
    [[nodiscard]] BrokerTraits traits() const override { return {}; }

private:
    // persistence on, so retained messages and sessions survive stop()/start() as on the other brokers
    MosquittoFixture broker_{MosquittoOptions{.persistence = true}};
};

class AedesBroker final : public InteropBroker {
public:
    [[nodiscard]] BrokerKind kind() const noexcept override { return BrokerKind::aedes; }
    [[nodiscard]] std::string name() const override { return "aedes"; }
    [[nodiscard]] std::string version() const override { return broker_.version(); }
    [[nodiscard]] const std::string& host() const override { return broker_.host(); }
    [[nodiscard]] std::uint16_t port() const override { return broker_.port(); }
    [[nodiscard]] std::uint16_t ws_port() const override { return broker_.ws_port(); }
    [[nodiscard]] std::string ws_path() const override { return "/mqtt"; }
    void start() override { broker_.start(); }
    void stop() override { broker_.stop(); }
    void kill() override { broker_.kill(); }
    [[nodiscard]] pid_t pid() const override { return broker_.pid(); }
    [[nodiscard]] std::string log() const override { return broker_.log(); }
    [[nodiscard]] BrokerTraits traits() const override {
        return {.keeps_state_across_restart = false};  // in-memory persistence
    }

private:
    AedesFixture broker_{AedesOptions{.websocket = true}};
};

class RabbitBroker final : public InteropBroker {
public:
    [[nodiscard]] BrokerKind kind() const noexcept override { return BrokerKind::rabbitmq; }
    [[nodiscard]] std::string name() const override { return "rabbitmq"; }
    [[nodiscard]] std::string version() const override { return RabbitFixture::version(); }
    [[nodiscard]] const std::string& host() const override { return broker_.host(); }
    [[nodiscard]] std::uint16_t port() const override { return broker_.port(); }
    [[nodiscard]] std::uint16_t ws_port() const override { return broker_.ws_port(); }
    [[nodiscard]] std::string ws_path() const override { return "/ws"; }
    void start() override { broker_.start(); }
    void stop() override { broker_.stop(); }
    void kill() override { broker_.kill(); }
    [[nodiscard]] pid_t pid() const override { return broker_.pid(); }
    [[nodiscard]] std::string log() const override { return broker_.log(); }
    [[nodiscard]] BrokerTraits traits() const override {
        return {.max_qos = 1,
                .qos2_publish_answered_with_puback = true,
                .retains_for_wildcard_subscriptions = false,
                .maps_dot_to_slash = true};
    }

private:
    RabbitFixture broker_{RabbitOptions{.web_mqtt = true}};
};

BrokerKind parse_kind(std::string_view name) {
    for (const BrokerKind k : {BrokerKind::mosquitto, BrokerKind::aedes, BrokerKind::rabbitmq}) {
        if (broker_name(k) == name) return k;
    }
    throw std::invalid_argument("unknown broker '" + std::string(name) + "' (mosquitto, aedes, rabbitmq)");
}

std::unique_ptr<InteropBroker>& current() {
    static std::unique_ptr<InteropBroker> broker;
    return broker;
}

class InteropEnvironment final : public ::testing::Environment {
public:
    explicit InteropEnvironment(BrokerKind kind) : kind_(kind) {}
    void SetUp() override { current() = make_interop_broker(kind_); }
    void TearDown() override { current().reset(); }

private:
    BrokerKind kind_;
};

}  // namespace

std::string_view broker_name(BrokerKind kind) noexcept {
    switch (kind) {
        case BrokerKind::mosquitto: return "mosquitto";
        case BrokerKind::aedes: return "aedes";
        case BrokerKind::rabbitmq: return "rabbitmq";
    }
    return "?";
}

std::unique_ptr<InteropBroker> make_interop_broker(BrokerKind kind) {
    switch (kind) {
        case BrokerKind::mosquitto: return std::make_unique<MosquittoBroker>();
        case BrokerKind::aedes: return std::make_unique<AedesBroker>();
        case BrokerKind::rabbitmq: return std::make_unique<RabbitBroker>();
    }
    throw std::invalid_argument("unknown broker kind");
}

void add_interop_environment(int& argc, char** argv) {
    const char* env = std::getenv("NMQTT_INTEROP_BROKER");
    std::string name = env != nullptr ? env : "mosquitto";
    int out = 1;
    for (int i = 1; i < argc; ++i) {
        if (std::strncmp(argv[i], "--broker=", 9) == 0) {
            name = argv[i] + 9;
        } else {
            argv[out++] = argv[i];
        }
    }
    argc = out;
    if (name == "none") return;  // tests that start their own brokers (RabbitCluster*)
    ::testing::AddGlobalTestEnvironment(new InteropEnvironment(parse_kind(name)));
}

InteropBroker& interop_broker() {
    if (!current()) throw std::logic_error("interop_broker() outside the interop Environment");
    return *current();
}

}  // namespace nmqtt::test
