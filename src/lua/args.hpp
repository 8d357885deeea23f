// Argument checking for the Lua bindings: checks throw C++ exceptions, and one wrapper per Lua-callable
// function turns them into Lua errors once no C++ object is left on the stack (lua_error longjmps).
#pragma once

#include "lua_compat.hpp"

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace nmqtt::lua {

/// A bad argument: becomes "bad argument #<arg> to '<function>' (<message>)", as luaL_argerror does.
class ArgError : public std::runtime_error {
public:
    ArgError(int arg, const std::string& message) : std::runtime_error(message), arg_(arg) {}
    [[nodiscard]] int arg() const noexcept { return arg_; }

private:
    int arg_;
};

/// Any other error raised to Lua: the message gets the usual "chunk:line:" prefix (luaL_error).
class LuaError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// An error raised to Lua as is (a callback's message with its traceback, re-raised by mqtt.run()).
class RawLuaError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// "<expected> expected, got <type of arg>", as luaL_typeerror words it.
[[nodiscard]] ArgError type_error(lua_State* L, int arg, std::string_view expected);

/// A string argument (numbers are converted, as luaL_checklstring does). The view lives as long as the
/// value stays on the stack.
[[nodiscard]] std::string_view check_string(lua_State* L, int arg);
/// As check_string, with nil or none giving std::nullopt.
[[nodiscard]] std::optional<std::string_view> opt_string(lua_State* L, int arg);
/// An integer argument in [min, max] (floats with an integral value are accepted); `what` names it in the
/// message ("keepalive must be in 0..65535").
[[nodiscard]] std::int64_t check_integer(lua_State* L, int arg, std::int64_t min, std::int64_t max,
                                         std::string_view what = "value");
/// Any integer, as luaL_checkinteger reads it (numeric strings too): "number expected, got ...".
[[nodiscard]] inline std::int64_t check_lua_integer(lua_State* L, int arg) {
    return check_integer(L, arg, INT64_MIN, INT64_MAX);
}
/// As check_integer, with nil or none giving `fallback`.
[[nodiscard]] std::int64_t opt_integer(lua_State* L, int arg, std::int64_t fallback, std::int64_t min,
                                       std::int64_t max, std::string_view what = "value");
/// A NodeMCU flag as the firmware reads it: a boolean, or a number (numeric strings too) where any non-zero
/// integer is true (`!!lua_tointeger()`); std::nullopt for any other value.
[[nodiscard]] std::optional<bool> to_flag(lua_State* L, int arg);
/// As to_flag, with nil or none giving `fallback`; any other value raises "number expected, got ..." (the
/// firmware's luaL_checkinteger).
[[nodiscard]] bool opt_flag(lua_State* L, int arg, bool fallback);
/// QoS 0..2; nil or none give 0.
[[nodiscard]] int opt_qos(lua_State* L, int arg);

/// How raise() words the error: as a bad argument (arg > 0), with a position prefix, or as is.
inline constexpr int raise_positioned = 0;
inline constexpr int raise_raw = -1;

/// Raises a Lua error. Never returns. Call only with no C++ objects alive in the calling frame: it
/// longjmps.
[[noreturn]] void raise(lua_State* L, int arg, const char* message);

/// Copies `text` into `out` (capacity bytes), truncated and NUL-terminated.
void copy_message(char* out, std::size_t capacity, std::string_view text) noexcept;

/// Wraps a binding so that ArgError / LuaError / std::exception become Lua errors.
template <int (*F)(lua_State*)>
int guarded(lua_State* L) noexcept {
    constexpr std::size_t capacity = 4096;
    char message[capacity];
    int arg = 0;
    try {
        return F(L);
    } catch (const ArgError& e) {
        arg = e.arg();
        copy_message(message, capacity, e.what());
    } catch (const RawLuaError& e) {
        arg = raise_raw;
        copy_message(message, capacity, e.what());
    } catch (const std::exception& e) {
        copy_message(message, capacity, e.what());
    } catch (...) {
        copy_message(message, capacity, "unknown C++ exception");
    }
    raise(L, arg, message);
}

}  // namespace nmqtt::lua
