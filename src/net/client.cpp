// nmqtt::Client: the NodeMCU-shaped facade. Checks arguments, keeps the callbacks (with NodeMCU's aliasing)
// and the per-operation completions, and hands everything else to the Connection.
#include "nmqtt/client.hpp"

#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include "connection.hpp"
#include "reconnector.hpp"

namespace nmqtt {
namespace {

TimePoint now() noexcept { return std::chrono::steady_clock::now(); }

bool is_valid_qos(int qos) noexcept { return qos >= 0 && qos <= 2; }

session::SessionOptions to_session_options(const ClientOptions& o) {
    session::SessionOptions s;
    s.client_id = o.client_id;
    s.keepalive_seconds = o.keepalive_seconds;
    s.clean_session = o.clean_session;
    s.username = o.username;
    s.password = o.password;
    s.max_message_length = o.max_message_length;
    s.max_inflight = o.max_inflight;
    s.max_queued_messages = o.max_queued_messages;
    s.max_buffered_bytes = o.max_buffered_bytes;
    s.connect_write_timeout = o.connect_write_timeout;
    s.connack_timeout = o.connack_timeout;
    s.ping_timeout = o.ping_timeout;
    s.clean_resend = o.clean_resend;
    s.queue_while_offline = o.queue_while_offline;
    s.track_store_changes = !o.session_store_path.empty();
    s.protocol = o.protocol;
    s.v5 = o.v5;
    if (auto ec = session::validate(s)) throw std::system_error(ec, "nmqtt::Client options");
    return s;
}

// The authenticator of `o`, taken out of it. Throws invalid_argument below MQTT 5.0 (AUTH exists in 5.0 only).
std::shared_ptr<Authenticator> take_authenticator(ClientOptions& o) {
    if (o.authenticator && o.protocol != protocol::ProtocolVersion::v5) {
        throw std::system_error(make_error_code(Errc::invalid_argument), "nmqtt::Client options: authenticator");
    }
    return std::move(o.authenticator);
}

// A Server Reference (MQTT 5.0, section 4.11: its format is not specified; in practice "host", "host:port",
// "[v6]:port", several separated by spaces): the first one, split into host and optional port.
std::optional<std::pair<std::string, std::optional<std::uint16_t>>> parse_server_reference(std::string_view ref) {
    ref = ref.substr(0, ref.find(' '));
    std::string_view host = ref;
    std::string_view port;
    if (ref.starts_with('[')) {
        const auto close = ref.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        host = ref.substr(1, close - 1);
        if (close + 1 < ref.size() && ref[close + 1] == ':') port = ref.substr(close + 2);
    } else if (const auto colon = ref.find(':'); colon != std::string_view::npos && ref.rfind(':') == colon) {
        host = ref.substr(0, colon);
        port = ref.substr(colon + 1);
    }
    if (host.empty()) return std::nullopt;
    std::optional<std::uint16_t> number;
    if (!port.empty()) {
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) return std::nullopt;
        number = static_cast<std::uint16_t>(value);
    }
    return std::pair{std::string(host), number};
}

// Opens the persistent store of `o`, if any. Throws std::system_error with the system error.
std::unique_ptr<FileStore> open_store(const ClientOptions& o) {
    if (o.session_store_path.empty()) return nullptr;
    auto store = FileStore::open(o.session_store_path, o.client_id, o.session_store_sync);
    if (!store) throw std::system_error(store.error(), "nmqtt session store " + o.session_store_path);
    return std::move(*store);
}

ClientOptions nodemcu_options(std::string client_id, std::uint16_t keepalive_seconds,
                              std::optional<std::string> username, std::optional<std::string> password,
                              bool clean_session, std::size_t max_message_length) {
    ClientOptions o;
    o.client_id = std::move(client_id);
    o.keepalive_seconds = keepalive_seconds;
    o.username = std::move(username);
    o.password = std::move(password);
    o.clean_session = clean_session;
    o.max_message_length = max_message_length;
    return o;
}

/// A callback that may be replaced or cleared by the very call it is running (client:on() inside the
/// callback): the running function is moved out for the call and put back only if nobody set a new one.
template <class F>
class CallbackSlot {
public:
    void set(F callback) {
        callback_ = std::move(callback);
        ++version_;
    }

