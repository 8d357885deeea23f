#include "client_options.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <functional>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <unistd.h>

#include "args.hpp"
#include "device_options.hpp"
#include "properties.hpp"
#include "runtime.hpp"
#include "nmqtt/protocol/topic.hpp"

namespace nmqtt::lua {
namespace {

constexpr int options_arg = 7;
constexpr std::int64_t max_packet_size = 268'435'455 + 5;  // remaining length limit plus fixed header

std::int64_t option_integer(lua_State* L, std::string_view name, std::int64_t min, std::int64_t max) {
    int is_integer = 0;
    const lua_Integer value = lua_tointegerx(L, -1, &is_integer);
    if (is_integer == 0 || value < min || value > max) {
        throw ArgError(options_arg, "option '" + std::string(name) + "' must be an integer in " +
                                        std::to_string(min) + ".." + std::to_string(max));
    }
    return value;
}

std::string option_string(lua_State* L, std::string_view name) {
    if (lua_type(L, -1) != LUA_TSTRING) {
        throw ArgError(options_arg, "option '" + std::string(name) + "' must be a string");
    }
    std::size_t size = 0;
    const char* data = lua_tolstring(L, -1, &size);
    return {data, size};
}

bool option_boolean(lua_State* L, std::string_view name) {
    if (lua_type(L, -1) != LUA_TBOOLEAN) {
        throw ArgError(options_arg, "option '" + std::string(name) + "' must be a boolean");
    }
    return lua_toboolean(L, -1) != 0;
}

std::chrono::milliseconds option_ms(lua_State* L, std::string_view name) {
    return std::chrono::milliseconds{option_integer(L, name, 0, 86'400'000)};
}

session::CleanResendPolicy option_resend(lua_State* L, std::string_view name) {
    const std::string value = option_string(L, name);
    if (value == "republish") return session::CleanResendPolicy::republish;
    if (value == "fail") return session::CleanResendPolicy::fail;
    throw ArgError(options_arg, "option 'clean_resend' must be \"republish\" or \"fail\"");
}

// --- reliability: reconnect = true | {...}, queue_while_offline, session_store, session_store_sync ---------

[[noreturn]] void throw_option(std::string_view name, std::string_view what) {
    throw ArgError(options_arg, "option '" + std::string(name) + "' " + std::string(what));
}

std::string option_nonempty_string(lua_State* L, std::string_view name) {
    std::string value = option_string(L, name);
    if (value.empty()) throw_option(name, "must not be empty");
    return value;
}

double option_multiplier(lua_State* L, std::string_view name) {
    const double value = lua_tonumber(L, -1);
    if (lua_type(L, -1) != LUA_TNUMBER || !std::isfinite(value) || value < 1.0) {
        throw_option(name, "must be a finite number >= 1");
    }
    return value;
}

// transport = "tcp" (the default) or "ws": MQTT over WebSockets; connect()'s `secure` (or a broker's) makes it wss.
TransportKind option_transport(lua_State* L, std::string_view name) {
    const std::string value = option_string(L, name);
    if (value == "ws") return TransportKind::websocket;
    if (value == "tcp") return TransportKind::tcp;
    if (value == "wss") throw_option(name, "\"wss\" is transport = \"ws\" with connect()'s secure = true");
    throw_option(name, "must be \"tcp\" or \"ws\"");
}

// path = the HTTP request path of WebSocket connections: starts with '/', no spaces or control characters.
std::string option_ws_path(lua_State* L, std::string_view name) {
    std::string value = option_string(L, name);
    const bool printable = std::all_of(value.begin(), value.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u != 0x7F;
    });
    if (!value.starts_with('/') || !printable) throw_option(name, "must start with '/' and hold no spaces or control characters");
    return value;
}

// A header name is an HTTP token; a value holds no CR, LF or NUL (they would end or split the header).
bool is_header_name(std::string_view name) {
    constexpr std::string_view separators = "()<>@,;:\\\"/[]?={} \t";
    return !name.empty() && std::all_of(name.begin(), name.end(), [&](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u > 0x20 && u < 0x7F && separators.find(c) == std::string_view::npos;
    });
}

// `text` for an error message: control characters and bytes above 0x7E as '?' (a NUL would end it).
std::string printable(std::string_view text) {
    std::string out(text);
    std::replace_if(out.begin(), out.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u >= 0x7F;
    }, '?');
    return out;
}

// The headers the client writes itself (include/nmqtt/options.hpp, WebSocketOptions::headers).
bool is_reserved_header(std::string_view name) {
    constexpr std::string_view reserved[] = {"host", "upgrade", "connection", "sec-websocket-key",
                                             "sec-websocket-version", "sec-websocket-protocol"};
    return std::any_of(std::begin(reserved), std::end(reserved), [&](std::string_view r) {
        return r.size() == name.size() && std::equal(r.begin(), r.end(), name.begin(), [](char a, char b) {
                   return a == static_cast<char>(std::tolower(static_cast<unsigned char>(b)));
               });
    });
}

