// The client side of the WebSocket opening handshake (RFC 6455 section 4) for MQTT: the HTTP/1.1 Upgrade
// request and the check of the server's answer. No I/O; SHA-1 and base64 come from OpenSSL.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nmqtt::net {

/// Extra request headers (name, value), sent as given.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// A Sec-WebSocket-Key: 16 random bytes from `random`, base64 (24 characters).
[[nodiscard]] std::string make_websocket_key(std::uint64_t random_high, std::uint64_t random_low);

/// base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), the Sec-WebSocket-Accept a server must
/// answer to `key` (RFC 6455 section 4.2.2).
[[nodiscard]] std::string websocket_accept_for(std::string_view key);

/// The Upgrade request: `GET path HTTP/1.1`, Host (with the port unless it is the scheme's default, 80 or
/// 443; an IPv6 literal in brackets), Upgrade, Connection, Sec-WebSocket-Key, Sec-WebSocket-Version: 13,
/// Sec-WebSocket-Protocol: mqtt, then `headers`.
[[nodiscard]] std::string websocket_request(std::string_view host, std::uint16_t port, bool secure,
                                            std::string_view path, const HeaderList& headers,
                                            std::string_view key);

/// Bound on the server's response header: a larger one is refused.
inline constexpr std::size_t max_response_header = 8 * 1024;

/// What check_websocket_response() found.
struct HandshakeResult {
    enum class Kind : std::uint8_t { need_more, accepted, refused };
    Kind kind = Kind::need_more;
    std::size_t header_size = 0;  ///< accepted: bytes up to and including the blank line (the rest is frames)
    std::string error;            ///< refused: why, with the status line when the status was not 101
};

/// Checks the bytes received so far against the request made with `key`: status 101, Upgrade: websocket,
/// Connection: Upgrade, Sec-WebSocket-Accept matching the key, Sec-WebSocket-Protocol: mqtt (header names
/// and the upgrade tokens case-insensitive). need_more until the blank line ending the header arrived;
/// refused once max_response_header bytes came without one.
[[nodiscard]] HandshakeResult check_websocket_response(std::string_view received, std::string_view key);

}  // namespace nmqtt::net
