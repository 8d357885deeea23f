// libFuzzer target, structure-aware: the input is a few option bytes, then a sequence of operations on one
// Session, each chosen by one byte and parameterised by the next: open/close the transport, feed a valid
// server packet built from fuzz bytes (CONNACK, PUBLISH QoS 0/1/2, PUBACK/PUBREC/PUBREL/PUBCOMP/SUBACK/
// UNSUBACK for ids the server has actually received, or for unknown ids, PINGRESP, 5.0 DISCONNECT and AUTH),
// feed raw bytes, make user requests (publish QoS 0/1/2, subscribe, unsubscribe, disconnect), advance the
// fake clock and run the timers, write some or all of the output. 3.1.1 or 5.0 by the first option byte.
//
// A model of the session, built only from what the session returns, emits and writes, is checked after
// EVERY operation (abort() on violation):
//   ids      a packet id is never given to a new PUBLISH/SUBSCRIBE/UNSUBSCRIBE while it is in flight
//            [MQTT-2.3.1-2]; a DUP=1 PUBLISH is a resend of an id in flight; no PUBLISH is resent after its
//            PUBREL was sent [MQTT-4.3.3-1]
//   window   QoS 1/2 PUBLISHes sent on a connection and not acknowledged <= max_inflight and, at 5.0, the
//            server's Receive Maximum of that connection [MQTT-4.9.0-2]
//   buffers  unsent output <= 2 x max_buffered_bytes + the CONNECT + a few protocol answers (the transport
//            stops reading while wants_input() is false, as src/net does); wants_input() means unsent output
//            <= max_buffered_bytes
//   closed   no output once the session is idle; nothing after a DISCONNECT on the wire [MQTT-3.14.4-2];
//            a connection-ending event leaves the session idle
//   timers   after handle_timeout(now), next_deadline() is absent or later than now
//   requests every request completes at most once, and only a request that was accepted; the session keeps
//            no more requests than are outstanding (no leaks)
//   qos 2 in a QoS 2 message is delivered at most once until its PUBREL [MQTT-4.3.3-2]; the count of ids
//            awaiting PUBREL matches the deliveries; 5.0: it never exceeds our Receive Maximum
#include <fuzzer/FuzzedDataProvider.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "nmqtt/protocol/stream_decoder.hpp"
#include "nmqtt/session/session.hpp"
#include "server_packets.hpp"

namespace {

using namespace nmqtt;
using protocol::PacketType;
using protocol::ProtocolVersion;
using protocol::StreamDecoder;
using session::Session;
using session::State;

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
    for (std::size_t i = 0; i < b.size() && i < 512; ++i) std::fprintf(stderr, " %02X", b[i]);
    std::fprintf(stderr, b.size() > 512 ? " ...\n" : "\n");
}

// An outgoing request holding a packet id, as the model sees it.
struct Outgoing {
    PacketType type = PacketType::publish;
    QoS qos = QoS::at_least_once;
    bool on_wire = false;   ///< written on the current connection
    bool released = false;  ///< QoS 2: our PUBREL was written
    std::size_t filters = 0;
};

class Model {
public:
    explicit Model(const session::SessionOptions& o) : options_(o), decoder_(decoder_options(o.protocol)) {}

