// `nmqtt run`: the arg table, the exit rules (0 when idle, os.exit(n), 1 with a traceback on an error,
// 128 + signal after closing clients cleanly), the tmr shim, and mqtt.so in the stock lua5.3.
#include <gtest/gtest.h>

#include <csignal>

#include "lua_test_support.hpp"

namespace nmqtt::test::lua {
namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(LuaRunner, ExitsZeroWhenNothingIsLeftToWaitFor) {
    const auto r = run_script(script("exit_idle.lua"));
    EXPECT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out, "main chunk done\tdisconnected\n");
    EXPECT_EQ(r.err, "");
}

TEST(LuaRunner, OsExitEndsAtOnceWithItsStatus) {
    MosquittoFixture broker;
    const auto r = run_script(script("os_exit.lua"), address(broker, {"7"}));
    EXPECT_EQ(r.status.exit_code, 7) << describe(r);
    EXPECT_EQ(r.out, "connected, exiting with\t7\n");
}

TEST(LuaRunner, ErrorInMainChunkPrintsTracebackAndExits1) {
    const auto r = run_script(script("error_main.lua"));
    EXPECT_EQ(r.status.exit_code, 1) << describe(r);
    EXPECT_EQ(r.out, "before the error\n");
    EXPECT_TRUE(contains(r.err, "nmqtt: ")) << r.err;
    EXPECT_TRUE(contains(r.err, "error_main.lua:4: boom in the main chunk\nstack traceback:\n")) << r.err;
    EXPECT_TRUE(contains(r.err, "in local 'inner'")) << r.err;
}

TEST(LuaRunner, ErrorInCallbackPrintsTracebackAndExits1) {
    MosquittoFixture broker;
    const auto r = run_script(script("error_callback.lua"), address(broker));
    EXPECT_EQ(r.status.exit_code, 1) << describe(r);
    EXPECT_EQ(r.out, "connected\n");  // nothing runs after the error
    EXPECT_TRUE(contains(r.err, "error_callback.lua:6: boom in the connect callback\nstack traceback:\n")) << r.err;
    EXPECT_TRUE(contains(r.err, "fail_in_callback")) << r.err;
}

TEST(LuaRunner, NonStringErrorObjectInTimer) {
    const auto r = run_script(script("error_timer.lua"));
    EXPECT_EQ(r.status.exit_code, 1) << describe(r);
    EXPECT_EQ(r.out, "timer fired\n");
    EXPECT_TRUE(contains(r.err, "nmqtt: (error object is a table value)\nstack traceback:\n")) << r.err;
}

TEST(LuaRunner, ArgTableAndVarargs) {
    const auto r = run_script(script("args.lua"), {"a", "-b", "--c", "d e"});
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out,
        "arg[0]\targs.lua\n"
        "#arg\t4\n"
        "arg[1]\ta\n"
        "arg[2]\t-b\n"
        "arg[3]\t--c\n"
        "arg[4]\td e\n"
        "...\t4\ta\t-b\t--c\td e\n"
        "globals\ttable\ttable\tfunction\tfunction\n");
}

TEST(LuaRunner, ScriptFromStandardInput) {
    ProcessOptions options;
    options.stdin_data = "print('from stdin', arg[0], ...)\n";
    const auto r = run_process(nmqtt_run("-", {"x"}), script_timeout, options);
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out, "from stdin\t-\tx\n");
}

TEST(LuaRunner, MissingScriptOrNoScriptExits1) {
    const auto missing = run_script(script("no_such_script.lua"));
    EXPECT_EQ(missing.status.exit_code, 1) << describe(missing);
    EXPECT_TRUE(contains(missing.err, "cannot open")) << missing.err;
    const auto none = run_process({NMQTT_CLI_PATH, "run"}, script_timeout);
    EXPECT_EQ(none.status.exit_code, 1) << describe(none);
}

// Ctrl-C: clients are closed cleanly (DISCONNECT: no will), "offline" runs, exit status 130; SIGTERM: 143.
void interrupt(int signal, int expected_status) {
    MosquittoFixture broker;
    Process runner(nmqtt_run(script("sigint.lua"), address(broker)));
    ASSERT_TRUE(runner.wait_for_stdout("ready\n", 20s)) << runner.stdout_text() << runner.stderr_text();
    runner.send_signal(signal);
    const auto status = runner.wait_or_kill(20s);
    EXPECT_EQ(status.exit_code, expected_status) << runner.stderr_text();
    EXPECT_EQ(runner.stdout_text(), "ready\noffline\n");
    EXPECT_EQ(log_count(broker, "Received DISCONNECT from nmqtt-sigint", 1), 1U) << broker.log();
}