    template <class... Args>
    void operator()(Args&&... args) {
        if (!callback_) return;
        struct Restore {
            CallbackSlot& slot;
            F running;
            std::uint64_t version;
            ~Restore() {
                if (slot.version_ == version) slot.callback_ = std::move(running);
            }
        } restore{*this, std::move(callback_), version_};
        callback_ = nullptr;
        restore.running(std::forward<Args>(args)...);
    }

private:
    F callback_;
    std::uint64_t version_ = 0;
};

/// Per-operation completions, in slots indexed by the session tag (slot index + 1). Slots are reused, so
/// steady traffic allocates nothing here once the table has grown to the largest number in flight.
class Completions {
public:
    // UNSUBACK completions have the same signature as PUBLISH ones, so one alternative holds both.
    static_assert(std::is_same_v<Client::PublishCompletion, Client::UnsubscribeCompletion>);
    using Entry = std::variant<std::monostate, Client::PublishCompletion, Client::SubscribeCompletion,
                               Client::AckCompletion>;
    /// Tag of a request without a completion. Never 0: the session reports QoS 0 writes only for tags != 0,
    /// and the "puback" callback needs them.
    static constexpr std::uint64_t none = std::numeric_limits<std::uint64_t>::max();

    template <class F>
    std::uint64_t add(F&& completion) {
        if (!completion) return none;
        std::size_t index = slots_.size();
        if (free_.empty()) {
            slots_.emplace_back();
        } else {
            index = free_.back();
            free_.pop_back();
        }
        slots_[index] = std::forward<F>(completion);
        return index + 1;
    }

    Entry take(std::uint64_t tag) {
        if (tag == 0 || tag > slots_.size()) return {};
        const auto index = static_cast<std::size_t>(tag - 1);
        Entry entry = std::move(slots_[index]);
        slots_[index] = std::monostate{};
        free_.push_back(index);
        return entry;
    }

private:
    std::vector<Entry> slots_;
    std::vector<std::size_t> free_;
};

/// Counts the callbacks running, so that a Client destroyed from one of them is caught.
class InCallback {
public:
    explicit InCallback(int& depth) noexcept : depth_(depth) { ++depth_; }
    ~InCallback() { --depth_; }
    InCallback(const InCallback&) = delete;
    InCallback& operator=(const InCallback&) = delete;

private:
    int& depth_;
};

}  // namespace

struct Client::Impl final : net::ConnectionObserver {
    Impl(Client& self, asio::io_context* external, ClientOptions options)
        : self_(self),
          owned_io_(external == nullptr ? std::make_unique<asio::io_context>(1) : nullptr),
          io_(external == nullptr ? *owned_io_ : *external),
          reconnector_(make_reconnector(std::move(options.reconnect))),
          authenticator_(take_authenticator(options)),
          transport_(options.transport),
          websocket_(keep_websocket(options)),
          connection_(io_, to_session_options(options), std::move(options.tls), std::move(options.resolve), *this,
                      open_store(options)) {}
    ~Impl() override { *alive_ = false; }
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

    // Only a client that opts in pays for the reconnector (its timer and options): idle clients are many.
    std::unique_ptr<net::Reconnector> make_reconnector(ReconnectOptions options) {
        if (!options.enabled) return nullptr;
        return std::make_unique<net::Reconnector>(
            io_, std::move(options), [this](const BrokerAddress& b) { attempt(b); },
            [this](const ReconnectInfo& info) {
                const InCallback guard{depth_};
                reconnect_(self_, info);
            });
    }

    // Most clients speak plain MQTT: they keep no WebSocket options unless some are set.
    static std::unique_ptr<const WebSocketOptions> keep_websocket(ClientOptions& options) {
        const bool unset = options.transport == TransportKind::tcp && options.websocket.path == "/mqtt" &&
                           options.websocket.headers.empty();
        if (unset) return nullptr;
        return std::make_unique<const WebSocketOptions>(std::move(options.websocket));
    }

