// A gtest base for suites sharing one aedes broker (started in SetUpTestSuite, a node process takes about a
// second): every test of the suite is skipped with the reason when Node or the npm packages are missing.
//
//   class MySuite : public AedesSuite<MySuite> {};            // aedes with its ws listener
//   class MyTls : public AedesSuite<MyTls> {                  // other options: a static broker_options()
//   public: static AedesOptions broker_options() { return aedes_wss_options(); }
//   };
#pragma once

#include <gtest/gtest.h>

#include <exception>
#include <memory>
#include <string>

#include "support/broker_fixtures.hpp"
#include "support/tls_certs.hpp"

namespace nmqtt::test {

/// aedes with a TLS WebSocket listener (wss_port()) serving the test server certificate (localhost,
/// IP:127.0.0.1, signed by tls_certs().ca_cert).
[[nodiscard]] inline AedesOptions aedes_wss_options() {
    return AedesOptions{.wss_cert = tls_certs().server_cert, .wss_key = tls_certs().server_key};
}

/// One AedesFixture per test suite `Suite` (the template parameter keeps suites apart), restarted before a
/// test if an earlier one left it stopped.
template <class Suite>
class AedesSuite : public ::testing::Test {
public:
    /// aedes with its plain WebSocket listener; a suite redefines this for other options.
    static AedesOptions broker_options() { return AedesOptions{.websocket = true}; }

    static void SetUpTestSuite() {
        try {
            broker_ = std::make_unique<AedesFixture>(Suite::broker_options());
        } catch (const std::exception& e) {
            skip_reason_ = e.what();
        }
    }
    static void TearDownTestSuite() { broker_.reset(); }

protected:
    void SetUp() override {
        if (!broker_) GTEST_SKIP() << skip_reason_;
        if (!broker_->is_running()) broker_->start();
    }
    [[nodiscard]] static AedesFixture& broker() { return *broker_; }
    [[nodiscard]] static std::string ws_port() { return std::to_string(broker_->ws_port()); }
    [[nodiscard]] static std::string wss_port() { return std::to_string(broker_->wss_port()); }

private:
    inline static std::unique_ptr<AedesFixture> broker_;
    inline static std::string skip_reason_;
};

}  // namespace nmqtt::test
