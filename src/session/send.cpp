// Session: outgoing requests, the outbox behind the in-flight window, packet ids and resends.
#include <algorithm>

#include "nmqtt/protocol/encode.hpp"
#include "nmqtt/protocol/topic.hpp"
#include "session_impl.hpp"

namespace nmqtt::session {
namespace {

void set_dup(Record& r) noexcept { r.bytes[0] |= 0x08; }
void clear_dup(Record& r) noexcept { r.bytes[0] &= static_cast<std::uint8_t>(~0x08U); }

// id_offset value meaning "the packet id follows the fixed header" (SUBSCRIBE, UNSUBSCRIBE).
constexpr std::size_t after_fixed_header = ~std::size_t{0};

// Size of the fixed header of an encoded packet (first byte + 1..4 length bytes).
std::size_t fixed_header_size(const std::vector<std::uint8_t>& bytes) noexcept {
    std::size_t i = 1;
    while ((bytes[i] & 0x80) != 0) ++i;
    return i + 1;
}

// Size of the fixed header of a packet of `total` bytes: 1 + the Remaining Length field for total - that.
std::size_t fixed_header_size_for(std::size_t total) noexcept {
    std::size_t n = 1;
    while (n < 4 && protocol::remaining_length_size(static_cast<std::uint32_t>(total - 1 - n)) != n) ++n;
    return 1 + n;
}

void patch_id(Record& r, PacketId id) noexcept {
    r.id = id;
    r.bytes[r.id_offset] = static_cast<std::uint8_t>(id >> 8);
    r.bytes[r.id_offset + 1] = static_cast<std::uint8_t>(id);
}

}  // namespace

namespace {

// Checks a v5 publish request against the protocol and what the server allows [MQTT-3.2.2-11/14, 3.3.4-6].
std::error_code check_v5_publish(const PublishRequest& request, const ServerLimits& server, bool connected) noexcept {
    bool bad = false;
    request.properties.for_each([&](const protocol::Property& prop) {
        bad = bad || prop.id == protocol::PropertyId::topic_alias ||
              prop.id == protocol::PropertyId::subscription_identifier;
    });
    if (bad) return Errc::invalid_argument;
    if (!connected) return {};
    if (static_cast<unsigned>(request.qos) > server.maximum_qos) return Errc::qos_not_supported;
    if (request.retain && !server.retain_available) return Errc::retain_not_supported;
    return {};
}

}  // namespace

// Never a packet above the server's Maximum Packet Size [MQTT-3.2.2-15].
std::error_code Session::Impl::check_size(std::size_t size) const noexcept {
    if (v5() && server.maximum_packet_size != 0 && size > server.maximum_packet_size) return Errc::packet_too_large;
    return {};
}

// The alias for `topic` under the documented policy (0: none); `known` when the server has it already.
std::uint16_t Session::Impl::outgoing_alias(std::string_view topic, bool& known) {
    known = false;
    for (std::size_t i = 0; i < outgoing_aliases.size(); ++i) {
        if (outgoing_aliases[i] == topic) {
            known = true;
            return static_cast<std::uint16_t>(i + 1);
        }
    }
    const std::size_t limit = std::min<std::size_t>(server.topic_alias_maximum, options.v5.outgoing_topic_aliases);
    if (outgoing_aliases.size() >= limit) return 0;  // [MQTT-3.2.2-17/18, 3.3.2-9]
    outgoing_aliases.emplace_back(topic);
    return static_cast<std::uint16_t>(outgoing_aliases.size());
}

// QoS 0 straight to the output, with an outgoing alias under the documented policy.
Result<PacketId> Session::Impl::publish_now(protocol::Publish& p, std::size_t size, std::uint64_t tag) {
    if (auto ec = check_size(size)) return ec;
    if (over_budget(size)) return Errc::queue_full;
    bool known = false;
    if (v5()) p.topic_alias = outgoing_alias(p.topic, known);
    if (known) p.topic = {};
    append(p);
    if (tag != 0) qos0_writes.push_back(PendingWrite{total_enqueued, tag});
    return PacketId{0};
}

Result<PacketId> Session::publish(const PublishRequest& request, TimePoint /*now*/) {
    auto& s = *impl_;
    const bool qos0 = request.qos == QoS::at_most_once;
    if (s.v5()) {
        if (auto ec = check_v5_publish(request, s.server, s.state == State::connected)) return ec;
    }
    protocol::Publish p{request.topic, request.payload, request.qos, request.retain, false,
                        static_cast<PacketId>(qos0 ? 0 : 1), request.properties, 0};
    auto size = protocol::encoded_size(p, s.options.protocol);
    if (!size) return size.error();
    if (qos0 && s.state == State::connected && s.outbox.empty()) return s.publish_now(p, *size, request.tag);
    if (s.state == State::connected) {
        if (auto ec = s.check_size(*size)) return ec;  // queued requests are checked when sent
    }
    // The packet id follows the fixed header and the topic.
    const std::size_t header = fixed_header_size_for(*size);
    const std::size_t id_offset = qos0 ? 0 : header + 2 + request.topic.size();
    return s.enqueue(Record::Kind::publish, p, *size, request.qos, request.tag, 0, id_offset);
}

namespace {

constexpr std::string_view share_prefix = "$share/";

bool has_wildcard(std::string_view filter) noexcept {
    return filter.find_first_of("+#") != std::string_view::npos;
}

// MQTT 5.0 checks of one subscription against the protocol and the server [MQTT-3.8.3-4, 4.8.2-1/2].
std::error_code check_v5_entry(const protocol::SubscribeEntry& e, const ServerLimits& server) noexcept {
    const bool shared = e.filter.substr(0, share_prefix.size()) == share_prefix;
    if (shared) {
        const auto rest = e.filter.substr(share_prefix.size());
        const auto slash = rest.find('/');
        if (slash == 0 || slash == std::string_view::npos || rest.substr(0, slash).find_first_of("+#") != std::string_view::npos) {
            return Errc::bad_topic_filter;
        }
        if (e.no_local) return Errc::invalid_argument;
        if (!server.shared_available) return Errc::shared_not_supported;
    }
    if (!server.wildcard_available && has_wildcard(e.filter)) return Errc::wildcard_not_supported;
    return {};
}

}  // namespace

Result<PacketId> Session::subscribe(std::span<const protocol::SubscribeEntry> entries, std::uint64_t tag,
                                    TimePoint now) {
    return subscribe(entries, {}, tag, now);
}

Result<PacketId> Session::subscribe(std::span<const protocol::SubscribeEntry> entries,
                                    protocol::PropertiesView properties, std::uint64_t tag, TimePoint /*now*/) {
    auto& s = *impl_;
    if (entries.size() > 0xFFFF) return Errc::packet_too_large;
    if (s.v5()) {
        for (const auto& e : entries) {
            if (auto ec = check_v5_entry(e, s.server)) return ec;
        }
        if (properties.find(protocol::PropertyId::subscription_identifier) && !s.server.subscription_ids_available) {
            return Errc::subscription_id_not_supported;
        }
    }
    protocol::Subscribe p{1, entries, {}, properties};
    const auto size = protocol::encoded_size(p, s.options.protocol);
    if (!size) return size.error();
    if (auto ec = s.check_size(*size)) return ec;
    return s.enqueue(Record::Kind::subscribe, p, *size, QoS::at_least_once, tag,
                     static_cast<std::uint16_t>(entries.size()), after_fixed_header);
}

Result<PacketId> Session::unsubscribe(std::span<const std::string_view> filters, std::uint64_t tag,
                                      TimePoint /*now*/, protocol::PropertiesView properties) {
    auto& s = *impl_;
    if (filters.size() > 0xFFFF) return Errc::packet_too_large;
    protocol::Unsubscribe p{1, filters, {}, properties};
    const auto size = protocol::encoded_size(p, s.options.protocol);
    if (!size) return size.error();
    if (auto ec = s.check_size(*size)) return ec;
    return s.enqueue(Record::Kind::unsubscribe, p, *size, QoS::at_least_once, tag,
                     static_cast<std::uint16_t>(filters.size()), after_fixed_header);
}

bool Session::Impl::over_budget(std::size_t extra) const noexcept {
    const std::size_t unsent = back.size() + (front.size() - front_head);
    return unsent + stored_bytes + extra > options.max_buffered_bytes;
}

// Stores an encoded request as a record and sends it now if the window allows. Returns its packet id (0 while
// queued: the id is assigned when it is sent, so ids are never held by requests still waiting).
Result<PacketId> Session::Impl::enqueue(Record::Kind kind, const protocol::Packet& packet, std::size_t size,
                                        QoS qos, std::uint64_t tag, std::uint16_t filter_count,
                                        std::size_t id_offset) {
    if (!accepts_requests()) return Errc::not_connected;
    // Checked before encoding, so that a request over the budget never grows a pooled buffer.
    if (over_budget(size) || outbox.size() + control.size() >= options.max_queued_messages) return Errc::queue_full;
    const std::uint32_t index = acquire_record();
    Record& r = records[index];
    r.bytes.clear();
    (void)protocol::encode_append(packet, r.bytes, options.protocol);  // validated by encoded_size()
    r.kind = kind;
    r.qos = qos;
    r.tag = tag;
    r.seq = next_seq++;
    r.filter_count = filter_count;
    r.id_offset = static_cast<std::uint32_t>(id_offset == after_fixed_header ? fixed_header_size(r.bytes) : id_offset);
    r.id = 0;
    r.stage = Record::Stage::queued;
    stored_bytes += r.bytes.size();
    if (kind == Record::Kind::publish && qos != QoS::at_most_once) {
        note(StoreChange::Kind::add_outgoing, r.seq, 0, r.bytes);
    }
    outbox.push_back(index);
    if (kind != Record::Kind::publish) ++outbox_control;
    pump();
    return records[index].id;
}

std::uint32_t Session::Impl::acquire_record() {
    if (!free_records.empty()) {
        const std::uint32_t index = free_records.back();
        free_records.pop_back();
        return index;
    }
    records.emplace_back();
    return static_cast<std::uint32_t>(records.size() - 1);
}

void Session::Impl::release_record(std::uint32_t index) {
    Record& r = records[index];
    if (r.id != 0) inflight.erase(r.id);
    stored_bytes -= r.bytes.size();
    r.stage = Record::Stage::free;
    r.id = 0;
    free_records.push_back(index);
}

// Next free packet id after the last one, wrapping 65535 -> 1 and skipping ids in use [MQTT-2.3.1-2].
Result<PacketId> Session::Impl::allocate_id() {
    if (inflight.size() >= 65535) return Errc::packet_ids_exhausted;
    do {
        next_id = static_cast<PacketId>(next_id == 65535 ? 1 : next_id + 1);
    } while (inflight.find(next_id) != detail::IdMap::npos);
    return next_id;
}

// Sends the record at the head of the outbox if the window and the id space allow; false otherwise.
// Unacknowledged QoS 1/2 publishes allowed: ours, and the server's Receive Maximum [MQTT-3.3.4-7, 4.9.0-1/2].
std::size_t Session::Impl::send_quota() const noexcept {
    if (!v5()) return options.max_inflight;
    return std::min<std::size_t>(options.max_inflight, server.receive_maximum);
}

bool Session::Impl::send_record(std::uint32_t index) {
    Record& r = records[index];
    const bool counted = r.kind == Record::Kind::publish && r.qos != QoS::at_most_once;
    if (counted && inflight_publishes >= send_quota()) return false;
    if (auto ec = check_size(r.bytes.size())) {  // queued before the CONNACK said how much fits
        if (r.kind == Record::Kind::publish) {
            complete_publish(index, ec);
        } else if (r.kind == Record::Kind::subscribe) {
            events.push_back(SubscribeDone{r.tag, 0, {}, ec, {}});
            release_record(index);
        } else {
            events.push_back(UnsubscribeDone{r.tag, 0, ec, {}, {}});
            release_record(index);
        }
        return true;
    }
    if (r.id_offset == 0) {  // QoS 0 publish: written once, never kept [MQTT-4.3.1-1]
        append_bytes(r.bytes);
        if (r.tag != 0) qos0_writes.push_back(PendingWrite{total_enqueued, r.tag});
        release_record(index);
        return true;
    }
    const auto id = allocate_id();
    if (!id) return false;
    patch_id(r, *id);
    inflight.insert(*id, index);
    r.stage = Record::Stage::awaiting_ack;
    if (counted) {
        ++inflight_publishes;
        note(StoreChange::Kind::sent_outgoing, r.seq, r.id);
    }
    append_bytes(r.bytes);
    return true;
}

void Session::Impl::pump() {
    if (state != State::connected) return;
    send_control();
    if (resend_deferred()) {  // resends first, in their order [MQTT-4.6.0-1]
        while (!outbox.empty()) {
            const bool request = records[outbox.front()].kind != Record::Kind::publish;
            if (!send_record(outbox.front())) break;
            if (request) --outbox_control;
            outbox.pop_front();
        }
        if (outbox.empty()) return;
    }
    let_control_overtake();
}

void Session::Impl::send_control() {
    while (!control.empty() && send_record(control.front())) control.pop_front();
}

// The outbox waits for the window: its SUBSCRIBE/UNSUBSCRIBE records go out now [MQTT-3.3.4-8]. The publishes
// keep their order among themselves; each request is moved at most once (outbox_control counts them).
void Session::Impl::let_control_overtake() {
    if (outbox_control == 0) return;
    outbox.move_out_if([this](std::uint32_t i) { return records[i].kind != Record::Kind::publish; }, control);
    outbox_control = 0;
    send_control();
}

// Sends again the publishes a resumed session had to hold back, as the window opens; true when none is left.
// Entries whose record was completed or released meanwhile (the server had it) are skipped.
bool Session::Impl::resend_deferred() {
    while (!resends.empty()) {
        Record& r = records[resends.front()];
        if (r.stage == Record::Stage::awaiting_resend) {
            if (inflight_publishes >= send_quota()) return false;
            r.stage = Record::Stage::awaiting_ack;
            ++inflight_publishes;
            set_dup(r);
            append_bytes(r.bytes);
        }
        resends.pop_front();
    }
    return true;
}

void Session::Impl::complete_publish(std::uint32_t index, std::error_code error, std::uint8_t reason,
                                     protocol::PropertiesView properties) {
    Record& r = records[index];
    events.push_back(PublishDone{r.tag, r.id, r.qos, error, reason, properties});
    if (r.qos != QoS::at_most_once) note(StoreChange::Kind::remove_outgoing, r.seq, r.id);
    const bool counted = r.stage == Record::Stage::awaiting_ack || r.stage == Record::Stage::awaiting_pubcomp;
    if (counted && r.qos != QoS::at_most_once) --inflight_publishes;
    release_record(index);
}

// In-flight records in the order they were first sent.
static std::vector<std::uint32_t> inflight_in_order(const std::vector<Record>& records) {
    std::vector<std::uint32_t> order;
    for (std::uint32_t i = 0; i < records.size(); ++i) {
        const auto stage = records[i].stage;
        if (stage == Record::Stage::awaiting_ack || stage == Record::Stage::awaiting_pubcomp ||
            stage == Record::Stage::awaiting_resend) {
            order.push_back(i);
        }
    }
    std::sort(order.begin(), order.end(), [&](auto a, auto b) { return records[a].seq < records[b].seq; });
    return order;
}

// After the CONNACK of a resumed session: PUBLISH again with DUP=1, or PUBREL past PUBREC, same ids and
// original order [MQTT-4.4.0-1, 4.6.0-1, 3.3.1-1]; SUBSCRIBE/UNSUBSCRIBE awaiting an ack are sent again.
// No more publishes than this connection's window allows (the server's Receive Maximum may be smaller than
// on the previous connection) [MQTT-4.9.0-2]: the others wait in `resends` for resend_deferred().
void Session::Impl::resend_inflight() {
    resends.clear();
    inflight_publishes = 0;
    for (const auto index : inflight_in_order(records)) {
        Record& r = records[index];
        if (r.kind == Record::Kind::publish) ++inflight_publishes;
        if (r.stage == Record::Stage::awaiting_pubcomp) {
            append(protocol::Pubrel{r.id, 0, {}});
            continue;
        }
        if (r.kind == Record::Kind::publish && inflight_publishes > send_quota()) {
            --inflight_publishes;
            r.stage = Record::Stage::awaiting_resend;
            resends.push_back(index);
            continue;
        }
        r.stage = Record::Stage::awaiting_ack;
        if (r.kind == Record::Kind::publish) set_dup(r);
        append_bytes(r.bytes);
    }
}

// Clean session [MQTT-3.1.2-6]: the old session's ids and resends are not carried over. The user's requests
// are: republished as new messages (or failed, by policy); QoS 2 past PUBREC reached the broker: done.
void Session::Impl::discard_old_session() {
    clear_incoming();
    const auto order = inflight_in_order(records);
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        Record& r = records[*it];
        const bool publish = r.kind == Record::Kind::publish;
        if (publish && (r.stage == Record::Stage::awaiting_pubcomp || options.clean_resend == CleanResendPolicy::fail)) {
            complete_publish(*it, r.stage == Record::Stage::awaiting_pubcomp ? std::error_code{}
                                                                              : make_error_code(Errc::session_lost));
            continue;
        }
        if (publish) {
            if (r.stage == Record::Stage::awaiting_ack) --inflight_publishes;
            note(StoreChange::Kind::sent_outgoing, r.seq, 0);
        }
        inflight.erase(r.id);
        r.id = 0;
        clear_dup(r);
        r.stage = Record::Stage::queued;
        outbox.push_front(*it);
        if (!publish) ++outbox_control;
    }
}

void Session::Impl::fail_pending_writes(std::error_code error) {
    while (!qos0_writes.empty()) {
        events.push_back(PublishDone{qos0_writes.front().tag, 0, QoS::at_most_once, error, 0, {}});
        qos0_writes.pop_front();
    }
}

}  // namespace nmqtt::session
