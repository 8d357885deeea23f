// MQTT over WebSockets: the handshake helpers (no sockets), scripted WebSocket peers on loopback for every
// refusal (status, subprotocol, accept key, text and oversized frames) and for ping, close frames and
// close(), then real brokers (aedes through npm ws) for QoS 0/1/2, a 100 KiB payload and reconnect, MQTT.js
// (npm mqtt) as the other client over ws both ways, and aedes over TLS WebSockets (wss://, the test CA).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "client_harness.hpp"
#include "net/websocket_handshake.hpp"
#include "nmqtt/options.hpp"
#include "support/aedes_suite.hpp"
#include "support/broker_fixtures.hpp"
#include "support/bytes.hpp"
#include "support/tls_certs.hpp"

namespace nmqtt::test {
namespace {

// ---- handshake helpers ------------------------------------------------------------------------------------

TEST(WebSocketHandshake, accept_key_matches_the_rfc_example) {
    EXPECT_EQ(net::websocket_accept_for("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocketHandshake, key_is_16_bytes_in_base64) {
    const auto key = net::make_websocket_key(0x0102030405060708ull, 0x090a0b0c0d0e0f10ull);
    EXPECT_EQ(key.size(), 24u);
    EXPECT_EQ(key, "CAcGBQQDAgEQDw4NDAsKCQ==");
}

TEST(WebSocketHandshake, request_has_every_header_and_the_extra_ones) {
    const net::HeaderList extra{{"Authorization", "Bearer abc"}};
    const auto r = net::websocket_request("broker.example", 8080, false, "/mqtt", extra, "KEY");
    EXPECT_EQ(r, "GET /mqtt HTTP/1.1\r\nHost: broker.example:8080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 "Sec-WebSocket-Key: KEY\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n"
                 "Authorization: Bearer abc\r\n\r\n");
    EXPECT_NE(net::websocket_request("h", 443, true, "/ws", {}, "K").find("Host: h\r\n"), std::string::npos);
    EXPECT_NE(net::websocket_request("::1", 80, false, "/", {}, "K").find("Host: [::1]\r\n"), std::string::npos);
}

std::string response_for(std::string_view key, std::string_view protocol = "mqtt") {
    std::string r = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: keep-alive, upgrade\r\n"
                    "Sec-WebSocket-Accept: " + net::websocket_accept_for(key) + "\r\n";
    if (!protocol.empty()) r += "sec-websocket-protocol: " + std::string(protocol) + "\r\n";
    return r + "\r\n";
}

TEST(WebSocketHandshake, response_checks) {
    using Kind = net::HandshakeResult::Kind;
    const std::string ok = response_for("KEY");
    EXPECT_EQ(net::check_websocket_response(ok.substr(0, ok.size() - 1), "KEY").kind, Kind::need_more);
    const auto accepted = net::check_websocket_response(ok + "\x82\x02", "KEY");
    EXPECT_EQ(accepted.kind, Kind::accepted);
    EXPECT_EQ(accepted.header_size, ok.size());
    const auto refused = net::check_websocket_response("HTTP/1.1 403 Forbidden\r\nX: y\r\n\r\n", "KEY");
    EXPECT_EQ(refused.kind, Kind::refused);
    EXPECT_EQ(refused.error, "status line 'HTTP/1.1 403 Forbidden' (expected 101 Switching Protocols)");
    EXPECT_NE(net::check_websocket_response(ok, "OTHER").error.find("does not match the key"), std::string::npos);
    EXPECT_NE(net::check_websocket_response(response_for("KEY", ""), "KEY").error.find("subprotocol 'mqtt'"),
              std::string::npos);
    EXPECT_NE(net::check_websocket_response(response_for("KEY", "mqttv3.1"), "KEY").error.find("'mqttv3.1'"),
              std::string::npos);
    const std::string huge = "HTTP/1.1 101 OK\r\nX: " + std::string(9000, 'a');
    EXPECT_EQ(net::check_websocket_response(huge, "KEY").error, "the response header is larger than 8192 bytes");
}

TEST(BrokerUri, schemes_ports_paths) {
    const auto ws = parse_broker_uri("ws://127.0.0.1:8080/mqtt");
    EXPECT_EQ(ws.host, "127.0.0.1");
    EXPECT_EQ(ws.port, 8080);
    EXPECT_EQ(ws.transport, TransportKind::websocket);
    EXPECT_FALSE(ws.secure);
    EXPECT_EQ(ws.path, "/mqtt");
    const auto wss = parse_broker_uri("wss://[::1]");
    EXPECT_EQ(wss.host, "::1");
    EXPECT_EQ(wss.port, 443);
    EXPECT_TRUE(wss.secure);
    EXPECT_EQ(wss.path, "");
    const auto plain = parse_broker_uri("broker:1884");
    EXPECT_EQ(plain.transport, TransportKind::tcp);
    EXPECT_EQ(plain.port, 1884);
    EXPECT_EQ(parse_broker_uri("mqtts://b").port, 8883);
    EXPECT_THROW((void)parse_broker_uri("http://b"), std::system_error);
    EXPECT_THROW((void)parse_broker_uri("ws://b:0/x"), std::system_error);
    EXPECT_THROW((void)parse_broker_uri("ws://:80/x"), std::system_error);
    EXPECT_THROW((void)parse_broker_uri("mqtt://b/path"), std::system_error);
}

// ---- a scripted WebSocket peer ------------------------------------------------------------------------------

/// One frame a client sent, unmasked.
struct ClientFrame {
    std::uint8_t first = 0;  ///< FIN and opcode
    bool masked = false;
    std::vector<std::uint8_t> payload;
};

/// One accepted connection with blocking reads bounded by a 5 s receive timeout.
class PeerConnection {
public:
    explicit PeerConnection(int fd) : fd_(fd) {
        timeval tv{5, 0};
        (void)::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ~PeerConnection() { ::close(fd_); }
    PeerConnection(const PeerConnection&) = delete;
    PeerConnection& operator=(const PeerConnection&) = delete;

    /// Reads the Upgrade request (up to the blank line); "" on timeout or EOF.
    std::string read_request() {
        std::string request;
        char c = 0;
        while (request.size() < 16384 && ::recv(fd_, &c, 1, 0) == 1) {
            request += c;
            if (request.ends_with("\r\n\r\n")) return request;
        }
        return {};
    }
    static std::string key_of(const std::string& request) {
        const auto at = request.find("Sec-WebSocket-Key: ");
        if (at == std::string::npos) return {};
        const auto begin = at + 19;
        return request.substr(begin, request.find("\r\n", begin) - begin);
    }
    void send(std::string_view bytes) { (void)::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL); }
    void send(const std::vector<std::uint8_t>& bytes) { (void)::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL); }

    /// Reads one client frame; nullopt on EOF or timeout.
    std::optional<ClientFrame> read_frame() {
        std::uint8_t h[2];
        if (!read_exact(h, 2)) return std::nullopt;
        ClientFrame f;
        f.first = h[0];
        f.masked = (h[1] & 0x80) != 0;
        std::uint64_t length = h[1] & 0x7F;
        const std::size_t extended = length == 126 ? 2 : length == 127 ? 8 : 0;
        if (extended != 0) {
            std::uint8_t e[8];
            if (!read_exact(e, extended)) return std::nullopt;
            length = 0;
            for (std::size_t i = 0; i < extended; ++i) length = (length << 8) | e[i];
        }
        std::uint8_t mask[4] = {0, 0, 0, 0};
        if (f.masked && !read_exact(mask, 4)) return std::nullopt;
        f.payload.resize(length);
        if (!read_exact(f.payload.data(), length)) return std::nullopt;
        for (std::size_t i = 0; i < length; ++i) f.payload[i] ^= mask[i % 4];
        return f;
    }
    /// True when the client closes within the receive timeout (bytes before the EOF are dropped).
    bool wait_eof() {
        std::uint8_t b[256];
        for (int i = 0; i < 1000; ++i) {
            const auto n = ::recv(fd_, b, sizeof b, 0);
            if (n == 0) return true;
            if (n < 0) return false;
        }
        return false;
    }

private:
    bool read_exact(std::uint8_t* p, std::size_t n) {
        std::size_t have = 0;
        while (have < n) {
            const auto got = ::recv(fd_, p + have, n - have, 0);
            if (got <= 0) return false;
            have += static_cast<std::size_t>(got);
        }
        return true;
    }
    int fd_;
};

/// Listens on 127.0.0.1 (free port) and runs `script` on the first connection, on its own thread.
class WebSocketPeer {
public:
    explicit WebSocketPeer(std::function<void(PeerConnection&)> script) {
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t size = sizeof addr;
        if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), size) != 0 || ::listen(listener_, 4) != 0 ||
            ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &size) != 0) {
            throw std::runtime_error("WebSocketPeer: cannot listen on 127.0.0.1");
        }
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this, script = std::move(script)] {
            timeval tv{10, 0};
            (void)::setsockopt(listener_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
            const int fd = ::accept(listener_, nullptr, nullptr);
            if (fd < 0) return;
            PeerConnection connection(fd);
            script(connection);
        });
    }
    ~WebSocketPeer() { join(); }
    WebSocketPeer(const WebSocketPeer&) = delete;
    WebSocketPeer& operator=(const WebSocketPeer&) = delete;

    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
    /// Waits for the script to end (every read in it is bounded by 5 s).
    void join() {
        if (thread_.joinable()) thread_.join();
        if (listener_ >= 0) ::close(listener_);
        listener_ = -1;
    }

