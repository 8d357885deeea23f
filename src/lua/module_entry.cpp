// Entry points of the loadable module mqtt.so: `require "mqtt"`, `require "mqtt.tmr"` and `require "mqtt.tls"` (found in the same
// file by Lua's all-in-one loader).
#include "lua_api.hpp"

extern "C" {
__attribute__((visibility("default"))) int luaopen_mqtt(lua_State* L);
__attribute__((visibility("default"))) int luaopen_mqtt_tmr(lua_State* L);
__attribute__((visibility("default"))) int luaopen_mqtt_tls(lua_State* L);
}

int luaopen_mqtt(lua_State* L) { return nmqtt::lua::open_mqtt(L); }
int luaopen_mqtt_tmr(lua_State* L) { return nmqtt::lua::open_tmr(L); }
int luaopen_mqtt_tls(lua_State* L) { return nmqtt::lua::open_tls(L); }
