#include "device_options.hpp"

#include <unistd.h>

namespace nmqtt::lua {

std::uint32_t process_chip_id() {
    return (static_cast<std::uint32_t>(gethostid()) ^ static_cast<std::uint32_t>(getpid())) & 0xffffffU;
}

std::array<std::uint8_t, 6> default_mac() {
    const std::uint32_t chip = process_chip_id();
    return {0x5c, 0xcf, 0x7f, static_cast<std::uint8_t>(chip >> 16), static_cast<std::uint8_t>(chip >> 8),
            static_cast<std::uint8_t>(chip)};
}

std::array<std::uint8_t, 6> device_mac(const DeviceOptions& options) {
    for (const std::uint8_t byte : options.mac) {
        if (byte != 0) return options.mac;
    }
    return default_mac();
}

std::uint32_t device_chip_id(const DeviceOptions& options) {
    const auto mac = device_mac(options);
    return (std::uint32_t{mac[3]} << 16) | (std::uint32_t{mac[4]} << 8) | std::uint32_t{mac[5]};
}

}  // namespace nmqtt::lua