private:
    int listener_ = -1;
    std::uint16_t port_ = 0;
    std::thread thread_;
};

ClientOptions ws_options(std::string id) {
    auto o = test_options(std::move(id));
    o.transport = TransportKind::websocket;
    return o;
}

const std::vector<std::uint8_t> connack_frame = hex("82 04 20 02 00 00");

/// Accepts the Upgrade, reads the CONNECT frame and answers with a CONNACK frame.
void accept_session(PeerConnection& c, std::string* request = nullptr) {
    const auto r = c.read_request();
    if (request != nullptr) *request = r;
    c.send(response_for(PeerConnection::key_of(r)));
    (void)c.read_frame();  // CONNECT
    c.send(connack_frame);
}

/// Connects `client` to the peer and runs until it connected or failed.
struct Outcome {
    bool connected = false;
    int failure = 0;
};
Outcome connect_to(Client& client, std::uint16_t port) {
    Outcome o;
    bool failed = false;
    client.connect("127.0.0.1", port, false, [&](Client&) { o.connected = true; },
                   [&](Client&, int code) {
                       o.failure = code;
                       failed = true;
                   });
    (void)run_until(client, [&] { return o.connected || failed; });
    client.on(Event::connect, {});
    client.on_connfail({});
    return o;
}

void expect_refused(std::string response, std::string_view in_message) {
    WebSocketPeer peer([&](PeerConnection& c) {
        (void)c.read_request();
        c.send(response);
        (void)c.wait_eof();
    });
    Client client(ws_options("ws-refused"));
    const auto o = connect_to(client, peer.port());
    EXPECT_FALSE(o.connected);
    EXPECT_EQ(o.failure, static_cast<int>(ConnFail::server_not_found));
    EXPECT_EQ(client.last_error(), Errc::websocket_handshake_failed);
    EXPECT_NE(client.last_error_message().find(in_message), std::string::npos) << client.last_error_message();
}

