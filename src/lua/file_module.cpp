// The `file` module of `nmqtt run`: NodeMCU's SPIFFS API on a real folder (the script's folder, or --fs DIR).
// Names are paths inside that folder; a name that would leave it (absolute, "..", a symbolic link on the way) is
// refused with the value the firmware returns for a file that cannot be opened, and a note on stderr. Both the
// object model (file.open() returns an object) and the basic model (module functions on the last opened file)
// work. Argument parsing follows nodemcu-firmware app/modules/file.c.
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string>
#include <system_error>

#include "args.hpp"
#include "device_support.hpp"
#include "lua_api.hpp"

namespace nmqtt::lua {
namespace {

namespace fs = std::filesystem;

constexpr const char* file_type = "file.obj";
const char default_file_key = 0;  // registry: the object of the last file.open() (the basic model's file)
constexpr std::size_t max_name = 31;  // FS_OBJ_NAME_LEN
constexpr std::size_t read_chunk = 1024;  // FILE_READ_CHUNK
constexpr int max_list_depth = 8;
constexpr std::size_t max_list_entries = 10'000;
constexpr int no_end_char = -1;

struct FileHandle {
    std::FILE* file = nullptr;
};

void note(const char* function, std::string_view name, const char* why) {
    std::fprintf(stderr, "nmqtt: note: %s('%.*s'): %s: refused\n", function, static_cast<int>(name.size()),
                 name.data(), why);
}

bool is_link(const fs::path& path) {
    struct stat info {};
    return ::lstat(path.c_str(), &info) == 0 && S_ISLNK(info.st_mode);
}

const char* mode_for(std::string_view mode) {
    static constexpr std::pair<std::string_view, const char*> modes[] = {
        {"r", "rb"}, {"w", "wb"}, {"a", "ab"}, {"r+", "r+b"}, {"w+", "w+b"}, {"a+", "a+b"},
        {"rb", "rb"}, {"wb", "wb"}, {"ab", "ab"}, {"r+b", "r+b"}, {"w+b", "w+b"}, {"a+b", "a+b"}};
    for (const auto& [name, mode_string] : modes) {
        if (name == mode) return mode_string;
    }
    return nullptr;
}

FileHandle* check_object(lua_State* L, int arg) {
    return static_cast<FileHandle*>(luaL_checkudata(L, arg, file_type));
}

/// The file a function works on: the object at 1 (then its arguments start at 2) or the basic model's file.
/// Raises "open a file first" when there is none (a failed open leaves none, as in the firmware).
std::FILE* target_file(lua_State* L, int& argpos) {
    if (lua_type(L, 1) == LUA_TUSERDATA) {
        argpos = 2;
        FileHandle* handle = check_object(L, 1);
        if (handle->file == nullptr) throw LuaError("open a file first");
        return handle->file;
    }
    argpos = 1;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &default_file_key);
    auto* handle = static_cast<FileHandle*>(luaL_testudata(L, -1, file_type));
    lua_pop(L, 1);
    if (handle == nullptr) throw LuaError("open a file first");
    return handle->file;  // nullptr once closed: the firmware's stale descriptor, every operation fails
}

void close_handle(FileHandle* handle) {
    if (handle->file != nullptr) std::fclose(handle->file);
    handle->file = nullptr;
}

int file_gc(lua_State* L) {
    close_handle(check_object(L, 1));
    return 0;
}

int file_tostring(lua_State* L) {
    lua_pushfstring(L, "file.obj: %p", lua_topointer(L, 1));
    return 1;
}

// Pushes what the firmware's file_g_read returns: up to n bytes, ending after end_char; nil at the end.
int read_into(lua_State* L, std::FILE* file, std::uint64_t n, int end_char) {
    if (file == nullptr) {
        lua_pushnil(L);
        return 1;
    }
    luaL_Buffer buffer;
    luaL_buffinit(L, &buffer);
    std::uint64_t count = 0;
    while (count < n) {
        const int c = std::fgetc(file);
        if (c == EOF) break;
        luaL_addchar(&buffer, static_cast<char>(c));
        ++count;
        if (c == end_char) break;
    }
    if (count == 0) {
        luaL_pushresult(&buffer);
        lua_pop(L, 1);
        lua_pushnil(L);
        return 1;
    }
    luaL_pushresult(&buffer);
    return 1;
}

// Pushes a file object for the name at `name_arg` opened with `mode_name` (made the basic model's file), or nil.
int push_opened(lua_State* L, int name_arg, std::string_view mode_name) {
    const DeviceOptions& options = device_options(L, "file");
    lua_pushnil(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &default_file_key);
    check_flash_name(L, name_arg);
    const char* mode = mode_for(mode_name);
    std::FILE* file = nullptr;
    if (const auto path = resolve_flash_path(options, check_string(L, name_arg), "file.open"); path && mode) {
        if (mode[0] != 'r') {
            std::error_code ignored;
            fs::create_directories(path->parent_path(), ignored);
        }
        file = std::fopen(path->c_str(), mode);
    }
    if (file == nullptr) {
        lua_pushnil(L);
        return 1;
    }
    auto* handle = static_cast<FileHandle*>(lua_newuserdata(L, sizeof(FileHandle)));
    handle->file = file;
    luaL_setmetatable(L, file_type);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &default_file_key);
    return 1;
}