// headers = {["Name"] = "value", ...}: extra headers of the WebSocket Upgrade request, sent sorted by name.
std::vector<std::pair<std::string, std::string>> option_headers(lua_State* L) {
    if (lua_type(L, -1) != LUA_TTABLE) throw_option("headers", "must be a table of header name = string value");
    const int table = lua_absindex(L, -1);
    std::vector<std::pair<std::string, std::string>> headers;
    lua_pushnil(L);
    while (lua_next(L, table) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING) throw_option("headers", "names must be strings");
        std::size_t size = 0;
        const char* data = lua_tolstring(L, -2, &size);
        const std::string key(data, size);  // a NUL inside fails is_header_name, not truncated
        const std::string field = "headers." + printable(key);
        if (!is_header_name(key)) throw_option(field, "is not a valid HTTP header name");
        if (is_reserved_header(key)) throw_option(field, "is written by the client itself");
        std::string value = option_string(L, field);
        if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos) {
            throw_option(field, "must not hold CR, LF or NUL");
        }
        headers.emplace_back(key, std::move(value));
        lua_pop(L, 1);
    }
    std::sort(headers.begin(), headers.end());
    return headers;
}

bool apply_websocket_option(lua_State* L, std::string_view name, ClientOptions& o) {
    if (name == "transport") o.transport = option_transport(L, name);
    else if (name == "path") o.websocket.path = option_ws_path(L, name);
    else if (name == "headers") o.websocket.headers = option_headers(L);
    else return false;
    return true;
}

// {host = "name or address", port = 1..65535 (1883), secure = boolean (false), transport = "tcp" | "ws",
// path = "/..."} on top of the stack.
BrokerAddress option_broker(lua_State* L, std::string_view name) {
    if (lua_type(L, -1) != LUA_TTABLE) throw_option(name, "must be a table {host=, port=, secure=}");
    const int table = lua_absindex(L, -1);
    BrokerAddress broker;
    lua_pushnil(L);
    while (lua_next(L, table) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING) throw ArgError(options_arg, "option names must be strings");
        const std::string key = lua_tostring(L, -2);
        const std::string field = std::string(name) + "." + key;
        if (key == "host") broker.host = option_nonempty_string(L, field);
        else if (key == "port") broker.port = static_cast<std::uint16_t>(option_integer(L, field, 1, 65535));
        else if (key == "secure") broker.secure = option_boolean(L, field);
        else if (key == "transport") broker.transport = option_transport(L, field);
        else if (key == "path") broker.path = option_ws_path(L, field);
        else throw ArgError(options_arg, "unknown option '" + field + "'");
        lua_pop(L, 1);
    }
    if (broker.host.empty()) throw_option(std::string(name) + ".host", "is missing");
    return broker;
}

// A list {{host=, port=, secure=}, ...} on top of the stack: keys 1..n and nothing else.
std::vector<BrokerAddress> option_brokers(lua_State* L, std::string_view name) {
    constexpr std::string_view shape = "must be a list of {host=, port=, secure=} tables";
    if (lua_type(L, -1) != LUA_TTABLE) throw_option(name, shape);
    const int list = lua_absindex(L, -1);
    const auto count = static_cast<lua_Integer>(lua_rawlen(L, list));
    lua_Integer entries = 0;
    lua_pushnil(L);
    while (lua_next(L, list) != 0) {
        ++entries;
        lua_pop(L, 1);
    }
    if (entries != count) throw_option(name, shape);
    std::vector<BrokerAddress> brokers;
    for (lua_Integer i = 1; i <= count; ++i) {
        lua_rawgeti(L, list, i);
        brokers.push_back(option_broker(L, std::string(name) + "[" + std::to_string(i) + "]"));
        lua_pop(L, 1);
    }
    return brokers;
}

// Applies the field of the reconnect table whose value is on top of the stack. False for an unknown name.
bool apply_reconnect_field(lua_State* L, std::string_view key, ReconnectOptions& r) {
    const std::string name = "reconnect." + std::string(key);
    if (key == "initial_delay_ms") r.initial_delay = option_ms(L, name);
    else if (key == "max_delay_ms") r.max_delay = option_ms(L, name);
    else if (key == "multiplier") r.multiplier = option_multiplier(L, name);
    else if (key == "healthy_after_ms") r.healthy_after = option_ms(L, name);
    else if (key == "max_attempts") r.max_attempts = static_cast<std::uint32_t>(option_integer(L, name, 0, UINT32_MAX));
    else if (key == "brokers") r.brokers = option_brokers(L, name);
    else return false;
    return true;
}