TEST(WebSocketPeer, request_carries_path_headers_key_and_subprotocol) {
    std::string request;
    WebSocketPeer peer([&](PeerConnection& c) {
        accept_session(c, &request);
        (void)c.wait_eof();
    });
    auto options = ws_options("ws-request");
    options.websocket.path = "/custom/path";
    options.websocket.headers = {{"Authorization", "Bearer token"}};
    Client client(options);
    ASSERT_TRUE(connect_to(client, peer.port()).connected) << client.last_error_message();
    EXPECT_TRUE(close_and_wait(client));
    peer.join();
    EXPECT_TRUE(request.starts_with("GET /custom/path HTTP/1.1\r\n")) << request;
    EXPECT_NE(request.find("Host: 127.0.0.1:" + std::to_string(peer.port()) + "\r\n"), std::string::npos);
    EXPECT_NE(request.find("Sec-WebSocket-Protocol: mqtt\r\n"), std::string::npos);
    EXPECT_NE(request.find("Sec-WebSocket-Version: 13\r\n"), std::string::npos);
    EXPECT_NE(request.find("Authorization: Bearer token\r\n"), std::string::npos);
    EXPECT_EQ(PeerConnection::key_of(request).size(), 24u);
}

TEST(WebSocketPeer, non_101_status_fails_with_the_status_line) {
    expect_refused("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", "status line 'HTTP/1.1 404 Not Found'");
}

