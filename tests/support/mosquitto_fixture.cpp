#include "support/mosquitto_fixture.hpp"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/tls_certs.hpp"

namespace nmqtt::test {
namespace {

constexpr const char* mosquitto_binary = "/usr/sbin/mosquitto";
constexpr auto start_timeout = std::chrono::milliseconds(5000);
constexpr auto stop_timeout = std::chrono::milliseconds(5000);
constexpr int first_start_attempts = 5;
constexpr int restart_attempts = 25;

std::size_t count_occurrences(const std::string& text, std::string_view needle) {
    if (needle.empty()) return 0;
    std::size_t count = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) {
        ++count;
    }
    return count;
}

std::string tail(const std::string& text, std::size_t max) {
    return text.size() <= max ? text : "..." + text.substr(text.size() - max);
}

// mosquitto started as root switches to user "mosquitto", which could not read our private temp dir.
std::string current_user() {
    if (const passwd* pw = ::getpwuid(::geteuid()); pw != nullptr) return pw->pw_name;
    return "root";
}

void append_tls_listener(std::ostringstream& conf, const MosquittoOptions& o, std::uint16_t port) {
    const TlsCerts& certs = tls_certs();
    const bool wrong = o.server_cert == ServerCert::wrong_name;
    conf << "listener " << port << " 127.0.0.1\n"
         << "cafile " << certs.ca_cert.string() << "\n"
         << "certfile " << (wrong ? certs.wrong_name_cert : certs.server_cert).string() << "\n"
         << "keyfile " << (wrong ? certs.wrong_name_key : certs.server_key).string() << "\n"
         << "require_certificate " << (o.require_client_cert ? "true" : "false") << "\n";
}

}  // namespace

MosquittoFixture::MosquittoFixture(MosquittoOptions options)
    : options_(std::move(options)), dir_("nmqtt-mosquitto") {
    if (options_.persistence) std::filesystem::create_directories(dir_ / "store");
    if (!options_.users.empty()) write_password_file();
    if (!options_.acl.empty()) write_file(dir_ / "acl", options_.acl);
    if (options_.start) start();
}

MosquittoFixture::~MosquittoFixture() {
    try {
        stop();
    } catch (...) {  // never throw from a destructor; Process's own destructor still kills by PID
    }
}

void MosquittoFixture::write_password_file() const {
    const std::string file = (dir_ / "passwd").string();
    bool first = true;
    for (const auto& [user, password] : options_.users) {
        std::vector<std::string> args{"mosquitto_passwd", "-b"};
        if (first) args.emplace_back("-c");
        args.insert(args.end(), {file, user, password});
        const ProcessResult r = run_process(args, std::chrono::seconds(20));
        if (!r.status.success()) throw std::runtime_error("mosquitto_passwd failed: " + r.err + r.out);
        first = false;
    }
}

void MosquittoFixture::choose_ports() {
    port_ = free_loopback_port();
    if (options_.tls) {
        do {
            tls_port_ = free_loopback_port();
        } while (tls_port_ == port_);
    }
    if (options_.ipv6) ipv6_port_ = free_loopback_port_v6();
}

void MosquittoFixture::write_config() const {
    std::ostringstream conf;
    conf << "# written by nmqtt::test::MosquittoFixture\n"
         << "per_listener_settings false\n"
         << "allow_anonymous " << (options_.allow_anonymous ? "true" : "false") << "\n"
         << "user " << current_user() << "\n"
         << "log_dest file " << log_path().string() << "\n"
         << "log_type all\n"
         << "log_timestamp true\n"
         << "connection_messages true\n";
    if (!options_.users.empty()) conf << "password_file " << (dir_ / "passwd").string() << "\n";
    if (!options_.acl.empty()) conf << "acl_file " << (dir_ / "acl").string() << "\n";
    if (options_.persistence) {
        conf << "persistence true\n"
             << "persistence_location " << (dir_ / "store").string() << "/\n";
    } else {
        conf << "persistence false\n";
    }
    conf << "listener " << port_ << " 127.0.0.1\n";
    for (const auto& line : options_.extra_config) conf << line << "\n";
    if (options_.ipv6) conf << "listener " << ipv6_port_ << " ::1\n";
    if (options_.tls) append_tls_listener(conf, options_, tls_port_);
    write_file(config_path(), conf.str());
}

// Starts mosquitto once and waits for its "running" log line. Returns false if it exited (a port taken by
// someone else) or did not come up in time; the process is gone in both cases.
bool MosquittoFixture::try_start() {
    write_config();
    const std::size_t runs_before = count_in_log(" running\n");
    ProcessOptions po;
    po.stdout_file = dir_ / "mosquitto.out";
    po.stderr_file = dir_ / "mosquitto.out";
    process_ = std::make_unique<Process>(std::vector<std::string>{mosquitto_binary, "-c", config_path().string()},
                                         po);
    const bool up = wait_until(
        [&] { return !process_->running() || count_in_log(" running\n") > runs_before; }, start_timeout);
    if (up && process_->running()) return true;
    process_->wait_or_kill(std::chrono::milliseconds(0), stop_timeout);
    process_.reset();
    return false;
}

void MosquittoFixture::start() {
    if (is_running()) return;
    const int attempts = started_once_ ? restart_attempts : first_start_attempts;
    for (int attempt = 0; attempt < attempts; ++attempt) {
        if (!started_once_) choose_ports();
        if (try_start()) {
            started_once_ = true;
            return;
        }
        // A restart on the same port: the old socket may linger briefly; a port collision on the first
        // start: new ports are chosen. Either way, a short pause before the next attempt.
        if (started_once_) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    throw std::runtime_error("mosquitto did not start on port " + std::to_string(port_) +
                             "; log:\n" + tail(log(), 2000) + "\noutput:\n" +
                             tail(read_file(dir_ / "mosquitto.out"), 2000));
}

void MosquittoFixture::stop() {
    if (!process_) return;
    process_->send_signal(SIGTERM);
    process_->wait_or_kill(stop_timeout, std::chrono::milliseconds(2000));
    process_.reset();
}

void MosquittoFixture::kill() {
    if (!process_) return;
    process_->send_signal(SIGKILL);
    process_->wait_or_kill(stop_timeout);
    process_.reset();
}

void MosquittoFixture::restart() {
    stop();
    start();
}

bool MosquittoFixture::is_running() { return process_ && process_->running(); }

pid_t MosquittoFixture::pid() const noexcept { return process_ ? process_->pid() : -1; }

std::string MosquittoFixture::log() const { return read_file(log_path()); }

bool MosquittoFixture::wait_for_log(std::string_view needle, std::chrono::milliseconds timeout) const {
    return wait_until([&] { return log().find(needle) != std::string::npos; }, timeout);
}

std::size_t MosquittoFixture::count_in_log(std::string_view needle) const {
    return count_occurrences(log(), needle);
}

}  // namespace nmqtt::test
