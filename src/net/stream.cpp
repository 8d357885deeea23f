// Stream: plain TCP or TLS; the TLS context built from TlsOptions.
#include "stream.hpp"

#include <string_view>

#include <asio/ip/address.hpp>
#include <asio/ssl/host_name_verification.hpp>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "nmqtt/error.hpp"

namespace nmqtt::net {
namespace {

[[noreturn]] void throw_tls_config_error(std::string_view what, const std::string& file, std::error_code ec) {
    throw std::system_error(make_error_code(Errc::invalid_argument),
                            "TLS: cannot load " + std::string(what) + " '" + file + "': " + ec.message());
}

void load_trust(asio::ssl::context& context, const TlsOptions& options) {
    std::error_code ec;
    if (!options.ca_pem.empty()) {
        context.add_certificate_authority(asio::buffer(options.ca_pem), ec);
        if (ec) throw_tls_config_error("ca_pem", "(in memory)", ec);
    }
    if (options.ca_file.empty() && options.ca_path.empty()) {
        if (!options.ca_pem.empty()) return;
        context.set_default_verify_paths(ec);
        if (ec) throw_tls_config_error("the system trust store", "", ec);
        return;
    }
    if (!options.ca_file.empty()) {
        context.load_verify_file(options.ca_file, ec);
        if (ec) throw_tls_config_error("ca_file", options.ca_file, ec);
    }
    if (!options.ca_path.empty()) {
        context.add_verify_path(options.ca_path, ec);
        if (ec) throw_tls_config_error("ca_path", options.ca_path, ec);
    }
}

void load_identity(asio::ssl::context& context, const TlsOptions& options) {
    std::error_code ec;
    if (!options.cert_pem.empty()) {
        context.use_certificate_chain(asio::buffer(options.cert_pem), ec);
        if (ec) throw_tls_config_error("cert_pem", "(in memory)", ec);
    }
    if (!options.key_pem.empty()) {
        context.use_private_key(asio::buffer(options.key_pem), asio::ssl::context::pem, ec);
        if (ec) throw_tls_config_error("key_pem", "(in memory)", ec);
    }
    if (!options.cert_file.empty()) {
        context.use_certificate_chain_file(options.cert_file, ec);
        if (ec) throw_tls_config_error("cert_file", options.cert_file, ec);
    }
    if (!options.key_file.empty()) {
        context.use_private_key_file(options.key_file, asio::ssl::context::pem, ec);
        if (ec) throw_tls_config_error("key_file", options.key_file, ec);
    }
}

bool is_ip_literal(const std::string& host) {
    std::error_code ec;
    (void)asio::ip::make_address(host, ec);
    return !ec;
}

}  // namespace

std::shared_ptr<asio::ssl::context> make_tls_context(const TlsOptions& options) {
    auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
    context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1);
    if (options.verify_peer) {
        load_trust(*context, options);
        context->set_verify_mode(asio::ssl::verify_peer);
    } else {
        context->set_verify_mode(asio::ssl::verify_none);  // the explicit opt-out
    }
    load_identity(*context, options);
    return context;
}

Stream::Stream(asio::io_context& io) : stream_(std::in_place_type<asio::ip::tcp::socket>, io) {}

Stream::Stream(asio::io_context& io, std::shared_ptr<asio::ssl::context> context)
    : context_(std::move(context)), stream_(std::make_unique<TlsStream>(io, *context_)) {}

asio::ip::tcp::socket& Stream::socket() noexcept {
    if (TlsStream* t = tls()) return t->next_layer();
    return std::get<asio::ip::tcp::socket>(stream_);
}

void Stream::set_server_name(const std::string& server_name, bool verify) {
    TlsStream* t = tls();
    if (t == nullptr) return;
    if (!is_ip_literal(server_name)) {
        // SSL_set_tlsext_host_name is a macro around SSL_ctrl with a C cast; call SSL_ctrl directly.
        SSL_ctrl(t->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(server_name.c_str()));
    }
    if (!verify) return;
    t->set_verify_callback(
        [check = asio::ssl::host_name_verification(server_name)](bool preverified,
                                                                asio::ssl::verify_context& ctx) mutable {
            const bool ok = check(preverified, ctx);
            // host_name_verification only answers false; leave a reason OpenSSL can report.
            if (preverified && !ok) X509_STORE_CTX_set_error(ctx.native_handle(), X509_V_ERR_HOSTNAME_MISMATCH);
            return ok;
        });
}

void Stream::write_now(asio::const_buffer buffer) noexcept {
    try {
        std::error_code ignored;
        socket().non_blocking(true, ignored);
        with_stream([&](auto& s) { (void)s.write_some(buffer, ignored); });
    } catch (...) {  // best effort: the connection ends either way
    }
}

void Stream::close() noexcept {
    std::error_code ignored;
    socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    socket().close(ignored);
}

std::string Stream::verify_failure() const {
    TlsStream* t = tls();
    if (t == nullptr) return {};
    const long result = SSL_get_verify_result(t->native_handle());
    if (result == X509_V_OK) return {};
    return X509_verify_cert_error_string(result);
}

}  // namespace nmqtt::net
