#include "lua_client.hpp"

#include <system_error>
#include <utility>

#include "args.hpp"
#include "properties.hpp"
#include "nmqtt/error.hpp"

namespace nmqtt::lua {

namespace {

/// A completion's `err`: nil when `message` is empty (success), else the message.
void push_error(lua_State* L, const std::string& message) {
    if (message.empty()) {
        lua_pushnil(L);
    } else {
        lua_pushlstring(L, message.data(), message.size());
    }
}

// The options table's Authentication Method and first data; each challenge goes to the "auth" callback.
class LuaAuthenticator final : public Authenticator {
public:
    LuaAuthenticator(LuaClient& owner, std::string method, std::string data)
        : owner_(owner), method_(std::move(method)), data_(std::move(data)) {}

    [[nodiscard]] std::string method() const override { return method_; }
    std::string initial_data(bool reauthentication) override {
        return reauthentication ? owner_.take_reauth_data() : data_;
    }
    std::optional<std::string> challenge(std::string_view server_data) override {
        return owner_.auth_challenge(server_data);
    }

private:
    LuaClient& owner_;  // owns the Client that owns this
    std::string method_;
    std::string data_;
};

}  // namespace

LuaClient::LuaClient(Runtime& runtime, ClientOptions options)
    : Object(runtime),
      base_tls_(options.tls),
      v5_(options.protocol == protocol::ProtocolVersion::v5),
      base_v5_(options.v5),
      client_(std::make_unique<Client>(runtime.io(), with_authenticator(std::move(options)))) {
    install_callbacks();
}

ClientOptions LuaClient::with_authenticator(ClientOptions options) {
    if (!options.v5.authentication_method.empty() && !options.authenticator) {
        options.authenticator = std::make_shared<LuaAuthenticator>(*this, options.v5.authentication_method,
                                                                   options.v5.authentication_data);
    }
    return options;
}

std::optional<std::string> LuaClient::auth_challenge(std::string_view server_data) {
    if (is_collected()) return std::nullopt;
    std::optional<std::string> answer;
    runtime().call([&](lua_State* L) {  // an error in the callback gives up (and is reported as any other)
        if (!push_callback(L, "auth")) return;
        lua_pushlstring(L, server_data.data(), server_data.size());
        lua_pushboolean(L, reauthenticating_ ? 1 : 0);
        lua_call(L, 3, 1);
        std::size_t size = 0;
        if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER) {
            const char* text = lua_tolstring(L, -1, &size);
            answer.emplace(text, size);
        }
        lua_pop(L, 1);
    });
    return answer;
}

bool LuaClient::reauthenticate(lua_State* L, std::string data, lua_Integer key) {
    const bool in_progress = std::exchange(reauthenticating_, true);  // refused below if one is under way
    std::string previous = std::exchange(reauth_data_, std::move(data));
    const bool ok = client_->reauthenticate([this, key](std::error_code error) {
        reauthenticating_ = false;
        if (is_collected()) return;
        const std::string message = error ? error.message() : std::string();
        call_lua([&](lua_State* state) {
            if (!push_completion(state, key)) return;
            push_error(state, message);
            lua_call(state, 2, 0);
        });
    });
    if (!ok) {
        reauthenticating_ = in_progress;
        reauth_data_ = std::move(previous);
        drop_completion(L, key);
    }
    return ok;
}

LuaClient::~LuaClient() {
    mark_collected();  // the client's destructor may still report events: they must not reach Lua
    client_.reset();
}

void LuaClient::install_callbacks() {
    client_->on(Event::connect, [this](Client&) { handle_connect(); });
    client_->on_connfail([this](Client&, int reason) { handle_connfail(reason); });
    client_->on(Event::offline, [this](Client&) { handle_offline(); });
    client_->on(Event::puback, [this](Client&) { emit("puback"); });
    client_->on(Event::suback, [this](Client&) { emit("suback"); });
    client_->on(Event::unsuback, [this](Client&) { emit("unsuback"); });
    client_->on_message([this](Client&, const MessageView& m) { emit_message("message", m, true); });
    client_->on_overflow([this](Client&, const MessageView& m) { emit_message("overflow", m, false); });
    client_->on_reconnect([this](Client&, const ReconnectInfo& info) { handle_reconnect(info); });
}

