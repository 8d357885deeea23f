// SessionDriver: drives a session::Session the way an event loop would, with a FakeClock and no sockets.
// It copies every event into an owned, comparable record (views in session events die at the next
// handle_bytes()), records what was "written" and when, and runs timers by following next_deadline().
//   SessionDriver d(default_options());
//   d.connect();                                   // CONNECT written, CONNACK 20 02 00 00 fed
//   auto id = d.publish_ok("t", "hi", QoS::at_least_once, 7);
//   EXPECT_TRUE(bytes_equal(d.take_output(), hex("32 07 00 01 74" + id_hex(id) + "68 69")));
//   d.feed("40 02" + id_hex(id));
//   EXPECT_EQ(d.take_events(), events({ev::PublishDone{7, id, QoS::at_least_once, {}}}));
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <ostream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>
#include <vector>

#include "nmqtt/session/session.hpp"
#include "support/bytes.hpp"
#include "support/fake_clock.hpp"

namespace nmqtt::test {

/// Owned, comparable copies of session::Event alternatives.
namespace ev {

struct Connected {
    bool session_present = false;
    bool operator==(const Connected&) const = default;
};
struct ConnectFailed {
    int code = 0;
    std::error_code error;
    std::uint8_t reason_code = 0;  ///< MQTT 5.0
    bool operator==(const ConnectFailed&) const = default;
};
struct ConnectionLost {
    std::error_code error;
    std::uint8_t reason_code = 0;  ///< MQTT 5.0
    bool operator==(const ConnectionLost&) const = default;
};
struct Message {
    std::string topic;
    std::string payload;
    QoS qos = QoS::at_most_once;
    bool retain = false;
    bool dup = false;
    PacketId packet_id = 0;
    std::vector<std::uint8_t> properties{};  ///< MQTT 5.0 property block
    bool operator==(const Message&) const = default;
};
struct Overflow {
    Message message;
    std::uint32_t total_size = 0;
    bool operator==(const Overflow&) const = default;
};
struct PublishDone {
    std::uint64_t tag = 0;
    PacketId packet_id = 0;
    QoS qos = QoS::at_most_once;
    std::error_code error;
    std::uint8_t reason_code = 0;  ///< MQTT 5.0
    bool operator==(const PublishDone&) const = default;
};
struct SubscribeDone {
    std::uint64_t tag = 0;
    PacketId packet_id = 0;
    std::vector<std::uint8_t> return_codes;
    std::error_code error;
    bool operator==(const SubscribeDone&) const = default;
};
struct UnsubscribeDone {
    std::uint64_t tag = 0;
    PacketId packet_id = 0;
    std::error_code error;
    std::vector<std::uint8_t> reason_codes{};  ///< MQTT 5.0
    bool operator==(const UnsubscribeDone&) const = default;
};
struct PingResponse {
    bool operator==(const PingResponse&) const = default;
};
struct Auth {
    std::uint8_t reason_code = 0;
    std::string data;
    bool operator==(const Auth&) const = default;
};

using Event = std::variant<Connected, ConnectFailed, ConnectionLost, Message, Overflow, PublishDone,
                           SubscribeDone, UnsubscribeDone, PingResponse, Auth>;

inline std::string describe(std::error_code e) {
    return e ? e.message() + " (" + std::to_string(e.value()) + ")" : std::string("ok");
}
inline std::ostream& operator<<(std::ostream& os, const Connected& e) {
    return os << "Connected{session_present=" << e.session_present << "}";
}
inline std::ostream& operator<<(std::ostream& os, const ConnectFailed& e) {
    return os << "ConnectFailed{code=" << e.code << ", " << describe(e.error) << ", rc=" << int(e.reason_code) << "}";
}
inline std::ostream& operator<<(std::ostream& os, const ConnectionLost& e) {
    return os << "ConnectionLost{" << describe(e.error) << ", rc=" << int(e.reason_code) << "}";
}
inline std::ostream& operator<<(std::ostream& os, const Message& m) {
    return os << "Message{topic=\"" << m.topic << "\", payload=[" << to_hex(bytes_of(m.payload))
              << "], qos=" << int(m.qos) << ", retain=" << m.retain << ", dup=" << m.dup
              << ", id=" << m.packet_id << ", props=[" << to_hex(m.properties) << "]}";
}
inline std::ostream& operator<<(std::ostream& os, const Overflow& e) {
    return os << "Overflow{" << e.message << ", total_size=" << e.total_size << "}";
}
inline std::ostream& operator<<(std::ostream& os, const PublishDone& e) {
    return os << "PublishDone{tag=" << e.tag << ", id=" << e.packet_id << ", qos=" << int(e.qos) << ", "
              << describe(e.error) << ", rc=" << int(e.reason_code) << "}";
}
inline std::ostream& operator<<(std::ostream& os, const SubscribeDone& e) {
    return os << "SubscribeDone{tag=" << e.tag << ", id=" << e.packet_id << ", codes=[" << to_hex(e.return_codes)
              << "], " << describe(e.error) << "}";
}
inline std::ostream& operator<<(std::ostream& os, const UnsubscribeDone& e) {
    return os << "UnsubscribeDone{tag=" << e.tag << ", id=" << e.packet_id << ", " << describe(e.error)
              << ", codes=[" << to_hex(e.reason_codes) << "]}";
}
inline std::ostream& operator<<(std::ostream& os, const PingResponse&) { return os << "PingResponse{}"; }
inline std::ostream& operator<<(std::ostream& os, const Auth& e) {
    return os << "Auth{rc=" << int(e.reason_code) << ", data=\"" << e.data << "\"}";
}
inline std::ostream& operator<<(std::ostream& os, const Event& e) {
    std::visit([&os](const auto& alt) { os << alt; }, e);
    return os;
}
// gtest prints containers element by element through PrintTo.
inline void PrintTo(const Event& e, std::ostream* os) { *os << e; }

inline Message to_owned(const MessageView& m) {
    return {std::string(m.topic), std::string(m.payload), m.qos, m.retain, m.dup, m.packet_id,
            {m.properties.raw().begin(), m.properties.raw().end()}};
}

/// Copies a session event into an owned record.
inline Event to_owned(const session::Event& event) {
    return std::visit(
        [](const auto& e) -> Event {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, session::Connected>) return Connected{e.session_present};
            else if constexpr (std::is_same_v<T, session::ConnectFailed>) return ConnectFailed{e.code, e.error, e.reason_code};
            else if constexpr (std::is_same_v<T, session::ConnectionLost>) return ConnectionLost{e.error, e.reason_code};
            else if constexpr (std::is_same_v<T, session::MessageReceived>) return to_owned(e.message);
            else if constexpr (std::is_same_v<T, session::MessageOverflow>)
                return Overflow{to_owned(e.message), e.total_size};
            else if constexpr (std::is_same_v<T, session::PublishDone>)
                return PublishDone{e.tag, e.packet_id, e.qos, e.error, e.reason_code};
            else if constexpr (std::is_same_v<T, session::SubscribeDone>)
                return SubscribeDone{e.tag, e.packet_id, {e.return_codes.begin(), e.return_codes.end()}, e.error};
            else if constexpr (std::is_same_v<T, session::UnsubscribeDone>)
                return UnsubscribeDone{e.tag, e.packet_id, e.error, {e.reason_codes.begin(), e.reason_codes.end()}};
            else if constexpr (std::is_same_v<T, session::AuthReceived>) return Auth{e.reason_code, std::string(e.data)};
            else return PingResponse{};
        },
        event);
}

}  // namespace ev