    // Starts a connection to `b` over its transport: WebSocket ones with the path of the address (or of the
    // options) and the headers of the options.
    void connect_to_transport(const BrokerAddress& b) {
        if (b.transport != TransportKind::websocket) {
            connection_.connect(b.host, b.port, b.secure);
            return;
        }
        static const WebSocketOptions defaults;
        const WebSocketOptions& ws = websocket_ ? *websocket_ : defaults;
        const net::WebSocketTarget target{b.path.empty() ? std::string_view{ws.path} : std::string_view{b.path},
                                          &ws.headers};
        connection_.connect(b.host, b.port, b.secure, &target);
    }

    // An automatic attempt. One that cannot even start (a TLS file that cannot be loaded) is a failed attempt
    // like any other for the NodeMCU callbacks: "connfail" (-5) runs, then the reconnector gives up.
    void attempt(const BrokerAddress& b) {
        const InCallback guard{depth_};
        try {
            connect_to(b);
        } catch (const std::system_error& e) {
            last_error_ = e.code();
            connfail_(self_, static_cast<int>(ConnFail::server_not_found));
            throw;
        }
    }

    // Starts a connection, the authenticator's method and first data in its CONNECT.
    void connect_to(const BrokerAddress& b) {
        if (authenticator_) {
            auto& session = connection_.session();
            session::V5Options v5 = session.options().v5;
            v5.authentication_method = authenticator_->method();
            v5.authentication_data = authenticator_->initial_data(false);
            if (auto ec = session.set_v5_options(std::move(v5))) throw std::system_error(ec);
        }
        connect_to_transport(b);
    }

    // ---- enhanced authentication: the authenticator answers each AUTH 0x18; AUTH 0x00 ends a re-authentication
    void on_auth(const session::AuthReceived& e) override {
        const InCallback guard{depth_};
        auto& session = connection_.session();
        if (!authenticator_) {  // the session accepts AUTH only after a method was sent: not reached
            session.abort_authentication(now());
        } else if (e.reason_code == 0x00) {
            const bool trusted = authenticator_->succeeded(e.data);
            if (!trusted) session.abort_authentication(now());
            finish_reauthentication(trusted ? std::error_code{} : make_error_code(Errc::auth_failed));
        } else if (const auto answer = authenticator_->challenge(e.data)) {
            (void)session.continue_authentication(*answer, now());
        } else {
            session.abort_authentication(now());
            finish_reauthentication(Errc::auth_failed);
        }
        connection_.kick();
    }
    void finish_reauthentication(std::error_code error) {
        reauthenticating_ = false;
        auto done = std::move(reauthenticated_);
        reauthenticated_ = nullptr;
        if (done) done(error);
    }

    bool fail(std::error_code error) {
        last_error_ = error;
        return false;
    }

    template <class Completion>
    void complete(std::uint64_t tag, auto&&... args) {
        auto entry = completions_.take(tag);
        if (auto* done = std::get_if<Completion>(&entry)) (*done)(args...);
    }

