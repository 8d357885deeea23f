// The `sjson` module of `nmqtt run`: NodeMCU's JSON encoder and decoder (one-shot and streaming) on
// nlohmann/json (Debian nlohmann-json3-dev; docs/design.md says why). The decoder parses with nlohmann's SAX
// interface into a document first and builds the Lua value from it inside a protected call, so that a Lua
// error (a metatable's __newindex, checkpath) never unwinds through the parser. Call shapes, options and
// messages follow nodemcu-firmware app/modules/sjson.c.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "args.hpp"
#include "lua_api.hpp"

namespace nmqtt::lua {
namespace {

using Json = nlohmann::ordered_json;  // keys in document (decoder) or lua_next (encoder) order, as the firmware

constexpr const char* decoder_type = "sjson.decoder";
constexpr const char* encoder_type = "sjson.encoder";
constexpr int default_depth = 20;
constexpr int min_depth = 4;
constexpr int max_depth = 1000;
constexpr std::size_t max_input = 16 * 1024 * 1024;  // bytes one streaming decoder buffers
constexpr int max_function_calls = 10;               // a function value is called up to 10 times
constexpr lua_Integer default_read_size = 1024;

/// The depth option as the firmware's documentation describes it (0 or absent: 20; clamped to 4..1000).
int depth_option(lua_State* L, int opts) {
    if (lua_type(L, opts) != LUA_TTABLE) return default_depth;
    lua_getfield(L, opts, "depth");
    lua_Integer depth = lua_tointeger(L, -1);
    lua_pop(L, 1);
    if (depth == 0) depth = default_depth;
    return static_cast<int>(std::clamp<lua_Integer>(depth, min_depth, max_depth));
}

// ---------------------------------------------------------------------------------------------- decoder

/// SAX handler building a Json document, refusing more than `depth` nested arrays/objects.
class DocumentBuilder final : public nlohmann::json_sax<Json> {
public:
    explicit DocumentBuilder(int depth) : depth_(depth) {}

    bool null() override { return add(Json(nullptr)); }
    bool boolean(bool value) override { return add(Json(value)); }
    bool number_integer(number_integer_t value) override { return add(Json(value)); }
    bool number_unsigned(number_unsigned_t value) override { return add(Json(value)); }
    bool number_float(number_float_t value, const string_t&) override { return add(Json(value)); }
    bool string(string_t& value) override { return add(Json(std::move(value))); }
    bool binary(binary_t&) override { return false; }
    bool start_object(std::size_t) override { return open(Json::object()); }
    bool key(string_t& value) override {
        key_ = std::move(value);
        return true;
    }
    bool end_object() override { return close(); }
    bool start_array(std::size_t) override { return open(Json::array()); }
    bool end_array() override { return close(); }
    bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& error) override {
        error_position_ = position;
        error_ = error.what();
        return false;
    }

    [[nodiscard]] Json& root() noexcept { return root_; }
    [[nodiscard]] bool too_deep() const noexcept { return too_deep_; }
    [[nodiscard]] std::size_t error_position() const noexcept { return error_position_; }
    [[nodiscard]] const std::string& error() const noexcept { return error_; }

private:
    Json* place(Json value) {
        if (stack_.empty()) {
            root_ = std::move(value);
            return &root_;
        }
        Json& parent = *stack_.back();
        if (parent.is_array()) {
            parent.push_back(std::move(value));
            return &parent.back();
        }
        Json& slot = parent[key_];
        slot = std::move(value);
        return &slot;
    }
    bool add(Json value) {
        place(std::move(value));
        return true;
    }
    bool open(Json value) {
        if (static_cast<int>(stack_.size()) >= depth_) {
            too_deep_ = true;
            return false;
        }
        stack_.push_back(place(std::move(value)));
        return true;
    }
    bool close() {
        stack_.pop_back();
        return true;
    }

