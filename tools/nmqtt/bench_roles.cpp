// The clients of `nmqtt bench` (see bench_roles.hpp).
#include "bench_roles.hpp"

#include <unistd.h>

#include <algorithm>
#include <span>

#include <fmt/core.h>

#include "nmqtt/error.hpp"

namespace nmqtt::cli::bench {

std::string expand_topic(const std::string& pattern, const std::string& replacement) {
    std::string out;
    out.reserve(pattern.size() + replacement.size());
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] == '%' && i + 1 < pattern.size() && pattern[i + 1] == 'i') {
            out += replacement;
            ++i;
        } else {
            out += pattern[i];
        }
    }
    return out;
}

ClientOptions make_client_options(const Flags& flags, std::string client_id) {
    ClientOptions o;
    o.client_id = std::move(client_id);
    o.keepalive_seconds = 60;
    if (!flags.username.empty()) o.username = flags.username;
    o.password = flags.password;
    // Room for the payload, the topic and the header: a benchmark is no microcontroller.
    o.max_message_length = static_cast<std::size_t>(flags.payload) + flags.topic.size() + 1024;
    o.max_inflight = static_cast<std::uint16_t>(std::clamp<long>(flags.inflight, 1, 65535));
    o.tls.verify_peer = !flags.insecure;
    o.tls.ca_file = flags.cafile;
    o.tls.ca_path = flags.capath;
    o.tls.cert_file = flags.cert;
    o.tls.key_file = flags.key;
    if (flags.websocket) {
        o.transport = TransportKind::websocket;
        o.websocket.path = flags.ws_path;
    }
    if (flags.protocol == "5" || flags.protocol == "mqttv5") o.protocol = protocol::ProtocolVersion::v5;
    return o;
}

namespace {

std::string client_id(const char* role, std::uint32_t index) {
    return fmt::format("nmqtt-bench-{}-{}-{}", role, static_cast<long>(getpid()), index);
}

bool granted(std::error_code error, std::span<const std::uint8_t> codes) {
    return !error && !codes.empty() && codes[0] != 0x80;
}

}  // namespace

// ---- Workers --------------------------------------------------------------------------------------------

Workers::Workers(std::size_t threads) {
    for (std::size_t i = 0; i < std::max<std::size_t>(threads, 1); ++i) {
        contexts_.push_back(std::make_unique<asio::io_context>(1));
        guards_.push_back(asio::make_work_guard(*contexts_.back()));
    }
    for (auto& io : contexts_) {
        threads_.emplace_back([this, &context = *io] {
            context.run();
            ++finished_;
        });
    }
}

Workers::~Workers() { stop(std::chrono::milliseconds(0)); }

