#include "v5_flags.hpp"

#include <array>
#include <charconv>
#include <cstdlib>
#include <limits>
#include <utility>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "nmqtt/protocol/reason_code.hpp"

namespace nmqtt::cli {

using Command = V5Flags::Command;

namespace {

using protocol::PropertyContext;
using protocol::PropertyId;
using protocol::PropertyType;

constexpr std::array<std::pair<std::string_view, PropertyId>, 27> property_names{{
    {"payload-format-indicator", PropertyId::payload_format_indicator},
    {"message-expiry-interval", PropertyId::message_expiry_interval},
    {"content-type", PropertyId::content_type},
    {"response-topic", PropertyId::response_topic},
    {"correlation-data", PropertyId::correlation_data},
    {"subscription-identifier", PropertyId::subscription_identifier},
    {"session-expiry-interval", PropertyId::session_expiry_interval},
    {"assigned-client-identifier", PropertyId::assigned_client_identifier},
    {"server-keep-alive", PropertyId::server_keep_alive},
    {"authentication-method", PropertyId::authentication_method},
    {"authentication-data", PropertyId::authentication_data},
    {"request-problem-information", PropertyId::request_problem_information},
    {"will-delay-interval", PropertyId::will_delay_interval},
    {"request-response-information", PropertyId::request_response_information},
    {"response-information", PropertyId::response_information},
    {"server-reference", PropertyId::server_reference},
    {"reason-string", PropertyId::reason_string},
    {"receive-maximum", PropertyId::receive_maximum},
    {"topic-alias-maximum", PropertyId::topic_alias_maximum},
    {"topic-alias", PropertyId::topic_alias},
    {"maximum-qos", PropertyId::maximum_qos},
    {"retain-available", PropertyId::retain_available},
    {"user-property", PropertyId::user_property},
    {"maximum-packet-size", PropertyId::maximum_packet_size},
    {"wildcard-subscription-available", PropertyId::wildcard_subscription_available},
    {"subscription-identifier-available", PropertyId::subscription_identifier_available},
    {"shared-subscription-available", PropertyId::shared_subscription_available},
}};

bool equals_ignoring_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto c = a[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != b[i]) return false;
    }
    return true;
}

std::optional<PropertyId> property_by_name(std::string_view name) {
    for (const auto& [text, id] : property_names) {
        if (equals_ignoring_case(name, text)) return id;
    }
    return std::nullopt;
}

std::optional<Command> command_by_name(std::string_view name) {
    constexpr std::array<std::pair<std::string_view, Command>, 14> commands{{
        {"connect", Command::connect}, {"publish", Command::publish}, {"subscribe", Command::subscribe},
        {"unsubscribe", Command::unsubscribe}, {"disconnect", Command::disconnect}, {"will", Command::will},
        {"connack", Command::unsupported}, {"puback", Command::unsupported}, {"pubrec", Command::unsupported},
        {"pubrel", Command::unsupported}, {"pubcomp", Command::unsupported}, {"suback", Command::unsupported},
        {"unsuback", Command::unsupported}, {"auth", Command::unsupported},
    }};
    for (const auto& [text, command] : commands) {
        if (equals_ignoring_case(name, text)) return command;
    }
    return std::nullopt;
}

PropertyContext context_of(Command command) {
    switch (command) {
        case Command::connect: return PropertyContext::connect;
        case Command::publish: return PropertyContext::publish;
        case Command::subscribe: return PropertyContext::subscribe;
        case Command::unsubscribe: return PropertyContext::unsubscribe;
        case Command::disconnect: return PropertyContext::disconnect;
        case Command::will: return PropertyContext::will;
        case Command::unsupported: break;
    }
    return PropertyContext::auth;
}

std::uint32_t type_maximum(PropertyType type) {
    switch (type) {
        case PropertyType::byte: return 0xFF;
        case PropertyType::two_byte: return 0xFFFF;
        case PropertyType::variable_byte: return protocol::max_variable_byte_integer;
        default: return std::numeric_limits<std::uint32_t>::max();
    }
}

std::optional<std::uint32_t> parse_unsigned(std::string_view text, std::uint32_t maximum) {
    std::uint64_t value = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc{} || ptr != end || text.empty() || value > maximum) return std::nullopt;
    return static_cast<std::uint32_t>(value);
}