void LuaClient::apply_tls_module() {
    const TlsModuleSettings& module = runtime().tls_settings();
    if (module.version == tls_version_) return;
    tls_version_ = module.version;
    TlsOptions tls = base_tls_;
    if (!module.ca_pem.empty()) tls.ca_pem = module.ca_pem;
    if (module.verify) tls.verify_peer = *module.verify;
    if (module.auth) {
        tls.cert_pem = module.cert_pem;
        tls.key_pem = module.key_pem;
        tls.cert_file.clear();
        tls.key_file.clear();
    }
    client_->set_tls(std::move(tls));
}

void LuaClient::connect(std::string host, std::uint16_t port, bool secure) {
    connect(std::move(host), port, secure, std::nullopt);
}

void LuaClient::connect(std::string host, std::uint16_t port, bool secure, std::optional<session::V5Options> v5) {
    if (is_active()) throw LuaError("already connected");
    apply_tls_module();
    connecting_ = true;
    waiting_ = false;  // a pending automatic attempt is replaced by this one (or cancelled if it throws)
    update_anchor();
    if (awaiting_offline_) {  // started after "offline", with its MQTT 5.0 settings (set only when idle)
        pending_connect_ = PendingConnect{std::move(host), port, secure, std::move(v5)};
        return;
    }
    try {
        if (v5_) client_->set_v5_options(v5.value_or(base_v5_));
        client_->connect(host, port, secure);
    } catch (const std::system_error&) {
        connecting_ = false;
        update_anchor();
        throw;
    }
}

void LuaClient::start_pending_connect() {
    const PendingConnect pending = std::move(*pending_connect_);
    pending_connect_.reset();
    if (!connecting_) return;  // cancelled by close() meanwhile
    try {
        if (v5_) client_->set_v5_options(pending.v5.value_or(base_v5_));
        client_->connect(pending.host, pending.port, pending.secure);
    } catch (const std::system_error&) {  // e.g. a TLS file that cannot be loaded: report as a failed attempt
        connecting_ = false;
        emit_connfail(static_cast<int>(ConnFail::server_not_found));
    }
}

bool LuaClient::close() { return close_with(nullptr); }

bool LuaClient::close(const session::DisconnectRequest& request) { return close_with(&request); }

bool LuaClient::close_with(const session::DisconnectRequest* request) {
    if (!is_active() && !waiting_) {
        (void)client_->close();  // nothing to close here, but no automatic attempt may follow either
        return false;            // (or a close already under way)
    }
    const bool was_connecting = connecting_;
    const bool was_established = established_;
    const bool was_awaiting = awaiting_offline_;
    const bool was_waiting = waiting_;
    connecting_ = false;  // a connect in progress is cancelled silently
    waiting_ = false;
    pending_connect_.reset();
    if (established_) {
        established_ = false;
        awaiting_offline_ = true;
    }
    // From the "reconnect" callback of an attempt about to start, nmqtt::Client::close() cancels the attempt
    // but has nothing to report: count it as cancelled.
    const bool closed = (request != nullptr ? client_->close(*request) : client_->close()) || starting_;
    if (!closed) {
        connecting_ = was_connecting;
        established_ = was_established;
        awaiting_offline_ = was_awaiting;
        waiting_ = was_waiting;
    }
    update_anchor();
    return closed;
}

void LuaClient::close_for_exit() {
    if (is_active() || waiting_) close();
}

const char* LuaClient::state_name() const noexcept {
    if (established_) return "connected";
    if (connecting_) return "connecting";
    if (awaiting_offline_) return "closing";
    if (waiting_) return "waiting";
    return "disconnected";
}