// reconnect = true | false | {initial_delay_ms=, max_delay_ms=, multiplier=, healthy_after_ms=, max_attempts=,
// brokers=}: a table turns reconnection on with its fields over the defaults of ReconnectOptions.
ReconnectOptions option_reconnect(lua_State* L) {
    ReconnectOptions r;
    if (lua_type(L, -1) == LUA_TBOOLEAN) {
        r.enabled = lua_toboolean(L, -1) != 0;
        return r;
    }
    if (lua_type(L, -1) != LUA_TTABLE) throw_option("reconnect", "must be a boolean or a table");
    r.enabled = true;
    const int table = lua_absindex(L, -1);
    lua_pushnil(L);
    while (lua_next(L, table) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING) throw ArgError(options_arg, "option names must be strings");
        const std::string key = lua_tostring(L, -2);
        if (!apply_reconnect_field(L, key, r)) throw ArgError(options_arg, "unknown option 'reconnect." + key + "'");
        lua_pop(L, 1);
    }
    if (r.max_delay < r.initial_delay) {
        throw_option("reconnect.max_delay_ms", "(" + std::to_string(r.max_delay.count()) +
                                                   ") must be at least reconnect.initial_delay_ms (" +
                                                   std::to_string(r.initial_delay.count()) + ")");
    }
    return r;
}

SyncPolicy option_sync(lua_State* L, std::string_view name) {
    const std::string value = option_string(L, name);
    if (value == "every_flush") return SyncPolicy::every_flush;
    if (value == "os") return SyncPolicy::os;
    throw_option(name, "must be \"every_flush\" or \"os\"");
}

bool apply_reliability_option(lua_State* L, std::string_view name, ClientOptions& o) {
    if (name == "reconnect") o.reconnect = option_reconnect(L);
    else if (name == "queue_while_offline") o.queue_while_offline = option_boolean(L, name);
    else if (name == "session_store") o.session_store_path = option_nonempty_string(L, name);
    else if (name == "session_store_sync") o.session_store_sync = option_sync(L, name);
    else return false;
    return true;
}

bool apply_tls_option(lua_State* L, std::string_view name, ClientOptions& o) {
    if (name == "verify") o.tls.verify_peer = option_boolean(L, name);
    else if (name == "ca_file") o.tls.ca_file = option_string(L, name);
    else if (name == "ca_path") o.tls.ca_path = option_string(L, name);
    else if (name == "cert_file") o.tls.cert_file = option_string(L, name);
    else if (name == "key_file") o.tls.key_file = option_string(L, name);
    else if (name == "server_name") o.tls.server_name = option_string(L, name);
    else return false;
    return true;
}

// protocol = 4 (MQTT 3.1.1, the default) or 5 (MQTT 5.0).
protocol::ProtocolVersion option_protocol(lua_State* L) {
    const auto level = option_integer(L, "protocol", 4, 5);
    return level == 5 ? protocol::ProtocolVersion::v5 : protocol::ProtocolVersion::v3_1_1;
}

// The MQTT 5.0 session settings (V5Options), keys named after the CONNECT properties they set.
bool apply_v5_option(lua_State* L, std::string_view name, ClientOptions& o) {
    auto& v = o.v5;
    if (name == "session_expiry_interval") v.session_expiry_interval = static_cast<std::uint32_t>(option_integer(L, name, 0, UINT32_MAX));
    else if (name == "receive_maximum") v.receive_maximum = static_cast<std::uint16_t>(option_integer(L, name, 1, 65535));
    else if (name == "maximum_packet_size") v.maximum_packet_size = static_cast<std::uint32_t>(option_integer(L, name, 0, UINT32_MAX));
    else if (name == "topic_alias_maximum") v.topic_alias_maximum = static_cast<std::uint16_t>(option_integer(L, name, 0, 65535));
    else if (name == "outgoing_topic_aliases") v.outgoing_topic_aliases = static_cast<std::uint16_t>(option_integer(L, name, 0, 65535));
    else if (name == "request_response_information") v.request_response_information = option_boolean(L, name);
    else if (name == "request_problem_information") v.request_problem_information = option_boolean(L, name);
    else if (name == "authentication_method") v.authentication_method = option_nonempty_string(L, std::string(name));
    else if (name == "authentication_data") v.authentication_data = option_string(L, name);
    else if (name == "user_properties") v.connect_properties = read_user_properties(L, lua_absindex(L, -1), options_arg);
    else return false;
    return true;
}