    // --- connection lifecycle
    void connection_opened() {
        decoder_.reset();
        stale_.clear();
        packets_on_wire_ = 0;
        disconnect_written_ = false;
        connected_ = false;
        if (options_.clean_session) ids_.clear();  // the session forgets ids; requests get new ones
        for (auto& [id, o] : ids_) o.on_wire = false;
    }
    // The window of this connection: ours and, at 5.0, the CONNACK's Receive Maximum (default 65,535).
    void connected(protocol::PropertiesView connack) {
        connected_ = true;
        quota_ = options_.max_inflight;
        if (options_.protocol == ProtocolVersion::v5) {
            quota_ = std::min<std::size_t>(quota_, connack.receive_maximum().value_or(65'535));
        }
    }

    // --- requests
    std::uint64_t new_tag() { return ++last_tag_; }
    void accepted(std::uint64_t tag) { outstanding_.insert(tag); }
    void assigned_by_api(PacketId id, PacketType type, QoS qos, std::size_t filters) {
        check(ids_.count(id) == 0, "ids: a request got an id in flight");
        ids_[id] = Outgoing{type, qos, false, false, filters};
    }
    void completed(std::uint64_t tag, PacketId id) {
        check(outstanding_.erase(tag) == 1, "requests: completed once, and only if accepted");
        if (id == 0) return;
        // Completed before its packet was written (an ack in raw bytes, or a failure): that packet may still
        // come out on this connection, as the last use of the id.
        const auto it = ids_.find(id);
        if (it == ids_.end() || !it->second.on_wire) stale_.insert(id);
        if (it != ids_.end()) ids_.erase(it);
    }
    [[nodiscard]] std::size_t outstanding() const { return outstanding_.size(); }

    // --- incoming QoS 2. Raw bytes may hold any packets (a CONNACK clearing the ids, PUBRELs): the model
    // stops comparing after them until the session's set is empty again.
    void delivered_qos2(PacketId id) {
        const bool fresh = incoming2_.insert(id).second;
        if (!unsynced_) check(fresh, "qos 2 in: delivered twice before PUBREL");
    }
    void released_incoming(PacketId id) { incoming2_.erase(id); }
    void unsync() { unsynced_ = true; }
    void check_incoming(std::size_t count) {
        if (count == 0) {
            incoming2_.clear();
            unsynced_ = false;
        }
        if (!unsynced_) check(incoming2_.size() == count, "qos 2 in: ids awaiting PUBREL match deliveries");
    }

    // --- ids the server has received, for acks
    [[nodiscard]] std::vector<PacketId> on_wire(PacketType type, bool released) const {
        std::vector<PacketId> out;
        for (const auto& [id, o] : ids_) {
            if (o.on_wire && o.type == type && (type != PacketType::publish || o.released == released)) out.push_back(id);
        }
        return out;
    }
    [[nodiscard]] std::vector<PacketId> on_wire_any() const {
        std::vector<PacketId> out;
        for (const auto& [id, o] : ids_) {
            if (o.on_wire) out.push_back(id);
        }
        return out;
    }
    [[nodiscard]] const Outgoing* find(PacketId id) const {
        const auto it = ids_.find(id);
        return it == ids_.end() ? nullptr : &it->second;
    }

    // --- output
    void written(Bytes bytes) {
        while (!bytes.empty()) {
            const auto step = decoder_.feed(bytes);
            check(step.kind != StreamDecoder::Kind::error, "output: decodes as client packets");
            check(step.kind != StreamDecoder::Kind::overflow, "output: no overflow without a limit");
            bytes = bytes.subspan(step.consumed);
            if (step.kind == StreamDecoder::Kind::need_more) break;
            on_packet(step.packet);
        }
    }
    [[nodiscard]] bool disconnect_written() const { return disconnect_written_; }

private:
    static StreamDecoder::Options decoder_options(ProtocolVersion version) {
        StreamDecoder::Options o;
        o.max_message_length = std::numeric_limits<std::size_t>::max();
        o.max_control_packet_length = std::numeric_limits<std::size_t>::max();
        o.version = version;
        return o;
    }

    void on_packet(const protocol::Packet& packet) {
        const auto type = protocol::type_of(packet);
        check(!disconnect_written_, "closed: nothing is sent after DISCONNECT");
        check((packets_on_wire_++ == 0) == (type == PacketType::connect), "output: CONNECT first and only first");
        if (type == PacketType::disconnect) disconnect_written_ = true;
        if (const auto* p = std::get_if<protocol::Publish>(&packet); p && p->qos != QoS::at_most_once) on_publish(*p);
        if (const auto* s = std::get_if<protocol::Subscribe>(&packet)) on_request(s->packet_id, type);
        if (const auto* u = std::get_if<protocol::Unsubscribe>(&packet)) on_request(u->packet_id, type);
        if (const auto* r = std::get_if<protocol::Pubrel>(&packet)) {
            // Released once its PUBLISH went out on this connection (a PUBREL for an id the server PUBRECed
            // while we did not use it may still be queued ahead of a new PUBLISH with that id).
            const auto it = ids_.find(r->packet_id);
            if (it != ids_.end() && it->second.qos == QoS::exactly_once && it->second.on_wire) it->second.released = true;
        }
    }

    void on_publish(const protocol::Publish& p) {
        check(connected_, "output: no PUBLISH before the CONNACK");
        if (stale_.erase(p.packet_id) != 0) return;
        auto it = ids_.find(p.packet_id);
        if (p.dup && it != ids_.end()) {
            check(it->second.type == PacketType::publish, "ids: DUP=1 only for a publish in flight");
            check(!it->second.released, "ids: no PUBLISH resent after its PUBREL [MQTT-4.3.3-1]");
            check(!it->second.on_wire, "ids: one resend per connection");
        } else if (it == ids_.end()) {
            // New, or (DUP=1) sent with an id while the model was not told, and never written before the
            // connection closed: the session cannot know whether bytes handed over reached the server.
            it = ids_.emplace(p.packet_id, Outgoing{PacketType::publish, p.qos, false, false, 0}).first;
        } else {
            // Only a request whose id publish() returned may appear for the first time with DUP=0.
            check(it->second.type == PacketType::publish && !it->second.on_wire && !it->second.released,
                  "ids: a new PUBLISH reuses an id in flight");
        }
        check(it->second.qos == p.qos, "ids: a resend keeps its QoS");
        it->second.on_wire = true;
        std::size_t sent = 0;
        for (const auto& [id, o] : ids_) sent += o.type == PacketType::publish && o.on_wire ? 1 : 0;
        check(sent <= quota_, "window: unacknowledged QoS 1/2 PUBLISHes <= max_inflight / Receive Maximum");
    }

    void on_request(PacketId id, PacketType type) {
        if (stale_.erase(id) != 0) return;
        auto it = ids_.find(id);
        if (it == ids_.end()) it = ids_.emplace(id, Outgoing{type, QoS::at_least_once, false, false, 0}).first;
        check(it->second.type == type, "ids: a new request reuses an id in flight");
        check(!it->second.on_wire, "ids: a request sent twice on one connection");
        it->second.on_wire = true;
    }

    const session::SessionOptions& options_;
    StreamDecoder decoder_;
    std::map<PacketId, Outgoing> ids_;
    std::set<std::uint64_t> outstanding_;
    std::set<PacketId> incoming2_;
    std::set<PacketId> stale_;  ///< ids completed before their packet was written on this connection
    bool unsynced_ = false;
    std::uint64_t last_tag_ = 0;
    std::size_t packets_on_wire_ = 0;
    std::size_t quota_ = 0;
    bool connected_ = false;
    bool disconnect_written_ = false;
};

class Driver {
public:
    Driver(FuzzedDataProvider& in, session::SessionOptions options)
        : in_(in), options_(std::move(options)), packets_(in, options_.protocol), session_(options_), model_(options_) {}

    void step() {
        const int op = in_.ConsumeIntegralInRange<int>(0, 21);
        if (tracing) std::fprintf(stderr, "op %d at %lldms state %d\n", op, elapsed_ms(), static_cast<int>(session_.state()));
        run(op);
        drain();
        check_invariants();
    }

    void finish() {
        write(std::numeric_limits<std::size_t>::max());
        session_.connection_closed({}, now_);
        drain();
        check(session_.state() == State::idle, "closed: idle after connection_closed");
        check_invariants();
    }

private:
    void run(int op) {
        switch (op) {
            case 0: open(); break;
            case 1: session_.connection_closed(make_error_code(Errc::connection_closed), now_); break;
            case 2: feed(packets_.connack()); break;
            case 3: feed(packets_.publish(8)); break;
            case 4: feed(packets_.ack(PacketType::puback, pick(PacketType::publish, false))); break;
            case 5: feed(packets_.ack(PacketType::pubrec, pick(PacketType::publish, false))); break;
            case 6: feed_pubrel(); break;
            case 7: feed(packets_.ack(PacketType::pubcomp, pick(PacketType::publish, true))); break;
            case 8: feed_suback(PacketType::subscribe); break;
            case 9: feed_suback(PacketType::unsubscribe); break;
            case 10: feed({0xD0, 0x00}); break;
            case 11: feed(in_.ConsumeBool() ? packets_.disconnect() : packets_.auth()); break;
            case 12: feed_raw(); break;
            case 13: case 14: publish(); break;
            case 15: subscribe(); break;
            case 16: unsubscribe(); break;
            case 17: (void)session_.disconnect(now_); break;
            case 18: advance(std::chrono::milliseconds(in_.ConsumeIntegralInRange<int>(0, 40'000))); break;
            case 19: to_deadline(); break;
            case 20: write(in_.ConsumeIntegralInRange<std::size_t>(0, 300)); break;
            default: write(std::numeric_limits<std::size_t>::max()); break;
        }
    }

    long long elapsed_ms() const {
        return std::chrono::duration_cast<std::chrono::milliseconds>(now_ - start_).count();
    }

    // An id the server has received (the common case), or one it never saw.
    PacketId pick(PacketType type, bool released) {
        const PacketId id = pick_id(type, released);
        if (tracing) std::fprintf(stderr, "  ack id %d\n", int{id});
        return id;
    }

    // An id of the right type that the server has received (the common case), an id of another type it has
    // received, or one never in use: the session allocates ids upwards from 1, one per packet, so within one
    // input (at most 1,000 operations) it never reaches 60,000. Never an id sent but not yet written: a
    // server cannot acknowledge a packet it has not received.
    PacketId pick_id(PacketType type, bool released) {
        const int how = in_.ConsumeIntegralInRange<int>(0, 7);
        auto ids = model_.on_wire(type, released);
        if (how == 6) ids = model_.on_wire_any();
        if (!ids.empty() && how != 7) return ids[in_.ConsumeIntegralInRange<std::size_t>(0, ids.size() - 1)];
        return in_.ConsumeIntegralInRange<PacketId>(60'000, 65'535);
    }

    void feed_suback(PacketType request) {
        const PacketId id = pick(request, false);
        const auto* o = model_.find(id);
        const std::size_t filters = o != nullptr ? o->filters : 1;
        feed(request == PacketType::subscribe ? packets_.suback(id, filters) : packets_.unsuback(id, filters));
    }

    void feed_pubrel() {
        const auto id = in_.ConsumeIntegralInRange<PacketId>(1, 8);
        const std::size_t before = session_.incoming_qos2_count();
        feed(packets_.ack(PacketType::pubrel, id));
        drain();
        if (session_.incoming_qos2_count() + 1 == before) model_.released_incoming(id);
    }

    void feed_raw() {
        model_.unsync();
        feed(in_.ConsumeBytes<std::uint8_t>(in_.ConsumeIntegralInRange<std::size_t>(0, 64)));
    }

    void open() {
        const bool was_idle = session_.state() == State::idle;
        drain();  // events of the previous connection belong to it
        const auto ec = session_.connection_opened(now_);
        check(was_idle == !ec, "connection_opened fails exactly when not idle");
        if (!ec) model_.connection_opened();
    }

    void advance(Duration d) {
        now_ += d;
        timeout();
    }

    void to_deadline() {
        if (const auto due = session_.next_deadline()) {
            if (*due > now_) now_ = *due;
            timeout();
        }
    }

    void timeout() {
        session_.handle_timeout(now_);
        const auto due = session_.next_deadline();
        check(!due || *due > now_, "timers: next deadline is later than now after handle_timeout");
    }

    void write(std::size_t max) {
        const Bytes out = session_.pending_output();
        const std::size_t n = std::min(max, out.size());
        trace_bytes("written", out.first(n));
        model_.written(out.first(n));
        session_.consume_output(n, now_);
    }

    // Feeds server bytes in one or two pieces, the way the transport would: only while the session wants
    // input (src/net stops reading while wants_input() is false).
    void feed(const std::vector<std::uint8_t>& bytes) {
        if (!session_.wants_input()) return;
        const std::size_t cut = in_.ConsumeIntegralInRange<std::size_t>(0, bytes.size());
        feed_piece(Bytes(bytes).first(cut));
        feed_piece(Bytes(bytes).subspan(cut));
    }

    void feed_piece(Bytes rest) {
        trace_bytes("received", rest);
        const std::size_t max_calls = rest.size() + 2;
        for (std::size_t calls = 0; !rest.empty();) {
            check(++calls <= max_calls, "input: handle_bytes() makes progress");
            const std::size_t used = session_.handle_bytes(rest, now_);
            check(used <= rest.size(), "input: handle_bytes() consumed <= size");
            drain();
            if (used == 0) break;
            rest = rest.subspan(used);
        }
    }

    void drain() {
        for (std::size_t n = 0; auto event = session_.poll_event(); ++n) {
            check(n < 100'000, "events: bounded queue");
            if (tracing) std::fprintf(stderr, "  event %zu\n", event->index());
            std::visit([&](const auto& e) { on_event(e); }, *event);
        }
    }

    void on_event(const session::Connected& e) { model_.connected(e.properties); }
    void on_event(const session::ConnectFailed&) { check(session_.state() == State::idle, "closed: ConnectFailed leaves idle"); }
    void on_event(const session::ConnectionLost&) { check(session_.state() == State::idle, "closed: ConnectionLost leaves idle"); }
    void on_event(const session::MessageReceived& e) { on_message(e.message); }
    void on_event(const session::MessageOverflow& e) { on_message(e.message); }
    void on_event(const session::PublishDone& e) { model_.completed(e.tag, e.packet_id); }
    void on_event(const session::SubscribeDone& e) { model_.completed(e.tag, e.packet_id); }
    void on_event(const session::UnsubscribeDone& e) { model_.completed(e.tag, e.packet_id); }
    void on_event(const session::PingResponse&) {}
    // No Authentication Method is ever sent here, so an AUTH must never become an event [MQTT-4.12.0-6].
    void on_event(const session::AuthReceived&) { check(false, "auth: AUTH accepted without a method"); }

    void on_message(const MessageView& m) {
        if (m.qos == QoS::exactly_once) model_.delivered_qos2(m.packet_id);
    }

    void check_invariants() {
        const Bytes out = session_.pending_output();
        if (session_.state() == State::idle) check(out.empty(), "closed: no output while idle");
        if (model_.disconnect_written()) check(out.empty(), "closed: no output after DISCONNECT was written");
        const std::size_t bound = 2 * options_.max_buffered_bytes + 2048 + 8 * std::size_t{options_.max_inflight};
        check(out.size() <= bound, "buffers: unsent output within 2 x max_buffered_bytes + slack");
        if (session_.wants_input()) check(out.size() <= options_.max_buffered_bytes, "buffers: wants_input() within bound");
        check(session_.inflight_count() + session_.queued_count() <= model_.outstanding(), "requests: no leak");
        model_.check_incoming(session_.incoming_qos2_count());
        if (options_.protocol == ProtocolVersion::v5) {
            check(session_.incoming_qos2_count() <= options_.v5.receive_maximum, "qos 2 in: <= our Receive Maximum");
        }
    }

    // --- user requests
    void publish() {
        static constexpr const char* topics[] = {"a/b", "t", "a/+", "", "$SYS/x"};
        payload_.assign(in_.ConsumeIntegralInRange<std::size_t>(0, in_.ConsumeBool() ? 64 : 2000), 'x');
        session::PublishRequest r;
        r.topic = topics[in_.ConsumeIntegralInRange<std::size_t>(0, 4)];
        r.payload = payload_;
        r.qos = static_cast<QoS>(in_.ConsumeIntegralInRange<int>(0, 2));
        r.retain = in_.ConsumeBool();
        r.tag = model_.new_tag();
        const auto result = session_.publish(r, now_);
        if (tracing) std::fprintf(stderr, "  publish qos %d tag %llu: %s %d\n", static_cast<int>(r.qos),
                                  static_cast<unsigned long long>(r.tag), result ? "id" : "error",
                                  result ? int{*result} : result.error().value());
        if (!result) return;
        model_.accepted(r.tag);
        if (*result != 0) model_.assigned_by_api(*result, PacketType::publish, r.qos, 0);
    }

    void subscribe() {
        static constexpr const char* filters[] = {"a/#", "+", "a/b", "$share/g/a", "$SYS/+"};
        std::vector<protocol::SubscribeEntry> entries(in_.ConsumeIntegralInRange<std::size_t>(1, 3));
        for (auto& e : entries) {
            e.filter = filters[in_.ConsumeIntegralInRange<std::size_t>(0, 4)];
            e.qos = static_cast<QoS>(in_.ConsumeIntegralInRange<int>(0, 2));
        }
        const auto tag = model_.new_tag();
        const auto result = session_.subscribe(entries, tag, now_);
        if (!result) return;
        model_.accepted(tag);
        if (*result != 0) model_.assigned_by_api(*result, PacketType::subscribe, QoS::at_least_once, entries.size());
    }

    void unsubscribe() {
        static constexpr std::string_view filters[] = {"a/#", "+", "a/b"};
        std::vector<std::string_view> list(in_.ConsumeIntegralInRange<std::size_t>(1, 3));
        for (auto& f : list) f = filters[in_.ConsumeIntegralInRange<std::size_t>(0, 2)];
        const auto tag = model_.new_tag();
        const auto result = session_.unsubscribe(list, tag, now_);
        if (!result) return;
        model_.accepted(tag);
        if (*result != 0) model_.assigned_by_api(*result, PacketType::unsubscribe, QoS::at_least_once, list.size());
    }

    FuzzedDataProvider& in_;
    session::SessionOptions options_;
    fuzz::ServerPackets packets_;
    Session session_;
    Model model_;
    std::string payload_;
    const TimePoint start_ = TimePoint{} + std::chrono::hours(1);
    TimePoint now_ = start_;
};

session::SessionOptions options_from(FuzzedDataProvider& in) {
    session::SessionOptions o;
    const auto flags = in.ConsumeIntegral<std::uint8_t>();
    const auto bit = [&](int i) { return (flags >> i & 1U) != 0; };
    o.protocol = bit(0) ? ProtocolVersion::v5 : ProtocolVersion::v3_1_1;
    o.clean_session = bit(1);
    o.client_id = "ops";
    o.queue_while_offline = bit(2);
    o.clean_resend = bit(3) ? session::CleanResendPolicy::fail : session::CleanResendPolicy::republish;
    if (bit(4)) o.will = session::WillMessage{"will", "bye", QoS::at_least_once, false};
    o.keepalive_seconds = in.ConsumeIntegralInRange<std::uint16_t>(0, 30);
    o.max_inflight = in.ConsumeIntegralInRange<std::uint16_t>(1, 6);
    o.max_queued_messages = in.ConsumeIntegralInRange<std::size_t>(1, 12);
    o.max_buffered_bytes = in.ConsumeIntegralInRange<std::size_t>(0, 6000);
    o.max_message_length = in.ConsumeBool() ? 1024 : in.ConsumeIntegralInRange<std::size_t>(0, 200);
    o.ping_timeout = std::chrono::seconds(in.ConsumeIntegralInRange<int>(0, 5));
    o.connect_write_timeout = std::chrono::seconds(in.ConsumeIntegralInRange<int>(0, 5));
    o.connack_timeout = std::chrono::seconds(in.ConsumeIntegralInRange<int>(0, 5));
    if (o.protocol == ProtocolVersion::v5) {
        o.v5.receive_maximum = in.ConsumeIntegralInRange<std::uint16_t>(1, 4);
        o.v5.topic_alias_maximum = in.ConsumeIntegralInRange<std::uint16_t>(0, 3);
        o.v5.session_expiry_interval = bit(5) ? 600 : 0;
        if (bit(6)) o.v5.maximum_packet_size = in.ConsumeIntegralInRange<std::uint32_t>(8, 4096);
    }
    return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    FuzzedDataProvider in(data, size);
    auto options = options_from(in);
    if (session::validate(options)) return 0;
    Driver driver(in, std::move(options));
    for (int i = 0; i < 1000 && in.remaining_bytes() > 0; ++i) driver.step();
    driver.finish();
    return 0;
}