    // ---- net::ConnectionObserver: events to callbacks
    void on_connected(const session::Connected& e) override {
        const InCallback guard{depth_};
        connack_properties_.clear();
        connack_properties_.append(e.properties);
        if (authenticator_ && !authenticator_->succeeded(e.properties.authentication_data().value_or(""))) {
            connection_.session().abort_authentication(now());  // DISCONNECT 0x87, then "offline"
            connection_.kick();
            return;
        }
        if (reconnector_) reconnector_->on_connected();
        connect_(self_);
    }
    // MQTT 5.0 "Use another server" (0x9C) / "Server moved" (0x9D) with a Server Reference: followed by the
    // automatic reconnection; without it, reported only (last_properties()).
    void follow_server_reference(std::uint8_t reason, protocol::PropertiesView properties) {
        if (!reconnector_ || (reason != 0x9C && reason != 0x9D)) return;
        const auto ref = properties.server_reference();
        if (!ref) return;
        if (auto target = parse_server_reference(*ref)) {
            reconnector_->redirect(std::move(target->first), target->second);
        }
    }
    void on_connect_failed(int code, const session::ConnectFailed& e) override {
        const InCallback guard{depth_};
        last_error_ = connection_.last_error();
        record_reason(e.reason_code, e.properties);
        follow_server_reference(e.reason_code, e.properties);
        after_ending([&] { connfail_(self_, code); }, false, code);
    }
    void on_connection_lost(const session::ConnectionLost& e) override {
        const InCallback guard{depth_};
        last_error_ = connection_.last_error();
        record_reason(e.reason_code, e.properties);
        follow_server_reference(e.reason_code, e.properties);
        if (reauthenticating_) finish_reauthentication(last_error_);
        after_ending([&] { offline_(self_); }, true, 0);
    }
    // The NodeMCU callback of an ending, then what follows it whatever the callback did: the automatic
    // reconnection, and a connect() deferred by a close that was under way (unless the callback connected,
    // the later connect() winning, or closed, cancelling it). A callback that throws does not stop either:
    // its exception leaves afterwards.
    template <class F>
    void after_ending(F&& callback, bool was_connected, int code) {
        std::exception_ptr thrown;
        try {
            callback();
        } catch (...) {
            thrown = std::current_exception();
        }
        reconnect_after(was_connected, code);
        start_deferred();
        if (thrown) std::rethrow_exception(thrown);
    }
    // Starts the connect() made while a close was under way, if it is still wanted. One that cannot even
    // start (a TLS file that cannot be loaded) is reported as a failed attempt: "connfail" with -5.
    void start_deferred() noexcept {
        if (!deferred_ || connection_.session().state() != session::State::idle) {
            deferred_.reset();
            return;
        }
        const BrokerAddress b = std::move(*deferred_);
        deferred_.reset();
        try {
            if (reconnector_) reconnector_->begin(b);
            connect_to(b);
        } catch (const std::system_error& e) {
            if (reconnector_) (void)reconnector_->stop();
            last_error_ = e.code();
            asio::post(io_, [this, alive = alive_] {
                if (!*alive) return;
                const InCallback guard{depth_};
                connfail_(self_, static_cast<int>(ConnFail::server_not_found));
            });
        } catch (...) {  // std::bad_alloc: nothing was started
            if (reconnector_) (void)reconnector_->stop();
        }
    }
    void record_reason(std::uint8_t code, protocol::PropertiesView properties) {
        last_reason_code_ = code;
        last_properties_.clear();
        last_properties_.append(properties);
    }
    // After the NodeMCU callback of an ending, unless it connected again (or closed) by itself.
    void reconnect_after(bool was_connected, int code) {
        if (!reconnector_ || connection_.session().state() != session::State::idle) return;
        reconnector_->on_ended(was_connected, connection_.last_error(), code, connection_.last_error_message());
    }
    void on_message(const session::MessageReceived& e) override {
        const InCallback guard{depth_};
        if (!requests_.empty() && e.message.topic == response_topic_ && answer_request(e.message)) return;
        message_(self_, e.message);
    }

