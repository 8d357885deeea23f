// MQTT 5.0 properties in Lua: a table {content_type = "...", user_properties = {k = "v"}, ...} read into an
// encoded property block, and a block pushed as fields of a table. Names are the standard's, in snake case.
#pragma once

#include "lua_compat.hpp"

#include <functional>
#include <string_view>

#include "nmqtt/protocol/properties.hpp"

namespace nmqtt::lua {

/// Called for a key of a property table that is not a property name; returns true when it used the value
/// on top of the stack (subscription options, a DISCONNECT reason code...), false for an unknown key.
using ExtraKey = std::function<bool(std::string_view key)>;

/// Reads the property table at `arg` for a packet of `context` (integers for the numeric properties,
/// booleans or 0/1 for the flags, strings for the text and binary ones; user_properties = {name = value}
/// or a list {{name, value}, ...} when order or repeated names matter). Throws ArgError(arg) for an
/// unknown key, a wrong type, a value out of range, or a property `context` cannot carry.
[[nodiscard]] protocol::Properties read_properties(lua_State* L, int arg, protocol::PropertyContext context,
                                                   const ExtraKey& extra = {});

/// Reads a user_properties table ({name = value} or {{name, value}, ...}) at `index`; errors name `arg`.
[[nodiscard]] protocol::Properties read_user_properties(lua_State* L, int index, int arg);

/// Sets each property of `properties` as a field of the table on top of the stack: integers, strings,
/// user_properties = {name = value} (a repeated name keeps its last value) and subscription_identifiers =
/// {id, ...}.
void push_properties(lua_State* L, protocol::PropertiesView properties);

/// The Lua name of a property ("content_type").
[[nodiscard]] std::string_view lua_property_name(protocol::PropertyId id) noexcept;

}  // namespace nmqtt::lua
