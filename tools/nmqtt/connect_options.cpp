#include "connect_options.hpp"

#include <unistd.h>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <random>

#include <CLI/CLI.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include "nmqtt/error.hpp"
#include "nmqtt/protocol/topic.hpp"

namespace nmqtt::cli {

namespace {

// The largest MQTT packet (remaining length 268,435,455 plus a 5-byte fixed header): a command line tool
// receives whatever the broker forwards instead of NodeMCU's 1024-byte limit.
constexpr std::size_t max_packet_size = 268'435'455 + 5;

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        auto c = text[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != prefix[i]) return false;
    }
    return true;
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
    unsigned value = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc{} || ptr != end || value == 0 || value > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

// Splits "user[:password]" into the URL's credentials.
void parse_userinfo(std::string_view userinfo, BrokerUrl& url) {
    const auto colon = userinfo.find(':');
    url.username = std::string(userinfo.substr(0, colon));
    if (colon != std::string_view::npos) url.password = std::string(userinfo.substr(colon + 1));
}

// Parses "[v6-address][:port]" into the host and the port text. Returns an error message or "".
std::string parse_bracketed_host(std::string_view hostport, BrokerUrl& url,
                                 std::optional<std::string_view>& port_text) {
    const auto close = hostport.find(']');
    if (close == std::string_view::npos) return "unterminated '[' in the host";
    url.host = std::string(hostport.substr(1, close - 1));
    const auto rest = hostport.substr(close + 1);
    if (rest.empty()) return {};
    if (rest.front() != ':') return "unexpected characters after ']'";
    port_text = rest.substr(1);
    return {};
}

// Parses "host[:port]" or "[v6-address][:port]". Returns an error message or "".
std::string parse_host_port(std::string_view hostport, BrokerUrl& url) {
    std::optional<std::string_view> port_text;
    if (!hostport.empty() && hostport.front() == '[') {
        if (auto error = parse_bracketed_host(hostport, url, port_text); !error.empty()) return error;
    } else {
        const auto colon = hostport.find(':');
        url.host = std::string(hostport.substr(0, colon));
        if (colon != std::string_view::npos) port_text = hostport.substr(colon + 1);
    }
    if (url.host.empty()) return "missing host";
    if (port_text) {
        url.port = parse_port(*port_text);
        if (!url.port) return fmt::format("bad port '{}' (1..65535)", *port_text);
    }
    return {};
}

std::string random_suffix() {
    std::random_device device;
    return fmt::format("{:08x}", device());
}

}  // namespace

// Removes the scheme of `text` into `url`. False for an unknown scheme.
bool parse_scheme(std::string_view& text, BrokerUrl& url) {
    struct Scheme {
        std::string_view prefix;
        bool secure;
        bool websocket;
    };
    constexpr Scheme schemes[] = {
        {"mqtts://", true, false}, {"mqtt://", false, false}, {"wss://", true, true}, {"ws://", false, true}};
    for (const auto& scheme : schemes) {
        if (!starts_with_ignoring_case(text, scheme.prefix)) continue;
        url.secure = scheme.secure;
        url.websocket = scheme.websocket;
        text.remove_prefix(scheme.prefix.size());
        return true;
    }
    return false;
}

std::optional<BrokerUrl> parse_broker_url(std::string_view text, std::string& error) {
    BrokerUrl url;
    if (!parse_scheme(text, url)) {
        error = "the URL must start with mqtt://, mqtts://, ws:// or wss://";
        return std::nullopt;
    }
    const auto slash = text.find('/');
    if (slash == std::string_view::npos || slash + 1 == text.size()) {
        error = "the URL has no topic (mqtt(s)://[user[:password]@]host[:port]/topic)";
        return std::nullopt;
    }
    url.topic = std::string(text.substr(slash + 1));
    auto authority = text.substr(0, slash);
    if (const auto at = authority.rfind('@'); at != std::string_view::npos) {
        parse_userinfo(authority.substr(0, at), url);
        authority.remove_prefix(at + 1);
    }
    if (auto message = parse_host_port(authority, url); !message.empty()) {
        error = std::move(message);
        return std::nullopt;
    }
    return url;
}

