// The `gpio` and `adc` modules of `nmqtt run`: pins 0..12 as simulated state. A pin's level is the last level
// written to it or driven onto it from outside (--pin, --io-control); every change of level on a pin with a
// trigger runs its gpio.trig() callback from the event loop; --trace-io shows writes and triggers on stderr.
// Argument parsing follows nodemcu-firmware app/modules/gpio.c and adc.c.
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <array>
#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "args.hpp"
#include "device_support.hpp"
#include "io_control.hpp"
#include "lua_api.hpp"

namespace nmqtt::lua {
namespace {

constexpr const char* gpio_type = "gpio.state";
const char gpio_key = 0;  // registry: the gpio state userdata (its uservalue: pin -> trigger callback, "serout")

constexpr int pin_count = 13;  // GPIO_PIN_NUM
enum Mode : int { mode_input = 0, mode_output = 1, mode_interrupt = 2, mode_opendrain = 3 };
enum Trigger : int { trig_none = 0, trig_up, trig_down, trig_both, trig_low, trig_high };
constexpr const char* trigger_names[] = {"none", "up", "down", "both", "low", "high", nullptr};
constexpr std::size_t max_delays = 256;  // DELAY_TABLE_MAX_LEN
constexpr int adc_in_vdd33_mode = 65535;

struct Pin {
    int mode = mode_input;
    int level = 0;
    Trigger trigger = trig_none;
};

class GpioState final : public Object {
public:
    GpioState(Runtime& runtime, const DeviceOptions& options)
        : Object(runtime), options_(options), io_(options.io), serout_timer_(runtime.io()) {
        for (int pin = 0; pin < pin_count; ++pin) {
            if (const auto level = options.io->pin(pin)) pins_[static_cast<std::size_t>(pin)].level = *level;
        }
        adc_init_mode_ = options.io->adc_init_mode();  // the init data as it was at boot
    }
    ~GpioState() override {
        mark_collected();
        io_->set_listener(nullptr);
    }

    void start(std::weak_ptr<GpioState> self) {
        self_ = self;
        asio::io_context* io = &runtime().io();
        options_.io->set_listener([io, self] {
            asio::post(*io, [self] {
                if (auto state = self.lock(); state && !state->is_collected()) state->take_outside_changes();
            });
        });
        take_outside_changes();
    }

    Pin& pin(int number) { return pins_.at(static_cast<std::size_t>(number)); }
    const DeviceOptions& options() const noexcept { return options_; }
    int adc_init_mode() const noexcept { return adc_init_mode_; }

    /// Sets a pin's level (a write, or a level driven from outside) and runs its trigger on a change.
    void set_level(int number, int level, const char* source) {
        Pin& p = pin(number);
        const int old = p.level;
        p.level = level;
        trace("%s %d %d", source, number, level);
        if (fires(p.trigger, old, level)) queue_trigger(number, level);
    }

    /// gpio.serout() with a callback or number: the toggles happen from the event loop, one timer per delay.
    void start_serout(int number, int level, std::vector<std::uint32_t> delays, std::uint32_t repeats, bool callback) {
        serout_ = {number, level, std::move(delays), repeats, 0, callback};
        ++serout_generation_;
        serout_step();
    }

    template <class... Args>
    void trace(const char* format, Args... args) const {
        if (!options_.trace_io) return;
        std::fprintf(stderr, "nmqtt: io t=%lld ", static_cast<long long>(runtime().now_us()));
        std::fprintf(stderr, format, args...);
        std::fputc('\n', stderr);
    }

private:
    struct Serout {
        int pin = 0;
        int level = 0;
        std::vector<std::uint32_t> delays;
        std::uint32_t repeats = 0;
        std::size_t index = 0;
        bool callback = false;
    };

    static bool fires(Trigger trigger, int old, int level) {
        switch (trigger) {
        case trig_up: return old == 0 && level == 1;
        case trig_down: return old == 1 && level == 0;
        case trig_both: return old != level;
        case trig_low: return level == 0;   // level triggers: once each time the level is set
        case trig_high: return level == 1;
        default: return false;
        }
    }

    void take_outside_changes() {
        for (const IoChange& change : options_.io->take_changes()) {
            if (change.kind == IoChange::Kind::adc) {
                trace("adc %d", change.value);
            } else {
                set_level(change.pin, change.value, "in");
            }
        }
        update_anchor();
    }

    void queue_trigger(int number, int level) {
        pending_.push_back({number, level, runtime().now_us()});
        update_anchor();
        asio::post(runtime().io(), [self = self_] {
            if (auto state = self.lock(); state && !state->is_collected()) state->deliver_trigger();
        });
    }

