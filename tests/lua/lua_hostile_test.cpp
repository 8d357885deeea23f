// Hostile callbacks in Lua (issue 17, part 2): errors raised by callbacks, 5000 publishes from a message
// callback, close/reconnect from callbacks, a callback blocking past the keepalive; through the stock
// interpreter with mqtt.so (`require "mqtt"`, mqtt.run() in pcall) and through `nmqtt run`.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lua_test_support.hpp"

namespace nmqtt::test::lua {
namespace {

MosquittoOptions unbounded_broker() {
    return MosquittoOptions{.extra_config = {"max_inflight_messages 0", "max_queued_messages 0"}};
}

// What hostile_module.lua prints when every check holds.
constexpr const char* hostile_expected =
    "delivered\ttrue\t1 2 3 4 5 6 7 8 9 10\n"
    "errors\t2\tboom 3 boom 7\n"
    "state after errors\tconnected\tconnected\n"
    "flood\ttrue\t5000\t0\t5000\n"
    "reconnects\ttrue\toffline, connect 2, connect called: connecting, offline, connect 3\tconnected\n"
    "blocked\ttrue\t5\tconnected\ttrue\n"
    "run returned\ttrue\n";

// `require "mqtt"` users: an error raised by a callback comes out of mqtt.run() (caught by pcall); the next
// mqtt.run() goes on with the messages behind it, none skipped, every one acknowledged.
TEST(LuaHostile, ModuleUsersKeepAConsistentLoopAfterCallbackErrors) {
    MosquittoFixture broker(unbounded_broker());
    ProcessOptions options;
    options.env = {"LUA_CPATH=" NMQTT_LUA_MODULE_DIR "/?.so"};
#ifdef NMQTT_ASAN_RUNTIME
    options.env.push_back("LD_PRELOAD=" NMQTT_ASAN_RUNTIME);
    options.env.push_back("ASAN_OPTIONS=detect_leaks=0");  // the interpreter's own allocations at exit
#endif
    auto argv = std::vector<std::string>{NMQTT_LUA_INTERPRETER, script("hostile_module.lua")};
    for (auto& a : address(broker)) argv.push_back(a);
    const auto r = run_process(argv, 90s, options);
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out, hostile_expected);
    // hl/t 10, hl/go 1, hl/out 5000
    EXPECT_EQ(log_count(broker, "Received PUBACK from hl-sub", 5011), 5011U) << "every message acked";
}

// The same script under `nmqtt run`, where mqtt.run() is available to the script as well.
TEST(LuaHostile, SameUnderNmqttRun) {
    MosquittoFixture broker(unbounded_broker());
    const auto r = run_script(script("hostile_module.lua"), address(broker), 90s);
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out, hostile_expected);
}

// `nmqtt run` with the error left to the event loop: the firmware would panic and reboot; nmqtt run prints
// the error and traceback and exits 1, running no callback after it.
TEST(LuaHostile, ErrorInMessageCallbackEndsNmqttRunWithStatus1) {
    MosquittoFixture broker;
    const auto r = run_script(script("error_message.lua"), address(broker));
    EXPECT_EQ(r.status.exit_code, 1) << describe(r);
    EXPECT_EQ(r.out, "message\t1\nmessage\t2\n");
    EXPECT_NE(r.err.find("error_message.lua:7: boom in the message callback\nstack traceback:\n"), std::string::npos)
        << r.err;
}

}  // namespace
}  // namespace nmqtt::test::lua
