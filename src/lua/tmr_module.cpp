// The `tmr` module: NodeMCU's timer objects (tmr.create()) and the pre-2019 static API on ids 0..6, on the
// runtime's io_context. An armed timer keeps itself (and the event loop) alive without any Lua reference.
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <utility>

#include "args.hpp"
#include "lua_api.hpp"

namespace nmqtt::lua {
namespace {

constexpr const char* timer_type = "tmr.timer";
const char static_timers_key = 0;  // registry: array of the 7 static timers
constexpr int static_timer_count = 7;

enum Mode : int { alarm_single = 0, alarm_semi = 1, alarm_auto = 2 };
constexpr std::int64_t max_interval_ms = INT32_MAX;

class Timer final : public Object {
public:
    explicit Timer(Runtime& runtime) : Object(runtime), timer_(runtime.io()) {}
    ~Timer() override { mark_collected(); }

    void set_self(std::weak_ptr<Timer> self) { self_ = std::move(self); }

    void register_alarm(std::uint32_t interval_ms, Mode mode) {
        stop();
        interval_ = std::chrono::milliseconds{interval_ms};
        mode_ = mode;
        registered_ = true;
    }
    bool start(bool restart) {
        if (!registered_ || (running_ && !restart)) return false;
        due_ = std::chrono::steady_clock::now() + interval_;
        arm();
        return true;
    }
    bool stop() {
        if (!running_) return false;
        running_ = false;
        ++generation_;
        timer_.cancel();
        set_anchored(false);
        return true;
    }
    void unregister() {
        stop();
        registered_ = false;
    }
    void set_interval(std::uint32_t interval_ms) {
        if (!registered_) return;
        interval_ = std::chrono::milliseconds{interval_ms};
        if (running_) start(true);
    }
    [[nodiscard]] bool is_registered() const noexcept { return registered_; }
    [[nodiscard]] bool is_running() const noexcept { return running_; }
    [[nodiscard]] Mode mode() const noexcept { return mode_; }

private:
    void arm() {
        running_ = true;
        set_anchored(true);
        timer_.expires_at(due_);
        timer_.async_wait([self = self_, generation = ++generation_](const std::error_code& error) {
            if (error) return;
            if (auto timer = self.lock()) timer->fire(generation);
        });
    }

    void fire(std::uint64_t generation) {
        if (is_collected() || generation != generation_ || !running_) return;
        const bool single = mode_ == alarm_single;
        if (mode_ == alarm_auto) {
            const auto now = std::chrono::steady_clock::now();
            due_ = due_ + interval_ > now ? due_ + interval_ : now + interval_;
            arm();
        } else {
            running_ = false;
            registered_ = !single;  // ALARM_SINGLE unregisters itself before its callback runs (as NodeMCU)
        }
        runtime().call([this, single](lua_State* L) {
            if (!runtime().push_object(L, this)) return;
            lua_getuservalue(L, -1);
            if (lua_getfield(L, -1, "callback") != LUA_TFUNCTION) return;
            if (single) {
                lua_pushnil(L);
                lua_setfield(L, -3, "callback");
            }
            lua_pushvalue(L, -3);
            lua_call(L, 1, 0);  // callback(timer)
        });
        if (!running_) set_anchored(false);
    }

