#include "support/broker_fixtures.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace nmqtt::test {
namespace {

#ifdef NMQTT_AEDES_SCRIPT
constexpr const char* aedes_script = NMQTT_AEDES_SCRIPT;
#else
#error "NMQTT_AEDES_SCRIPT (tests/support/brokers/aedes_broker.mjs) must be defined by the build"
#endif
constexpr const char* rabbit_server = "/usr/lib/rabbitmq/bin/rabbitmq-server";
constexpr const char* rabbit_ctl = "/usr/lib/rabbitmq/bin/rabbitmqctl";
constexpr auto aedes_start_timeout = std::chrono::milliseconds(10000);
constexpr auto rabbit_start_timeout = std::chrono::milliseconds(60000);
constexpr auto rabbit_stop_timeout = std::chrono::milliseconds(20000);
constexpr auto ctl_timeout = std::chrono::milliseconds(60000);

std::string tail(const std::string& text, std::size_t max = 3000) {
    return text.size() <= max ? text : "..." + text.substr(text.size() - max);
}

std::string env_or(const char* name, const std::string& fallback) {
    const char* value = std::getenv(name);
    return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

int node_major_version() {
    const ProcessResult r = run_process({"node", "-p", "process.versions.node.split('.')[0]"}, 20s);
    if (!r.status.success()) return -1;
    return std::atoi(r.out.c_str());
}

std::uint16_t distinct_port(std::initializer_list<std::uint16_t> taken) {
    for (;;) {
        const std::uint16_t p = free_loopback_port();
        bool clash = false;
        for (const std::uint16_t t : taken) clash = clash || t == p;
        if (!clash) return p;
    }
}

std::string unique_node_name() {
    static std::atomic<int> counter{0};
    return "nmqtt-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

}  // namespace

std::filesystem::path npm_dir() {
    const std::string home = env_or("HOME", "/tmp");
    const std::string cache = env_or("XDG_CACHE_HOME", home + "/.cache");
    return env_or("NMQTT_NPM_DIR", cache + "/nmqtt/npm");
}

std::filesystem::path require_npm_packages() {
    const int major = node_major_version();
    if (major < 0) throw std::runtime_error("aedes tests need Node.js >= 20 on PATH (node not found)");
    if (major < 20) {
        throw std::runtime_error("aedes 1.x needs Node.js >= 20, this node is " + std::to_string(major) +
                                 ".x: install Node 20 or later");
    }
    const auto modules = npm_dir() / "node_modules";
    for (const char* package : {"aedes", "ws", "mqtt"}) {
        if (!std::filesystem::exists(modules / package / "package.json")) {
            throw std::runtime_error(std::string("npm package '") + package + "' missing in " + modules.string() +
                                     ": run ./dev deps");
        }
    }
    return modules;
}

// ---- aedes ----

std::filesystem::path node_script(std::string_view file) {
    return std::filesystem::path(aedes_script).parent_path() / file;
}

AedesFixture::AedesFixture(AedesOptions options) : options_(options), dir_("nmqtt-aedes") {
    if (options_.start) start();
}

AedesFixture::~AedesFixture() {
    try {
        stop();
    } catch (...) {  // Process's destructor still kills by PID
    }
}

void AedesFixture::start() {
    if (is_running()) return;
    const auto modules = require_npm_packages();
    std::vector<std::string> argv{"node", aedes_script, modules.string(), "--port", std::to_string(port_)};
    if (options_.websocket) argv.insert(argv.end(), {"--ws-port", std::to_string(ws_port_)});
    if (!options_.wss_cert.empty()) {
        argv.insert(argv.end(), {"--wss-port", std::to_string(wss_port_), "--cert", options_.wss_cert.string(),
                                 "--key", options_.wss_key.string()});
    }
    ProcessOptions po;
    po.stdout_file = dir_ / "aedes.log";
    po.stderr_file = dir_ / "aedes.log";
    const std::size_t before = log().size();
    for (int attempt = 0; attempt < 25; ++attempt) {  // a restart on the same port may find it briefly taken
        process_ = std::make_unique<Process>(argv, po);
        const auto runs = [&] { return log().find(" listening mqtt=", before) != std::string::npos; };
        if (wait_until([&] { return runs() || !process_->running(); }, aedes_start_timeout) && process_->running()) {
            break;
        }
        process_->wait_or_kill(0ms, 2000ms);
        process_.reset();
        if (port_ == 0) break;  // first start: a failure is not a port collision
        std::this_thread::sleep_for(200ms);
    }
    if (!process_) throw std::runtime_error("aedes did not start; output:\n" + tail(log()));
    static const std::regex ready(R"(aedes (\S+) listening mqtt=(\d+) ws=(\d+) wss=(\d+))");
    std::smatch m;
    const std::string text = log().substr(before);
    if (!std::regex_search(text, m, ready)) throw std::runtime_error("aedes: no ready line:\n" + tail(text));
    version_ = m[1];
    port_ = static_cast<std::uint16_t>(std::stoi(m[2]));
    ws_port_ = static_cast<std::uint16_t>(std::stoi(m[3]));
    wss_port_ = static_cast<std::uint16_t>(std::stoi(m[4]));
}

void AedesFixture::stop() {
    if (!process_) return;
    process_->send_signal(SIGTERM);
    process_->wait_or_kill(5000ms, 2000ms);
    process_.reset();
}

void AedesFixture::kill() {
    if (!process_) return;
    process_->send_signal(SIGKILL);
    process_->wait_or_kill(5000ms);
    process_.reset();
}

void AedesFixture::restart() {
    stop();
    start();
}

bool AedesFixture::is_running() { return process_ && process_->running(); }
pid_t AedesFixture::pid() const noexcept { return process_ ? process_->pid() : -1; }
std::string AedesFixture::log() const { return read_file(dir_ / "aedes.log"); }
bool AedesFixture::wait_for_log(std::string_view needle, std::chrono::milliseconds timeout) const {
    return wait_until([&] { return log().find(needle) != std::string::npos; }, timeout);
}

// ---- RabbitMQ ----

// A private epmd (Erlang port mapper) on a free loopback port, and the HOME holding the Erlang cookie that
// the nodes and rabbitmqctl share. Started and stopped by PID; the nodes find it through ERL_EPMD_PORT.
class RabbitEpmd {
public:
    explicit RabbitEpmd(const std::filesystem::path& base) : home_(base / "home") {
        std::filesystem::create_directories(home_);
        const auto cookie = home_ / ".erlang.cookie";
        write_file(cookie, "NMQTTTESTCOOKIE" + std::to_string(::getpid()));
        ::chmod(cookie.c_str(), 0400);
        for (int attempt = 0; attempt < 5 && !process_; ++attempt) {
            port_ = free_loopback_port();
            ProcessOptions po;
            po.stdout_file = base / "epmd.log";
            po.stderr_file = base / "epmd.log";
            process_ = std::make_unique<Process>(
                std::vector<std::string>{"epmd", "-port", std::to_string(port_), "-address", "127.0.0.1"}, po);
            if (!wait_until([&] { return !process_->running() || can_connect("127.0.0.1", port_); }, 5000ms) ||
                !process_->running()) {
                process_.reset();
            }
        }
        if (!process_) throw std::runtime_error("epmd did not start: " + read_file(base / "epmd.log"));
    }
    ~RabbitEpmd() {
        if (!process_) return;
        process_->send_signal(SIGTERM);
        process_->wait_or_kill(3000ms, 1000ms);
    }
    RabbitEpmd(const RabbitEpmd&) = delete;
    RabbitEpmd& operator=(const RabbitEpmd&) = delete;

    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
    [[nodiscard]] const std::filesystem::path& home() const noexcept { return home_; }

private:
    std::filesystem::path home_;
    std::uint16_t port_ = 0;
    std::unique_ptr<Process> process_;
};

RabbitNode::RabbitNode(std::shared_ptr<RabbitEpmd> epmd, std::filesystem::path base, std::string name,
                       RabbitOptions options)
    : epmd_(std::move(epmd)), base_(std::move(base)), name_(std::move(name)), options_(options) {
    std::filesystem::create_directories(base_ / "mnesia");
    std::filesystem::create_directories(base_ / "log");
    choose_ports();
    if (options_.start) start();
}

void RabbitNode::choose_ports() {
    amqp_port_ = distinct_port({epmd_->port()});
    mqtt_port_ = distinct_port({epmd_->port(), amqp_port_});
    dist_port_ = distinct_port({epmd_->port(), amqp_port_, mqtt_port_});
    if (options_.web_mqtt) ws_port_ = distinct_port({epmd_->port(), amqp_port_, mqtt_port_, dist_port_});
    write_config();
}

RabbitNode::~RabbitNode() {
    try {
        stop();
    } catch (...) {
    }
}

void RabbitNode::write_config() const {
    std::ostringstream conf;
    conf << "# written by nmqtt::test::RabbitNode\n"
         << "listeners.tcp.1 = 127.0.0.1:" << amqp_port_ << "\n"
         << "mqtt.listeners.tcp.1 = 127.0.0.1:" << mqtt_port_ << "\n"
         << "mqtt.allow_anonymous = true\n"
         << "loopback_users = none\n"
         << "log.console = false\n"
         << "log.file.level = debug\n";
    if (options_.web_mqtt) {
        conf << "web_mqtt.tcp.ip = 127.0.0.1\n"
             << "web_mqtt.tcp.port = " << ws_port_ << "\n";
    }
    write_file(base_ / "rabbitmq.conf", conf.str());
    write_file(base_ / "enabled_plugins",
               options_.web_mqtt ? "[rabbitmq_mqtt,rabbitmq_web_mqtt].\n" : "[rabbitmq_mqtt].\n");
    write_file(base_ / "rabbitmq-env.conf", "");
}

ProcessOptions RabbitNode::environment() const {
    ProcessOptions po;
    const std::string loopback_dist = "-kernel inet_dist_use_interface {127,0,0,1}";
    po.env = {"HOME=" + epmd_->home().string(),
              "ERL_EPMD_PORT=" + std::to_string(epmd_->port()),
              "ERL_EPMD_ADDRESS=127.0.0.1",
              "RABBITMQ_NODENAME=" + node_name(),
              "RABBITMQ_USE_LONGNAME=false",
              "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
              "RABBITMQ_NODE_PORT=" + std::to_string(amqp_port_),
              "RABBITMQ_DIST_PORT=" + std::to_string(dist_port_),
              "RABBITMQ_MNESIA_BASE=" + (base_ / "mnesia").string(),
              "RABBITMQ_LOG_BASE=" + (base_ / "log").string(),
              "RABBITMQ_CONFIG_FILE=" + (base_ / "rabbitmq.conf").string(),
              "RABBITMQ_CONF_ENV_FILE=" + (base_ / "rabbitmq-env.conf").string(),
              "RABBITMQ_ENABLED_PLUGINS_FILE=" + (base_ / "enabled_plugins").string(),
              "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=" + loopback_dist,
              "RABBITMQ_CTL_ERL_ARGS=" + loopback_dist,
              // exec the VM directly (no signal-forwarding shell), so pid() is beam.smp itself
              "RUNNING_UNDER_SYSTEMD=true"};
    return po;
}

// A first start whose node exits during boot (a listener port taken meanwhile by another test: "BOOT
// FAILED") is tried again on new ports with a fresh database; a restart keeps its ports, as clients
// reconnect to them.
void RabbitNode::start() {
    if (is_running()) return;
    for (int attempt = 1;; ++attempt) {
        if (start_once()) {
            started_once_ = true;
            return;
        }
        const bool exited = !process_->running();
        process_->wait_or_kill(0ms, 2000ms);
        process_.reset();
        if (!exited || started_once_ || attempt == 3) break;
        std::filesystem::remove_all(base_ / "mnesia");
        std::filesystem::create_directories(base_ / "mnesia");
        choose_ports();
    }
    throw std::runtime_error("RabbitMQ node " + node_name() + " did not start; output:\n" +
                             tail(read_file(base_ / "server.out")) + "\nlog:\n" + tail(log()));
}

// Starts the VM and waits until it serves MQTT (and WebSockets when enabled: web_mqtt opens its listener
// after the MQTT one), or exits, or the start timeout passes.
bool RabbitNode::start_once() {
    ProcessOptions po = environment();
    po.stdout_file = base_ / "server.out";
    po.stderr_file = base_ / "server.out";
    process_ = std::make_unique<Process>(std::vector<std::string>{rabbit_server}, po);
    const auto listening = [&] {
        return can_connect(host_, mqtt_port_) && (ws_port_ == 0 || can_connect(host_, ws_port_));
    };
    const bool up = wait_until([&] { return !process_->running() || listening(); }, rabbit_start_timeout, 50ms);
    return up && process_->running();
}

void RabbitNode::stop() {
    if (!process_) return;
    process_->send_signal(SIGTERM);
    process_->wait_or_kill(rabbit_stop_timeout, 2000ms);
    process_.reset();
}

void RabbitNode::kill() {
    if (!process_) return;
    process_->send_signal(SIGKILL);
    process_->wait_or_kill(5000ms);
    process_.reset();
}

void RabbitNode::restart() {
    stop();
    start();
}

bool RabbitNode::is_running() { return process_ && process_->running(); }
pid_t RabbitNode::pid() const noexcept { return process_ ? process_->pid() : -1; }
std::string RabbitNode::log() const { return read_file(base_ / "log" / (node_name() + ".log")); }
bool RabbitNode::wait_for_log(std::string_view needle, std::chrono::milliseconds timeout) const {
    return wait_until([&] { return log().find(needle) != std::string::npos; }, timeout, 50ms);
}

std::string RabbitNode::ctl(std::initializer_list<std::string> args) const {
    std::vector<std::string> argv{rabbit_ctl, "-n", node_name()};
    argv.insert(argv.end(), args);
    const ProcessResult r = run_process(argv, ctl_timeout, environment());
    if (!r.status.success() || r.timed_out) {
        std::string command;
        for (const auto& a : args) command += " " + a;
        throw std::runtime_error("rabbitmqctl" + command + " failed: " + r.out + r.err);
    }
    return r.out;
}

RabbitFixture::RabbitFixture(RabbitOptions options)
    : dir_("nmqtt-rabbit"), epmd_(std::make_shared<RabbitEpmd>(dir_.path())) {
    node_ = std::make_unique<RabbitNode>(epmd_, dir_ / "node", unique_node_name(), options);
}

RabbitFixture::~RabbitFixture() { node_.reset(); }  // the node stops before its epmd

RabbitCluster::RabbitCluster(RabbitOptions options)
    : dir_("nmqtt-rabbit-cluster"), epmd_(std::make_shared<RabbitEpmd>(dir_.path())) {
    options.start = true;
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
        nodes_[i] = std::make_unique<RabbitNode>(epmd_, dir_ / ("node" + std::to_string(i)), unique_node_name(),
                                                 options);
    }
    nodes_[1]->ctl({"stop_app"});
    nodes_[1]->ctl({"reset"});
    nodes_[1]->ctl({"join_cluster", nodes_[0]->node_name()});
    nodes_[1]->ctl({"start_app"});
    if (!wait_until([&] { return can_connect(nodes_[1]->host(), nodes_[1]->port()); }, rabbit_start_timeout, 50ms)) {
        throw std::runtime_error("RabbitMQ node " + nodes_[1]->node_name() + " did not serve MQTT after joining");
    }
}

RabbitCluster::~RabbitCluster() {
    for (auto& node : nodes_) node.reset();
}

std::string RabbitCluster::cluster_status(std::size_t i) const { return nodes_.at(i)->ctl({"cluster_status"}); }

}  // namespace nmqtt::test