    // ---- request/response: pending requests by Correlation Data, each with its timeout
    struct PendingRequest {
        ResponseCallback done;
        std::unique_ptr<asio::steady_timer> timer;
    };
    bool answer_request(const MessageView& m) {
        const auto correlation = m.properties.correlation_data();
        if (!correlation) return false;
        const auto found = requests_.find(std::string(*correlation));
        if (found == requests_.end()) return false;
        auto done = std::move(found->second.done);
        requests_.erase(found);  // cancels its timer
        done({}, &m);
        return true;
    }
    void end_request(const std::string& correlation, std::error_code error) {
        const auto found = requests_.find(correlation);
        if (found == requests_.end()) return;
        auto done = std::move(found->second.done);
        requests_.erase(found);
        const InCallback guard{depth_};
        done(error, nullptr);
    }
    bool start_request(const OutgoingMessage& message, std::string_view topic, std::chrono::milliseconds timeout,
                       ResponseCallback done);
    void on_overflow(const session::MessageOverflow& e) override {
        const InCallback guard{depth_};
        overflow_(self_, e.message);
    }
    // A completion of either shape: the NodeMCU-era one, or the MQTT 5.0 AckCompletion.
    template <class Completion>
    void complete_either(std::uint64_t tag, const Acknowledgement& ack, auto&&... args) {
        auto entry = completions_.take(tag);
        if (auto* done = std::get_if<Completion>(&entry)) {
            (*done)(args...);
        } else if (auto* ack_done = std::get_if<AckCompletion>(&entry)) {
            (*ack_done)(ack);
        }
    }
    void on_publish_done(const session::PublishDone& e) override {
        const InCallback guard{depth_};
        const Acknowledgement ack{e.error, e.packet_id, e.reason_code, {}, e.properties};
        complete_either<PublishCompletion>(e.tag, ack, e.error, e.packet_id);
        if (!e.error || e.error == Errc::acknowledged_at_qos1) puback_(self_);  // the broker has the message
    }
    void on_subscribe_done(const session::SubscribeDone& e) override {
        const InCallback guard{depth_};
        const Acknowledgement ack{e.error, e.packet_id, 0, e.return_codes, e.properties};
        complete_either<SubscribeCompletion>(e.tag, ack, e.error, e.packet_id, e.return_codes);
        if (!e.error) suback_(self_);
    }
    void on_unsubscribe_done(const session::UnsubscribeDone& e) override {
        const InCallback guard{depth_};
        const Acknowledgement ack{e.error, e.packet_id, 0, e.reason_codes, e.properties};
        complete_either<UnsubscribeCompletion>(e.tag, ack, e.error, e.packet_id);
        if (!e.error) unsuback_(self_);
    }

    // Finishes a request made on the session: undoes the completion on failure, else starts the I/O.
    template <class T>
    bool settle(const Result<T>& result, std::uint64_t tag) {
        if (!result) {
            (void)completions_.take(tag);
            return fail(result.error());
        }
        connection_.flush_soon();
        return true;
    }

    Client& self_;
    std::unique_ptr<asio::io_context> owned_io_;
    asio::io_context& io_;
    CallbackSlot<Callback> connect_, suback_, unsuback_, puback_, offline_;
    CallbackSlot<FailCallback> connfail_;
    CallbackSlot<MessageCallback> message_, overflow_;
    CallbackSlot<ReconnectCallback> reconnect_;
    Completions completions_;
    std::vector<protocol::SubscribeEntry> entries_;  // scratch, reused
    std::vector<std::string_view> filters_;          // scratch, reused
    std::error_code last_error_;
    std::uint8_t last_reason_code_ = 0;
    protocol::Properties last_properties_;
    protocol::Properties connack_properties_;
    std::optional<BrokerAddress> deferred_;  // connect() made while a close was under way
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // false once destroyed: guards posted calls
    int depth_ = 0;                                               // callbacks running (nested ones count)
    std::unique_ptr<net::Reconnector> reconnector_;  // null unless ClientOptions::reconnect.enabled
    std::shared_ptr<Authenticator> authenticator_;    // null unless ClientOptions::authenticator
    ReauthCompletion reauthenticated_;                // of the re-authentication under way
    bool reauthenticating_ = false;
    std::string response_topic_;                          // of request(), subscribed with the first one
    std::map<std::string, PendingRequest> requests_;      // by Correlation Data
    std::uint64_t next_correlation_ = 0;
    TransportKind transport_ = TransportKind::tcp;   // of connect(host, port, secure)
    std::unique_ptr<const WebSocketOptions> websocket_;  // null: the defaults
    net::Connection connection_;  // last: destroyed first, before the io_context it uses
};

Client::Client(std::string client_id, std::uint16_t keepalive_seconds, std::optional<std::string> username,
               std::optional<std::string> password, bool clean_session, std::size_t max_message_length)
    : Client(nodemcu_options(std::move(client_id), keepalive_seconds, std::move(username), std::move(password),
                             clean_session, max_message_length)) {}

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>(*this, nullptr, std::move(options))) {}

Client::Client(asio::io_context& io, ClientOptions options)
    : impl_(std::make_unique<Impl>(*this, &io, std::move(options))) {}