    Json root_;
    std::vector<Json*> stack_;
    std::string key_;
    std::string error_;
    std::size_t error_position_ = 0;
    int depth_;
    bool too_deep_ = false;
};

/// A decoder's state, in its userdata; the uservalue holds null (1), metatable (2), result (3).
struct Decoder {
    std::string input;
    int depth = default_depth;
    bool has_metatable = false;
    bool complete = false;
    bool failed = false;
};

enum class ParseResult : std::uint8_t { complete, incomplete, failed };

// Parses `input` (a prefix of the document when `final` is false). On failure `message` says why.
ParseResult parse_document(const std::string& input, int depth, bool final, Json& document, std::string& message) {
    DocumentBuilder builder(depth);
    const bool ok = Json::sax_parse(input, &builder, Json::input_format_t::json, false);
    if (ok) {
        // A number at the very end may continue in the next write (jsonsl waits for its delimiter too).
        const bool open_number = !final && builder.root().is_number() &&
                                 input.find_last_not_of(" \t\r\n") == input.size() - 1;
        if (open_number) return ParseResult::incomplete;
        document = std::move(builder.root());
        return ParseResult::complete;
    }
    if (builder.too_deep()) {
        message = "JSON parse error: LEVELS_EXCEEDED";
        return ParseResult::failed;
    }
    if (!final && builder.error_position() > input.size()) return ParseResult::incomplete;  // ran out of input
    const std::string& what = builder.error();
    const std::size_t at = what.find("parse error ");
    message = "JSON parse error: " + (at == std::string::npos ? what : what.substr(at + std::strlen("parse error ")));
    return ParseResult::failed;
}

/// Converts a document to Lua, as the firmware's decoder builds it: tables get the metatable, checkpath(table,
/// path) decides whether a table is stored, every store goes through lua_settable (so __newindex sees it).
class LuaBuilder {
public:
    LuaBuilder(lua_State* L, int null_index, int metatable_index, int path_index)
        : L_(L), null_(null_index), metatable_(metatable_index), path_(path_index) {}

    // Stores `value` as parent[key] (parent at -2, key at -1: both popped).
    void store(const Json& value, int level) {
        luaL_checkstack(L_, 8, "sjson: nesting too deep");
        if (!value.is_structured()) {
            push_scalar(value);
            lua_settable(L_, -3);
            lua_pop(L_, 1);
            return;
        }
        lua_newtable(L_);
        if (metatable_ != 0) {
            lua_pushvalue(L_, metatable_);
            lua_setmetatable(L_, -2);
        }
        const int table = lua_gettop(L_);
        if (path_ != 0 && level > 1) {
            lua_pushvalue(L_, table - 1);
            lua_rawseti(L_, path_, level - 1);
        }
        if (wanted(table)) {
            lua_pushvalue(L_, table - 1);
            lua_pushvalue(L_, table);
            lua_settable(L_, table - 2);
        }
        fill(value, table, level);
        if (path_ != 0) {
            lua_pushnil(L_);
            lua_rawseti(L_, path_, level);
        }
        lua_settop(L_, table - 3);
    }

private:
    void fill(const Json& value, int table, int level) {
        if (value.is_array()) {
            lua_Integer index = 0;
            for (const Json& element : value) {
                lua_pushvalue(L_, table);
                lua_pushinteger(L_, ++index);
                store(element, level + 1);
            }
            return;
        }
        for (auto it = value.begin(); it != value.end(); ++it) {  // plain iterators: nothing to destroy on an error
            const std::string& name = it.key();
            lua_pushvalue(L_, table);
            lua_pushlstring(L_, name.data(), name.size());
            store(it.value(), level + 1);
        }
    }

    bool wanted(int table) {
        if (path_ == 0) return true;
        lua_getfield(L_, metatable_, "checkpath");
        if (lua_isnil(L_, -1)) {
            lua_pop(L_, 1);
            return true;
        }
        lua_pushvalue(L_, table);
        lua_pushvalue(L_, path_);
        lua_call(L_, 2, 1);
        const bool want = lua_toboolean(L_, -1) != 0;
        lua_pop(L_, 1);
        return want;
    }

    void push_scalar(const Json& value) {
        switch (value.type()) {
        case Json::value_t::boolean: lua_pushboolean(L_, value.get<bool>() ? 1 : 0); break;
        case Json::value_t::number_integer: lua_pushinteger(L_, value.get<std::int64_t>()); break;
        case Json::value_t::number_unsigned: push_unsigned(value.get<std::uint64_t>()); break;
        case Json::value_t::number_float: lua_pushnumber(L_, value.get<double>()); break;
        case Json::value_t::string: {
            const auto& text = value.get_ref<const std::string&>();
            lua_pushlstring(L_, text.data(), text.size());
            break;
        }
        default: lua_pushvalue(L_, null_); break;
        }
    }

    void push_unsigned(std::uint64_t value) {
        if (value <= static_cast<std::uint64_t>(std::numeric_limits<lua_Integer>::max())) {
            lua_pushinteger(L_, static_cast<lua_Integer>(value));
        } else {
            lua_pushnumber(L_, static_cast<double>(value));
        }
    }

