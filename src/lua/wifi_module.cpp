// The `wifi` module of `nmqtt run`: NodeMCU's station API on a simulated station whose access point is the
// machine's loopback network. The station joins at boot (its saved configuration), after wifi.sta.config() with
// auto = true, after wifi.sta.connect() and when a mode with a station is set: STA_CONNECTED comes one join
// delay later, STA_GOT_IP one more delay later, both through the event loop as the firmware's event monitor
// task delivers them. With --wifi-down no access point answers: STA_DISCONNECTED (NO_AP_FOUND) instead.
// Argument parsing follows nodemcu-firmware app/modules/wifi.c and wifi_eventmon.c.
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <cctype>
#include <cstdio>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "args.hpp"
#include "device_options.hpp"
#include "lua_api.hpp"

namespace nmqtt::lua {
namespace {

constexpr const char* station_type = "wifi.station";
const char station_key = 0;    // registry: the station userdata
const char callbacks_key = 0;  // registry: event id -> function

// SDK values (user_interface.h of the ESP8266 NONOS SDK 3.0).
enum Mode : int { null_mode = 0, station_mode = 1, softap_mode = 2, stationap_mode = 3 };
enum Status : int { sta_idle = 0, sta_connecting = 1, sta_wrongpwd = 2, sta_apnotfound = 3, sta_fail = 4, sta_gotip = 5 };
enum Event : int {
    ev_sta_connected = 0,
    ev_sta_disconnected = 1,
    ev_sta_authmode_change = 2,
    ev_sta_got_ip = 3,
    ev_sta_dhcp_timeout = 4,
    ev_ap_staconnected = 5,
    ev_ap_stadisconnected = 6,
    ev_ap_probereqrecved = 7,
    ev_opmode_changed = 8,
    ev_max = 10,
};
constexpr int reason_assoc_leave = 8;
constexpr int reason_no_ap_found = 201;
constexpr int ap_channel = 1;
constexpr const char* ap_bssid = "02:00:00:00:00:01";
constexpr const char* no_bssid = "00:00:00:00:00:00";
constexpr std::size_t max_ssid = 32;
constexpr std::size_t max_password = 64;
constexpr std::size_t mac_text_size = 17;  // "AA:BB:CC:DD:EE:FF"

bool has_station(int mode) { return mode == station_mode || mode == stationap_mode; }

std::string mac_text(const std::array<std::uint8_t, 6>& mac) {
    char text[18];
    std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    return text;
}

/// One event as the firmware's event monitor hands it to Lua: the id and the fields of its table.
struct StationEvent {
    int id = 0;
    std::vector<std::pair<const char*, std::string>> strings;
    std::vector<std::pair<const char*, lua_Integer>> integers;
};

class Station final : public Object {
public:
    explicit Station(Runtime& runtime, const DeviceOptions& options)
        : Object(runtime), options_(options), timer_(runtime.io()) {
        const auto mac = device_mac(options);
        char hostname[16];
        std::snprintf(hostname, sizeof hostname, "NODE-%02X%02X%02X", mac[3], mac[4], mac[5]);
        hostname_ = hostname;
        ssid_ = options.ssid;
    }
    ~Station() override { mark_collected(); }

    void set_self(std::weak_ptr<Station> self) { self_ = std::move(self); }

    // Boot: the saved configuration and auto-connect, as a device that joined its network before.
    void boot() { start_join(); }

    int mode() const noexcept { return mode_; }
    int status() const noexcept { return status_; }
    bool has_ip() const noexcept { return status_ == sta_gotip; }
    bool is_associated() const noexcept { return associated_; }
    const DeviceOptions& options() const noexcept { return options_; }
    const std::string& hostname() const noexcept { return hostname_; }
    void set_hostname(std::string name) { hostname_ = std::move(name); }
    void set_auto_connect(bool value) noexcept { auto_connect_ = value; }

    void set_mode(int mode) {
        const int old = mode_;
        mode_ = mode;
        if (old == mode) return;
        emit({ev_opmode_changed, {}, {{"old_mode", old}, {"new_mode", mode}}});
        if (has_station(old) && !has_station(mode)) disconnect();
        if (!has_station(old) && has_station(mode) && auto_connect_) start_join();
    }

