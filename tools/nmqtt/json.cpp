#include "json.hpp"

#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace nmqtt::cli::json {
namespace {

void append_tabs(std::string& out, int count) { out.append(static_cast<std::size_t>(std::max(count, 0)), '\t'); }

bool same_double(double a, double b) {
    const double largest = std::fabs(a) > std::fabs(b) ? std::fabs(a) : std::fabs(b);
    return std::fabs(a - b) <= largest * std::numeric_limits<double>::epsilon();
}

// cJSON's valueint: the double saturated to the int range, truncated.
int saturated_int(double value) {
    if (value >= static_cast<double>(INT_MAX)) return INT_MAX;
    if (value <= static_cast<double>(INT_MIN)) return INT_MIN;
    return static_cast<int>(value);
}

/// A recursive descent parser over the text, with cJSON's leniency where it matters for payloads.
class Parser {
public:
    explicit Parser(std::string_view text) : text_(text) {}

    std::optional<Value> document() {
        skip_space();
        auto value = parse_value(0);
        if (!value) return std::nullopt;
        skip_space();
        if (pos_ != text_.size()) return std::nullopt;
        return value;
    }

private:
    static constexpr int max_depth = 1000;  // cJSON's CJSON_NESTING_LIMIT

    void skip_space() {
        while (pos_ < text_.size() && static_cast<unsigned char>(text_[pos_]) <= 32) ++pos_;
    }
    bool take(std::string_view word) {
        if (text_.substr(pos_, word.size()) != word) return false;
        pos_ += word.size();
        return true;
    }

    std::optional<Value> parse_value(int depth) {
        if (depth > max_depth || pos_ >= text_.size()) return std::nullopt;
        Value v;
        if (take("null")) return v;
        if (take("false")) return v.kind = Value::Kind::boolean, v;
        if (take("true")) {
            v.kind = Value::Kind::boolean;
            v.boolean = true;
            return v;
        }
        const char c = text_[pos_];
        if (c == '"') return parse_string_value();
        if (c == '[') return parse_array(depth);
        if (c == '{') return parse_object(depth);
        if (c == '-' || (c >= '0' && c <= '9')) return parse_number();
        return std::nullopt;
    }

    std::optional<Value> parse_number() {
        std::size_t end = pos_;
        while (end < text_.size() && std::string_view("0123456789+-eE.").find(text_[end]) != std::string_view::npos) {
            ++end;
        }
        const std::string digits(text_.substr(pos_, end - pos_));
        char* stop = nullptr;
        const double number = std::strtod(digits.c_str(), &stop);
        if (stop == digits.c_str()) return std::nullopt;
        pos_ += static_cast<std::size_t>(stop - digits.c_str());
        Value v;
        v.kind = Value::Kind::number;
        v.number = number;
        return v;
    }

    static void append_utf8(std::string& out, unsigned long code) {
        if (code < 0x80) {
            out.push_back(static_cast<char>(code));
        } else if (code < 0x800) {
            out.push_back(static_cast<char>(0xC0 | (code >> 6)));
            out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
        } else if (code < 0x10000) {
            out.push_back(static_cast<char>(0xE0 | (code >> 12)));
            out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
        } else {
            out.push_back(static_cast<char>(0xF0 | (code >> 18)));
            out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
            out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
        }
    }

    std::optional<unsigned long> hex4() {
        if (pos_ + 4 > text_.size()) return std::nullopt;
        const std::string hex(text_.substr(pos_, 4));
        char* stop = nullptr;
        const unsigned long code = std::strtoul(hex.c_str(), &stop, 16);
        if (stop != hex.c_str() + 4) return std::nullopt;
        pos_ += 4;
        return code;
    }

    // \uXXXX, with a surrogate pair when the first one is a high surrogate.
    bool parse_unicode_escape(std::string& out) {
        auto first = hex4();
        if (!first || (*first >= 0xDC00 && *first <= 0xDFFF)) return false;
        unsigned long code = *first;
        if (code >= 0xD800 && code <= 0xDBFF) {
            if (!take("\\u")) return false;
            auto second = hex4();
            if (!second || *second < 0xDC00 || *second > 0xDFFF) return false;
            code = 0x10000 + (((code & 0x3FF) << 10) | (*second & 0x3FF));
        }
        if (code == 0) return false;
        append_utf8(out, code);
        return true;
    }

    bool parse_escape(std::string& out) {
        if (pos_ >= text_.size()) return false;
        const char c = text_[pos_++];
        switch (c) {
            case 'b': out.push_back('\b'); return true;
            case 'f': out.push_back('\f'); return true;
            case 'n': out.push_back('\n'); return true;
            case 'r': out.push_back('\r'); return true;
            case 't': out.push_back('\t'); return true;
            case '"': case '\\': case '/': out.push_back(c); return true;
            case 'u': return parse_unicode_escape(out);
            default: return false;
        }
    }