void add_value(protocol::Properties& block, PropertyId id, PropertyType type, std::uint32_t number,
               std::string_view text, std::string_view value) {
    switch (type) {
        case PropertyType::byte: block.add_byte(id, static_cast<std::uint8_t>(number)); return;
        case PropertyType::two_byte: block.add_two_byte(id, static_cast<std::uint16_t>(number)); return;
        case PropertyType::four_byte: block.add_four_byte(id, number); return;
        case PropertyType::variable_byte: block.add_variable_byte(id, number); return;
        case PropertyType::utf8_pair: block.add_user_property(text, value); return;
        case PropertyType::utf8:
        case PropertyType::binary: block.add_string(id, text); return;
    }
}

bool is_integer(PropertyType type) {
    return type == PropertyType::byte || type == PropertyType::two_byte || type == PropertyType::four_byte ||
           type == PropertyType::variable_byte;
}

}  // namespace

std::string_view property_name(PropertyId id) noexcept {
    for (const auto& [text, known] : property_names) {
        if (known == id) return text;
    }
    return "unknown-property";
}

std::string describe_reason(std::uint8_t code) {
    return fmt::format("0x{:02x} {}", code, protocol::reason_code_name(code));
}

std::string describe_reason_string(protocol::PropertiesView properties) {
    const auto text = properties.reason_string();
    return text ? fmt::format(", reason string '{}'", *text) : std::string();
}

void V5Flags::add_to(CLI::App& app) {
    app.add_option("-V,--protocol-version", version_, "MQTT version: mqttv5 (or 5), mqttv311 (or 311, the default)");
    app.add_option_function<std::vector<std::string>>(
           "-D,--property", [this](const std::vector<std::string>& args) { raw_properties_.push_back(args); },
           "MQTT 5 property: -D COMMAND NAME VALUE (user-property: NAME KEY VALUE); turns MQTT 5 on. COMMAND: "
           "connect, publish, subscribe, unsubscribe, disconnect, will")
        ->expected(3, 4)
        ->trigger_on_parse()
        ->allow_extra_args(false);
    app.add_option("-x", expiry_, "MQTT 5 Session Expiry Interval in seconds (-1 or \xE2\x88\x9E: never expires)");
}

std::optional<std::string> V5Flags::parse_version() {
    if (version_.empty()) return std::nullopt;
    if (version_ == "mqttv5" || version_ == "5") {
        v5_ = true;
    } else if (version_ == "mqttv311" || version_ == "311") {
        if (!raw_properties_.empty()) return "-D properties need MQTT 5 (-V mqttv5)";
        if (!expiry_.empty()) return "-x needs MQTT 5 (-V mqttv5)";
        v5_ = false;
    } else if (version_ == "mqttv31" || version_ == "31") {
        return "MQTT 3.1 (-V mqttv31) is not supported: use mqttv311 or mqttv5";
    } else {
        return fmt::format("invalid protocol version '{}' (mqttv5, 5, mqttv311, 311)", version_);
    }
    return std::nullopt;
}

std::optional<std::string> V5Flags::parse_expiry() {
    if (expiry_.empty()) return std::nullopt;
    if (!v5_) return "-x needs MQTT 5 (-V mqttv5)";
    if (expiry_ == "\xE2\x88\x9E" || expiry_ == "-1") {
        session_expiry_ = std::numeric_limits<std::uint32_t>::max();
        return std::nullopt;
    }
    char* end = nullptr;
    const long long value = std::strtoll(expiry_.c_str(), &end, 0);
    if (end == expiry_.c_str() || *end != '\0') return "session-expiry-interval not a number";
    if (value < 0 || value > static_cast<long long>(std::numeric_limits<std::uint32_t>::max())) {
        return "session-expiry-interval out of range";
    }
    session_expiry_ = static_cast<std::uint32_t>(value);
    return std::nullopt;
}

// Properties the session writes itself from V5Options go there; the rest into the CONNECT's own block.
std::optional<std::string> V5Flags::add_connect_property(PropertyId id, std::uint32_t number, std::string_view text,
                                                         std::string_view value) {
    switch (id) {
        case PropertyId::session_expiry_interval: session_expiry_ = number; break;
        case PropertyId::receive_maximum: options_.receive_maximum = static_cast<std::uint16_t>(number); break;
        case PropertyId::maximum_packet_size: options_.maximum_packet_size = number; break;
        case PropertyId::topic_alias_maximum: options_.topic_alias_maximum = static_cast<std::uint16_t>(number); break;
        case PropertyId::request_response_information: options_.request_response_information = number != 0; break;
        case PropertyId::request_problem_information: options_.request_problem_information = number != 0; break;
        default: add_value(options_.connect_properties, id, protocol::property_info(static_cast<std::uint8_t>(id))->type, number, text, value);
    }
    return std::nullopt;
}

