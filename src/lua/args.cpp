#include "args.hpp"

#include <algorithm>
#include <cstdlib>

namespace nmqtt::lua {

ArgError type_error(lua_State* L, int arg, std::string_view expected) {
    std::string message(expected);
    message += " expected, got ";
    message += lua_type(L, arg) == LUA_TNONE ? "no value" : luaL_typename(L, arg);
    return {arg, message};
}

std::string_view check_string(lua_State* L, int arg) {
    const int type = lua_type(L, arg);
    if (type != LUA_TSTRING && type != LUA_TNUMBER) throw type_error(L, arg, "string");
    std::size_t size = 0;
    const char* data = lua_tolstring(L, arg, &size);
    return {data, size};
}

std::optional<std::string_view> opt_string(lua_State* L, int arg) {
    if (lua_isnoneornil(L, arg)) return std::nullopt;
    return check_string(L, arg);
}

std::int64_t check_integer(lua_State* L, int arg, std::int64_t min, std::int64_t max, std::string_view what) {
    int is_integer = 0;
    const lua_Integer value = lua_tointegerx(L, arg, &is_integer);
    if (is_integer == 0) {
        if (lua_type(L, arg) == LUA_TNUMBER) throw ArgError(arg, "number has no integer representation");
        throw type_error(L, arg, "number");
    }
    if (value < min || value > max) {
        throw ArgError(arg, std::string(what) + " must be in " + std::to_string(min) + ".." + std::to_string(max) +
                                ", got " + std::to_string(value));
    }
    return value;
}

std::int64_t opt_integer(lua_State* L, int arg, std::int64_t fallback, std::int64_t min, std::int64_t max,
                         std::string_view what) {
    if (lua_isnoneornil(L, arg)) return fallback;
    return check_integer(L, arg, min, max, what);
}

std::optional<bool> to_flag(lua_State* L, int arg) {
    if (lua_type(L, arg) == LUA_TBOOLEAN) return lua_toboolean(L, arg) != 0;
    if (lua_isnumber(L, arg) == 0) return std::nullopt;
    // !!lua_tointeger(), as the firmware reads its 0/1 flags: any non-zero integer is true.
    return lua_tointeger(L, arg) != 0;
}

bool opt_flag(lua_State* L, int arg, bool fallback) {
    if (lua_isnoneornil(L, arg)) return fallback;
    if (const std::optional<bool> flag = to_flag(L, arg)) return *flag;
    throw type_error(L, arg, "number");
}

int opt_qos(lua_State* L, int arg) {
    if (lua_isnoneornil(L, arg)) return 0;
    int is_integer = 0;
    const lua_Integer value = lua_tointegerx(L, arg, &is_integer);
    if (is_integer == 0) throw type_error(L, arg, "number");
    if (value < 0 || value > 2) throw ArgError(arg, "QoS must be 0, 1 or 2, got " + std::to_string(value));
    return static_cast<int>(value);
}

void copy_message(char* out, std::size_t capacity, std::string_view text) noexcept {
    const std::size_t size = std::min(text.size(), capacity - 1);
    text.copy(out, size);
    out[size] = '\0';
}

void raise(lua_State* L, int arg, const char* message) {
    if (arg > 0) luaL_argerror(L, arg, message);
    if (arg == raise_raw) {
        lua_pushstring(L, message);
        lua_error(L);
    }
    luaL_error(L, "%s", message);
    std::abort();  // not reached: both functions above longjmp
}

}  // namespace nmqtt::lua
