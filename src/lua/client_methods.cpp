#include "client_methods.hpp"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "args.hpp"
#include "client_options.hpp"
#include "lua_client.hpp"
#include "nmqtt/error.hpp"
#include "nmqtt/protocol/topic.hpp"
#include "properties.hpp"

namespace nmqtt::lua {
namespace {

using ObjectSlot = std::shared_ptr<Object>;

constexpr std::uint16_t default_port = 1883;
constexpr std::string_view events[] = {"connect", "connfail", "suback",  "unsuback", "puback",
                                       "message", "overflow", "offline", "reconnect", "auth"};

LuaClient& check_client(lua_State* L) {
    auto* slot = static_cast<ObjectSlot*>(luaL_testudata(L, 1, client_type));
    if (slot == nullptr) throw type_error(L, 1, client_type);
    if (!*slot) throw ArgError(1, "client already finalized");
    return static_cast<LuaClient&>(**slot);
}

/// Stores the function (or nil) at `arg` under `slot` of the client's user value table.
void set_callback(lua_State* L, const char* slot, int arg) {
    lua_getuservalue(L, 1);
    lua_pushstring(L, slot);
    if (lua_type(L, arg) == LUA_TFUNCTION) {
        lua_pushvalue(L, arg);
    } else {
        lua_pushnil(L);
    }
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

void check_topic_name(int arg, std::string_view topic) {
    if (const std::error_code error = protocol::validate_topic_name(topic)) {
        if (topic.find_first_of("+#") != std::string_view::npos) {
            throw ArgError(arg, "wildcards are not allowed in a topic name");
        }
        if (topic.empty()) throw ArgError(arg, "empty topic name");
        throw ArgError(arg, "invalid topic name (" + error.message() + ")");
    }
}

void check_topic_filter(int arg, std::string_view filter) {
    if (const std::error_code error = protocol::validate_topic_filter(filter)) {
        throw ArgError(arg, "malformed topic filter '" + std::string(filter) + "' (" + error.message() + ")");
    }
}

/// Raises "already connected" for Errc::already_connected and the error's message otherwise.
[[noreturn]] void rethrow_client_error(const std::system_error& e) {
    if (e.code() == make_error_code(Errc::already_connected)) throw LuaError("already connected");
    throw LuaError(e.code().message());
}

// --- MQTT 5.0 property tables ----------------------------------------------------------------------------

using protocol::PropertyContext;
using protocol::PropertyId;

/// The trailing property table of a call on an MQTT 5.0 client: the index of the last argument when it is
/// a table at `first` or later, else 0. Always 0 for a 3.1.1 client, whose calls behave exactly as before.
int trailing_table(lua_State* L, const LuaClient& client, int first) {
    const int top = lua_gettop(L);
    if (!client.is_v5() || top < first || lua_type(L, top) != LUA_TTABLE) return 0;
    return top;
}

void append_property(protocol::Properties& out, const protocol::Property& p) {
    switch (protocol::property_info(static_cast<std::uint8_t>(p.id))->type) {
        case protocol::PropertyType::utf8:
        case protocol::PropertyType::binary: out.add_string(p.id, p.text); return;
        case protocol::PropertyType::utf8_pair: out.add_user_property(p.text, p.value); return;
        case protocol::PropertyType::byte: out.add_byte(p.id, static_cast<std::uint8_t>(p.number)); return;
        case protocol::PropertyType::two_byte: out.add_two_byte(p.id, static_cast<std::uint16_t>(p.number)); return;
        case protocol::PropertyType::four_byte: out.add_four_byte(p.id, p.number); return;
        case protocol::PropertyType::variable_byte: out.add_variable_byte(p.id, p.number); return;
    }
}

/// Applies one CONNECT property of a connect() table to the session settings it belongs to. False for the
/// properties that go into the CONNECT's own block (user properties, authentication).
bool apply_connect_setting(session::V5Options& v5, const protocol::Property& p) {
    switch (p.id) {
        case PropertyId::session_expiry_interval: v5.session_expiry_interval = p.number; return true;
        case PropertyId::receive_maximum: v5.receive_maximum = static_cast<std::uint16_t>(p.number); return true;
        case PropertyId::maximum_packet_size: v5.maximum_packet_size = p.number; return true;
        case PropertyId::topic_alias_maximum: v5.topic_alias_maximum = static_cast<std::uint16_t>(p.number); return true;
        case PropertyId::request_response_information: v5.request_response_information = p.number != 0; return true;
        case PropertyId::request_problem_information: v5.request_problem_information = p.number != 0; return true;
        default: return false;
    }
}

/// connect(..., {session_expiry_interval=, receive_maximum=, ..., user_properties=}): the options table's
/// MQTT 5.0 settings with the table's over them; its user properties replace the options table's.
session::V5Options connect_settings(lua_State* L, int arg, const session::V5Options& base) {
    const auto block = read_properties(L, arg, PropertyContext::connect);
    session::V5Options v5 = base;
    protocol::Properties rest;
    block.view().for_each([&](const protocol::Property& p) {
        if (!apply_connect_setting(v5, p)) append_property(rest, p);
    });
    if (!rest.empty()) v5.connect_properties = std::move(rest);
    return v5;
}

/// close({reason_code=, session_expiry_interval=, reason_string=, user_properties=}).
struct DisconnectTable {
    session::DisconnectRequest request;
    protocol::Properties properties;  // what request.properties views
};

DisconnectTable disconnect_table(lua_State* L, int arg) {
    DisconnectTable t;
    const auto block = read_properties(L, arg, PropertyContext::disconnect, [&](std::string_view key) {
        if (key != "reason_code") return false;
        int is_integer = 0;
        const lua_Integer code = lua_tointegerx(L, -1, &is_integer);
        if (is_integer == 0 || code < 0 || code > 255) throw ArgError(arg, "reason_code must be an integer in 0..255");
        t.request.reason_code = static_cast<std::uint8_t>(code);
        return true;
    });
    block.view().for_each([&](const protocol::Property& p) {
        if (p.id == PropertyId::session_expiry_interval) {
            t.request.session_expiry_interval = p.number;
        } else {
            append_property(t.properties, p);
        }
    });
    t.request.properties = t.properties.view();
    return t;
}

/// Subscription options of a subscribe() property table or of one filter's table: no_local,
/// retain_as_published, retain_handling (0..2). Returns false for another key.
bool read_subscription_option(lua_State* L, int arg, std::string_view key, protocol::SubscribeEntry& entry) {
    if (key == "no_local" || key == "retain_as_published") {
        const auto flag = to_flag(L, -1);
        if (!flag) throw ArgError(arg, std::string(key) + " must be a boolean");
        (key == "no_local" ? entry.no_local : entry.retain_as_published) = *flag;
        return true;
    }
    if (key != "retain_handling") return false;
    int is_integer = 0;
    const lua_Integer value = lua_tointegerx(L, -1, &is_integer);
    if (is_integer == 0 || value < 0 || value > 2) throw ArgError(arg, "retain_handling must be 0, 1 or 2");
    entry.retain_handling = static_cast<protocol::RetainHandling>(value);
    return true;
}

// --- mqtt.Client() ------------------------------------------------------------------------------------

/// The error of a Client constructor: the session store's (a system error, or invalid_argument for content
/// that cannot be restored) against the options table, anything else against the client id.
ArgError constructor_error(const std::system_error& e, const std::string& store_path) {
    const bool store_error = !store_path.empty() &&
                             (e.code().category() != nmqtt::error_category() || e.code() == Errc::invalid_argument);
    if (!store_error) return {1, e.code().message()};
    return {7, "session_store '" + store_path + "' cannot be used (" + e.code().message() + ")"};
}

int client_new_impl(lua_State* L) {
    ClientOptions options = parse_client_options(L);
    const std::string store_path = options.session_store_path;
    Runtime& runtime = Runtime::of(L);
    auto* slot = static_cast<ObjectSlot*>(lua_newuserdata(L, sizeof(ObjectSlot)));
    new (slot) ObjectSlot();
    luaL_setmetatable(L, client_type);
    lua_newtable(L);
    lua_setuservalue(L, -2);
    std::shared_ptr<LuaClient> client;
    try {
        client = std::make_shared<LuaClient>(runtime, std::move(options));
    } catch (const std::system_error& e) {
        throw constructor_error(e, store_path);
    }
    *slot = client;
    runtime.register_object(L, -1, client.get());
    return 1;
}

int client_gc(lua_State* L) {
    auto* slot = static_cast<ObjectSlot*>(luaL_testudata(L, 1, client_type));
    if (slot != nullptr && *slot) {
        ObjectSlot object = std::move(*slot);
        slot->reset();
        object->runtime().bury(std::move(object));
    }
    return 0;
}

int client_tostring(lua_State* L) {
    auto* slot = static_cast<ObjectSlot*>(luaL_testudata(L, 1, client_type));
    const char* state = slot != nullptr && *slot ? static_cast<LuaClient&>(**slot).state_name() : "finalized";
    lua_pushfstring(L, "mqtt.client (%s): %p", state, lua_topointer(L, 1));
    return 1;
}

// --- connect / close / lwt / on / state ----------------------------------------------------------------

struct ConnectArgs {
    std::string_view host;
    std::uint16_t port = default_port;
    bool secure = false;
    bool secure_is_integer = false;
    int on_connect = 0;  // stack index of the callback slots (0: absent)
    int on_fail = 0;
};

/// The firmware's lua_isnumber(): numbers and numeric strings.
bool is_number(lua_State* L, int i) { return lua_isnumber(L, i) != 0; }

// Parses host[, port[, secure]][, on_connect[, on_fail]] the way the firmware does: a number (or numeric
// string) is the port, a boolean or number after it is `secure`, and then the two callback positions count
// whatever they hold: a function is taken, anything else is skipped (`connect(h, p, 0, 0)`, the pre-2019
// autoreconnect argument, gives no callbacks; `connect(h, p, 0, 1, cb)` makes cb the failure callback).
// One addition: a nil is also read as the default port or secure flag when the arguments after it need it.
ConnectArgs parse_connect(lua_State* L) {
    ConnectArgs args;
    args.host = check_string(L, 2);
    const int top = lua_gettop(L);
    int i = 3;
    const bool port_nil = lua_isnil(L, i) && (top - i >= 3 || lua_type(L, i + 1) == LUA_TBOOLEAN ||
                                              is_number(L, i + 1));
    if (i <= top && (is_number(L, i) || port_nil)) {
        args.port = static_cast<std::uint16_t>(opt_integer(L, i, default_port, 1, 65535, "port"));
        ++i;
    }
    const bool secure_nil = lua_isnil(L, i) && top - i >= 2;
    if (i <= top && (lua_type(L, i) == LUA_TBOOLEAN || is_number(L, i) || secure_nil)) {
        args.secure_is_integer = is_number(L, i);
        args.secure = to_flag(L, i).value_or(false);
        ++i;
    }
    args.on_connect = i <= top ? i : 0;
    args.on_fail = i + 1 <= top ? i + 1 : 0;
    return args;
}

/// A value in a callback position that is neither a function nor nil is skipped, as the firmware does; the
/// first time per kind, a note on stderr says so (it is usually a stray argument of an older API).
void note_skipped_callback(lua_State* L, Runtime& runtime, int arg, const char* function) {
    if (arg == 0 || lua_isnoneornil(L, arg) || lua_type(L, arg) == LUA_TFUNCTION) return;
    const std::string kind = std::string("skipped-") + function + std::to_string(arg);
    if (!runtime.first_time(kind)) return;
    std::fprintf(stderr, "nmqtt: note: %s() argument #%d is a %s, not a function: ignored, as on NodeMCU\n",
                 function, arg - 1, luaL_typename(L, arg));
}

int client_connect(lua_State* L) {
    LuaClient& client = check_client(L);
    std::optional<session::V5Options> v5;
    if (const int props = trailing_table(L, client, 3)) {
        v5 = connect_settings(L, props, client.base_v5());
        lua_settop(L, props - 1);
    }
    const ConnectArgs args = parse_connect(L);
    if (client.is_active()) throw LuaError("already connected");
    Runtime& runtime = client.runtime();
    if (args.secure_is_integer && runtime.first_time("secure-integer")) {
        std::fputs("nmqtt: deprecated: connect()'s `secure` as integer 0/1; pass false or true\n", stderr);
    }
    // Aliasing: a function replaces the "connect"/"connfail" callback; nil or any other value keeps it.
    for (const auto& [arg, slot] : {std::pair{args.on_connect, "connect"}, std::pair{args.on_fail, "connfail"}}) {
        note_skipped_callback(L, runtime, arg, "connect");
        if (arg != 0 && lua_type(L, arg) == LUA_TFUNCTION) set_callback(L, slot, arg);
    }
    Runtime::Enter enter(runtime, L);
    try {
        client.connect(std::string(args.host), args.port, args.secure, std::move(v5));
    } catch (const std::system_error& e) {
        rethrow_client_error(e);
    }
    return 0;
}

int client_close(lua_State* L) {
    LuaClient& client = check_client(L);
    if (trailing_table(L, client, 2) == 2) {
        const DisconnectTable t = disconnect_table(L, 2);
        const bool active = client.is_active();
        Runtime::Enter enter(client.runtime(), L);
        const bool closed = client.close(t.request);
        if (!closed && active && client.client().last_error() == Errc::invalid_argument) {
            throw ArgError(2, "DISCONNECT request not allowed (a Session Expiry Interval of 0 at CONNECT "
                              "cannot become non-zero; reason codes as in table 3.14.2.1)");
        }
        lua_pushboolean(L, closed ? 1 : 0);
        return 1;
    }
    Runtime::Enter enter(client.runtime(), L);
    lua_pushboolean(L, client.close() ? 1 : 0);
    return 1;
}

// lwt(topic, message[, qos[, retain]]): stored for the next connect(), also when called while connected or
// connecting (as the firmware does). Topic and message must be strings (or numbers): "need lwt topic".
int client_lwt(lua_State* L) {
    LuaClient& client = check_client(L);
    protocol::Properties properties;
    if (const int props = trailing_table(L, client, 4)) {
        properties = read_properties(L, props, PropertyContext::will);
        lua_settop(L, props - 1);
    }
    if (lua_isstring(L, 2) == 0) throw ArgError(2, "need lwt topic");
    if (lua_isstring(L, 3) == 0) throw ArgError(3, "need lwt message");
    const std::string_view topic = check_string(L, 2);
    check_topic_name(2, topic);
    const std::string_view message = check_string(L, 3);
    const int qos = is_number(L, 4) ? opt_qos(L, 4) : 0;
    const bool retain = to_flag(L, 5).value_or(false);  // the firmware reads a number only; we take booleans too
    try {
        if (client.is_v5()) {
            client.client().lwt(std::string(topic), std::string(message), qos, retain, properties.view());
        } else {
            client.client().lwt(std::string(topic), std::string(message), qos, retain);
        }
    } catch (const std::system_error& e) {
        throw ArgError(1, e.code().message());
    }
    return 0;
}

int client_on(lua_State* L) {
    check_client(L);
    const std::string_view event = check_string(L, 2);
    const auto* found = std::find(std::begin(events), std::end(events), event);
    if (found == std::end(events)) {
        throw ArgError(2, "invalid option '" + std::string(event) + "'");  // luaL_checkoption's words
    }
    if (!lua_isnoneornil(L, 3) && lua_type(L, 3) != LUA_TFUNCTION) throw type_error(L, 3, "function");
    set_callback(L, found->data(), 3);  // nil unregisters (extension)
    return 0;
}

// client:reauth([data][, done]) (extension, MQTT 5.0 with authentication_method): re-authentication.
int client_reauth(lua_State* L) {
    LuaClient& client = check_client(L);
    int done = 2;
    std::string data;
    if (lua_type(L, 2) == LUA_TSTRING || lua_type(L, 2) == LUA_TNUMBER) {
        data = check_string(L, 2);
        done = 3;
    } else if (!lua_isnoneornil(L, 2) && lua_type(L, 2) != LUA_TFUNCTION) {
        throw type_error(L, 2, "string");
    }
    if (!lua_isnoneornil(L, done) && lua_type(L, done) != LUA_TFUNCTION) throw type_error(L, done, "function");
    if (!client.is_v5() || client.base_v5().authentication_method.empty()) {
        throw LuaError("reauth needs protocol = 5 and authentication_method");
    }
    Runtime::Enter enter(client.runtime(), L);
    const lua_Integer key = client.store_completion(L, done);
    lua_pushboolean(L, client.reauthenticate(L, std::move(data), key) ? 1 : 0);
    return 1;
}

int client_state(lua_State* L) {
    lua_pushstring(L, check_client(L).state_name());
    return 1;
}

// --- publish / subscribe / unsubscribe ------------------------------------------------------------------

int client_publish(lua_State* L) {
    LuaClient& client = check_client(L);
    protocol::Properties properties;
    if (const int props = trailing_table(L, client, 6)) {
        properties = read_properties(L, props, PropertyContext::publish);
        lua_settop(L, props - 1);
    }
    const std::string_view topic = check_string(L, 2);
    check_topic_name(2, topic);
    const std::string_view payload = check_string(L, 3);
    const int qos = opt_qos(L, 4);
    const bool retain = opt_flag(L, 5, false);
    // Not a function where the callback goes: skipped, as the firmware does.
    note_skipped_callback(L, client.runtime(), 6, "publish");
    if (lua_type(L, 6) == LUA_TFUNCTION) set_callback(L, "puback", 6);  // aliases "puback" for all publishes
    Runtime::Enter enter(client.runtime(), L);
    const lua_Integer key = client.store_completion(L, 7);
    const bool ok = client.is_v5()
                        ? client.client().publish(OutgoingMessage{topic, payload, qos, retain, properties.view()},
                                                  client.ack_done(key, {}))
                        : client.client().publish(topic, payload, qos, retain, {}, client.publish_done(key));
    if (!ok) client.drop_completion(L, key);
    lua_pushboolean(L, ok ? 1 : 0);
    return 1;
}

/// Reads {topic=qos, ...} at `arg`, sorted by topic so that the order on the wire is reproducible.
std::vector<std::pair<std::string, int>> subscribe_table(lua_State* L, int arg) {
    std::vector<std::pair<std::string, int>> filters;
    lua_pushnil(L);
    while (lua_next(L, arg) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING) throw ArgError(arg, "table keys must be topic filters (strings)");
        std::string filter = lua_tostring(L, -2);
        check_topic_filter(arg, filter);
        int is_integer = 0;
        const lua_Integer qos = lua_tointegerx(L, -1, &is_integer);
        if (is_integer == 0 || qos < 0 || qos > 2) {
            throw ArgError(arg, "QoS of '" + filter + "' must be 0, 1 or 2");
        }
        filters.emplace_back(std::move(filter), static_cast<int>(qos));
        lua_pop(L, 1);
    }
    if (filters.empty()) throw ArgError(arg, "empty table: no topic to subscribe to");
    std::sort(filters.begin(), filters.end());
    return filters;
}

/// Reads {topic=anything, ...} at `arg`, sorted.
std::vector<std::string> unsubscribe_table(lua_State* L, int arg) {
    std::vector<std::string> filters;
    lua_pushnil(L);
    while (lua_next(L, arg) != 0) {
        if (lua_type(L, -2) != LUA_TSTRING) throw ArgError(arg, "table keys must be topic filters (strings)");
        std::string filter = lua_tostring(L, -2);
        check_topic_filter(arg, filter);
        filters.push_back(std::move(filter));
        lua_pop(L, 1);
    }
    if (filters.empty()) throw ArgError(arg, "empty table: no topic to unsubscribe from");
    std::sort(filters.begin(), filters.end());
    return filters;
}

/// One filter's value in the subscribe table of an MQTT 5.0 client: a QoS, or {qos=, no_local=,
/// retain_as_published=, retain_handling=} over the call's defaults.
protocol::SubscribeEntry subscribe_value(lua_State* L, int arg, const std::string& filter,
                                         const protocol::SubscribeEntry& defaults) {
    protocol::SubscribeEntry entry = defaults;
    if (lua_type(L, -1) != LUA_TTABLE) {
        int is_integer = 0;
        const lua_Integer qos = lua_tointegerx(L, -1, &is_integer);
        if (is_integer == 0 || qos < 0 || qos > 2) throw ArgError(arg, "QoS of '" + filter + "' must be 0, 1 or 2");
        entry.qos = static_cast<QoS>(qos);
        return entry;
    }
    const int table = lua_absindex(L, -1);
    lua_pushnil(L);
    while (lua_next(L, table) != 0) {
        const std::string key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "?";
        if (key == "qos") {
            int is_integer = 0;
            const lua_Integer qos = lua_tointegerx(L, -1, &is_integer);
            if (is_integer == 0 || qos < 0 || qos > 2) throw ArgError(arg, "QoS of '" + filter + "' must be 0, 1 or 2");
            entry.qos = static_cast<QoS>(qos);
        } else if (!read_subscription_option(L, arg, key, entry)) {
            throw ArgError(arg, "unknown subscription option '" + key + "' for '" + filter + "'");
        }
        lua_pop(L, 1);
    }
    return entry;
}

/// The filters of an MQTT 5.0 subscribe(): sorted by filter; `names` owns the strings the entries view.
void subscribe_entries_v5(lua_State* L, const protocol::SubscribeEntry& defaults, std::vector<std::string>& names,
                          std::vector<protocol::SubscribeEntry>& entries, int& callback) {
    std::vector<std::pair<std::string, protocol::SubscribeEntry>> found;
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, 2) != 0) {
            if (lua_type(L, -2) != LUA_TSTRING) throw ArgError(2, "table keys must be topic filters (strings)");
            std::string filter = lua_tostring(L, -2);
            check_topic_filter(2, filter);
            auto entry = subscribe_value(L, 2, filter, defaults);
            found.emplace_back(std::move(filter), entry);
            lua_pop(L, 1);
        }
        if (found.empty()) throw ArgError(2, "empty table: no topic to subscribe to");
    } else {
        std::string filter(check_string(L, 2));
        check_topic_filter(2, filter);
        auto entry = defaults;
        entry.qos = static_cast<QoS>(lua_type(L, 3) == LUA_TFUNCTION ? 0 : opt_qos(L, 3));
        if (lua_type(L, 3) != LUA_TFUNCTION) callback = 4;
        found.emplace_back(std::move(filter), entry);
    }
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    names.reserve(found.size());
    for (auto& [filter, entry] : found) names.push_back(std::move(filter));
    for (std::size_t i = 0; i < names.size(); ++i) {
        entries.push_back(found[i].second);
        entries.back().filter = names[i];
    }
}