// file.open(name[, mode]) -> object or nil
int file_open(lua_State* L) {
    static_cast<void>(check_string(L, 1));
    return push_opened(L, 1, opt_string(L, 2).value_or("r"));
}

// file.close() / obj:close(): closes the object (or the basic model's file). The basic model's file stays the
// closed one, as the firmware's stale descriptor does: module functions then fail (nil) instead of raising.
int file_close(lua_State* L) {
    if (lua_type(L, 1) == LUA_TUSERDATA) {
        close_handle(check_object(L, 1));
    } else {
        lua_rawgetp(L, LUA_REGISTRYINDEX, &default_file_key);
        auto* handle = static_cast<FileHandle*>(luaL_testudata(L, -1, file_type));
        if (handle == nullptr) return 0;
        close_handle(handle);
    }
    return 0;
}

// read([n_or_char]): n bytes, or up to and including the character, or 1024 bytes; nil at the end
int file_read(lua_State* L) {
    int argpos = 1;
    std::FILE* file = target_file(L, argpos);
    std::uint64_t n = read_chunk;
    int end_char = no_end_char;
    if (lua_type(L, argpos) == LUA_TNUMBER) {
        n = static_cast<std::uint32_t>(check_lua_integer(L, argpos));  // unsigned, as the firmware casts it
    } else if (lua_isstring(L, argpos) != 0) {
        const std::string_view end = check_string(L, argpos);
        if (end.size() != 1) throw LuaError("wrong arg range");
        end_char = static_cast<unsigned char>(end[0]);
    }
    n = std::min<std::uint64_t>(n, device_options(L, "file").fs_size);
    return read_into(L, file, n, end_char);
}

int file_readline(lua_State* L) {
    int argpos = 1;
    std::FILE* file = target_file(L, argpos);
    return read_into(L, file, read_chunk, '\n');
}

// Calls visit(name, size) for each regular file under the folder (names relative, '/' separated), without
// following symbolic links, at most max_list_depth deep and max_list_entries files.
template <class Visit>
void walk(const fs::path& root, Visit&& visit) {
    std::error_code error;
    fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, error);
    std::size_t seen = 0;
    for (; !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
        if (it.depth() >= max_list_depth) it.disable_recursion_pending();
        const auto status = it->symlink_status(error);
        if (error || !fs::is_regular_file(status)) continue;
        if (++seen > max_list_entries) break;
        visit(it->path().lexically_relative(root).generic_string(), it->file_size(error));
    }
}

std::uint64_t used_bytes(const fs::path& root) {
    std::uint64_t used = 0;
    walk(root, [&used](const std::string&, std::uintmax_t size) { used += size; });
    return used;
}

// True when writing `bytes` at the file's position keeps the folder within --fs-size (SPIFFS is full
// otherwise: the write returns nil, with one note on stderr). Overwriting inside the file does not grow it.
bool fits(lua_State* L, std::FILE* file, std::size_t bytes) {
    const DeviceOptions& options = device_options(L, "file");
    struct stat st {};
    if (std::fflush(file) != 0 || ::fstat(::fileno(file), &st) != 0) return false;
    const long position = std::ftell(file);
    const auto end = static_cast<std::uint64_t>(position < 0 ? st.st_size : position) + bytes;
    const std::uint64_t growth = end > static_cast<std::uint64_t>(st.st_size) ? bytes : 0;
    if (growth == 0 || used_bytes(options.fs_dir) + growth <= options.fs_size) return true;
    if (Runtime::of(L).first_time("file system full")) {
        std::fprintf(stderr, "nmqtt: note: file: the file system is full (--fs-size %llu bytes): write refused\n",
                     static_cast<unsigned long long>(options.fs_size));
    }
    return false;
}

