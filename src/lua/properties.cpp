#include "properties.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "args.hpp"

namespace nmqtt::lua {
namespace {

using protocol::PropertyId;
using protocol::PropertyType;

constexpr std::array<std::pair<std::string_view, PropertyId>, 26> names{{
    {"payload_format_indicator", PropertyId::payload_format_indicator},
    {"message_expiry_interval", PropertyId::message_expiry_interval},
    {"content_type", PropertyId::content_type},
    {"response_topic", PropertyId::response_topic},
    {"correlation_data", PropertyId::correlation_data},
    {"subscription_identifier", PropertyId::subscription_identifier},
    {"session_expiry_interval", PropertyId::session_expiry_interval},
    {"assigned_client_identifier", PropertyId::assigned_client_identifier},
    {"server_keep_alive", PropertyId::server_keep_alive},
    {"authentication_method", PropertyId::authentication_method},
    {"authentication_data", PropertyId::authentication_data},
    {"request_problem_information", PropertyId::request_problem_information},
    {"will_delay_interval", PropertyId::will_delay_interval},
    {"request_response_information", PropertyId::request_response_information},
    {"response_information", PropertyId::response_information},
    {"server_reference", PropertyId::server_reference},
    {"reason_string", PropertyId::reason_string},
    {"receive_maximum", PropertyId::receive_maximum},
    {"topic_alias_maximum", PropertyId::topic_alias_maximum},
    {"topic_alias", PropertyId::topic_alias},
    {"maximum_qos", PropertyId::maximum_qos},
    {"retain_available", PropertyId::retain_available},
    {"maximum_packet_size", PropertyId::maximum_packet_size},
    {"wildcard_subscription_available", PropertyId::wildcard_subscription_available},
    {"subscription_identifier_available", PropertyId::subscription_identifier_available},
    {"shared_subscription_available", PropertyId::shared_subscription_available},
}};

std::optional<PropertyId> property_by_name(std::string_view name) {
    for (const auto& [text, id] : names) {
        if (text == name) return id;
    }
    return std::nullopt;
}

std::uint32_t type_maximum(PropertyType type) {
    switch (type) {
        case PropertyType::byte: return 0xFF;
        case PropertyType::two_byte: return 0xFFFF;
        case PropertyType::variable_byte: return protocol::max_variable_byte_integer;
        default: return 0xFFFF'FFFFu;
    }
}

std::string_view string_value(lua_State* L, int arg, std::string_view name) {
    if (lua_type(L, -1) != LUA_TSTRING) throw ArgError(arg, "property '" + std::string(name) + "' must be a string");
    std::size_t size = 0;
    const char* data = lua_tolstring(L, -1, &size);
    return {data, size};
}

// An integer (or, for the 0/1 byte properties, a boolean) on top of the stack.
std::uint32_t number_value(lua_State* L, int arg, std::string_view name, PropertyType type) {
    if (type == PropertyType::byte && lua_type(L, -1) == LUA_TBOOLEAN) return lua_toboolean(L, -1) != 0 ? 1 : 0;
    int is_integer = 0;
    const lua_Integer value = lua_tointegerx(L, -1, &is_integer);
    const auto maximum = type_maximum(type);
    if (is_integer == 0 || lua_type(L, -1) != LUA_TNUMBER || value < 0 || value > static_cast<lua_Integer>(maximum)) {
        throw ArgError(arg, "property '" + std::string(name) + "' must be an integer in 0.." + std::to_string(maximum));
    }
    return static_cast<std::uint32_t>(value);
}

void add_property(lua_State* L, int arg, std::string_view name, PropertyId id, protocol::Properties& out) {
    const auto type = protocol::property_info(static_cast<std::uint8_t>(id))->type;
    switch (type) {
        case PropertyType::utf8:
        case PropertyType::binary: out.add_string(id, string_value(L, arg, name)); return;
        case PropertyType::byte: out.add_byte(id, static_cast<std::uint8_t>(number_value(L, arg, name, type))); return;
        case PropertyType::two_byte:
            out.add_two_byte(id, static_cast<std::uint16_t>(number_value(L, arg, name, type)));
            return;
        case PropertyType::four_byte: out.add_four_byte(id, number_value(L, arg, name, type)); return;
        case PropertyType::variable_byte: out.add_variable_byte(id, number_value(L, arg, name, type)); return;
        case PropertyType::utf8_pair: return;
    }
}

// One {name, value} pair of a user_properties list, on top of the stack.
void add_user_pair(lua_State* L, int arg, protocol::Properties& out) {
    constexpr const char* shape = "user_properties must be {name = value, ...} or {{name, value}, ...}";
    if (lua_type(L, -1) != LUA_TTABLE) throw ArgError(arg, shape);
    lua_rawgeti(L, -1, 1);
    lua_rawgeti(L, -2, 2);
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) throw ArgError(arg, shape);
    out.add_user_property(lua_tostring(L, -2), lua_tostring(L, -1));
    lua_pop(L, 2);
}

// user_properties = {name = value} (sorted by name, so that the order on the wire is reproducible) or a list
// of {name, value} pairs (in order), on top of the stack.
void add_user_properties(lua_State* L, int arg, protocol::Properties& out) {
    if (lua_type(L, -1) != LUA_TTABLE) throw ArgError(arg, "user_properties must be a table");
    const int table = lua_absindex(L, -1);
    const auto count = static_cast<lua_Integer>(lua_rawlen(L, table));
    for (lua_Integer i = 1; i <= count; ++i) {
        lua_rawgeti(L, table, i);
        add_user_pair(L, arg, out);
        lua_pop(L, 1);
    }
    std::vector<std::pair<std::string, std::string>> named;
    lua_pushnil(L);
    while (lua_next(L, table) != 0) {
        if (lua_type(L, -2) == LUA_TSTRING) {
            if (lua_type(L, -1) != LUA_TSTRING) throw ArgError(arg, "user_properties values must be strings");
            named.emplace_back(lua_tostring(L, -2), lua_tostring(L, -1));
        } else if (lua_type(L, -2) != LUA_TNUMBER) {
            throw ArgError(arg, "user_properties must be {name = value, ...} or {{name, value}, ...}");
        }
        lua_pop(L, 1);
    }
    std::sort(named.begin(), named.end());
    for (const auto& [name, value] : named) out.add_user_property(name, value);
}

void push_property(lua_State* L, const protocol::Property& p) {
    const auto type = protocol::property_info(static_cast<std::uint8_t>(p.id))->type;
    if (type == PropertyType::utf8 || type == PropertyType::binary) {
        lua_pushlstring(L, p.text.data(), p.text.size());
    } else {
        lua_pushinteger(L, static_cast<lua_Integer>(p.number));
    }
    lua_setfield(L, -2, std::string(lua_property_name(p.id)).c_str());
}

// Appends `number` to the list field `name` of the table on top of the stack (created when absent).
void append_to_list(lua_State* L, const char* name, lua_Integer number) {
    lua_getfield(L, -1, name);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, name);
    }
    lua_pushinteger(L, number);
    lua_rawseti(L, -2, static_cast<lua_Integer>(lua_rawlen(L, -2)) + 1);
    lua_pop(L, 1);
}

}  // namespace