    std::optional<std::string> parse_string() {
        ++pos_;  // the opening quote
        std::string out;
        while (pos_ < text_.size()) {
            const char c = text_[pos_++];
            if (c == '"') return out;
            if (c == '\0') return std::nullopt;
            if (c != '\\') {
                out.push_back(c);
            } else if (!parse_escape(out)) {
                return std::nullopt;
            }
        }
        return std::nullopt;
    }

    std::optional<Value> parse_string_value() {
        auto text = parse_string();
        if (!text) return std::nullopt;
        Value v;
        v.kind = Value::Kind::string;
        v.text = std::move(*text);
        return v;
    }

    std::optional<Value> parse_array(int depth) {
        ++pos_;
        Value v;
        v.kind = Value::Kind::array;
        skip_space();
        if (take("]")) return v;
        for (;;) {
            skip_space();
            auto item = parse_value(depth + 1);
            if (!item) return std::nullopt;
            v.items.push_back(std::move(*item));
            skip_space();
            if (take("]")) return v;
            if (!take(",")) return std::nullopt;
        }
    }

    bool parse_member(Value& object, int depth) {
        skip_space();
        if (pos_ >= text_.size() || text_[pos_] != '"') return false;
        auto key = parse_string();
        if (!key) return false;
        skip_space();
        if (!take(":")) return false;
        skip_space();
        auto item = parse_value(depth + 1);
        if (!item) return false;
        object.keys.push_back(std::move(*key));
        object.items.push_back(std::move(*item));
        return true;
    }

    std::optional<Value> parse_object(int depth) {
        ++pos_;
        Value v;
        v.kind = Value::Kind::object;
        skip_space();
        if (take("}")) return v;
        for (;;) {
            if (!parse_member(v, depth)) return std::nullopt;
            skip_space();
            if (take("}")) return v;
            if (!take(",")) return std::nullopt;
        }
    }

    std::string_view text_;
    std::size_t pos_ = 0;
};

void append_array(std::string& out, const Value& value, bool pretty, int depth) {
    out.push_back('[');
    for (std::size_t i = 0; i < value.items.size(); ++i) {
        if (i != 0) out.append(pretty ? ", " : ",");
        append_value(out, value.items[i], pretty, depth + 1);
    }
    out.push_back(']');
}

}  // namespace

void append_string(std::string& out, std::string_view text) {
    out.push_back('"');
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"': out.append("\\\""); break;
            case '\\': out.append("\\\\"); break;
            case '\b': out.append("\\b"); break;
            case '\f': out.append("\\f"); break;
            case '\n': out.append("\\n"); break;
            case '\r': out.append("\\r"); break;
            case '\t': out.append("\\t"); break;
            default:
                if (c < 32) {
                    char buffer[8];
                    std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
                    out.append(buffer);
                } else {
                    out.push_back(ch);
                }
        }
    }
    out.push_back('"');
}

void append_number(std::string& out, double value) {
    char buffer[32];
    if (std::isnan(value) || std::isinf(value)) {
        out.append("null");
        return;
    }
    if (value == static_cast<double>(saturated_int(value))) {
        std::snprintf(buffer, sizeof buffer, "%d", saturated_int(value));
    } else {
        std::snprintf(buffer, sizeof buffer, "%1.15g", value);
        if (!same_double(std::strtod(buffer, nullptr), value)) std::snprintf(buffer, sizeof buffer, "%1.17g", value);
    }
    out.append(buffer);
}

std::optional<Value> parse(std::string_view text) { return Parser(text).document(); }

void append_value(std::string& out, const Value& value, bool pretty, int depth) {
    switch (value.kind) {
        case Value::Kind::null: out.append("null"); return;
        case Value::Kind::boolean: out.append(value.boolean ? "true" : "false"); return;
        case Value::Kind::number: append_number(out, value.number); return;
        case Value::Kind::string: append_string(out, value.text); return;
        case Value::Kind::array: append_array(out, value, pretty, depth); return;
        case Value::Kind::object: break;
    }
    ObjectWriter object(out, pretty, depth);
    for (std::size_t i = 0; i < value.items.size(); ++i) {
        object.key(value.keys[i]);
        append_value(out, value.items[i], pretty, depth + 1);
    }
    object.close();
}

ObjectWriter::ObjectWriter(std::string& out, bool pretty, int depth) : out_(out), pretty_(pretty), depth_(depth) {
    out_.push_back('{');
    if (pretty_) out_.push_back('\n');
}

void ObjectWriter::key(std::string_view name) {
    if (!first_) {
        out_.push_back(',');
        if (pretty_) out_.push_back('\n');
    }
    first_ = false;
    if (pretty_) append_tabs(out_, depth_ + 1);
    append_string(out_, name);
    out_.push_back(':');
    if (pretty_) out_.push_back('\t');
}

void ObjectWriter::close() {
    if (pretty_) {
        if (!first_) out_.push_back('\n');
        append_tabs(out_, depth_);
    }
    out_.push_back('}');
}

}  // namespace nmqtt::cli::json