int write_text(lua_State* L, bool newline) {
    int argpos = 1;
    std::FILE* file = target_file(L, argpos);
    const std::string_view text = check_string(L, argpos);
    bool ok = file != nullptr && fits(L, file, text.size() + (newline ? 1 : 0)) &&
              std::fwrite(text.data(), 1, text.size(), file) == text.size();
    if (ok && newline) ok = std::fputc('\n', file) != EOF;
    if (ok) {
        lua_pushboolean(L, 1);
    } else {
        lua_pushnil(L);
    }
    return 1;
}

int file_write(lua_State* L) { return write_text(L, false); }
int file_writeline(lua_State* L) { return write_text(L, true); }

// seek([whence[, offset]]) -> new position, or nil
int file_seek(lua_State* L) {
    int argpos = 1;
    std::FILE* file = target_file(L, argpos);
    static const char* const names[] = {"set", "cur", "end", nullptr};
    static constexpr int whences[] = {SEEK_SET, SEEK_CUR, SEEK_END};
    const int whence = whences[luaL_checkoption(L, argpos, "cur", names)];
    const lua_Integer offset = lua_isnoneornil(L, argpos + 1) ? 0 : check_lua_integer(L, argpos + 1);
    if (file == nullptr || std::fseek(file, static_cast<long>(offset), whence) != 0) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushinteger(L, static_cast<lua_Integer>(std::ftell(file)));
    return 1;
}

int file_flush(lua_State* L) {
    int argpos = 1;
    std::FILE* file = target_file(L, argpos);
    if (file != nullptr && std::fflush(file) == 0) {
        lua_pushboolean(L, 1);
    } else {
        lua_pushnil(L);
    }
    return 1;
}