ConnectOptions::ConnectOptions(std::string command) : command_(std::move(command)) {}

void ConnectOptions::add_to(CLI::App& app) {
    host_option_ = app.add_option("-h,--host", host_, "Broker host name or address (default: localhost)");
    port_option_ = app.add_option("-p,--port", port_, "Broker port (default: 1883, 8883 with TLS)")
                       ->check(CLI::Range(1, 65535));
    id_option_ = app.add_option("-i,--id", client_id_, "Client id (default: nmqtt-<command>-<random>)");
    id_prefix_option_ = app.add_option("-I,--id-prefix", id_prefix_, "Client id: this prefix followed by the process id");
    username_option_ = app.add_option("-u,--username", username_, "User name");
    password_option_ = app.add_option("-P,--pw", password_, "Password (needs -u)");
    app.add_option("-k,--keepalive", keepalive_, "Keepalive in seconds, 0 disables it (default: 60)")
        ->check(CLI::Range(0, 65535));
    app.add_flag("-c,--disable-clean-session", persistent_session_,
                 "Keep the session on the broker (clean session = 0); needs -i");
    app.add_option("-L,--url", url_,
                   "Broker and topic as mqtt(s)://[user[:password]@]host[:port]/topic (ws:// wss://: WebSockets)");
    app.add_flag("--ws", websocket_, "MQTT over WebSockets (ws://; wss:// with TLS); default port 80, 443 with TLS");
    ws_path_option_ = app.add_option("--ws-path", ws_path_, "WebSocket request path (default: /mqtt); implies --ws");
    app.add_flag("-d,--debug", debug_, "Print what the client does on stderr");
    app.add_flag("--quiet", quiet_, "Do not print error messages");
    app.add_flag("--nodelay", nodelay_, "Disable Nagle's algorithm (nmqtt always does; accepted for mosquitto habits)");
    app.add_option("--will-topic", will_topic_, "Topic of the last will");
    app.add_option("--will-payload", will_payload_, "Payload of the last will (needs --will-topic)");
    app.add_option("--will-qos", will_qos_, "QoS of the last will (0..2)")->check(CLI::Range(0, 2));
    app.add_flag("--will-retain", will_retain_, "Retain the last will");
    app.add_option("--cafile", cafile_, "PEM file of trusted CAs; turns TLS on");
    app.add_option("--capath", capath_, "Directory of hashed CA certificates; turns TLS on");
    app.add_option("--cert", cert_, "Client certificate (PEM) for mutual TLS; needs --key");
    app.add_option("--key", key_, "Client private key (PEM) for mutual TLS; needs --cert");
    app.add_flag("--tls-use-os-certs", os_certs_, "Turn TLS on with the system's trusted CAs");
    app.add_flag("--insecure", insecure_, "Do not verify the server certificate (chain and name)");
    v5_.add_to(app);
}

std::optional<std::string> ConnectOptions::apply_url(std::string& url_topic) {
    if (host_option_->count() > 0 || port_option_->count() > 0) return "-L cannot be combined with -h or -p";
    std::string error;
    auto url = parse_broker_url(url_, error);
    if (!url) return fmt::format("bad -L URL '{}': {}", url_, error);
    host_ = url->host;
    secure_ = url->secure;
    websocket_ = websocket_ || url->websocket;
    port_ = url->port.value_or(std::uint16_t{0});
    url_topic = url->topic;
    if (url->username && username_option_->count() == 0) username_ = *url->username;
    if (url->password && password_option_->count() == 0) password_ = *url->password;
    return std::nullopt;
}

std::optional<std::string> ConnectOptions::check_will() const {
    if (will_topic_.empty()) {
        if (!will_payload_.empty() || will_qos_ != 0 || will_retain_) return "--will-* flags need --will-topic";
        if (!v5_.will_properties().empty()) return "-D will properties need --will-topic";
        return std::nullopt;
    }
    if (auto ec = protocol::validate_topic_name(will_topic_)) {
        return fmt::format("bad --will-topic '{}': {}", will_topic_, ec.message());
    }
    return std::nullopt;
}