void LuaClient::handle_connect() {
    if (is_collected() || !connecting_) return;
    connecting_ = false;
    established_ = true;
    update_anchor();
    emit("connect");
}

void LuaClient::handle_connfail(int reason) {
    if (is_collected()) return;
    if (established_) {  // the reference: losing an established connection runs "offline", never "connfail"
        handle_offline();
        return;
    }
    if (!connecting_) return;  // cancelled by close(): silent
    connecting_ = false;
    try {
        emit_connfail(reason);
    } catch (const Runtime::CallbackFailed&) {
        update_anchor();
        throw;
    }
    update_anchor();
}

void LuaClient::handle_offline() {
    if (is_collected()) return;
    const bool report = established_ || awaiting_offline_;
    established_ = false;
    awaiting_offline_ = false;
    const auto follow_up = [this] {  // also after an error in "offline"
        if (pending_connect_) start_pending_connect();
        update_anchor();
    };
    try {
        if (report) emit_offline();  // a failed connect reports through "connfail" only
    } catch (const Runtime::CallbackFailed&) {
        follow_up();
        throw;
    }
    follow_up();
}

// nmqtt::Client reports a step of automatic reconnection right after the "connfail"/"offline" callback of
// the ending that caused it, in the same handler, so no Lua code (and no garbage collection step) runs between
// the un-anchoring at that ending and the anchoring here.
void LuaClient::handle_reconnect(const ReconnectInfo& info) {
    if (is_collected()) return;
    const bool attempt_threw = info.kind == ReconnectInfo::Kind::gave_up && connecting_ && !client_->is_connecting();
    waiting_ = info.kind == ReconnectInfo::Kind::scheduled;
    if (info.kind == ReconnectInfo::Kind::attempting) connecting_ = true;
    set_anchored(true);  // for the callbacks below, even when giving up
    try {
        if (attempt_threw) {  // the attempt could not start (a TLS file that cannot be loaded): a failed attempt
            connecting_ = false;
            emit_connfail(info.code);
        }
        starting_ = info.kind == ReconnectInfo::Kind::attempting;
        emit_reconnect(info);
    } catch (const Runtime::CallbackFailed&) {
        starting_ = false;
        update_anchor();
        throw;
    }
    starting_ = false;
    update_anchor();
}

bool LuaClient::push_callback(lua_State* L, const char* slot) const {
    if (!runtime().push_object(L, this)) return false;
    lua_getuservalue(L, -1);
    lua_pushstring(L, slot);
    if (lua_rawget(L, -2) != LUA_TFUNCTION) {
        lua_pop(L, 3);
        return false;
    }
    lua_replace(L, -2);  // object, function
    lua_insert(L, -2);   // function, object
    return true;
}

bool LuaClient::push_completion(lua_State* L, lua_Integer key) const {
    if (key == 0 || !runtime().push_object(L, this)) return false;
    lua_getuservalue(L, -1);
    if (lua_rawgeti(L, -1, key) != LUA_TFUNCTION) {
        lua_pop(L, 3);
        return false;
    }
    lua_pushnil(L);
    lua_rawseti(L, -3, key);  // called once
    lua_replace(L, -2);
    lua_insert(L, -2);
    return true;
}

void LuaClient::emit(const char* slot) {
    if (is_collected()) return;
    call_lua([this, slot](lua_State* L) {
        if (push_callback(L, slot)) lua_call(L, 1, 0);
    });
}

// connfail(client, reason): MQTT 5.0 refusals give their Connect Reason Code (0x80..) as the reason, with a
// third argument, the CONNACK's properties (reason_string, server_reference...), when it has any.
void LuaClient::emit_connfail(int reason) {
    const std::uint8_t code = v5_ && reason > 0 ? client_->last_reason_code() : std::uint8_t{0};
    call_lua([this, reason, code](lua_State* L) {
        if (!push_callback(L, "connfail")) return;
        lua_pushinteger(L, code != 0 ? code : reason);
        if (code == 0 || client_->last_properties().empty()) {
            lua_call(L, 2, 0);
            return;
        }
        lua_newtable(L);
        push_properties(L, client_->last_properties());
        lua_call(L, 3, 0);
    });
}

