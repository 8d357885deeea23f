#include "client_options.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "args.hpp"
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

// Applies the option whose value is on top of the stack. Returns false for an unknown name.
bool apply_option(lua_State* L, std::string_view name, ClientOptions& o) {
    if (name == "connect_timeout") o.connect_write_timeout = option_ms(L, name);
    else if (name == "connack_timeout") o.connack_timeout = option_ms(L, name);
    else if (name == "ping_timeout") o.ping_timeout = option_ms(L, name);
    else if (name == "max_inflight") o.max_inflight = static_cast<std::uint16_t>(option_integer(L, name, 1, 65535));
    else if (name == "max_queued_messages") o.max_queued_messages = static_cast<std::size_t>(option_integer(L, name, 1, INT64_MAX));
    else if (name == "max_buffered_bytes") o.max_buffered_bytes = static_cast<std::size_t>(option_integer(L, name, 1, INT64_MAX));
    else if (name == "clean_resend") o.clean_resend = option_resend(L, name);
    else if (name == "verify") o.tls.verify_peer = option_boolean(L, name);
    else if (name == "ca_file") o.tls.ca_file = option_string(L, name);
    else if (name == "ca_path") o.tls.ca_path = option_string(L, name);
    else if (name == "cert_file") o.tls.cert_file = option_string(L, name);
    else if (name == "key_file") o.tls.key_file = option_string(L, name);
    else if (name == "server_name") o.tls.server_name = option_string(L, name);
    else return false;
    return true;
}

void parse_extension_options(lua_State* L, ClientOptions& options) {
    if (lua_type(L, options_arg) != LUA_TTABLE) throw type_error(L, options_arg, "table");
    lua_pushnil(L);
    while (lua_next(L, options_arg) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING) throw ArgError(options_arg, "option names must be strings");
        const std::string name = lua_tostring(L, -2);
        if (!apply_option(L, name, options)) throw ArgError(options_arg, "unknown option '" + name + "'");
        lua_pop(L, 1);
    }
}

void check_utf8(std::string_view text, int arg, const char* what) {
    if (protocol::validate_utf8(text)) throw ArgError(arg, std::string(what) + " is not a valid MQTT UTF-8 string");
}

}  // namespace

ClientOptions parse_client_options(lua_State* L) {
    ClientOptions options;
    options.client_id = std::string(opt_string(L, 1).value_or(""));
    options.keepalive_seconds = static_cast<std::uint16_t>(opt_integer(L, 2, 60, 0, 65535, "keepalive"));
    if (auto username = opt_string(L, 3)) options.username = std::string(*username);
    if (auto password = opt_string(L, 4)) options.password = std::string(*password);
    options.clean_session = opt_flag(L, 5, true, "cleansession");
    options.max_message_length = static_cast<std::size_t>(opt_integer(L, 6, 1024, 1, max_packet_size, "max_message_length"));
    if (!lua_isnoneornil(L, options_arg)) parse_extension_options(L, options);

    check_utf8(options.client_id, 1, "client id");
    if (options.client_id.empty() && !options.clean_session) {
        throw ArgError(1, "an empty client id needs cleansession 1");
    }
    if (options.username) check_utf8(*options.username, 3, "username");
    if (options.password && !options.username) throw ArgError(4, "a password needs a username");
    return options;
}

}  // namespace nmqtt::lua
