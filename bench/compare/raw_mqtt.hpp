// The few MQTT 3.1.1 (and, where the raw peer asks, 5.0) bytes the raw peer and the sink need: packet framing, a handful of encoders, socket
// helpers. Deliberately minimal (no validation beyond framing): these programs measure, they do not judge.
#pragma once

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace raw_mqtt {

using Bytes = std::vector<std::uint8_t>;

enum : std::uint8_t {
    kConnect = 0x10, kConnack = 0x20, kPublish = 0x30, kPuback = 0x40, kPubrec = 0x50, kPubrel = 0x62,
    kPubcomp = 0x70, kSubscribe = 0x82, kSuback = 0x90, kUnsubscribe = 0xA2, kUnsuback = 0xB0,
    kPingreq = 0xC0, kPingresp = 0xD0, kDisconnect = 0xE0,
};

inline void put_u16(Bytes& out, std::size_t value)
{
    out.push_back(static_cast<std::uint8_t>((value >> 8) & 0xFF));
    out.push_back(static_cast<std::uint8_t>(value & 0xFF));
}

inline void put_remaining_length(Bytes& out, std::size_t length)
{
    do {
        auto byte = static_cast<std::uint8_t>(length % 128);
        length /= 128;
        if (length > 0) byte = static_cast<std::uint8_t>(byte | 0x80);
        out.push_back(byte);
    } while (length > 0);
}

inline void put_string(Bytes& out, std::string_view text)
{
    put_u16(out, text.size());
    out.insert(out.end(), text.begin(), text.end());
}

inline std::uint16_t get_u16(const std::uint8_t* p)
{
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

/// CONNECT with a clean session; `level` 4 (3.1.1) or 5 (5.0: empty property list, Clean Start).
inline Bytes connect_packet(std::string_view client_id, std::uint16_t keepalive, std::uint8_t level = 4)
{
    bool v5 = level == 5;
    Bytes out{kConnect};
    put_remaining_length(out, 10 + (v5 ? 1 : 0) + 2 + client_id.size());
    put_string(out, "MQTT");
    out.push_back(level);
    out.push_back(0x02);  // clean session / clean start
    put_u16(out, keepalive);
    if (v5) out.push_back(0);  // no properties
    put_string(out, client_id);
    return out;
}

inline Bytes subscribe_packet(std::uint16_t packet_id, std::string_view filter, int qos, std::uint8_t level = 4)
{
    bool v5 = level == 5;
    Bytes out{kSubscribe};
    put_remaining_length(out, 2 + (v5 ? 1 : 0) + 2 + filter.size() + 1);
    put_u16(out, packet_id);
    if (v5) out.push_back(0);  // no properties
    put_string(out, filter);
    out.push_back(static_cast<std::uint8_t>(qos));
    return out;
}

/// Skips an MQTT 5.0 property list (a variable byte integer length, then the properties) at body[pos];
/// returns the position after it, or SIZE_MAX when it does not fit.
inline std::size_t skip_properties(std::span<const std::uint8_t> body, std::size_t pos)
{
    std::size_t length = 0;
    for (unsigned shift = 0; pos < body.size() && shift <= 21; shift += 7) {
        std::uint8_t byte = body[pos++];
        length |= static_cast<std::size_t>(byte & 0x7F) << shift;
        if ((byte & 0x80) == 0) return body.size() - pos >= length ? pos + length : SIZE_MAX;
    }
    return SIZE_MAX;
}

inline void put_ack(Bytes& out, std::uint8_t type, std::uint16_t packet_id)
{
    out.push_back(type);
    out.push_back(2);
    put_u16(out, packet_id);
}

/// One framed packet: first byte and the body after the remaining length.
struct Packet {
    std::uint8_t header;
    std::span<const std::uint8_t> body;
};

/// Parses the complete packets at the front of data[begin, end); returns where the first incomplete one
/// starts, or SIZE_MAX when the framing is invalid.
template <typename OnPacket>
std::size_t for_each_packet(const std::uint8_t* data, std::size_t begin, std::size_t end, OnPacket&& on_packet)
{
    while (begin < end) {
        std::size_t length = 0;
        std::size_t pos = begin + 1;
        unsigned shift = 0;
        bool complete = false;
        while (pos < end && shift <= 21) {
            std::uint8_t byte = data[pos++];
            length |= static_cast<std::size_t>(byte & 0x7F) << shift;
            shift += 7;
            if ((byte & 0x80) == 0) { complete = true; break; }
        }
        if (!complete) return shift > 21 ? SIZE_MAX : begin;
        if (end - pos < length) return begin;
        on_packet(Packet{data[begin], std::span<const std::uint8_t>(data + pos, length)});
        begin = pos + length;
    }
    return begin;
}

/// Blocking TCP connection to host:port (numeric or /etc/hosts names), TCP_NODELAY set; -1 on failure.
inline int dial(const char* host, int port, bool nodelay = true)
{
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* list = nullptr;
    std::string service = std::to_string(port);
    if (getaddrinfo(host, service.c_str(), &hints, &list) != 0) return -1;
    int fd = -1;
    for (addrinfo* ai = list; ai != nullptr && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(list);
    int one = nodelay ? 1 : 0;
    if (fd >= 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

inline bool write_all(int fd, const std::uint8_t* data, std::size_t size)
{
    while (size > 0) {
        ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;  // receive timeout only; keep going
        if (n <= 0) return false;
        data += n;
        size -= static_cast<std::size_t>(n);
    }
    return true;
}

inline bool write_all(int fd, const Bytes& bytes) { return write_all(fd, bytes.data(), bytes.size()); }

}  // namespace raw_mqtt
