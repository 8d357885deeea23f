#include "io_control.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace nmqtt::lua {

constexpr int max_wait_ms = 60'000;
constexpr int max_pin = 12;
constexpr int max_adc = 1024;

IoControl::IoControl(std::map<int, int> pins, int adc) : pins_(std::move(pins)), adc_(adc) {}

IoControl::~IoControl() {
    {
        const std::lock_guard lock(mutex_);
        listener_ = nullptr;
    }
    // Only reached once the reader (which holds a reference) is done with this object.
    if (reader_.joinable()) reader_.detach();
}

bool IoControl::start(const std::string& path) {
    {
        const std::lock_guard lock(mutex_);
        open_ = true;
    }
    try {
        reader_ = std::thread([self = shared_from_this(), path] { self->read_lines(path); });
    } catch (const std::system_error&) {
        const std::lock_guard lock(mutex_);
        open_ = false;
        return false;
    }
    return true;
}

void IoControl::read_lines(std::string path) {
    std::ifstream in(path);
    if (!in) std::fprintf(stderr, "nmqtt: --io-control: cannot open '%s'\n", path.c_str());
    for (std::string line; in && std::getline(in, line);) apply(line);
    const std::lock_guard lock(mutex_);
    open_ = false;
    notify_locked();
}

void IoControl::apply(const std::string& line) {
    std::istringstream words(line);
    std::string command;
    if (!(words >> command) || command.front() == '#') return;
    int first = 0;
    int second = 0;
    const bool has_first = static_cast<bool>(words >> first);
    if (command == "wait" && has_first && first >= 0 && first <= max_wait_ms) {
        std::this_thread::sleep_for(std::chrono::milliseconds{first});
        return;
    }
    const std::lock_guard lock(mutex_);
    if (command == "pin" && has_first && (words >> second) && first >= 0 && first <= max_pin &&
        (second == 0 || second == 1)) {
        pins_[first] = second;
        changes_.push_back({IoChange::Kind::pin, first, second});
    } else if (command == "adc" && has_first && first >= 0 && first <= max_adc) {
        adc_ = first;
        changes_.push_back({IoChange::Kind::adc, 0, first});
    } else {
        std::fprintf(stderr, "nmqtt: --io-control: cannot read '%s' (expected 'pin PIN 0|1', 'adc 0..1024' or "
                             "'wait MS'): skipped\n", line.c_str());
        return;
    }
    notify_locked();
}

void IoControl::notify_locked() {
    if (listener_) listener_();
}

std::optional<int> IoControl::pin(int pin) const {
    const std::lock_guard lock(mutex_);
    const auto it = pins_.find(pin);
    if (it == pins_.end()) return std::nullopt;
    return it->second;
}

int IoControl::adc() const {
    const std::lock_guard lock(mutex_);
    return adc_;
}

std::deque<IoChange> IoControl::take_changes() {
    const std::lock_guard lock(mutex_);
    std::deque<IoChange> changes;
    changes.swap(changes_);
    return changes;
}

bool IoControl::is_open() const {
    const std::lock_guard lock(mutex_);
    return open_;
}

void IoControl::set_listener(std::function<void()> listener) {
    const std::lock_guard lock(mutex_);
    listener_ = std::move(listener);
}

int IoControl::adc_init_mode() const {
    const std::lock_guard lock(mutex_);
    return adc_init_mode_;
}

void IoControl::set_adc_init_mode(int mode) {
    const std::lock_guard lock(mutex_);
    adc_init_mode_ = mode;
}

}  // namespace nmqtt::lua
