// Resolver: Asio's asynchronous getaddrinfo, numeric addresses directly, or the user's hook.
#include "resolver.hpp"

#include <string_view>
#include <utility>

#include <asio/error.hpp>
#include <asio/ip/address.hpp>
#include <asio/post.hpp>

namespace nmqtt::net {
namespace {

// "[::1]" -> "::1"; anything else unchanged.
std::string strip_brackets(const std::string& host) {
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') return host.substr(1, host.size() - 2);
    return host;
}

std::error_code to_endpoints(const std::vector<std::string>& addresses, std::uint16_t port,
                             Resolver::Endpoints& out) {
    for (const auto& text : addresses) {
        std::error_code ec;
        const auto address = asio::ip::make_address(strip_brackets(text), ec);
        if (ec) return asio::error::host_not_found;
        out.emplace_back(address, port);
    }
    if (out.empty()) return asio::error::host_not_found;
    return {};
}

}  // namespace

Resolver::Resolver(asio::io_context& io, ResolveFunction hook) : io_(io), hook_(std::move(hook)), resolver_(io) {}

void Resolver::async_resolve(const std::string& host, std::uint16_t port, Handler done) {
    std::error_code ec;
    const auto numeric = asio::ip::make_address(strip_brackets(host), ec);
    if (!ec) {
        asio::post(io_, [done = std::move(done), endpoint = asio::ip::tcp::endpoint(numeric, port)]() mutable {
            done({}, Endpoints{endpoint});
        });
        return;
    }
    if (hook_) {
        hook_(host, [&io = io_, port, done = std::move(done)](std::error_code error,
                                                              std::vector<std::string> addresses) mutable {
            Endpoints endpoints;
            if (!error) error = to_endpoints(addresses, port, endpoints);
            asio::post(io, [done = std::move(done), error, endpoints = std::move(endpoints)]() mutable {
                done(error, std::move(endpoints));
            });
        });
        return;
    }
    resolver_.async_resolve(host, std::to_string(port), asio::ip::tcp::resolver::numeric_service,
                            [done = std::move(done)](std::error_code error,
                                                     const asio::ip::tcp::resolver::results_type& results) {
                                Endpoints endpoints;
                                for (const auto& entry : results) endpoints.push_back(entry.endpoint());
                                if (!error && endpoints.empty()) error = asio::error::host_not_found;
                                done(error, std::move(endpoints));
                            });
}

void Resolver::cancel() noexcept { resolver_.cancel(); }

}  // namespace nmqtt::net