std::optional<std::string> ConnectOptions::check_tls() {
    secure_ = secure_ || !cafile_.empty() || !capath_.empty() || !cert_.empty() || os_certs_;
    if (cert_.empty() != key_.empty()) return "--cert and --key go together";
    if (insecure_ && !secure_) return "--insecure needs TLS (--cafile, --capath, --tls-use-os-certs or mqtts://)";
    return std::nullopt;
}

std::optional<std::string> ConnectOptions::check_session() {
    if (id_prefix_option_->count() > 0) {
        if (id_option_->count() > 0) return "-i and -I cannot be used together";
        client_id_ = fmt::format("{}{}", id_prefix_, ::getpid());
    }
    has_password_ = password_option_->count() > 0 || !password_.empty();
    if (has_password_ && username_.empty()) return "-P needs -u (MQTT-3.1.2-22)";
    if (persistent_session_ && client_id_.empty()) return "-c needs a client id (-i)";
    if (auto error = v5_.finish(persistent_session_)) return error;
    if (v5_.has_infinite_expiry() && client_id_.empty()) {
        return "an infinite session expiry interval needs a client id (-i)";
    }
    return std::nullopt;
}

std::optional<std::string> ConnectOptions::finish(std::string& url_topic) {
    url_topic.clear();
    if (!url_.empty()) {
        if (auto error = apply_url(url_topic)) return error;
    }
    if (auto error = check_tls()) return error;
    if (auto error = check_session()) return error;
    if (auto error = check_will()) return error;
    if (auto error = finish_transport()) return error;
    if (client_id_.empty()) client_id_ = fmt::format("nmqtt-{}-{}", command_, random_suffix());
    return std::nullopt;
}

std::optional<std::string> ConnectOptions::finish_transport() {
    websocket_ = websocket_ || ws_path_option_->count() > 0;
    if (websocket_ && (ws_path_.empty() || ws_path_.front() != '/')) return "--ws-path must start with '/'";
    if (port_ == 0 && websocket_) port_ = secure_ ? 443 : 80;
    if (port_ == 0) port_ = secure_ ? 8883 : 1883;
    return std::nullopt;
}

ClientOptions ConnectOptions::client_options() const {
    ClientOptions options;
    options.client_id = client_id_;
    options.keepalive_seconds = keepalive_;
    if (!username_.empty()) options.username = username_;
    if (has_password_) options.password = password_;
    options.clean_session = !persistent_session_;
    options.max_message_length = max_packet_size;
    options.tls.verify_peer = !insecure_;
    options.tls.ca_file = cafile_;
    options.tls.ca_path = capath_;
    options.tls.cert_file = cert_;
    options.tls.key_file = key_;
    if (websocket_) {
        options.transport = TransportKind::websocket;
        options.websocket.path = ws_path_;
    }
    v5_.apply(options);
    return options;
}

void ConnectOptions::error(std::string_view message) const {
    if (!quiet_) fmt::print(stderr, "nmqtt {}: {}\n", command_, message);
}

void ConnectOptions::debug(std::string_view message) const {
    if (debug_) fmt::print(stderr, "nmqtt {}: {}\n", command_, message);
}

std::string connection_failure_message(int reason, std::uint8_t reason_code, protocol::PropertiesView properties) {
    auto text = fmt::format("connection failed: {} ({})", reason_name(reason), reason);
    if (reason_code != 0) {
        text += fmt::format(": reason code {}{}", describe_reason(reason_code), describe_reason_string(properties));
    }
    return text;
}

std::string connection_lost_message(const Client& client) {
    if (client.last_error() == Errc::server_disconnected) {
        return fmt::format("connection lost: disconnected by the server: reason code {}{}",
                           describe_reason(client.last_reason_code()),
                           describe_reason_string(client.last_properties()));
    }
    const auto detail = client.last_error_message();
    auto text = fmt::format("connection lost: {}", detail.empty() ? client.last_error().message() : detail);
    if (client.last_reason_code() != 0) text += fmt::format(" (sent DISCONNECT {})", describe_reason(client.last_reason_code()));
    return text;
}

