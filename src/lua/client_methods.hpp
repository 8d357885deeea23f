// The Lua face of mqtt.client: mqtt.Client() and the methods of its userdata.
#pragma once

#include "lua_compat.hpp"

namespace nmqtt::lua {

/// Creates the mqtt.client metatable (once per state).
void register_client_type(lua_State* L);

/// mqtt.Client(clientid, keepalive[, username, password, cleansession, max_message_length[, options]]).
int client_new(lua_State* L);

}  // namespace nmqtt::lua