    void deliver_trigger() {
        if (pending_.empty()) return;
        const PendingTrigger trigger = pending_.front();
        pending_.pop_front();
        update_anchor();
        trace("trig %d %d", trigger.pin, trigger.level);
        runtime().call([this, trigger](lua_State* L) {
            if (!runtime().push_object(L, this)) return;
            lua_getuservalue(L, -1);
            if (lua_rawgeti(L, -1, trigger.pin) != LUA_TFUNCTION) return;
            lua_pushinteger(L, trigger.level);
            lua_pushinteger(L, trigger.when_us & 0x7fffffff);
            lua_pushinteger(L, 1);
            lua_call(L, 3, 0);  // callback(level, when, eventcount)
        });
    }

    void serout_step() {
        if (serout_.index >= serout_.delays.size() && serout_.repeats > 0) {
            serout_.index = 0;
            --serout_.repeats;
        }
        if (serout_.index >= serout_.delays.size()) {
            set_anchored(false);
            if (serout_.callback) finish_serout();
            update_anchor();
            return;
        }
        set_level(serout_.pin, serout_.level, "gpio");
        serout_.level = serout_.level == 0 ? 1 : 0;
        serout_active_ = true;
        update_anchor();
        serout_timer_.expires_after(std::chrono::microseconds{serout_.delays[serout_.index++]});
        serout_timer_.async_wait([self = self_, generation = serout_generation_](const std::error_code& error) {
            auto state = self.lock();
            if (error || !state || state->is_collected() || generation != state->serout_generation_) return;
            state->serout_step();
        });
    }

    void finish_serout() {
        serout_active_ = false;
        runtime().call([this](lua_State* L) {
            if (!runtime().push_object(L, this)) return;
            lua_getuservalue(L, -1);
            const int type = lua_getfield(L, -1, "serout");
            lua_pushnil(L);
            lua_setfield(L, -3, "serout");
            if (type == LUA_TFUNCTION) lua_call(L, 0, 0);
        });
    }

    void update_anchor() { set_anchored(!pending_.empty() || serout_active_ || options_.io->is_open()); }

    struct PendingTrigger {
        int pin;
        int level;
        std::int64_t when_us;
    };

    const DeviceOptions& options_;
    std::shared_ptr<IoControl> io_;
    std::array<Pin, pin_count> pins_{};
    std::deque<PendingTrigger> pending_;
    asio::steady_timer serout_timer_;
    Serout serout_;
    std::uint64_t serout_generation_ = 0;
    std::weak_ptr<GpioState> self_;
    int adc_init_mode_ = 0;
    bool serout_active_ = false;
};

using ObjectSlot = std::shared_ptr<Object>;

GpioState& gpio_state(lua_State* L) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &gpio_key);
    auto* slot = static_cast<ObjectSlot*>(luaL_testudata(L, -1, gpio_type));
    lua_pop(L, 1);
    if (slot == nullptr || !*slot) throw LuaError("gpio: the pin state is gone");
    return static_cast<GpioState&>(**slot);
}

void set_stored(lua_State* L, int key, int value_index) {
    value_index = lua_absindex(L, value_index);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &gpio_key);
    lua_getuservalue(L, -1);
    lua_pushvalue(L, value_index);
    lua_rawseti(L, -2, key);
    lua_pop(L, 2);
}

bool has_stored(lua_State* L, int key) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &gpio_key);
    lua_getuservalue(L, -1);
    const bool found = lua_rawgeti(L, -1, key) != LUA_TNIL;
    lua_pop(L, 3);
    return found;
}

void clear_stored(lua_State* L, int key) {
    lua_pushnil(L);
    set_stored(L, key, -1);
    lua_pop(L, 1);
}

// MOD_CHECK_ID(gpio, pin): "gpio N does not exist"
int check_pin_exists(lua_Integer pin) {
    if (pin < 0 || pin >= pin_count) throw LuaError("gpio " + std::to_string(static_cast<unsigned>(pin)) + " does not exist");
    return static_cast<int>(pin);
}

// gpio.mode(pin, mode[, pullup])
int gpio_mode(lua_State* L) {
    const lua_Integer pin = check_lua_integer(L, 1);
    const lua_Integer mode = check_lua_integer(L, 2);
    const lua_Integer pullup = lua_isnoneornil(L, 3) ? 0 : check_lua_integer(L, 3);
    if (pin < 0 || pin >= pin_count || (mode == mode_interrupt && pin == 0)) throw ArgError(1, "Invalid pin");
    if (mode != mode_output && mode != mode_opendrain && mode != mode_input && mode != mode_interrupt) {
        throw ArgError(2, "wrong arg type");
    }
    GpioState& state = gpio_state(L);
    Pin& p = state.pin(static_cast<int>(pin));
    if (mode != mode_interrupt) {
        clear_stored(L, static_cast<int>(pin));
        p.trigger = trig_none;
    }
    p.mode = static_cast<int>(mode);
    const bool driven = state.options().io->pin(static_cast<int>(pin)).has_value();
    if (mode != mode_output && pullup != 0 && !driven) p.level = 1;  // the weak pull-up holds an open input high
    state.trace("mode %d %d", static_cast<int>(pin), static_cast<int>(mode));
    return 0;
}

