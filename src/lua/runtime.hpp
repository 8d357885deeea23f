// Runtime: the per-Lua-state home of the mqtt and tmr modules. One io_context, the registry tables that
// find and keep alive the Lua objects (clients, timers), protected calls into Lua from event handlers, and
// the event loop.
#pragma once

#include "lua_compat.hpp"

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <exception>
#include <cstdint>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_set>
#include <vector>

namespace nmqtt::lua {

class Runtime;

/// The C++ side of a Lua object (a client or a timer). Its userdata is found by the object's address.
class Object {
public:
    explicit Object(Runtime& runtime) noexcept : runtime_(&runtime) {}
    virtual ~Object() = default;
    Object(const Object&) = delete;
    Object& operator=(const Object&) = delete;

    [[nodiscard]] Runtime& runtime() const noexcept { return *runtime_; }
    /// True once the userdata was finalized: no more calls into Lua for this object.
    [[nodiscard]] bool is_collected() const noexcept { return collected_; }
    void mark_collected() noexcept { collected_ = true; }
    /// Keeps the userdata alive without any Lua reference (a connected client, an armed timer) or lets go.
    void set_anchored(bool anchored);
    [[nodiscard]] bool is_anchored() const noexcept { return anchored_; }

    /// Runner shutdown on SIGINT: start a clean close (clients) and report whether it is still under way.
    virtual void close_for_exit() {}
    [[nodiscard]] virtual bool is_closing() const noexcept { return false; }

private:
    Runtime* runtime_;
    bool collected_ = false;
    bool anchored_ = false;
};

/// How Runtime::run() ended.
enum class LoopEnd : std::uint8_t {
    idle,         ///< no client connected, connecting or closing, and no timer armed
    timeout,      ///< the time given to run() passed
    error,        ///< a callback raised an error: `error` holds the message and traceback
    interrupted,  ///< SIGINT/SIGTERM (only after catch_signals()); clients were closed
    reset,        ///< node.restart() or node.dsleep() asked for a reset (device modules, `nmqtt run`)
};

struct LoopOutcome {
    LoopEnd end = LoopEnd::idle;
    std::string error;
    int signal = 0;
};

/// What the `tls` module was told (tls.cert.verify / tls.cert.auth). Clients apply it to the connections they
/// open after the call, on top of their own TLS options; `version` tells them it changed.
struct TlsModuleSettings {
    std::uint64_t version = 0;           ///< 0: the tls module was never used
    std::optional<bool> verify;          ///< tls.cert.verify(true|false); unset: verify (system CAs or ca_pem)
    std::string ca_pem;                  ///< tls.cert.verify(pem): trusted CAs, replacing the system store
    bool auth = false;                   ///< tls.cert.auth(...) enabled: present cert_pem/key_pem
    std::string cert_pem;
    std::string key_pem;
};

/// What node.restart() / node.dsleep() asked for: the runner ends the event loop and starts the script again
/// in a fresh Lua state (or exits, see tools/nmqtt/run.cpp).
struct ResetRequest {
    bool deep_sleep = false;     ///< node.dsleep(): sleep first
    std::int64_t sleep_us = 0;   ///< the sleep time; 0 sleeps forever (no wake-up timer)
};

struct DeviceOptions;

class Runtime {
public:
    /// Returns the runtime of L's global state, creating it (and its registry tables) on first use.
    static Runtime& of(lua_State* L);

    explicit Runtime(lua_State* main) noexcept;
    ~Runtime();
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    [[nodiscard]] asio::io_context& io() noexcept { return io_; }
    /// Microseconds since the runtime was created (tmr.now()).
    [[nodiscard]] std::int64_t now_us() const noexcept;

    /// Records the userdata at `index` as the Lua face of `object` (weakly) and counts it as live.
    void register_object(lua_State* L, int index, Object* object);
    /// Forgets `object` (called by its finalizer) and keeps its C++ side until the next safe point, so
    /// that nothing is destroyed from inside one of its own handlers.
    void bury(std::shared_ptr<Object> object);
    /// Pushes the userdata of `object`; returns false (pushing nothing) when it is gone.
    bool push_object(lua_State* L, const Object* object);
    /// The state to use for registry work when no call is active.
    [[nodiscard]] lua_State* state() const noexcept { return active_ != nullptr ? active_ : main_; }

    /// Runs `body(L)` in protected mode on the active state. An error (with traceback) is recorded and ends
    /// the loop; later calls do nothing until it was taken. `body` must not own C++ objects with
    /// destructors while it calls Lua functions that may raise.
    template <class F>
    void call(F&& body) {
        auto thunk = [](lua_State* L, void* context) { (*static_cast<std::remove_reference_t<F>*>(context))(L); };
        call_protected(thunk, &body);
    }
    /// Takes the recorded callback error, if any.
    std::optional<std::string> take_error();
    [[nodiscard]] bool has_error() const noexcept { return error_.has_value(); }

