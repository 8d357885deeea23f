// The `tls` module's certificate calls, as the NodeMCU firmware has them (app/modules/tls.c):
// tls.cert.verify(pem | true | false | callback), tls.cert.auth(cert_pem, key_pem | true | false | callback),
// tls.setDebug(n), tls.setMaxFragmentLength(n). They change Runtime::tls_settings(), which each client applies
// to the connections it opens after the call. PEM data is checked here, so bad data is a Lua error at once.
#include "lua_compat.hpp"

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "args.hpp"
#include "lua_api.hpp"
#include "runtime.hpp"

namespace nmqtt::lua {
namespace {

constexpr int max_callback_items = 16;  // certificates asked of a callback before giving up

struct BioFree {
    void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};
struct X509Free {
    void operator()(X509* cert) const noexcept { X509_free(cert); }
};
struct KeyFree {
    void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
using Bio = std::unique_ptr<BIO, BioFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;

Bio memory_bio(std::string_view pem) { return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))); }

/// The certificates of `pem`, the first one returned (nullptr when there is none).
Cert first_certificate(std::string_view pem, int& count) {
    Bio bio = memory_bio(pem);
    Cert first;
    count = 0;
    while (Cert cert{PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)}) {
        if (!first) first = std::move(cert);
        ++count;
    }
    ERR_clear_error();  // the loop ends on "no start line"
    return first;
}

Key private_key(std::string_view pem) {
    Bio bio = memory_bio(pem);
    Key key{PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr)};
    ERR_clear_error();
    return key;
}

void note_old_interface(lua_State* L, const char* function) {
    // The firmware's platform_print_deprecation_note for the PEM-string form.
    if (Runtime::of(L).first_time(std::string("tls-old-") + function)) {
        std::fprintf(stderr, "nmqtt: deprecated: %s's PEM-string interface (the firmware prefers a callback)\n",
                     function);
    }
}

/// Asks a callback for its items, as the firmware does: f(first), f(first + 1), ... until it returns
/// nil; the strings are joined (PEM blocks may follow each other).
std::string collect_from_callback(lua_State* L, int first, int limit = max_callback_items) {
    std::string joined;
    for (int index = first; index < first + limit; ++index) {
        lua_pushvalue(L, 1);
        lua_pushinteger(L, index);
        if (lua_pcall(L, 1, 1, 0) != LUA_OK) {  // no longjmp across this frame's strings
            std::string message = lua_tostring(L, -1) != nullptr ? lua_tostring(L, -1) : "error in the callback";
            lua_pop(L, 1);
            throw RawLuaError(message);
        }
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            break;
        }
        if (lua_type(L, -1) != LUA_TSTRING) throw LuaError("the callback must return PEM strings or nil");
        std::size_t size = 0;
        const char* data = lua_tolstring(L, -1, &size);
        joined.append(data, size).push_back('\n');
        lua_pop(L, 1);
    }
    return joined;
}

/// The text of arguments 1 and 2 (strings) joined.
std::string pem_arguments(lua_State* L) {
    std::string pem(check_string(L, 1));
    if (lua_type(L, 2) == LUA_TSTRING) pem.append("\n").append(check_string(L, 2));
    return pem;
}

void set_ca(TlsModuleSettings& settings, std::string pem) {
    int count = 0;
    if (!first_certificate(pem, count)) {
        throw LuaError("tls.cert.verify: no certificate in the PEM data (expected -----BEGIN CERTIFICATE-----)");
    }
    settings.ca_pem = std::move(pem);
    settings.verify = true;
}

// tls.cert.verify(pem [, pem]) | tls.cert.verify(true|false) | tls.cert.verify(callback) -> true
int cert_verify(lua_State* L) {
    TlsModuleSettings& settings = Runtime::of(L).tls_settings();
    if (lua_type(L, 1) == LUA_TFUNCTION) {
        set_ca(settings, collect_from_callback(L, 1));
    } else if (lua_type(L, 1) == LUA_TSTRING) {
        note_old_interface(L, "tls.cert.verify");
        set_ca(settings, pem_arguments(L));
    } else if (lua_toboolean(L, 1) != 0) {
        settings.verify = true;  // with no PEM given: the system's trusted CAs (a desktop must verify)
    } else {
        settings.verify = false;
        std::fputs("nmqtt: warning: tls.cert.verify(false): TLS connections opened from now on do not verify "
                   "the broker's certificate\n", stderr);
    }
    ++settings.version;
    lua_pushboolean(L, 1);
    return 1;
}

void set_identity(TlsModuleSettings& settings, std::string pem) {
    int count = 0;
    const Cert cert = first_certificate(pem, count);
    if (!cert) throw LuaError("tls.cert.auth: no certificate in the PEM data (expected -----BEGIN CERTIFICATE-----)");
    const Key key = private_key(pem);
    if (!key) throw LuaError("tls.cert.auth: no private key in the PEM data (expected -----BEGIN ... PRIVATE KEY-----)");
    if (X509_check_private_key(cert.get(), key.get()) != 1) {
        ERR_clear_error();
        throw LuaError("tls.cert.auth: the private key does not match the certificate");
    }
    settings.cert_pem = pem;  // the chain and the key in one text: OpenSSL reads each part from it
    settings.key_pem = std::move(pem);
    settings.auth = true;
}

// tls.cert.auth(cert_pem, key_pem) | tls.cert.auth(true|false) | tls.cert.auth(callback) -> true
int cert_auth(lua_State* L) {
    TlsModuleSettings& settings = Runtime::of(L).tls_settings();
    if (lua_type(L, 1) == LUA_TFUNCTION) {
        std::string pem = collect_from_callback(L, 1);  // f(1), f(2)...: the certificate chain
        pem += collect_from_callback(L, 0, 1);          // f(0): the private key
        set_identity(settings, std::move(pem));
    } else if (lua_type(L, 1) == LUA_TSTRING) {
        note_old_interface(L, "tls.cert.auth");
        set_identity(settings, pem_arguments(L));
    } else if (lua_toboolean(L, 1) != 0) {
        if (settings.cert_pem.empty()) throw LuaError("no certificates found");  // the firmware's words
        settings.auth = true;
    } else {
        settings.auth = false;
    }
    ++settings.version;
    lua_pushboolean(L, 1);
    return 1;
}

// tls.setDebug(n): accepted; OpenSSL's handshake errors already reach connfail and last_error_message.
int set_debug(lua_State* L) {
    (void)check_integer(L, 1, 0, 5, "debug threshold");
    return 0;
}

// tls.setMaxFragmentLength(n): accepted and ignored (a desktop has no 16 KiB receive buffer limit).
int set_max_fragment_length(lua_State* L) {
    (void)check_integer(L, 1, 0, 16384, "fragment length");
    lua_pushboolean(L, 1);
    return 1;
}

int open_tls_impl(lua_State* L) {
    Runtime::of(L);
    static const luaL_Reg functions[] = {
        {"setDebug", guarded<set_debug>},
        {"setMaxFragmentLength", guarded<set_max_fragment_length>},
        {nullptr, nullptr},
    };
    static const luaL_Reg cert[] = {
        {"verify", guarded<cert_verify>},
        {"auth", guarded<cert_auth>},
        {nullptr, nullptr},
    };
    luaL_newlib(L, functions);
    luaL_newlib(L, cert);
    lua_setfield(L, -2, "cert");
    return 1;
}

}  // namespace

int open_tls(lua_State* L) { return guarded<open_tls_impl>(L); }

}  // namespace nmqtt::lua
