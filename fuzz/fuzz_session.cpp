// libFuzzer target: a Session driven by the input: server bytes (mostly well-formed packets with fuzzed
// fields, sometimes raw bytes), time steps, user requests, partial writes and connection events, in any order.
// The first choice is the protocol level: 3.1.1 or 5.0 (CONNACK limits, Topic Aliases, reason codes,
// server DISCONNECT and AUTH, request properties, subscription options; see server_packets.hpp).
// Invariants (abort on violation):
//   - every byte the session writes decodes as a valid packet a client may send; each connection's output
//     starts with CONNECT [MQTT-3.1.0-1] and nothing follows DISCONNECT [MQTT-3.14.4-2];
//   - handle_bytes() consumes at most its input and the feeding loop terminates;
//   - requests fail while idle; a request returns packet id 0 only while it waits in the queue;
//   - an event that ends the connection leaves the session idle.
#include <fuzzer/FuzzedDataProvider.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "nmqtt/protocol/encode.hpp"
#include "nmqtt/protocol/stream_decoder.hpp"
#include "nmqtt/session/session.hpp"
#include "server_packets.hpp"

namespace {

using namespace nmqtt;
using protocol::PacketType;
using protocol::StreamDecoder;
using session::Session;

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
}

void check(bool ok, const char* what) {
    if (!ok) fail(what);
}

// NMQTT_FUZZ_TRACE=1 prints every step (for turning a crash into a regression test).
const bool tracing = std::getenv("NMQTT_FUZZ_TRACE") != nullptr;

void trace_bytes(const char* what, Bytes b) {
    if (!tracing) return;
    std::fprintf(stderr, "  %s (%zu):", what, b.size());
    for (std::size_t i = 0; i < b.size() && i < 48; ++i) std::fprintf(stderr, " %02X", b[i]);
    std::fprintf(stderr, b.size() > 48 ? " ...\n" : "\n");
}

StreamDecoder::Options unlimited(protocol::ProtocolVersion version) {
    StreamDecoder::Options o;
    o.max_message_length = std::numeric_limits<std::size_t>::max();
    o.max_control_packet_length = std::numeric_limits<std::size_t>::max();
    o.version = version;
    return o;
}

// Decodes what the client writes on one connection and checks it packet by packet.
class OutputChecker {
public:
    explicit OutputChecker(protocol::ProtocolVersion version) : decoder_(unlimited(version)) {}

    void new_connection() {
        decoder_.reset();
        packets_ = 0;
        disconnected_ = false;
    }

    void written(Bytes bytes) {
        while (!bytes.empty()) {
            const auto step = decoder_.feed(bytes);
            check(step.kind != StreamDecoder::Kind::error, "client output decodes");
            check(step.kind != StreamDecoder::Kind::overflow, "no overflow without a limit");
            check(step.consumed <= bytes.size(), "decoder consumed <= size");
            bytes = bytes.subspan(step.consumed);
            if (step.kind == StreamDecoder::Kind::need_more) break;
            on_packet(protocol::type_of(step.packet));
        }
    }

private:
    void on_packet(PacketType type) {
        check(!disconnected_, "nothing is sent after DISCONNECT");
        check((packets_ == 0) == (type == PacketType::connect), "CONNECT first and only first");
        switch (type) {
            case PacketType::connack:
            case PacketType::suback:
            case PacketType::unsuback:
            case PacketType::pingresp: fail("a client never sends a server-only packet");
            case PacketType::auth: fail("no AUTH without an Authentication Method in CONNECT");
            case PacketType::disconnect: disconnected_ = true; break;
            default: break;
        }
        ++packets_;
    }

    StreamDecoder decoder_;
    std::size_t packets_ = 0;
    bool disconnected_ = false;
};

class Driver {
public:
    Driver(FuzzedDataProvider& in, session::SessionOptions options)
        : in_(in), packets_(in, options.protocol), checker_(options.protocol), session_(std::move(options)) {}

