// Reconnector: backoff with full jitter, addresses in turn, the wait, and the report of every step.
#include "reconnector.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <utility>

#include "nmqtt/error.hpp"

namespace nmqtt::net {
namespace {

/// CONNACK refusals that another attempt with the same CONNECT cannot change: unacceptable protocol
/// version (1), identifier rejected (2), bad user name or password (4), not authorized (5). "Server
/// unavailable" (3) is temporary by its name and is retried.
bool is_permanent_refusal(int code) noexcept { return code == 1 || code == 2 || code == 4 || code == 5; }

std::uint64_t seed_of(const ReconnectOptions& options) {
    if (options.seed != 0) return options.seed;
    std::random_device device;
    return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

}  // namespace

void validate(const ReconnectOptions& o) {
    if (!o.enabled) return;
    const bool valid = o.initial_delay.count() >= 0 && o.max_delay >= o.initial_delay &&
                       o.healthy_after.count() >= 0 && o.multiplier >= 1.0 && std::isfinite(o.multiplier);
    if (!valid) throw std::system_error(make_error_code(Errc::invalid_argument), "nmqtt::ReconnectOptions");
}

// ---- Backoff --------------------------------------------------------------------------------------------

Backoff::Backoff(const ReconnectOptions& options)
    : initial_(options.initial_delay),
      max_(options.max_delay),
      multiplier_(options.multiplier),
      max_attempts_(options.max_attempts),
      random_(options.random),
      state_(options.enabled && !options.random ? seed_of(options) : 1) {}

std::chrono::milliseconds Backoff::cap(std::uint32_t n) const noexcept {
    const double grown = static_cast<double>(initial_.count()) * std::pow(multiplier_, static_cast<double>(n - 1));
    const double capped = std::min(grown, static_cast<double>(max_.count()));  // also bounds an overflow to inf
    return std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(capped));
}

// splitmix64 (a public-domain mixing function): a uniform double in [0, 1) from 53 random bits.
double Backoff::next_unit() noexcept {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) * 0x1.0p-53;
}

double Backoff::draw() {
    const double r = random_ ? random_() : next_unit();
    return std::isfinite(r) ? std::clamp(r, 0.0, 1.0) : 0.0;
}

std::chrono::milliseconds Backoff::next() {
    ++attempts_;
    const auto limit = cap(attempts_);
    const auto delay = static_cast<std::chrono::milliseconds::rep>(draw() * static_cast<double>(limit.count()));
    return std::chrono::milliseconds(std::min(delay, limit.count()));
}

// ---- Reconnector ----------------------------------------------------------------------------------------

Reconnector::Reconnector(asio::io_context& io, ReconnectOptions options, Attempt attempt, Report report)
    : options_(std::move(options)),
      attempt_(std::move(attempt)),
      report_(std::move(report)),
      backoff_(options_),
      timer_(io),
      alive_(std::make_shared<bool>(true)) {
    validate(options_);
}

Reconnector::~Reconnector() {
    *alive_ = false;
    cancel_timer();
}

void Reconnector::begin(BrokerAddress first) {
    cancel_timer();
    waiting_ = false;
    brokers_.clear();
    redirect_.reset();
    brokers_.push_back(std::move(first));
    brokers_.insert(brokers_.end(), options_.brokers.begin(), options_.brokers.end());
    current_ = 0;
    backoff_.reset();
    armed_ = options_.enabled;
}

bool Reconnector::stop() noexcept {
    armed_ = false;
    const bool was_waiting = waiting_ || announcing_;  // also from the "attempting" report: it cancels that attempt
    waiting_ = false;
    cancel_timer();
    return was_waiting;
}

void Reconnector::on_connected() { connected_at_ = std::chrono::steady_clock::now(); }

void Reconnector::on_ended(bool was_connected, std::error_code reason, int code, std::string_view message) {
    if (!armed_ || waiting_) return;
    if (reason == Errc::closed_by_client) {
        armed_ = false;
        return;
    }
    const bool healthy = std::chrono::steady_clock::now() - connected_at_ >= options_.healthy_after;
    if (was_connected && healthy) backoff_.reset();
    if (is_permanent_refusal(code) || backoff_.exhausted()) {
        give_up(reason, code, message);  // reports the address that failed last
        return;
    }
    if (redirect_) {
        follow_redirect();
    } else if (!was_connected) {
        current_ = (current_ + 1) % brokers_.size();  // a failed attempt: the next address
    }
    schedule(reason, code, message);
}

void Reconnector::redirect(std::string host, std::optional<std::uint16_t> port) {
    redirect_.emplace(std::move(host), port);
}

// The referenced server becomes the current address: found in the list, or inserted at the current place (the
// list grows by one address per distinct reference).
void Reconnector::follow_redirect() {
    const BrokerAddress& here = brokers_[current_];
    BrokerAddress to{std::move(redirect_->first), redirect_->second.value_or(here.port), here.secure};
    redirect_.reset();
    const auto same = [&](const BrokerAddress& b) {
        return b.host == to.host && b.port == to.port && b.secure == to.secure;
    };
    const auto found = std::find_if(brokers_.begin(), brokers_.end(), same);
    if (found != brokers_.end()) {
        current_ = static_cast<std::size_t>(found - brokers_.begin());
        return;
    }
    brokers_.insert(brokers_.begin() + static_cast<std::ptrdiff_t>(current_), std::move(to));
}

void Reconnector::schedule(std::error_code reason, int code, std::string_view message) {
    delay_ = backoff_.next();
    waiting_ = true;
    const auto sequence = ++sequence_;
    timer_.expires_after(delay_);
    timer_.async_wait([this, sequence, alive = alive_](std::error_code error) {
        if (*alive) on_timer(sequence, error);
    });
    report_(ReconnectInfo{ReconnectInfo::Kind::scheduled, backoff_.attempts(), delay_, reason, code, message,
                          brokers_[current_]});
}

void Reconnector::give_up(std::error_code reason, int code, std::string_view message) {
    armed_ = false;
    report_(ReconnectInfo{ReconnectInfo::Kind::gave_up, backoff_.attempts(), std::chrono::milliseconds(0), reason,
                          code, message, brokers_[current_]});
}

void Reconnector::on_timer(std::uint64_t sequence, std::error_code error) {
    if (error || sequence != sequence_ || !waiting_) return;
    waiting_ = false;
    const BrokerAddress broker = brokers_[current_];  // a copy: the report may call begin()
    // A report that throws does not stop the attempt: the exception leaves once it has started.
    std::exception_ptr thrown;
    announcing_ = true;
    try {
        report_(ReconnectInfo{ReconnectInfo::Kind::attempting, backoff_.attempts(), delay_, {}, 0, {}, broker});
    } catch (...) {
        thrown = std::current_exception();
    }
    announcing_ = false;
    if (sequence == sequence_) start(broker);  // unless the report called close() or connect()
    if (thrown) std::rethrow_exception(thrown);
}

void Reconnector::start(const BrokerAddress& broker) {
    try {
        attempt_(broker);
    } catch (const std::system_error& e) {  // a TLS file that cannot be loaded: retrying cannot help
        const std::string message = e.what();
        give_up(e.code(), static_cast<int>(ConnFail::server_not_found), message);
    }
}

void Reconnector::cancel_timer() noexcept {
    ++sequence_;
    try {
        timer_.cancel();
    } catch (const std::system_error&) {  // cannot fail for a steady_timer; nothing to do if it did
    }
}

}  // namespace nmqtt::net
