// The one place where Lua 5.3 and 5.4 differ for nmqtt (NMQTT_LUA_VERSION picks the headers). Include this
// instead of <lua.hpp>. What the code uses is the 5.3 API, which 5.4's lua.h keeps as macros:
// lua_newuserdata(L, s) is lua_newuserdatauv(L, s, 1) and lua_getuservalue/lua_setuservalue take user value 1,
// the one slot every nmqtt userdata has in both versions. lua_resume (whose signature changed) is not used.
#pragma once

#include <lua.hpp>

#if !defined(LUA_VERSION_NUM) || (LUA_VERSION_NUM != 503 && LUA_VERSION_NUM != 504)
#error "nmqtt's Lua binding builds against Lua 5.3 or 5.4"
#endif

#if LUA_VERSION_NUM == 503
/// 5.4's names, for code written against them: one user value (all a 5.3 userdata has).
#define lua_newuserdatauv(L, size, nuvalue) lua_newuserdata((L), (size))
#define lua_getiuservalue(L, index, n) lua_getuservalue((L), (index))
#endif