TEST(WebSocketPeer, missing_subprotocol_fails) {
    WebSocketPeer peer([&](PeerConnection& c) {
        c.send(response_for(PeerConnection::key_of(c.read_request()), ""));
        (void)c.wait_eof();
    });
    Client client(ws_options("ws-noproto"));
    EXPECT_FALSE(connect_to(client, peer.port()).connected);
    EXPECT_EQ(client.last_error(), Errc::websocket_handshake_failed);
    EXPECT_NE(client.last_error_message().find("did not select the subprotocol 'mqtt'"), std::string::npos)
        << client.last_error_message();
}

TEST(WebSocketPeer, wrong_accept_key_fails) {
    expect_refused(response_for("not-the-key"), "does not match the key");
}

TEST(WebSocketPeer, oversized_response_header_fails) {
    expect_refused("HTTP/1.1 101 Switching Protocols\r\nX-Filler: " + std::string(9000, 'x') + "\r\n\r\n",
                   "larger than 8192 bytes");
}

TEST(WebSocketPeer, connack_in_the_same_segment_as_the_101_response) {
    WebSocketPeer peer([&](PeerConnection& c) {
        const auto r = c.read_request();
        std::string both = response_for(PeerConnection::key_of(r));
        both.append(connack_frame.begin(), connack_frame.end());
        c.send(both);  // CONNACK before CONNECT: bytes after the header are frames
        (void)c.wait_eof();
    });
    Client client(ws_options("ws-same-segment"));
    EXPECT_TRUE(connect_to(client, peer.port()).connected) << client.last_error_message();
}

/// Connects, lets `after_connack` run on the peer, and returns the client's end of the connection.
struct Ended {
    std::error_code error;
    std::string message;
    std::optional<ClientFrame> close_frame;
};

Ended run_frames(const std::vector<std::uint8_t>& server_frames) {
    Ended result;
    WebSocketPeer peer([&](PeerConnection& c) {
        accept_session(c);
        c.send(server_frames);
        for (int i = 0; i < 10; ++i) {  // the client's close frame, after anything else it sent
            auto f = c.read_frame();
            if (!f) break;
            if ((f->first & 0x0F) == 0x8) {
                result.close_frame = std::move(f);
                break;
            }
        }
    });
    Client client(ws_options("ws-frames"));
    Recorder recorder;
    recorder.attach(client);
    client.connect("127.0.0.1", peer.port(), false);
    EXPECT_TRUE(run_until(client, [&] { return recorder.ended(); }));
    peer.join();
    result.error = client.last_error();
    result.message = client.last_error_message();
    return result;
}

std::uint16_t close_code(const std::optional<ClientFrame>& f) {
    if (!f || f->payload.size() < 2) return 0;
    return static_cast<std::uint16_t>((f->payload[0] << 8) | f->payload[1]);
}

TEST(WebSocketPeer, text_frame_ends_the_connection_with_close_1003) {
    const auto ended = run_frames(hex("81 02 68 69"));
    EXPECT_EQ(ended.error, Errc::websocket_protocol_error);
    EXPECT_NE(ended.message.find("text frame refused"), std::string::npos) << ended.message;
    ASSERT_TRUE(ended.close_frame.has_value());
    EXPECT_TRUE(ended.close_frame->masked);
    EXPECT_EQ(close_code(ended.close_frame), 1003);
}

TEST(WebSocketPeer, oversized_frame_ends_the_connection_with_close_1009) {
    const auto ended = run_frames(hex("82 7F 00 00 00 00 20 00 00 00"));  // 512 MiB announced
    EXPECT_EQ(ended.error, Errc::websocket_protocol_error);
    EXPECT_NE(ended.message.find("data frame above the size limit"), std::string::npos) << ended.message;
    EXPECT_EQ(close_code(ended.close_frame), 1009);
}

