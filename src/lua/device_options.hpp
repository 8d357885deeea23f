// DeviceOptions: what `nmqtt run` tells the simulated NodeMCU (wifi, node, file, gpio, adc modules) about the
// device it pretends to be. Every default is written here; docs/lua.md describes how each is used.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace nmqtt::lua {

class IoControl;

struct DeviceOptions {
    // wifi: a station whose access point is the machine's loopback network.
    std::string ssid = "nmqtt";                  ///< SSID of the saved configuration the station joins at boot
    std::string ip = "127.0.0.1";                ///< wifi.sta.getip() once joined
    std::string netmask = "255.0.0.0";
    std::string gateway = "127.0.0.1";
    std::array<std::uint8_t, 6> mac{};           ///< station MAC; all zero: derived from the host (see default_mac())
    int rssi = -50;                              ///< wifi.sta.getrssi() while associated, dBm
    std::chrono::milliseconds join_delay{50};    ///< boot/config -> STA_CONNECTED, and again -> STA_GOT_IP
    bool wifi_down = false;                      ///< --wifi-down: no access point, never an IP

    // node
    std::uint32_t flash_id = 0x1640ef;           ///< a 4 MiB Winbond flash, as on most NodeMCU boards
    std::uint32_t heap = 44'000;                 ///< node.heap(): a typical free heap after boot
    int boot_rawcode = 1;                        ///< node.bootreason(): 1, 0 at power-on
    int boot_reason = 0;                         ///< 4 after node.restart(), 5 after node.dsleep()

    // file: the SPIFFS folder
    std::string fs_dir;                          ///< folder of the simulated flash file system (absolute)
    std::uint64_t fs_size = 3'000'000;           ///< total bytes reported by file.fsinfo(), limit of writes

    // gpio / adc
    std::map<int, int> pins;                     ///< --pin PIN=LEVEL: initial input levels
    int adc = 512;                               ///< adc.read(0)
    int vdd33 = 3300;                            ///< adc.readvdd33(), mV
    bool trace_io = false;                       ///< --trace-io: gpio writes and triggers on stderr
    std::string io_control;                      ///< --io-control PATH: line commands (pin, adc) read while running
    std::shared_ptr<IoControl> io;               ///< the outside of the chip (inputs, ADC, init data): kept across resets
};

/// The station MAC of this process: Espressif's OUI 5c:cf:7f and three bytes derived from the host id and the
/// process id (as mqtt.Client()'s default client id always was), so that two runs on one machine are two
/// devices; --mac fixes it.
[[nodiscard]] std::array<std::uint8_t, 6> default_mac();

/// Three bytes made of the host id and the process id (the default chip id).
[[nodiscard]] std::uint32_t process_chip_id();

/// The MAC to use: options.mac unless it is all zero, else default_mac().
[[nodiscard]] std::array<std::uint8_t, 6> device_mac(const DeviceOptions& options);

/// node.chipid(): the last three bytes of the station MAC, as on the ESP8266.
[[nodiscard]] std::uint32_t device_chip_id(const DeviceOptions& options);

}  // namespace nmqtt::lua
