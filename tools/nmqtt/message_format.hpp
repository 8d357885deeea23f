// `nmqtt sub -F FORMAT`: mosquitto_sub's format strings, byte for byte: %-specifiers with alignment, zero
// padding, width and precision (%t %p %x %X %l %m %q %r %I %U %j %J and the MQTT 5.0 ones %A %C %D %E %F %P
// %R %S), @-specifiers for strftime, and \-escapes. docs/cli.md lists them.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "nmqtt/types.hpp"

namespace nmqtt::cli {

/// How one message is printed with -F.
struct MessageFormat {
    std::string_view format;
    bool pretty = false;  ///< --pretty: %j / %J as cJSON_Print (tabs and newlines)
    bool eol = true;      ///< a newline after each message (-N turns it off)
};

/// Appends `message` formatted to `out`, with `now` for the time specifiers (local time zone). A %J whose
/// payload is not valid JSON prints nothing for that specifier and appends the error line mosquitto_sub
/// prints to `error` (without a newline).
void format_message(std::string& out, std::string& error, const MessageFormat& format, const MessageView& message,
                    std::chrono::system_clock::time_point now);

/// How `nmqtt sub` and `nmqtt rr` print a message: -F `format` when not empty, else `topic payload` (-v) or
/// the payload alone, each followed by a newline unless -N. Errors of -F %J go to `error`.
void render_message(std::string& out, std::string& error, const MessageView& message, std::string_view format,
                    bool pretty, bool verbose, bool eol);

/// Appends the %j / %J record: {"tst":..., "topic":..., "qos":..., "retain":..., "payloadlen":..., "mid":...
/// (QoS > 0), "properties":{...} (MQTT 5.0, when the message has any), "payload":...}. `payload_as_json`:
/// the payload inlined as parsed JSON (%J); false: as a string (%j). Returns false when the payload is not
/// JSON (%J), leaving `out` unchanged.
bool append_json_record(std::string& out, const MessageView& message, std::chrono::system_clock::time_point now,
                        bool payload_as_json, bool pretty);

}  // namespace nmqtt::cli