TEST(WebSocketPeer, server_close_frame_ends_the_connection_and_is_echoed) {
    const auto ended = run_frames(hex("88 02 03 E9"));  // 1001 going away
    EXPECT_EQ(ended.error, Errc::connection_closed);
    EXPECT_NE(ended.message.find("WebSocket close frame from the server (status 1001)"), std::string::npos)
        << ended.message;
    EXPECT_EQ(close_code(ended.close_frame), 1001);
}

TEST(WebSocketPeer, server_ping_is_answered_by_a_masked_pong) {
    std::optional<ClientFrame> pong;
    std::atomic<bool> answered{false};
    WebSocketPeer peer([&](PeerConnection& c) {
        accept_session(c);
        c.send(hex("89 04 70 69 6E 67"));  // ping "ping"
        pong = c.read_frame();
        answered = true;
        (void)c.wait_eof();
    });
    Client client(ws_options("ws-ping"));
    ASSERT_TRUE(connect_to(client, peer.port()).connected);
    EXPECT_TRUE(run_until(client, [&] { return answered.load(); }));
    EXPECT_TRUE(close_and_wait(client));
    peer.join();
    ASSERT_TRUE(pong.has_value());
    EXPECT_EQ(pong->first, 0x8A);
    EXPECT_TRUE(pong->masked);
    EXPECT_EQ(std::string(pong->payload.begin(), pong->payload.end()), "ping");
}

TEST(WebSocketPeer, close_sends_disconnect_then_a_close_frame) {
    std::vector<ClientFrame> frames;
    bool eof = false;
    WebSocketPeer peer([&](PeerConnection& c) {
        accept_session(c);
        for (int i = 0; i < 2; ++i) {
            auto f = c.read_frame();
            if (!f) break;
            frames.push_back(*f);
        }
        eof = c.wait_eof();
    });
    Client client(ws_options("ws-close"));
    ASSERT_TRUE(connect_to(client, peer.port()).connected);
    EXPECT_TRUE(close_and_wait(client));
    peer.join();
    ASSERT_EQ(frames.size(), 2u);
    EXPECT_EQ(frames[0].first, 0x82);
    EXPECT_TRUE(bytes_equal(frames[0].payload, hex("E0 00")));  // DISCONNECT
    EXPECT_EQ(frames[1].first, 0x88);
    EXPECT_TRUE(bytes_equal(frames[1].payload, hex("03 E8")));  // close 1000
    EXPECT_TRUE(eof);
}

TEST(WebSocketPeer, mqtt_packets_spanning_frames_and_sharing_one) {
    WebSocketPeer peer([&](PeerConnection& c) {
        const auto r = c.read_request();
        c.send(response_for(PeerConnection::key_of(r)));
        (void)c.read_frame();  // CONNECT
        // CONNACK in one frame with the first bytes of a PUBLISH "a/b" "hi"; its rest in a message of two
        // fragments.
        c.send(hex("82 06 20 02 00 00 30 07"));
        c.send(hex("02 03 00 03 61  80 04 2F 62 68 69"));
        (void)c.wait_eof();
    });
    Client client(ws_options("ws-span"));
    Recorder recorder;
    recorder.attach(client);
    ASSERT_TRUE(connect_to(client, peer.port()).connected);
    EXPECT_TRUE(run_until(client, [&] { return !recorder.messages.empty(); }));
    ASSERT_EQ(recorder.messages.size(), 1u);
    EXPECT_EQ(recorder.messages[0].topic, "a/b");
    EXPECT_EQ(recorder.messages[0].payload, "hi");
    EXPECT_TRUE(close_and_wait(client));
}

// ---- aedes over npm ws ------------------------------------------------------------------------------------

class WebSocketAedes : public AedesSuite<WebSocketAedes> {};

