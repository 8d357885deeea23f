// IoControl: the world outside the simulated chip of `nmqtt run`: the levels driven onto input pins, the
// ADC's input, and the ADC mode byte of the init data in flash. It outlives the Lua state (a reset does not
// release a pressed button) and can be driven while the script runs from a line-based control file or FIFO
// (--io-control), read by a thread of its own.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <mutex>
#include <string>
#include <thread>

namespace nmqtt::lua {

/// One change from outside: a pin driven to a level, or a new ADC input value.
struct IoChange {
    enum class Kind : std::uint8_t { pin, adc } kind = Kind::pin;
    int pin = 0;
    int value = 0;
};

/// Shared: the reader thread holds a reference, so the object outlives a thread blocked on a silent FIFO.
class IoControl : public std::enable_shared_from_this<IoControl> {
public:
    /// `pins` and `adc` are the initial outside values (--pin, --adc).
    IoControl(std::map<int, int> pins, int adc);
    ~IoControl();
    IoControl(const IoControl&) = delete;
    IoControl& operator=(const IoControl&) = delete;

    /// Starts reading `path` (a file or FIFO) line by line: "pin PIN LEVEL", "adc VALUE", "wait MS", "# ...".
    /// Lines it cannot read are reported on stderr and skipped. Returns false if the thread could not start.
    bool start(const std::string& path);

    /// The current outside level of `pin`, if something drives it.
    [[nodiscard]] std::optional<int> pin(int pin) const;
    [[nodiscard]] int adc() const;
    /// Takes the changes queued since the last call, in order.
    [[nodiscard]] std::deque<IoChange> take_changes();
    /// True while the control file may still produce changes (started and not at its end).
    [[nodiscard]] bool is_open() const;
    /// Called (from the reader thread) after each change and at the end of the control file; set by the gpio
    /// module of the current Lua state, cleared before that state goes away.
    void set_listener(std::function<void()> listener);

    /// The ADC mode byte of the init data: 0 (adc.INIT_ADC, the default) or 255 (adc.INIT_VDD33).
    [[nodiscard]] int adc_init_mode() const;
    void set_adc_init_mode(int mode);

private:
    void read_lines(std::string path);
    void apply(const std::string& line);
    void notify_locked();

    mutable std::mutex mutex_;
    std::map<int, int> pins_;
    std::deque<IoChange> changes_;
    std::function<void()> listener_;
    std::thread reader_;
    int adc_;
    int adc_init_mode_ = 0;
    bool open_ = false;
};

}  // namespace nmqtt::lua