Client::~Client() {
    if (impl_ && impl_->depth_ > 0) {  // the code that called the callback would run on freed memory
        (void)std::fputs("nmqtt: Client destroyed inside one of its own callbacks (see nmqtt/client.hpp)\n", stderr);
        std::abort();
    }
}

void Client::connect(std::string host, std::uint16_t port, bool secure, Callback on_connect, FailCallback on_fail) {
    auto& i = *impl_;
    const auto state = i.connection_.session().state();
    if (state == session::State::connecting || state == session::State::connected) {
        throw std::system_error(make_error_code(Errc::already_connected), "nmqtt::Client::connect");
    }
    if (on_connect) i.connect_.set(std::move(on_connect));
    if (on_fail) i.connfail_.set(std::move(on_fail));
    if (state == session::State::disconnecting) {  // close() under way: connect once "offline" has run
        i.deferred_ = BrokerAddress{std::move(host), port, secure, i.transport_};
        return;
    }
    i.deferred_.reset();
    BrokerAddress address{std::move(host), port, secure, i.transport_};
    if (i.reconnector_) i.reconnector_->begin(address);
    try {
        i.connect_to(address);
    } catch (...) {
        if (i.reconnector_) (void)i.reconnector_->stop();
        throw;
    }
}

bool Client::close() {
    impl_->deferred_.reset();
    const bool was_waiting = impl_->reconnector_ && impl_->reconnector_->stop();
    return impl_->connection_.close() || was_waiting;
}

bool Client::close(const session::DisconnectRequest& request) {
    const bool was_waiting = impl_->reconnector_ && impl_->reconnector_->stop();
    const auto closing = impl_->connection_.close(request);
    if (!closing) return impl_->fail(closing.error());
    impl_->deferred_.reset();
    return *closing || was_waiting;
}

void Client::set_v5_options(session::V5Options v5) {
    if (auto ec = impl_->connection_.session().set_v5_options(std::move(v5))) {
        throw std::system_error(ec, "nmqtt::Client::set_v5_options");
    }
}

bool Client::Impl::start_request(const OutgoingMessage& message, std::string_view topic,
                                 std::chrono::milliseconds timeout, ResponseCallback done) {
    if (message.properties.response_topic() || message.properties.correlation_data()) {
        return fail(Errc::invalid_argument);
    }
    if (!response_topic_.empty() && topic != response_topic_) return fail(Errc::invalid_argument);
    if (response_topic_.empty()) {
        const protocol::SubscribeEntry entry{topic, QoS::at_least_once};
        if (!self_.subscribe(std::span{&entry, 1})) return false;
        response_topic_.assign(topic);
    }
    std::string correlation = "nmqtt-" + std::to_string(++next_correlation_);
    protocol::Properties properties;
    properties.append(message.properties).response_topic(topic).correlation_data(correlation);
    OutgoingMessage request = message;
    request.properties = properties.view();
    const bool sent = self_.publish(request, [this, correlation](const Acknowledgement& ack) {
        if (ack.error && ack.error != Errc::acknowledged_at_qos1) end_request(correlation, ack.error);
    });
    if (!sent) return false;
    auto timer = std::make_unique<asio::steady_timer>(io_, timeout);
    timer->async_wait([this, alive = alive_, correlation](std::error_code error) {
        if (!error && *alive) end_request(correlation, Errc::request_timeout);
    });
    requests_.emplace(std::move(correlation), PendingRequest{std::move(done), std::move(timer)});
    return true;
}

bool Client::request(const OutgoingMessage& message, std::string_view response_topic,
                     std::chrono::milliseconds timeout, ResponseCallback done) {
    return impl_->start_request(message, response_topic, timeout, std::move(done));
}

bool Client::reauthenticate(ReauthCompletion done) {
    auto& i = *impl_;
    if (!i.authenticator_) return i.fail(Errc::invalid_argument);  // no method: no AUTH [MQTT-4.12.0-7]
    auto& session = i.connection_.session();
    if (session.state() != session::State::connected) return i.fail(Errc::not_connected);
    if (i.reauthenticating_) return i.fail(Errc::authentication_in_progress);
    if (auto ec = session.reauthenticate(i.authenticator_->initial_data(true), now())) return i.fail(ec);
    i.reauthenticating_ = true;
    i.reauthenticated_ = std::move(done);
    i.connection_.flush_soon();
    return true;
}