    /// wifi.sta.config(): disconnect, store, and join when `auto` (the firmware's order).
    void configure(std::string ssid, std::optional<std::string> bssid, bool auto_connect) {
        disconnect();
        ssid_ = std::move(ssid);
        bssid_ = std::move(bssid);
        auto_connect_ = auto_connect;
        if (auto_connect) start_join();
    }

    void connect() {
        if (stage_ != Stage::idle || associated_) return;
        start_join();
    }

    void disconnect() {
        ++generation_;
        timer_.cancel();
        stage_ = Stage::idle;
        if (associated_) {
            StationEvent event = disconnected_event(reason_assoc_leave);
            associated_ = false;
            emit(std::move(event));
        }
        status_ = sta_idle;
        update_anchor();
    }

private:
    enum class Stage : std::uint8_t { idle, associating, dhcp };

    const char* bssid() const { return bssid_ ? bssid_->c_str() : ap_bssid; }

    StationEvent disconnected_event(int reason) const {
        return {ev_sta_disconnected, {{"SSID", ssid_}, {"BSSID", associated_ ? bssid() : no_bssid}}, {{"reason", reason}}};
    }

    void start_join() {
        if (!has_station(mode_)) return;
        status_ = sta_connecting;
        stage_ = Stage::associating;
        arm();
    }

    void arm() {
        update_anchor();
        timer_.expires_after(options_.join_delay);
        timer_.async_wait([self = self_, generation = ++generation_](const std::error_code& error) {
            if (error) return;
            if (auto station = self.lock(); station && !station->is_collected() && generation == station->generation_) {
                station->advance();
            }
        });
    }

    void advance() {
        if (stage_ == Stage::associating && options_.wifi_down) {
            stage_ = Stage::idle;
            status_ = sta_apnotfound;
            emit(disconnected_event(reason_no_ap_found));
        } else if (stage_ == Stage::associating) {
            associated_ = true;
            stage_ = Stage::dhcp;
            emit({ev_sta_connected, {{"SSID", ssid_}, {"BSSID", bssid()}}, {{"channel", ap_channel}}});
            arm();
        } else if (stage_ == Stage::dhcp) {
            stage_ = Stage::idle;
            status_ = sta_gotip;
            emit({ev_sta_got_ip, {{"IP", options_.ip}, {"netmask", options_.netmask}, {"gateway", options_.gateway}}, {}});
        }
        update_anchor();
    }

    /// Queues the event when a callback is registered for it now (the firmware drops it otherwise) and
    /// delivers it from the event loop.
    void emit(StationEvent event) {
        if (!has_callback(event.id)) return;
        pending_.push_back(std::move(event));
        update_anchor();
        asio::post(runtime().io(), [self = self_] {
            if (auto station = self.lock(); station && !station->is_collected()) station->deliver();
        });
    }

    bool has_callback(int id) const {
        lua_State* L = runtime().state();
        lua_rawgetp(L, LUA_REGISTRYINDEX, &callbacks_key);
        const bool found = lua_rawgeti(L, -1, id) == LUA_TFUNCTION;
        lua_pop(L, 2);
        return found;
    }

    void deliver() {
        if (pending_.empty()) return;
        StationEvent event = std::move(pending_.front());
        pending_.pop_front();
        update_anchor();
        runtime().call([&event](lua_State* L) {
            lua_rawgetp(L, LUA_REGISTRYINDEX, &callbacks_key);
            if (lua_rawgeti(L, -1, event.id) != LUA_TFUNCTION) return;  // unregistered meanwhile
            lua_createtable(L, 0, static_cast<int>(event.strings.size() + event.integers.size()));
            for (const auto& [name, value] : event.strings) {
                lua_pushlstring(L, value.data(), value.size());
                lua_setfield(L, -2, name);
            }
            for (const auto& [name, value] : event.integers) {
                lua_pushinteger(L, value);
                lua_setfield(L, -2, name);
            }
            lua_call(L, 1, 0);
        });
    }