namespace {

// The checks of mosquitto's cfg_parse_property() and mosquitto_property_check_command(), plus the ones of
// MQTT 5.0 that it leaves to the broker. Returns the error message, or "".
std::string check_property(const std::vector<std::string>& args, Command command, PropertyId id,
                           const protocol::PropertyInfo& info) {
    const bool user = id == PropertyId::user_property;
    if (args.size() != (user ? 4u : 3u)) {
        return fmt::format("--property {} {} takes {} value(s)", args[0], args[1], user ? 2 : 1);
    }
    const bool publish = command == Command::publish;
    if (command == Command::unsupported || (publish && id == PropertyId::subscription_identifier)) {
        return fmt::format("{} property not supported for {} in --property argument", args[1], args[0]);
    }
    if ((info.contexts & (1u << static_cast<unsigned>(context_of(command)))) == 0) {
        return fmt::format("{} property not allowed for {} in --property argument", args[1], args[0]);
    }
    if (publish && id == PropertyId::topic_alias) {
        return "topic-alias cannot be given with -D: nmqtt assigns topic aliases itself";
    }
    return {};
}

}  // namespace

protocol::Properties* V5Flags::block_for(Command command) {
    switch (command) {
        case Command::publish: return &publish_;
        case Command::subscribe: return &subscribe_;
        case Command::unsubscribe: return &unsubscribe_;
        case Command::will: return &will_;
        case Command::disconnect: return &disconnect_;
        default: return nullptr;
    }
}

std::optional<std::string> V5Flags::add_property(const std::vector<std::string>& args) {
    if (args.size() < 3) return "--property argument given but not enough arguments specified";
    const auto command = command_by_name(args[0]);
    if (!command) return fmt::format("invalid command '{}' given in --property argument", args[0]);
    const auto id = property_by_name(args[1]);
    if (!id) return fmt::format("invalid property name '{}' given in --property argument", args[1]);
    const auto info = *protocol::property_info(static_cast<std::uint8_t>(*id));
    if (auto error = check_property(args, *command, *id, info); !error.empty()) return error;
    std::uint32_t number = 0;
    if (is_integer(info.type)) {
        auto parsed = parse_unsigned(args[2], type_maximum(info.type));
        if (!parsed) return fmt::format("property value '{}' out of range for property {}", args[2], args[1]);
        number = *parsed;
    }
    const std::string_view text = args[2];
    const std::string_view value = args.size() == 4 ? std::string_view(args[3]) : std::string_view();
    if (*command == Command::connect) return add_connect_property(*id, number, text, value);
    if (*command == Command::disconnect && *id == PropertyId::session_expiry_interval) {
        disconnect_expiry_ = number;
        return std::nullopt;
    }
    add_value(*block_for(*command), *id, info.type, number, text, value);
    return std::nullopt;
}

std::optional<std::string> V5Flags::finish(bool persistent_session) {
    v5_ = default_v5_ || !raw_properties_.empty();  // -D turns MQTT 5 on, as with mosquitto; -V decides
    if (auto error = parse_version()) return error;
    if (auto error = parse_expiry()) return error;
    for (const auto& args : raw_properties_) {
        if (auto error = add_property(args)) return error;
    }
    if (v5_ && persistent_session && !session_expiry_) session_expiry_ = std::numeric_limits<std::uint32_t>::max();
    if (session_expiry_) options_.session_expiry_interval = *session_expiry_;
    return std::nullopt;
}

void V5Flags::apply(ClientOptions& options) const {
    if (!v5_) return;
    options.protocol = protocol::ProtocolVersion::v5;
    options.v5 = options_;
}

session::DisconnectRequest V5Flags::disconnect_request() const noexcept {
    session::DisconnectRequest request;
    request.session_expiry_interval = disconnect_expiry_;
    request.properties = disconnect_.view();
    return request;
}

}  // namespace nmqtt::cli
