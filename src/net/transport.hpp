// Transport: the I/O resources of one connection attempt, kept alive by its pending operations.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <asio/steady_timer.hpp>

#include "nmqtt/protocol/websocket.hpp"
#include "nmqtt/types.hpp"
#include "resolver.hpp"
#include "stream.hpp"
#include "websocket_handshake.hpp"

namespace nmqtt::net {

class Connection;

/// The WebSocket layer of one connection attempt (ws:// and wss://): the handshake, then the frames around
/// the session's bytes. Allocated only for WebSocket connections.
struct WebSocketState {
    /// Largest session payload put in one outgoing frame: the frame buffer grows to this once and stays.
    static constexpr std::size_t max_frame_payload = 16 * 1024;
    static constexpr std::size_t max_control_frame = 6 + protocol::websocket::max_control_payload;

    WebSocketState(std::string request_text, std::string request_key)
        : handshake(std::move(request_text)), key(std::move(request_key)) {}

    /// The Upgrade request while it is written, then the response while it is read; released when done.
    std::string handshake;
    std::string key;
    bool upgraded = false;  ///< 101 accepted: frames flow
    protocol::websocket::FrameDecoder decoder;
    std::vector<std::uint8_t> out;  ///< the frame being written (sized to the largest one so far)
    std::size_t out_payload = 0;    ///< session bytes in `out` (0 for a control frame)
    std::array<std::uint8_t, max_control_frame> control{};  ///< a pong waiting to be written
    std::size_t control_size = 0;
    std::uint16_t close_code = protocol::websocket::close_normal;  ///< sent in the close frame at teardown
};

/// Everything one connection attempt owns: resolver, stream, timer (and a read buffer for TLS only). Every pending Asio
/// operation holds a shared_ptr to it, so a TLS stream outlives its composed operations. `owner` is cleared
/// when the Connection lets go of it (teardown or destruction); completions then do nothing.
struct Transport : std::enable_shared_from_this<Transport> {
    /// Plain TCP reads of a quiet connection go to one buffer per thread, shared by all connections (an idle
    /// connection holds none); a TLS stream, and a plain one while it streams, read into a buffer of their
    /// own, allocated at the first such read.
    static constexpr std::size_t read_buffer_size = 64 * 1024;
    static constexpr std::size_t own_read_buffer_size = 16 * 1024;  // one TLS record

    Transport(asio::io_context& io, std::shared_ptr<asio::ssl::context> tls, ResolveFunction resolve,
              std::string host_name, std::uint16_t port_number)
        : resolver(std::make_unique<Resolver>(io, std::move(resolve))),
          stream(tls ? Stream(io, std::move(tls)) : Stream(io)),
          timer(io),
          host(std::move(host_name)),
          port(port_number) {}

    Connection* owner = nullptr;
    std::unique_ptr<Resolver> resolver;  ///< released once the addresses are known (idle clients are many)
    Stream stream;
    asio::steady_timer timer;
    std::string host;
    std::uint16_t port = 0;

    Resolver::Endpoints endpoints;
    std::size_t next_endpoint = 0;
    std::string connect_errors;  ///< "addr: reason; addr: reason" of the addresses tried so far

    bool open = false;     ///< TCP (and TLS) up: the session's bytes flow
    bool reading = false;
    bool writing = false;
    /// Bytes were written since TCP_QUICKACK was last re-armed (or never armed): sending is what can turn
    /// Linux's delayed ACKs back on, so only then does a read re-arm it.
    bool wrote_since_quickack = true;
    std::optional<TimePoint> armed_deadline;
    std::uint64_t timer_sequence = 0;

    /// Plain TCP: reads arrive often enough to keep a read pending (see Connection::note_read()).
    bool streaming = false;
    std::uint8_t quick_reads = 0;  ///< consecutive reads that came soon after the previous one
    TimePoint last_read{};

    std::unique_ptr<WebSocketState> ws;  ///< null: MQTT straight over TCP/TLS

    std::unique_ptr<std::uint8_t[]> own_read_buffer;
    /// Bytes read but not yet handled when a callback threw: handled by a posted continuation, before the
    /// next read (which `reading` holds back meanwhile).
    std::vector<std::uint8_t> unread;
    /// WebSocket only: the received bytes after the frame that `unread` came from, not yet decoded.
    std::vector<std::uint8_t> unread_frames;
};

}  // namespace nmqtt::net