    void update_anchor() { set_anchored(stage_ != Stage::idle || !pending_.empty()); }

    const DeviceOptions& options_;
    asio::steady_timer timer_;
    std::weak_ptr<Station> self_;
    std::deque<StationEvent> pending_;
    std::string ssid_;
    std::optional<std::string> bssid_;
    std::string hostname_;
    std::uint64_t generation_ = 0;
    int mode_ = station_mode;
    int status_ = sta_idle;
    Stage stage_ = Stage::idle;
    bool associated_ = false;
    bool auto_connect_ = true;
};

using ObjectSlot = std::shared_ptr<Object>;

Station& station(lua_State* L) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &station_key);
    auto* slot = static_cast<ObjectSlot*>(luaL_testudata(L, -1, station_type));
    lua_pop(L, 1);
    if (slot == nullptr || !*slot) throw LuaError("wifi: the station is gone");
    return static_cast<Station&>(**slot);
}

// Registers the function at `function_index` for event `id`; 0 (or a non-function) unregisters.
void set_callback(lua_State* L, int id, int function_index) {
    if (function_index != 0) function_index = lua_absindex(L, function_index);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &callbacks_key);
    if (function_index != 0 && lua_type(L, function_index) == LUA_TFUNCTION) {
        lua_pushvalue(L, function_index);
    } else {
        lua_pushnil(L);
    }
    lua_rawseti(L, -2, id);
    lua_pop(L, 1);
}

// wifi.setmode(mode[, save]) -> mode
int wifi_setmode(lua_State* L) {
    const lua_Integer mode = check_lua_integer(L, 1);
    if (mode != station_mode && mode != softap_mode && mode != stationap_mode && mode != null_mode) {
        throw ArgError(1, "Invalid mode");
    }
    if (!lua_isnoneornil(L, 2) && !lua_isboolean(L, 2)) throw type_error(L, 2, "boolean");
    Station& sta = station(L);
    sta.set_mode(static_cast<int>(mode));
    lua_pushinteger(L, sta.mode());
    return 1;
}

int wifi_getmode(lua_State* L) {
    lua_pushinteger(L, station(L).mode());
    return 1;
}

// The table form of wifi.sta.config: t[name] as a string, nil when absent, else `not_string` raised.
std::optional<std::string> config_string(lua_State* L, const char* name, const char* not_string) {
    lua_getfield(L, 1, name);
    std::optional<std::string> value;
    if (!lua_isnil(L, -1)) {
        if (lua_isstring(L, -1) == 0) throw ArgError(1, not_string);
        std::size_t size = 0;
        const char* data = lua_tolstring(L, -1, &size);
        value.emplace(data, size);
    }
    lua_pop(L, 1);
    return value;
}

bool config_boolean(lua_State* L, const char* name, const char* not_boolean, bool fallback) {
    lua_getfield(L, 1, name);
    bool value = fallback;
    if (!lua_isnil(L, -1)) {
        if (!lua_isboolean(L, -1)) throw ArgError(1, not_boolean);
        value = lua_toboolean(L, -1) != 0;
    }
    lua_pop(L, 1);
    return value;
}

// The callbacks of the table form, registered as wifi.eventmon.register() would (the firmware reads the
// names connect_cb/disconnect_cb; its documentation says connected_cb/disconnected_cb: both are taken).
void config_callbacks(lua_State* L) {
    struct Key {
        const char* name;
        int event;
        const char* not_function;
    };
    static constexpr Key keys[] = {
        {"connect_cb", ev_sta_connected, "connect_cb:not function"},
        {"connected_cb", ev_sta_connected, "connected_cb:not function"},
        {"disconnect_cb", ev_sta_disconnected, "disconnect_cb:not function"},
        {"disconnected_cb", ev_sta_disconnected, "disconnected_cb:not function"},
        {"authmode_change_cb", ev_sta_authmode_change, "authmode_change_cb:not function"},
        {"got_ip_cb", ev_sta_got_ip, "gotip_cb:not function"},
        {"dhcp_timeout_cb", ev_sta_dhcp_timeout, "dhcp_timeout_cb:not function"},
    };
    for (const Key& key : keys) {
        lua_getfield(L, 1, key.name);
        if (!lua_isnil(L, -1)) {
            if (!lua_isfunction(L, -1)) throw ArgError(1, key.not_function);
            set_callback(L, key.event, -1);
        }
        lua_pop(L, 1);
    }
}