// offline(client): MQTT 5.0, after a DISCONNECT from the server, also its reason code and a table of its
// properties (reason_string, server_reference, user_properties).
void LuaClient::emit_offline() {
    if (is_collected()) return;
    const bool by_server = v5_ && client_->last_error() == Errc::server_disconnected;
    call_lua([this, by_server](lua_State* L) {
        if (!push_callback(L, "offline")) return;
        if (!by_server) {
            lua_call(L, 1, 0);
            return;
        }
        lua_pushinteger(L, client_->last_reason_code());
        lua_newtable(L);
        push_properties(L, client_->last_properties());
        lua_call(L, 3, 0);
    });
}

namespace {

const char* kind_name(ReconnectInfo::Kind kind) noexcept {
    switch (kind) {
        case ReconnectInfo::Kind::scheduled: return "scheduled";
        case ReconnectInfo::Kind::attempting: return "attempting";
        case ReconnectInfo::Kind::gave_up: return "gave_up";
    }
    return "?";
}

}  // namespace

// reconnect(client, info): info = {kind=, attempt=, delay_ms=, reason=, code=, message=, host=, port=,
// secure=, giving_up=}; reason, code and message are nil for "attempting" (no ending to tell about).
void LuaClient::emit_reconnect(const ReconnectInfo& info) {
    if (is_collected()) return;
    const bool has_reason = info.kind != ReconnectInfo::Kind::attempting;
    const std::string reason = has_reason && info.reason ? info.reason.message() : std::string();
    call_lua([&](lua_State* L) {
        if (!push_callback(L, "reconnect")) return;
        lua_createtable(L, 0, 10);
        lua_pushstring(L, kind_name(info.kind));
        lua_setfield(L, -2, "kind");
        lua_pushinteger(L, info.attempt);
        lua_setfield(L, -2, "attempt");
        lua_pushinteger(L, static_cast<lua_Integer>(info.delay.count()));
        lua_setfield(L, -2, "delay_ms");
        if (has_reason) {
            if (info.reason) lua_pushlstring(L, reason.data(), reason.size());
            else lua_pushnil(L);
            lua_setfield(L, -2, "reason");
            lua_pushinteger(L, info.code);
            lua_setfield(L, -2, "code");
            lua_pushlstring(L, info.message.data(), info.message.size());
            lua_setfield(L, -2, "message");
        }
        lua_pushlstring(L, info.broker.host.data(), info.broker.host.size());
        lua_setfield(L, -2, "host");
        lua_pushinteger(L, info.broker.port);
        lua_setfield(L, -2, "port");
        lua_pushboolean(L, info.broker.secure ? 1 : 0);
        lua_setfield(L, -2, "secure");
        lua_pushboolean(L, info.kind == ReconnectInfo::Kind::gave_up ? 1 : 0);
        lua_setfield(L, -2, "giving_up");
        lua_call(L, 2, 0);
    });
}

void LuaClient::emit_message(const char* slot, const MessageView& message, bool nil_if_empty) {
    if (is_collected()) return;
    call_lua([this, slot, &message, nil_if_empty](lua_State* L) {
        if (!push_callback(L, slot)) return;
        lua_pushlstring(L, message.topic.data(), message.topic.size());
        if (message.payload.empty() && nil_if_empty) {
            lua_pushnil(L);  // as NodeMCU: an empty payload arrives as nil
        } else {
            lua_pushlstring(L, message.payload.data(), message.payload.size());
        }
        lua_createtable(L, 0, 4);  // extension: the 4th argument
        lua_pushinteger(L, static_cast<lua_Integer>(message.qos));
        lua_setfield(L, -2, "qos");
        lua_pushboolean(L, message.retain ? 1 : 0);
        lua_setfield(L, -2, "retain");
        lua_pushboolean(L, message.dup ? 1 : 0);
        lua_setfield(L, -2, "dup");
        lua_pushinteger(L, message.packet_id);
        lua_setfield(L, -2, "packet_id");
        push_properties(L, message.properties);  // MQTT 5.0: content_type, user_properties, ... (none at 3.1.1)
        lua_call(L, 4, 0);
    });
}

