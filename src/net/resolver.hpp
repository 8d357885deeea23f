// Resolver: host name to addresses without blocking: Asio's system resolver (IPv4 and IPv6) or a hook.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include "nmqtt/options.hpp"

namespace nmqtt::net {

/// Resolves one host at a time. Results always arrive through the io_context (never inside async_resolve).
/// Thread safety: none; used from one io_context thread.
class Resolver {
public:
    using Endpoints = std::vector<asio::ip::tcp::endpoint>;
    /// Completion: an error (name not found: the original error, e.g. asio::error::host_not_found) or a
    /// non-empty list of endpoints in the resolver's order.
    using Handler = std::function<void(std::error_code error, Endpoints endpoints)>;

    /// `hook` replaces the system resolver when non-empty (ClientOptions::resolve).
    Resolver(asio::io_context& io, ResolveFunction hook);

    /// Starts resolving `host` for `port`. A numeric address (IPv4, or IPv6 with or without brackets) is used
    /// as it is, without asking any resolver.
    void async_resolve(const std::string& host, std::uint16_t port, Handler done);
    /// Cancels a system resolution in progress (its handler then gets operation_aborted). A hook cannot be
    /// cancelled; its late answer is dropped by the caller.
    void cancel() noexcept;

private:
    asio::io_context& io_;
    ResolveFunction hook_;
    asio::ip::tcp::resolver resolver_;
};

}  // namespace nmqtt::net