int config_table(lua_State* L) {
    const auto ssid = config_string(L, "ssid", "ssid:not string");
    if (!ssid) throw ArgError(1, "ssid required");
    if (ssid->size() > max_ssid) throw ArgError(1, "ssid: length:0-32");
    const auto password = config_string(L, "pwd", "pwd:not string");
    if (password && password->size() > max_password) throw ArgError(1, "pwd: length:0-64");
    const auto bssid = config_string(L, "bssid", "bssid:not string");
    if (bssid && bssid->size() != mac_text_size) throw ArgError(1, "bssid: FF:FF:FF:FF:FF:FF");
    const bool auto_connect = config_boolean(L, "auto", "auto:not boolean", true);
    config_boolean(L, "save", "save:not boolean", true);
    config_callbacks(L);
    station(L).configure(*ssid, bssid, auto_connect);
    lua_pushboolean(L, 1);
    return 1;
}

// The positional form of firmware 1.5 (deprecated there, still found in scripts):
// wifi.sta.config(ssid, pwd[, auto[, bssid]]) with auto 0/1, or config(ssid, pwd, bssid).
int config_positional(lua_State* L) {
    const std::string ssid(check_string(L, 1));
    if (ssid.empty() || ssid.size() >= max_ssid) throw ArgError(1, "length:1-32");
    const std::string_view password = check_string(L, 2);
    if (!password.empty() && (password.size() < 8 || password.size() >= max_password)) {
        throw ArgError(2, "length:0 or 8-64");
    }
    bool auto_connect = true;
    int bssid_arg = 4;
    if (lua_isnumber(L, 3) != 0) {
        const lua_Integer value = check_lua_integer(L, 3);
        if (value != 0 && value != 1) throw LuaError("wrong arg type");
        auto_connect = value == 1;
    } else if (lua_type(L, 3) == LUA_TSTRING) {
        bssid_arg = 3;  // the firmware inserts a nil at 3: the string is the bssid
    } else if (lua_isnil(L, 3)) {
        throw LuaError("wrong arg type");
    }
    std::optional<std::string> bssid;
    if (lua_type(L, bssid_arg) == LUA_TSTRING) {
        bssid = std::string(check_string(L, bssid_arg));
        if (bssid->size() != mac_text_size) throw ArgError(1, "MAC:FF:FF:FF:FF:FF:FF");
    }
    station(L).configure(ssid, bssid, auto_connect);
    lua_pushboolean(L, 1);
    return 1;
}

int sta_config(lua_State* L) {
    if (lua_istable(L, 1)) return config_table(L);
    if (lua_isstring(L, 1) != 0) return config_positional(L);
    throw ArgError(1, "config table not found!");
}

// wifi.sta.connect([connected_cb]) / wifi.sta.disconnect([disconnected_cb])
int sta_connect(lua_State* L) {
    if (lua_isfunction(L, 1)) set_callback(L, ev_sta_connected, 1);
    station(L).connect();
    return 0;
}

int sta_disconnect(lua_State* L) {
    if (lua_isfunction(L, 1)) set_callback(L, ev_sta_disconnected, 1);
    station(L).disconnect();
    return 0;
}

int sta_autoconnect(lua_State* L) {
    const lua_Integer value = check_lua_integer(L, 1);
    if (value != 0 && value != 1) throw ArgError(1, "0 or 1");
    station(L).set_auto_connect(value == 1);
    return 0;
}

int sta_status(lua_State* L) {
    lua_pushinteger(L, station(L).status());
    return 1;
}

