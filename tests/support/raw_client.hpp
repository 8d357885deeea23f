// A blocking raw TCP client for tests that talk bytes to a broker (or through a FaultProxy) directly.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "support/scripted_peer.hpp"  // ByteVector

namespace nmqtt::test {

/// One TCP connection with byte-level reads and writes, each bounded by a timeout. Not thread-safe.
///
/// Example:
///   RawClient raw(broker.host(), broker.port());
///   raw.send(hex("C0 00"));                       // PINGREQ
///   EXPECT_TRUE(bytes_equal(raw.read_packet(), hex("D0 00")));
class RawClient {
public:
    /// Connects within `timeout`. Throws std::runtime_error when the connection fails.
    RawClient(const std::string& host, std::uint16_t port,
              std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
    ~RawClient();
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    /// Sends all bytes; false if the connection failed.
    bool send(const ByteVector& bytes);
    /// Reads exactly `count` bytes; returns fewer if the peer closes or `timeout` passes first.
    ByteVector read(std::size_t count, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
    /// Reads one whole MQTT packet (fixed header, remaining length, body); empty on EOF or timeout.
    ByteVector read_packet(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
    /// Reads and discards until the peer closes (EOF or RST): true, or `timeout` passes: false.
    bool wait_closed(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
    /// Closes now (with RST when reset is true). Further calls fail.
    void close(bool reset = false);
    [[nodiscard]] int fd() const noexcept { return fd_; }

private:
    int fd_ = -1;
};

}  // namespace nmqtt::test
