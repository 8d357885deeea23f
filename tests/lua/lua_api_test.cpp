// The mqtt module's surface and its argument checking, through `nmqtt run`.
#include <gtest/gtest.h>

#include "lua_test_support.hpp"
#include "support/fault_proxy.hpp"

namespace nmqtt::test::lua {
namespace {

// Every constant has the reference's value; every method exists; with no connection publish/subscribe/
// unsubscribe return false and close() returns false (nothing to close); require finds the globals.
TEST(LuaApi, ConstantsMethodsAndReturnValuesWithoutConnection) {
    const auto r = run_script(script("api.lua"));
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out,
        "CONN_FAIL_SERVER_NOT_FOUND\t-5\tinteger\n"
        "CONN_FAIL_NOT_A_CONNACK_MSG\t-4\tinteger\n"
        "CONN_FAIL_DNS\t-3\tinteger\n"
        "CONN_FAIL_TIMEOUT_RECEIVING\t-2\tinteger\n"
        "CONN_FAIL_TIMEOUT_SENDING\t-1\tinteger\n"
        "CONNACK_ACCEPTED\t0\tinteger\n"
        "CONNACK_REFUSED_PROTOCOL_VER\t1\tinteger\n"
        "CONNACK_REFUSED_ID_REJECTED\t2\tinteger\n"
        "CONNACK_REFUSED_SERVER_UNAVAILABLE\t3\tinteger\n"
        "CONNACK_REFUSED_BAD_USER_OR_PASS\t4\tinteger\n"
        "CONNACK_REFUSED_NOT_AUTHORIZED\t5\tinteger\n"
        "tmr\t0\t1\t2\n"
        "require\ttrue\ttrue\ttrue\n"
        "client\tuserdata\ttrue\tmqtt.client\n"
        "method\tconnect\tfunction\n"
        "method\tclose\tfunction\n"
        "method\tlwt\tfunction\n"
        "method\ton\tfunction\n"
        "method\tpublish\tfunction\n"
        "method\tsubscribe\tfunction\n"
        "method\tunsubscribe\tfunction\n"
        "method\tstate\tfunction\n"
        "state\tdisconnected\n"
        "close\tfalse\n"
        "publish\tfalse\n"
        "subscribe\tfalse\n"
        "subscribe table\tfalse\n"
        "unsubscribe\tfalse\n"
        "unsubscribe table\tfalse\n"
        "lwt\n"
        "on\tnil\n"
        "defaults\tdisconnected\n"
        "timer\tuserdata\ttrue\ttmr.timer\n"
        "now\tinteger\ttrue\tinteger\n");
    EXPECT_EQ(r.err, "");
}

// Wrong types, QoS outside 0..2, wildcards in a topic name, malformed filters, empty client id with
// cleansession 0, keepalive out of range, lwt after connect, reliability options (reconnect fields, brokers
// entries, queue_while_offline, session_store and its sync policy, a store that cannot be opened)...: Lua
// errors in luaL_argerror's words, caught with pcall; the script goes on and exits 0.
TEST(LuaApi, BadArgumentsRaiseLuaErrors) {
    MosquittoFixture broker;
    const auto r = run_script(script("bad_args.lua"), address(broker));
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out,
        "keepalive low\tbad argument #2 to 'Client' (keepalive must be in 0..65535, got -1)\n"
        "keepalive high\tbad argument #2 to 'Client' (keepalive must be in 0..65535, got 65536)\n"
        "keepalive float\tbad argument #2 to 'Client' (number has no integer representation)\n"
        "empty id clean 0\tbad argument #1 to 'Client' (an empty client id needs cleansession 1)\n"
        "empty id clean false\tbad argument #1 to 'Client' (an empty client id needs cleansession 1)\n"
        "options type\tbad argument #7 to 'Client' (table expected, got string)\n"
        "option unknown\tbad argument #7 to 'Client' (unknown option 'cafile')\n"
        "option value\tbad argument #7 to 'Client' (option 'connect_timeout' must be an integer in 0..86400000)\n"
        "bad utf8 id\tbad argument #1 to 'Client' (client id is not a valid MQTT UTF-8 string)\n"
        "reconnect true\ttrue\n"
        "reconnect false\ttrue\n"
        "reconnect table\ttrue\n"
        "reconnect type\tbad argument #7 to 'Client' (option 'reconnect' must be a boolean or a table)\n"
        "reconnect unknown\tbad argument #7 to 'Client' (unknown option 'reconnect.retries')\n"
        "reconnect key\tbad argument #7 to 'Client' (option names must be strings)\n"
        "reconnect delay\tbad argument #7 to 'Client' (option 'reconnect.initial_delay_ms' must be an integer in 0..86400000)\n"
        "reconnect delay type\tbad argument #7 to 'Client' (option 'reconnect.max_delay_ms' must be an integer in 0..86400000)\n"
        "reconnect max below initial\tbad argument #7 to 'Client' (option 'reconnect.max_delay_ms' (100) must be at least reconnect.initial_delay_ms (200))\n"
        "reconnect initial above default max\tbad argument #7 to 'Client' (option 'reconnect.max_delay_ms' (60000) must be at least reconnect.initial_delay_ms (120000))\n"
        "reconnect multiplier\tbad argument #7 to 'Client' (option 'reconnect.multiplier' must be a finite number >= 1)\n"
        "reconnect multiplier inf\tbad argument #7 to 'Client' (option 'reconnect.multiplier' must be a finite number >= 1)\n"
        "reconnect multiplier type\tbad argument #7 to 'Client' (option 'reconnect.multiplier' must be a finite number >= 1)\n"
        "reconnect healthy\tbad argument #7 to 'Client' (option 'reconnect.healthy_after_ms' must be an integer in 0..86400000)\n"
        "reconnect attempts\tbad argument #7 to 'Client' (option 'reconnect.max_attempts' must be an integer in 0..4294967295)\n"
        "reconnect attempts float\tbad argument #7 to 'Client' (option 'reconnect.max_attempts' must be an integer in 0..4294967295)\n"
        "brokers type\tbad argument #7 to 'Client' (option 'reconnect.brokers' must be a list of {host=, port=, secure=} tables)\n"
        "brokers not a list\tbad argument #7 to 'Client' (option 'reconnect.brokers' must be a list of {host=, port=, secure=} tables)\n"
        "brokers mixed\tbad argument #7 to 'Client' (option 'reconnect.brokers' must be a list of {host=, port=, secure=} tables)\n"
        "broker type\tbad argument #7 to 'Client' (option 'reconnect.brokers[1]' must be a table {host=, port=, secure=})\n"
        "broker host missing\tbad argument #7 to 'Client' (option 'reconnect.brokers[1].host' is missing)\n"
        "broker host empty\tbad argument #7 to 'Client' (option 'reconnect.brokers[1].host' must not be empty)\n"
        "broker port\tbad argument #7 to 'Client' (option 'reconnect.brokers[2].port' must be an integer in 1..65535)\n"
        "broker secure\tbad argument #7 to 'Client' (option 'reconnect.brokers[1].secure' must be a boolean)\n"
        "broker unknown\tbad argument #7 to 'Client' (unknown option 'reconnect.brokers[1].tls')\n"
        "queue type\tbad argument #7 to 'Client' (option 'queue_while_offline' must be a boolean)\n"
        "store type\tbad argument #7 to 'Client' (option 'session_store' must be a string)\n"
        "store empty\tbad argument #7 to 'Client' (option 'session_store' must not be empty)\n"
        "store sync\tbad argument #7 to 'Client' (option 'session_store_sync' must be \"every_flush\" or \"os\")\n"
        "store sync alone\tbad argument #7 to 'Client' (option 'session_store_sync' needs option 'session_store')\n"
        "store unusable\tbad argument #7 to 'Client' (session_store '/nonexistent/nmqtt/store' cannot be used (No such file or directory))\n"
        "publish topic type\tbad argument #1 to 'publish' (string expected, got nil)\n"
        "publish payload type\tbad argument #2 to 'publish' (string expected, got table)\n"
        "publish qos 3\tbad argument #3 to 'publish' (QoS must be 0, 1 or 2, got 3)\n"
        "publish qos -1\tbad argument #3 to 'publish' (QoS must be 0, 1 or 2, got -1)\n"
        "publish qos type\tbad argument #3 to 'publish' (number expected, got string)\n"
        "publish retain type\tbad argument #4 to 'publish' (number expected, got string)\n"
        "publish plus\tbad argument #1 to 'publish' (wildcards are not allowed in a topic name)\n"
        "publish hash\tbad argument #1 to 'publish' (wildcards are not allowed in a topic name)\n"
        "publish empty topic\tbad argument #1 to 'publish' (empty topic name)\n"
        "subscribe filter\tbad argument #1 to 'subscribe' (malformed topic filter 'a/#/c' (invalid topic filter))\n"
        "subscribe plus\tbad argument #1 to 'subscribe' (malformed topic filter 'a+/b' (invalid topic filter))\n"
        "subscribe empty\tbad argument #1 to 'subscribe' (malformed topic filter '' (invalid topic filter))\n"
        "subscribe qos\tbad argument #2 to 'subscribe' (QoS must be 0, 1 or 2, got 3)\n"
        "subscribe type\tbad argument #1 to 'subscribe' (string expected, got boolean)\n"
        "subscribe table qos\tbad argument #1 to 'subscribe' (QoS of 'a/b' must be 0, 1 or 2)\n"
        "subscribe table key\tbad argument #1 to 'subscribe' (table keys must be topic filters (strings))\n"
        "subscribe table filter\tbad argument #1 to 'subscribe' (malformed topic filter 'a/#/b' (invalid topic filter))\n"
        "subscribe empty table\tbad argument #1 to 'subscribe' (empty table: no topic to subscribe to)\n"
        "unsubscribe filter\tbad argument #1 to 'unsubscribe' (malformed topic filter '#/a' (invalid topic filter))\n"
        "unsubscribe empty table\tbad argument #1 to 'unsubscribe' (empty table: no topic to unsubscribe from)\n"
        "unsubscribe key\tbad argument #1 to 'unsubscribe' (table keys must be topic filters (strings))\n"
        "on event\tbad argument #1 to 'on' (invalid option 'connected')\n"
        "on function\tbad argument #2 to 'on' (function expected, got string)\n"
        "on reconnect function\tbad argument #2 to 'on' (function expected, got number)\n"
        "lwt topic\tbad argument #1 to 'lwt' (wildcards are not allowed in a topic name)\n"
        "lwt qos\tbad argument #3 to 'lwt' (QoS must be 0, 1 or 2, got 7)\n"
        "lwt message\tbad argument #2 to 'lwt' (need lwt message)\n"
        "lwt topic type\tbad argument #1 to 'lwt' (need lwt topic)\n"
        "connect host\tbad argument #1 to 'connect' (string expected, got nil)\n"
        "connect port 0\tbad argument #2 to 'connect' (port must be in 1..65535, got 0)\n"
        "connect port high\tbad argument #2 to 'connect' (port must be in 1..65535, got 70000)\n"
        "bad self\tbad argument #1 to 'publish' (mqtt.client expected, got table)\n"
        "bad self string\tbad argument #1 to 'close' (mqtt.client expected, got string)\n"
        "connect while connecting\talready connected\n"
        "tmr interval 0\tbad argument #1 to 'alarm' (interval must be in 1..2147483647, got 0)\n"
        "tmr mode\tbad argument #2 to 'alarm' (mode must be in 0..2, got 3)\n"
        "tmr function\tbad argument #3 to 'register' (function expected, got nil)\n"
        "tmr static id\tbad argument #1 to 'alarm' (timer id must be in 0..6, got 7)\n"
        "tmr self\tbad argument #1 to 'start' (timer object or static timer id 0..6 expected, got table)\n"
        "tmr interval method\tbad argument #1 to 'interval' (interval must be in 1..2147483647, got -5)\n"
        "connect twice\talready connected\n");
    EXPECT_EQ(r.err, "");
}