using Events = std::vector<ev::Event>;

/// The alternatives of type T among `events`, in order.
template <class T>
std::vector<T> only(const Events& events) {
    std::vector<T> out;
    for (const auto& e : events)
        if (const T* p = std::get_if<T>(&e)) out.push_back(*p);
    return out;
}

/// A packet id as hex text with a leading space, for building golden bytes: hex("40 02" + id_hex(id)).
inline std::string id_hex(PacketId id) {
    char text[8];
    std::snprintf(text, sizeof text, " %02X %02X ", unsigned(id >> 8), unsigned(id & 0xFF));
    return text;
}

/// The packet id stored big-endian at `offset` of a packet (0 when the packet is too short).
inline PacketId id_at(std::span<const std::uint8_t> packet, std::size_t offset) {
    if (packet.size() < offset + 2) return 0;
    return static_cast<PacketId>((packet[offset] << 8) | packet[offset + 1]);
}

/// The error code of an Errc, for comparisons that print well.
inline std::error_code err(Errc e) { return make_error_code(e); }

/// Splits a byte stream into whole MQTT packets by their fixed headers (type byte + Remaining Length).
/// Written independently of the codec; a truncated tail is returned as a last, short element.
inline std::vector<std::vector<std::uint8_t>> split_packets(std::span<const std::uint8_t> stream) {
    std::vector<std::vector<std::uint8_t>> packets;
    std::size_t at = 0;
    while (at < stream.size()) {
        std::size_t length = 0;
        std::size_t header = 1;
        for (unsigned shift = 0; at + header < stream.size() && header <= 4; shift += 7) {
            const std::uint8_t b = stream[at + header++];
            length |= std::size_t{b & 0x7Fu} << shift;
            if ((b & 0x80) == 0) break;
        }
        const std::size_t end = std::min(stream.size(), at + header + length);
        packets.emplace_back(stream.begin() + static_cast<std::ptrdiff_t>(at),
                             stream.begin() + static_cast<std::ptrdiff_t>(end));
        at = end;
    }
    return packets;
}