int subscribe_v5(lua_State* L, LuaClient& client, int props) {
    protocol::SubscribeEntry defaults;
    protocol::Properties properties;
    if (props != 0) {
        properties = read_properties(L, props, PropertyContext::subscribe, [&](std::string_view key) {
            return read_subscription_option(L, props, key, defaults);
        });
        lua_settop(L, props - 1);
    }
    std::vector<std::string> names;
    std::vector<protocol::SubscribeEntry> entries;
    int callback = 3;
    subscribe_entries_v5(L, defaults, names, entries, callback);
    note_skipped_callback(L, client.runtime(), callback, "subscribe");
    if (lua_type(L, callback) == LUA_TFUNCTION) set_callback(L, "suback", callback);
    Runtime::Enter enter(client.runtime(), L);
    const lua_Integer key = client.store_completion(L, callback + 1);
    const bool ok = client.client().subscribe(entries, properties.view(), client.ack_done(key, names));
    if (!ok) client.drop_completion(L, key);
    lua_pushboolean(L, ok ? 1 : 0);
    return 1;
}

int client_subscribe(lua_State* L) {
    LuaClient& client = check_client(L);
    if (client.is_v5()) return subscribe_v5(L, client, trailing_table(L, client, 3));
    std::vector<std::pair<std::string, int>> filters;
    int callback = 3;
    if (lua_type(L, 2) == LUA_TTABLE) {
        filters = subscribe_table(L, 2);
    } else {
        std::string filter(check_string(L, 2));
        check_topic_filter(2, filter);
        // subscribe(topic, qos[, cb]); qos defaults to 0, also when the callback takes its place.
        const int qos = lua_type(L, 3) == LUA_TFUNCTION ? 0 : opt_qos(L, 3);
        if (lua_type(L, 3) != LUA_TFUNCTION) callback = 4;
        filters.emplace_back(std::move(filter), qos);
    }
    // subscribe({...}, 0, cb): what is not a function where the callback goes is skipped (firmware).
    note_skipped_callback(L, client.runtime(), callback, "subscribe");
    if (lua_type(L, callback) == LUA_TFUNCTION) set_callback(L, "suback", callback);
    Runtime::Enter enter(client.runtime(), L);
    const lua_Integer key = client.store_completion(L, callback + 1);
    std::vector<std::string> names;
    if (key != 0) {
        for (const auto& filter : filters) names.push_back(filter.first);
    }
    const bool ok = client.client().subscribe(std::span<const std::pair<std::string, int>>(filters), {},
                                              client.subscribe_done(key, std::move(names)));
    if (!ok) client.drop_completion(L, key);
    lua_pushboolean(L, ok ? 1 : 0);
    return 1;
}

