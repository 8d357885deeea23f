// LuaClient: one mqtt.client userdata's C++ side. It owns the nmqtt::Client, turns its events into the
// Lua callbacks stored in the userdata's user value table, and applies the NodeMCU rules on top of the
// events: only the failure callback after a failed connect, only "offline" after an established connection.
// With automatic reconnection (extension) it also reports every step through the "reconnect" callback, and a
// client waiting for its next attempt counts as connecting (kept alive, keeps the event loop going).
#pragma once

#include "lua_compat.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "nmqtt/client.hpp"
#include "runtime.hpp"

namespace nmqtt::lua {

class LuaClient final : public Object {
public:
    /// Builds the client on the runtime's io_context. Throws std::system_error as nmqtt::Client does.
    LuaClient(Runtime& runtime, ClientOptions options);
    ~LuaClient() override;

    [[nodiscard]] Client& client() noexcept { return *client_; }

    /// Starts a connection. Throws LuaError("already connected") while connected or connecting, and
    /// std::system_error for what nmqtt::Client::connect() rejects. Right after close() the previous
    /// connection may still be sending its DISCONNECT: the new attempt then starts once it is gone (the
    /// reference allows connect() again at once), and reports as any other attempt.
    void connect(std::string host, std::uint16_t port, bool secure);
    /// MQTT 5.0: the same with CONNECT settings and properties for this attempt (nullopt: the options table's).
    void connect(std::string host, std::uint16_t port, bool secure, std::optional<session::V5Options> v5);
    /// True for a client made with protocol = 5 in its options table.
    [[nodiscard]] bool is_v5() const noexcept { return v5_; }
    /// The V5Options of the options table (a connect() property table starts from them).
    [[nodiscard]] const session::V5Options& base_v5() const noexcept { return base_v5_; }
    /// client:close(): true when something was closed or cancelled (a connection, an attempt, the wait for
    /// the next automatic attempt). Always stops automatic reconnection, also when it returns false (a close()
    /// from the "offline" or "connfail" callback keeps the next attempt from being scheduled).
    bool close();
    /// MQTT 5.0: the same with a DISCONNECT reason code, Session Expiry change and properties.
    bool close(const session::DisconnectRequest& request);
    /// True while connected or connecting (lwt() is refused then).
    [[nodiscard]] bool is_active() const noexcept { return connecting_ || established_; }
    /// True while waiting for the next automatic reconnection attempt (extension).
    [[nodiscard]] bool is_waiting() const noexcept { return waiting_; }
    /// "connected", "connecting", "closing" (closed, "offline" not yet delivered), "waiting" (for the next
    /// automatic reconnection attempt) or "disconnected".
    [[nodiscard]] const char* state_name() const noexcept;

    /// Stores the function at `arg` (if it is one) under a fresh key of the user value table; returns the
    /// key, or 0 when there is no function. The completions below call it once and drop it.
    lua_Integer store_completion(lua_State* L, int arg);
    void drop_completion(lua_State* L, lua_Integer key);
    Client::PublishCompletion publish_done(lua_Integer key);
    Client::UnsubscribeCompletion unsubscribe_done(lua_Integer key);
    Client::SubscribeCompletion subscribe_done(lua_Integer key, std::vector<std::string> filters);
    /// MQTT 5.0 completions: done(client, err, packet_id, reason_code | codes, properties), where codes maps
    /// each filter to its SUBACK / UNSUBACK reason code. `filters` empty for publish.
    Client::AckCompletion ack_done(lua_Integer key, std::vector<std::string> filters);

    /// MQTT 5.0 enhanced authentication (options authentication_method / authentication_data): the "auth"
    /// callback answers each challenge, auth(client, server_data, reauthenticating) -> answer (a string) or
    /// nil to give up. No callback: the exchange fails (auth_failed).
    [[nodiscard]] std::optional<std::string> auth_challenge(std::string_view server_data);
    /// client:reauth([data][, done]): AUTH 0x19 with `data`; done(client, err) once the server answered
    /// (err nil on success, else a message). False (the completion dropped) when nmqtt::Client refuses.
    bool reauthenticate(lua_State* L, std::string data, lua_Integer key);
    /// The data of the next re-authentication (set by reauthenticate()).
    [[nodiscard]] std::string take_reauth_data() { return std::exchange(reauth_data_, {}); }

    void close_for_exit() override;
    [[nodiscard]] bool is_closing() const noexcept override { return awaiting_offline_ && !is_collected(); }

private:
    ClientOptions with_authenticator(ClientOptions options);
    void install_callbacks();
    bool close_with(const session::DisconnectRequest* request);
    /// Gives the client the tls module's settings over its own TLS options, when they changed.
    void apply_tls_module();
    void handle_connect();
    void handle_connfail(int reason);
    void handle_offline();
    void handle_reconnect(const ReconnectInfo& info);
    void update_anchor() { set_anchored(connecting_ || established_ || awaiting_offline_ || waiting_); }
    /// runtime().call(body), then Runtime::CallbackFailed when the callback raised an error: nmqtt::Client
    /// then stops the step there and reports the events behind it at the next run (none is skipped).
    template <class F>
    void call_lua(F&& body) {
        const bool had_error = runtime().has_error();
        runtime().call(std::forward<F>(body));
        if (!had_error && runtime().has_error()) throw Runtime::CallbackFailed();
    }

    /// Pushes the function stored under `slot` and the client userdata; false (nothing pushed) if none.
    bool push_callback(lua_State* L, const char* slot) const;
    bool push_completion(lua_State* L, lua_Integer key) const;
    void emit(const char* slot);
    void emit_connfail(int reason);
    void emit_offline();
    void complete_ack(lua_Integer key, const Acknowledgement& ack, const std::vector<std::string>& filters);
    void emit_reconnect(const ReconnectInfo& info);
    void emit_message(const char* slot, const MessageView& message, bool nil_if_empty);
    void complete(lua_Integer key, std::error_code error, PacketId packet_id,
                  const std::vector<std::string>* filters, std::span<const std::uint8_t> granted);

    struct PendingConnect {
        std::string host;
        std::uint16_t port;
        bool secure;
        std::optional<session::V5Options> v5;
    };
    void start_pending_connect();

    TlsOptions base_tls_;              // the options table's TLS settings
    bool v5_ = false;                  // protocol = 5
    session::V5Options base_v5_;       // the options table's MQTT 5.0 settings
    std::uint64_t tls_version_ = 0;    // the tls module's settings last applied
    std::unique_ptr<Client> client_;
    std::optional<PendingConnect> pending_connect_;  // connect() while the previous connection was closing
    std::string reauth_data_;          // client:reauth()'s data, until the client asks for it
    bool reauthenticating_ = false;    // the "auth" callback's third argument
    lua_Integer next_key_ = 0;
    bool connecting_ = false;        // connect() called, no CONNACK or failure yet
    bool established_ = false;       // CONNACK accepted, connection not yet lost or closed
    bool awaiting_offline_ = false;  // close() of an established connection: "offline" still to come
    bool waiting_ = false;           // automatic reconnection scheduled, its attempt not started yet
    bool starting_ = false;          // in the "reconnect" callback of an attempt that is about to start
};

/// Name of the metatable of mqtt.client userdata.
inline constexpr const char* client_type = "mqtt.client";

}  // namespace nmqtt::lua
