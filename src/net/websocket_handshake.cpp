// WebSocket opening handshake, client side: the Upgrade request and the check of the response.
#include "websocket_handshake.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

#include <openssl/evp.h>

namespace nmqtt::net {
namespace {

constexpr std::string_view websocket_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
constexpr std::string_view crlf = "\r\n";

std::string base64(const unsigned char* data, std::size_t size) {
    std::string out(4 * ((size + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
    out.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
    return out;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

/// The value of header `name` in `header` (the lines after the status line), if present.
std::optional<std::string_view> find_header(std::string_view header, std::string_view name) {
    while (!header.empty()) {
        const auto end = header.find(crlf);
        const std::string_view line = header.substr(0, end);
        header = end == std::string_view::npos ? std::string_view{} : header.substr(end + crlf.size());
        const auto colon = line.find(':');
        if (colon != std::string_view::npos && iequals(trim(line.substr(0, colon)), name)) {
            return trim(line.substr(colon + 1));
        }
    }
    return std::nullopt;
}

/// True when the comma-separated `list` holds `token` (case-insensitive).
bool has_token(std::string_view list, std::string_view token) {
    while (!list.empty()) {
        const auto comma = list.find(',');
        if (iequals(trim(list.substr(0, comma)), token)) return true;
        if (comma == std::string_view::npos) break;
        list.remove_prefix(comma + 1);
    }
    return false;
}

HandshakeResult refuse(std::string error) {
    HandshakeResult result;
    result.kind = HandshakeResult::Kind::refused;
    result.error = std::move(error);
    return result;
}

/// Everything after a 101 status line: the upgrade, the accept key, the subprotocol. "" when all is right.
std::string check_upgrade_headers(std::string_view headers, std::string_view key) {
    const auto upgrade = find_header(headers, "Upgrade");
    if (!upgrade || !iequals(*upgrade, "websocket")) return "the response has no 'Upgrade: websocket'";
    const auto connection = find_header(headers, "Connection");
    if (!connection || !has_token(*connection, "Upgrade")) return "the response has no 'Connection: Upgrade'";
    const auto accept = find_header(headers, "Sec-WebSocket-Accept");
    const std::string expected = websocket_accept_for(key);
    if (!accept) return "the response has no Sec-WebSocket-Accept";
    if (*accept != expected) {
        return "Sec-WebSocket-Accept '" + std::string(*accept) + "' does not match the key (expected '" + expected +
               "')";
    }
    const auto protocol = find_header(headers, "Sec-WebSocket-Protocol");
    if (!protocol) return "the server did not select the subprotocol 'mqtt' (no Sec-WebSocket-Protocol)";
    if (*protocol != "mqtt") return "the server selected the subprotocol '" + std::string(*protocol) + "', not 'mqtt'";
    return {};
}

}  // namespace

std::string make_websocket_key(std::uint64_t random_high, std::uint64_t random_low) {
    std::array<unsigned char, 16> bytes{};
    for (std::size_t i = 0; i < 8; ++i) {
        bytes[i] = static_cast<unsigned char>(random_high >> (8 * i));
        bytes[8 + i] = static_cast<unsigned char>(random_low >> (8 * i));
    }
    return base64(bytes.data(), bytes.size());
}

std::string websocket_accept_for(std::string_view key) {
    std::string input(key);
    input += websocket_guid;
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    if (EVP_Digest(input.data(), input.size(), digest.data(), &size, EVP_sha1(), nullptr) != 1) return {};
    return base64(digest.data(), size);
}

std::string websocket_request(std::string_view host, std::uint16_t port, bool secure, std::string_view path,
                              const HeaderList& headers, std::string_view key) {
    std::string host_field(host);
    if (host_field.find(':') != std::string::npos && host_field.front() != '[') host_field = "[" + host_field + "]";
    if (port != (secure ? 443 : 80)) host_field += ":" + std::to_string(port);
    std::string request;
    request.reserve(256);
    request.append("GET ").append(path.empty() ? std::string_view{"/"} : path).append(" HTTP/1.1\r\n");
    request.append("Host: ").append(host_field).append(crlf);
    request.append("Upgrade: websocket\r\nConnection: Upgrade\r\n");
    request.append("Sec-WebSocket-Key: ").append(key).append(crlf);
    request.append("Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n");
    for (const auto& [name, value] : headers) request.append(name).append(": ").append(value).append(crlf);
    request.append(crlf);
    return request;
}

HandshakeResult check_websocket_response(std::string_view received, std::string_view key) {
    constexpr std::string_view blank_line = "\r\n\r\n";
    const auto end = received.find(blank_line);
    if (end == std::string_view::npos || end + blank_line.size() > max_response_header) {
        if (received.size() < max_response_header) return {};
        return refuse("the response header is larger than " + std::to_string(max_response_header) + " bytes");
    }
    const std::string_view header = received.substr(0, end + crlf.size());
    const auto status_end = header.find(crlf);
    const std::string_view status_line = header.substr(0, status_end);
    const bool http = status_line.starts_with("HTTP/1.1 ") || status_line.starts_with("HTTP/1.0 ");
    if (!http || status_line.substr(9, 3) != "101") {
        return refuse("status line '" + std::string(status_line) + "' (expected 101 Switching Protocols)");
    }
    if (auto error = check_upgrade_headers(header.substr(status_end + crlf.size()), key); !error.empty()) {
        return refuse(std::move(error));
    }
    HandshakeResult result;
    result.kind = HandshakeResult::Kind::accepted;
    result.header_size = end + blank_line.size();
    return result;
}

}  // namespace nmqtt::net