int client_unsubscribe(lua_State* L) {
    LuaClient& client = check_client(L);
    protocol::Properties properties;
    if (const int props = trailing_table(L, client, 3)) {
        properties = read_properties(L, props, PropertyContext::unsubscribe);
        lua_settop(L, props - 1);
    }
    std::vector<std::string> filters;
    if (lua_type(L, 2) == LUA_TTABLE) {
        filters = unsubscribe_table(L, 2);
    } else {
        filters.emplace_back(check_string(L, 2));
        check_topic_filter(2, filters.front());
    }
    note_skipped_callback(L, client.runtime(), 3, "unsubscribe");
    if (lua_type(L, 3) == LUA_TFUNCTION) set_callback(L, "unsuback", 3);
    Runtime::Enter enter(client.runtime(), L);
    const lua_Integer key = client.store_completion(L, 4);
    bool ok = false;
    if (client.is_v5()) {
        const std::vector<std::string_view> views(filters.begin(), filters.end());
        ok = client.client().unsubscribe(views, properties.view(), client.ack_done(key, filters));
    } else {
        ok = client.client().unsubscribe(std::span<const std::string>(filters), {}, client.unsubscribe_done(key));
    }
    if (!ok) client.drop_completion(L, key);
    lua_pushboolean(L, ok ? 1 : 0);
    return 1;
}

}  // namespace

void register_client_type(lua_State* L) {
    if (luaL_newmetatable(L, client_type) == 0) {
        lua_pop(L, 1);
        return;
    }
    static const luaL_Reg methods[] = {
        {"connect", guarded<client_connect>},   {"close", guarded<client_close>},
        {"lwt", guarded<client_lwt>},           {"on", guarded<client_on>},
        {"publish", guarded<client_publish>},   {"subscribe", guarded<client_subscribe>},
        {"unsubscribe", guarded<client_unsubscribe>}, {"state", guarded<client_state>},
        {"reauth", guarded<client_reauth>},
        {nullptr, nullptr},
    };
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, client_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, client_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushstring(L, client_type);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
}

int client_new(lua_State* L) { return guarded<client_new_impl>(L); }

}  // namespace nmqtt::lua
