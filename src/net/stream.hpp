// Stream: one TCP connection, plain or TLS (asio::ssl over OpenSSL), behind one small interface.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>
#include <asio/write.hpp>

#include "nmqtt/options.hpp"

namespace nmqtt::net {

/// Builds the client TLS context of `options`: TLS 1.2 or later, peer verification against the system trust
/// store (or ca_file / ca_path) unless verify_peer is false, and the client certificate and key for mutual TLS.
/// Throws std::system_error(Errc::invalid_argument) naming the file that could not be loaded.
[[nodiscard]] std::shared_ptr<asio::ssl::context> make_tls_context(const TlsOptions& options);

/// A TCP socket, or a TLS stream over one. The async operations take Asio completion handlers; for plain TCP
/// the handshake is skipped by the caller (is_tls()). Thread safety: none; used from one io_context thread.
class Stream {
public:
    /// Plain TCP.
    explicit Stream(asio::io_context& io);
    /// TLS over TCP. `context` stays alive as long as the stream.
    Stream(asio::io_context& io, std::shared_ptr<asio::ssl::context> context);

    [[nodiscard]] bool is_tls() const noexcept { return stream_.index() == 1; }
    /// The TCP layer (connect, options, close).
    [[nodiscard]] asio::ip::tcp::socket& socket() noexcept;

    /// Prepares the TLS handshake for `server_name`: SNI (host names only, never an IP literal, RFC 6066
    /// section 3) and, when `verify` is true, the host name check of asio::ssl::host_name_verification, which
    /// records X509_V_ERR_HOSTNAME_MISMATCH on a mismatch so that verify_failure() can say so.
    void set_server_name(const std::string& server_name, bool verify);

    /// TLS client handshake. Handler: void(std::error_code).
    template <class Handler>
    void async_handshake(Handler&& handler) {
        std::get<TlsPointer>(stream_)->async_handshake(asio::ssl::stream_base::client, std::forward<Handler>(handler));
    }

    /// Reads what is available into `buffer`. Handler: void(std::error_code, std::size_t).
    template <class Handler>
    void async_read_some(asio::mutable_buffer buffer, Handler&& handler) {
        with_stream([&](auto& s) { s.async_read_some(buffer, std::forward<Handler>(handler)); });
    }

    /// Writes all of `buffer`. Handler: void(std::error_code, std::size_t).
    template <class Handler>
    void async_write(asio::const_buffer buffer, Handler&& handler) {
        with_stream([&](auto& s) { asio::async_write(s, buffer, std::forward<Handler>(handler)); });
    }

    /// Writes what the socket takes of `buffer` now, without waiting (a best-effort goodbye such as a
    /// WebSocket close frame). Errors are ignored.
    void write_now(asio::const_buffer buffer) noexcept;

    /// Closes the TCP socket (no TLS close_notify: MQTT's DISCONNECT already ended the session). Pending
    /// operations complete with asio::error::operation_aborted.
    void close() noexcept;

    /// Why the peer's certificate was rejected ("hostname mismatch", "unable to get local issuer
    /// certificate", ...), or "" when verification did not fail.
    [[nodiscard]] std::string verify_failure() const;

private:
    using TlsStream = asio::ssl::stream<asio::ip::tcp::socket>;
    // The TLS stream lives on the heap: held inline it would make every plain connection ~400 bytes larger.
    using TlsPointer = std::unique_ptr<TlsStream>;

    template <class F>
    void with_stream(F&& f) {
        if (auto* tls = std::get_if<TlsPointer>(&stream_)) {
            f(**tls);
        } else {
            f(std::get<asio::ip::tcp::socket>(stream_));
        }
    }
    [[nodiscard]] TlsStream* tls() const noexcept {
        const auto* p = std::get_if<TlsPointer>(&stream_);
        return p == nullptr ? nullptr : p->get();
    }

    std::shared_ptr<asio::ssl::context> context_;
    std::variant<asio::ip::tcp::socket, TlsPointer> stream_;
};

}  // namespace nmqtt::net
