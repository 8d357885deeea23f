// Measurement pieces of `nmqtt bench` (see bench_stats.hpp).
#include "bench_stats.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>
#include <time.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fmt/core.h>

namespace nmqtt::cli::bench {

std::uint64_t now_ns() noexcept {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<std::uint64_t>(ts.tv_nsec);
}

void stamp(char* payload, std::uint32_t index, std::uint32_t seq) noexcept {
    const std::uint64_t now = now_ns();
    std::memcpy(payload, &now, 8);
    std::memcpy(payload + 8, &index, 4);
    std::memcpy(payload + 12, &seq, 4);
}

std::optional<Stamp> read_stamp(std::string_view payload) noexcept {
    if (payload.size() < stamp_size) return std::nullopt;
    Stamp s;
    std::memcpy(&s.sent_ns, payload.data(), 8);
    std::memcpy(&s.index, payload.data() + 8, 4);
    std::memcpy(&s.seq, payload.data() + 12, 4);
    return s;
}

Arrivals::Arrivals(std::uint32_t publishers, std::uint32_t per_publisher) {
    seen_.resize(publishers);
    for (auto& s : seen_) s.bits.resize(per_publisher / 64 + 1);
    latencies_us_.reserve(static_cast<std::size_t>(publishers) * per_publisher);
}

void Arrivals::record(std::string_view payload, std::uint64_t now) {
    if (first_ns_ == 0) first_ns_ = now;
    received_.fetch_add(1, std::memory_order_relaxed);
    last_ns_.store(now, std::memory_order_relaxed);
    const auto s = read_stamp(payload);
    if (!s || s->index >= max_publishers || s->seq >= max_seq) {
        ++foreign_;
        return;
    }
    if (s->index >= seen_.size()) seen_.resize(s->index + 1u);
    Seen& seen = seen_[s->index];
    const std::size_t word = s->seq / 64;
    if (word >= seen.bits.size()) seen.bits.resize(std::max(word + 1, seen.bits.size() * 2));
    const std::uint64_t bit = std::uint64_t{1} << (s->seq % 64);
    if ((seen.bits[word] & bit) != 0) {
        ++duplicated_;
        return;
    }
    seen.bits[word] |= bit;
    ++seen.count;
    seen.highest = std::max(seen.highest, s->seq);
    const std::uint64_t us = now > s->sent_ns ? (now - s->sent_ns) / 1000u : 0;
    latencies_us_.push_back(static_cast<std::uint32_t>(std::min<std::uint64_t>(us, UINT32_MAX)));
}

std::uint64_t Arrivals::gaps() const noexcept {
    std::uint64_t missing = 0;
    for (const auto& s : seen_) {
        if (s.count > 0) missing += s.highest + 1u - s.count;
    }
    return missing;
}

void Arrivals::merge(const Arrivals& other) {
    latencies_us_.insert(latencies_us_.end(), other.latencies_us_.begin(), other.latencies_us_.end());
    if (other.seen_.size() > seen_.size()) seen_.resize(other.seen_.size());
    for (std::size_t i = 0; i < other.seen_.size(); ++i) {
        Seen& mine = seen_[i];
        const Seen& theirs = other.seen_[i];
        if (theirs.bits.size() > mine.bits.size()) mine.bits.resize(theirs.bits.size());
        for (std::size_t w = 0; w < theirs.bits.size(); ++w) mine.bits[w] |= theirs.bits[w];
        mine.count = 0;
        for (const auto word : mine.bits) mine.count += static_cast<std::uint64_t>(std::popcount(word));
        mine.highest = std::max(mine.highest, theirs.highest);
    }
    received_.fetch_add(other.received(), std::memory_order_relaxed);
    last_ns_.store(std::max(last_ns(), other.last_ns()), std::memory_order_relaxed);
    if (first_ns_ == 0 || (other.first_ns_ != 0 && other.first_ns_ < first_ns_)) first_ns_ = other.first_ns_;
    duplicated_ += other.duplicated_;
    foreign_ += other.foreign_;
}

std::uint64_t cpu_us() noexcept {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    const auto us = [](const timeval& tv) {
        return static_cast<std::uint64_t>(tv.tv_sec) * 1'000'000u + static_cast<std::uint64_t>(tv.tv_usec);
    };
    return us(ru.ru_utime) + us(ru.ru_stime);
}

long rss_kib() noexcept {
    // Opened once and kept: a connection storm may use up every descriptor before the second reading.
    static const int fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    char text[4096];
    const ssize_t n = fd < 0 ? -1 : ::pread(fd, text, sizeof text - 1, 0);
    if (n <= 0) return -1;
    text[n] = '\0';
    const char* line = std::strstr(text, "VmRSS:");
    return line != nullptr ? std::strtol(line + 6, nullptr, 10) : -1;
}

std::size_t raise_fd_limit(std::size_t wanted) noexcept {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
    const rlim_t target = std::min<rlim_t>(static_cast<rlim_t>(wanted), rl.rlim_max);
    if (rl.rlim_cur < target) {
        rl.rlim_cur = target;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) (void)getrlimit(RLIMIT_NOFILE, &rl);
    }
    return static_cast<std::size_t>(rl.rlim_cur);
}

