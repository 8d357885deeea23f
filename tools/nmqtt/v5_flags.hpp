// The MQTT 5.0 flags mosquitto 2.0's clients share: -V (protocol version), -D / --property COMMAND NAME VALUE
// (properties of CONNECT, PUBLISH, SUBSCRIBE, UNSUBSCRIBE, DISCONNECT and the will) and -x (session expiry).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nmqtt/options.hpp"
#include "nmqtt/protocol/properties.hpp"
#include "nmqtt/session/session.hpp"

namespace CLI { class App; }

namespace nmqtt::cli {

/// -V, -D and -x, with mosquitto's names and meaning; parsed into properties per packet.
class V5Flags {
public:
    /// The -D commands (mosquitto_string_to_command's names); `unsupported`: one mosquitto names but refuses.
    enum class Command { connect, publish, subscribe, unsubscribe, disconnect, will, unsupported };

    /// MQTT 5.0 unless -V says otherwise (mosquitto_rr's default); call before finish().
    void default_to_v5() noexcept { default_v5_ = true; }

    /// Adds -V, -D and -x to `app`.
    void add_to(CLI::App& app);

    /// Checks and converts what was given (call once after parsing). `persistent_session`: -c was given
    /// (then, at 5.0 and without -x, the session never expires, as with mosquitto). Returns a usage error or
    /// nullopt.
    [[nodiscard]] std::optional<std::string> finish(bool persistent_session);

    [[nodiscard]] bool is_v5() const noexcept { return v5_; }
    /// True when the session never expires (-x -1 / ∞, or -c at 5.0 without -x): needs a client id.
    [[nodiscard]] bool has_infinite_expiry() const noexcept {
        return v5_ && options_.session_expiry_interval == 0xFFFF'FFFFu;
    }
    /// Sets the protocol level, V5Options (session expiry, Receive Maximum, ...) and CONNECT properties.
    void apply(ClientOptions& options) const;

    [[nodiscard]] protocol::PropertiesView publish_properties() const noexcept { return publish_.view(); }
    [[nodiscard]] protocol::PropertiesView subscribe_properties() const noexcept { return subscribe_.view(); }
    [[nodiscard]] protocol::PropertiesView unsubscribe_properties() const noexcept { return unsubscribe_.view(); }
    [[nodiscard]] protocol::PropertiesView will_properties() const noexcept { return will_.view(); }
    /// The DISCONNECT to send at the end (reason 0x00, the -D disconnect properties).
    [[nodiscard]] session::DisconnectRequest disconnect_request() const noexcept;

private:
    [[nodiscard]] std::optional<std::string> parse_version();
    [[nodiscard]] std::optional<std::string> parse_expiry();
    [[nodiscard]] std::optional<std::string> add_property(const std::vector<std::string>& args);
    [[nodiscard]] protocol::Properties* block_for(Command command);
    [[nodiscard]] std::optional<std::string> add_connect_property(protocol::PropertyId id, std::uint32_t number,
                                                                  std::string_view text, std::string_view value);

    std::string version_;            // -V as given ("" = not given)
    std::string expiry_;             // -x as given
    std::vector<std::vector<std::string>> raw_properties_;  // each -D's arguments, in order
    bool v5_ = false;
    bool default_v5_ = false;
    std::optional<std::uint32_t> session_expiry_;
    session::V5Options options_;
    protocol::Properties publish_, subscribe_, unsubscribe_, will_, disconnect_;
    std::optional<std::uint32_t> disconnect_expiry_;
};

/// The names -D takes, as mosquitto spells them ("message-expiry-interval"), for `id`.
[[nodiscard]] std::string_view property_name(protocol::PropertyId id) noexcept;

/// "0x87 Not authorized" (the reason code and its name in the standard).
[[nodiscard]] std::string describe_reason(std::uint8_t code);

/// ", reason string 'text'" when `properties` hold a Reason String, else "".
[[nodiscard]] std::string describe_reason_string(protocol::PropertiesView properties);

}  // namespace nmqtt::cli
