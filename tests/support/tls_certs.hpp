// TLS test certificates, generated at test time with the `openssl` command and cached per test process.
#pragma once

#include <filesystem>

namespace nmqtt::test {

/// Paths of PEM files (P-256 keys, unencrypted). Certificates are valid from generation time for 10 years.
struct TlsCerts {
    std::filesystem::path dir;              ///< directory holding everything below

    std::filesystem::path ca_cert;          ///< CA "nmqtt test CA"; signs everything except other_*
    std::filesystem::path ca_key;

    std::filesystem::path server_cert;      ///< by ca_cert, CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1
    std::filesystem::path server_key;

    std::filesystem::path wrong_name_cert;  ///< signed by ca_cert, CN=wrong.example, SAN DNS:wrong.example
    std::filesystem::path wrong_name_key;

    std::filesystem::path client_cert;      ///< CN=nmqtt-test-client, extendedKeyUsage clientAuth, by ca_cert
    std::filesystem::path client_key;

    std::filesystem::path other_ca_cert;    ///< an unrelated CA "nmqtt other CA": trusts nothing of the above
    std::filesystem::path other_ca_key;

    std::filesystem::path other_client_cert;  ///< client cert signed by other_ca_cert (refused by mutual TLS)
    std::filesystem::path other_client_key;
};

/// Returns the certificates, generating them on first call (thread-safe; a few hundred ms once per
/// process). They live in a temp dir removed at process exit. Throws std::runtime_error if `openssl` fails
/// (the message holds its stderr).
[[nodiscard]] const TlsCerts& tls_certs();

}  // namespace nmqtt::test