void Workers::stop(std::chrono::milliseconds grace) {
    guards_.clear();
    const auto deadline = std::chrono::steady_clock::now() + grace;
    while (finished_.load() < threads_.size() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    for (auto& io : contexts_) io->stop();
    for (auto& t : threads_) {
        if (t.joinable()) t.join();
    }
}

// ---- Publisher ------------------------------------------------------------------------------------------

Publisher::Publisher(asio::io_context& io, const Flags& flags, std::uint32_t index, RunState& state)
    : flags_(flags),
      state_(state),
      index_(index),
      client_(io, make_client_options(flags, client_id("pub", index))),
      timer_(io),
      topic_(expand_topic(flags.topic, std::to_string(index))),
      payload_(static_cast<std::size_t>(std::max<long>(flags.payload, stamp_size)), '\0'),
      done_([this](std::error_code error, PacketId) { on_done(error); }) {}

void Publisher::connect() {
    client_.on(Event::offline, [this](Client&) {
        if (ready_) ++state_.offline;
        finish();
    });
    client_.connect(
        flags_.host, flags_.broker_port(), flags_.is_secure(),
        [this](Client&) {
            ready_ = true;
            ++state_.ready;
        },
        [this](Client&, int reason) {
            state_.fail(reason);
            finish();
        });
}

void Publisher::go() {
    if (flags_.interval_ms <= 0) {
        allowed_ = static_cast<std::uint64_t>(flags_.messages);
        pump();
        return;
    }
    next_tick_ = std::chrono::steady_clock::now();
    tick();
}

void Publisher::tick() {
    if (is_finished() || allowed_ >= static_cast<std::uint64_t>(flags_.messages)) return;
    ++allowed_;
    pump();
    next_tick_ += std::chrono::milliseconds(flags_.interval_ms);
    timer_.expires_at(next_tick_);
    timer_.async_wait([this](std::error_code error) {
        if (!error) tick();
    });
}

// Publishes while the window and the interval allow. Allocates nothing: the payload is stamped in place and
// the completion is a copy of done_, which fits std::function's small buffer.
void Publisher::pump() {
    const auto window = static_cast<std::uint64_t>(flags_.inflight);
    while (!is_finished() && seq_ < allowed_ && outstanding_ < window) {
        stamp(payload_.data(), index_, static_cast<std::uint32_t>(seq_));
        if (!client_.publish(topic_, payload_, flags_.qos, false, {}, done_)) {
            if (client_.last_error() == Errc::queue_full && outstanding_ > 0) return;  // a completion resumes
            state_.fail(-1000 - client_.last_error().value());
            finish();
            return;
        }
        ++seq_;
        ++outstanding_;
        sent_.store(seq_, std::memory_order_relaxed);
    }
}

void Publisher::on_done(std::error_code error) {
    --outstanding_;
    if (!error || error == Errc::acknowledged_at_qos1) {  // a broker without QoS 2 still has the message
        completed_.fetch_add(1, std::memory_order_relaxed);
        last_done_ns_.store(now_ns(), std::memory_order_relaxed);
    }
    if (seq_ >= static_cast<std::uint64_t>(flags_.messages) && outstanding_ == 0) {
        finish();
        return;
    }
    pump();
}

// ---- Receiver -------------------------------------------------------------------------------------------

Receiver::Receiver(asio::io_context& io, const Flags& flags, std::string filter, std::string id,
                   std::uint32_t publishers, std::uint32_t per_publisher, RunState& state)
    : flags_(flags),
      state_(state),
      client_(io, make_client_options(flags, std::move(id))),
      filter_(std::move(filter)),
      arrivals_(publishers, per_publisher) {}

void Receiver::connect() {
    client_.on_message([this](Client&, const MessageView& m) { arrivals_.record(m.payload, now_ns()); });
    client_.on(Event::offline, [this](Client&) {
        if (ready_) ++state_.offline;
    });
    client_.connect(
        flags_.host, flags_.broker_port(), flags_.is_secure(),
        [this](Client& c) {
            const bool queued = c.subscribe(filter_, flags_.qos, {},
                                            [this](std::error_code error, PacketId, std::span<const std::uint8_t> codes) {
                                                if (!granted(error, codes)) {
                                                    state_.fail(-2000);
                                                    return;
                                                }
                                                ready_ = true;
                                                ++state_.ready;
                                            });
            if (!queued) state_.fail(-2000);
        },
        [this](Client&, int reason) { state_.fail(reason); });
}

// ---- RoundTrip ------------------------------------------------------------------------------------------

RoundTrip::RoundTrip(asio::io_context& io, const Flags& flags, RunState& state)
    : flags_(flags),
      state_(state),
      client_(io, make_client_options(flags, client_id("rtt", 0))),
      timer_(io),
      topic_(expand_topic(flags.topic, "0")),
      payload_(static_cast<std::size_t>(std::max<long>(flags.payload, stamp_size)), '\0'),
      arrivals_(1, static_cast<std::uint32_t>(flags.messages)) {}

void RoundTrip::connect() {
    client_.on_message([this](Client&, const MessageView& m) { on_message(m); });
    client_.on(Event::offline, [this](Client&) {
        if (ready_) ++state_.offline;
        finished_.store(true, std::memory_order_release);
    });
    client_.connect(
        flags_.host, flags_.broker_port(), flags_.is_secure(),
        [this](Client& c) {
            c.subscribe(topic_, flags_.qos, {}, [this](std::error_code error, PacketId, std::span<const std::uint8_t> codes) {
                if (!granted(error, codes)) {
                    state_.fail(-2000);
                    return;
                }
                ready_ = true;
                ++state_.ready;
            });
        },
        [this](Client&, int reason) { state_.fail(reason); });
}

void RoundTrip::go(std::uint64_t deadline_ns) {
    deadline_ns_ = deadline_ns;
    current_ = 0;
    send_next();
}

// Sends sample current_ (or finishes), with a 2 s limit after which the sample counts as lost.
void RoundTrip::send_next() {
    const auto sent = sent_.load(std::memory_order_relaxed);
    if (sent >= static_cast<std::uint64_t>(flags_.messages) || now_ns() >= deadline_ns_) {
        timer_.cancel();
        finished_.store(true, std::memory_order_release);
        return;
    }
    current_ = static_cast<std::uint32_t>(sent);
    stamp(payload_.data(), 0, current_);
    if (!client_.publish(topic_, payload_, flags_.qos, false)) {
        state_.fail(-1000 - client_.last_error().value());
        finished_.store(true, std::memory_order_release);
        return;
    }
    sent_.store(sent + 1, std::memory_order_relaxed);
    timer_.expires_after(std::chrono::seconds(2));
    timer_.async_wait([this, sample = current_](std::error_code error) {
        if (!error && sample == current_ && !is_finished()) send_next();
    });
}

void RoundTrip::on_message(const MessageView& message) {
    arrivals_.record(message.payload, now_ns());
    const auto s = read_stamp(message.payload);
    if (s && s->index == 0 && s->seq == current_ && !is_finished()) send_next();
}

// ---- IdleClient, Connector ------------------------------------------------------------------------------

IdleClient::IdleClient(asio::io_context& io, const Flags& flags, std::uint32_t index, RunState& state)
    : flags_(flags), state_(state), client_(io, make_client_options(flags, client_id("conn", index))) {}

void IdleClient::connect(std::function<void()> settled) {
    client_.on(Event::offline, [this](Client&) {
        if (ready_) ++state_.offline;
    });
    client_.connect(
        flags_.host, flags_.broker_port(), flags_.is_secure(),
        [this, settled](Client&) {
            ready_ = true;
            ++state_.ready;
            settled();
        },
        [this, settled](Client&, int reason) {
            state_.fail(reason);
            settled();
        });
}

void Connector::start() {
    for (long i = 0; i < parallel_; ++i) next();
}

void Connector::next() {
    if (next_ >= clients_.size()) return;
    IdleClient* client = clients_[next_++];
    client->connect([this] { next(); });
}

}  // namespace nmqtt::cli::bench
