// FileStore: a durable session store (append-only log file) for clean session = 0 across process restarts.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "nmqtt/result.hpp"
#include "nmqtt/session/session.hpp"

namespace nmqtt {

/// When appended changes reach the disk.
enum class SyncPolicy : std::uint8_t {
    every_flush,  ///< fsync at each flush(): nothing acknowledged is lost on a power cut (default)
    os,           ///< write() only: survives a process crash, not a power cut
};

/// Keeps outgoing QoS 1/2 messages not yet completed and incoming QoS 2 ids not yet released, so that a process
/// killed and restarted with clean session 0 and the same client id completes every delivery and delivers no
/// QoS 2 message twice [MQTT-4.1.0-1, 3.1.3-2].
///
/// Format: an append-only log of session::StoreChange records, each with a checksum; a torn tail (crash in the
/// middle of a write) is detected and cut on open. When the log holds much more than the live state it is
/// rewritten (new file, fsync, rename). Chosen over SQLite: no new dependency, and the access pattern is
/// append + replay, which a log does with one write per flush.
/// Thread safety: none. Cost: allocates per stored message (a store is off the zero-allocation path).
class FileStore {
public:
    /// Opens or creates the log at `path` for `client_id`. A log written for another client id is not used:
    /// it is replaced by an empty one [MQTT-3.1.3-2]. Errors: the std::errc of a failing system call.
    [[nodiscard]] static Result<std::unique_ptr<FileStore>> open(const std::string& path, const std::string& client_id,
                                                                 SyncPolicy policy = SyncPolicy::every_flush);
    ~FileStore();
    FileStore(const FileStore&) = delete;
    FileStore& operator=(const FileStore&) = delete;

    /// The state found on open (and kept current by apply()): for Session::restore().
    [[nodiscard]] std::vector<session::StoredMessage> outgoing() const;
    [[nodiscard]] std::vector<PacketId> incoming() const;

    /// Records a change (buffered until flush()).
    void apply(const session::StoreChange& change);

    /// Writes buffered changes and, with SyncPolicy::every_flush, fsyncs. Call it before sending the bytes or
    /// delivering the events that the changes describe. Errors: the std::errc of write/fsync.
    [[nodiscard]] std::error_code flush();

    /// Bytes in the log file, and bytes the live state would take (for tests and compaction).
    [[nodiscard]] std::uint64_t log_size() const noexcept { return log_size_; }

private:
    struct Message {
        PacketId packet_id = 0;
        bool released = false;
        std::vector<std::uint8_t> packet;
    };
    FileStore(std::string path, std::string client_id, SyncPolicy policy);
    std::error_code load();
    std::error_code rewrite();
    void replay(const session::StoreChange& change);
    void append_record(const session::StoreChange& change);

    std::string path_;
    std::string client_id_;
    SyncPolicy policy_;
    int fd_ = -1;
    std::uint64_t log_size_ = 0;
    std::uint64_t live_size_ = 0;
    std::vector<std::uint8_t> pending_;
    std::map<std::uint64_t, Message> outgoing_;
    std::set<PacketId> incoming_;
};

}  // namespace nmqtt
