#include "support/fault_proxy.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <stdexcept>

#include "support/socket_util.hpp"

namespace nmqtt::test {

namespace {
constexpr std::size_t max_links = 32;
constexpr auto connect_timeout = std::chrono::milliseconds(2000);
constexpr auto forward_timeout = std::chrono::milliseconds(10000);
}  // namespace

// One proxied connection. The pump threads own the fds: the last one to finish closes both.
struct FaultProxy::Link {
    int client_fd = -1;
    int broker_fd = -1;
    std::atomic<bool> cut{false};    // stop now (set by cut_all, by a failing pump, or by the destructor)
    std::atomic<bool> reset{false};  // close with RST rather than FIN
    std::atomic<int> pumps_left{2};
    std::thread up;    // client -> broker
    std::thread down;  // broker -> client

    void finish_pump() {
        if (--pumps_left == 0) {
            detail::close_fd(client_fd, reset.load());
            detail::close_fd(broker_fd, reset.load());
        }
    }
    void join() {
        if (up.joinable()) up.join();
        if (down.joinable()) down.join();
    }
};

FaultProxy::FaultProxy(std::string target_host, std::uint16_t target_port)
    : target_host_(std::move(target_host)), target_port_(target_port) {
    listen_fd_ = detail::bind_socket(host_, 0, 16);
    port_ = detail::local_port(listen_fd_);
    accept_thread_ = std::thread([this] { accept_loop(); });
}

FaultProxy::~FaultProxy() {
    stopping_ = true;
    if (accept_thread_.joinable()) accept_thread_.join();
    detail::close_fd(listen_fd_);
    std::list<std::shared_ptr<Link>> links;
    {
        const std::lock_guard lock(mutex_);
        links.swap(links_);
    }
    for (auto& link : links) {
        link->cut = true;
        link->join();
    }
}

void FaultProxy::accept_loop() {
    while (!stopping_) {
        reap_finished();
        if ((detail::poll_one(listen_fd_, POLLIN, detail::poll_slice_ms) & POLLIN) == 0) continue;
        const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        ++accepted_;
        if (refuse_new_ || active_connections() >= max_links) {
            detail::close_fd(fd, true);
            continue;
        }
        start_link(fd);
    }
}

void FaultProxy::start_link(int client_fd) {
    const int broker_fd = detail::connect_to(target_host_, target_port_, connect_timeout);
    if (broker_fd < 0) {
        detail::close_fd(client_fd, true);  // target down: the client sees a reset, as from a dead broker
        return;
    }
    detail::set_nodelay(client_fd);
    detail::set_nodelay(broker_fd);
    auto link = std::make_shared<Link>();
    link->client_fd = client_fd;
    link->broker_fd = broker_fd;
    link->up = std::thread([this, link] { pump(link, true); });
    link->down = std::thread([this, link] { pump(link, false); });
    const std::lock_guard lock(mutex_);
    links_.push_back(std::move(link));
}

bool FaultProxy::is_stalled(bool to_broker) const noexcept {
    return to_broker ? stall_up_.load() : stall_down_.load();
}

// Forwards one direction until EOF, an error, a cut or the proxy stopping.
void FaultProxy::pump(const std::shared_ptr<Link>& link, bool to_broker) {
    const int from = to_broker ? link->client_fd : link->broker_fd;
    const int to = to_broker ? link->broker_fd : link->client_fd;
    auto& counter = to_broker ? up_bytes_ : down_bytes_;
    std::uint8_t buffer[16384];
    while (!stopping_ && !link->cut) {
        const ssize_t n = read_chunk(*link, from, to_broker, buffer, sizeof(buffer));
        if (n == 0) {
            ::shutdown(to, SHUT_WR);  // pass the half-close on
            break;
        }
        if (n == chunk_error || (n > 0 && !forward(link, to, buffer, static_cast<std::size_t>(n), counter))) {
            link->reset = true;  // the peer reset or vanished: reset the other side too
            link->cut = true;
            break;
        }
    }
    link->finish_pump();
}

// Reads what is available within one poll slice: bytes (> 0), EOF (0), nothing yet (chunk_none) or a
// connection error (chunk_error). Reads nothing while this direction is stalled.
long FaultProxy::read_chunk(Link& link, int from, bool to_broker, std::uint8_t* buffer, std::size_t size) {
    if (is_stalled(to_broker)) {
        detail::sleep_unless(link.cut, std::chrono::milliseconds(detail::poll_slice_ms));
        return chunk_none;
    }
    if ((detail::poll_one(from, POLLIN, detail::poll_slice_ms) & (POLLIN | POLLHUP | POLLERR)) == 0) return chunk_none;
    if (is_stalled(to_broker)) return chunk_none;  // stalled while polling: leave the bytes in the kernel
    const ssize_t n = ::recv(from, buffer, size, MSG_DONTWAIT);
    if (n >= 0) return n;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? chunk_none : chunk_error;
}

// Sends one chunk, with the configured delay, as one send or one send per byte.
bool FaultProxy::forward(const std::shared_ptr<Link>& link, int to, const std::uint8_t* data, std::size_t size,
                         std::atomic<std::size_t>& counter) {
    const std::size_t step = one_byte_ ? 1 : size;
    for (std::size_t at = 0; at < size; at += step) {
        const auto delay = std::chrono::milliseconds(delay_ms_.load());
        if (delay.count() > 0 && !detail::sleep_unless(link->cut, delay)) return false;
        const std::size_t len = std::min(step, size - at);
        if (!detail::send_all(to, data + at, len, link->cut, forward_timeout)) return false;
        counter += len;
    }
    return true;
}

void FaultProxy::reap_finished() {
    std::list<std::shared_ptr<Link>> finished;
    {
        const std::lock_guard lock(mutex_);
        for (auto it = links_.begin(); it != links_.end();) {
            auto next = std::next(it);
            if ((*it)->pumps_left.load() == 0) finished.splice(finished.end(), links_, it);
            it = next;
        }
    }
    for (auto& link : finished) link->join();
}

void FaultProxy::cut_all(bool reset) {
    std::list<std::shared_ptr<Link>> links;
    {
        const std::lock_guard lock(mutex_);
        links.swap(links_);
    }
    for (auto& link : links) {
        if (reset) link->reset = true;
        link->cut = true;
    }
    for (auto& link : links) link->join();
}

void FaultProxy::refuse_new(bool refuse) { refuse_new_ = refuse; }

void FaultProxy::stall(Direction direction) {
    if (direction != Direction::broker_to_client) stall_up_ = true;
    if (direction != Direction::client_to_broker) stall_down_ = true;
}

void FaultProxy::resume(Direction direction) {
    if (direction != Direction::broker_to_client) stall_up_ = false;
    if (direction != Direction::client_to_broker) stall_down_ = false;
}

void FaultProxy::set_delay(std::chrono::milliseconds delay) { delay_ms_ = static_cast<long long>(delay.count()); }

void FaultProxy::set_one_byte_segments(bool on) { one_byte_ = on; }

std::size_t FaultProxy::active_connections() const {
    const std::lock_guard lock(mutex_);
    std::size_t count = 0;
    for (const auto& link : links_) if (link->pumps_left.load() > 0) ++count;
    return count;
}

std::size_t FaultProxy::bytes_forwarded(Direction direction) const noexcept {
    switch (direction) {
        case Direction::client_to_broker: return up_bytes_.load();
        case Direction::broker_to_client: return down_bytes_.load();
        case Direction::both: break;
    }
    return up_bytes_.load() + down_bytes_.load();
}

}  // namespace nmqtt::test