TEST_F(WebSocketAedes, qos_0_1_2_round_trip) {
    auto sub_options = ws_options("ws-sub");
    Client sub(sub_options);
    Client pub(ws_options("ws-pub"));
    Recorder received;
    received.attach(sub);
    ASSERT_TRUE(connect_and_wait(sub, "127.0.0.1", broker().ws_port())) << sub.last_error_message();
    ASSERT_TRUE(connect_and_wait(pub, "127.0.0.1", broker().ws_port())) << pub.last_error_message();
    ASSERT_TRUE(sub.subscribe("ws/rt", 2));
    ASSERT_TRUE(run_until(sub, [&] { return received.subacks == 1; }));
    Recorder sent;
    sent.attach(pub);
    for (int qos = 0; qos <= 2; ++qos) ASSERT_TRUE(pub.publish("ws/rt", "m" + std::to_string(qos), qos));
    ASSERT_TRUE(run_until(sub, [&] {
        (void)pub.context().poll();
        return received.messages.size() == 3 && sent.pubacks == 2;
    }));
    // The QoS flows are independent: aedes may forward the QoS 2 message before the QoS 1 one.
    std::sort(received.messages.begin(), received.messages.end(),
              [](const Message& a, const Message& b) { return a.qos < b.qos; });
    for (int qos = 0; qos <= 2; ++qos) {
        EXPECT_EQ(received.messages[static_cast<std::size_t>(qos)].payload, "m" + std::to_string(qos));
        EXPECT_EQ(received.messages[static_cast<std::size_t>(qos)].qos, qos);
    }
    EXPECT_TRUE(close_and_wait(pub));
    EXPECT_TRUE(close_and_wait(sub));
}

TEST_F(WebSocketAedes, payload_of_100_KiB_spans_frames_both_ways) {
    auto options = ws_options("ws-large");
    options.max_message_length = 256 * 1024;
    Client client(options);
    Recorder received;
    received.attach(client);
    ASSERT_TRUE(connect_and_wait(client, "127.0.0.1", broker().ws_port())) << client.last_error_message();
    ASSERT_TRUE(client.subscribe("ws/large", 1));
    ASSERT_TRUE(run_until(client, [&] { return received.subacks == 1; }));
    std::string payload(100 * 1024, '\0');
    for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 7 + 3);
    ASSERT_TRUE(client.publish("ws/large", payload, 1));
    ASSERT_TRUE(run_until(client, [&] { return !received.messages.empty() && received.pubacks == 1; }));
    EXPECT_EQ(received.messages[0].payload, payload);
    EXPECT_TRUE(close_and_wait(client));
}

TEST_F(WebSocketAedes, reconnects_after_the_broker_restarts) {
    auto options = ws_options("ws-reconnect");
    options.reconnect.enabled = true;
    options.reconnect.initial_delay = 100ms;
    options.reconnect.max_delay = 500ms;
    Client client(options);
    Recorder recorder;
    recorder.attach(client);
    ASSERT_TRUE(connect_and_wait(client, "127.0.0.1", broker().ws_port())) << client.last_error_message();
    broker().restart();
    // connect_and_wait() took the "connect" callback back: count the new connection by its state.
    ASSERT_TRUE(run_until(client, [&] { return recorder.offlines >= 1 && client.is_connected(); }, 15s))
        << client.last_error_message();
    ASSERT_TRUE(client.subscribe("ws/again", 0));
    ASSERT_TRUE(client.publish("ws/again", "back", 0));
    EXPECT_TRUE(run_until(client, [&] { return !recorder.messages.empty(); }));
    EXPECT_TRUE(close_and_wait(client));
}

TEST_F(WebSocketAedes, broker_list_mixes_a_dead_tcp_address_and_a_ws_uri) {
    auto options = test_options("ws-list");  // plain TCP by default
    options.reconnect.enabled = true;
    options.reconnect.initial_delay = 50ms;
    options.reconnect.brokers = {parse_broker_uri("ws://127.0.0.1:" + std::to_string(broker().ws_port()) + "/mqtt")};
    Client client(options);
    Recorder recorder;
    recorder.attach(client);
    WebSocketPeer closed([](PeerConnection&) {});  // accepts one connection and closes it at once
    client.connect("127.0.0.1", closed.port(), false);
    ASSERT_TRUE(run_until(client, [&] { return recorder.connects == 1; }, 10s)) << client.last_error_message();
    EXPECT_FALSE(recorder.connfails.empty());
    EXPECT_TRUE(close_and_wait(client));
}

// ---- MQTT.js (npm mqtt) over ws to aedes, nmqtt on the other side -----------------------------------------

