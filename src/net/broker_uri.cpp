// parse_broker_uri(): broker addresses written as URIs (mqtt://, mqtts://, ws://, wss://).
#include <charconv>
#include <system_error>

#include "nmqtt/error.hpp"
#include "nmqtt/options.hpp"

namespace nmqtt {
namespace {

struct Scheme {
    std::string_view name;
    bool secure;
    TransportKind transport;
    std::uint16_t port;
};

constexpr Scheme schemes[] = {
    {"mqtt", false, TransportKind::tcp, 1883},      {"tcp", false, TransportKind::tcp, 1883},
    {"mqtts", true, TransportKind::tcp, 8883},      {"ssl", true, TransportKind::tcp, 8883},
    {"ws", false, TransportKind::websocket, 80},    {"wss", true, TransportKind::websocket, 443},
};

[[noreturn]] void refuse(std::string_view uri, std::string_view why) {
    throw std::system_error(make_error_code(Errc::invalid_argument),
                            "broker URI '" + std::string(uri) + "': " + std::string(why));
}

const Scheme& find_scheme(std::string_view uri, std::string_view& rest) {
    const auto separator = rest.find("://");
    if (separator == std::string_view::npos) return schemes[0];
    const std::string_view name = rest.substr(0, separator);
    rest.remove_prefix(separator + 3);
    for (const auto& scheme : schemes) {
        if (scheme.name == name) return scheme;
    }
    refuse(uri, "unknown scheme '" + std::string(name) + "' (mqtt, mqtts, tcp, ssl, ws or wss)");
}

}  // namespace

namespace {

// Splits "host", "host:port" or "[v6]:port" into the address's host and the port text ("" when none).
std::string_view split_authority(std::string_view uri, std::string_view authority, BrokerAddress& address) {
    if (authority.empty() || authority.front() != '[') {
        const auto colon = authority.rfind(':');
        address.host = std::string(authority.substr(0, colon));
        return colon == std::string_view::npos ? std::string_view{} : authority.substr(colon + 1);
    }
    const auto close = authority.find(']');
    if (close == std::string_view::npos) refuse(uri, "unclosed '[' in the host");
    address.host = std::string(authority.substr(1, close - 1));
    if (close + 1 >= authority.size()) return {};
    if (authority[close + 1] != ':') refuse(uri, "unexpected text after ']'");
    return authority.substr(close + 2);
}

std::uint16_t parse_port(std::string_view uri, std::string_view port_text) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || value == 0 || value > 65535) {
        refuse(uri, "port '" + std::string(port_text) + "' is not a number in 1..65535");
    }
    return static_cast<std::uint16_t>(value);
}

}  // namespace

BrokerAddress parse_broker_uri(std::string_view uri) {
    std::string_view rest = uri;
    const Scheme& scheme = find_scheme(uri, rest);
    BrokerAddress address;
    address.secure = scheme.secure;
    address.transport = scheme.transport;
    address.port = scheme.port;
    const auto slash = rest.find('/');
    const std::string_view authority = rest.substr(0, slash);
    const bool websocket = scheme.transport == TransportKind::websocket;
    if (slash != std::string_view::npos && !websocket && rest.size() > slash + 1) {
        refuse(uri, "a path needs ws:// or wss://");
    }
    if (slash != std::string_view::npos && websocket) address.path = std::string(rest.substr(slash));
    const std::string_view port_text = split_authority(uri, authority, address);
    if (address.host.empty()) refuse(uri, "no host");
    if (!port_text.empty() || authority.ends_with(':')) address.port = parse_port(uri, port_text);
    return address;
}

}  // namespace nmqtt