void Client::set_tls(TlsOptions tls) { impl_->connection_.set_tls_options(std::move(tls)); }

void Client::lwt(std::string topic, std::string message, int qos, bool retain) {
    if (!is_valid_qos(qos)) throw std::system_error(make_error_code(Errc::bad_qos), "nmqtt::Client::lwt");
    auto ec = impl_->connection_.session().set_will(
        session::WillMessage{std::move(topic), std::move(message), static_cast<QoS>(qos), retain});
    if (ec) throw std::system_error(ec, "nmqtt::Client::lwt");
}

void Client::lwt(std::string topic, std::string message, int qos, bool retain, protocol::PropertiesView properties) {
    if (!is_valid_qos(qos)) throw std::system_error(make_error_code(Errc::bad_qos), "nmqtt::Client::lwt");
    session::WillMessage will{std::move(topic), std::move(message), static_cast<QoS>(qos), retain, {}};
    will.properties.append(properties);
    auto ec = impl_->connection_.session().set_will(std::move(will));
    if (ec) throw std::system_error(ec, "nmqtt::Client::lwt");
}

void Client::on(Event event, Callback callback) {
    auto& i = *impl_;
    switch (event) {
        case Event::connect: i.connect_.set(std::move(callback)); return;
        case Event::suback: i.suback_.set(std::move(callback)); return;
        case Event::unsuback: i.unsuback_.set(std::move(callback)); return;
        case Event::puback: i.puback_.set(std::move(callback)); return;
        case Event::offline: i.offline_.set(std::move(callback)); return;
        case Event::connfail: break;
        case Event::message:
        case Event::overflow: {
            MessageCallback adapted;
            if (callback) adapted = [f = std::move(callback)](Client& c, const MessageView&) { f(c); };
            (event == Event::message ? i.message_ : i.overflow_).set(std::move(adapted));
            return;
        }
    }
    // function(client) registered for "connfail": called without the reason (on_connfail() gets it).
    FailCallback adapted;
    if (callback) adapted = [f = std::move(callback)](Client& c, int) { f(c); };
    i.connfail_.set(std::move(adapted));
}

void Client::on_connfail(FailCallback callback) { impl_->connfail_.set(std::move(callback)); }
void Client::on_message(MessageCallback callback) { impl_->message_.set(std::move(callback)); }
void Client::on_overflow(MessageCallback callback) { impl_->overflow_.set(std::move(callback)); }
void Client::on_reconnect(ReconnectCallback callback) { impl_->reconnect_.set(std::move(callback)); }

bool Client::publish(std::string_view topic, std::string_view payload, int qos, bool retain, Callback on_puback,
                     PublishCompletion done) {
    auto& i = *impl_;
    if (!is_valid_qos(qos)) return i.fail(Errc::bad_qos);
    const std::uint64_t tag = i.completions_.add(std::move(done));
    const auto result =
        i.connection_.session().publish(session::PublishRequest{topic, payload, static_cast<QoS>(qos), retain, tag}, now());
    if (!result) {
        (void)i.completions_.take(tag);
        return i.fail(result.error());
    }
    if (on_puback) i.puback_.set(std::move(on_puback));
    i.connection_.flush_soon();
    return true;
}

bool Client::publish(const OutgoingMessage& message, AckCompletion done) {
    auto& i = *impl_;
    if (!is_valid_qos(message.qos)) return i.fail(Errc::bad_qos);
    const std::uint64_t tag = i.completions_.add(std::move(done));
    const session::PublishRequest request{message.topic, message.payload, static_cast<QoS>(message.qos),
                                          message.retain, tag, message.properties};
    return i.settle(i.connection_.session().publish(request, now()), tag);
}

