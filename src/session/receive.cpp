// Session: what each packet from the server does (section 3 and the flows of section 4.3).
#include "nmqtt/protocol/encode.hpp"
#include "session_impl.hpp"

namespace nmqtt::session {

void Session::Impl::on_packet(const protocol::Packet& packet) {
    const bool auth = std::holds_alternative<protocol::Auth>(packet);  // the exchange precedes the CONNACK
    if (state == State::connecting && !auth && !std::holds_alternative<protocol::Connack>(packet)) {
        if (const auto* d = std::get_if<protocol::Disconnect>(&packet); d != nullptr && v5()) {
            events.push_back(ConnectFailed{static_cast<int>(ConnFail::not_a_connack_msg),
                                           Errc::server_disconnected, d->reason_code, d->properties});
            end_connection();
            return;
        }
        fail_connection(Errc::not_a_connack, static_cast<int>(ConnFail::not_a_connack_msg));  // [MQTT-3.2.0-1]
        return;
    }
    std::visit(Overloaded{
                   [&](const protocol::Connack& p) { on_connack(p); },
                   [&](const protocol::Publish& p) { on_publish(p, false, 0); },
                   [&](const protocol::Puback& p) { on_puback(p); },
                   [&](const protocol::Pubrec& p) { on_pubrec(p); },
                   [&](const protocol::Pubrel& p) { on_pubrel(p.packet_id); },
                   [&](const protocol::Pubcomp& p) { on_pubcomp(p); },
                   [&](const protocol::Suback& p) { on_suback(p); },
                   [&](const protocol::Unsuback& p) { on_unsuback(p); },
                   [&](const protocol::Pingresp&) {
                       ping_sent_at.reset();
                       events.push_back(PingResponse{});
                   },
                   [&](const protocol::Disconnect& p) { on_disconnect(p); },
                   [&](const protocol::Auth& p) { on_auth(p); },
                   // CONNECT, SUBSCRIBE, UNSUBSCRIBE, PINGREQ never come from a server [MQTT-4.8.0-1].
                   [&](const auto&) { protocol_failure(Errc::unexpected_packet, 0); },
               },
               packet);
}

namespace {

// The NodeMCU CONNACK code that fits an MQTT 5.0 Connect Reason Code, else the reason code itself.
int nodemcu_code_for(std::uint8_t reason) noexcept {
    switch (reason) {
        case 0x84: return 1;  // Unsupported Protocol Version
        case 0x85: return 2;  // Client Identifier not valid
        case 0x88:
        case 0x89: return 3;  // Server unavailable / busy
        case 0x86: return 4;  // Bad User Name or Password
        case 0x87: return 5;  // Not authorized
        default: return reason;
    }
}

}  // namespace

// Server limits and assignments of a successful MQTT 5.0 CONNACK (section 3.2.2.3).
void Session::Impl::accept_connack_properties(protocol::PropertiesView props) {
    using protocol::PropertyId;
    server = ServerLimits{};
    props.for_each([&](const protocol::Property& p) {
        switch (p.id) {
            case PropertyId::receive_maximum: server.receive_maximum = p.number; break;
            case PropertyId::maximum_packet_size: server.maximum_packet_size = p.number; break;
            case PropertyId::topic_alias_maximum: server.topic_alias_maximum = static_cast<std::uint16_t>(p.number); break;
            case PropertyId::maximum_qos: server.maximum_qos = static_cast<std::uint8_t>(p.number); break;
            case PropertyId::retain_available: server.retain_available = p.number != 0; break;
            case PropertyId::wildcard_subscription_available: server.wildcard_available = p.number != 0; break;
            case PropertyId::subscription_identifier_available: server.subscription_ids_available = p.number != 0; break;
            case PropertyId::shared_subscription_available: server.shared_available = p.number != 0; break;
            case PropertyId::server_keep_alive: keepalive = static_cast<std::uint16_t>(p.number); break;  // [MQTT-3.2.2-21]
            case PropertyId::assigned_client_identifier: assigned_client_id.assign(p.text); break;      // [MQTT-3.1.3-7]
            default: break;
        }
    });
    outgoing_aliases.clear();
}

void Session::Impl::on_connack(const protocol::Connack& p) {
    if (state != State::connecting) {
        protocol_failure(Errc::unexpected_packet, 0);
        return;
    }
    if (p.return_code != 0) {
        if (v5()) {
            events.push_back(ConnectFailed{nodemcu_code_for(p.return_code), Errc::connection_refused, p.return_code,
                                           p.properties});
            end_connection();
            return;
        }
        fail_connection(Errc::connection_refused, p.return_code);
        return;
    }
    if (p.session_present && options.clean_session) {  // [MQTT-3.2.2-1] (5.0: [MQTT-3.2.2-2, 3.2.2-4])
        fail_connection(Errc::session_present_on_clean, static_cast<int>(ConnFail::not_a_connack_msg));
        return;
    }
    if (v5() && !auth_method.empty() && p.properties.authentication_method() != std::string_view{auth_method}) {
        fail_connection(Errc::protocol_error, static_cast<int>(ConnFail::not_a_connack_msg));  // [MQTT-4.12.0-5]
        return;
    }
    auth_exchange = false;
    if (v5()) accept_connack_properties(p.properties);
    // Session present = 0 on a resumed session: the server kept nothing, so its QoS 2 ids are gone too. Our
    // own unacknowledged messages are still sent again (the server treats them as new) [MQTT-3.2.2-3].
    if (!p.session_present) clear_incoming();
    state = State::connected;
    events.push_back(Connected{p.session_present, p.properties});
    resend_inflight();
    pump();
}

// [MQTT-3.3.4-1, 4.3.2-2, 4.3.3-2, 4.5.0-2]: acknowledge by QoS, deliver a QoS 2 message once per id.
// MQTT 5.0 Topic Alias: a topic with an alias sets the mapping, an alias alone uses it [MQTT-3.3.2-10];
// 0, above our maximum or unknown is a protocol error (DISCONNECT 0x94) [MQTT-3.3.2-8, 3.1.2-26/27].
std::error_code Session::Impl::resolve_alias(protocol::Publish& p) {
    if (p.topic_alias == 0) return {};
    if (p.topic_alias > incoming_aliases.size()) return Errc::topic_alias_invalid;
    auto& slot = incoming_aliases[p.topic_alias - 1u];
    if (!p.topic.empty()) {
        slot.assign(p.topic);
        return {};
    }
    if (slot.empty()) return Errc::topic_alias_invalid;
    p.topic = slot;
    return {};
}

void Session::Impl::on_publish(const protocol::Publish& in, bool overflow, std::uint32_t total_size) {
    protocol::Publish p = in;
    if (auto ec = resolve_alias(p)) {
        protocol_failure(ec, 0);
        return;
    }
    bool deliver = true;
    if (p.qos == QoS::at_least_once) {
        append(protocol::Puback{p.packet_id});
    } else if (p.qos == QoS::exactly_once) {
        // Our Receive Maximum bounds the QoS 2 messages not yet released [MQTT-3.3.4-9].
        if (v5() && incoming_qos2.size() >= options.v5.receive_maximum && !incoming_qos2.contains(p.packet_id)) {
            protocol_failure(Errc::receive_maximum_exceeded, 0);
            return;
        }
        deliver = incoming_qos2.insert(p.packet_id);
        if (deliver) note(StoreChange::Kind::add_incoming, 0, p.packet_id);  // durable before delivery
        append(protocol::Pubrec{p.packet_id});
    }
    if (!deliver) return;
    const MessageView view{p.topic, p.payload, p.qos, p.retain, p.dup, p.packet_id, p.properties};
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

void Session::Impl::on_puback(const protocol::Puback& p) {
    const PacketId id = p.packet_id;
    Record* r = find(id, Record::Kind::publish);
    const bool waiting =
        r != nullptr && (r->stage == Record::Stage::awaiting_ack || r->stage == Record::Stage::awaiting_resend);
    if (!waiting || r->qos == QoS::at_most_once) return;  // unknown id, or a QoS 2 message past its PUBREC
    std::error_code error;
    if (p.reason_code >= 0x80) {
        error = Errc::refused_by_server;
    } else if (r->qos == QoS::exactly_once) {
        // A broker without QoS 2 (RabbitMQ 3.x) answers PUBLISH QoS 2 with PUBACK. Waiting for a PUBREC that
        // never comes would hang the publisher: the broker has the message, so the flow ends here, with an
        // outcome of its own (docs/design.md, "Acknowledgements that match no flow").
        error = Errc::acknowledged_at_qos1;
    }
    complete_publish(inflight.find(id), error, p.reason_code, p.properties);
    pump();
}

void Session::Impl::on_pubrec(const protocol::Pubrec& p) {
    const PacketId id = p.packet_id;
    Record* r = find(id, Record::Kind::publish);
    if (r != nullptr && r->qos != QoS::exactly_once) return;
    if (r != nullptr && r->stage == Record::Stage::awaiting_resend) {  // the server had it already
        r->stage = Record::Stage::awaiting_ack;
        ++inflight_publishes;
    }
    if (p.reason_code >= 0x80) {  // the exchange ends here: no PUBREL [MQTT-4.3.3-4, 4.4.0-2]
        if (r != nullptr && r->stage == Record::Stage::awaiting_ack) {
            complete_publish(inflight.find(id), Errc::refused_by_server, p.reason_code, p.properties);
            pump();
        }
        return;
    }
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

void Session::Impl::on_pubcomp(const protocol::Pubcomp& p) {
    Record* r = find(p.packet_id, Record::Kind::publish);
    if (r == nullptr || r->stage != Record::Stage::awaiting_pubcomp) return;
    complete_publish(inflight.find(p.packet_id), {}, p.reason_code, p.properties);
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
        protocol_failure(Errc::suback_count_mismatch, 0);  // [MQTT-3.8.4-5, 3.9.3-1]
        return;
    }
    events.push_back(SubscribeDone{r->tag, p.packet_id, p.return_codes, {}, p.properties});
    release_record(inflight.find(p.packet_id));
    pump();
}

void Session::Impl::on_unsuback(const protocol::Unsuback& p) {
    const PacketId id = p.packet_id;
    Record* r = find(id, Record::Kind::unsubscribe);
    if (r == nullptr) return;
    if (v5() && p.reason_codes.size() != r->filter_count) {
        protocol_failure(Errc::suback_count_mismatch, 0);  // [MQTT-3.11.3-1]
        return;
    }
    events.push_back(UnsubscribeDone{r->tag, id, {}, p.reason_codes, p.properties});
    release_record(inflight.find(id));
    pump();
}

// Enhanced authentication (section 4.12). An AUTH is a protocol error without an Authentication Method in
// our CONNECT [MQTT-4.12.0-6], with another method [MQTT-4.12.0-5], with Re-authenticate (only clients send
// it), and with Success unless our re-authentication awaits it (before the CONNACK, success is the CONNACK).
void Session::Impl::on_auth(const protocol::Auth& p) {
    const auto method = p.properties.authentication_method();
    const bool continues = p.reason_code == 0x18;
    const bool succeeds = p.reason_code == 0x00 && state == State::connected && reauthenticating;
    const bool expected = state == State::connecting || reauthenticating;
    if (auth_method.empty() || method != std::string_view{auth_method} || !(succeeds || (continues && expected))) {
        protocol_failure(Errc::protocol_error, static_cast<int>(ConnFail::not_a_connack_msg));
        return;
    }
    if (succeeds) reauthenticating = false;
    auth_exchange = continues;
    events.push_back(AuthReceived{p.reason_code, p.properties.authentication_data().value_or(std::string_view{}),
                                  p.properties});
}

// MQTT 5.0 DISCONNECT from the server: its reason code and properties (Reason String, Server Reference) go to
// the user; a Session Expiry Interval in it is a protocol error [MQTT-3.14.2-2]. 3.1.1 servers never send it.
void Session::Impl::on_disconnect(const protocol::Disconnect& p) {
    if (!v5()) {
        fail_connection(Errc::unexpected_packet, 0);
        return;
    }
    if (p.properties.session_expiry_interval()) {
        protocol_failure(Errc::protocol_error, 0);
        return;
    }
    events.push_back(ConnectionLost{Errc::server_disconnected, p.reason_code, p.properties});
    end_connection();
    fail_pending_writes(Errc::server_disconnected);
}

}  // namespace nmqtt::session
