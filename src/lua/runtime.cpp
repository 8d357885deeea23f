#include "runtime.hpp"

#include "args.hpp"

namespace nmqtt::lua {
namespace {

// Registry keys: the addresses of these objects (lua_rawsetp), unique to this library.
const char runtime_key = 0;
const char objects_key = 0;  // weak-valued table: light userdata (Object*) -> userdata
const char anchors_key = 0;  // strong table: light userdata (Object*) -> userdata

constexpr std::chrono::seconds interrupt_grace{5};

void create_tables(lua_State* L) {
    lua_newtable(L);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "v");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &objects_key);
    lua_newtable(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &anchors_key);
}

// Marks the event loop as running for the lifetime of the guard (so that it is not entered twice).
class Running {
public:
    explicit Running(bool& flag) noexcept : flag_(flag) { flag_ = true; }
    ~Running() { flag_ = false; }
    Running(const Running&) = delete;
    Running& operator=(const Running&) = delete;

private:
    bool& flag_;
};

constexpr const char* reentry_message =
    "the event loop is already running (mqtt.run/mqtt.poll called from a callback)";

struct Thunk {
    void (*fn)(lua_State*, void*);
    void* context;
};

int run_thunk(lua_State* L) {
    const auto* thunk = static_cast<const Thunk*>(lua_touserdata(L, 1));
    lua_settop(L, 0);
    thunk->fn(L, thunk->context);
    return 0;
}

}  // namespace

void Object::set_anchored(bool anchored) {
    if (anchored == anchored_) return;
    if (runtime_->anchor(this, anchored)) anchored_ = anchored;
}

int message_handler(lua_State* L) {
    const char* message = lua_tostring(L, 1);
    if (message == nullptr) {
        if (luaL_callmeta(L, 1, "__tostring") != 0 && lua_type(L, -1) == LUA_TSTRING) return 1;
        message = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, message, 1);
    return 1;
}

Runtime& Runtime::of(lua_State* L) {
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &runtime_key) == LUA_TUSERDATA) {
        auto* runtime = *static_cast<Runtime**>(lua_touserdata(L, -1));
        lua_pop(L, 1);
        if (runtime != nullptr) return *runtime;
        throw LuaError("nmqtt: the runtime of this Lua state was already finalized");
    }
    lua_pop(L, 1);
    create_tables(L);
    auto** slot = static_cast<Runtime**>(lua_newuserdata(L, sizeof(Runtime*)));
    *slot = nullptr;
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, &Runtime::finalize);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    lua_State* main = lua_tothread(L, -1);
    lua_pop(L, 1);
    *slot = new Runtime(main);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &runtime_key);
    return **slot;
}

int Runtime::finalize(lua_State* L) {
    auto** slot = static_cast<Runtime**>(lua_touserdata(L, 1));
    delete *slot;
    *slot = nullptr;
    return 0;
}

Runtime::Runtime(lua_State* main) noexcept : main_(main), start_(std::chrono::steady_clock::now()) {}

Runtime::~Runtime() {
    shutting_down_ = true;
    signals_.reset();
    drain_graveyard();
    // Let cancelled handlers see their objects gone while the io_context still exists.
    io_.restart();
    io_.poll();
}

std::int64_t Runtime::now_us() const noexcept {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start_)
        .count();
}

void Runtime::register_object(lua_State* L, int index, Object* object) {
    index = lua_absindex(L, index);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &objects_key);
    lua_pushvalue(L, index);
    lua_rawsetp(L, -2, object);
    lua_pop(L, 1);
    objects_.insert(object);
}

void Runtime::bury(std::shared_ptr<Object> object) {
    object->mark_collected();
    objects_.erase(object.get());
    if (object->is_anchored() && anchored_count_ > 0) --anchored_count_;
    graveyard_.push_back(std::move(object));
}

bool Runtime::push_object(lua_State* L, const Object* object) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &objects_key);
    if (lua_rawgetp(L, -1, object) != LUA_TUSERDATA) {
        lua_pop(L, 2);
        return false;
    }
    lua_remove(L, -2);
    return true;
}

bool Runtime::anchor(const Object* object, bool keep) {
    if (shutting_down_ || object->is_collected()) return false;
    lua_State* L = state();
    lua_rawgetp(L, LUA_REGISTRYINDEX, &anchors_key);
    if (keep) {
        if (!push_object(L, object)) {
            lua_pop(L, 1);
            return false;
        }
        ++anchored_count_;
    } else {
        lua_pushnil(L);
        --anchored_count_;
    }
    lua_rawsetp(L, -2, object);
    lua_pop(L, 1);
    return true;
}