std::string lower_hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const char c : bytes) {
        const auto u = static_cast<unsigned char>(c);
        out += digits[u >> 4];
        out += digits[u & 0xF];
    }
    return out;
}

// Three payloads: text, every byte value, and one of 20 000 bytes (several WebSocket frames' worth).
std::vector<std::string> interop_payloads() {
    std::string every(256, '\0');
    for (std::size_t i = 0; i < every.size(); ++i) every[i] = static_cast<char>(i);
    std::string large(20'000, '\0');
    for (std::size_t i = 0; i < large.size(); ++i) large[i] = static_cast<char>(i * 31 + 7);
    return {"hello from the other client", every, large};
}

/// `node mqttjs_client.mjs <modules> ws://127.0.0.1:<port>/mqtt <args...>`.
Process mqttjs(std::uint16_t ws_port, std::vector<std::string> args) {
    std::vector<std::string> argv{"node", node_script("mqttjs_client.mjs").string(), require_npm_packages().string(),
                                  "ws://127.0.0.1:" + std::to_string(ws_port) + "/mqtt"};
    argv.insert(argv.end(), args.begin(), args.end());
    return Process(argv);
}

TEST_F(WebSocketAedes, mqttjs_subscriber_receives_what_nmqtt_published_over_ws) {
    const auto payloads = interop_payloads();
    Process sub = mqttjs(broker().ws_port(), {"sub", "mqttjs-sub", "interop/js-sub", "1", "3"});
    ASSERT_TRUE(sub.wait_for_stdout("subscribed 1\n", 15s)) << sub.stdout_text() << sub.stderr_text();
    Client pub(ws_options("nmqtt-pub-to-js"));
    Recorder recorder;
    recorder.attach(pub);
    ASSERT_TRUE(connect_and_wait(pub, "127.0.0.1", broker().ws_port())) << pub.last_error_message();
    for (const auto& p : payloads) ASSERT_TRUE(pub.publish("interop/js-sub", p, 1));
    ASSERT_TRUE(run_until(pub, [&] { return recorder.pubacks == 3; }));
    EXPECT_TRUE(close_and_wait(pub));
    const auto status = sub.wait_or_kill(15s);
    EXPECT_EQ(status.exit_code, 0) << sub.stderr_text();
    std::string expected = "subscribed 1\n";
    for (const auto& p : payloads) expected += "message interop/js-sub 1 " + lower_hex(p) + "\n";
    EXPECT_EQ(sub.stdout_text(), expected);
}

TEST_F(WebSocketAedes, nmqtt_subscriber_receives_what_mqttjs_published_over_ws) {
    const auto payloads = interop_payloads();
    auto options = ws_options("nmqtt-sub-from-js");
    options.max_message_length = 64 * 1024;  // above NodeMCU's 1024 bytes: the large payload comes in whole
    Client sub(options);
    Recorder recorder;
    recorder.attach(sub);
    ASSERT_TRUE(connect_and_wait(sub, "127.0.0.1", broker().ws_port())) << sub.last_error_message();
    ASSERT_TRUE(sub.subscribe("interop/js-pub", 1));
    ASSERT_TRUE(run_until(sub, [&] { return recorder.subacks == 1; }));
    std::vector<std::string> args{"pub", "mqttjs-pub", "interop/js-pub", "1"};
    for (const auto& p : payloads) args.push_back(lower_hex(p));
    Process pub = mqttjs(broker().ws_port(), args);
    ASSERT_TRUE(run_until(sub, [&] { return recorder.messages.size() == 3; }, 15s))
        << pub.stderr_text() << sub.last_error_message();
    EXPECT_EQ(pub.wait_or_kill(15s).exit_code, 0) << pub.stderr_text();
    EXPECT_EQ(pub.stdout_text(), "published 3\n");
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        EXPECT_EQ(recorder.messages[i].topic, "interop/js-pub");
        EXPECT_EQ(recorder.messages[i].qos, 1);
        EXPECT_EQ(lower_hex(recorder.messages[i].payload), lower_hex(payloads[i])) << "message " << i;
    }
    EXPECT_TRUE(close_and_wait(sub));
}

// ---- aedes over TLS WebSockets (node:https + npm ws) -------------------------------------------------------

