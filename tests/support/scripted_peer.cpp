#include "support/scripted_peer.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "support/socket_util.hpp"

namespace nmqtt::test {

namespace peer {

Step expect(ByteVector bytes, std::chrono::milliseconds timeout) {
    return Step{Step::Kind::expect_bytes, std::move(bytes), 0, timeout};
}
Step expect_count(std::size_t count, std::chrono::milliseconds timeout) {
    return Step{Step::Kind::expect_count, {}, count, timeout};
}
Step expect_packet(std::chrono::milliseconds timeout) { return Step{Step::Kind::expect_packet, {}, 0, timeout}; }
Step expect_packet(std::uint8_t first_byte, std::chrono::milliseconds timeout) {
    return Step{Step::Kind::expect_packet, {first_byte}, 0, timeout};
}
Step send(ByteVector bytes) { return Step{Step::Kind::send, std::move(bytes), 0, {}}; }
Step silence(std::chrono::milliseconds duration) { return Step{Step::Kind::silence, {}, 0, duration}; }
Step close() { return Step{Step::Kind::close, {}, 0, {}}; }
Step reset() { return Step{Step::Kind::reset, {}, 0, {}}; }
Step expect_close(std::chrono::milliseconds timeout) { return Step{Step::Kind::expect_close, {}, 0, timeout}; }
Step hold() { return Step{Step::Kind::hold, {}, 0, {}}; }

ByteVector connack(std::uint8_t return_code, bool session_present) {
    return {0x20, 0x02, static_cast<std::uint8_t>(session_present ? 1 : 0), return_code};
}

}  // namespace peer

namespace {

constexpr std::size_t max_silent_connections = 64;
constexpr auto send_timeout = std::chrono::milliseconds(5000);

const char* kind_name(peer::Step::Kind kind) {
    using Kind = peer::Step::Kind;
    switch (kind) {
        case Kind::expect_bytes: return "expect";
        case Kind::expect_count: return "expect_count";
        case Kind::expect_packet: return "expect_packet";
        case Kind::send: return "send";
        case Kind::silence: return "silence";
        case Kind::close: return "close";
        case Kind::reset: return "reset";
        case Kind::expect_close: return "expect_close";
        case Kind::hold: return "hold";
    }
    return "?";
}

// Outcome of reading from the client.
enum class ReadResult { ok, eof, error, timeout, stopped };

}  // namespace

ScriptedPeer::ScriptedPeer(std::vector<Script> scripts) : scripts_(std::move(scripts)), scripted_(true) {
    listen_fd_ = detail::bind_socket(host_, 0, 16);
    port_ = detail::local_port(listen_fd_);
    thread_ = std::thread([this] { run_scripts(); });
}

ScriptedPeer::ScriptedPeer(Mode mode, bool fill) : mode_(mode), done_(true) {
    const bool silent = mode_ == Mode::silent;
    // never_accept: the smallest receive buffer the kernel allows, so that a large CONNECT can fill it.
    listen_fd_ = detail::bind_socket(host_, 0, silent ? 16 : 0, silent ? 0 : 1);
    port_ = detail::local_port(listen_fd_);
    if (silent) {
        thread_ = std::thread([this] { run_silent(); });
        return;
    }
    if (fill) fill_backlog();
}

ScriptedPeer::~ScriptedPeer() { stop(); }

void ScriptedPeer::stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
    const std::lock_guard lock(mutex_);
    detail::close_fd(listen_fd_);
    listen_fd_ = -1;
    for (int fd : open_fds_) detail::close_fd(fd);
    for (int fd : backlog_fds_) detail::close_fd(fd);
    open_fds_.clear();
    backlog_fds_.clear();
}

// Connects to ourselves until a connect does not complete: the accept queue is then full and the kernel
// drops further SYNs (Linux admits backlog + 1 connections; the bound keeps this finite either way).
void ScriptedPeer::fill_backlog() {
    for (int i = 0; i < 8; ++i) {
        const int fd = detail::connect_to(host_, port_, std::chrono::milliseconds(300));
        if (fd < 0) return;
        backlog_fds_.push_back(fd);
    }
}

