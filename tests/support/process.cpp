#include "support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
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

// Listener ports come from 10000 up to just below the kernel's ephemeral range (net.ipv4.ip_local_port_range,
// 32768-60999 by default). A port the kernel handed out (bind to port 0) can be handed out again at once as
// the local port of any test's outgoing connect(), and a broker that boots for seconds (RabbitMQ) then fails
// to bind it; a port below the range is never used that way.
constexpr int first_listener_port = 10000;
int first_ephemeral_port() {
    int low = 32768;
    std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> low;
    return low;
}

// A random start (tests run as parallel processes), then upwards until one binds; the kernel's choice when
// the ephemeral range leaves no room below it.
std::uint16_t unused_port(const char* host) {
    const int first = first_listener_port;
    const int span = first_ephemeral_port() - first;
    if (span < 1000) return bound_port(host);
    thread_local std::mt19937 random(std::random_device{}() ^ static_cast<unsigned>(::getpid()));
    const int start = std::uniform_int_distribution<int>(0, span - 1)(random);
    for (int i = 0; i < span; ++i) {
        const auto port = static_cast<std::uint16_t>(first + (start + i) % span);
        try {
            detail::close_fd(detail::bind_socket(host, port, -1));
            return port;
        } catch (const std::runtime_error&) {
        }
    }
    return bound_port(host);
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

// Finds `program` in PATH unless it contains a '/'. Returns "" when not found.
std::string resolve_program(const std::string& program, const std::vector<std::string>& env) {
    if (program.find('/') != std::string::npos) return program;
    std::string path = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
    for (const auto& entry : env) {
        if (entry.rfind("PATH=", 0) == 0) path = entry.substr(5);
    }
    std::istringstream dirs(path);
    for (std::string dir; std::getline(dirs, dir, ':');) {
        const std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + program;
        if (::access(candidate.c_str(), X_OK) == 0 && !std::filesystem::is_directory(candidate)) return candidate;
    }
    return {};
}

int open_or_throw(const std::string& path, int flags) {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
    return fd;
}

// Everything the child needs, prepared before fork() so that the child makes only async-signal-safe calls.
struct ChildPlan {
    const char* program = nullptr;
    char* const* argv = nullptr;
    char* const* envp = nullptr;
    int stdio[3] = {-1, -1, -1};
    const char* work_dir = nullptr;
    bool kill_with_parent = true;
    pid_t parent = 0;
    int report_fd = -1;  // write end of a close-on-exec pipe: receives errno if exec fails
};

[[noreturn]] void child_fail(int report_fd) {
    const int error = errno;
    [[maybe_unused]] const auto ignored = ::write(report_fd, &error, sizeof(error));
    ::_exit(127);
}

[[noreturn]] void run_child(const ChildPlan& plan) {
    if (plan.kill_with_parent) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != plan.parent) ::_exit(127);  // the parent is already gone
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    for (int i = 0; i < 3; ++i) {
        if (::dup2(plan.stdio[i], i) < 0) child_fail(plan.report_fd);
    }
    // No descriptor of the test process (a client's socket, above all) may live on in the child.
    const auto report = static_cast<unsigned>(plan.report_fd);
    if (report > 3) ::close_range(3, report - 1, 0);
    ::close_range(report + 1, ~0U, 0);
    if (plan.work_dir != nullptr && ::chdir(plan.work_dir) != 0) child_fail(plan.report_fd);
    ::execve(plan.program, plan.argv, plan.envp);
    child_fail(plan.report_fd);
}

// Forks and execs; returns the PID or throws with the exec error.
pid_t spawn(ChildPlan plan, const std::string& name) {
    int report[2];
    if (::pipe2(report, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
    plan.report_fd = report[1];
    plan.parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0) run_child(plan);
    ::close(report[1]);
    int error = 0;
    ssize_t n = 0;
    do {
        n = ::read(report[0], &error, sizeof(error));
    } while (n < 0 && errno == EINTR);
    ::close(report[0]);
    if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    if (n == static_cast<ssize_t>(sizeof(error))) {
        int ignored = 0;
        ::waitpid(pid, &ignored, 0);
        throw std::runtime_error("cannot start " + name + ": " + std::strerror(error));
    }
    return pid;
}

}  // namespace

std::uint16_t free_loopback_port() { return unused_port("127.0.0.1"); }

std::uint16_t free_loopback_port_v6() { return unused_port("::1"); }

std::uint16_t closed_loopback_port() { return unused_port("127.0.0.1"); }

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
    auto env_strings = merged_environment(options.env);
    const std::string program = resolve_program(argv[0], env_strings);
    if (program.empty()) throw std::runtime_error("cannot start " + argv[0] + ": not found in PATH");
    auto args = c_strings(argv);
    auto env = c_strings(env_strings);
    const std::string work_dir = options.working_dir.string();
    const int out_flags = O_WRONLY | O_CREAT | O_APPEND;
    const int in = open_or_throw(stdin_path, O_RDONLY);
    const int out = open_or_throw(stdout_file_.string(), out_flags);
    const int err = stderr_file_ == stdout_file_ ? ::dup(out) : open_or_throw(stderr_file_.string(), out_flags);
    ChildPlan plan{program.c_str(), args.data(), env.data(), {in, out, err},
                   work_dir.empty() ? nullptr : work_dir.c_str(), options.kill_with_parent, 0, -1};
    try {
        pid_ = spawn(plan, argv[0]);
    } catch (...) {
        for (int fd : {in, out, err}) ::close(fd);
        throw;
    }
    for (int fd : {in, out, err}) ::close(fd);
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