std::string_view lua_property_name(protocol::PropertyId id) noexcept {
    if (id == PropertyId::user_property) return "user_properties";
    for (const auto& [text, known] : names) {
        if (known == id) return text;
    }
    return "unknown";
}

protocol::Properties read_properties(lua_State* L, int arg, protocol::PropertyContext context, const ExtraKey& extra) {
    if (lua_type(L, arg) != LUA_TTABLE) throw type_error(L, arg, "table");
    protocol::Properties out;
    lua_pushnil(L);
    while (lua_next(L, arg) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING) throw ArgError(arg, "property names must be strings");
        const std::string name = lua_tostring(L, -2);
        if (name == "user_properties") {
            add_user_properties(L, arg, out);
        } else if (const auto id = property_by_name(name)) {
            add_property(L, arg, name, *id, out);
        } else if (!extra || !extra(name)) {
            throw ArgError(arg, "unknown property '" + name + "'");
        }
        lua_pop(L, 1);
    }
    if (const auto ec = protocol::validate_properties(out.view().raw(), context)) {
        throw ArgError(arg, "properties not valid here (" + ec.message() + ")");
    }
    return out;
}

protocol::Properties read_user_properties(lua_State* L, int index, int arg) {
    protocol::Properties out;
    lua_pushvalue(L, index);
    add_user_properties(L, arg, out);
    lua_pop(L, 1);
    return out;
}

void push_properties(lua_State* L, protocol::PropertiesView properties) {
    properties.for_each([&](const protocol::Property& p) {
        if (p.id == PropertyId::subscription_identifier) {
            append_to_list(L, "subscription_identifiers", p.number);
        } else if (p.id == PropertyId::user_property) {
            lua_getfield(L, -1, "user_properties");
            if (lua_isnil(L, -1)) {
                lua_pop(L, 1);
                lua_newtable(L);
                lua_pushvalue(L, -1);
                lua_setfield(L, -3, "user_properties");
            }
            lua_pushlstring(L, p.text.data(), p.text.size());
            lua_pushlstring(L, p.value.data(), p.value.size());
            lua_rawset(L, -3);
            lua_pop(L, 1);
        } else {
            push_property(L, p);
        }
    });
}

}  // namespace nmqtt::lua