/// Options used by most tests: client id "c", keepalive 60 s, clean session.
inline session::SessionOptions default_options() {
    session::SessionOptions o;
    o.client_id = "c";
    return o;
}

/// The CONNECT for default_options() (client id "c", keepalive 60, clean session), from section 3.1.
inline std::vector<std::uint8_t> default_connect() {
    return hex("10 0D | 00 04 4D 51 54 54 | 04 | 02 | 00 3C | 00 01 63");
}

class SessionDriver {
public:
    explicit SessionDriver(session::SessionOptions options) : session_(std::move(options)) {}

    session::Session& session() { return session_; }
    FakeClock& clock() { return clock_; }
    [[nodiscard]] TimePoint now() const { return clock_.now(); }

    /// When on (the default), advance() writes all output after each timer, like a transport with room.
    void set_auto_write(bool on) { auto_write_ = on; }

    /// connection_opened() at now; expects success.
    void open() {
        EXPECT_FALSE(session_.connection_opened(clock_.now())) << "connection_opened failed";
        drain();
    }

    /// Opens, writes the CONNECT (checked to be a CONNECT), feeds CONNACK `20 02 sp 00` and expects exactly
    /// one Connected event, which it removes. Output produced by the CONNACK stays pending.
    void connect(bool session_present = false) {
        open();
        const auto connect_bytes = take_output();
        EXPECT_FALSE(connect_bytes.empty() || connect_bytes[0] != 0x10) << "first packet is not a CONNECT";
        feed(session_present ? "20 02 01 00" : "20 02 00 00");
        const auto got = take_events();
        EXPECT_EQ(got, (Events{ev::Connected{session_present}}));
        EXPECT_EQ(session_.state(), session::State::connected);
    }

    /// Feeds bytes as a transport would: calls handle_bytes() until all are used (or it uses none), draining
    /// events after each call. Returns the number of bytes the session used.
    std::size_t feed(std::span<const std::uint8_t> input) {
        std::size_t used = 0;
        while (used < input.size()) {
            const std::size_t n = session_.handle_bytes(input.subspan(used), clock_.now());
            drain();
            if (n == 0) break;
            used += n;
        }
        return used;
    }
    std::size_t feed(std::string_view hex_text) { return feed(hex(hex_text)); }

    /// Writes all pending output at now and returns everything written since the last take_output().
    std::vector<std::uint8_t> take_output() {
        write_all();
        return std::exchange(written_, {});
    }