bool Client::subscribe(std::span<const protocol::SubscribeEntry> entries, protocol::PropertiesView properties,
                       AckCompletion done) {
    auto& i = *impl_;
    const std::uint64_t tag = i.completions_.add(std::move(done));
    return i.settle(i.connection_.session().subscribe(entries, properties, tag, now()), tag);
}

bool Client::unsubscribe(std::span<const std::string_view> filters, protocol::PropertiesView properties,
                         AckCompletion done) {
    auto& i = *impl_;
    const std::uint64_t tag = i.completions_.add(std::move(done));
    return i.settle(i.connection_.session().unsubscribe(filters, tag, now(), properties), tag);
}

bool Client::subscribe(std::string_view filter, int qos, Callback on_suback, SubscribeCompletion done) {
    const std::pair<std::string, int> one{std::string(filter), qos};
    return subscribe(std::span<const std::pair<std::string, int>>(&one, 1), std::move(on_suback), std::move(done));
}

bool Client::subscribe(std::span<const std::pair<std::string, int>> filters, Callback on_suback,
                       SubscribeCompletion done) {
    auto& i = *impl_;
    i.entries_.clear();
    for (const auto& [filter, qos] : filters) {
        if (!is_valid_qos(qos)) return i.fail(Errc::bad_qos);
        i.entries_.push_back(protocol::SubscribeEntry{filter, static_cast<QoS>(qos)});
    }
    const std::uint64_t tag = i.completions_.add(std::move(done));
    const auto result = i.connection_.session().subscribe(i.entries_, tag, now());
    if (!result) {
        (void)i.completions_.take(tag);
        return i.fail(result.error());
    }
    if (on_suback) i.suback_.set(std::move(on_suback));
    i.connection_.flush_soon();
    return true;
}

bool Client::unsubscribe(std::string_view filter, Callback on_unsuback, UnsubscribeCompletion done) {
    const std::string one(filter);
    return unsubscribe(std::span<const std::string>(&one, 1), std::move(on_unsuback), std::move(done));
}

bool Client::unsubscribe(std::span<const std::string> filters, Callback on_unsuback, UnsubscribeCompletion done) {
    auto& i = *impl_;
    i.filters_.assign(filters.begin(), filters.end());
    const std::uint64_t tag = i.completions_.add(std::move(done));
    const auto result = i.connection_.session().unsubscribe(i.filters_, tag, now());
    if (!result) {
        (void)i.completions_.take(tag);
        return i.fail(result.error());
    }
    if (on_unsuback) i.unsuback_.set(std::move(on_unsuback));
    i.connection_.flush_soon();
    return true;
}

std::error_code Client::last_error() const noexcept { return impl_->last_error_; }
std::string Client::last_error_message() const { return impl_->connection_.last_error_message(); }
std::uint8_t Client::last_reason_code() const noexcept { return impl_->last_reason_code_; }
protocol::PropertiesView Client::last_properties() const noexcept { return impl_->last_properties_.view(); }
protocol::PropertiesView Client::connack_properties() const noexcept { return impl_->connack_properties_.view(); }
std::string_view Client::client_id() const noexcept { return impl_->connection_.session().client_id(); }

bool Client::is_connected() const noexcept { return impl_->connection_.session().state() == session::State::connected; }
bool Client::is_connecting() const noexcept {
    return impl_->connection_.session().state() == session::State::connecting || impl_->deferred_.has_value();
}
bool Client::is_waiting_to_reconnect() const noexcept {
    return impl_->reconnector_ && impl_->reconnector_->is_waiting();
}
std::size_t Client::pending_requests() const noexcept {
    const auto& session = impl_->connection_.session();
    return session.inflight_count() + session.queued_count();
}

std::size_t Client::run() {
    auto& io = impl_->io_;
    if (io.stopped()) io.restart();
    return io.run();
}

std::size_t Client::run_for(std::chrono::milliseconds duration) {
    auto& io = impl_->io_;
    if (io.stopped()) io.restart();
    return io.run_for(duration);
}

std::size_t Client::poll() {
    auto& io = impl_->io_;
    if (io.stopped()) io.restart();
    return io.poll();
}

asio::io_context& Client::context() noexcept { return impl_->io_; }

}  // namespace nmqtt