TEST(LuaRunner, SigintClosesClientsCleanlyAndExits130) { interrupt(SIGINT, 130); }
TEST(LuaRunner, SigtermClosesClientsCleanlyAndExits143) { interrupt(SIGTERM, 143); }

TEST(LuaTmr, TimerObjectsAndStaticApi) {
    const auto r = run_script(script("tmr.lua"));
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out,
        "unregistered\tnil\tfalse\tfalse\n"
        "registered\tfalse\t1\n"
        "start\ttrue\ttrue\t1\n"
        "start again\tfalse\n"
        "semi fired\t1\ttrue\tfalse\t1\n"
        "restart\ttrue\n"
        "semi fired\t2\ttrue\tfalse\t1\n"
        "unregistered\tnil\n"
        "alarm\ttrue\n"
        "auto fired 3 times, stop\ttrue\tfalse\t2\n"
        "stop again\tfalse\n"
        "single fired, state\tnil\n"
        "start unregistered\tfalse\n"
        "re-armed from its callback\ttrue\n"
        "single fired again\n"
        "state after interval\ttrue\t0\n"
        "interval changed while running\ttrue\n"
        "stop armed\ttrue\n"
        "unregister armed\tnil\n"
        "static state\tnil\n"
        "static alarm\ttrue\n"
        "static 0 fired\ttrue\t2\n"
        "static stop\ttrue\tfalse\t2\n"
        "static unregistered\tnil\n"
        "static start\ttrue\tfalse\n"
        "static 6 fired\n"
        "now\tinteger\ttrue\ttrue\n"
        "delay\ttrue\n"
        "reentry\tfalse\tthe event loop is already running (mqtt.run/mqtt.poll called from a callback)\n"
        "end\n");
}

// The loadable module in the stock interpreter: require "mqtt" / "mqtt.tmr", mqtt.run(), mqtt.poll().
TEST(LuaModule, StockInterpreterWithMqttSo) {
    MosquittoFixture broker;
    ProcessOptions options;
    options.env = {"LUA_CPATH=" NMQTT_LUA_MODULE_DIR "/?.so"};
#ifdef NMQTT_ASAN_RUNTIME
    options.env.push_back("LD_PRELOAD=" NMQTT_ASAN_RUNTIME);
    options.env.push_back("ASAN_OPTIONS=detect_leaks=0");  // the interpreter's own allocations at exit
#endif
    auto argv = std::vector<std::string>{NMQTT_LUA_INTERPRETER, script("standalone.lua")};
    for (auto& a : address(broker)) argv.push_back(a);
    const auto r = run_process(argv, script_timeout, options);
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out,
        "loaded\ttrue\t2\tfunction\n"
        "idle before run\tfalse\n"
        "connected\n"
        "message\tstandalone/t\thello\n"
        "offline\n"
        "run returned\ttrue\n"
        "idle after run\ttrue\n"
        "run with timeout\tfalse\n"
        "error re-raised\tfalse\ttrue\ttrue\n"
        "poll ran the timer\ttrue\ttrue\n");
}

// The Lua the build chose (NMQTT_LUA_VERSION, the lua54 preset for 5.4) is the one `nmqtt run` embeds and
// the one the stock interpreter that loads mqtt.so is.
TEST(LuaModule, BuiltAgainstTheChosenLuaVersion) {
    const auto embedded = run_script(script("version.lua"));
    ASSERT_TRUE(embedded.status.success()) << describe(embedded);
    EXPECT_EQ(embedded.out, "Lua " NMQTT_LUA_VERSION "\n");
    const auto stock = run_process({NMQTT_LUA_INTERPRETER, script("version.lua")}, script_timeout);
    ASSERT_TRUE(stock.status.success()) << describe(stock);
    EXPECT_EQ(stock.out, "Lua " NMQTT_LUA_VERSION "\n");
}

}  // namespace
}  // namespace nmqtt::test::lua
