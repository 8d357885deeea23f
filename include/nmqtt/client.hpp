// nmqtt::Client: the NodeMCU mqtt client API in C++, on Asio, with per-operation completions added.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "nmqtt/error.hpp"
#include "nmqtt/options.hpp"
#include "nmqtt/types.hpp"

namespace asio { class io_context; }

namespace nmqtt {

/// The events of NodeMCU's client:on(event, callback).
enum class Event : std::uint8_t { connect, connfail, suback, unsuback, puback, message, overflow, offline };

class Client {
public:
    /// NodeMCU callback shapes: function(client), function(client, reason), function(client, topic, data).
    using Callback = std::function<void(Client&)>;
    using FailCallback = std::function<void(Client&, int reason)>;
    using MessageCallback = std::function<void(Client&, const MessageView& message)>;

    /// Per-operation completions (nmqtt extension). `error` is empty on success.
    using PublishCompletion = std::function<void(std::error_code error, PacketId packet_id)>;
    using SubscribeCompletion =
        std::function<void(std::error_code error, PacketId packet_id, std::span<const std::uint8_t> granted)>;
    using UnsubscribeCompletion = std::function<void(std::error_code error, PacketId packet_id)>;

    /// mqtt.Client(clientid, keepalive[, username, password, cleansession, max_message_length]).
    /// Throws std::system_error (invalid_argument, empty_client_id_needs_clean_session, bad_utf8,
    /// password_without_username) for options the standard forbids.
    Client(std::string client_id, std::uint16_t keepalive_seconds, std::optional<std::string> username = {},
           std::optional<std::string> password = {}, bool clean_session = true,
           std::size_t max_message_length = 1024);
    /// Full options; owns its io_context. Throws as above.
    explicit Client(ClientOptions options);
    /// Full options on an io_context the caller owns (and runs). Throws as above.
    Client(asio::io_context& io, ClientOptions options);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    /// client:connect(host[, port[, secure]][, on_connect[, on_fail]]). Resolves `host` (IPv4 and IPv6,
    /// every address tried in turn), connects, optionally TLS, sends CONNECT. Non-null callbacks replace the
    /// "connect"/"connfail" callbacks (aliasing); null keeps the existing ones. On failure only "connfail"
    /// runs, with -5..-1 or a CONNACK code 1..5. Throws std::system_error(already_connected) while
    /// connected or connecting.
    void connect(std::string host, std::uint16_t port = 1883, bool secure = false, Callback on_connect = {},
                 FailCallback on_fail = {});

    /// client:close(): sends DISCONNECT after the queued packets, then closes TCP, so the will is not
    /// published (NodeMCU bug 3031 fixed); "offline" runs once the connection is gone. Cancels a connect in
    /// progress silently. Returns true when something was closed or cancelled, false otherwise.
    bool close();

    /// client:lwt(topic, message[, qos[, retain]]): the will for the next connect().
    /// Throws std::system_error: bad_topic_name, bad_utf8, bad_qos, already_connected.
    void lwt(std::string topic, std::string message, int qos = 0, bool retain = false);

    /// client:on(event, callback). Passing an empty function unregisters.
    void on(Event event, Callback callback);          ///< connect, suback, unsuback, puback, offline
    void on_connfail(FailCallback callback);          ///< connfail
    void on_message(MessageCallback callback);        ///< message
    void on_overflow(MessageCallback callback);       ///< overflow

    /// client:publish(topic, payload, qos, retain[, function(client)]). A non-null `on_puback` replaces the
    /// "puback" callback for all publishes (NodeMCU aliasing). `done` (extension) completes this publish only.
    /// Returns false (reason in last_error()) for bad arguments, no connection, or a full queue.
    /// Allocates nothing in steady state when `done` is empty or fits std::function's small buffer.
    bool publish(std::string_view topic, std::string_view payload, int qos = 0, bool retain = false,
                 Callback on_puback = {}, PublishCompletion done = {});

    /// client:subscribe(topic, qos[, function(client)]) and client:subscribe(table[, function(client)]).
    bool subscribe(std::string_view filter, int qos = 0, Callback on_suback = {}, SubscribeCompletion done = {});
    bool subscribe(std::span<const std::pair<std::string, int>> filters, Callback on_suback = {},
                   SubscribeCompletion done = {});

    /// client:unsubscribe(topic[, function(client)]) and client:unsubscribe(table[, function(client)]).
    bool unsubscribe(std::string_view filter, Callback on_unsuback = {}, UnsubscribeCompletion done = {});
    bool unsubscribe(std::span<const std::string> filters, Callback on_unsuback = {},
                     UnsubscribeCompletion done = {});

    /// Why the last publish/subscribe/unsubscribe returned false.
    [[nodiscard]] std::error_code last_error() const noexcept;
    [[nodiscard]] bool is_connected() const noexcept;
    [[nodiscard]] bool is_connecting() const noexcept;

    /// Event loop, in the caller's thread. run() returns when nothing is left to do.
    std::size_t run();
    std::size_t run_for(std::chrono::milliseconds duration);
    std::size_t poll();
    /// The io_context the client runs on. To call the client from another thread, asio::post() a function
    /// to it; the Client itself is not thread-safe.
    [[nodiscard]] asio::io_context& context() noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace nmqtt