lua_Integer LuaClient::store_completion(lua_State* L, int arg) {
    if (lua_type(L, arg) != LUA_TFUNCTION) return 0;
    const lua_Integer key = ++next_key_;
    lua_getuservalue(L, 1);
    lua_pushvalue(L, arg);
    lua_rawseti(L, -2, key);
    lua_pop(L, 1);
    return key;
}

void LuaClient::drop_completion(lua_State* L, lua_Integer key) {
    if (key == 0) return;
    lua_getuservalue(L, 1);
    lua_pushnil(L);
    lua_rawseti(L, -2, key);
    lua_pop(L, 1);
}

Client::PublishCompletion LuaClient::publish_done(lua_Integer key) {
    if (key == 0) return {};
    return [this, key](std::error_code error, PacketId packet_id) { complete(key, error, packet_id, nullptr, {}); };
}

Client::UnsubscribeCompletion LuaClient::unsubscribe_done(lua_Integer key) {
    if (key == 0) return {};
    return [this, key](std::error_code error, PacketId packet_id) { complete(key, error, packet_id, nullptr, {}); };
}

Client::SubscribeCompletion LuaClient::subscribe_done(lua_Integer key, std::vector<std::string> filters) {
    if (key == 0) return {};
    return [this, key, filters = std::move(filters)](std::error_code error, PacketId packet_id,
                                                     std::span<const std::uint8_t> granted) {
        complete(key, error, packet_id, &filters, granted);
    };
}

Client::AckCompletion LuaClient::ack_done(lua_Integer key, std::vector<std::string> filters) {
    if (key == 0) return {};
    return [this, key, filters = std::move(filters)](const Acknowledgement& ack) { complete_ack(key, ack, filters); };
}

void LuaClient::complete_ack(lua_Integer key, const Acknowledgement& ack, const std::vector<std::string>& filters) {
    if (is_collected()) return;
    const std::string message = ack.error ? ack.error.message() : std::string();
    call_lua([&](lua_State* L) {
        if (!push_completion(L, key)) return;
        push_error(L, message);
        lua_pushinteger(L, ack.packet_id);
        if (filters.empty()) {
            lua_pushinteger(L, ack.reason_code);
        } else {
            lua_createtable(L, 0, static_cast<int>(filters.size()));
            for (std::size_t i = 0; i < filters.size() && i < ack.reason_codes.size(); ++i) {
                lua_pushinteger(L, ack.reason_codes[i]);
                lua_setfield(L, -2, filters[i].c_str());
            }
        }
        lua_newtable(L);
        push_properties(L, ack.properties);
        lua_call(L, 5, 0);
    });
}

// done(client, err, packet_id[, granted]): err is nil on success, else the error message; granted maps each
// filter to the granted QoS (128 when the broker refused it).
void LuaClient::complete(lua_Integer key, std::error_code error, PacketId packet_id,
                         const std::vector<std::string>* filters, std::span<const std::uint8_t> granted) {
    if (is_collected()) return;
    const std::string message = error ? error.message() : std::string();
    call_lua([&](lua_State* L) {
        if (!push_completion(L, key)) return;
        push_error(L, message);
        lua_pushinteger(L, packet_id);
        if (filters == nullptr) {
            lua_call(L, 3, 0);
            return;
        }
        lua_createtable(L, 0, static_cast<int>(filters->size()));
        for (std::size_t i = 0; i < filters->size() && i < granted.size(); ++i) {
            lua_pushinteger(L, granted[i]);
            lua_setfield(L, -2, (*filters)[i].c_str());
        }
        lua_call(L, 4, 0);
    });
}

}  // namespace nmqtt::lua
