// mqtt.Client(clientid, keepalive[, username, password, cleansession, max_message_length[, options]])
// arguments to nmqtt::ClientOptions.
#pragma once

#include "lua_compat.hpp"

#include "nmqtt/options.hpp"

namespace nmqtt::lua {

/// Reads the constructor arguments at stack positions 1..7. `nil` at any position means its default
/// (NodeMCU stops reading at the first nil). Throws ArgError for anything the reference or MQTT 3.1.1
/// forbids: keepalive outside 0..65535, cleansession other than 0/1/boolean, empty client id with
/// cleansession 0 [MQTT-3.1.3-7], password without username [MQTT-3.1.2-22], client id or user name that
/// is not valid UTF-8, unknown extension options, extension options of the wrong type or out of range
/// (reconnect fields, brokers entries, session_store_sync without session_store).
[[nodiscard]] ClientOptions parse_client_options(lua_State* L);

}  // namespace nmqtt::lua
