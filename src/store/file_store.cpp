// FileStore: append-only log of session::StoreChange records with per-record checksums.
#include "nmqtt/file_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace nmqtt {
namespace {

using Kind = session::StoreChange::Kind;

constexpr char magic[] = "NMQTT-STORE 1\n";
constexpr std::size_t magic_size = sizeof(magic) - 1;
constexpr std::size_t record_overhead = 1 + 8 + 2 + 4 + 4;  // kind, seq, id, length, checksum
constexpr std::uint64_t compact_threshold = 1u << 20;

std::error_code last_error() { return {errno, std::generic_category()}; }

std::uint32_t fnv1a(const std::uint8_t* p, std::size_t n) {
    std::uint32_t h = 2166136261U;
    for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 16777619U;
    return h;
}

void put(std::vector<std::uint8_t>& out, std::uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

std::uint64_t get(const std::uint8_t* p, int bytes) {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
    return v;
}

void encode_record(std::vector<std::uint8_t>& out, const session::StoreChange& c) {
    const std::size_t start = out.size();
    put(out, static_cast<std::uint8_t>(c.kind), 1);
    put(out, c.seq, 8);
    put(out, c.packet_id, 2);
    put(out, c.packet.size(), 4);
    out.insert(out.end(), c.packet.begin(), c.packet.end());
    put(out, fnv1a(out.data() + start, out.size() - start), 4);
}

// Decodes one record at `p` (with `n` bytes left); returns its size, or 0 for a torn or corrupt record.
std::size_t decode_record(const std::uint8_t* p, std::size_t n, session::StoreChange& c) {
    if (n < record_overhead) return 0;
    const auto length = static_cast<std::size_t>(get(p + 11, 4));
    if (length > n - record_overhead) return 0;
    const std::size_t body = 15 + length;
    if (get(p + body, 4) != fnv1a(p, body) || p[0] > static_cast<std::uint8_t>(Kind::clear_incoming)) return 0;
    c.kind = static_cast<Kind>(p[0]);
    c.seq = get(p + 1, 8);
    c.packet_id = static_cast<PacketId>(get(p + 9, 2));
    c.packet = Bytes{p + 15, length};
    return body + 4;
}

std::error_code write_all(int fd, const std::vector<std::uint8_t>& data) {
    std::size_t done = 0;
    while (done < data.size()) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return last_error();
        done += static_cast<std::size_t>(n);
    }
    return {};
}

void sync_directory_of(const std::string& path) {
    const auto slash = path.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    (void)::fsync(fd);
    ::close(fd);
}

std::vector<std::uint8_t> header_for(const std::string& client_id) {
    std::vector<std::uint8_t> h(magic, magic + magic_size);
    put(h, client_id.size(), 2);
    h.insert(h.end(), client_id.begin(), client_id.end());
    return h;
}

}  // namespace

FileStore::FileStore(std::string path, std::string client_id, SyncPolicy policy)
    : path_(std::move(path)), client_id_(std::move(client_id)), policy_(policy) {}

FileStore::~FileStore() {
    (void)flush();
    if (fd_ >= 0) ::close(fd_);
}

Result<std::unique_ptr<FileStore>> FileStore::open(const std::string& path, const std::string& client_id,
                                                   SyncPolicy policy) {
    std::unique_ptr<FileStore> store(new FileStore(path, client_id, policy));
    if (auto ec = store->load()) return ec;
    return store;
}

// Reads the log, replays every intact record, and rewrites the file (cutting a torn tail or a log of another
// client id) so that appends continue from a clean end.
std::error_code FileStore::load() {
    std::vector<std::uint8_t> data;
    if (const int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
        std::uint8_t chunk[65536];
        ssize_t n = 0;
        while ((n = ::read(fd, chunk, sizeof chunk)) > 0) data.insert(data.end(), chunk, chunk + n);
        ::close(fd);
    } else if (errno != ENOENT) {
        return last_error();
    }
    const auto header = header_for(client_id_);
    const bool ours = data.size() >= header.size() && std::memcmp(data.data(), header.data(), header.size()) == 0;
    for (std::size_t pos = header.size(); ours && pos < data.size();) {
        session::StoreChange c;
        const std::size_t used = decode_record(data.data() + pos, data.size() - pos, c);
        if (used == 0) break;
        replay(c);
        pos += used;
    }
    return rewrite();
}