    /// Thrown (by LuaClient) right after a client callback raised an error, so that nmqtt::Client keeps the
    /// events behind it for the next run()/poll() instead of having their callbacks skipped; run() and poll()
    /// catch it (the error itself is the one recorded).
    class CallbackFailed final : public std::exception {
    public:
        [[nodiscard]] const char* what() const noexcept override { return "a Lua callback raised an error"; }
    };

    /// Runs the event loop until idle, an error, the timeout, or (after catch_signals()) a signal.
    LoopOutcome run(lua_State* L, std::optional<std::chrono::milliseconds> timeout);
    /// Runs the handlers that are ready, without blocking. Returns how many ran.
    std::size_t poll(lua_State* L);
    /// From now on SIGINT/SIGTERM end run(): clients are closed cleanly first (runner only).
    void catch_signals();
    /// True when nothing keeps the loop going (no anchored object).
    [[nodiscard]] bool is_idle() const noexcept { return anchored_count_ == 0 && !watchdog_armed_; }
    /// True the first time it is called for `key` (one-time warnings).
    bool first_time(const std::string& key);
    /// The tls module's settings of this Lua state.
    [[nodiscard]] TlsModuleSettings& tls_settings() noexcept { return tls_settings_; }
    /// The simulated device of `nmqtt run` (wifi, node, file, gpio, adc); nullptr in the loadable module.
    [[nodiscard]] const DeviceOptions* device() const noexcept { return device_.get(); }
    void set_device(std::shared_ptr<const DeviceOptions> device) noexcept { device_ = std::move(device); }
    /// Ends the event loop as soon as the running handler returns (node.restart(), node.dsleep()).
    void request_reset(ResetRequest request) noexcept { reset_ = request; }
    [[nodiscard]] const std::optional<ResetRequest>& reset_request() const noexcept { return reset_; }
    /// tmr.softwd(): after `seconds` without being re-armed, node.restart() (under `nmqtt run`) or, in the
    /// loadable module, an error that ends the loop. Negative disarms. While armed it keeps the loop going, as
    /// the device would restart.
    void arm_watchdog(std::int64_t seconds);
    /// The simulated CPU clock of node.getcpufreq()/setcpufreq() and tmr.ccount(), in MHz (80 or 160).
    [[nodiscard]] int cpu_mhz() const noexcept { return cpu_mhz_; }
    void set_cpu_mhz(int mhz) noexcept { cpu_mhz_ = mhz; }

    /// Makes `L` the active state for the lifetime of the guard (calls into Lua go to it).
    class Enter {
    public:
        Enter(Runtime& runtime, lua_State* L) noexcept : runtime_(runtime), previous_(runtime.active_) {
            runtime.active_ = L;
        }
        ~Enter() { runtime_.active_ = previous_; }
        Enter(const Enter&) = delete;
        Enter& operator=(const Enter&) = delete;

    private:
        Runtime& runtime_;
        lua_State* previous_;
    };

private:
    friend class Object;
    void call_protected(void (*fn)(lua_State*, void*), void* context);
    bool anchor(const Object* object, bool keep);
    void drain_graveyard() noexcept;
    LoopOutcome finish_interrupt();
    /// Why run() must return now (an error, a signal, a reset, nothing left to wait for), if it must.
    std::optional<LoopOutcome> stop_reason();
    void wait_signal();
    static int finalize(lua_State* L);

    lua_State* main_;
    lua_State* active_ = nullptr;
    asio::io_context io_{1};
    std::chrono::steady_clock::time_point start_;
    std::unordered_set<Object*> objects_;
    std::vector<std::shared_ptr<Object>> graveyard_;
    std::optional<asio::signal_set> signals_;
    std::optional<asio::steady_timer> watchdog_;
    std::unordered_set<std::string> said_;
    TlsModuleSettings tls_settings_;
    std::shared_ptr<const DeviceOptions> device_;
    std::optional<ResetRequest> reset_;
    std::optional<std::string> error_;
    std::size_t anchored_count_ = 0;
    int signal_ = 0;
    int cpu_mhz_ = 80;
    int signal_count_ = 0;
    bool running_ = false;
    bool watchdog_armed_ = false;
    bool shutting_down_ = false;
};

/// The message handler used for every protected call: message plus traceback, as the lua interpreter.
int message_handler(lua_State* L);

}  // namespace nmqtt::lua