// wifi.sta.getip() -> ip, netmask, gateway; nil without an IP
int sta_getip(lua_State* L) {
    const Station& sta = station(L);
    if (!sta.has_ip()) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushstring(L, sta.options().ip.c_str());
    lua_pushstring(L, sta.options().netmask.c_str());
    lua_pushstring(L, sta.options().gateway.c_str());
    return 3;
}

int sta_getmac(lua_State* L) {
    const std::string text = mac_text(device_mac(station(L).options()));
    lua_pushstring(L, text.c_str());
    return 1;
}

// wifi.sta.getrssi() -> dBm while associated, else nil
int sta_getrssi(lua_State* L) {
    const Station& sta = station(L);
    if (sta.is_associated()) {
        lua_pushinteger(L, sta.options().rssi);
    } else {
        lua_pushnil(L);
    }
    return 1;
}

int sta_gethostname(lua_State* L) {
    lua_pushstring(L, station(L).hostname().c_str());
    return 1;
}

// RFC 952/1123 as the firmware checks it: 1..32 characters, alphanumeric at both ends, hyphens inside.
bool is_valid_hostname(std::string_view name) {
    const auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
    if (name.empty() || name.size() > 32 || !alnum(name.front()) || !alnum(name.back())) return false;
    for (const char c : name) {
        if (!alnum(c) && c != '-') return false;
    }
    return true;
}

int sta_sethostname(lua_State* L) {
    const std::string_view name = check_string(L, 1);
    if (!is_valid_hostname(name)) throw ArgError(1, "Invalid hostname");
    station(L).set_hostname(std::string(name));
    lua_pushboolean(L, 1);
    return 1;
}

// wifi.eventmon.register(event[, function]) and unregister(event): the same function in the firmware.
int eventmon_register(lua_State* L) {
    const auto id = static_cast<std::uint8_t>(check_lua_integer(L, 1));
    if (id > ev_max) throw LuaError("valid wifi events:0-" + std::to_string(ev_max));
    set_callback(L, id, lua_isfunction(L, 2) ? 2 : 0);
    return 0;
}

int station_gc(lua_State* L) {
    auto* slot = static_cast<ObjectSlot*>(luaL_testudata(L, 1, station_type));
    if (slot != nullptr && *slot) {
        ObjectSlot object = std::move(*slot);
        slot->reset();
        object->runtime().bury(std::move(object));
    }
    return 0;
}

