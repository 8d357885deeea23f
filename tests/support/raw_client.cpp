#include "support/raw_client.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "support/socket_util.hpp"

namespace nmqtt::test {

RawClient::RawClient(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout)
    : fd_(detail::connect_to(host, port, timeout)) {
    if (fd_ < 0) {
        throw std::runtime_error("RawClient: connect to " + host + ":" + std::to_string(port) + ": " +
                                 std::strerror(errno));
    }
    detail::set_nodelay(fd_);
}

RawClient::~RawClient() { close(); }

bool RawClient::send(const ByteVector& bytes) {
    const std::atomic<bool> never{false};
    return fd_ >= 0 && detail::send_all(fd_, bytes.data(), bytes.size(), never, std::chrono::milliseconds(5000));
}

ByteVector RawClient::read(std::size_t count, std::chrono::milliseconds timeout) {
    ByteVector out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (fd_ >= 0 && out.size() < count && std::chrono::steady_clock::now() < deadline) {
        if ((detail::poll_one(fd_, POLLIN, detail::poll_slice_ms) & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        std::uint8_t buffer[4096];
        const ssize_t n = ::recv(fd_, buffer, std::min(sizeof(buffer), count - out.size()), 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) break;
        out.insert(out.end(), buffer, buffer + n);
    }
    return out;
}

ByteVector RawClient::read_packet(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    auto left = [&] {
        return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    };
    ByteVector packet = read(1, left());
    if (packet.empty()) return {};
    std::size_t remaining = 0;
    for (unsigned shift = 0; shift <= 21; shift += 7) {
        const ByteVector length_byte = read(1, left());
        if (length_byte.empty()) return {};
        packet.push_back(length_byte[0]);
        remaining += std::size_t{length_byte[0] & 0x7Fu} << shift;
        if ((length_byte[0] & 0x80u) == 0) break;
    }
    const ByteVector body = read(remaining, left());
    if (body.size() != remaining) return {};
    packet.insert(packet.end(), body.begin(), body.end());
    return packet;
}

bool RawClient::wait_closed(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (fd_ >= 0 && std::chrono::steady_clock::now() < deadline) {
        if ((detail::poll_one(fd_, POLLIN, detail::poll_slice_ms) & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        std::uint8_t buffer[4096];
        const ssize_t n = ::recv(fd_, buffer, sizeof(buffer), 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) return true;
    }
    return false;
}

void RawClient::close(bool reset) {
    detail::close_fd(fd_, reset);
    fd_ = -1;
}

}  // namespace nmqtt::test
