// Session: public entry points, connection lifecycle, output buffers and timers.
#include "nmqtt/session/session.hpp"

#include <algorithm>

#include "nmqtt/protocol/reason_code.hpp"

#include "nmqtt/protocol/encode.hpp"
#include "nmqtt/protocol/topic.hpp"
#include "session_impl.hpp"

namespace nmqtt::session {

using namespace std::chrono_literals;

std::error_code validate_will(const WillMessage& will) noexcept {
    if (!is_valid_qos(static_cast<unsigned>(will.qos))) return Errc::bad_qos;
    if (auto ec = protocol::validate_topic_name(will.topic)) return ec;
    if (will.message.size() > protocol::max_string_length) return Errc::packet_too_large;
    return {};
}

// The MQTT 5.0 options: valid for 5.0, absent for 3.1.1.
std::error_code validate_v5(const SessionOptions& o, bool v5) noexcept {
    const bool will_props = o.will && !o.will->properties.empty();
    if (!v5) {
        return o.v5.connect_properties.empty() && !will_props ? std::error_code{} : Errc::invalid_argument;
    }
    if (o.v5.receive_maximum == 0) return Errc::invalid_argument;
    if (protocol::validate_properties(o.v5.connect_properties.view().raw(), protocol::PropertyContext::connect)) {
        return Errc::invalid_argument;
    }
    if (will_props && protocol::validate_properties(o.will->properties.view().raw(), protocol::PropertyContext::will)) {
        return Errc::invalid_argument;
    }
    return {};
}

std::error_code validate_credentials(const SessionOptions& o) noexcept {
    if (o.username) {
        if (auto ec = protocol::validate_utf8(*o.username)) return ec;
    }
    if (o.password && o.password->size() > protocol::max_string_length) return Errc::packet_too_large;
    return {};
}

std::error_code validate(const SessionOptions& o) noexcept {
    if (auto ec = protocol::validate_utf8(o.client_id)) return ec;
    const bool v5 = o.protocol == protocol::ProtocolVersion::v5;
    if (o.protocol != protocol::ProtocolVersion::v3_1_1 && !v5) return Errc::invalid_argument;
    // 5.0 lets the server assign an identifier to any session [MQTT-3.1.3-6].
    if (o.client_id.empty() && !o.clean_session && !v5) return Errc::empty_client_id_needs_clean_session;
    if (o.password && !o.username && !v5) return Errc::password_without_username;
    if (auto ec = validate_v5(o, v5)) return ec;
    if (auto ec = validate_credentials(o)) return ec;
    if (o.will) {
        if (auto ec = validate_will(*o.will)) return ec;
    }
    if (o.max_inflight == 0 || o.max_queued_messages == 0) return Errc::invalid_argument;
    return {};
}

namespace {

// Our Maximum Packet Size (5.0) bounds every packet the decoder accepts: a bigger one is a protocol error
// (DISCONNECT 0x95) at its fixed header, so a hostile length never makes us read or skip its body.
std::size_t hard_packet_limit(const SessionOptions& o) noexcept {
    return o.protocol == protocol::ProtocolVersion::v5 ? o.v5.maximum_packet_size : 0;
}

protocol::StreamDecoder::Options decoder_options(const SessionOptions& o) noexcept {
    protocol::StreamDecoder::Options d;
    d.max_message_length = o.max_message_length;
    d.version = o.protocol;
    d.max_packet_size = hard_packet_limit(o);
    return d;
}

}  // namespace

Session::Impl::Impl(SessionOptions o) : options(std::move(o)), decoder(decoder_options(options)) {}

Session::Session(SessionOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Session::~Session() = default;
Session::Session(Session&&) noexcept = default;
Session& Session::operator=(Session&&) noexcept = default;

const SessionOptions& Session::options() const noexcept { return impl_->options; }
State Session::state() const noexcept { return impl_->state; }

std::error_code Session::set_will(std::optional<WillMessage> will) {
    // Also while connecting or connected: the CONNECT already sent keeps its will, the next one carries this.
    if (will) {
        if (auto ec = validate_will(*will)) return ec;
    }
    impl_->options.will = std::move(will);
    return {};
}

std::error_code Session::set_v5_options(V5Options v5) {
    if (impl_->state != State::idle) return Errc::already_connected;
    if (v5.receive_maximum == 0) return Errc::invalid_argument;
    impl_->options.v5 = std::move(v5);
    return {};
}

bool Session::Impl::accepts_requests() const noexcept {
    return state == State::connecting || state == State::connected || options.queue_while_offline;
}

void Session::Impl::note(StoreChange::Kind kind, std::uint64_t seq, PacketId id, Bytes packet) {
    if (options.track_store_changes) store_changes.push_back(StoreChange{kind, seq, id, packet});
}

void Session::Impl::clear_incoming() {
    if (incoming_qos2.size() == 0) return;
    incoming_qos2.clear();
    note(StoreChange::Kind::clear_incoming, 0, 0);
}

std::optional<StoreChange> Session::poll_store_change() {
    auto& s = *impl_;
    if (s.store_changes.empty()) return std::nullopt;
    std::optional<StoreChange> c{s.store_changes.front()};
    s.store_changes.pop_front();
    return c;
}

// ---- lifecycle ------------------------------------------------------------------------------------------

std::error_code Session::connection_opened(TimePoint now) {
    auto& s = *impl_;
    if (s.state != State::idle) return Errc::already_connected;
    s.front.clear();
    s.front_head = 0;
    s.back.clear();
    s.total_enqueued = s.total_consumed = 0;
    s.disconnect_end.reset();
    s.decoder.reset();
    s.decoder.set_max_packet_size(hard_packet_limit(s.options));  // set_v5_options() may have changed it
    s.state = State::connecting;
    s.opened_at = s.last_sent = s.last_received = now;
    s.connect_written_at.reset();
    s.ping_sent_at.reset();
    if (s.options.clean_session) s.discard_old_session();

    s.keepalive = s.options.keepalive_seconds;
    s.server = ServerLimits{};
    s.outgoing_aliases.clear();  // aliases live for one connection [MQTT-3.3.2-7]
    s.violation.reset();
    protocol::Connect c;
    c.client_id = s.options.client_id.empty() ? std::string_view{s.assigned_client_id} : s.options.client_id;
    c.keepalive = s.options.keepalive_seconds;
    c.clean_session = s.options.clean_session;
    if (s.options.will) {
        const auto& w = *s.options.will;
        c.will = protocol::Will{w.topic, w.message, w.qos, w.retain, w.properties.view()};
    }
    if (s.v5()) {
        s.build_connect_properties();
        c.properties = s.connect_properties.view();
    }
    if (s.options.username) c.username = *s.options.username;
    if (s.options.password) c.password = *s.options.password;
    s.append(c);
    s.connect_end = s.total_enqueued;
    return {};
}

// The CONNECT properties from the options, each only when it differs from the standard's default.
void Session::Impl::build_connect_properties() {
    const auto& v = options.v5;
    connect_properties.clear();
    if (v.session_expiry_interval != 0) connect_properties.session_expiry_interval(v.session_expiry_interval);
    if (v.receive_maximum != 65'535) connect_properties.receive_maximum(v.receive_maximum);
    if (v.maximum_packet_size != 0) connect_properties.maximum_packet_size(v.maximum_packet_size);
    if (v.topic_alias_maximum != 0) connect_properties.topic_alias_maximum(v.topic_alias_maximum);
    if (v.request_response_information) connect_properties.request_response_information(true);
    if (!v.request_problem_information) connect_properties.request_problem_information(false);
    connect_properties.append(v.connect_properties.view());
    auth_method = v.authentication_method;
    if (!auth_method.empty()) {
        connect_properties.authentication_method(auth_method);
        if (!v.authentication_data.empty()) connect_properties.authentication_data(v.authentication_data);
    } else if (const auto m = v.connect_properties.view().authentication_method()) {
        auth_method.assign(*m);  // given as a raw CONNECT property
    }
    auth_exchange = reauthenticating = false;
    session_expiry = v.session_expiry_interval;
    incoming_aliases.resize(v.topic_alias_maximum);
    for (auto& a : incoming_aliases) a.clear();
}

// A protocol error by the server. MQTT 5.0, once connected: DISCONNECT with the reason code first
// [MQTT-4.13.1-1], input ignored from here, ConnectionLost when it is written. Otherwise: close now.
void Session::Impl::protocol_failure(std::error_code error, int code) {
    if (!v5() || state != State::connected) {
        fail_connection(error, code);
        return;
    }
    violation = error;
    violation_reason = protocol::disconnect_reason_for(error);
    if (violation_reason == 0) violation_reason = 0x82;
    append(protocol::Disconnect{violation_reason, {}});
    disconnect_end = total_enqueued;
    state = State::disconnecting;
    disconnect_at = last_received;
}

void Session::connection_closed(std::error_code reason, TimePoint /*now*/) {
    auto& s = *impl_;
    if (s.state == State::idle) return;
    s.fail_connection(reason ? reason : make_error_code(Errc::connection_closed),
                      static_cast<int>(ConnFail::not_a_connack_msg));
}

// Reports the end of the connection once (ConnectFailed while connecting, else ConnectionLost).
void Session::Impl::fail_connection(std::error_code error, int code) {
    if (state == State::idle) return;
    if (state == State::connecting) {
        events.push_back(ConnectFailed{code, error, 0, {}});
    } else if (violation) {
        events.push_back(ConnectionLost{*violation, violation_reason, {}});
    } else {
        events.push_back(ConnectionLost{error, 0, {}});
    }
    end_connection();
    fail_pending_writes(error);
}

void Session::Impl::end_connection() {
    state = State::idle;
    front.clear();
    front_head = 0;
    back.clear();
    disconnect_end.reset();
    ping_sent_at.reset();
    violation.reset();
}

Result<bool> Session::disconnect(const DisconnectRequest& request, TimePoint now) {
    auto& s = *impl_;
    if (!s.v5()) return disconnect(now);
    if (request.session_expiry_interval && *request.session_expiry_interval != 0 && s.session_expiry == 0) {
        return Errc::invalid_argument;  // section 3.14.2.2.2
    }
    protocol::Properties props;
    if (request.session_expiry_interval) props.session_expiry_interval(*request.session_expiry_interval);
    props.append(request.properties);
    const protocol::Disconnect d{request.reason_code, props.view()};
    if (!protocol::encoded_size(d, s.options.protocol)) return Errc::invalid_argument;
    if (s.state != State::connected) return disconnect(now);
    s.append(d);
    s.disconnect_end = s.total_enqueued;
    s.state = State::disconnecting;
    s.disconnect_at = now;
    return true;
}

// ---- enhanced authentication (section 4.12) -------------------------------------------------------------

void Session::Impl::send_auth(std::uint8_t reason, std::string_view data, protocol::PropertiesView properties) {
    protocol::Properties props;
    props.authentication_method(auth_method);  // the same method in every AUTH [MQTT-4.12.0-5]
    if (!data.empty()) props.authentication_data(data);
    props.append(properties);
    append(protocol::Auth{reason, props.view()});
}

static bool auth_properties_valid(protocol::PropertiesView properties) {
    protocol::Properties probe;
    probe.authentication_method("m");
    probe.append(properties);
    return protocol::encoded_size(protocol::Auth{0x18, probe.view()}, protocol::ProtocolVersion::v5).has_value();
}

std::error_code Session::continue_authentication(std::string_view data, TimePoint /*now*/,
                                                 protocol::PropertiesView properties) {
    auto& s = *impl_;
    if (!s.v5() || s.auth_method.empty()) return Errc::invalid_argument;
    if (properties.authentication_method() || !auth_properties_valid(properties)) return Errc::invalid_argument;
    if (!s.auth_exchange || (s.state != State::connecting && s.state != State::connected)) {
        return Errc::not_connected;
    }
    s.auth_exchange = false;
    s.send_auth(0x18, data, properties);
    return {};
}

std::error_code Session::reauthenticate(std::string_view data, TimePoint /*now*/, protocol::PropertiesView properties) {
    auto& s = *impl_;
    if (!s.v5() || s.auth_method.empty()) return Errc::invalid_argument;  // [MQTT-4.12.0-7]
    if (properties.authentication_method() || !auth_properties_valid(properties)) return Errc::invalid_argument;
    if (s.state != State::connected) return Errc::not_connected;
    if (s.reauthenticating) return Errc::authentication_in_progress;
    s.reauthenticating = true;
    s.send_auth(0x19, data, properties);
    return {};
}

void Session::abort_authentication(TimePoint /*now*/) {
    auto& s = *impl_;
    s.auth_exchange = s.reauthenticating = false;
    if (s.state == State::connecting) {
        s.fail_connection(Errc::auth_failed, 5);  // NodeMCU's "not authorized"
    } else if (s.state == State::connected) {
        s.protocol_failure(Errc::auth_failed, 0);  // DISCONNECT 0x87 (Not authorized), then ConnectionLost
    }
}

protocol::ProtocolVersion Session::protocol() const noexcept { return impl_->options.protocol; }
std::string_view Session::client_id() const noexcept {
    return impl_->options.client_id.empty() ? std::string_view{impl_->assigned_client_id} : impl_->options.client_id;
}
std::uint16_t Session::keepalive_seconds() const noexcept { return impl_->keepalive; }

bool Session::disconnect(TimePoint now) {
    auto& s = *impl_;
    switch (s.state) {
        case State::idle: return false;
        case State::disconnecting: return true;
        case State::connecting:  // no QoS 0 write is pending before the CONNACK: nothing to report
            s.end_connection();
            return true;
        case State::connected: break;
    }
    s.append(protocol::Disconnect{});
    s.disconnect_end = s.total_enqueued;
    s.state = State::disconnecting;
    s.disconnect_at = now;
    return true;
}

// ---- input ----------------------------------------------------------------------------------------------

std::size_t Session::handle_bytes(Bytes input, TimePoint now) {
    auto& s = *impl_;
    if (s.state == State::idle || s.violation) return input.size();  // after a violation: nothing more is read
    s.last_received = now;
    std::size_t used = 0;
    const std::size_t events_before = s.events.size();
    while (used < input.size() && s.state != State::idle && !s.violation) {
        auto step = s.decoder.feed(input.subspan(used));
        used += step.consumed;
        using Kind = protocol::StreamDecoder::Kind;
        if (step.kind == Kind::error) {
            s.protocol_failure(step.error, static_cast<int>(ConnFail::not_a_connack_msg));
        } else if (step.kind == Kind::packet) {
            s.on_packet(step.packet);
        } else if (step.kind == Kind::overflow) {
            s.on_publish(std::get<protocol::Publish>(step.packet), true, step.total_size);
        }
        if (s.events.size() != events_before) break;  // keep event views valid: stop after an event
    }
    return s.state == State::idle || s.violation ? input.size() : used;
}

// ---- output ---------------------------------------------------------------------------------------------

// Every byte written goes through these two, so nothing can follow DISCONNECT [MQTT-3.14.4-2].
void Session::Impl::append(const protocol::Packet& packet) {
    if (disconnect_end) return;
    const std::size_t before = back.size();
    (void)protocol::encode_append(packet, back, options.protocol);  // valid by construction
    total_enqueued += back.size() - before;
}

void Session::Impl::append_bytes(const std::vector<std::uint8_t>& packet) {
    if (disconnect_end) return;
    back.insert(back.end(), packet.begin(), packet.end());
    total_enqueued += packet.size();
}

Bytes Session::pending_output() noexcept {
    auto& s = *impl_;
    if (s.front_head == s.front.size() && !s.back.empty()) {
        s.front.swap(s.back);
        s.back.clear();
        s.back.reserve(s.front.capacity());  // both buffers reach the burst size, so later bursts allocate nothing
        s.front_head = 0;
    }
    return Bytes{s.front}.subspan(s.front_head);
}

void Session::consume_output(std::size_t n, TimePoint now) {
    auto& s = *impl_;
    if (s.state == State::idle || n == 0) return;
    n = std::min(n, s.front.size() - s.front_head);
    s.front_head += n;
    s.total_consumed += n;
    s.last_sent = now;
    if (s.front_head == s.front.size()) {
        s.front.clear();
        s.front_head = 0;
    }
    if (!s.connect_written_at && s.total_consumed >= s.connect_end) s.connect_written_at = now;
    while (!s.qos0_writes.empty() && s.qos0_writes.front().end <= s.total_consumed) {
        s.events.push_back(PublishDone{s.qos0_writes.front().tag, 0, QoS::at_most_once, {}, 0, {}});
        s.qos0_writes.pop_front();
    }
    if (s.disconnect_end && s.total_consumed >= *s.disconnect_end) {
        s.fail_connection(s.violation ? *s.violation : make_error_code(Errc::closed_by_client), 0);
    }
}

bool Session::has_events() const noexcept { return !impl_->events.empty(); }

std::optional<Event> Session::poll_event() {
    auto& s = *impl_;
    if (s.events.empty()) return std::nullopt;
    std::optional<Event> e{std::move(s.events.front())};
    s.events.pop_front();
    return e;
}

bool Session::wants_input() const noexcept {
    const auto& s = *impl_;
    return s.back.size() + (s.front.size() - s.front_head) <= s.options.max_buffered_bytes;
}

std::size_t Session::inflight_count() const noexcept { return impl_->inflight.size(); }
std::size_t Session::queued_count() const noexcept { return impl_->outbox.size() + impl_->control.size(); }
std::size_t Session::incoming_qos2_count() const noexcept { return impl_->incoming_qos2.size(); }

// ---- time -----------------------------------------------------------------------------------------------

Duration Session::Impl::ping_timeout() const noexcept {
    if (options.ping_timeout > Duration::zero()) return options.ping_timeout;
    return std::max<Duration>(1s, std::chrono::seconds(keepalive) / 2);
}

std::optional<TimePoint> Session::next_deadline() const noexcept {
    const auto& s = *impl_;
    switch (s.state) {
        case State::idle: return std::nullopt;
        case State::connecting:
            if (!s.connect_written_at) return s.opened_at + s.options.connect_write_timeout;
            return *s.connect_written_at + s.options.connack_timeout;
        case State::disconnecting: return s.disconnect_at + s.options.connect_write_timeout;
        case State::connected: break;
    }
    if (s.keepalive == 0) return std::nullopt;
    if (s.ping_sent_at) return *s.ping_sent_at + s.ping_timeout();
    return std::min(s.last_sent, s.last_received) + std::chrono::seconds(s.keepalive);
}

void Session::handle_timeout(TimePoint now) {
    auto& s = *impl_;
    const auto due = next_deadline();
    if (!due || now < *due) return;
    switch (s.state) {
        case State::idle: return;
        case State::connecting:
            if (!s.connect_written_at) {
                s.fail_connection(Errc::connect_write_timeout, static_cast<int>(ConnFail::timeout_sending));
            } else {
                s.fail_connection(Errc::connack_timeout, static_cast<int>(ConnFail::timeout_receiving));
            }
            return;
        case State::disconnecting:
            s.fail_connection(s.violation ? *s.violation : make_error_code(Errc::closed_by_client), 0);
            return;
        case State::connected: break;
    }
    if (s.ping_sent_at) {
        s.fail_connection(Errc::ping_timeout, 0);
        return;
    }
    // [MQTT-3.1.2-23]: nothing sent (or nothing heard) for a keepalive interval: PINGREQ.
    s.append(protocol::Pingreq{});
    s.ping_sent_at = now;
}

}  // namespace nmqtt::session
