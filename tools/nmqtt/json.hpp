// JSON as mosquitto_sub prints it (it uses cJSON): string escaping, number printing, and parsing a payload
// for `-F %J`, so that `nmqtt sub -F %j/%J` gives the same bytes as `mosquitto_sub -F %j/%J`.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nmqtt::cli::json {

/// Appends `text` as a JSON string with cJSON's escaping: \" \\ \b \f \n \r \t, \u00xx for other bytes below
/// 0x20, every other byte as it is (UTF-8 passes through unchecked).
void append_string(std::string& out, std::string_view text);

/// Appends a number as cJSON prints it: an integer value that fits an int with %d, else %1.15g, or %1.17g
/// when %1.15g does not read back as the same double.
void append_number(std::string& out, double value);

/// A parsed JSON value (what cJSON keeps: numbers as doubles, object members in order, duplicates kept).
struct Value {
    enum class Kind { null, boolean, number, string, array, object };
    Kind kind = Kind::null;
    bool boolean = false;
    double number = 0;
    std::string text;                                   ///< string value
    std::vector<Value> items;                           ///< array elements or object member values
    std::vector<std::string> keys;                      ///< object member names, parallel to items
};

/// Parses a whole document (leading and trailing whitespace allowed, nothing else after the value), as
/// cJSON_ParseWithOpts(require_null_terminated) does. nullopt when it is not valid JSON or holds a NUL byte.
[[nodiscard]] std::optional<Value> parse(std::string_view text);

/// Appends `value` as cJSON_PrintUnformatted (pretty = false) or cJSON_Print (pretty = true) would, at
/// nesting depth `depth` (for values inside a pretty-printed object).
void append_value(std::string& out, const Value& value, bool pretty, int depth = 0);

/// Builds one JSON object member by member and prints it as cJSON does (used for mosquitto_sub's %j record).
class ObjectWriter {
public:
    ObjectWriter(std::string& out, bool pretty, int depth);
    /// Writes the name and separator of the next member; the caller appends its value right after.
    void key(std::string_view name);
    /// Closes the object.
    void close();

private:
    std::string& out_;
    bool pretty_;
    int depth_;
    bool first_ = true;
};

}  // namespace nmqtt::cli::json
