// Measurement pieces of `nmqtt bench`: the payload stamp, arrival bookkeeping per receiving client, process
// CPU and memory, and the one-line report. The payload and report formats are those of the comparison
// peers in bench/compare (bench_common.h), so `nmqtt bench` and the peers can be run interchangeably.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nmqtt::cli::bench {

/// Payload bytes the stamp needs: send time (ns, CLOCK_MONOTONIC, host order), publisher index, sequence.
inline constexpr std::size_t stamp_size = 16;

/// CLOCK_MONOTONIC in nanoseconds (the clock of the stamps).
[[nodiscard]] std::uint64_t now_ns() noexcept;

/// Writes the stamp into payload[0..15]; `payload` holds at least stamp_size bytes.
void stamp(char* payload, std::uint32_t index, std::uint32_t seq) noexcept;

struct Stamp {
    std::uint64_t sent_ns = 0;
    std::uint32_t index = 0;
    std::uint32_t seq = 0;
};

/// Reads the stamp of a payload; nullopt when it is too short.
[[nodiscard]] std::optional<Stamp> read_stamp(std::string_view payload) noexcept;

/// Arrivals seen by one receiving client, written by its thread only (progress counters excepted).
/// Presized for `publishers` x `per_publisher` messages: recording allocates nothing within that shape;
/// stamps outside it grow the tables (sub mode, where the publishers are not known in advance).
class Arrivals {
public:
    Arrivals(std::uint32_t publishers, std::uint32_t per_publisher);

    /// Records one PUBLISH payload received at `now`.
    void record(std::string_view payload, std::uint64_t now);

    /// Arrivals so far, including duplicates; readable from any thread.
    [[nodiscard]] std::uint64_t received() const noexcept { return received_.load(std::memory_order_relaxed); }
    [[nodiscard]] std::uint64_t unique() const noexcept { return latencies_us_.size(); }
    [[nodiscard]] std::uint64_t duplicated() const noexcept { return duplicated_; }
    [[nodiscard]] std::uint64_t foreign() const noexcept { return foreign_; }
    /// Sequence numbers missing below the highest one seen, per publisher (losses a receiver can see).
    [[nodiscard]] std::uint64_t gaps() const noexcept;
    /// Time of the first arrival (0 before it).
    [[nodiscard]] std::uint64_t first_ns() const noexcept { return first_ns_; }
    /// Time of the latest arrival (0 before the first); readable from any thread.
    [[nodiscard]] std::uint64_t last_ns() const noexcept { return last_ns_.load(std::memory_order_relaxed); }
    [[nodiscard]] std::vector<std::uint32_t>& latencies_us() noexcept { return latencies_us_; }

    /// Adds the arrivals of another receiver (after both are done).
    void merge(const Arrivals& other);

private:
    static constexpr std::uint32_t max_publishers = 1u << 20;
    static constexpr std::uint32_t max_seq = 1u << 28;

    struct Seen {
        std::vector<std::uint64_t> bits;
        std::uint64_t count = 0;
        std::uint32_t highest = 0;
    };

    std::vector<Seen> seen_;
    std::vector<std::uint32_t> latencies_us_;
    std::atomic<std::uint64_t> received_{0};
    std::atomic<std::uint64_t> last_ns_{0};
    std::uint64_t first_ns_ = 0;
    std::uint64_t duplicated_ = 0;
    std::uint64_t foreign_ = 0;
};

/// Process user + system CPU time in microseconds.
[[nodiscard]] std::uint64_t cpu_us() noexcept;
/// Resident set size (VmRSS) in KiB, or -1.
[[nodiscard]] long rss_kib() noexcept;
/// Raises the soft descriptor limit towards `wanted` (at most the hard limit); returns the limit in force.
std::size_t raise_fd_limit(std::size_t wanted) noexcept;

/// Everything a run reports. Latencies come from `latencies_us` (sorted in place by print_result).
struct Result {
    std::string mode;
    int qos = 0;
    long clients = 0;
    long inflight = 0;
    long payload = 0;
    std::uint64_t sent = 0;
    std::uint64_t messages = 0;   ///< unique arrivals (pub, sub, rtt) or connected clients (conn)
    double seconds = 0;
    std::uint64_t cpu_us = 0;
    std::uint64_t lost = 0;
    std::uint64_t duplicated = 0;
    long rss_before_kib = 0;      ///< conn
    long rss_after_kib = 0;       ///< conn
    std::vector<std::uint32_t>* latencies_us = nullptr;
};

/// Prints the result on stdout: one JSON line with `json`, else a short human summary.
void print_result(Result& result, bool json);

}  // namespace nmqtt::cli::bench
