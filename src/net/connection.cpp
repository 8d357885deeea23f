// Connection: the one place where session events become Asio actions (dispatch()), plus the I/O steps that
// feed the session: resolve, connect every address in turn, TLS handshake, read, write, timer.
#include "connection.hpp"

#include <algorithm>
#include <chrono>
#include <utility>
#include <variant>
#include <vector>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <asio/error.hpp>
#include <asio/post.hpp>
#include <asio/ssl/error.hpp>

#include "nmqtt/error.hpp"
#include "transport.hpp"

namespace nmqtt::net {
namespace {

using session::Overloaded;

TimePoint now() noexcept { return std::chrono::steady_clock::now(); }

/// The NodeMCU code of a failed connection attempt. The session reports -4, -2, -1 and CONNACK codes 1..5;
/// failures of the transport itself (which the session sees as a closed connection) are translated here,
/// in this one table. A TLS handshake or verification failure is -5 (SERVER_NOT_FOUND): NodeMCU has no TLS
/// code, and "no usable broker at this address" is the nearest meaning. last_error() keeps the precise reason.
int nodemcu_code(const session::ConnectFailed& failed) noexcept {
    if (failed.error == Errc::host_not_found) return static_cast<int>(ConnFail::dns);
    if (failed.error == Errc::server_not_found) return static_cast<int>(ConnFail::server_not_found);
    if (failed.error == Errc::tls_handshake_failed) return static_cast<int>(ConnFail::server_not_found);
    return failed.code;
}

std::string refusal_detail(int code) {
    if (code <= 0) return {};
    return "CONNACK " + std::to_string(code) + " (" + std::string(reason_name(code)) + ")";
}

std::string describe(const asio::ip::tcp::endpoint& endpoint) {
    const auto address = endpoint.address().to_string();
    const auto port = std::to_string(endpoint.port());
    return endpoint.address().is_v6() ? "[" + address + "]:" + port : address + ":" + port;
}

void cancel_timer(asio::steady_timer& timer) noexcept {
    try {
        timer.cancel();
    } catch (const std::system_error&) {  // cannot fail for a steady_timer; nothing to do if it did
    }
}

// Most clients never set a TLS option: they keep none (idle clients are many; TlsOptions is 264 bytes).
std::unique_ptr<const TlsOptions> keep_if_set(TlsOptions options) {
    const bool unset = options.verify_peer && options.ca_file.empty() && options.ca_path.empty() &&
                       options.cert_file.empty() && options.key_file.empty() && options.server_name.empty() &&
                       options.ca_pem.empty() && options.cert_pem.empty() && options.key_pem.empty();
    if (unset) return nullptr;
    return std::make_unique<const TlsOptions>(std::move(options));
}

}  // namespace

const TlsOptions& Connection::tls_options() const noexcept {
    static const TlsOptions defaults;
    return tls_options_ ? *tls_options_ : defaults;
}

Connection::Connection(asio::io_context& io, session::SessionOptions options, TlsOptions tls,
                       ResolveFunction resolve, ConnectionObserver& observer, std::unique_ptr<FileStore> store)
    : io_(io),
      session_(std::move(options)),
      tls_options_(keep_if_set(std::move(tls))),
      resolve_(std::move(resolve)),
      observer_(observer),
      store_(std::move(store)),
      alive_(std::make_shared<bool>(true)) {
    if (!store_) return;
    // The views of `outgoing` point into the store, valid until its next apply(); restore() copies them.
    const auto outgoing = store_->outgoing();
    const auto incoming = store_->incoming();
    if (auto ec = session_.restore(outgoing, incoming)) throw std::system_error(ec, "nmqtt session store");
}

Connection::~Connection() {
    *alive_ = false;
    teardown();
}

// ---- the event-to-action mapping ------------------------------------------------------------------------

// Each session event: the transport action it calls for, then the report to the observer. Actions come
// first so that an observer may start a new connection from its callback.
void Connection::dispatch(session::Event& event) {
    std::visit(Overloaded{
                   [&](session::Connected& e) { observer_.on_connected(e); },
                   [&](session::ConnectFailed& e) {
                       const int code = nodemcu_code(e);
                       if (e.error != last_error_) record_end(e.error, refusal_detail(code));  // else: recorded
                       teardown();
                       session_.connection_closed(e.error, now());
                       observer_.on_connect_failed(code, e);
                   },
                   [&](session::ConnectionLost& e) {
                       if (e.error != last_error_) record_end(e.error, {});
                       teardown();
                       session_.connection_closed(e.error, now());
                       observer_.on_connection_lost(e);
                   },
                   [&](session::MessageReceived& e) { observer_.on_message(e); },
                   [&](session::MessageOverflow& e) { observer_.on_overflow(e); },
                   [&](session::PublishDone& e) { observer_.on_publish_done(e); },
                   [&](session::SubscribeDone& e) { observer_.on_subscribe_done(e); },
                   [&](session::UnsubscribeDone& e) { observer_.on_unsubscribe_done(e); },
                   [&](session::PingResponse&) {},
                   [&](session::AuthReceived& e) { observer_.on_auth(e); },
               },
               event);
}

// Moves the session's durable changes into the store and flushes it. Called before events are dispatched
// and before output is written (drain_events(), settle()), so after every session call that may change the
// durable state. A store that cannot be written ends the connection, with nothing more written: the broker
// then sends again what it could not see acknowledged.
void Connection::persist() {
    if (!store_) return;
    while (auto change = session_.poll_store_change()) store_->apply(*change);
    const auto ec = store_->flush();
    if (!ec) return;
    record_end(ec, "session store: the state could not be written");
    if (session_.state() == session::State::idle) return;  // last_error() tells it; the next flush retries
    teardown();
    session_.connection_closed(ec, now());
    schedule_drain();
}

void Connection::drain_events() {
    if (draining_) return;  // the outer loop picks up events queued by a callback
    draining_ = true;
    struct Reset {
        bool& flag;
        ~Reset() { flag = false; }
    } reset{draining_};
    persist();
    while (auto event = session_.poll_event()) dispatch(*event);
}

// drain_events() as part of an I/O step. An exception thrown by a callback leaves once the step is finished
// (the I/O settled, a drain posted for the events behind the one that threw), so that the client stays
// consistent and usable: the exception propagates out of io_context::run() and the next run goes on.
void Connection::drain_step(const Transport* transport) {
    try {
        drain_events();
    } catch (...) {
        schedule_drain();
        if (transport == nullptr || is_current(*transport)) settle();
        throw;
    }
}

void Connection::schedule_drain() {
    if (draining_ || drain_posted_) return;
    drain_posted_ = true;
    asio::post(io_, [this, alive = alive_] {
        if (!*alive) return;
        drain_posted_ = false;
        drain_step(nullptr);
        settle();
    });
}

// ---- requests from the facade ---------------------------------------------------------------------------

void Connection::set_tls_options(TlsOptions options) {
    tls_options_ = keep_if_set(std::move(options));
    tls_context_.reset();
}

void Connection::connect(const std::string& host, std::uint16_t port, bool secure) {
    if (session_.state() != session::State::idle) throw std::system_error(make_error_code(Errc::already_connected));
    std::shared_ptr<asio::ssl::context> tls;
    if (secure) {
        if (!tls_context_) tls_context_ = make_tls_context(tls_options());
        tls = tls_context_;
    }
    teardown();
    if (auto ec = session_.connection_opened(now())) throw std::system_error(ec);
    last_error_ = {};
    last_error_message_.clear();
    transport_ = std::make_shared<Transport>(io_, std::move(tls), resolve_, host, port);
    transport_->owner = this;
    transport_->resolver->async_resolve(host, port, [self = transport_](std::error_code error,
                                                                      Resolver::Endpoints endpoints) {
        // Every way of resolving completes through the event loop, never inside async_resolve(): the
        // resolver can go here.
        self->resolver.reset();
        if (self->owner == nullptr) return;
        self->endpoints = std::move(endpoints);
        self->owner->on_resolved(*self, error);
    });
    kick();
}

bool Connection::close() {
    const auto state = session_.state();
    if (!session_.disconnect(now())) return false;
    if (state == session::State::connecting) teardown();  // cancelled silently: no event, no callback
    kick();
    return true;
}

Result<bool> Connection::close(const session::DisconnectRequest& request) {
    const auto state = session_.state();
    const auto closing = session_.disconnect(request, now());
    if (!closing || !*closing) return closing;
    if (state == session::State::connecting) teardown();
    kick();
    return true;
}

void Connection::kick() {
    settle();
    schedule_drain();
}

// Brings I/O in line with the session: write what is pending, read while it wants input, timer at its deadline.
void Connection::settle() {
    persist();
    arm_timer();
    start_write();
    start_read();
}

// ---- connection attempt ---------------------------------------------------------------------------------

void Connection::on_resolved(Transport& transport, std::error_code error) {
    if (error) {
        fail_transport(Errc::host_not_found, "'" + transport.host + "': " + error.message());
        return;
    }
    connect_next(transport);
}

void Connection::connect_next(Transport& transport) {
    if (transport.next_endpoint == transport.endpoints.size()) {
        fail_transport(Errc::server_not_found, transport.connect_errors);
        return;
    }
    const auto& endpoint = transport.endpoints[transport.next_endpoint++];
    std::error_code ignored;
    transport.stream.socket().close(ignored);  // a fresh socket of the endpoint's family
    transport.stream.socket().async_connect(endpoint, [self = transport.shared_from_this()](std::error_code ec) {
        if (self->owner != nullptr) self->owner->on_tcp_connected(*self, ec);
    });
}

void Connection::on_tcp_connected(Transport& transport, std::error_code error) {
    const auto& endpoint = transport.endpoints[transport.next_endpoint - 1];
    if (error) {
        if (!transport.connect_errors.empty()) transport.connect_errors += "; ";
        transport.connect_errors += describe(endpoint) + ": " + error.message();
        connect_next(transport);
        return;
    }
    std::error_code ignored;
    transport.stream.socket().set_option(asio::ip::tcp::no_delay(true), ignored);
    if (!transport.stream.is_tls()) {
        on_open(transport);
        return;
    }
    const TlsOptions& tls = tls_options();
    std::string name = tls.server_name.empty() ? transport.host : tls.server_name;
    if (name.size() >= 2 && name.front() == '[' && name.back() == ']') name = name.substr(1, name.size() - 2);
    transport.stream.set_server_name(name, tls.verify_peer);
    transport.stream.async_handshake([self = transport.shared_from_this()](std::error_code ec) {
        if (self->owner != nullptr) self->owner->on_handshake(*self, ec);
    });
}

void Connection::on_handshake(Transport& transport, std::error_code error) {
    if (!error) {
        on_open(transport);
        return;
    }
    std::string detail = describe(transport.endpoints[transport.next_endpoint - 1]) + ": " + error.message();
    if (const auto why = transport.stream.verify_failure(); !why.empty()) detail += " (" + why + ")";
    fail_transport(Errc::tls_handshake_failed, std::move(detail));
}

void Connection::on_open(Transport& transport) {
    transport.open = true;
    settle();
}

// ---- steady state ---------------------------------------------------------------------------------------

// The read buffer shared by every plain-TCP connection of this thread. Its bytes are handled before the
// read handler returns (the session copies what it keeps), so no other connection can overwrite them first.
static MutableBytes shared_read_buffer() {
    thread_local std::unique_ptr<std::uint8_t[]> buffer(new std::uint8_t[Transport::read_buffer_size]);
    return {buffer.get(), Transport::read_buffer_size};
}

// Two ways to read. A quiet plain-TCP connection waits for readability and then reads into the thread's
// shared buffer, so that it holds no buffer while idle; but Asio re-arms the descriptor (epoll_ctl) for
// every such wait, and the re-arm wakes the loop once more for the always-ready EPOLLOUT: four system calls
// per read. A connection that streams (note_read()) and a TLS one keep a read pending in a buffer of their
// own instead: Asio's speculative path then needs no re-arm, one epoll_wait and the recv per read at most.
void Connection::start_read() {
    Transport* t = transport_.get();
    if (t == nullptr || !t->open || t->reading || !session_.wants_input()) return;
    t->reading = true;
    if (t->stream.is_tls() || t->streaming) {
        start_own_read(*t);
        return;
    }
    t->stream.socket().async_wait(asio::socket_base::wait_read, [self = t->shared_from_this()](std::error_code ec) {
        if (self->owner != nullptr) self->owner->on_readable(*self, ec);
    });
}

void Connection::start_own_read(Transport& t) {
    if (!t.own_read_buffer) t.own_read_buffer = std::make_unique<std::uint8_t[]>(Transport::own_read_buffer_size);
    const Bytes buffer{t.own_read_buffer.get(), Transport::own_read_buffer_size};
    t.stream.async_read_some(asio::buffer(t.own_read_buffer.get(), buffer.size()),
                             [self = t.shared_from_this(), buffer](std::error_code ec, std::size_t n) {
                                 if (self->owner == nullptr) return;
                                 if (!ec && !self->stream.is_tls()) self->owner->note_read(*self, now());
                                 self->owner->on_read(*self, ec, buffer.first(n));
                             });
}

// A plain connection streams once four reads in a row came within 10 ms of the one before (over 100 reads a
// second), and stops, giving its buffer back, when a read comes more than a second after the previous one.
// A connection that stops receiving altogether keeps its buffer (16 KiB) until it reads again or closes.
void Connection::note_read(Transport& transport, TimePoint at) noexcept {
    constexpr auto quick = std::chrono::milliseconds{10};
    constexpr auto quiet = std::chrono::seconds{1};
    constexpr std::uint8_t reads_to_stream = 4;
    const auto gap = at - transport.last_read;
    transport.last_read = at;
    if (transport.streaming) {
        if (gap > quiet) transport.streaming = false;  // the buffer goes once this read was handled
        return;
    }
    transport.quick_reads = gap < quick ? static_cast<std::uint8_t>(transport.quick_reads + 1) : 0;
    if (transport.quick_reads >= reads_to_stream) {
        transport.streaming = true;
        transport.quick_reads = 0;
    }
}

void Connection::on_readable(Transport& transport, std::error_code error) {
    const MutableBytes buffer = shared_read_buffer();
    std::size_t n = 0;
    if (!error) {
        auto& socket = transport.stream.socket();
        if (!socket.non_blocking()) socket.non_blocking(true, error);  // once: each call is an ioctl
        if (!error) n = socket.read_some(asio::buffer(buffer.data(), buffer.size()), error);
    }
    if (error == asio::error::would_block || error == asio::error::try_again) {  // spurious wake-up
        transport.reading = false;
        settle();
        return;
    }
    if (!error) note_read(transport, now());
    on_read(transport, error, buffer.first(n));
}

void Connection::on_read(Transport& transport, std::error_code error, Bytes input) {
    if (error) {
        transport.reading = false;
        // With TLS 1.3 the server checks the client certificate after the client's handshake is done: its
        // refusal arrives as an alert in place of the CONNACK. It is still a TLS failure (-5), not -4.
        const bool tls_refusal = session_.state() == session::State::connecting &&
                                 error.category() == asio::error::get_ssl_category();
        fail_transport(tls_refusal ? Errc::tls_handshake_failed : Errc::connection_closed,
                       describe(transport.endpoints[transport.next_endpoint - 1]) + ": " + error.message());
        return;
    }
    const auto at = now();
    // The session stops after each packet that made an event (its views point into `input`): drain, go on.
    try {
        while (!input.empty() && is_current(transport)) {
            const std::size_t used = std::min(session_.handle_bytes(input, at), input.size());
            input = input.subspan(used);
            drain_events();
            if (used == 0) break;
        }
    } catch (...) {  // a callback threw: the rest of the input is handled later, then reading goes on
        keep_unread(transport, input);
        throw;
    }
    // Only now may a new read reuse the buffer: callbacks above (publish from a message callback) call
    // settle(), and a read started then would overwrite bytes not yet handled.
    transport.reading = false;
    if (!is_current(transport)) return;
    if (!transport.streaming && !transport.stream.is_tls()) transport.own_read_buffer.reset();
    acknowledge_quickly(transport);
    settle();
}

// A callback threw while `input` (the bytes after its packet) was being handled: they are kept and handled
// by a posted continuation after the events queued behind the one that threw, and only then does reading
// resume (`reading` stays set meanwhile). Output (acknowledgements) and the timer are settled first.
void Connection::keep_unread(Transport& transport, Bytes input) {
    schedule_drain();
    if (!is_current(transport)) return;
    std::vector<std::uint8_t> rest(input.begin(), input.end());
    transport.unread.swap(rest);
    settle();
    asio::post(io_, [self = transport.shared_from_this()] {
        if (self->owner == nullptr) return;
        const std::vector<std::uint8_t> bytes = std::move(self->unread);
        self->unread.clear();
        self->owner->on_read(*self, {}, Bytes{bytes.data(), bytes.size()});
    });
}

// Linux turns quick ACKs off again once the connection looks interactive (we send soon after receiving);
// re-arming them after a read keeps our ACKs immediate. Without it a broker that leaves Nagle's algorithm
// on (mosquitto's default: set_tcp_nodelay false) holds its second small write (a forwarded PUBLISH after
// a PUBACK) until our delayed ACK, 40 ms later. The re-arm is needed only when this read's ACK would wait:
// we wrote since the last re-arm (so Linux may have turned quick ACKs off) and have nothing to send now (a
// write about to go out carries the ACK itself). A QoS 0 subscriber never writes, a QoS 1 subscriber
// answers every read with PUBACKs: neither makes a setsockopt per read.
void Connection::acknowledge_quickly(Transport& transport) noexcept {
#ifdef TCP_QUICKACK
    if (!transport.wrote_since_quickack || !session_.pending_output().empty()) return;
    transport.wrote_since_quickack = false;
    const int on = 1;
    (void)::setsockopt(transport.stream.socket().native_handle(), IPPROTO_TCP, TCP_QUICKACK, &on, sizeof on);
#else
    (void)transport;
#endif
}

// One write at a time, of everything pending: packets queued meanwhile go out together in the next one.
void Connection::start_write() {
    Transport* t = transport_.get();
    if (t == nullptr || !t->open || t->writing) return;
    const Bytes output = session_.pending_output();  // stable until consume_output()
    if (output.empty()) return;
    t->writing = true;
    t->stream.async_write(asio::buffer(output.data(), output.size()),
                          [self = t->shared_from_this()](std::error_code ec, std::size_t n) {
                              if (self->owner != nullptr) self->owner->on_written(*self, ec, n);
                          });
}

void Connection::on_written(Transport& transport, std::error_code error, std::size_t n) {
    transport.writing = false;
    if (error) {
        fail_transport(Errc::connection_closed, error.message());
        return;
    }
    if (n != 0) transport.wrote_since_quickack = true;
    session_.consume_output(n, now());
    drain_step(&transport);
    if (is_current(transport)) settle();
}

// The timer fires at the earliest deadline armed so far. A deadline that moved later (keepalive after
// traffic) is not re-armed at once: the early wake-up finds nothing due and re-arms. Steady traffic thus
// costs no timer operations.
void Connection::arm_timer() {
    Transport* t = transport_.get();
    if (t == nullptr) return;
    const auto deadline = session_.next_deadline();
    if (!deadline || (t->armed_deadline && *t->armed_deadline <= *deadline)) return;
    t->armed_deadline = deadline;
    const auto sequence = ++t->timer_sequence;
    t->timer.expires_at(*deadline);  // cancels the previous wait
    t->timer.async_wait([self = t->shared_from_this(), sequence](std::error_code ec) {
        if (self->owner != nullptr) self->owner->on_timer(*self, sequence, ec);
    });
}

void Connection::on_timer(Transport& transport, std::uint64_t sequence, std::error_code error) {
    if (error || sequence != transport.timer_sequence) return;
    transport.armed_deadline.reset();
    session_.handle_timeout(now());
    drain_step(&transport);
    if (is_current(transport)) settle();
}

// ---- endings --------------------------------------------------------------------------------------------

// The transport failed (resolution, every address, TLS, read, write): the session reports it as the end of
// the attempt or of the connection, and dispatch() acts on that report.
void Connection::fail_transport(std::error_code error, std::string detail) {
    record_end(error, std::move(detail));
    teardown();
    session_.connection_closed(error, now());
    drain_step(nullptr);
}

void Connection::record_end(std::error_code error, std::string detail) {
    last_error_ = error;
    last_error_message_ = error.message();
    if (!detail.empty()) last_error_message_ += ": " + detail;
}

void Connection::teardown() noexcept {
    if (!transport_) return;
    const auto transport = std::move(transport_);
    transport->owner = nullptr;
    if (transport->resolver) transport->resolver->cancel();
    transport->stream.close();
    cancel_timer(transport->timer);
}

bool Connection::is_current(const Transport& transport) const noexcept { return transport_.get() == &transport; }

}  // namespace nmqtt::net
