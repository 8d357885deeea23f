// Private POSIX socket helpers shared by the test support classes (not for tests themselves).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace nmqtt::test::detail {

/// Creates a close-on-exec TCP socket bound to host:port (numeric IPv4 or IPv6 address; port 0 = any).
/// Listens with `backlog` when backlog >= 0. A positive `receive_buffer` sets SO_RCVBUF before listen()
/// (accepted connections inherit it). Throws std::runtime_error on failure.
int bind_socket(const std::string& host, std::uint16_t port, int backlog, int receive_buffer = 0);

/// Returns the local port of a bound socket.
std::uint16_t local_port(int fd);

/// Connects to host:port within `timeout`; returns a blocking fd, or -1 (errno set) on failure.
int connect_to(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout);

/// Polls one fd for `events` up to `timeout_ms`; returns the revents (0 on timeout or EINTR).
short poll_one(int fd, short events, int timeout_ms);

/// Closes fd; with reset=true the close sends a TCP RST (SO_LINGER 0). Ignores fd < 0.
void close_fd(int fd, bool reset = false);

/// Sets TCP_NODELAY.
void set_nodelay(int fd);

/// Sends all bytes (MSG_NOSIGNAL), waiting for buffer space in slices so that `stop` is honoured.
/// Returns false on error, on stop, or when `timeout` passes without progress.
bool send_all(int fd, const std::uint8_t* data, std::size_t size, const std::atomic<bool>& stop,
              std::chrono::milliseconds timeout);

/// Sleeps `duration` in short slices; returns early (false) when `stop` becomes true.
bool sleep_unless(const std::atomic<bool>& stop, std::chrono::milliseconds duration);

/// The slice used by every polling loop of the support classes.
inline constexpr int poll_slice_ms = 20;

}  // namespace nmqtt::test::detail