int gpio_read(lua_State* L) {
    const int pin = check_pin_exists(check_lua_integer(L, 1));
    lua_pushinteger(L, gpio_state(L).pin(pin).level);
    return 1;
}

// gpio.write(pin, level)
int gpio_write(lua_State* L) {
    const lua_Integer pin = check_lua_integer(L, 1);
    const lua_Integer level = check_lua_integer(L, 2);
    check_pin_exists(pin);
    if (level != 0 && level != 1) throw ArgError(2, "wrong level type");
    gpio_state(L).set_level(static_cast<int>(pin), static_cast<int>(level), "gpio");
    return 0;
}

// gpio.trig(pin[, type[, callback]])
int gpio_trig(lua_State* L) {
    const lua_Integer pin = check_lua_integer(L, 1);
    if (pin <= 0 || pin >= pin_count) throw ArgError(1, "Invalid interrupt pin");
    const auto trigger = static_cast<Trigger>(luaL_checkoption(L, 2, "none", trigger_names));
    const int number = static_cast<int>(pin);
    Pin& p = gpio_state(L).pin(number);
    if (trigger == trig_none) {
        clear_stored(L, number);
    } else if (lua_gettop(L) == 2 && has_stored(L, number)) {
        // keeps the old callback
    } else if (lua_isfunction(L, 3)) {
        set_stored(L, number, 3);
    } else {
        clear_stored(L, number);
        p.trigger = trig_none;
        throw ArgError(3, "invalid callback type");
    }
    p.trigger = trigger;
    return 0;
}

// The delay table of gpio.serout(): at most 255 integers.
std::vector<std::uint32_t> serout_delays(lua_State* L) {
    const bool ok = lua_istable(L, 3) && lua_rawlen(L, 3) < max_delays;
    if (!ok) throw ArgError(3, "Invalid delay_times");
    std::vector<std::uint32_t> delays(lua_rawlen(L, 3));
    for (std::size_t i = 0; i < delays.size(); ++i) {
        lua_rawgeti(L, 3, static_cast<lua_Integer>(i + 1));
        delays[i] = static_cast<std::uint32_t>(check_lua_integer(L, -1));
        lua_pop(L, 1);
    }
    return delays;
}

// Keeps serout's callback (argument 5, when it is not a number) for the end of the sequence.
void store_serout_callback(lua_State* L, bool callback) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &gpio_key);
    lua_getuservalue(L, -1);
    if (callback) {
        lua_pushvalue(L, 5);
    } else {
        lua_pushnil(L);
    }
    lua_setfield(L, -2, "serout");
    lua_pop(L, 2);
}

// gpio.serout(pin, start_level, delays[, cycles[, callback]]): without a callback the toggles are done at once
// (the firmware busy-waits the delays; nothing else can run meanwhile, so nothing could see the difference);
// with a callback (or a number) they are spread over the delays by the event loop.
int gpio_serout(lua_State* L) {
    const lua_Integer pin = check_lua_integer(L, 1);
    const lua_Integer level = check_lua_integer(L, 2);
    const lua_Integer cycles = lua_isnoneornil(L, 4) ? 1 : check_lua_integer(L, 4);
    const bool async = !lua_isnoneornil(L, 5);
    const bool callback = async && lua_isnumber(L, 5) == 0;
    if (pin < 0 || pin >= pin_count) throw ArgError(1, "Invalid pin");
    if (level != 0 && level != 1) throw ArgError(2, "Wrong level type");
    std::vector<std::uint32_t> delays = serout_delays(L);
    const auto repeats = static_cast<std::uint32_t>(cycles - 1);
    GpioState& state = gpio_state(L);
    if (async) {
        store_serout_callback(L, callback);
        state.start_serout(static_cast<int>(pin), static_cast<int>(level), std::move(delays), repeats, callback);
        return 0;
    }
    int current = static_cast<int>(level);
    for (std::uint64_t step = 0; step < delays.size() * (std::uint64_t{repeats} + 1); ++step) {
        state.set_level(static_cast<int>(pin), current, "gpio");
        current = current == 0 ? 1 : 0;
    }
    return 0;
}

