// Connection: the one place where session events become Asio actions (dispatch()), plus the I/O steps that
// feed the session: resolve, connect every address in turn, TLS handshake, read, write, timer.
#include "connection.hpp"

#include <algorithm>
#include <chrono>
#include <random>
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
namespace websocket = protocol::websocket;

/// splitmix64 over a per-thread state seeded from std::random_device: WebSocket keys and frame masks
/// (RFC 6455 asks them to be unpredictable to intermediaries, not to be secret).
std::uint64_t next_random() noexcept {
    thread_local std::uint64_t state = [] {
        std::random_device device;
        return (static_cast<std::uint64_t>(device()) << 32) ^ device();
    }();
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

websocket::Mask next_mask() noexcept {
    const auto r = next_random();
    return {static_cast<std::uint8_t>(r), static_cast<std::uint8_t>(r >> 8), static_cast<std::uint8_t>(r >> 16),
            static_cast<std::uint8_t>(r >> 24)};
}

std::unique_ptr<WebSocketState> make_websocket(const std::string& host, std::uint16_t port, bool secure,
                                               const WebSocketTarget& target) {
    static const HeaderList no_headers;
    std::string key = make_websocket_key(next_random(), next_random());
    std::string request =
        websocket_request(host, port, secure, target.path, target.headers ? *target.headers : no_headers, key);
    return std::make_unique<WebSocketState>(std::move(request), std::move(key));
}

/// Writes a close frame with the state's status code, without waiting (best effort, at teardown).
void send_close_frame(Transport& transport) noexcept {
    auto& ws = *transport.ws;
    const std::array<std::uint8_t, 2> code{static_cast<std::uint8_t>(ws.close_code >> 8),
                                           static_cast<std::uint8_t>(ws.close_code)};
    std::array<std::uint8_t, 8> frame{};
    const auto n = websocket::encode_client_frame(websocket::Opcode::close, code, next_mask(), frame);
    transport.stream.write_now(asio::buffer(frame.data(), n));
}

TimePoint now() noexcept { return std::chrono::steady_clock::now(); }

/// The NodeMCU code of a failed connection attempt. The session reports -4, -2, -1 and CONNACK codes 1..5;
/// failures of the transport itself (which the session sees as a closed connection) are translated here,
/// in this one table. A TLS handshake or verification failure is -5 (SERVER_NOT_FOUND): NodeMCU has no TLS
/// code, and "no usable broker at this address" is the nearest meaning. last_error() keeps the precise reason.
int nodemcu_code(const session::ConnectFailed& failed) noexcept {
    if (failed.error == Errc::host_not_found) return static_cast<int>(ConnFail::dns);
    if (failed.error == Errc::server_not_found) return static_cast<int>(ConnFail::server_not_found);
    if (failed.error == Errc::tls_handshake_failed) return static_cast<int>(ConnFail::server_not_found);
    if (failed.error == Errc::websocket_handshake_failed) return static_cast<int>(ConnFail::server_not_found);
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

void Connection::connect(const std::string& host, std::uint16_t port, bool secure, const WebSocketTarget* websocket) {
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
    if (websocket != nullptr) transport_->ws = make_websocket(host, port, secure, *websocket);
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

void Connection::flush_soon() {
    persist();         // a request is durable when the call returns; only its write waits
    schedule_drain();  // from a callback: nothing, the I/O step settles once the callback returns
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
    auto& socket = transport.stream.socket();
    std::error_code ignored;
    socket.close(ignored);  // a fresh socket of the endpoint's family
    // Non-blocking from the start, as every synchronous call made on it is (reads, inline writes): Asio's
    // connect then sets no mode of its own, nor does the first read, one ioctl per connection instead of two.
    // A socket that cannot be opened here fails in async_connect, which opens it again and reports why.
    socket.open(endpoint.protocol(), ignored);
    if (socket.is_open()) socket.non_blocking(true, ignored);
    socket.async_connect(endpoint, [self = transport.shared_from_this()](std::error_code ec) {
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
        on_secured(transport);
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
        on_secured(transport);
        return;
    }
    std::string detail = describe(transport.endpoints[transport.next_endpoint - 1]) + ": " + error.message();
    if (const auto why = transport.stream.verify_failure(); !why.empty()) detail += " (" + why + ")";
    fail_transport(Errc::tls_handshake_failed, std::move(detail));
}

// TCP (and TLS) is up: MQTT starts, or the WebSocket Upgrade request goes out first.
void Connection::on_secured(Transport& transport) {
    if (!transport.ws) {
        on_open(transport);
        return;
    }
    const std::string& request = transport.ws->handshake;
    transport.stream.async_write(asio::buffer(request.data(), request.size()),
                                 [self = transport.shared_from_this()](std::error_code ec, std::size_t) {
                                     if (self->owner != nullptr) self->owner->on_upgrade_written(*self, ec);
                                 });
}

void Connection::on_upgrade_written(Transport& transport, std::error_code error) {
    if (error) {
        fail_transport(Errc::websocket_handshake_failed,
                       describe(transport.endpoints[transport.next_endpoint - 1]) + ": " + error.message());
        return;
    }
    transport.ws->handshake.clear();
    read_upgrade(transport);
}

void Connection::read_upgrade(Transport& t) {
    if (!t.own_read_buffer) t.own_read_buffer = std::make_unique<std::uint8_t[]>(Transport::own_read_buffer_size);
    t.stream.async_read_some(asio::buffer(t.own_read_buffer.get(), Transport::own_read_buffer_size),
                             [self = t.shared_from_this()](std::error_code ec, std::size_t n) {
                                 if (self->owner != nullptr) self->owner->on_upgrade_read(*self, ec, n);
                             });
}

// The response so far is checked; once accepted, the bytes after its header are the first frames.
void Connection::on_upgrade_read(Transport& transport, std::error_code error, std::size_t n) {
    const std::string where = describe(transport.endpoints[transport.next_endpoint - 1]);
    if (error) {
        fail_transport(Errc::websocket_handshake_failed, where + ": " + error.message() + " (before the response)");
        return;
    }
    auto& ws = *transport.ws;
    const std::uint8_t* data = transport.own_read_buffer.get();
    ws.handshake.append(reinterpret_cast<const char*>(data), n);
    const auto result = check_websocket_response(ws.handshake, ws.key);
    if (result.kind == HandshakeResult::Kind::need_more) {
        read_upgrade(transport);
        return;
    }
    if (result.kind == HandshakeResult::Kind::refused) {
        fail_transport(Errc::websocket_handshake_failed, where + ": " + result.error);
        return;
    }
    const std::size_t extra = ws.handshake.size() - result.header_size;  // all from this last read
    ws.handshake = std::string();
    ws.key = std::string();
    ws.upgraded = true;
    transport.open = true;
    if (extra == 0) {
        settle();
        return;
    }
    transport.reading = true;  // on_read() ends it
    on_read(transport, {}, Bytes{data + (n - extra), extra});
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
    if (t->stream.is_tls() || t->streaming || t->ws) {
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
    if (!transport.ws) {
        feed_session(transport, input, {});
    } else if (!feed_frames(transport, input)) {
        return;  // the frames ended the connection
    }
    // Only now may a new read reuse the buffer: callbacks above (publish from a message callback) call
    // settle(), and a read started then would overwrite bytes not yet handled.
    transport.reading = false;
    if (!is_current(transport)) return;
    if (!transport.streaming && !transport.stream.is_tls() && !transport.ws) transport.own_read_buffer.reset();
    acknowledge_quickly(transport);
    settle();
}

// Hands the MQTT bytes of `input` to the session. The session stops after each packet that made an event
// (its views point into `input`): drain, go on. `frames_rest`: over WebSockets, the received bytes after
// the frame `input` came from, kept with the rest of `input` when a callback throws.
void Connection::feed_session(Transport& transport, Bytes input, Bytes frames_rest) {
    const auto at = now();
    try {
        while (!input.empty() && is_current(transport)) {
            const std::size_t used = std::min(session_.handle_bytes(input, at), input.size());
            input = input.subspan(used);
            drain_events();
            if (used == 0) break;
        }
    } catch (...) {  // a callback threw: the rest of the input is handled later, then reading goes on
        keep_unread(transport, input, frames_rest);
        throw;
    }
}

// The WebSocket layer: frames in, MQTT bytes (views into `input`, no copy) to the session, a pong queued
// for each ping. A close frame or a frame the client must refuse ends the connection; returns false then.
bool Connection::feed_frames(Transport& transport, Bytes input) {
    auto& ws = *transport.ws;
    while (is_current(transport)) {
        const auto step = ws.decoder.decode(input);
        input = input.subspan(step.consumed);
        switch (step.kind) {
        case websocket::FrameDecoder::Kind::need_more:
            return true;
        case websocket::FrameDecoder::Kind::data:
            feed_session(transport, step.payload, input);
            break;
        case websocket::FrameDecoder::Kind::ping:  // answered at once; a newer ping replaces an unsent pong
            ws.control_size = websocket::encode_client_frame(websocket::Opcode::pong, step.payload, next_mask(),
                                                             ws.control);
            break;
        case websocket::FrameDecoder::Kind::pong:
            break;
        case websocket::FrameDecoder::Kind::close:
            transport.reading = false;
            if (step.close_code != 1005) ws.close_code = step.close_code;  // echoed [RFC 6455 5.5.1]
            fail_transport(Errc::connection_closed,
                           "WebSocket close frame from the server (status " + std::to_string(step.close_code) + ")");
            return false;
        case websocket::FrameDecoder::Kind::error:
            transport.reading = false;
            ws.close_code = ws.decoder.close_code();
            fail_transport(Errc::websocket_protocol_error, std::string(ws.decoder.reason()));
            return false;
        }
    }
    return true;
}

// A callback threw while `input` (the bytes after its packet) was being handled: they are kept and handled
// by a posted continuation after the events queued behind the one that threw, and only then does reading
// resume (`reading` stays set meanwhile). Output (acknowledgements) and the timer are settled first.
void Connection::keep_unread(Transport& transport, Bytes input, Bytes frames_rest) {
    schedule_drain();
    if (!is_current(transport)) return;
    std::vector<std::uint8_t> rest(input.begin(), input.end());
    transport.unread.swap(rest);
    transport.unread_frames.assign(frames_rest.begin(), frames_rest.end());
    settle();
    asio::post(io_, [self = transport.shared_from_this()] {
        if (self->owner == nullptr) return;
        const std::vector<std::uint8_t> bytes = std::move(self->unread);
        const std::vector<std::uint8_t> frames = std::move(self->unread_frames);
        self->unread.clear();
        self->unread_frames.clear();
        self->owner->resume_unread(*self, Bytes{bytes.data(), bytes.size()}, Bytes{frames.data(), frames.size()});
    });
}

// The continuation of keep_unread(): the MQTT bytes left, then (WebSocket) the frames after them.
void Connection::resume_unread(Transport& transport, Bytes decoded, Bytes frames) {
    if (!transport.ws) {
        on_read(transport, {}, decoded);
        return;
    }
    feed_session(transport, decoded, frames);
    if (!is_current(transport)) {
        transport.reading = false;
        return;
    }
    on_read(transport, {}, frames);
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
    if (t->ws) {
        start_frame_write(*t);
        return;
    }
    Bytes output = session_.pending_output();  // stable until consume_output()
    if (output.empty()) return;
    // Connected only: a CONNECT or DISCONNECT written inline would end the connecting or closing state inside
    // the request that queued it (close() from a callback, then connect(), rely on it lasting until the loop).
    if (!t->stream.is_tls() && session_.state() == session::State::connected) {
        if (write_now(*t, output) == output.size()) return;
        output = session_.pending_output();  // the rest
        if (output.empty()) return;
    }
    t->writing = true;
    t->stream.async_write(asio::buffer(output.data(), output.size()),
                          [self = t->shared_from_this()](std::error_code ec, std::size_t n) {
                              if (self->owner != nullptr) self->owner->on_written(*self, ec, n);
                          });
}

// Plain TCP: as much of `output` as the socket takes at once, written here rather than through an Asio
// operation whose completion would cost the loop one more turn (and an epoll_wait) per write. Returns the
// bytes written; the rest, or everything after an error, goes through async_write, which reports errors.
std::size_t Connection::write_now(Transport& t, Bytes output) {
    auto& socket = t.stream.socket();
    std::error_code error;
    if (!socket.non_blocking()) socket.non_blocking(true, error);
    if (error) return 0;
    const std::size_t n = socket.write_some(asio::buffer(output.data(), output.size()), error);
    if (error || n == 0) return 0;
    t.wrote_since_quickack = true;
    session_.consume_output(n, now());
    if (session_.has_events()) schedule_drain();  // QoS 0 completions, events of a DISCONNECT written
    return n;
}

// WebSocket: a waiting pong first, else the next (up to 16 KiB) of the session's output in one masked binary
// frame, built in a buffer that grows to the largest frame once (masking needs the copy).
void Connection::start_frame_write(Transport& t) {
    auto& ws = *t.ws;
    std::size_t size = ws.control_size;
    if (size != 0) {
        if (ws.out.size() < size) ws.out.resize(WebSocketState::max_control_frame);
        std::copy_n(ws.control.begin(), size, ws.out.begin());
        ws.control_size = 0;
        ws.out_payload = 0;
    } else {
        const Bytes output = session_.pending_output();
        if (output.empty()) return;
        const Bytes chunk = output.first(std::min(output.size(), WebSocketState::max_frame_payload));
        const std::size_t need = websocket::client_header_size(chunk.size()) + chunk.size();
        if (ws.out.size() < need) ws.out.resize(need);
        size = websocket::encode_client_frame(websocket::Opcode::binary, chunk, next_mask(), ws.out);
        ws.out_payload = chunk.size();
    }
    t.writing = true;
    t.stream.async_write(asio::buffer(ws.out.data(), size),
                         [self = t.shared_from_this()](std::error_code ec, std::size_t) {
                             if (self->owner == nullptr) return;
                             const std::size_t payload = std::exchange(self->ws->out_payload, 0);
                             self->owner->on_written(*self, ec, payload);
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
    // WebSocket: a close frame after the DISCONNECT (or with the status of a refused frame) when no write is
    // under way; best effort, TCP closes right after.
    if (transport->ws && transport->ws->upgraded && transport->open && !transport->writing) send_close_frame(*transport);
    transport->stream.close();
    cancel_timer(transport->timer);
}

bool Connection::is_current(const Transport& transport) const noexcept { return transport_.get() == &transport; }

}  // namespace nmqtt::net