    asio::steady_timer timer_;
    std::weak_ptr<Timer> self_;
    std::chrono::milliseconds interval_{0};
    std::chrono::steady_clock::time_point due_;
    std::uint64_t generation_ = 0;
    Mode mode_ = alarm_single;
    bool registered_ = false;
    bool running_ = false;
};

using ObjectSlot = std::shared_ptr<Object>;

void push_new_timer(lua_State* L) {
    Runtime& runtime = Runtime::of(L);
    auto* slot = static_cast<ObjectSlot*>(lua_newuserdata(L, sizeof(ObjectSlot)));
    new (slot) ObjectSlot();
    luaL_setmetatable(L, timer_type);
    lua_newtable(L);
    lua_setuservalue(L, -2);
    auto timer = std::make_shared<Timer>(runtime);
    timer->set_self(timer);
    *slot = timer;
    runtime.register_object(L, -1, timer.get());
}

/// The timer at stack position 1: a timer object, or the id 0..6 of a static timer (replaced in place by
/// its object so that the rest of the binding sees a userdata at 1).
Timer& check_timer(lua_State* L) {
    if (lua_type(L, 1) == LUA_TNUMBER) {
        const auto id = check_integer(L, 1, 0, static_timer_count - 1, "timer id");
        lua_rawgetp(L, LUA_REGISTRYINDEX, &static_timers_key);
        if (lua_rawgeti(L, -1, id) != LUA_TUSERDATA) {
            lua_pop(L, 1);
            push_new_timer(L);
            lua_pushvalue(L, -1);
            lua_rawseti(L, -3, id);
        }
        lua_replace(L, 1);
        lua_pop(L, 1);
    }
    auto* slot = static_cast<ObjectSlot*>(luaL_testudata(L, 1, timer_type));
    if (slot == nullptr) throw type_error(L, 1, "timer object or static timer id 0..6");
    if (!*slot) throw ArgError(1, "timer already finalized");
    return static_cast<Timer&>(**slot);
}

void set_timer_callback(lua_State* L, int arg) {
    lua_getuservalue(L, 1);
    lua_pushvalue(L, arg);
    lua_setfield(L, -2, "callback");
    lua_pop(L, 1);
}

std::uint32_t check_interval(lua_State* L, int arg) {
    return static_cast<std::uint32_t>(check_integer(L, arg, 1, max_interval_ms, "interval"));
}

// timer:register(interval_ms, mode, function(timer)) / tmr.register(id, ...)
int timer_register(lua_State* L) {
    Timer& timer = check_timer(L);
    const auto interval = check_interval(L, 2);
    const auto mode = static_cast<Mode>(check_integer(L, 3, alarm_single, alarm_auto, "mode"));
    if (lua_type(L, 4) != LUA_TFUNCTION) throw type_error(L, 4, "function");
    timer.register_alarm(interval, mode);
    set_timer_callback(L, 4);
    return 0;
}

// timer:alarm(interval_ms, mode, function(timer)) -> true / tmr.alarm(id, ...)
int timer_alarm(lua_State* L) {
    Timer& timer = check_timer(L);
    timer_register(L);
    lua_pushboolean(L, timer.start(true) ? 1 : 0);
    return 1;
}

// timer:start([restart]) -> true if started; false when not registered or already running
int timer_start(lua_State* L) {
    Timer& timer = check_timer(L);
    lua_pushboolean(L, timer.start(lua_toboolean(L, 2) != 0) ? 1 : 0);
    return 1;
}

// timer:stop() -> true if it was running
int timer_stop(lua_State* L) {
    lua_pushboolean(L, check_timer(L).stop() ? 1 : 0);
    return 1;
}

int timer_unregister(lua_State* L) {
    check_timer(L).unregister();
    lua_pushnil(L);
    set_timer_callback(L, lua_gettop(L));
    return 0;
}

int timer_interval(lua_State* L) {
    Timer& timer = check_timer(L);
    timer.set_interval(check_interval(L, 2));
    return 0;
}

// timer:state() -> running, mode; nil when not registered
int timer_state(lua_State* L) {
    Timer& timer = check_timer(L);
    if (!timer.is_registered()) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushboolean(L, timer.is_running() ? 1 : 0);
    lua_pushinteger(L, timer.mode());
    return 2;
}

int timer_gc(lua_State* L) {
    auto* slot = static_cast<ObjectSlot*>(luaL_testudata(L, 1, timer_type));
    if (slot != nullptr && *slot) {
        ObjectSlot object = std::move(*slot);
        slot->reset();
        object->runtime().bury(std::move(object));
    }
    return 0;
}

int timer_tostring(lua_State* L) {
    lua_pushfstring(L, "tmr.timer: %p", lua_topointer(L, 1));
    return 1;
}

int tmr_create(lua_State* L) {
    push_new_timer(L);
    return 1;
}

int tmr_now(lua_State* L) {
    lua_pushinteger(L, Runtime::of(L).now_us());
    return 1;
}

int tmr_time(lua_State* L) {
    lua_pushinteger(L, Runtime::of(L).now_us() / 1'000'000);
    return 1;
}

int tmr_delay(lua_State* L) {
    std::this_thread::sleep_for(std::chrono::microseconds{check_integer(L, 1, 0, INT32_MAX, "delay")});
    return 0;
}

int tmr_wdclr(lua_State*) { return 0; }

// tmr.softwd(s): the firmware counts it down once a second and restarts when it goes below zero; nmqtt
// restarts s seconds after the call (the device: between s and s + 1). Negative disarms.
int tmr_softwd(lua_State* L) {
    Runtime::of(L).arm_watchdog(check_lua_integer(L, 1));
    return 0;
}

// tmr.ccount(): the 32-bit cycle counter at the simulated CPU clock; negative when bit 31 is set, as there.
int tmr_ccount(lua_State* L) {
    Runtime& runtime = Runtime::of(L);
    const auto ticks = static_cast<std::uint64_t>(runtime.now_us()) * static_cast<std::uint64_t>(runtime.cpu_mhz());
    lua_pushinteger(L, static_cast<std::int32_t>(static_cast<std::uint32_t>(ticks)));
    return 1;
}

void register_timer_type(lua_State* L) {
    if (luaL_newmetatable(L, timer_type) == 0) {
        lua_pop(L, 1);
        return;
    }
    static const luaL_Reg methods[] = {
        {"register", guarded<timer_register>}, {"alarm", guarded<timer_alarm>},
        {"start", guarded<timer_start>},       {"stop", guarded<timer_stop>},
        {"unregister", guarded<timer_unregister>}, {"interval", guarded<timer_interval>},
        {"state", guarded<timer_state>},       {nullptr, nullptr},
    };
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, timer_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, timer_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushstring(L, timer_type);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
    lua_createtable(L, static_timer_count, 0);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &static_timers_key);
}

int open_tmr_impl(lua_State* L) {
    Runtime::of(L);
    register_timer_type(L);
    static const luaL_Reg functions[] = {
        {"create", guarded<tmr_create>},   {"now", guarded<tmr_now>},
        {"time", guarded<tmr_time>},       {"delay", guarded<tmr_delay>},
        {"wdclr", tmr_wdclr},              {"softwd", guarded<tmr_softwd>},
        {"ccount", guarded<tmr_ccount>},   {"register", guarded<timer_register>},
        {"alarm", guarded<timer_alarm>},   {"start", guarded<timer_start>},
        {"stop", guarded<timer_stop>},     {"unregister", guarded<timer_unregister>},
        {"interval", guarded<timer_interval>}, {"state", guarded<timer_state>},
        {nullptr, nullptr},
    };
    luaL_newlib(L, functions);
    const std::pair<const char*, int> modes[] = {
        {"ALARM_SINGLE", alarm_single}, {"ALARM_SEMI", alarm_semi}, {"ALARM_AUTO", alarm_auto}};
    for (const auto& [name, value] : modes) {
        lua_pushinteger(L, value);
        lua_setfield(L, -2, name);
    }
    return 1;
}

}  // namespace

int open_tmr(lua_State* L) { return guarded<open_tmr_impl>(L); }

}  // namespace nmqtt::lua