// adc.read(channel): the ADC input (--adc, --io-control); 65535 when the init data says INIT_VDD33
int adc_read(lua_State* L) {
    const lua_Integer id = check_lua_integer(L, 1);
    if (id != 0) throw LuaError("adc " + std::to_string(static_cast<unsigned>(id)) + " does not exist");
    const GpioState& state = gpio_state(L);
    lua_pushinteger(L, state.adc_init_mode() == 0 ? state.options().io->adc() : adc_in_vdd33_mode);
    return 1;
}

// adc.readvdd33(): --vdd33 mV when the init data says INIT_VDD33, else 65535
int adc_readvdd33(lua_State* L) {
    const GpioState& state = gpio_state(L);
    lua_pushinteger(L, state.adc_init_mode() != 0 ? state.options().vdd33 : adc_in_vdd33_mode);
    return 1;
}

// adc.force_init_mode(adc.INIT_ADC | adc.INIT_VDD33) -> true when the mode had to change (effective after a
// restart: the init data is kept by the runner across resets), false when it was already set
int adc_force_init_mode(lua_State* L) {
    const auto mode = static_cast<std::uint8_t>(check_lua_integer(L, 1));
    if (static_cast<std::uint8_t>(mode + 1) >= 2) throw ArgError(1, "Invalid mode");
    IoControl& io = *gpio_state(L).options().io;
    const bool change = io.adc_init_mode() != mode;
    io.set_adc_init_mode(mode);
    lua_pushboolean(L, change ? 1 : 0);
    return 1;
}

int gpio_gc(lua_State* L) {
    auto* slot = static_cast<ObjectSlot*>(luaL_testudata(L, 1, gpio_type));
    if (slot != nullptr && *slot) {
        ObjectSlot object = std::move(*slot);
        slot->reset();
        object->runtime().bury(std::move(object));
    }
    return 0;
}

void create_gpio_state(lua_State* L, const DeviceOptions& options) {
    Runtime& runtime = Runtime::of(L);
    luaL_newmetatable(L, gpio_type);
    lua_pushcfunction(L, gpio_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    auto* slot = static_cast<ObjectSlot*>(lua_newuserdata(L, sizeof(ObjectSlot)));
    new (slot) ObjectSlot();
    luaL_setmetatable(L, gpio_type);
    lua_newtable(L);
    lua_setuservalue(L, -2);
    auto state = std::make_shared<GpioState>(runtime, options);
    *slot = state;
    runtime.register_object(L, -1, state.get());
    lua_rawsetp(L, LUA_REGISTRYINDEX, &gpio_key);
    state->start(state);
}

void set_integer(lua_State* L, const char* name, int value) {
    lua_pushinteger(L, value);
    lua_setfield(L, -2, name);
}

int open_gpio_impl(lua_State* L) {
    const DeviceOptions& options = device_options(L, "gpio");
    lua_rawgetp(L, LUA_REGISTRYINDEX, &gpio_key);
    const bool exists = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (!exists) create_gpio_state(L, options);
    static const luaL_Reg functions[] = {
        {"mode", guarded<gpio_mode>}, {"read", guarded<gpio_read>}, {"write", guarded<gpio_write>},
        {"trig", guarded<gpio_trig>}, {"serout", guarded<gpio_serout>}, {nullptr, nullptr}};
    luaL_newlib(L, functions);
    static constexpr std::pair<const char*, int> constants[] = {
        {"OUTPUT", mode_output}, {"OPENDRAIN", mode_opendrain}, {"INPUT", mode_input}, {"INT", mode_interrupt},
        {"HIGH", 1}, {"LOW", 0}, {"FLOAT", 0}, {"PULLUP", 1}};
    for (const auto& [name, value] : constants) set_integer(L, name, value);
    return 1;
}

int open_adc_impl(lua_State* L) {
    lua_pushcfunction(L, open_gpio);  // the adc shares the gpio state (and its link to the outside)
    lua_call(L, 0, 1);
    lua_pop(L, 1);
    static const luaL_Reg functions[] = {{"read", guarded<adc_read>},
                                         {"readvdd33", guarded<adc_readvdd33>},
                                         {"force_init_mode", guarded<adc_force_init_mode>},
                                         {nullptr, nullptr}};
    luaL_newlib(L, functions);
    set_integer(L, "INIT_ADC", 0);
    set_integer(L, "INIT_VDD33", 0xff);
    return 1;
}

}  // namespace

int open_gpio(lua_State* L) { return guarded<open_gpio_impl>(L); }
int open_adc(lua_State* L) { return guarded<open_adc_impl>(L); }

}  // namespace nmqtt::lua