    lua_State* L_;
    int null_;
    int metatable_;
    int path_;
};

// Protected: builds the Lua value of the document (lightuserdata at 1) into uservalue[3][1] of the decoder
// at 2. Stack: 1 document, 2 decoder.
int build_result(lua_State* L) {
    const auto* document = static_cast<const Json*>(lua_touserdata(L, 1));
    const auto* decoder = static_cast<const Decoder*>(lua_touserdata(L, 2));
    lua_getuservalue(L, 2);           // 3
    lua_rawgeti(L, 3, 1);             // 4 null
    lua_rawgeti(L, 3, 2);             // 5 metatable
    int path = 0;
    if (decoder->has_metatable) {
        lua_getfield(L, 5, "checkpath");
        const bool has_checkpath = !lua_isnil(L, -1);
        lua_pop(L, 1);
        if (has_checkpath) {
            lua_newtable(L);          // 6 path
            path = 6;
        }
    }
    lua_newtable(L);                  // the result holder: [1] = the value
    lua_pushvalue(L, -1);
    lua_rawseti(L, 3, 3);
    lua_pushinteger(L, 1);
    LuaBuilder(L, 4, decoder->has_metatable ? 5 : 0, path).store(*document, 1);
    return 0;
}

Decoder& check_decoder(lua_State* L, int index) {
    return *static_cast<Decoder*>(luaL_checkudata(L, index, decoder_type));
}

// Pushes a new decoder with the options at `opts`.
void push_decoder(lua_State* L, int opts) {
    opts = lua_absindex(L, opts);
    auto* decoder = static_cast<Decoder*>(lua_newuserdata(L, sizeof(Decoder)));
    new (decoder) Decoder();
    luaL_setmetatable(L, decoder_type);
    decoder->depth = depth_option(L, opts);
    lua_createtable(L, 3, 0);
    if (lua_type(L, opts) == LUA_TTABLE) {
        lua_getfield(L, opts, "null");  // absent: nil, as the firmware's LUA_REFNIL
        lua_rawseti(L, -2, 1);
        lua_getfield(L, opts, "metatable");
        decoder->has_metatable = lua_istable(L, -1);
        lua_rawseti(L, -2, 2);
    } else {
        lua_pushlightuserdata(L, nullptr);  // sjson.NULL
        lua_rawseti(L, -2, 1);
    }
    lua_setuservalue(L, -2);
}

// Pushes the decoded value (decoder at `index`); raises "decode not complete" before the end.
int push_result(lua_State* L, int index) {
    if (!check_decoder(L, index).complete) throw LuaError("decode not complete");
    lua_getuservalue(L, index);
    lua_rawgeti(L, -1, 3);
    lua_rawgeti(L, -1, 1);
    return 1;
}

// Feeds the string at `text_index` to the decoder at `index`; pushes the value once complete (returns 1).
int feed(lua_State* L, int index, int text_index, bool final) {
    index = lua_absindex(L, index);
    Decoder& decoder = check_decoder(L, index);
    const std::string_view text = check_string(L, text_index);
    if (decoder.failed) throw LuaError("JSON parse error: previous call");
    if (decoder.complete) return push_result(L, index);
    if (decoder.input.size() + text.size() > max_input) {
        decoder.failed = true;
        throw LuaError("JSON parse error: more than " + std::to_string(max_input) + " bytes of input");
    }
    decoder.input.append(text);
    auto document = std::make_unique<Json>();
    std::string message;
    const ParseResult result = parse_document(decoder.input, decoder.depth, final, *document, message);
    if (result == ParseResult::failed) {
        decoder.failed = true;
        throw LuaError(message);
    }
    if (result == ParseResult::incomplete) return 0;
    decoder.input.clear();
    decoder.input.shrink_to_fit();
    lua_pushcfunction(L, build_result);
    lua_pushlightuserdata(L, document.get());
    lua_pushvalue(L, index);
    const int status = lua_pcall(L, 2, 0, 0);
    document.reset();
    if (status != LUA_OK) {
        decoder.failed = true;
        throw RawLuaError(lua_tostring(L, -1) != nullptr ? lua_tostring(L, -1) : "(error object is not a string)");
    }
    decoder.complete = true;
    return push_result(L, index);
}

int sjson_decoder(lua_State* L) {
    push_decoder(L, 1);
    return 1;
}

int decoder_write(lua_State* L) { return feed(L, 1, 2, false); }

int decoder_result(lua_State* L) { return push_result(L, 1); }

int decoder_gc(lua_State* L) {
    check_decoder(L, 1).~Decoder();
    return 0;
}

// sjson.decode(text[, opts]) -> value; incomplete input raises
int sjson_decode(lua_State* L) {
    static_cast<void>(check_string(L, 1));
    push_decoder(L, 2);
    const int decoder = lua_gettop(L);
    if (feed(L, decoder, 1, true) != 1) throw LuaError("Incomplete JSON object passed to sjson.decode");
    return 1;
}

// ---------------------------------------------------------------------------------------------- encoder

/// Converts Lua values to a Json document as the firmware's encoder walks them. Runs inside a protected call:
/// Lua functions (function values are called) are only called where no C++ object of this frame is alive.
class JsonBuilder {
public:
    JsonBuilder(lua_State* L, int null_index, int depth) : L_(L), null_(null_index), depth_(depth) {}

