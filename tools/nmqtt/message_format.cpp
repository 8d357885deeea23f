#include "message_format.hpp"

#include <cstdio>
#include <ctime>
#include <optional>

#include "json.hpp"

namespace nmqtt::cli {
namespace {

using protocol::PropertyId;

/// One %-specifier's modifiers: "-" (left align), "0" (zero padding), width, ".precision".
struct Spec {
    char align = 0;
    char pad = ' ';
    int width = 0;
    int precision = -1;
};

/// The wall-clock time of one message, read once.
struct Stamp {
    std::tm local{};
    long ns = 0;
    std::time_t seconds = 0;
};

Stamp stamp_of(std::chrono::system_clock::time_point now) {
    Stamp s;
    const auto since = now.time_since_epoch();
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since);
    s.seconds = static_cast<std::time_t>(secs.count());
    s.ns = static_cast<long>(std::chrono::duration_cast<std::chrono::nanoseconds>(since - secs).count());
    localtime_r(&s.seconds, &s.local);
    return s;
}

std::string strftime_text(const char* format, const std::tm& t) {
    char buffer[100];
    const auto n = std::strftime(buffer, sizeof buffer, format, &t);
    return std::string(buffer, n);
}

void append_blank(std::string& out, char pad, int width) {
    if (width > 0) out.append(static_cast<std::size_t>(width), pad);
}

// printf("%d"), ("%-*d"), ("%0*d"), ("%*d") as mosquitto's formatted_print_int chooses them.
void append_int(std::string& out, long long value, const Spec& spec) {
    char buffer[48];
    const int v = static_cast<int>(value);
    if (spec.width == 0) {
        std::snprintf(buffer, sizeof buffer, "%d", v);
    } else if (spec.align == '-') {
        std::snprintf(buffer, sizeof buffer, "%-*d", spec.width, v);
    } else if (spec.pad == '0') {
        std::snprintf(buffer, sizeof buffer, "%0*d", spec.width, v);
    } else {
        std::snprintf(buffer, sizeof buffer, "%*d", spec.width, v);
    }
    out.append(buffer);
}

// printf("%s") with width and precision; the value may hold any bytes up to its size.
void append_str(std::string& out, std::string_view value, const Spec& spec) {
    if (spec.precision >= 0 && value.size() > static_cast<std::size_t>(spec.precision)) {
        value = value.substr(0, static_cast<std::size_t>(spec.precision));
    }
    const auto padding = spec.width > static_cast<int>(value.size()) ? spec.width - static_cast<int>(value.size()) : 0;
    if (spec.align != '-') append_blank(out, ' ', padding);
    out.append(value);
    if (spec.align == '-') append_blank(out, ' ', padding);
}

// mosquitto's write_payload(): hex 0 raw, 1 lower-case hex, 2 upper-case hex; its padding rules (a width
// cuts a longer payload; "-" pads with |width - length| spaces after).
void append_hex(std::string& out, std::string_view bytes, bool upper) {
    char buffer[4];
    for (const char c : bytes) {
        std::snprintf(buffer, sizeof buffer, upper ? "%02X" : "%02x", static_cast<unsigned char>(c));
        out.append(buffer);
    }
}

// The padding of write_payload(): a width cuts a longer payload (to half of it in hex), and the rest of the
// width is padding; without a width the "padding" is minus the length.
int payload_padding(std::size_t size, int hex, const Spec& spec, int& length) {
    length = static_cast<int>(size);
    if (spec.width <= 0) return spec.width - length;
    length = std::min(length, spec.width);
    if (hex > 0) length /= 2;
    return spec.width - (hex > 0 ? length * 2 : length);
}

void append_payload(std::string& out, std::string_view payload, int hex, const Spec& spec) {
    int length = 0;
    const int padlen = payload_padding(payload.size(), hex, spec, length);
    if (spec.align != '-') append_blank(out, spec.pad, padlen);
    const auto shown = payload.substr(0, static_cast<std::size_t>(length));
    if (hex == 0) {
        out.append(shown);
    } else {
        append_hex(out, shown, hex == 2);
    }
    if (spec.align == '-') append_blank(out, ' ', padlen < 0 ? -padlen : padlen);
}

void append_user_properties(std::string& out, protocol::PropertiesView properties) {
    bool first = true;
    properties.for_each_user_property([&](std::string_view name, std::string_view value) {
        if (!first) out.push_back(' ');
        first = false;
        out.append(name);
        out.push_back(':');
        out.append(value);
    });
}

std::optional<std::uint32_t> first_subscription_identifier(protocol::PropertiesView properties) {
    return properties.number(PropertyId::subscription_identifier);
}

// An integer property: its value, or `width` padding characters when absent.
void append_number_property(std::string& out, std::optional<std::uint32_t> value, const Spec& spec) {
    if (value) {
        append_int(out, *value, spec);
    } else {
        append_blank(out, spec.pad, spec.width);
    }
}

/// The %-specifiers of MQTT 5.0 properties. Returns false when `c` is none of them.
bool append_property_specifier(std::string& out, char c, const Spec& spec, const MessageView& m) {
    const auto& p = m.properties;
    switch (c) {
        case 'A': append_number_property(out, p.topic_alias(), spec); return true;
        case 'E': append_number_property(out, p.message_expiry_interval(), spec); return true;
        case 'F': append_number_property(out, p.payload_format_indicator(), spec); return true;
        case 'S': append_number_property(out, first_subscription_identifier(p), spec); return true;
        case 'C':
            if (auto v = p.content_type()) {
                append_str(out, *v, spec);
            } else {
                append_blank(out, ' ', spec.width);
            }
            return true;
        case 'D':
            if (auto v = p.correlation_data()) out.append(*v);
            return true;
        case 'R':
            if (auto v = p.response_topic()) append_str(out, *v, spec);
            return true;
        case 'P': append_user_properties(out, p); return true;
        default: return false;
    }
}

struct Context {
    std::string& out;
    std::string& error;
    const MessageFormat& format;
    const MessageView& message;
    std::chrono::system_clock::time_point now;
    std::optional<Stamp> stamp;

