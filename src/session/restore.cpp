// Session::restore(): rebuilds the durable state a persistent store kept (outgoing QoS 1/2, incoming QoS 2).
#include <algorithm>
#include <vector>

#include "nmqtt/protocol/decode.hpp"
#include "session_impl.hpp"

namespace nmqtt::session {
namespace {

// Checks a stored PUBLISH and returns where its packet id sits (0 when invalid).
std::size_t id_offset_of(Bytes packet, protocol::ProtocolVersion version) noexcept {
    auto decoded = protocol::decode_packet(packet, version);
    if (!decoded) return 0;
    const auto* p = std::get_if<protocol::Publish>(&*decoded);
    if (p == nullptr || p->qos == QoS::at_most_once || p->topic.empty()) return 0;
    // The id follows the topic (then come the 5.0 properties and the payload).
    return static_cast<std::size_t>(reinterpret_cast<const std::uint8_t*>(p->topic.data()) - packet.data()) +
           p->topic.size();
}

}  // namespace

std::error_code Session::restore(std::span<const StoredMessage> outgoing, std::span<const PacketId> incoming) {
    auto& s = *impl_;
    if (s.state != State::idle) return Errc::already_connected;
    std::vector<const StoredMessage*> order;
    for (const auto& m : outgoing) order.push_back(&m);
    std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->seq < b->seq; });
    for (const auto* m : order) {
        if (auto ec = s.restore_one(*m)) return ec;
    }
    for (const auto id : incoming) {
        if (id != 0) s.incoming_qos2.insert(id);
    }
    return {};
}

std::error_code Session::Impl::restore_one(const StoredMessage& m) {
    const std::size_t offset = m.released ? 0 : id_offset_of(m.packet, options.protocol);
    const bool id_taken = m.packet_id != 0 && inflight.find(m.packet_id) != detail::IdMap::npos;
    if ((!m.released && offset == 0) || (m.released && m.packet_id == 0) || id_taken) return Errc::invalid_argument;
    const std::uint32_t index = acquire_record();
    Record& r = records[index];
    r.bytes.assign(m.packet.begin(), m.packet.end());
    r.kind = Record::Kind::publish;
    r.qos = m.released ? QoS::exactly_once : static_cast<QoS>((m.packet[0] >> 1) & 0x03);
    r.tag = 0;
    r.seq = m.seq;
    r.id_offset = static_cast<std::uint32_t>(offset);
    r.id = m.packet_id;
    r.filter_count = 0;
    stored_bytes += r.bytes.size();
    next_seq = std::max(next_seq, m.seq + 1);
    if (m.packet_id == 0) {
        r.stage = Record::Stage::queued;
        outbox.push_back(index);
        return {};
    }
    r.stage = m.released ? Record::Stage::awaiting_pubcomp : Record::Stage::awaiting_ack;
    inflight.insert(r.id, index);
    ++inflight_publishes;
    next_id = std::max(next_id, r.id);
    return {};
}

}  // namespace nmqtt::session