    // Converts the table at `index` into `out`.
    void table(int index, Json& out, int level) {
        if (level >= depth_) throw_lua("encoder stack overflow");
        luaL_checkstack(L_, 8, "sjson: nesting too deep");
        index = lua_absindex(L_, index);
        const lua_Integer size = array_size(index);
        if (size >= 0) {
            out = Json::array();
            for (lua_Integer i = 1; i <= size; ++i) {
                lua_rawgeti(L_, index, i);
                out.push_back(Json());
                value(out.back(), level);
            }
            return;
        }
        out = Json::object();
        lua_pushnil(L_);
        while (lua_next(L_, index) != 0) {
            lua_pushvalue(L_, -2);  // the key, converted by tostring without touching the one lua_next needs
            const int key_type = lua_type(L_, -1);
            if (key_type != LUA_TSTRING && key_type != LUA_TNUMBER) throw_type(key_type);
            std::size_t size_of_key = 0;
            const char* key = lua_tolstring(L_, -1, &size_of_key);
            Json& slot = out[std::string(key, size_of_key)];
            lua_pop(L_, 1);
            value(slot, level);
        }
    }

private:
    [[noreturn]] void throw_lua(const char* message) { luaL_error(L_, "%s", message); std::abort(); }
    [[noreturn]] void throw_type(int type) { luaL_error(L_, "Cannot encode type %d", type); std::abort(); }

    // The firmware's sjson_encoder_get_table_size: the largest positive integer key, or -1 for an object.
    lua_Integer array_size(int index) {
        lua_Integer max_key = 0;
        lua_pushnil(L_);
        while (lua_next(L_, index) != 0) {
            lua_pop(L_, 1);
            if (lua_type(L_, -1) != LUA_TNUMBER) {
                lua_pop(L_, 1);
                return -1;
            }
            const lua_Integer key = lua_tointeger(L_, -1);
            if (key <= 0) {
                lua_pop(L_, 1);
                return -1;
            }
            max_key = std::max(max_key, key);
        }
        return max_key;
    }

    // Converts (and pops) the value at the top into `out`.
    void value(Json& out, int level) {
        for (int calls = 0; lua_isfunction(L_, -1) && calls < max_function_calls; ++calls) lua_call(L_, 0, 1);
        int type = lua_type(L_, -1);
        if (type == LUA_TSTRING && !lua_isnil(L_, null_) && lua_rawequal(L_, -1, null_) != 0) type = LUA_TNIL;
        switch (type) {
        case LUA_TNIL:
        case LUA_TLIGHTUSERDATA: out = nullptr; break;
        case LUA_TBOOLEAN: out = lua_toboolean(L_, -1) != 0; break;
        case LUA_TNUMBER: number(out); break;
        case LUA_TSTRING: {
            std::size_t size = 0;
            const char* text = lua_tolstring(L_, -1, &size);
            out = std::string(text, size);
            break;
        }
        case LUA_TTABLE: table(-1, out, level + 1); break;
        default: throw_type(type);
        }
        lua_pop(L_, 1);
    }

    void number(Json& out) {
        if (lua_isinteger(L_, -1) != 0) {
            out = static_cast<std::int64_t>(lua_tointeger(L_, -1));
            return;
        }
        const double value = lua_tonumber(L_, -1);
        if (std::isfinite(value)) {
            out = value;
        } else {
            out = nullptr;  // ECMA-262 24.5.2 note 4, as the firmware
        }
    }