    const Stamp& time() {
        if (!stamp) stamp = stamp_of(now);
        return *stamp;
    }
};

void append_json_specifier(Context& ctx, bool payload_as_json) {
    if (append_json_record(ctx.out, ctx.message, ctx.now, payload_as_json, ctx.format.pretty)) return;
    ctx.error = "Error: Message payload is not valid JSON on topic " + std::string(ctx.message.topic) + ".";
}

/// The specifiers about the message itself and the time.
void append_specifier(Context& ctx, char c, const Spec& spec) {
    auto& out = ctx.out;
    const auto& m = ctx.message;
    if (append_property_specifier(out, c, spec, m)) return;
    switch (c) {
        case '%': out.push_back('%'); return;
        case 'I': append_str(out, strftime_text("%FT%T%z", ctx.time().local), spec); return;
        case 'U': {
            char buffer[32];
            std::snprintf(buffer, sizeof buffer, ".%09ld", ctx.time().ns);
            out.append(strftime_text("%s", ctx.time().local)).append(buffer);
            return;
        }
        case 'j': append_json_specifier(ctx, false); return;
        case 'J': append_json_specifier(ctx, true); return;
        case 'l': append_int(out, static_cast<long long>(m.payload.size()), spec); return;
        case 'm': append_int(out, m.packet_id, spec); return;
        case 'p': append_payload(out, m.payload, 0, spec); return;
        case 'x': append_payload(out, m.payload, 1, spec); return;
        case 'X': append_payload(out, m.payload, 2, spec); return;
        case 'q': out.push_back(static_cast<char>('0' + static_cast<int>(m.qos))); return;
        case 'r': out.push_back(m.retain ? '1' : '0'); return;
        case 't': append_str(out, m.topic, spec); return;
        default: return;  // unknown: nothing, as mosquitto_sub
    }
}

// Reads the modifiers after '%' exactly as mosquitto_sub's loop does (the last character is never taken as
// a digit), then prints the specifier. `i` points at '%' and is left at the last character used.
void format_percent(Context& ctx, std::string_view f, std::size_t& i) {
    const std::size_t len = f.size();
    if (i >= len - 1) return;
    Spec spec;
    ++i;
    if (f[i] == '-') {
        spec.align = '-';
        if (i < len - 1) ++i;
    }
    if (f[i] == '0') {
        spec.pad = '0';
        if (i < len - 1) ++i;
    }
    while (i < len - 1 && f[i] >= '0' && f[i] <= '9') spec.width = spec.width * 10 + (f[i++] - '0');
    if (f[i] == '.' && i < len - 1) {
        ++i;
        spec.precision = 0;
        while (i < len - 1 && f[i] >= '0' && f[i] <= '9') spec.precision = spec.precision * 10 + (f[i++] - '0');
    }
    append_specifier(ctx, f[i], spec);
}

void format_at(Context& ctx, std::string_view f, std::size_t& i) {
    if (i >= f.size() - 1) return;
    const char c = f[++i];
    if (c == '@') {
        ctx.out.push_back('@');
    } else if (c == 'N') {
        char buffer[32];
        std::snprintf(buffer, sizeof buffer, "%09ld", ctx.time().ns);
        ctx.out.append(buffer);
    } else {
        const char strf[3] = {'%', c, '\0'};
        ctx.out.append(strftime_text(strf, ctx.time().local));
    }
}

void format_escape(std::string& out, std::string_view f, std::size_t& i) {
    if (i >= f.size() - 1) return;
    switch (f[++i]) {
        case '\\': out.push_back('\\'); return;
        case '0': out.push_back('\0'); return;
        case 'a': out.push_back('\a'); return;
        case 'e': out.push_back('\033'); return;
        case 'n': out.push_back('\n'); return;
        case 'r': out.push_back('\r'); return;
        case 't': out.push_back('\t'); return;
        case 'v': out.push_back('\v'); return;
        default: return;
    }
}

// The members of "properties" in the order they came, "user-properties" (an object) where the first User
// Property was, as mosquitto_sub builds them with cJSON. Properties it does not print are skipped.
void append_json_property(json::ObjectWriter& object, std::string& out, const protocol::Property& p,
                          bool& users_done, const MessageView& m, bool pretty) {
    auto number = [&](const char* name) {
        object.key(name);
        json::append_number(out, p.number);
    };
    auto text = [&](const char* name, std::string_view value) {
        object.key(name);
        json::append_string(out, value.substr(0, value.find('\0')));
    };
    switch (p.id) {
        case PropertyId::payload_format_indicator: number("payload-format-indicator"); return;
        case PropertyId::message_expiry_interval: number("message-expiry-interval"); return;
        case PropertyId::subscription_identifier: number("subscription-identifier"); return;
        case PropertyId::topic_alias: number("topic-alias"); return;
        case PropertyId::content_type: text("content-type", p.text); return;
        case PropertyId::response_topic: text("response-topic", p.text); return;
        case PropertyId::correlation_data: text("correlation-data", p.text); return;
        case PropertyId::user_property: break;
        default: return;
    }
    if (users_done) return;
    users_done = true;
    object.key("user-properties");
    json::ObjectWriter users(out, pretty, 2);
    m.properties.for_each_user_property([&](std::string_view name, std::string_view value) {
        users.key(name);
        json::append_string(out, value);
    });
    users.close();
}

std::string json_timestamp(const Stamp& s) {
    auto text = strftime_text("%Y-%m-%dT%H:%M:%S.000000Z%z", s.local);
    char micros[24];
    std::snprintf(micros, sizeof micros, "%06ld", s.ns / 1000);
    if (text.size() >= 26) text.replace(20, 6, micros);
    return text;
}

}  // namespace

