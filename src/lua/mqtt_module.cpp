// The `mqtt` module table.
#include <chrono>
#include <optional>
#include <utility>

#include "args.hpp"
#include "client_methods.hpp"
#include "lua_api.hpp"
#include "nmqtt/error.hpp"

namespace nmqtt::lua {
namespace {

struct Constant {
    const char* name;
    int value;
};

constexpr Constant constants[] = {
    {"CONN_FAIL_SERVER_NOT_FOUND", static_cast<int>(ConnFail::server_not_found)},
    {"CONN_FAIL_NOT_A_CONNACK_MSG", static_cast<int>(ConnFail::not_a_connack_msg)},
    {"CONN_FAIL_DNS", static_cast<int>(ConnFail::dns)},
    {"CONN_FAIL_TIMEOUT_RECEIVING", static_cast<int>(ConnFail::timeout_receiving)},
    {"CONN_FAIL_TIMEOUT_SENDING", static_cast<int>(ConnFail::timeout_sending)},
    {"CONNACK_ACCEPTED", static_cast<int>(ConnackCode::accepted)},
    {"CONNACK_REFUSED_PROTOCOL_VER", static_cast<int>(ConnackCode::refused_protocol_version)},
    {"CONNACK_REFUSED_ID_REJECTED", static_cast<int>(ConnackCode::refused_identifier_rejected)},
    {"CONNACK_REFUSED_SERVER_UNAVAILABLE", static_cast<int>(ConnackCode::refused_server_unavailable)},
    {"CONNACK_REFUSED_BAD_USER_OR_PASS", static_cast<int>(ConnackCode::refused_bad_user_name_or_password)},
    {"CONNACK_REFUSED_NOT_AUTHORIZED", static_cast<int>(ConnackCode::refused_not_authorized)},
};

// mqtt.run([timeout_ms]) -> true when idle, false when the timeout passed. Re-raises a callback's error.
int mqtt_run(lua_State* L) {
    std::optional<std::chrono::milliseconds> timeout;
    if (!lua_isnoneornil(L, 1)) timeout = std::chrono::milliseconds{check_integer(L, 1, 0, INT32_MAX, "timeout")};
    LoopOutcome outcome = Runtime::of(L).run(L, timeout);
    if (outcome.end == LoopEnd::error) throw RawLuaError(outcome.error);
    lua_pushboolean(L, outcome.end == LoopEnd::idle ? 1 : 0);
    return 1;
}

// mqtt.poll() -> number of handlers run; does not block. Re-raises a callback's error.
int mqtt_poll(lua_State* L) {
    Runtime& runtime = Runtime::of(L);
    const std::size_t ran = runtime.poll(L);
    if (auto error = runtime.take_error()) throw RawLuaError(*error);
    lua_pushinteger(L, static_cast<lua_Integer>(ran));
    return 1;
}

// mqtt.idle() -> true when no client is connected, connecting or closing and no timer is armed.
int mqtt_idle(lua_State* L) {
    lua_pushboolean(L, Runtime::of(L).is_idle() ? 1 : 0);
    return 1;
}

int open_mqtt_impl(lua_State* L) {
    Runtime::of(L);
    register_client_type(L);
    static const luaL_Reg functions[] = {
        {"Client", client_new},
        {"run", guarded<mqtt_run>},
        {"poll", guarded<mqtt_poll>},
        {"idle", guarded<mqtt_idle>},
        {nullptr, nullptr},
    };
    luaL_newlib(L, functions);
    for (const Constant& constant : constants) {
        lua_pushinteger(L, constant.value);
        lua_setfield(L, -2, constant.name);
    }
    lua_pushliteral(L, "nmqtt " NMQTT_VERSION_STRING);
    lua_setfield(L, -2, "_VERSION");
    return 1;
}

}  // namespace

int open_mqtt(lua_State* L) { return guarded<open_mqtt_impl>(L); }

void open_globals(lua_State* L) {
    luaL_requiref(L, "mqtt", open_mqtt, 1);
    luaL_requiref(L, "tmr", open_tmr, 1);
    luaL_requiref(L, "tls", open_tls, 1);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    lua_pushvalue(L, -3);
    lua_setfield(L, -2, "mqtt.tmr");
    lua_pushvalue(L, -2);
    lua_setfield(L, -2, "mqtt.tls");
    lua_pop(L, 4);
}

void open_device_modules(lua_State* L, std::shared_ptr<const DeviceOptions> options) {
    Runtime::of(L).set_device(std::move(options));
    static constexpr std::pair<const char*, lua_CFunction> modules[] = {
        {"wifi", open_wifi}, {"node", open_node}, {"file", open_file}, {"sjson", open_sjson},
        {"gpio", open_gpio}, {"adc", open_adc}};
    for (const auto& [name, open] : modules) {
        luaL_requiref(L, name, open, 1);
        lua_pop(L, 1);
    }
}

LoopOutcome run_event_loop(lua_State* L, std::optional<std::chrono::milliseconds> timeout) {
    return Runtime::of(L).run(L, timeout);
}

std::optional<ResetRequest> reset_request(lua_State* L) { return Runtime::of(L).reset_request(); }

void catch_signals(lua_State* L) { Runtime::of(L).catch_signals(); }

}  // namespace nmqtt::lua