    /// Pending (unwritten) output, not consumed. Note: the session keeps this span unchanged until it is
    /// consumed; what is queued meanwhile comes out after it (see take_output()).
    [[nodiscard]] std::vector<std::uint8_t> peek_output() {
        const Bytes out = session_.pending_output();
        return {out.begin(), out.end()};
    }

    /// Reports the first n pending bytes as written at now (without recording them).
    void consume(std::size_t n) {
        session_.consume_output(n, clock_.now());
        drain();
    }

    /// Times at which writes happened (one entry per non-empty write).
    [[nodiscard]] const std::vector<TimePoint>& write_times() const { return write_times_; }

    /// All events since the last take_events().
    Events take_events() {
        drain();
        return std::exchange(events_, {});
    }

    /// Moves the clock forward by d, calling handle_timeout() at each deadline on the way (as an event loop
    /// would). A deadline that does not move past now after handle_timeout() is a busy loop: reported.
    void advance(Duration d) {
        const TimePoint target = clock_.now() + d;
        for (int guard = 0; guard < 100'000; ++guard) {
            const auto due = session_.next_deadline();
            if (!due || *due > target) break;
            clock_.advance_to(*due);
            session_.handle_timeout(clock_.now());
            drain();
            if (auto_write_) write_all();
            const auto after = session_.next_deadline();
            if (after && *after <= clock_.now()) {
                ADD_FAILURE() << "next_deadline() did not move past now after handle_timeout(now)";
                break;
            }
        }
        clock_.advance_to(target);
    }

    /// connection_closed(reason) at now.
    void close(Errc reason = Errc::connection_closed) {
        session_.connection_closed(make_error_code(reason), clock_.now());
        drain();
    }

    Result<PacketId> publish(std::string_view topic, std::string_view payload, QoS qos, std::uint64_t tag = 0,
                             bool retain = false) {
        auto r = session_.publish(session::PublishRequest{topic, payload, qos, retain, tag}, clock_.now());
        drain();
        return r;
    }

    /// publish() expecting success; returns the packet id (0 on failure, after reporting it).
    PacketId publish_ok(std::string_view topic, std::string_view payload, QoS qos, std::uint64_t tag = 0,
                        bool retain = false) {
        auto r = publish(topic, payload, qos, tag, retain);
        EXPECT_TRUE(r.has_value()) << "publish failed: " << r.error().message();
        return r ? *r : PacketId{0};
    }

    PacketId subscribe_ok(std::initializer_list<protocol::SubscribeEntry> entries, std::uint64_t tag = 0) {
        const std::vector<protocol::SubscribeEntry> list(entries);
        auto r = session_.subscribe(list, tag, clock_.now());
        drain();
        EXPECT_TRUE(r.has_value()) << "subscribe failed: " << r.error().message();
        return r ? *r : PacketId{0};
    }

    PacketId unsubscribe_ok(std::initializer_list<std::string_view> filters, std::uint64_t tag = 0) {
        const std::vector<std::string_view> list(filters);
        auto r = session_.unsubscribe(list, tag, clock_.now());
        drain();
        EXPECT_TRUE(r.has_value()) << "unsubscribe failed: " << r.error().message();
        return r ? *r : PacketId{0};
    }

    void drain() {
        while (auto e = session_.poll_event()) events_.push_back(ev::to_owned(*e));
    }

private:
    // Writes until nothing is pending (a second buffer may fill while the first is being written).
    void write_all() {
        for (int guard = 0; guard < 1000; ++guard) {
            const Bytes out = session_.pending_output();
            if (out.empty()) return;
            written_.insert(written_.end(), out.begin(), out.end());
            write_times_.push_back(clock_.now());
            session_.consume_output(out.size(), clock_.now());
            drain();
        }
        ADD_FAILURE() << "pending_output() never empties";
    }

    FakeClock clock_;
    session::Session session_;
    bool auto_write_ = true;
    std::vector<std::uint8_t> written_;
    std::vector<TimePoint> write_times_;
    Events events_;
};

}  // namespace nmqtt::test