bool append_json_record(std::string& out, const MessageView& m, std::chrono::system_clock::time_point now,
                        bool payload_as_json, bool pretty) {
    std::optional<json::Value> parsed;
    if (payload_as_json && !m.payload.empty()) {
        parsed = json::parse(m.payload);
        if (!parsed) return false;
    }
    json::ObjectWriter root(out, pretty, 0);
    root.key("tst");
    json::append_string(out, json_timestamp(stamp_of(now)));
    root.key("topic");
    json::append_string(out, m.topic);
    root.key("qos");
    json::append_number(out, static_cast<int>(m.qos));
    root.key("retain");
    json::append_number(out, m.retain ? 1 : 0);
    root.key("payloadlen");
    json::append_number(out, static_cast<double>(m.payload.size()));
    if (m.qos != QoS::at_most_once) {
        root.key("mid");
        json::append_number(out, m.packet_id);
    }
    if (!m.properties.empty()) {
        root.key("properties");
        json::ObjectWriter props(out, pretty, 1);
        bool users_done = false;
        m.properties.for_each([&](const protocol::Property& p) {
            append_json_property(props, out, p, users_done, m, pretty);
        });
        props.close();
    }
    root.key("payload");
    if (m.payload.empty()) {
        out.append("null");
    } else if (parsed) {
        json::append_value(out, *parsed, pretty, 1);
    } else {
        json::append_string(out, m.payload.substr(0, m.payload.find('\0')));
    }
    root.close();
    return true;
}

void format_message(std::string& out, std::string& error, const MessageFormat& format, const MessageView& message,
                    std::chrono::system_clock::time_point now) {
    Context ctx{out, error, format, message, now, std::nullopt};
    const std::string_view f = format.format;
    for (std::size_t i = 0; i < f.size(); ++i) {
        if (f[i] == '%') {
            format_percent(ctx, f, i);
        } else if (f[i] == '@') {
            format_at(ctx, f, i);
        } else if (f[i] == '\\') {
            format_escape(out, f, i);
        } else {
            out.push_back(f[i]);
        }
    }
    if (format.eol) out.push_back('\n');
}

void render_message(std::string& out, std::string& error, const MessageView& message, std::string_view format,
                    bool pretty, bool verbose, bool eol) {
    if (!format.empty()) {
        format_message(out, error, MessageFormat{format, pretty, eol}, message, std::chrono::system_clock::now());
        return;
    }
    if (verbose) {
        out.append(message.topic);
        out.push_back(' ');
    }
    out.append(message.payload);
    if (eol) out.push_back('\n');
}

}  // namespace nmqtt::cli