std::string describe_connack(const Client& client) {
    std::string text;
    client.connack_properties().for_each([&](const protocol::Property& p) {
        text += text.empty() ? "" : ", ";
        text += property_name(p.id);
        text += ' ';
        if (p.id == protocol::PropertyId::user_property) {
            text += fmt::format("{}:{}", p.text, p.value);
        } else if (protocol::property_info(static_cast<std::uint8_t>(p.id))->type == protocol::PropertyType::utf8 ||
                   protocol::property_info(static_cast<std::uint8_t>(p.id))->type == protocol::PropertyType::binary) {
            text += p.text;
        } else {
            text += std::to_string(p.number);
        }
    });
    return text;
}

struct CommandRun::Waits {
    explicit Waits(asio::io_context& io) : signals(io, SIGINT, SIGTERM), deadline(io) {}
    asio::signal_set signals;
    asio::steady_timer deadline;
};

CommandRun::CommandRun(const ConnectOptions& options, ClientOptions client_options)
    : options_(options), client_(std::move(client_options)), waits_(std::make_unique<Waits>(client_.context())) {}

CommandRun::~CommandRun() = default;

void CommandRun::set_deadline(std::chrono::milliseconds delay, std::function<void()> on_timeout) {
    waits_->deadline.expires_after(delay);
    waits_->deadline.async_wait([this, on_timeout = std::move(on_timeout)](std::error_code ec) {
        if (!ec && !finished_) on_timeout();
    });
}

int CommandRun::run(std::function<void()> on_connected) {
    client_.on(Event::offline, [this](Client&) {
        if (finished_) return;
        finish(ExitCode::connection_lost, connection_lost_message(client_));
    });
    auto on_connect = [this, on_connected = std::move(on_connected)](Client&) {
        report_connected();
        if (!finished_) on_connected();
    };
    auto on_fail = [this](Client&, int reason) { report_failure(reason); };
    waits_->signals.async_wait([this](std::error_code ec, int signal) {
        if (ec) return;
        options_.debug(fmt::format("signal {}: closing", signal));
        finish(ExitCode::ok);
    });
    options_.debug(fmt::format("connecting to {}:{}{}{}", options_.host(), options_.port(),
                               options_.is_secure() ? " with TLS" : "", options_.is_websocket() ? " over WebSockets" : ""));
    try {
        if (options_.has_will()) set_will();
        client_.connect(options_.host(), options_.port(), options_.is_secure(), std::move(on_connect),
                        std::move(on_fail));
    } catch (const std::system_error& e) {
        finish(ExitCode::usage, e.what());
    }
    client_.run();
    return to_int(exit_code_);
}

void CommandRun::report_connected() {
    options_.debug(options_.v5().is_v5() ? "connected (MQTT 5, CONNACK accepted)" : "connected (CONNACK accepted)");
    if (const auto props = describe_connack(client_); !props.empty()) {
        options_.debug(fmt::format("CONNACK properties: {}", props));
    }
}

void CommandRun::report_failure(int reason) {
    auto message = connection_failure_message(reason, client_.last_reason_code(), client_.last_properties());
    if (const auto detail = client_.last_error_message(); !detail.empty() && client_.last_reason_code() == 0) {
        message += ": " + detail;
    }
    finish(ExitCode::connection_failed, message);
}

void CommandRun::set_will() {
    if (options_.v5().is_v5()) {
        client_.lwt(options_.will_topic(), options_.will_payload(), options_.will_qos(), options_.will_retain(),
                    options_.v5().will_properties());
    } else {
        client_.lwt(options_.will_topic(), options_.will_payload(), options_.will_qos(), options_.will_retain());
    }
}

void CommandRun::finish(ExitCode code, std::string_view message) {
    if (finished_) return;
    finished_ = true;
    exit_code_ = code;
    if (!message.empty()) options_.error(message);
    waits_->signals.cancel();
    waits_->deadline.cancel();
    options_.debug("closing");
    if (options_.v5().is_v5()) {
        if (!client_.close(options_.v5().disconnect_request()) && client_.last_error() == Errc::invalid_argument) {
            options_.error("the -D disconnect properties were refused: closing without them");
            client_.close();
        }
    } else {
        client_.close();
    }
}

}  // namespace nmqtt::cli
