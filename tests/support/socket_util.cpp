#include "support/socket_util.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace nmqtt::test::detail {
namespace {

struct Address {
    sockaddr_storage storage{};
    socklen_t size = 0;
    int family = AF_INET;
};

Address make_address(const std::string& host, std::uint16_t port) {
    Address a;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
    if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        a.size = sizeof(sockaddr_in);
        return a;
    }
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
    if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        a.size = sizeof(sockaddr_in6);
        a.family = AF_INET6;
        return a;
    }
    throw std::runtime_error("not a numeric address: " + host);
}

std::runtime_error socket_error(const std::string& what) {
    return std::runtime_error(what + ": " + std::strerror(errno));
}

}  // namespace

int bind_socket(const std::string& host, std::uint16_t port, int backlog, int receive_buffer) {
    const Address a = make_address(host, port);
    const int fd = ::socket(a.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw socket_error("socket");
    if (receive_buffer > 0) ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&a.storage), a.size) != 0) {
        const auto error = socket_error("bind " + host + ":" + std::to_string(port));
        ::close(fd);
        throw error;
    }
    if (backlog >= 0 && ::listen(fd, backlog) != 0) {
        const auto error = socket_error("listen");
        ::close(fd);
        throw error;
    }
    return fd;
}

std::uint16_t local_port(int fd) {
    sockaddr_storage storage{};
    socklen_t size = sizeof(storage);
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &size) != 0) throw socket_error("getsockname");
    if (storage.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
    return ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
}

int connect_to(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout) {
    const Address a = make_address(host, port);
    const int fd = ::socket(a.family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    int rc = ::connect(fd, reinterpret_cast<const sockaddr*>(&a.storage), a.size);
    if (rc != 0 && errno == EINPROGRESS) {
        if ((poll_one(fd, POLLOUT, static_cast<int>(timeout.count())) & (POLLOUT | POLLERR | POLLHUP)) == 0) {
            ::close(fd);
            errno = ETIMEDOUT;
            return -1;
        }
        int error = 0;
        socklen_t size = sizeof(error);
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size);
        rc = error == 0 ? 0 : -1;
        errno = error;
    }
    if (rc != 0) {
        const int saved = errno;
        ::close(fd);
        errno = saved;
        return -1;
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

short poll_one(int fd, short events, int timeout_ms) {
    pollfd p{fd, events, 0};
    const int rc = ::poll(&p, 1, timeout_ms);
    return rc > 0 ? p.revents : short{0};
}

void close_fd(int fd, bool reset) {
    if (fd < 0) return;
    if (reset) {
        const linger l{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    }
    ::close(fd);
}

void set_nodelay(int fd) {
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

bool send_all(int fd, const std::uint8_t* data, std::size_t size, const std::atomic<bool>& stop,
              std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (size > 0) {
        if (stop.load()) return false;
        const ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            data += n;
            size -= static_cast<std::size_t>(n);
            deadline = std::chrono::steady_clock::now() + timeout;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        poll_one(fd, POLLOUT, poll_slice_ms);
    }
    return true;
}

bool sleep_unless(const std::atomic<bool>& stop, std::chrono::milliseconds duration) {
    const auto deadline = std::chrono::steady_clock::now() + duration;
    while (!stop.load()) {
        const auto left = deadline - std::chrono::steady_clock::now();
        if (left <= std::chrono::steady_clock::duration::zero()) return true;
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
            left, std::chrono::milliseconds(poll_slice_ms)));
    }
    return false;
}

}  // namespace nmqtt::test::detail
