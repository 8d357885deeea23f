#include "support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "support/socket_util.hpp"

extern char** environ;

namespace nmqtt::test {
namespace {

std::uint16_t bound_port(const char* host) {
    const int fd = detail::bind_socket(host, 0, -1);
    const std::uint16_t port = detail::local_port(fd);
    detail::close_fd(fd);
    return port;
}

ExitStatus decode_status(int raw) {
    ExitStatus s;
    if (WIFEXITED(raw)) s.exit_code = WEXITSTATUS(raw);
    if (WIFSIGNALED(raw)) s.term_signal = WTERMSIG(raw);
    return s;
}

// The child's environment: the parent's, with `extra` ("NAME=value") added or replacing.
std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
    std::map<std::string, std::string> entries;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        const std::string entry(*e);
        entries[entry.substr(0, entry.find('='))] = entry;
    }
    for (const auto& entry : extra) entries[entry.substr(0, entry.find('='))] = entry;
    std::vector<std::string> out;
    out.reserve(entries.size());
    for (auto& [name, entry] : entries) out.push_back(std::move(entry));
    return out;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
    std::vector<char*> out;
    out.reserve(strings.size() + 1);
    for (auto& s : strings) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

// File actions and attributes for posix_spawn, released by the destructor.
struct SpawnSetup {
    posix_spawn_file_actions_t actions{};
    posix_spawnattr_t attributes{};

    SpawnSetup() {
        posix_spawn_file_actions_init(&actions);
        posix_spawnattr_init(&attributes);
        // Children get default SIGPIPE handling and an empty signal mask whatever the test process uses.
        sigset_t defaults;
        sigemptyset(&defaults);
        sigaddset(&defaults, SIGPIPE);
        sigset_t empty;
        sigemptyset(&empty);
        posix_spawnattr_setsigdefault(&attributes, &defaults);
        posix_spawnattr_setsigmask(&attributes, &empty);
        posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    }
    ~SpawnSetup() {
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attributes);
    }
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;
};

}  // namespace

std::uint16_t free_loopback_port() { return bound_port("127.0.0.1"); }

std::uint16_t free_loopback_port_v6() { return bound_port("::1"); }

std::uint16_t closed_loopback_port() { return bound_port("127.0.0.1"); }

bool can_connect(const std::string& host, std::uint16_t port) {
    const int fd = detail::connect_to(host, port, 1000ms);
    if (fd < 0) return false;
    detail::close_fd(fd);
    return true;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
        if (condition()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return condition();
        std::this_thread::sleep_for(interval);
    }
}

TempDir::TempDir(std::string_view prefix) {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/" +
                          std::string(prefix) + "-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw std::runtime_error("mkdtemp " + pattern + ": " + std::strerror(errno));
    }
    path_ = pattern;
}

TempDir::~TempDir() {
    if (!path_.empty() && !keep_) {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
}

TempDir::TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)), keep_(other.keep_) {
    other.path_.clear();
}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
    if (this != &other) {
        TempDir old(std::move(*this));
        path_ = std::move(other.path_);
        keep_ = other.keep_;
        other.path_.clear();
    }
    return *this;
}

void write_file(const std::filesystem::path& path, std::string_view content) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out) throw std::runtime_error("cannot write " + path.string());
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return {};
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
}

Process::Process(std::vector<std::string> argv, ProcessOptions options) {
    if (argv.empty()) throw std::invalid_argument("Process: empty argv");
    dir_.emplace("nmqtt-proc");
    stdout_file_ = options.stdout_file.empty() ? dir_->path() / "stdout" : options.stdout_file;
    stderr_file_ = options.stderr_file.empty() ? dir_->path() / "stderr" : options.stderr_file;
    std::string stdin_path = "/dev/null";
    if (options.stdin_data) {
        stdin_path = (dir_->path() / "stdin").string();
        write_file(stdin_path, *options.stdin_data);
    }
    const std::string out_path = stdout_file_.string();
    const std::string err_path = stderr_file_.string();
    const std::string work_dir = options.working_dir.string();
    SpawnSetup setup;
    const int out_flags = O_WRONLY | O_CREAT | O_APPEND;
    posix_spawn_file_actions_addopen(&setup.actions, 0, stdin_path.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&setup.actions, 1, out_path.c_str(), out_flags, 0644);
    posix_spawn_file_actions_addopen(&setup.actions, 2, err_path.c_str(), out_flags, 0644);
    if (!work_dir.empty()) posix_spawn_file_actions_addchdir_np(&setup.actions, work_dir.c_str());
    auto args = c_strings(argv);
    auto env_strings = merged_environment(options.env);
    auto env = c_strings(env_strings);
    const int rc = ::posix_spawnp(&pid_, argv[0].c_str(), &setup.actions, &setup.attributes, args.data(),
                                  env.data());
    if (rc != 0) {
        pid_ = -1;
        throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
    }
}

