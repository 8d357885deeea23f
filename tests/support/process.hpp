// Child processes, temporary directories, loopback ports and polling for integration tests.
//
// Everything here uses POSIX directly (tests only). Children are started with fork + execve, the child making
// only async-signal-safe calls, so starting one from a multi-threaded test is safe. A child inherits no
// descriptor but stdin/stdout/stderr (so it cannot keep a client's socket open). Children are only ever
// signalled by their own PID.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nmqtt::test {

using namespace std::chrono_literals;

/// Returns a loopback TCP port that was free a moment ago: a random port below the kernel's ephemeral range
/// (so no outgoing connection takes it meanwhile) that 127.0.0.1 could bind. Another test process may still
/// pick it before you bind it; callers that start servers retry on collision.
/// Throws std::runtime_error if no socket can be created.
[[nodiscard]] std::uint16_t free_loopback_port();

/// Same as free_loopback_port() on [::1]. Throws std::runtime_error when IPv6 loopback is unavailable.
[[nodiscard]] std::uint16_t free_loopback_port_v6();

/// Returns a loopback port on which nothing listens: a connect() to it is refused (ECONNREFUSED) unless
/// some other process binds it meanwhile (unlikely: chosen as free_loopback_port() is, below the ephemeral
/// range, so no connect() can take it as its own local port either).
[[nodiscard]] std::uint16_t closed_loopback_port();

/// Returns true when a TCP connect() to host:port succeeds right now (host is a numeric IPv4/IPv6 address).
[[nodiscard]] bool can_connect(const std::string& host, std::uint16_t port);

/// Polls `condition` every `interval` until it returns true or `timeout` passes; returns its last value.
/// Use instead of fixed sleeps.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds interval = 10ms);

/// A fresh directory under $TMPDIR (or /tmp), removed recursively by the destructor. Movable, not copyable.
class TempDir {
public:
    explicit TempDir(std::string_view prefix = "nmqtt-test");
    ~TempDir();
    TempDir(TempDir&& other) noexcept;
    TempDir& operator=(TempDir&& other) noexcept;
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
    /// Returns path() / name.
    [[nodiscard]] std::filesystem::path operator/(std::string_view name) const { return path_ / name; }
    /// Keeps the directory on disk after destruction (for debugging a failing test).
    void keep() noexcept { keep_ = true; }

private:
    std::filesystem::path path_;
    bool keep_ = false;
};

/// Writes `content` to `path` (truncating). Throws std::runtime_error on failure.
void write_file(const std::filesystem::path& path, std::string_view content);
/// Returns the whole content of `path`, or "" if it cannot be read.
[[nodiscard]] std::string read_file(const std::filesystem::path& path);

/// How a process ended.
struct ExitStatus {
    int exit_code = -1;    ///< exit code when exited normally, else -1
    int term_signal = 0;   ///< signal number when killed by a signal, else 0
    [[nodiscard]] bool exited() const noexcept { return term_signal == 0 && exit_code >= 0; }
    [[nodiscard]] bool success() const noexcept { return exited() && exit_code == 0; }
};

/// Options for starting a child.
struct ProcessOptions {
    /// Extra environment entries "NAME=value", added to (and overriding) the parent's environment.
    std::vector<std::string> env{};
    /// Working directory of the child; empty keeps the parent's.
    std::filesystem::path working_dir{};
    /// Bytes fed to the child's stdin (via a temporary file); nullopt means stdin is /dev/null.
    std::optional<std::string> stdin_data{};
    /// Where stdout/stderr go (appended to); empty means a file in a private temp dir (read it with stdout_text()).
    /// The same path for both is fine (one shared file).
    std::filesystem::path stdout_file{};
    std::filesystem::path stderr_file{};
    /// The child gets SIGKILL when the test process dies (Linux PR_SET_PDEATHSIG), so a crashing test leaves
    /// no broker behind. Caveat: the kernel sends it when the *thread* that started the child exits, so start
    /// long-lived children from the test's own thread, or set this to false.
    bool kill_with_parent = true;
};

/// A running child process whose stdout and stderr go to files. Not copyable; movable.
/// argv[0] is searched in PATH if it has no '/'. The destructor kills a still-running child (SIGKILL by
/// PID) and reaps it. Methods are not thread-safe, except stdout_text()/stderr_text() which only read files.
class Process {
public:
    /// Starts argv. Throws std::runtime_error if the program cannot be started (e.g. not found).
    explicit Process(std::vector<std::string> argv, ProcessOptions options = {});
    ~Process();
    Process(Process&& other) noexcept;
    Process& operator=(Process&& other) noexcept;
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    [[nodiscard]] pid_t pid() const noexcept { return pid_; }
    /// Returns true while the child has not been reaped (reaps it if it has exited).
    [[nodiscard]] bool running();
    /// Waits up to `timeout` for the child to exit; nullopt if it still runs. Never signals it.
    std::optional<ExitStatus> wait_for(std::chrono::milliseconds timeout);
    /// Waits up to `timeout`; on timeout sends SIGTERM, waits `grace`, then SIGKILL. Always returns a status.
    ExitStatus wait_or_kill(std::chrono::milliseconds timeout, std::chrono::milliseconds grace = 2000ms);
    /// Sends `signal` to the child (by PID) if it still runs.
    void send_signal(int signal);
    /// Returns the status once reaped.
    [[nodiscard]] std::optional<ExitStatus> status() const noexcept { return status_; }

    /// Current content of the child's stdout / stderr files (may grow while it runs).
    [[nodiscard]] std::string stdout_text() const;
    [[nodiscard]] std::string stderr_text() const;
    [[nodiscard]] const std::filesystem::path& stdout_path() const noexcept { return stdout_file_; }
    [[nodiscard]] const std::filesystem::path& stderr_path() const noexcept { return stderr_file_; }
    /// Polls until stdout contains `needle` (true) or `timeout` passes or the child exits without it (false).
    bool wait_for_stdout(std::string_view needle, std::chrono::milliseconds timeout);
    bool wait_for_stderr(std::string_view needle, std::chrono::milliseconds timeout);

private:
    void reap(bool block);
    void destroy() noexcept;
    bool wait_for_text(const std::filesystem::path& file, std::string_view needle,
                       std::chrono::milliseconds timeout);

    pid_t pid_ = -1;
    std::optional<ExitStatus> status_;
    std::optional<TempDir> dir_;
    std::filesystem::path stdout_file_;
    std::filesystem::path stderr_file_;
};

/// What run_process() returns.
struct ProcessResult {
    ExitStatus status;
    bool timed_out = false;  ///< true if the child was killed because it exceeded the timeout
    std::string out;         ///< everything written to stdout
    std::string err;         ///< everything written to stderr
};

/// Runs argv to completion with a deadline: on timeout the child is killed by PID (SIGTERM, then SIGKILL)
/// and timed_out is set. Throws std::runtime_error if the program cannot be started.
/// Example: auto r = run_process({"mosquitto_pub", "-p", port, "-t", "a", "-m", "x"}, 10s);
[[nodiscard]] ProcessResult run_process(std::vector<std::string> argv, std::chrono::milliseconds timeout,
                                        ProcessOptions options = {});

}  // namespace nmqtt::test