namespace {

std::uint32_t percentile(const std::vector<std::uint32_t>& sorted, double q) {
    if (sorted.empty()) return 0;
    auto rank = static_cast<std::size_t>(q * static_cast<double>(sorted.size()) + 0.999999);  // nearest rank
    rank = std::clamp<std::size_t>(rank, 1, sorted.size());
    return sorted[rank - 1];
}

double per(std::uint64_t amount, std::uint64_t count) {
    return count > 0 ? static_cast<double>(amount) / static_cast<double>(count) : 0.0;
}

void print_conn(const Result& r, bool json) {
    const double rate = r.seconds > 0 ? static_cast<double>(r.messages) / r.seconds : 0.0;
    const double kib = r.messages > 0 ? static_cast<double>(r.rss_after_kib - r.rss_before_kib) /
                                            static_cast<double>(r.messages)
                                      : 0.0;
    if (json) {
        fmt::print("{{\"lib\":\"nmqtt\",\"mode\":\"conn\",\"qos\":{},\"clients\":{},\"messages\":{},\"seconds\":{:.6f},"
                   "\"connect_per_s\":{:.1f},\"rss_kib_per_client\":{:.3f},\"client_cpu_us_per_msg\":{:.3f},"
                   "\"lost\":{},\"duplicated\":0,\"rss_before_kib\":{},\"rss_after_kib\":{}}}\n",
                   r.qos, r.clients, r.messages, r.seconds, rate, kib, per(r.cpu_us, r.messages), r.lost,
                   r.rss_before_kib, r.rss_after_kib);
    } else {
        fmt::print("nmqtt bench conn: {}/{} clients connected in {:.3f} s ({:.0f} connects/s), {:.2f} KiB resident "
                   "per idle client, {:.1f} us CPU per connect\n",
                   r.messages, r.clients, r.seconds, rate, kib, per(r.cpu_us, r.messages));
    }
}

}  // namespace

void print_result(Result& r, bool json) {
    if (r.mode == "conn" || r.latencies_us == nullptr) {
        print_conn(r, json);
        std::fflush(stdout);
        return;
    }
    auto& lat = *r.latencies_us;
    std::sort(lat.begin(), lat.end());
    const auto p50 = percentile(lat, 0.50);
    const auto p90 = percentile(lat, 0.90);
    const auto p99 = percentile(lat, 0.99);
    const auto max = lat.empty() ? 0u : lat.back();
    const double rate = r.seconds > 0 ? static_cast<double>(r.messages) / r.seconds : 0.0;
    const double cpu = per(r.cpu_us, r.messages);
    if (json) {
        fmt::print("{{\"lib\":\"nmqtt\",\"mode\":\"{}\",\"qos\":{},\"clients\":{},\"inflight\":{},\"payload\":{},"
                   "\"sent\":{},\"messages\":{},\"seconds\":{:.6f},\"msgs_per_s\":{:.1f},"
                   "\"client_cpu_us_per_msg\":{:.3f},\"p50_us\":{},\"p90_us\":{},\"p99_us\":{},\"max_us\":{},"
                   "\"lost\":{},\"duplicated\":{}}}\n",
                   r.mode, r.qos, r.clients, r.inflight, r.payload, r.sent, r.messages, r.seconds, rate, cpu, p50,
                   p90, p99, max, r.lost, r.duplicated);
    } else {
        fmt::print("nmqtt bench {} qos {}: {} messages in {:.3f} s = {:.0f} msg/s, {:.3f} us CPU/msg\n"
                   "  latency us: p50 {} p90 {} p99 {} max {}; lost {}, duplicated {}\n",
                   r.mode, r.qos, r.messages, r.seconds, rate, cpu, p50, p90, p99, max, r.lost, r.duplicated);
    }
    std::fflush(stdout);
}

}  // namespace nmqtt::cli::bench