int ScriptedPeer::accept_one() {
    while (!stopping_) {
        if ((detail::poll_one(listen_fd_, POLLIN, detail::poll_slice_ms) & POLLIN) == 0) continue;
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        detail::set_nodelay(fd);
        const std::lock_guard lock(mutex_);
        open_fds_.push_back(fd);
        received_.emplace_back();
        ++accepted_;
        return fd;
    }
    return -1;
}

void ScriptedPeer::run_silent() {
    while (!stopping_) {
        const int fd = accept_one();
        if (fd < 0) return;
        const std::lock_guard lock(mutex_);
        if (open_fds_.size() > max_silent_connections) {
            open_fds_.pop_back();
            detail::close_fd(fd, true);
        }
    }
}

void ScriptedPeer::run_scripts() {
    for (std::size_t index = 0; index < scripts_.size(); ++index) {
        const int fd = accept_one();
        if (fd < 0) break;  // stopped
        StepOutcome outcome = StepOutcome::next;
        for (std::size_t s = 0; outcome == StepOutcome::next && s < scripts_[index].size(); ++s) {
            outcome = run_step(fd, index, s, scripts_[index][s]);
        }
        if (outcome == StepOutcome::failed) {
            close_connection(fd, false);
            break;
        }
    }
    const std::lock_guard lock(mutex_);
    done_ = true;
}

void ScriptedPeer::close_connection(int fd, bool reset) {
    {
        const std::lock_guard lock(mutex_);
        std::erase(open_fds_, fd);
    }
    detail::close_fd(fd, reset);
}

// Runs one step: next step, end of this connection's script, or failure (which abandons all scripts).
ScriptedPeer::StepOutcome ScriptedPeer::run_step(int fd, std::size_t index, std::size_t step_index,
                                                 const peer::Step& step) {
    using Kind = peer::Step::Kind;
    std::string why;
    StepOutcome outcome = StepOutcome::next;
    switch (step.kind) {
        case Kind::expect_bytes:
        case Kind::expect_count:
        case Kind::expect_packet:
            why = run_expect(fd, index, step);
            break;
        case Kind::send:
            if (!detail::send_all(fd, step.bytes.data(), step.bytes.size(), stopping_, send_timeout)) {
                why = std::string("send failed: ") + std::strerror(errno);
            }
            break;
        case Kind::silence:
            detail::sleep_unless(stopping_, step.duration);
            break;
        case Kind::close:
        case Kind::reset:
            close_connection(fd, step.kind == Kind::reset);
            return StepOutcome::end;
        case Kind::expect_close:
            why = run_expect_close(fd, index, step.duration);
            outcome = StepOutcome::end;
            if (why.empty()) close_connection(fd, false);
            break;
        case Kind::hold:
            return StepOutcome::end;
    }
    if (stopping_ && why.empty()) why = "stopped before the script finished";
    if (why.empty()) return outcome;
    fail(index, step_index, std::string(kind_name(step.kind)) + ": " + why);
    return StepOutcome::failed;
}

// Reads what an expect step asks for; returns "" on success, else why it failed.
std::string ScriptedPeer::run_expect(int fd, std::size_t index, const peer::Step& step) {
    using Kind = peer::Step::Kind;
    const auto deadline = std::chrono::steady_clock::now() + step.duration;
    ByteVector got;
    if (step.kind == Kind::expect_bytes) {
        std::string why = read_exact(fd, index, step.bytes.size(), deadline, got);
        if (!why.empty()) return why;
        if (got != step.bytes) return "expected " + to_hex(step.bytes) + " got " + to_hex(got);
        return {};
    }
    if (step.kind == Kind::expect_count) return read_exact(fd, index, step.count, deadline, got);
    return read_packet(fd, index, deadline, step.bytes.empty() ? -1 : int{step.bytes[0]});
}

