// Entry points of the Lua bindings for hosts: the `nmqtt run` runner and the loadable module mqtt.so.
#pragma once

#include "lua_compat.hpp"

#include <chrono>
#include <memory>
#include <optional>

#include "runtime.hpp"

namespace nmqtt::lua {

/// lua_CFunction: pushes the `mqtt` module table (mqtt.Client, the CONN_FAIL_* / CONNACK_* constants, and
/// the extensions mqtt.run() / mqtt.poll()).
int open_mqtt(lua_State* L);
/// lua_CFunction: pushes the `tmr` module table (NodeMCU's timer module: timer objects and the static API).
int open_tmr(lua_State* L);
int open_tls(lua_State* L);
/// The device modules of `nmqtt run` (they need the runtime's DeviceOptions, see open_device_modules()).
int open_wifi(lua_State* L);
int open_node(lua_State* L);
int open_file(lua_State* L);
int open_sjson(lua_State* L);
int open_gpio(lua_State* L);
int open_adc(lua_State* L);
/// Loads both as globals `mqtt` and `tmr` and as package.loaded["mqtt"], ["tmr"] and ["mqtt.tmr"].
void open_globals(lua_State* L);
/// `nmqtt run` only: makes L a simulated NodeMCU with `options` and loads wifi, node, file, sjson, gpio, adc as globals (and
/// package.loaded entries). node replaces the global print (its output can be redirected by node.output()).
void open_device_modules(lua_State* L, std::shared_ptr<const DeviceOptions> options);

/// Runs the event loop of L's state until nothing is left to wait for (see Runtime::run()).
LoopOutcome run_event_loop(lua_State* L, std::optional<std::chrono::milliseconds> timeout = std::nullopt);
/// What node.restart()/node.dsleep() asked for, if anything.
std::optional<ResetRequest> reset_request(lua_State* L);
/// From now on SIGINT/SIGTERM make run_event_loop() close every client cleanly and return `interrupted`.
void catch_signals(lua_State* L);

}  // namespace nmqtt::lua