    lua_State* L_;
    int null_;
    int depth_;
};

/// An encoder's state, in its userdata; the uservalue holds the table (1) and the null string (2).
struct Encoder {
    std::string text;
    std::size_t offset = 0;
    int depth = default_depth;
    bool encoded = false;
};

Encoder& check_encoder(lua_State* L, int index) {
    return *static_cast<Encoder*>(luaL_checkudata(L, index, encoder_type));
}

// Protected: converts uservalue[1] of the encoder at 2 into the document (lightuserdata at 1).
int build_document(lua_State* L) {
    auto* document = static_cast<Json*>(lua_touserdata(L, 1));
    const Encoder& encoder = check_encoder(L, 2);
    lua_getuservalue(L, 2);  // 3
    lua_rawgeti(L, 3, 2);    // 4 null
    lua_rawgeti(L, 3, 1);    // 5 the table
    JsonBuilder(L, 4, encoder.depth).table(5, *document, 0);
    return 0;
}

// Encodes the whole table into encoder.text the first time something is read.
void encode_once(lua_State* L, int index) {
    Encoder& encoder = check_encoder(L, index);
    if (encoder.encoded) return;
    encoder.encoded = true;
    auto document = std::make_unique<Json>();
    lua_pushcfunction(L, build_document);
    lua_pushlightuserdata(L, document.get());
    lua_pushvalue(L, index);
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
        document.reset();
        throw RawLuaError(lua_tostring(L, -1) != nullptr ? lua_tostring(L, -1) : "(error object is not a string)");
    }
    encoder.text = document->dump(-1, ' ', false, Json::error_handler_t::replace);
}

// Pushes the next `size` bytes, or returns 0 (nothing pushed) at the end.
int read_chunk(lua_State* L, int index, std::size_t size) {
    encode_once(L, index);
    Encoder& encoder = check_encoder(L, index);
    if (encoder.offset >= encoder.text.size()) return 0;
    const std::size_t n = std::min(size, encoder.text.size() - encoder.offset);
    lua_pushlstring(L, encoder.text.data() + encoder.offset, n);
    encoder.offset += n;
    return 1;
}

// Pushes a new encoder for the table at 1 with the options at 2.
void push_encoder(lua_State* L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    auto* encoder = static_cast<Encoder*>(lua_newuserdata(L, sizeof(Encoder)));
    new (encoder) Encoder();
    luaL_setmetatable(L, encoder_type);
    encoder->depth = depth_option(L, 2);
    lua_createtable(L, 2, 0);
    lua_pushvalue(L, 1);
    lua_rawseti(L, -2, 1);
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_getfield(L, 2, "null");
        lua_rawseti(L, -2, 2);
    }
    lua_setuservalue(L, -2);
}

int sjson_encoder(lua_State* L) {
    push_encoder(L);
    return 1;
}

// encoder:read([size]) -> up to size bytes (1024; at least 1), nil at the end
int encoder_read(lua_State* L) {
    check_encoder(L, 1);
    lua_Integer size = default_read_size;
    if (lua_type(L, 2) == LUA_TNUMBER) size = std::max<lua_Integer>(1, lua_tointeger(L, 2));
    return read_chunk(L, 1, static_cast<std::size_t>(size));
}

int encoder_gc(lua_State* L) {
    check_encoder(L, 1).~Encoder();
    return 0;
}

// sjson.encode(table[, opts]) -> JSON text
int sjson_encode(lua_State* L) {
    lua_settop(L, 2);
    push_encoder(L);
    return read_chunk(L, 3, std::numeric_limits<std::size_t>::max());
}

void register_type(lua_State* L, const char* name, const luaL_Reg* methods, lua_CFunction gc) {
    if (luaL_newmetatable(L, name) == 0) {
        lua_pop(L, 1);
        return;
    }
    lua_newtable(L);
    luaL_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
}

int open_sjson_impl(lua_State* L) {
    static const luaL_Reg decoder_methods[] = {
        {"write", guarded<decoder_write>}, {"result", guarded<decoder_result>}, {nullptr, nullptr}};
    static const luaL_Reg encoder_methods[] = {{"read", guarded<encoder_read>}, {nullptr, nullptr}};
    register_type(L, decoder_type, decoder_methods, decoder_gc);
    register_type(L, encoder_type, encoder_methods, encoder_gc);
    static const luaL_Reg functions[] = {
        {"encode", guarded<sjson_encode>},   {"decode", guarded<sjson_decode>},
        {"encoder", guarded<sjson_encoder>}, {"decoder", guarded<sjson_decoder>},
        {nullptr, nullptr}};
    luaL_newlib(L, functions);
    lua_pushlightuserdata(L, nullptr);
    lua_setfield(L, -2, "NULL");
    return 1;
}

}  // namespace

int open_sjson(lua_State* L) { return guarded<open_sjson_impl>(L); }

}  // namespace nmqtt::lua