    void step() {
        const int op = in_.ConsumeIntegralInRange<int>(0, 18);
        if (tracing) {
            std::fprintf(stderr, "op %d at %+.3fs state %d\n", op,
                         std::chrono::duration<double>(now_ - (TimePoint{} + std::chrono::hours(1))).count(),
                         static_cast<int>(session_.state()));
        }
        switch (op) {
            case 0: open(); break;
            case 1: session_.connection_closed(make_error_code(Errc::connection_closed), now_); drain(); break;
            case 2: feed(packets_.connack()); break;
            case 3: feed(packets_.publish(6)); break;
            case 4: feed(ack()); break;
            case 5: feed(packets_.suback(id(), in_.ConsumeIntegralInRange<std::size_t>(0, 3))); break;
            case 6: feed({0xD0, 0x00}); break;  // PINGRESP
            case 7: feed(in_.ConsumeBytes<std::uint8_t>(in_.ConsumeIntegralInRange<std::size_t>(0, 64))); break;
            case 8: advance(std::chrono::milliseconds(in_.ConsumeIntegralInRange<int>(0, 100'000))); break;
            case 9: to_deadline(); break;
            case 10: publish(); break;
            case 11: subscribe(); break;
            case 12: unsubscribe(); break;
            case 13: disconnect(); break;
            case 14: write(in_.ConsumeIntegralInRange<std::size_t>(0, 200)); break;
            case 15: write(std::numeric_limits<std::size_t>::max()); break;
            case 16: feed(in_.ConsumeBool() ? packets_.ack(PacketType::pubrel, id()) : packets_.disconnect()); break;
            case 17: feed(packets_.auth()); break;
            default: (void)session_.set_will(session::WillMessage{"w", "gone", QoS::at_least_once, false}); break;
        }
    }

    void finish() {
        write(std::numeric_limits<std::size_t>::max());
        session_.connection_closed({}, now_);
        drain();
        check(session_.state() == session::State::idle, "idle after connection_closed");
    }

private:
    PacketId id() { return static_cast<PacketId>(in_.ConsumeIntegralInRange<int>(0, 6)); }
    [[nodiscard]] bool v5() const { return packets_.v5(); }

    void open() {
        const bool was_idle = session_.state() == session::State::idle;
        const auto ec = session_.connection_opened(now_);
        check(was_idle == !ec, "connection_opened fails exactly when not idle");
        if (!ec) checker_.new_connection();
        drain();
    }

    void advance(Duration d) {
        now_ += d;
        session_.handle_timeout(now_);
        drain();
    }

    void to_deadline() {
        if (const auto due = session_.next_deadline()) {
            if (*due > now_) now_ = *due;
            session_.handle_timeout(now_);
            drain();
        }
    }

    void write(std::size_t max) {
        const Bytes out = session_.pending_output();
        const std::size_t n = std::min(max, out.size());
        trace_bytes("written", out.first(n));
        if (session_.state() != session::State::idle) checker_.written(out.first(n));
        session_.consume_output(n, now_);
        drain();
    }

    // Feeds server bytes in one or two pieces, the way the transport would.
    void feed(const std::vector<std::uint8_t>& bytes) {
        const std::size_t cut = in_.ConsumeIntegralInRange<std::size_t>(0, bytes.size());
        feed_piece(Bytes(bytes).first(cut));
        feed_piece(Bytes(bytes).subspan(cut));
    }

    void feed_piece(Bytes rest) {
        trace_bytes("received", rest);
        const std::size_t max_calls = rest.size() + 2;
        std::size_t calls = 0;
        while (!rest.empty()) {
            check(++calls <= max_calls, "handle_bytes() makes progress");
            const std::size_t used = session_.handle_bytes(rest, now_);
            check(used <= rest.size(), "handle_bytes() consumed <= size");
            drain();
            if (used == 0) break;
            rest = rest.subspan(used);
        }
    }

    void drain() {
        for (std::size_t n = 0; auto event = session_.poll_event(); ++n) {
            check(n < 1'000'000, "bounded event queue");
            const bool ends = std::holds_alternative<session::ConnectFailed>(*event) ||
                              std::holds_alternative<session::ConnectionLost>(*event);
            if (ends) check(session_.state() == session::State::idle, "connection-ending event leaves idle");
            if (tracing) std::fprintf(stderr, "  event %zu\n", event->index());
        }
    }

    std::vector<std::uint8_t> ack() {
        static constexpr PacketType types[] = {PacketType::puback, PacketType::pubrec, PacketType::pubcomp};
        const auto pick = in_.ConsumeIntegralInRange<std::size_t>(0, 3);
        if (pick == 3) return packets_.unsuback(id(), in_.ConsumeIntegralInRange<std::size_t>(0, 3));
        return packets_.ack(types[pick], id());
    }

    // 5.0: a reason code (some invalid for DISCONNECT) and properties; 3.1.1: the plain disconnect().
    void disconnect() {
        if (v5() && in_.ConsumeBool()) {
            session::DisconnectRequest r;
            static constexpr std::uint8_t codes[] = {0x00, 0x04, 0x80, 0x8D, 0x01};
            r.reason_code = codes[in_.ConsumeIntegralInRange<std::size_t>(0, 4)];
            if (in_.ConsumeBool()) r.session_expiry_interval = in_.ConsumeIntegralInRange<std::uint32_t>(0, 2);
            const bool idle = session_.state() == session::State::idle;
            const auto result = session_.disconnect(r, now_);
            if (idle && result.has_value()) check(!*result, "disconnect while idle returns false");
        } else {
            (void)session_.disconnect(now_);
        }
        drain();
    }

    // 5.0 request properties: usually valid ones, sometimes a Topic Alias (which a request may not carry).
    protocol::PropertiesView request_properties() {
        props_.clear();
        if (!v5()) return {};
        switch (in_.ConsumeIntegralInRange<int>(0, 4)) {
            case 1: props_.add_user_property("k", "v"); break;
            case 2: props_.message_expiry_interval(60).content_type("c"); break;
            case 3: props_.add_two_byte(protocol::PropertyId::topic_alias, 1); break;
            case 4: props_.subscription_identifier(7); break;
            default: break;
        }
        return props_.view();
    }

    // A request that needs a packet id gets one when it is sent; id 0 means it waits in the queue.
    void check_id(PacketId id) {
        if (id == 0) check(session_.queued_count() > 0, "packet id 0 only for a queued request");
    }

    void publish() {
        static constexpr const char* topics[] = {"a/b", "t", "a/+", "", "$SYS/x"};
        const std::string payload(in_.ConsumeIntegralInRange<std::size_t>(0, 2000), 'x');
        session::PublishRequest r;
        r.topic = topics[in_.ConsumeIntegralInRange<std::size_t>(0, 4)];
        r.payload = payload;
        r.qos = static_cast<QoS>(in_.ConsumeIntegralInRange<int>(0, 3));
        r.retain = in_.ConsumeBool();
        r.tag = in_.ConsumeIntegral<std::uint8_t>();
        r.properties = request_properties();
        const bool idle = session_.state() == session::State::idle;
        const auto result = session_.publish(r, now_);
        if (idle) check(!result.has_value(), "publish while idle fails");
        if (result.has_value() && r.qos != QoS::at_most_once) check_id(*result);
        drain();
    }

    void subscribe() {
        static constexpr const char* filters[] = {"a/#", "+", "a/b", "#/a", "$SYS/+", "$share/g/a/+", "$share//a"};
        std::vector<protocol::SubscribeEntry> entries(in_.ConsumeIntegralInRange<std::size_t>(0, 3));
        for (auto& e : entries) {
            e.filter = filters[in_.ConsumeIntegralInRange<std::size_t>(0, 6)];
            e.qos = static_cast<QoS>(in_.ConsumeIntegralInRange<int>(0, 3));
            if (!v5()) continue;
            const auto opts = in_.ConsumeIntegral<std::uint8_t>();
            e.no_local = (opts & 1U) != 0;
            e.retain_as_published = (opts & 2U) != 0;
            e.retain_handling = static_cast<protocol::RetainHandling>((opts >> 2) % 3);
        }
        const auto props = request_properties();
        const auto result = session_.subscribe(entries, props, in_.ConsumeIntegral<std::uint8_t>(), now_);
        if (result.has_value()) check_id(*result);
        drain();
    }

    void unsubscribe() {
        static constexpr std::string_view filters[] = {"a/#", "+", "a/b", "a+"};
        std::vector<std::string_view> list(in_.ConsumeIntegralInRange<std::size_t>(0, 3));
        for (auto& f : list) f = filters[in_.ConsumeIntegralInRange<std::size_t>(0, 3)];
        const auto tag = in_.ConsumeIntegral<std::uint8_t>();
        const auto result = session_.unsubscribe(list, tag, now_, request_properties());
        if (result.has_value()) check_id(*result);
        drain();
    }

    FuzzedDataProvider& in_;
    fuzz::ServerPackets packets_;
    OutputChecker checker_;
    Session session_;
    protocol::Properties props_;
    TimePoint now_ = TimePoint{} + std::chrono::hours(1);
};

session::SessionOptions options_from(FuzzedDataProvider& in) {
    session::SessionOptions o;
    o.protocol = in.ConsumeBool() ? protocol::ProtocolVersion::v5 : protocol::ProtocolVersion::v3_1_1;
    if (o.protocol == protocol::ProtocolVersion::v5) {
        o.v5.receive_maximum = in.ConsumeIntegralInRange<std::uint16_t>(1, 4);
        o.v5.maximum_packet_size = in.ConsumeBool() ? 0 : in.ConsumeIntegralInRange<std::uint32_t>(8, 2048);
        o.v5.topic_alias_maximum = in.ConsumeIntegralInRange<std::uint16_t>(0, 3);
        o.v5.outgoing_topic_aliases = in.ConsumeIntegralInRange<std::uint16_t>(0, 3);
        o.v5.session_expiry_interval = in.ConsumeBool() ? 0 : 300;
    }
    o.client_id = in.ConsumeBool() ? "fuzz" : "";
    o.clean_session = o.client_id.empty() || in.ConsumeBool();
    o.keepalive_seconds = in.ConsumeIntegralInRange<std::uint16_t>(0, 120);
    if (in.ConsumeBool()) o.username = "u";
    if ((o.username || o.protocol == protocol::ProtocolVersion::v5) && in.ConsumeBool()) o.password = std::string("p\0w", 3);
    if (in.ConsumeBool()) o.will = session::WillMessage{"will", "bye", QoS::exactly_once, true};
    o.max_message_length = in.ConsumeBool() ? 1024 : in.ConsumeIntegralInRange<std::size_t>(0, 200);
    o.max_inflight = in.ConsumeIntegralInRange<std::uint16_t>(1, 4);
    o.max_queued_messages = in.ConsumeIntegralInRange<std::size_t>(0, 8);
    o.max_buffered_bytes = in.ConsumeBool() ? std::size_t{16} << 20 : in.ConsumeIntegralInRange<std::size_t>(0, 4096);
    o.ping_timeout = std::chrono::seconds(in.ConsumeIntegralInRange<int>(0, 10));
    o.clean_resend = in.ConsumeBool() ? session::CleanResendPolicy::republish : session::CleanResendPolicy::fail;
    return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    auto options = options_from(in);
    if (session::validate(options)) return 0;
    Driver driver(in, std::move(options));
    for (int i = 0; i < 2000 && in.remaining_bytes() > 0; ++i) driver.step();
    driver.finish();
    return 0;
}