void FileStore::replay(const session::StoreChange& c) {
    switch (c.kind) {
        case Kind::add_outgoing: {
            auto& m = outgoing_[c.seq];
            m.packet.assign(c.packet.begin(), c.packet.end());
            live_size_ += record_overhead + m.packet.size();
            break;
        }
        case Kind::sent_outgoing:
            if (auto it = outgoing_.find(c.seq); it != outgoing_.end()) it->second.packet_id = c.packet_id;
            break;
        case Kind::release_outgoing:
            if (auto it = outgoing_.find(c.seq); it != outgoing_.end()) {
                live_size_ -= it->second.packet.size();
                it->second.released = true;
                it->second.packet.clear();
            }
            break;
        case Kind::remove_outgoing:
            if (auto it = outgoing_.find(c.seq); it != outgoing_.end()) {
                live_size_ -= record_overhead + it->second.packet.size();
                outgoing_.erase(it);
            }
            break;
        case Kind::add_incoming: incoming_.insert(c.packet_id); break;
        case Kind::remove_incoming: incoming_.erase(c.packet_id); break;
        case Kind::clear_incoming: incoming_.clear(); break;
    }
}

void FileStore::apply(const session::StoreChange& change) {
    replay(change);
    encode_record(pending_, change);
}

// Writes the live state as a fresh log next to the old one, fsyncs it and renames it into place.
std::error_code FileStore::rewrite() {
    std::vector<std::uint8_t> data = header_for(client_id_);
    for (const auto& [seq, m] : outgoing_) {
        encode_record(data, {Kind::add_outgoing, seq, 0, m.packet});
        if (m.packet_id != 0) encode_record(data, {Kind::sent_outgoing, seq, m.packet_id, {}});
        if (m.released) encode_record(data, {Kind::release_outgoing, seq, m.packet_id, {}});
    }
    for (const auto id : incoming_) encode_record(data, {Kind::add_incoming, 0, id, {}});
    const std::string tmp = path_ + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return last_error();
    std::error_code ec = write_all(fd, data);
    if (!ec && ::fsync(fd) != 0) ec = last_error();
    ::close(fd);
    if (!ec && ::rename(tmp.c_str(), path_.c_str()) != 0) ec = last_error();
    if (ec) return ec;
    sync_directory_of(path_);  // the rename itself must reach the disk
    if (fd_ >= 0) ::close(fd_);
    fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd_ < 0) return last_error();
    log_size_ = data.size();
    return {};
}

std::error_code FileStore::flush() {
    if (pending_.empty() || fd_ < 0) return {};
    if (auto ec = write_all(fd_, pending_)) {
        // Cut what a partial write left, so that the next flush appends the same records after intact ones.
        (void)::ftruncate(fd_, static_cast<off_t>(log_size_));
        return ec;
    }
    log_size_ += pending_.size();
    pending_.clear();
    if (log_size_ > compact_threshold && log_size_ > 4 * live_size_) return rewrite();
    if (policy_ == SyncPolicy::every_flush && ::fdatasync(fd_) != 0) return last_error();
    return {};
}

std::vector<session::StoredMessage> FileStore::outgoing() const {
    std::vector<session::StoredMessage> out;
    out.reserve(outgoing_.size());
    for (const auto& [seq, m] : outgoing_) out.push_back({seq, m.packet_id, m.released, Bytes{m.packet}});
    return out;
}

std::vector<PacketId> FileStore::incoming() const { return {incoming_.begin(), incoming_.end()}; }

}  // namespace nmqtt