Process::~Process() { destroy(); }

Process::Process(Process&& other) noexcept
    : pid_(other.pid_), status_(other.status_), dir_(std::move(other.dir_)),
      stdout_file_(std::move(other.stdout_file_)), stderr_file_(std::move(other.stderr_file_)) {
    other.pid_ = -1;
    other.dir_.reset();
}

Process& Process::operator=(Process&& other) noexcept {
    if (this != &other) {
        destroy();
        pid_ = other.pid_;
        status_ = other.status_;
        dir_ = std::move(other.dir_);
        stdout_file_ = std::move(other.stdout_file_);
        stderr_file_ = std::move(other.stderr_file_);
        other.pid_ = -1;
        other.dir_.reset();
    }
    return *this;
}

void Process::destroy() noexcept {
    if (pid_ > 0 && !status_) {
        ::kill(pid_, SIGKILL);
        reap(true);
    }
    pid_ = -1;
}

void Process::reap(bool block) {
    if (pid_ <= 0 || status_) return;
    int raw = 0;
    pid_t rc = 0;
    do {
        rc = ::waitpid(pid_, &raw, block ? 0 : WNOHANG);
    } while (rc < 0 && errno == EINTR);
    if (rc == pid_) status_ = decode_status(raw);
    if (rc < 0) status_ = ExitStatus{};  // not our child any more (ECHILD): treat as gone
}

bool Process::running() {
    reap(false);
    return pid_ > 0 && !status_;
}

std::optional<ExitStatus> Process::wait_for(std::chrono::milliseconds timeout) {
    wait_until([this] { return !running(); }, timeout, 5ms);
    return status_;
}

ExitStatus Process::wait_or_kill(std::chrono::milliseconds timeout, std::chrono::milliseconds grace) {
    if (auto s = wait_for(timeout)) return *s;
    send_signal(SIGTERM);
    if (auto s = wait_for(grace)) return *s;
    send_signal(SIGKILL);
    reap(true);
    return status_.value_or(ExitStatus{});
}

void Process::send_signal(int signal) {
    if (running()) ::kill(pid_, signal);
}

std::string Process::stdout_text() const { return read_file(stdout_file_); }

std::string Process::stderr_text() const { return read_file(stderr_file_); }

bool Process::wait_for_text(const std::filesystem::path& file, std::string_view needle,
                            std::chrono::milliseconds timeout) {
    auto found = [&] { return read_file(file).find(needle) != std::string::npos; };
    wait_until([&] { return found() || !running(); }, timeout);
    return found();
}

bool Process::wait_for_stdout(std::string_view needle, std::chrono::milliseconds timeout) {
    return wait_for_text(stdout_file_, needle, timeout);
}

bool Process::wait_for_stderr(std::string_view needle, std::chrono::milliseconds timeout) {
    return wait_for_text(stderr_file_, needle, timeout);
}

ProcessResult run_process(std::vector<std::string> argv, std::chrono::milliseconds timeout,
                          ProcessOptions options) {
    Process process(std::move(argv), std::move(options));
    ProcessResult result;
    if (auto s = process.wait_for(timeout)) {
        result.status = *s;
    } else {
        result.timed_out = true;
        result.status = process.wait_or_kill(0ms);
    }
    result.out = process.stdout_text();
    result.err = process.stderr_text();
    return result;
}

}  // namespace nmqtt::test
