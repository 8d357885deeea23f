// Shared pieces of the device modules of `nmqtt run` (wifi, node, file, gpio, adc).
#pragma once

#include "lua_compat.hpp"

#include <filesystem>
#include <optional>
#include <string_view>

#include "device_options.hpp"
#include "runtime.hpp"

namespace nmqtt::lua {

/// The device options of L's runtime; raises "<module>: only available under nmqtt run" without them.
const DeviceOptions& device_options(lua_State* L, const char* module);

/// The path of the SPIFFS file `name` inside options.fs_dir ("/FLASH/" prefix allowed, as the firmware's vfs
/// takes it), or std::nullopt when it would leave the folder (absolute path, "..", a symbolic link on the way,
/// an empty name): then one note goes to stderr, naming `function`.
[[nodiscard]] std::optional<std::filesystem::path> resolve_flash_path(const DeviceOptions& options,
                                                                      std::string_view name, const char* function);

/// The firmware's name check (vfs_basename(name) at most 31 bytes, no NUL byte): "filename invalid".
void check_flash_name(lua_State* L, int arg);

/// Runs the function at the top of the stack (popped) from the event loop, as node.task.post() does; the
/// loop stays alive until it ran.
void post_task(lua_State* L);

}  // namespace nmqtt::lua