void Runtime::call_protected(void (*fn)(lua_State*, void*), void* context) {
    lua_State* L = active_;
    if (L == nullptr || shutting_down_ || error_) return;
    Thunk thunk{fn, context};
    const int base = lua_gettop(L);
    lua_pushcfunction(L, message_handler);
    lua_pushcfunction(L, run_thunk);
    lua_pushlightuserdata(L, &thunk);
    if (lua_pcall(L, 1, 0, base + 1) != LUA_OK) {
        const char* message = lua_tostring(L, -1);
        error_ = message != nullptr ? message : "(error object is not a string)";
    }
    lua_settop(L, base);
}

std::optional<std::string> Runtime::take_error() {
    std::optional<std::string> error;
    error.swap(error_);
    return error;
}

void Runtime::drain_graveyard() noexcept {
    while (!graveyard_.empty()) {
        auto dead = std::move(graveyard_);
        graveyard_.clear();
        dead.clear();
    }
}

LoopOutcome Runtime::run(lua_State* L, std::optional<std::chrono::milliseconds> timeout) {
    if (running_) throw LuaError(reentry_message);
    Enter enter(*this, L);
    const Running running(running_);
    io_.restart();
    const auto deadline = std::chrono::steady_clock::now() + timeout.value_or(std::chrono::milliseconds{0});
    for (;;) {
        drain_graveyard();
        if (auto stop = stop_reason()) return std::move(*stop);
        std::size_t ran = 1;
        try {
            ran = timeout ? io_.run_one_until(deadline) : io_.run_one();
        } catch (const CallbackFailed&) {  // recorded: stop_reason() reports it
            continue;
        }
        if (ran == 0 && io_.stopped()) return {};  // no work left at all: nothing can change any more
        if (ran == 0) return {LoopEnd::timeout, {}, 0};
    }
}

std::optional<LoopOutcome> Runtime::stop_reason() {
    if (auto error = take_error()) return LoopOutcome{LoopEnd::error, std::move(*error), 0};
    if (signal_ != 0) return finish_interrupt();
    if (reset_) return LoopOutcome{LoopEnd::reset, {}, 0};
    if (is_idle()) return LoopOutcome{};
    return std::nullopt;
}

LoopOutcome Runtime::finish_interrupt() {
    const int signal = signal_;
    std::vector<Object*> live(objects_.begin(), objects_.end());
    for (Object* object : live) {
        if (!object->is_collected()) object->close_for_exit();
    }
    const auto is_closing = [this] {
        for (const Object* object : objects_) {
            if (object->is_closing()) return true;
        }
        return false;
    };
    const auto deadline = std::chrono::steady_clock::now() + interrupt_grace;
    const auto run_one = [&] {
        try {
            return io_.run_one_until(deadline);
        } catch (const CallbackFailed&) {  // dropped below: the loop is ending anyway
            return std::size_t{1};
        }
    };
    while (signal_count_ < 2 && is_closing() && run_one() > 0) drain_graveyard();
    drain_graveyard();
    error_.reset();
    return {LoopEnd::interrupted, {}, signal};
}

std::size_t Runtime::poll(lua_State* L) {
    if (running_) throw LuaError(reentry_message);
    Enter enter(*this, L);
    std::size_t ran = 0;
    {
        const Running running(running_);
        io_.restart();
        try {
            ran = io_.poll();
        } catch (const CallbackFailed&) {  // recorded: the caller re-raises it; what is left runs next time
            ran = 1;
        }
    }
    drain_graveyard();
    return ran;
}

void Runtime::catch_signals() {
    if (signals_) return;
    signals_.emplace(io_, SIGINT, SIGTERM);
    wait_signal();
}

void Runtime::wait_signal() {
    signals_->async_wait([this](const std::error_code& error, int signal) {
        if (error) return;
        ++signal_count_;
        if (signal_ == 0) signal_ = signal;
        wait_signal();
    });
}

void Runtime::arm_watchdog(std::int64_t seconds) {
    if (watchdog_) watchdog_->cancel();
    watchdog_armed_ = seconds >= 0;
    if (seconds < 0) return;
    if (!watchdog_) watchdog_.emplace(io_);
    watchdog_->expires_after(std::chrono::seconds{seconds});
    watchdog_->async_wait([this](const std::error_code& error) {
        if (error) return;
        watchdog_armed_ = false;
        if (device_) {
            request_reset({});
        } else if (!error_) {
            error_ = "tmr.softwd: the soft watchdog expired";
        }
    });
}

bool Runtime::first_time(const std::string& key) { return said_.insert(key).second; }

}  // namespace nmqtt::lua