std::string ScriptedPeer::read_packet(int fd, std::size_t index, Deadline deadline, int first_byte) {
    ByteVector header;
    if (auto why = read_exact(fd, index, 1, deadline, header); !why.empty()) return why;
    if (first_byte >= 0 && header[0] != first_byte) {
        return "expected a packet starting with " + to_hex(ByteVector{static_cast<std::uint8_t>(first_byte)}) +
               " got " + to_hex(header);
    }
    std::size_t remaining = 0;
    for (unsigned shift = 0;; shift += 7) {
        ByteVector length_byte;
        if (auto why = read_exact(fd, index, 1, deadline, length_byte); !why.empty()) return why;
        remaining += std::size_t{length_byte[0] & 0x7Fu} << shift;
        if ((length_byte[0] & 0x80u) == 0) break;
        if (shift == 21) return "malformed remaining length";
    }
    ByteVector body;
    return read_exact(fd, index, remaining, deadline, body);
}

std::string ScriptedPeer::read_exact(int fd, std::size_t index, std::size_t count, Deadline deadline,
                                     ByteVector& out) {
    out.clear();
    std::uint8_t buffer[4096];
    while (out.size() < count) {
        if (stopping_) return "stopped";
        if (std::chrono::steady_clock::now() >= deadline) {
            return "timed out after " + std::to_string(out.size()) + " of " + std::to_string(count) +
                   " bytes (got " + to_hex(out) + ")";
        }
        if ((detail::poll_one(fd, POLLIN, detail::poll_slice_ms) & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        const ssize_t n = ::recv(fd, buffer, std::min(sizeof(buffer), count - out.size()), 0);
        if (n == 0) return "client closed after " + std::to_string(out.size()) + " of " + std::to_string(count) +
                           " bytes (got " + to_hex(out) + ")";
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return std::string("recv: ") + std::strerror(errno);
        }
        record(index, buffer, static_cast<std::size_t>(n));
        out.insert(out.end(), buffer, buffer + n);
    }
    return {};
}

std::string ScriptedPeer::run_expect_close(int fd, std::size_t index, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::uint8_t buffer[4096];
    while (!stopping_ && std::chrono::steady_clock::now() < deadline) {
        if ((detail::poll_one(fd, POLLIN, detail::poll_slice_ms) & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
        if (n == 0) return {};
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n < 0) return {};  // ECONNRESET and friends: the client is gone, which is what we waited for
        record(index, buffer, static_cast<std::size_t>(n));
    }
    return stopping_ ? "stopped" : "client did not close within " + std::to_string(timeout.count()) + " ms";
}

void ScriptedPeer::fail(std::size_t index, std::size_t step_index, const std::string& why) {
    const std::lock_guard lock(mutex_);
    if (failure_.empty()) {
        failure_ = "connection " + std::to_string(index) + " step " + std::to_string(step_index) + " (" + why + ")";
    }
}

void ScriptedPeer::record(std::size_t index, const std::uint8_t* data, std::size_t size) {
    const std::lock_guard lock(mutex_);
    received_.at(index).insert(received_.at(index).end(), data, data + size);
}

bool ScriptedPeer::wait_done(std::chrono::milliseconds timeout) {
    return wait_until(
        [this] {
            const std::lock_guard lock(mutex_);
            return done_;
        },
        timeout, std::chrono::milliseconds(5));
}

bool ScriptedPeer::wait_connections(std::size_t n, std::chrono::milliseconds timeout) {
    return wait_until([this, n] { return connections_accepted() >= n; }, timeout, std::chrono::milliseconds(5));
}

bool ScriptedPeer::matched() const {
    const std::lock_guard lock(mutex_);
    return done_ && failure_.empty() && (!scripted_ || accepted_ == scripts_.size());
}

std::string ScriptedPeer::failure() const {
    const std::lock_guard lock(mutex_);
    if (!failure_.empty()) return failure_;
    if (!done_) return "script still running (" + std::to_string(accepted_) + " connection(s) accepted)";
    return {};
}

ByteVector ScriptedPeer::received(std::size_t index) const {
    const std::lock_guard lock(mutex_);
    return index < received_.size() ? received_[index] : ByteVector{};
}

std::size_t ScriptedPeer::connections_accepted() const {
    const std::lock_guard lock(mutex_);
    return accepted_;
}

}  // namespace nmqtt::test
