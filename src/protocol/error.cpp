// Messages of nmqtt::Errc and the NodeMCU reason names.
#include "nmqtt/error.hpp"

#include <array>
#include <string>

namespace nmqtt {
namespace {

constexpr std::array<const char*, 63> messages = {
    "success",
    "invalid packet type",
    "reserved flag bits set",
    "malformed remaining length",
    "packet truncated",
    "trailing bytes after packet",
    "ill-formed UTF-8 string",
    "invalid topic name",
    "invalid topic filter",
    "packet identifier 0",
    "invalid QoS",
    "invalid SUBACK return code",
    "malformed CONNACK",
    "protocol name or level not MQTT 3.1.1",
    "invalid CONNECT flags",
    "no topic filter",
    "first packet from server was not CONNACK",
    "unexpected packet",
    "SUBACK return code count differs from filter count",
    "session present on a clean session",
    "timed out waiting for CONNACK",
    "timed out sending CONNECT",
    "timed out waiting for PINGRESP",
    "connection refused by broker",
    "connection closed by peer",
    "connection closed by client",
    "invalid argument",
    "empty client id requires clean session",
    "password requires a user name",
    "packet too large",
    "not connected",
    "already connected",
    "outgoing queue full",
    "all packet identifiers in use",
    "buffer too small",
    "memory allocation failed",
    "session not resumed, operation dropped",
    "host not found",
    "server not found (connection refused or unreachable)",
    "TLS handshake or certificate verification failed",
    "variable byte integer longer than 4 bytes",
    "unknown property identifier",
    "property not allowed in this packet",
    "property included more than once",
    "property length runs past its block",
    "property value out of range",
    "reason code not valid for this packet",
    "invalid topic alias",
    "receive maximum exceeded",
    "protocol error",
    "disconnected by server",
    "QoS not supported by server",
    "retain not supported by server",
    "wildcard subscriptions not supported by server",
    "subscription identifiers not supported by server",
    "shared subscriptions not supported by server",
    "authentication failed",
    "refused by server (see the reason code)",
    "the broker acknowledged this QoS 2 message at QoS 1 (PUBACK): delivered at least once, duplicates possible",
    "an authentication exchange is already under way",
    "no response to the request in time",
    "WebSocket handshake refused",
    "WebSocket protocol error",
};

class Category final : public std::error_category {
public:
    const char* name() const noexcept override { return "nmqtt"; }
    std::string message(int value) const override {
        if (value < 0 || static_cast<std::size_t>(value) >= messages.size()) return "unknown nmqtt error";
        return messages[static_cast<std::size_t>(value)];
    }
};

}  // namespace

const std::error_category& error_category() noexcept {
    static const Category category;
    return category;
}

std::string_view reason_name(int code) noexcept {
    switch (code) {
        case -5: return "CONN_FAIL_SERVER_NOT_FOUND";
        case -4: return "CONN_FAIL_NOT_A_CONNACK_MSG";
        case -3: return "CONN_FAIL_DNS";
        case -2: return "CONN_FAIL_TIMEOUT_RECEIVING";
        case -1: return "CONN_FAIL_TIMEOUT_SENDING";
        case 0: return "CONNACK_ACCEPTED";
        case 1: return "CONNACK_REFUSED_PROTOCOL_VER";
        case 2: return "CONNACK_REFUSED_ID_REJECTED";
        case 3: return "CONNACK_REFUSED_SERVER_UNAVAILABLE";
        case 4: return "CONNACK_REFUSED_BAD_USER_OR_PASS";
        case 5: return "CONNACK_REFUSED_NOT_AUTHORIZED";
        default: return "UNKNOWN";
    }
}

static_assert(static_cast<std::size_t>(last_errc) + 1 == messages.size(),
              "one message per Errc value");

}  // namespace nmqtt
