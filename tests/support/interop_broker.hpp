// One broker per test binary for the interop matrix: mosquitto, aedes or RabbitMQ behind one interface.
//
// A test binary calls add_interop_environment(argc, argv) from main(); it reads --broker=NAME (or
// $NMQTT_INTEROP_BROKER), starts that broker once before the first test (a gtest Environment) and stops it
// after the last. Tests reach it through interop_broker(). ctest runs the binary once per broker (labels
// mosquitto, aedes, rabbitmq), so `ctest -L rabbitmq` runs the whole matrix against RabbitMQ only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace nmqtt::test {

enum class BrokerKind { mosquitto, aedes, rabbitmq };

/// What the matrix knows about a broker's deviations from MQTT 3.1.1 (see docs/interop.md).
struct BrokerTraits {
    int max_qos = 2;                       ///< highest QoS granted / used for delivery
    bool qos2_publish_answered_with_puback = false;
    bool retains_for_wildcard_subscriptions = true;
    bool keeps_state_across_restart = true;
    bool maps_dot_to_slash = false;  ///< a '.' in a topic is delivered as '/' (AMQP routing keys)  ///< retained messages and persistent sessions survive stop/start
};

class InteropBroker {
public:
    virtual ~InteropBroker() = default;
    [[nodiscard]] virtual BrokerKind kind() const noexcept = 0;
    [[nodiscard]] virtual std::string name() const = 0;     ///< "mosquitto", "aedes", "rabbitmq"
    [[nodiscard]] virtual std::string version() const = 0;  ///< e.g. "2.0.11", "1.2.0", "3.10"
    [[nodiscard]] virtual const std::string& host() const = 0;
    [[nodiscard]] virtual std::uint16_t port() const = 0;
    /// WebSocket listener (aedes: /mqtt, RabbitMQ web_mqtt: /ws), 0 when the broker has none here.
    [[nodiscard]] virtual std::uint16_t ws_port() const = 0;
    [[nodiscard]] virtual std::string ws_path() const = 0;
    virtual void start() = 0;
    virtual void stop() = 0;
    virtual void kill() = 0;
    [[nodiscard]] virtual pid_t pid() const = 0;
    [[nodiscard]] virtual std::string log() const = 0;
    [[nodiscard]] virtual BrokerTraits traits() const = 0;
};

[[nodiscard]] std::string_view broker_name(BrokerKind kind) noexcept;

/// Starts a broker of `kind` (with a WebSocket listener where the broker has one).
[[nodiscard]] std::unique_ptr<InteropBroker> make_interop_broker(BrokerKind kind);

/// Registers the Environment (none for --broker=none); strips --broker=NAME from argv. Call after ::testing::InitGoogleTest.
/// Throws std::invalid_argument on an unknown broker name.
void add_interop_environment(int& argc, char** argv);

/// The broker the Environment started. Only valid while tests run.
[[nodiscard]] InteropBroker& interop_broker();

}  // namespace nmqtt::test