bool is_plain_file(const fs::path& path) {
    struct stat info {};
    return ::lstat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

int file_exists(lua_State* L) {
    check_flash_name(L, 1);
    const auto path = resolve_flash_path(device_options(L, "file"), check_string(L, 1), "file.exists");
    lua_pushboolean(L, path && is_plain_file(*path) ? 1 : 0);
    return 1;
}

int file_remove(lua_State* L) {
    check_flash_name(L, 1);
    if (const auto path = resolve_flash_path(device_options(L, "file"), check_string(L, 1), "file.remove")) {
        if (is_plain_file(*path)) std::remove(path->c_str());
    }
    return 0;
}

// file.rename(old, new) -> true, or false (also when `new` exists: SPIFFS refuses to overwrite)
int file_rename(lua_State* L) {
    const DeviceOptions& options = device_options(L, "file");
    check_flash_name(L, 1);
    check_flash_name(L, 2);
    const auto from = resolve_flash_path(options, check_string(L, 1), "file.rename");
    const auto to = resolve_flash_path(options, check_string(L, 2), "file.rename");
    std::error_code error;
    const bool ok = from && to && is_plain_file(*from) && !fs::exists(fs::symlink_status(*to)) &&
                    (fs::create_directories(to->parent_path(), error), std::rename(from->c_str(), to->c_str()) == 0);
    lua_pushboolean(L, ok ? 1 : 0);
    return 1;
}

// file.list([pattern]) -> {name = size, ...}; pattern as string.match takes it
int file_list(lua_State* L) {
    const DeviceOptions& options = device_options(L, "file");
    lua_settop(L, 1);
    const bool has_pattern = !lua_isnoneornil(L, 1);
    if (has_pattern) static_cast<void>(check_string(L, 1));
    lua_newtable(L);  // 2: the result
    lua_newtable(L);  // 3: names
    lua_newtable(L);  // 4: sizes
    lua_Integer count = 0;
    walk(options.fs_dir, [L, &count](const std::string& name, std::uintmax_t size) {
        ++count;
        lua_pushlstring(L, name.data(), name.size());
        lua_rawseti(L, 3, count);
        lua_pushinteger(L, static_cast<lua_Integer>(size));
        lua_rawseti(L, 4, count);
    });
    lua_getglobal(L, "string");
    lua_getfield(L, -1, "match");  // 6
    for (lua_Integer i = 1; i <= count; ++i) {
        lua_rawgeti(L, 3, i);
        if (has_pattern) {
            lua_pushvalue(L, 6);
            lua_pushvalue(L, -2);
            lua_pushvalue(L, 1);
            lua_call(L, 2, 1);
            const bool match = !lua_isnil(L, -1);
            lua_pop(L, 1);
            if (!match) {
                lua_pop(L, 1);
                continue;
            }
        }
        lua_rawgeti(L, 4, i);
        lua_rawset(L, 2);
    }
    lua_settop(L, 2);
    return 1;
}

// file.fsinfo() -> remaining, used, total (bytes): total is --fs-size, used what the folder holds
int file_fsinfo(lua_State* L) {
    const DeviceOptions& options = device_options(L, "file");
    const std::uint64_t used = used_bytes(options.fs_dir);
    const std::uint64_t total = std::max(options.fs_size, used);
    lua_pushinteger(L, static_cast<lua_Integer>(total - used));
    lua_pushinteger(L, static_cast<lua_Integer>(used));
    lua_pushinteger(L, static_cast<lua_Integer>(total));
    return 3;
}

// file.getcontents(name) -> contents (nil for an empty file), or nothing when it cannot be opened
int file_getcontents(lua_State* L) {
    static_cast<void>(check_string(L, 1));
    push_opened(L, 1, "r");
    if (lua_isnil(L, -1)) return 0;
    auto* handle = check_object(L, -1);
    read_into(L, handle->file, device_options(L, "file").fs_size, no_end_char);
    close_handle(handle);
    return 1;
}

// file.putcontents(name, contents) -> true, or nil
int file_putcontents(lua_State* L) {
    static_cast<void>(check_string(L, 1));
    const std::string_view contents = check_string(L, 2);
    push_opened(L, 1, "w+");
    if (lua_isnil(L, -1)) return 1;
    auto* handle = check_object(L, -1);
    const bool ok = fits(L, handle->file, contents.size()) &&
                    std::fwrite(contents.data(), 1, contents.size(), handle->file) == contents.size();
    const bool closed = std::fclose(handle->file) == 0;
    handle->file = nullptr;
    if (ok && closed) {
        lua_pushboolean(L, 1);
    } else {
        lua_pushnil(L);
    }
    return 1;
}

void add_time(lua_State* L, std::time_t when) {
    std::tm parts{};
    gmtime_r(&when, &parts);
    lua_createtable(L, 0, 6);
    const std::pair<const char*, int> fields[] = {{"year", parts.tm_year + 1900}, {"mon", parts.tm_mon + 1},
                                                  {"day", parts.tm_mday},         {"hour", parts.tm_hour},
                                                  {"min", parts.tm_min},          {"sec", parts.tm_sec}};
    for (const auto& [name, value] : fields) {
        lua_pushinteger(L, value);
        lua_setfield(L, -2, name);
    }
    lua_setfield(L, -2, "time");
}

// file.stat(name) -> {size, name, is_dir, is_rdonly, is_hidden, is_sys, is_arch, time}, or nil
int file_stat(lua_State* L) {
    check_flash_name(L, 1);
    const std::string name(check_string(L, 1));
    const auto path = resolve_flash_path(device_options(L, "file"), name, "file.stat");
    struct stat info {};
    if (!path || ::lstat(path->c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
        lua_pushnil(L);
        return 1;
    }
    lua_createtable(L, 0, 8);
    lua_pushinteger(L, static_cast<lua_Integer>(info.st_size));
    lua_setfield(L, -2, "size");
    lua_pushstring(L, name.c_str());
    lua_setfield(L, -2, "name");
    for (const char* flag : {"is_dir", "is_rdonly", "is_hidden", "is_sys", "is_arch"}) {
        lua_pushboolean(L, 0);
        lua_setfield(L, -2, flag);
    }
    add_time(L, info.st_mtime);
    return 1;
}

// file.fscfg() -> address, size of the file system in flash
int file_fscfg(lua_State* L) {
    constexpr lua_Integer spiffs_address = 0x100000;
    lua_pushinteger(L, spiffs_address);
    lua_pushinteger(L, static_cast<lua_Integer>(device_options(L, "file").fs_size));
    return 2;
}

// file.on("rtc"[, function]): accepted; the file times come from the host's clock anyway.
int file_on(lua_State* L) {
    static const char* const events[] = {"rtc", nullptr};
    luaL_checkoption(L, 1, "rtc", events);
    if (!lua_isnil(L, 2) && !lua_isfunction(L, 2)) throw LuaError("Callback should be function or nil");
    return 0;
}

void register_file_type(lua_State* L) {
    if (luaL_newmetatable(L, file_type) == 0) {
        lua_pop(L, 1);
        return;
    }
    static const luaL_Reg methods[] = {
        {"close", guarded<file_close>}, {"read", guarded<file_read>},   {"readline", guarded<file_readline>},
        {"write", guarded<file_write>}, {"writeline", guarded<file_writeline>}, {"seek", guarded<file_seek>},
        {"flush", guarded<file_flush>}, {nullptr, nullptr}};
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, file_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, file_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
}

// read_flash_file(name) -> the contents of a file of the file system folder, or nil (no note: the runner's
// loadfile/dofile fall back to the ordinary path then).
int read_flash_file(lua_State* L) {
    const std::string_view name = check_string(L, 1);
    if (name.empty() || name.front() == '/' || name.find("..") != std::string_view::npos) return 0;
    fs::path path = device_options(L, "file").fs_dir;
    for (const auto& part : fs::path(std::string(name))) {
        path /= part;
        if (is_link(path)) return 0;
    }
    if (!is_plain_file(path)) return 0;
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (file == nullptr) return 0;
    luaL_Buffer buffer;
    luaL_buffinit(L, &buffer);
    char block[4096];
    for (std::size_t n = 0; (n = std::fread(block, 1, sizeof block, file)) > 0;) luaL_addlstring(&buffer, block, n);
    std::fclose(file);
    luaL_pushresult(&buffer);
    return 1;
}

// As on the device, loadfile/dofile/require find the files of the file system first (chunk names are the file
// names, "@init.lua"); other names keep the stock behaviour.
constexpr const char* loader_code = R"lua(
local read, fs_dir = ...
local loadfile_, load_ = loadfile, load
function loadfile(name, mode, ...)
  local text = type(name) == "string" and read(name)
  if not text then return loadfile_(name, mode, ...) end
  if select("#", ...) > 0 then return load_(text, "@" .. name, mode, ...) end
  return load_(text, "@" .. name, mode)
end
function dofile(name)
  local chunk = assert(loadfile(name))
  return chunk()
end
package.path = fs_dir .. "/?.lc;" .. fs_dir .. "/?.lua;" .. package.path
)lua";

void install_loader(lua_State* L, const DeviceOptions& options) {
    if (luaL_loadbuffer(L, loader_code, std::strlen(loader_code), "=file.loader") != LUA_OK) lua_error(L);
    lua_pushcfunction(L, guarded<read_flash_file>);
    lua_pushstring(L, options.fs_dir.c_str());
    lua_call(L, 2, 0);
}

int open_file_impl(lua_State* L) {
    install_loader(L, device_options(L, "file"));
    register_file_type(L);
    static const luaL_Reg functions[] = {
        {"open", guarded<file_open>},         {"close", guarded<file_close>},
        {"read", guarded<file_read>},         {"readline", guarded<file_readline>},
        {"write", guarded<file_write>},       {"writeline", guarded<file_writeline>},
        {"seek", guarded<file_seek>},         {"flush", guarded<file_flush>},
        {"list", guarded<file_list>},         {"exists", guarded<file_exists>},
        {"remove", guarded<file_remove>},     {"rename", guarded<file_rename>},
        {"fsinfo", guarded<file_fsinfo>},     {"getcontents", guarded<file_getcontents>},
        {"putcontents", guarded<file_putcontents>}, {"stat", guarded<file_stat>},
        {"fscfg", guarded<file_fscfg>},       {"on", guarded<file_on>},
        {nullptr, nullptr}};
    luaL_newlib(L, functions);
    return 1;
}

}  // namespace