class WebSocketAedesTls : public AedesSuite<WebSocketAedesTls> {
public:
    static AedesOptions broker_options() { return aedes_wss_options(); }
};

ClientOptions wss_options(std::string id, const std::filesystem::path& ca) {
    auto o = ws_options(std::move(id));
    o.tls.ca_file = ca.string();
    return o;
}

TEST_F(WebSocketAedesTls, wss_connection_verified_by_the_test_ca_round_trips_qos_1) {
    Client client(wss_options("wss-rt", tls_certs().ca_cert));
    Recorder recorder;
    recorder.attach(client);
    // The server certificate names localhost and IP:127.0.0.1: both verify.
    ASSERT_TRUE(connect_and_wait(client, "localhost", broker().wss_port(), true)) << client.last_error_message();
    ASSERT_TRUE(client.subscribe("wss/rt", 1));
    ASSERT_TRUE(run_until(client, [&] { return recorder.subacks == 1; }));
    ASSERT_TRUE(client.publish("wss/rt", std::string("tls \0 ws", 8), 1));
    ASSERT_TRUE(run_until(client, [&] { return !recorder.messages.empty() && recorder.pubacks == 1; }));
    EXPECT_EQ(recorder.messages[0].payload, std::string("tls \0 ws", 8));
    EXPECT_EQ(recorder.messages[0].qos, 1);
    EXPECT_TRUE(close_and_wait(client));
    EXPECT_TRUE(broker().wait_for_log("publish wss-rt wss/rt q1")) << broker().log();
}

TEST_F(WebSocketAedesTls, wss_uri_in_the_broker_list_connects) {
    auto options = wss_options("wss-list", tls_certs().ca_cert);
    options.transport = TransportKind::tcp;  // the URI alone selects WebSockets over TLS
    options.reconnect.enabled = true;
    options.reconnect.initial_delay = 20ms;
    options.reconnect.brokers = {parse_broker_uri("wss://127.0.0.1:" + std::to_string(broker().wss_port()) + "/mqtt")};
    Client client(options);
    Recorder recorder;
    recorder.attach(client);
    client.connect("127.0.0.1", closed_loopback_port(), false);
    ASSERT_TRUE(run_until(client, [&] { return recorder.connects == 1; }, 10s)) << client.last_error_message();
    EXPECT_FALSE(recorder.connfails.empty());
    EXPECT_TRUE(close_and_wait(client));
    EXPECT_TRUE(broker().wait_for_log("client connected wss-list")) << broker().log();
}

TEST_F(WebSocketAedesTls, untrusted_certificate_fails_before_the_upgrade_with_the_reason) {
    Client client(wss_options("wss-untrusted", tls_certs().other_ca_cert));
    Recorder recorder;
    recorder.attach(client);
    client.connect("localhost", broker().wss_port(), true);
    ASSERT_TRUE(run_until(client, [&] { return recorder.connects > 0 || !recorder.connfails.empty(); }));
    EXPECT_EQ(recorder.connects, 0);
    ASSERT_EQ(recorder.connfails.size(), 1u);
    EXPECT_EQ(recorder.connfails[0], static_cast<int>(ConnFail::server_not_found));
    EXPECT_EQ(client.last_error(), Errc::tls_handshake_failed);
    const auto message = client.last_error_message();
    EXPECT_NE(message.find("certificate verify failed"), std::string::npos) << message;
    EXPECT_FALSE(broker().wait_for_log("client connected wss-untrusted", 300ms)) << broker().log();
}

TEST_F(WebSocketAedesTls, plain_ws_to_the_tls_port_is_refused) {
    Client client(ws_options("ws-to-wss"));
    Recorder recorder;
    recorder.attach(client);
    client.connect("127.0.0.1", broker().wss_port(), false);
    ASSERT_TRUE(run_until(client, [&] { return recorder.connects > 0 || !recorder.connfails.empty(); }));
    EXPECT_EQ(recorder.connects, 0);
    EXPECT_FALSE(recorder.connfails.empty());
    EXPECT_EQ(client.last_error(), Errc::websocket_handshake_failed) << client.last_error_message();
    EXPECT_NE(client.last_error_message().find("(before the response)"), std::string::npos) << client.last_error_message();
}

}  // namespace
}  // namespace nmqtt::test