// Applies the option whose value is on top of the stack. Returns false for an unknown name.
bool apply_option(lua_State* L, std::string_view name, ClientOptions& o, bool& v5_given) {
    if (name == "connect_timeout") o.connect_write_timeout = option_ms(L, name);
    else if (name == "connack_timeout") o.connack_timeout = option_ms(L, name);
    else if (name == "ping_timeout") o.ping_timeout = option_ms(L, name);
    else if (name == "max_inflight") o.max_inflight = static_cast<std::uint16_t>(option_integer(L, name, 1, 65535));
    else if (name == "max_queued_messages") o.max_queued_messages = static_cast<std::size_t>(option_integer(L, name, 1, INT64_MAX));
    else if (name == "max_buffered_bytes") o.max_buffered_bytes = static_cast<std::size_t>(option_integer(L, name, 1, INT64_MAX));
    else if (name == "clean_resend") o.clean_resend = option_resend(L, name);
    else if (name == "protocol") o.protocol = option_protocol(L);
    else if (apply_v5_option(L, name, o)) v5_given = true;
    else return apply_tls_option(L, name, o) || apply_websocket_option(L, name, o) || apply_reliability_option(L, name, o);
    return true;
}

void parse_extension_options(lua_State* L, ClientOptions& options) {
    if (lua_type(L, options_arg) != LUA_TTABLE) throw type_error(L, options_arg, "table");
    bool v5_given = false;
    lua_pushnil(L);
    while (lua_next(L, options_arg) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING) throw ArgError(options_arg, "option names must be strings");
        const std::string name = lua_tostring(L, -2);
        if (!apply_option(L, name, options, v5_given)) throw ArgError(options_arg, "unknown option '" + name + "'");
        lua_pop(L, 1);
    }
    if (v5_given && options.protocol != protocol::ProtocolVersion::v5) {
        throw ArgError(options_arg, "MQTT 5 options need protocol = 5");
    }
    lua_getfield(L, options_arg, "session_store_sync");
    const bool sync_given = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (sync_given && options.session_store_path.empty()) {
        throw ArgError(options_arg, "option 'session_store_sync' needs option 'session_store'");
    }
}

void check_utf8(std::string_view text, int arg, const char* what) {
    if (protocol::validate_utf8(text)) throw ArgError(arg, std::string(what) + " is not a valid MQTT UTF-8 string");
}

/// The firmware's default client id, "NodeMCU_" and the chip id in hex: node.chipid() under `nmqtt run`; else
/// made of the host id and the process id (as the simulated chip id is by default), so that two scripts on one
/// machine do not take each other's session.
std::string default_client_id(lua_State* L) {
    const DeviceOptions* device = Runtime::of(L).device();
    const unsigned long chip = device != nullptr ? device_chip_id(*device) : process_chip_id();
    char id[24];
    std::snprintf(id, sizeof id, "NodeMCU_%lx", chip);
    return id;
}

}  // namespace

ClientOptions parse_client_options(lua_State* L) {
    // The firmware takes each positional argument only when it has the expected type (lua_isstring /
    // lua_isnumber) and leaves the default otherwise; so do we, without its shift of the later positions.
    ClientOptions options;
    options.client_id = lua_isstring(L, 1) != 0 ? std::string(check_string(L, 1)) : default_client_id(L);
    if (lua_isnumber(L, 2) != 0) {
        options.keepalive_seconds = static_cast<std::uint16_t>(check_integer(L, 2, 0, 65535, "keepalive"));
    }
    if (lua_isstring(L, 3) != 0) options.username = std::string(check_string(L, 3));
    if (lua_isstring(L, 4) != 0) options.password = std::string(check_string(L, 4));
    options.clean_session = lua_isnumber(L, 5) != 0 || lua_type(L, 5) == LUA_TBOOLEAN ? *to_flag(L, 5) : true;
    if (lua_isnumber(L, 6) != 0) {
        // 0 means the default, as in the firmware.
        const std::int64_t length = check_integer(L, 6, 0, max_packet_size, "max_message_length");
        if (length != 0) options.max_message_length = static_cast<std::size_t>(length);
    }
    if (!lua_isnoneornil(L, options_arg)) parse_extension_options(L, options);

    check_utf8(options.client_id, 1, "client id");
    if (options.client_id.empty() && !options.clean_session) {
        throw ArgError(1, "an empty client id needs cleansession 1");
    }
    if (options.username) check_utf8(*options.username, 3, "username");
    if (options.password && !options.username) {
        // [MQTT-3.1.2-22] forbids a password without a user name; the firmware never reads one there either.
        std::fputs("nmqtt: note: mqtt.Client() password without a user name: ignored, as on NodeMCU\n", stderr);
        options.password.reset();
    }
    return options;
}

}  // namespace nmqtt::lua