// 2016-era call shapes the firmware accepts (issue 10): connect(h, p, 0, 1, cb) makes cb the failure
// callback; connect(h, "port", 0, 0) connects with no callbacks; numeric strings for numbers; cleansession 2;
// max_message_length 0 (the default); subscribe({t=q}, 0, cb) subscribes and skips the 0; publish with a
// stray 42 where the callback goes. Each skipped value is named once on stderr.
TEST(LuaApi, FirmwareCallShapes2016Style) {
    MosquittoFixture broker;
    const auto r = run_script(script("shapes_2016.lua"), address(broker, {std::to_string(free_loopback_port())}));
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out,
        "failure slot\t-5\n"
        "on connect\n"
        "subscribe\ttrue\n"
        "publish\ttrue\n"
        "publish\ttrue\n"
        "subscribe completion\n"
        "message\ttrue\tfirst\n"
        "message\ttrue\tlast\n"
        "offline\n");
    EXPECT_EQ(r.err,
        "nmqtt: deprecated: connect()'s `secure` as integer 0/1; pass false or true\n"
        "nmqtt: note: connect() argument #4 is a number, not a function: ignored, as on NodeMCU\n"
        "nmqtt: note: subscribe() argument #2 is a number, not a function: ignored, as on NodeMCU\n"
        "nmqtt: note: publish() argument #5 is a number, not a function: ignored, as on NodeMCU\n");
}

// 3.0-era shapes: lwt() after connect() is stored and sent with the next CONNECT (the firmware's behaviour,
// no error): a clean close publishes nothing, the reconnect carries the will, a cut publishes it.
TEST(LuaApi, FirmwareCallShapes3StyleLwtAfterConnect) {
    MosquittoFixture broker;
    FaultProxy proxy(broker.host(), broker.port());
    Process runner(nmqtt_run(script("shapes_3.lua"), address(broker, {std::to_string(proxy.port())})));
    ASSERT_TRUE(runner.wait_for_stdout("ready\n", 20s)) << runner.stdout_text() << runner.stderr_text();
    proxy.cut_all();
    const auto status = runner.wait_or_kill(20s);
    EXPECT_TRUE(status.success()) << runner.stderr_text();
    EXPECT_EQ(runner.stdout_text(),
        "lwt while connected\n"
        "close\ttrue\n"
        "victim offline\t1\n"
        "ready\n"
        "victim offline\t2\n"
        "will\ttrue\tlate will\n");
    EXPECT_EQ(runner.stderr_text(),
        "nmqtt: note: unsubscribe() argument #2 is a string, not a function: ignored, as on NodeMCU\n");
}

}  // namespace
}  // namespace nmqtt::test::lua
