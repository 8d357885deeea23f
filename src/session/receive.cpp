// Session: what each packet from the server does (section 3 and the flows of section 4.3).
#include "nmqtt/protocol/encode.hpp"
#include "session_impl.hpp"

namespace nmqtt::session {

void Session::Impl::on_packet(const protocol::Packet& packet) {
    if (state == State::connecting && !std::holds_alternative<protocol::Connack>(packet)) {
        fail_connection(Errc::not_a_connack, static_cast<int>(ConnFail::not_a_connack_msg));  // [MQTT-3.2.0-1]
        return;
    }
    std::visit(Overloaded{
                   [&](const protocol::Connack& p) { on_connack(p); },
                   [&](const protocol::Publish& p) { on_publish(p, false, 0); },
                   [&](const protocol::Puback& p) { on_puback(p.packet_id); },
                   [&](const protocol::Pubrec& p) { on_pubrec(p.packet_id); },
                   [&](const protocol::Pubrel& p) { on_pubrel(p.packet_id); },
                   [&](const protocol::Pubcomp& p) { on_pubcomp(p.packet_id); },
                   [&](const protocol::Suback& p) { on_suback(p); },
                   [&](const protocol::Unsuback& p) { on_unsuback(p.packet_id); },
                   [&](const protocol::Pingresp&) {
                       ping_sent_at.reset();
                       events.push_back(PingResponse{});
                   },
                   // CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ, DISCONNECT never come from a server [MQTT-4.8.0-1].
                   [&](const auto&) { fail_connection(Errc::unexpected_packet, 0); },
               },
               packet);
}

void Session::Impl::on_connack(const protocol::Connack& p) {
    if (state != State::connecting) {
        fail_connection(Errc::unexpected_packet, 0);
        return;
    }
    if (p.return_code != 0) {
        fail_connection(Errc::connection_refused, p.return_code);
        return;
    }
    if (p.session_present && options.clean_session) {  // [MQTT-3.2.2-1]
        fail_connection(Errc::session_present_on_clean, static_cast<int>(ConnFail::not_a_connack_msg));
        return;
    }
    // Session present = 0 on a resumed session: the server kept nothing, so its QoS 2 ids are gone too. Our
    // own unacknowledged messages are still sent again (the server treats them as new) [MQTT-3.2.2-3].
    if (!p.session_present) clear_incoming();
    state = State::connected;
    events.push_back(Connected{p.session_present});
    resend_inflight();
    pump();
}

// [MQTT-3.3.4-1, 4.3.2-2, 4.3.3-2, 4.5.0-2]: acknowledge by QoS, deliver a QoS 2 message once per id.
void Session::Impl::on_publish(const protocol::Publish& p, bool overflow, std::uint32_t total_size) {
    bool deliver = true;
    if (p.qos == QoS::at_least_once) {
        append(protocol::Puback{p.packet_id});
    } else if (p.qos == QoS::exactly_once) {
        deliver = incoming_qos2.insert(p.packet_id);
        if (deliver) note(StoreChange::Kind::add_incoming, 0, p.packet_id);  // durable before delivery
        append(protocol::Pubrec{p.packet_id});
    }
    if (!deliver) return;
    const MessageView view{p.topic, p.payload, p.qos, p.retain, p.dup, p.packet_id};
    if (overflow) {
        events.push_back(MessageOverflow{view, total_size});
    } else {
        events.push_back(MessageReceived{view});
    }
}

Record* Session::Impl::find(PacketId id, Record::Kind kind) {
    const auto index = inflight.find(id);
    if (index == detail::IdMap::npos || records[index].kind != kind) return nullptr;
    return &records[index];
}

void Session::Impl::on_puback(PacketId id) {
    Record* r = find(id, Record::Kind::publish);
    if (r == nullptr || r->qos != QoS::at_least_once) return;  // unknown id: nothing to complete
    complete_publish(inflight.find(id), {});
    pump();
}

void Session::Impl::on_pubrec(PacketId id) {
    Record* r = find(id, Record::Kind::publish);
    if (r != nullptr && r->qos != QoS::exactly_once) return;
    if (r != nullptr && r->stage == Record::Stage::awaiting_ack) {
        note(StoreChange::Kind::release_outgoing, r->seq, id);
        // Past PUBREC the message is never sent again, only the PUBREL [MQTT-4.3.3-1].
        stored_bytes -= r->bytes.size();
        r->bytes.clear();
        r->stage = Record::Stage::awaiting_pubcomp;
    }
    // Also for an unknown id: the server waits for a PUBREL, and answering lets it finish.
    append(protocol::Pubrel{id});
}

void Session::Impl::on_pubcomp(PacketId id) {
    Record* r = find(id, Record::Kind::publish);
    if (r == nullptr || r->stage != Record::Stage::awaiting_pubcomp) return;
    complete_publish(inflight.find(id), {});
    pump();
}

void Session::Impl::on_pubrel(PacketId id) {
    if (incoming_qos2.erase(id)) note(StoreChange::Kind::remove_incoming, 0, id);
    append(protocol::Pubcomp{id});  // also for an unknown id, so the server can complete its flow
}

void Session::Impl::on_suback(const protocol::Suback& p) {
    Record* r = find(p.packet_id, Record::Kind::subscribe);
    if (r == nullptr) return;
    if (p.return_codes.size() != r->filter_count) {
        fail_connection(Errc::suback_count_mismatch, 0);  // [MQTT-3.8.4-5]
        return;
    }
    events.push_back(SubscribeDone{r->tag, p.packet_id, p.return_codes, {}});
    release_record(inflight.find(p.packet_id));
    pump();
}

void Session::Impl::on_unsuback(PacketId id) {
    Record* r = find(id, Record::Kind::unsubscribe);
    if (r == nullptr) return;
    events.push_back(UnsubscribeDone{r->tag, id, {}});
    release_record(inflight.find(id));
    pump();
}

}  // namespace nmqtt::session