void create_station(lua_State* L, const DeviceOptions& options) {
    Runtime& runtime = Runtime::of(L);
    luaL_newmetatable(L, station_type);
    lua_pushcfunction(L, station_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    lua_newtable(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &callbacks_key);
    auto* slot = static_cast<ObjectSlot*>(lua_newuserdata(L, sizeof(ObjectSlot)));
    new (slot) ObjectSlot();
    luaL_setmetatable(L, station_type);
    auto sta = std::make_shared<Station>(runtime, options);
    sta->set_self(sta);
    *slot = sta;
    runtime.register_object(L, -1, sta.get());
    lua_rawsetp(L, LUA_REGISTRYINDEX, &station_key);
    sta->boot();
}

void set_integers(lua_State* L, std::initializer_list<std::pair<const char*, int>> constants) {
    for (const auto& [name, value] : constants) {
        lua_pushinteger(L, value);
        lua_setfield(L, -2, name);
    }
}

void push_eventmon(lua_State* L) {
    static const luaL_Reg functions[] = {
        {"register", guarded<eventmon_register>}, {"unregister", guarded<eventmon_register>}, {nullptr, nullptr}};
    luaL_newlib(L, functions);
    set_integers(L, {{"STA_CONNECTED", ev_sta_connected}, {"STA_DISCONNECTED", ev_sta_disconnected},
                     {"STA_AUTHMODE_CHANGE", ev_sta_authmode_change}, {"STA_GOT_IP", ev_sta_got_ip},
                     {"STA_DHCP_TIMEOUT", ev_sta_dhcp_timeout}, {"AP_STACONNECTED", ev_ap_staconnected},
                     {"AP_STADISCONNECTED", ev_ap_stadisconnected}, {"AP_PROBEREQRECVED", ev_ap_probereqrecved},
                     {"WIFI_MODE_CHANGED", ev_opmode_changed}, {"EVENT_MAX", ev_max}});
    lua_newtable(L);
    set_integers(L, {{"UNSPECIFIED", 1}, {"AUTH_EXPIRE", 2}, {"AUTH_LEAVE", 3}, {"ASSOC_EXPIRE", 4},
                     {"ASSOC_TOOMANY", 5}, {"NOT_AUTHED", 6}, {"NOT_ASSOCED", 7}, {"ASSOC_LEAVE", 8},
                     {"ASSOC_NOT_AUTHED", 9}, {"DISASSOC_PWRCAP_BAD", 10}, {"DISASSOC_SUPCHAN_BAD", 11},
                     {"IE_INVALID", 13}, {"MIC_FAILURE", 14}, {"4WAY_HANDSHAKE_TIMEOUT", 15},
                     {"GROUP_KEY_UPDATE_TIMEOUT", 16}, {"IE_IN_4WAY_DIFFERS", 17}, {"GROUP_CIPHER_INVALID", 18},
                     {"PAIRWISE_CIPHER_INVALID", 19}, {"AKMP_INVALID", 20}, {"UNSUPP_RSN_IE_VERSION", 21},
                     {"INVALID_RSN_IE_CAP", 22}, {"802_1X_AUTH_FAILED", 23}, {"CIPHER_SUITE_REJECTED", 24},
                     {"BEACON_TIMEOUT", 200}, {"NO_AP_FOUND", 201}, {"AUTH_FAIL", 202}, {"ASSOC_FAIL", 203},
                     {"HANDSHAKE_TIMEOUT", 204}});
    lua_setfield(L, -2, "reason");
}

int open_wifi_impl(lua_State* L) {
    const DeviceOptions* options = Runtime::of(L).device();
    if (options == nullptr) throw LuaError("wifi: only available under nmqtt run");
    create_station(L, *options);
    static const luaL_Reg functions[] = {
        {"setmode", guarded<wifi_setmode>}, {"getmode", guarded<wifi_getmode>}, {nullptr, nullptr}};
    luaL_newlib(L, functions);
    static const luaL_Reg sta_functions[] = {
        {"config", guarded<sta_config>},         {"connect", guarded<sta_connect>},
        {"disconnect", guarded<sta_disconnect>}, {"autoconnect", guarded<sta_autoconnect>},
        {"status", guarded<sta_status>},         {"getip", guarded<sta_getip>},
        {"getmac", guarded<sta_getmac>},         {"getrssi", guarded<sta_getrssi>},
        {"gethostname", guarded<sta_gethostname>}, {"sethostname", guarded<sta_sethostname>},
        {nullptr, nullptr}};
    luaL_newlib(L, sta_functions);
    lua_setfield(L, -2, "sta");
    push_eventmon(L);
    lua_setfield(L, -2, "eventmon");
    set_integers(L, {{"NULLMODE", null_mode}, {"STATION", station_mode}, {"SOFTAP", softap_mode},
                     {"STATIONAP", stationap_mode}, {"STA_IDLE", sta_idle}, {"STA_CONNECTING", sta_connecting},
                     {"STA_WRONGPWD", sta_wrongpwd}, {"STA_APNOTFOUND", sta_apnotfound}, {"STA_FAIL", sta_fail},
                     {"STA_GOTIP", sta_gotip}, {"OPEN", 0}, {"WPA_PSK", 2}, {"WPA2_PSK", 3}, {"WPA_WPA2_PSK", 4},
                     {"PHYMODE_B", 1}, {"PHYMODE_G", 2}, {"PHYMODE_N", 3}, {"NONE_SLEEP", 0}, {"LIGHT_SLEEP", 1},
                     {"MODEM_SLEEP", 2}, {"COUNTRY_AUTO", 0}, {"COUNTRY_MANUAL", 1}});
    return 1;
}

}  // namespace

int open_wifi(lua_State* L) { return guarded<open_wifi_impl>(L); }

}  // namespace nmqtt::lua
