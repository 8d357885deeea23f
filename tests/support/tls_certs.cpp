#include "support/tls_certs.hpp"

#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace nmqtt::test {
namespace {

namespace fs = std::filesystem;

void openssl(std::vector<std::string> args) {
    args.insert(args.begin(), "openssl");
    const ProcessResult r = run_process(args, std::chrono::seconds(30));
    if (!r.status.success()) {
        std::string command;
        for (const auto& a : args) command += a + " ";
        throw std::runtime_error("tls_certs(): `" + command + "` failed: " + r.err);
    }
}

// A fresh P-256 key: fast to generate and accepted by mosquitto and OpenSSL 3 clients.
void make_key(const fs::path& key) {
    openssl({"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key.string()});
}

void make_ca(const fs::path& cert, const fs::path& key, const std::string& name) {
    make_key(key);
    openssl({"req", "-x509", "-new", "-key", key.string(), "-out", cert.string(), "-days", "3650", "-subj",
             "/CN=" + name, "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
             "keyUsage=critical,keyCertSign,cRLSign"});
}

// Issues a leaf certificate for `subject_cn` with the extensions in `extensions` (x509v3 config lines).
void make_leaf(const fs::path& dir, const fs::path& cert, const fs::path& key, const std::string& subject_cn,
               const std::string& extensions, const fs::path& ca_cert, const fs::path& ca_key, int serial) {
    make_key(key);
    const fs::path csr = dir / (cert.stem().string() + ".csr");
    const fs::path ext = dir / (cert.stem().string() + ".ext");
    write_file(ext, extensions);
    openssl({"req", "-new", "-key", key.string(), "-out", csr.string(), "-subj", "/CN=" + subject_cn});
    openssl({"x509", "-req", "-in", csr.string(), "-CA", ca_cert.string(), "-CAkey", ca_key.string(),
             "-set_serial", std::to_string(serial), "-days", "3650", "-extfile", ext.string(), "-out",
             cert.string()});
}

const std::string server_extensions =
    "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
    "extendedKeyUsage=serverAuth\n";
const std::string client_extensions =
    "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
    "extendedKeyUsage=clientAuth\n";

// Owns the directory for the lifetime of the process.
struct CertStore {
    TempDir dir{"nmqtt-certs"};
    TlsCerts certs;
};

std::unique_ptr<CertStore> generate() {
    auto store = std::make_unique<CertStore>();
    const fs::path d = store->dir.path();
    TlsCerts& c = store->certs;
    c.dir = d;
    c.ca_cert = d / "ca.crt";
    c.ca_key = d / "ca.key";
    c.server_cert = d / "server.crt";
    c.server_key = d / "server.key";
    c.wrong_name_cert = d / "wrong_name.crt";
    c.wrong_name_key = d / "wrong_name.key";
    c.client_cert = d / "client.crt";
    c.client_key = d / "client.key";
    c.other_ca_cert = d / "other_ca.crt";
    c.other_ca_key = d / "other_ca.key";
    c.other_client_cert = d / "other_client.crt";
    c.other_client_key = d / "other_client.key";

    make_ca(c.ca_cert, c.ca_key, "nmqtt test CA");
    make_ca(c.other_ca_cert, c.other_ca_key, "nmqtt other CA");
    make_leaf(d, c.server_cert, c.server_key, "localhost",
              server_extensions + "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n", c.ca_cert, c.ca_key, 1001);
    make_leaf(d, c.wrong_name_cert, c.wrong_name_key, "wrong.example",
              server_extensions + "subjectAltName=DNS:wrong.example\n", c.ca_cert, c.ca_key, 1002);
    make_leaf(d, c.client_cert, c.client_key, "nmqtt-test-client", client_extensions, c.ca_cert, c.ca_key, 1003);
    make_leaf(d, c.other_client_cert, c.other_client_key, "nmqtt-other-client", client_extensions,
              c.other_ca_cert, c.other_ca_key, 2001);
    return store;
}

}  // namespace

const TlsCerts& tls_certs() {
    static std::mutex mutex;
    static std::unique_ptr<CertStore> store;
    const std::lock_guard lock(mutex);
    if (!store) store = generate();  // on failure, throws and a later call tries again
    return store->certs;
}

}  // namespace nmqtt::test