void check_flash_name(lua_State* L, int arg) {
    const std::string_view name = check_string(L, arg);
    const std::size_t slash = name.find_last_of('/');
    const std::string_view base = slash == std::string_view::npos ? name : name.substr(slash + 1);
    if (base.size() > max_name || name.find('\0') != std::string_view::npos) throw ArgError(arg, "filename invalid");
}

std::optional<fs::path> resolve_flash_path(const DeviceOptions& options, std::string_view name,
                                           const char* function) {
    constexpr std::string_view volume = "/FLASH/";
    if (name.substr(0, volume.size()) == volume) name.remove_prefix(volume.size());
    if (name.empty()) return std::nullopt;
    if (name.front() == '/') {
        note(function, name, "an absolute path is outside the file system folder");
        return std::nullopt;
    }
    const fs::path relative{std::string(name)};
    fs::path path = options.fs_dir;
    for (const auto& part : relative) {
        if (part == "..") {
            note(function, name, "'..' would leave the file system folder");
            return std::nullopt;
        }
        if (part.empty() || part == ".") continue;
        path /= part;
        if (is_link(path)) {
            note(function, name, "a symbolic link could leave the file system folder");
            return std::nullopt;
        }
    }
    if (path == fs::path(options.fs_dir)) return std::nullopt;
    return path;
}

int open_file(lua_State* L) { return guarded<open_file_impl>(L); }

}  // namespace nmqtt::lua
