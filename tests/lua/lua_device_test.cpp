// The device modules of `nmqtt run` (wifi, node, file, sjson, gpio, adc): each function through a script in
// scripts/device/, its output and exit status checked.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "lua_test_support.hpp"

namespace nmqtt::test::lua {
namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::string device_script(const std::string& name) { return script("device/" + name); }

const std::vector<std::string> fixed_mac{"--mac", "5c:cf:7f:12:34:56"};

// Constants, the firmware's argument errors, the boot join (STA_CONNECTED then STA_GOT_IP, both after the main
// chunk), sta.config in both forms, disconnect, connect, modes and their events, hostname.
TEST(LuaDeviceWifi, StationEventsConfigAndErrors) {
    const auto r = run_device_script(fixed_mac, device_script("wifi.lua"));
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out,
        "constants\t0\t1\t2\t3\n"
        "status constants\t0\t1\t2\t3\t4\t5\n"
        "events\t0\t1\t2\t3\t4\t5\t6\t7\t8\t10\n"
        "reasons\t1\t8\t201\t15\t204\n"
        "boot\t1\t1\tnil\tnil\n"
        "mac\t5c:cf:7f:12:34:56\t123456\tNODE-123456\n"
        "config no table\tfalse\tbad argument #1 (config table not found!)\n"
        "config no ssid\tfalse\tbad argument #1 (ssid required)\n"
        "config ssid type\tfalse\tbad argument #1 (ssid:not string)\n"
        "config ssid long\tfalse\tbad argument #1 (ssid: length:0-32)\n"
        "config pwd type\tfalse\tbad argument #1 (pwd:not string)\n"
        "config pwd long\tfalse\tbad argument #1 (pwd: length:0-64)\n"
        "config bssid\tfalse\tbad argument #1 (bssid: FF:FF:FF:FF:FF:FF)\n"
        "config auto\tfalse\tbad argument #1 (auto:not boolean)\n"
        "config save\tfalse\tbad argument #1 (save:not boolean)\n"
        "config got_ip_cb\tfalse\tbad argument #1 (gotip_cb:not function)\n"
        "config connected_cb\tfalse\tbad argument #1 (connected_cb:not function)\n"
        "positional short pwd\tfalse\tbad argument #2 (length:0 or 8-64)\n"
        "positional nil auto\tfalse\twrong arg type\n"
        "positional bad auto\tfalse\twrong arg type\n"
        "positional bad bssid\tfalse\tbad argument #1 (MAC:FF:FF:FF:FF:FF:FF)\n"
        "setmode\tfalse\tbad argument #1 (Invalid mode)\n"
        "setmode save\tfalse\tbad argument #2 (boolean expected, got number)\n"
        "setmode type\tfalse\tbad argument #1 (number expected, got string)\n"
        "autoconnect\tfalse\tbad argument #1 (0 or 1)\n"
        "sethostname\tfalse\tbad argument #1 (Invalid hostname)\n"
        "eventmon id\tfalse\tvalid wifi events:0-10\n"
        "eventmon type\tfalse\tbad argument #1 (number expected, got string)\n"
        "1\tconfig returned\t1\tnil\n"
        "2\tconnected\thome\t02:00:00:00:00:01\t1\tnil\t1\n"
        "3\tgot ip\t127.0.0.1\t255.0.0.0\t127.0.0.1\t5\n"
        "4\tgetip\t127.0.0.1\t255.0.0.0\t127.0.0.1\n"
        "5\trssi\t-50\n"
        "6\tafter disconnect\t0\tnil\tnil\n"
        "7\tpositional\ttrue\n"
        "8\tstatus\t0\n"
        "9\tdisconnected\thome\t02:00:00:00:00:01\t8\t1\n"
        "10\tconnected\toffice\tAA:BB:CC:DD:EE:FF\t1\tnil\t1\n"
        "11\tgot ip\t127.0.0.1\t255.0.0.0\t127.0.0.1\t5\n"
        "12\tgetip\t127.0.0.1\t255.0.0.0\t127.0.0.1\n"
        "13\trssi\t-50\n"
        "14\tsetmode\t2\t0\tnil\n"
        "15\tautoconnect\n"
        "16\tsetmode\t3\n"
        "17\tmode changed\t1\t2\n"
        "18\tdisconnected\toffice\tAA:BB:CC:DD:EE:FF\t8\t1\n"
        "19\tmode changed\t2\t3\n"
        "20\tconnected\toffice\tAA:BB:CC:DD:EE:FF\t1\tnil\t1\n"
        "21\tgot ip\t127.0.0.1\t255.0.0.0\t127.0.0.1\t5\n"
        "22\tgetip\t127.0.0.1\t255.0.0.0\t127.0.0.1\n"
        "23\trssi\t-50\n"
        "24\tsethostname\ttrue\tsensor-7\n"
        "25\tmode\t3\n");
    EXPECT_EQ(r.err, "");
}

// --wifi-down: no STA_GOT_IP, one STA_DISCONNECTED with NO_AP_FOUND, status STA_APNOTFOUND; the script's own
// timeout path runs and the run ends.
TEST(LuaDeviceWifi, WifiDownNeverGetsAnAddress) {
    const auto r = run_device_script({"--wifi-down"}, device_script("wifi_down.lua"));
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out,
        "disconnected\thome\t00:00:00:00:00:00\t201\t3\tnil\n"
        "gave up after\t5\t3\tnil\tnil\n");
}

TEST(LuaDeviceWifi, EventmonUnregisterStopsOneEvent) {
    const auto r = run_device_script({}, device_script("wifi_unregister.lua"));
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out, "events\tgot_ip\nafter\t0\n");
}

// The options: addresses and SSID as given; a tmr poll of getip() in the 2016 style.
TEST(LuaDeviceWifi, AddressOptionsAndPolling) {
    const auto r = run_device_script({"--ip", "10.1.2.3", "--netmask", "255.255.0.0", "--gateway", "10.1.0.1"},
                                     device_script("wifi_poll.lua"));
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out, "status\t5\tpolled\ttrue\tip\t10.1.2.3\t255.255.0.0\t10.1.0.1\n");
}

TEST(LuaDeviceWifi, BadMacOptionIsAUsageError) {
    const auto r = run_device_script({"--mac", "5c:cf"}, device_script("wifi_poll.lua"));
    EXPECT_EQ(r.status.exit_code, 1) << describe(r);
    EXPECT_TRUE(contains(r.err, "--mac")) << r.err;
}

// chipid from the MAC, flashid, heap, info groups, egc, dsleep option only, compile (and loading the .lc),
// task.post order, input chunks (complete only, errors printed), output to a pipe and back.
TEST(LuaDeviceNode, FunctionsAndConsole) {
    TempDir fs;
    auto options = fixed_mac;
    options.insert(options.end(), {"--fs", fs.path().string()});
    const auto r = run_device_script(options, device_script("node.lua"), {fs.path().string()});
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out,
        "chipid\t1193046\t123456\n"
        "flashid\t1458415\tflashsize\t4194304\theap\tinteger\ttrue\n"
        "bootreason\t1\t0\n"
        "hw\t1193046\t1458415\t4096\t2\t40000000\n"
        "sw\t3\t0\t0\tstring\n"
        "build\ttrue\tfloat\ttrue\n"
        "lfs\t0\n"
        "legacy\t8\t3\n"
        "info group\tfalse\tbad argument #1 (invalid option 'nope')\n"
        "egc\t0\t1\t2\t4\tnil\n"
        "egc mode\tfalse\tbad argument #1 (invalid mode)\n"
        "egc limit\tfalse\tbad argument #1 (limit must be non-zero)\n"
        "egc type\tfalse\tbad argument #1 (number expected, got string)\n"
        "meminfo\tinteger\ttrue\ttrue\n"
        "dsleep option only\n"
        "compile\tnil\ttrue\n"
        "hello from\tlc\n"
        "lc\t42\n"
        "compile name\tfalse\tnot a .lua file\n"
        "compile missing\tfalse\tcannot open missing.lua\n"
        "compile long name\tfalse\tbad argument #1 (filename invalid)\n"
        "compile syntax\tfalse\tbroken.lua:1: unexpected symbol near '='\n"
        "task post\tfalse\tbad argument #2 (function expected, got no value)\n"
        "main chunk done\n"
        "task 1\n"
        "task 2\n"
        "input\t2\n"
        "stdin:2: input error\n"
        "captured\t2\tto the pipe\t1\tand again\n");
    EXPECT_TRUE(contains(r.err, "Warning, deprecated API! node.info() without parameter.")) << r.err;
}

// node.restart() from a callback and from the main chunk (each finishes first), then node.dsleep(0): three
// boots with their boot reasons, exit 4; globals do not survive a restart.
TEST(LuaDeviceNode, RestartRunsTheScriptAgainInAFreshState) {
    TempDir fs;
    const auto r = run_device_script({"--fs", fs.path().string()}, device_script("restart.lua"));
    EXPECT_EQ(r.status.exit_code, 4) << describe(r);
    EXPECT_EQ(r.out,
        "boot\t1\t1\t0\tnil\n"
        "the callback finishes first\n"
        "boot\t2\t2\t4\tnil\n"
        "the main chunk finishes first\n"
        "boot\t3\t2\t4\tnil\n");
}

TEST(LuaDeviceNode, DeepSleepWakesWithReason5) {
    TempDir fs;
    const auto r = run_device_script({"--fs", fs.path().string()}, device_script("restart.lua"), {"dsleep"});
    EXPECT_EQ(r.status.exit_code, 4) << describe(r);
    EXPECT_TRUE(contains(r.out, "boot\t2\t2\t5\tnil\n")) << r.out;
    EXPECT_TRUE(contains(r.out, "boot\t3\t2\t4\tnil\n")) << r.out;
}

// tmr.softwd(): fed every 200 ms it stays quiet (the script is alive at 1.2 s); 1 s after the feeding stops
// the script restarts (boot reason 4), where a disarmed watchdog does nothing; tmr.ccount() counts at the
// node.setcpufreq() clock. With --no-restart the watchdog's restart exits 3.
TEST(LuaDeviceTmr, SoftWatchdogCcountAndCpuFrequency) {
    TempDir fs;
    const auto r = run_device_script({"--fs", fs.path().string()}, device_script("softwd.lua"));
    EXPECT_EQ(r.status.exit_code, 0) << describe(r);
    EXPECT_EQ(r.out,
        "boot\t1\t0\t80\n"
        "false\tnumber expected\n"
        "feeding stopped\n"
        "alive at 1.2 s\n"
        "boot\t2\t4\t80\n"
        "160\t160\t80\t80\n"
        "ccount\tinteger\ttrue\ttrue\ttrue\n"
        "disarmed: no restart\n") << describe(r);
    TempDir fs2;
    const auto once = run_device_script({"--no-restart", "--fs", fs2.path().string()}, device_script("softwd.lua"));
    EXPECT_EQ(once.status.exit_code, 3) << describe(once);
}

// --no-restart: node.restart() exits 3 at once (after the callback returned); --max-restarts 1 allows one.
TEST(LuaDeviceNode, NoRestartAndMaxRestartsExit) {
    TempDir fs;
    const auto none = run_device_script({"--no-restart", "--fs", fs.path().string()}, device_script("restart.lua"));
    EXPECT_EQ(none.status.exit_code, 3) << describe(none);
    EXPECT_EQ(none.out, "boot\t1\t1\t0\tnil\nthe callback finishes first\n");
    TempDir fs2;
    const auto one = run_device_script({"--max-restarts", "1", "--fs", fs2.path().string()},
                                       device_script("restart.lua"), {"dsleep"});
    EXPECT_EQ(one.status.exit_code, 3) << describe(one);
    EXPECT_EQ(one.out,
        "boot\t1\t1\t0\tnil\n"
        "the callback finishes first\n"
        "boot\t2\t2\t5\tnil\n"
        "the main chunk finishes first\n");
}

// The file module on a scratch folder: both models, modes, read forms, seek, whole-file functions, list,
// exists, remove, rename, fsinfo, stat; names that would leave the folder (.., absolute, symbolic links, to a
// folder and to a file) are refused with the firmware's return values and one note each on stderr.
TEST(LuaDeviceFile, SpiffsApiOnAFolder) {
    TempDir fs;
    TempDir outside;
    write_file(outside / "secret.txt", "secret\n");
    std::filesystem::create_directory_symlink(outside.path(), fs / "link");
    std::filesystem::create_symlink(outside / "secret.txt", fs / "filelink");
    const auto r = run_device_script({"--fs", fs.path().string()}, device_script("file.lua"),
                                     {fs.path().string(), fs.path().filename().string()});
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out,
        "no file yet\tfalse\topen a file first\n"
        "open w+\tuserdata\ttrue\n"
        "write\ttrue\ttrue\ttrue\n"
        "seek\t0\t20\t5\t5\n"
        "read 3\tone\n"
        "readline\t\n"
        "\n"
        "read char\tline tw\n"
        "read default\to\n"
        "42\n"
        "read at end\tnil\n"
        "flush\ttrue\n"
        "closed object\tfalse\topen a file first\n"
        "read arg\tfalse\twrong arg range\n"
        "open missing r\tnil\tnil\n"
        "open bad mode\tnil\n"
        "after append\tline one\n"
        "line two\n"
        "42appended\n"
        "write on r\tnil\n"
        "basic open\ttrue\n"
        "basic write\ttrue\ttrue\n"
        "basic reopen\ttrue\n"
        "basic read\tfirst\n"
        "\tsecond\n"
        "basic seek\t1\tirst\n"
        "basic after close\tnil\tnil\tnil\tnil\n"
        "after failed open\tfalse\topen a file first\n"
        "putcontents\ttrue\t{\"a\":1}\n"
        "getcontents missing\t0\n"
        "empty\ttrue\tnil\n"
        "sub folder\ttrue\t<p>\n"
        "exists\ttrue\tfalse\ttrue\n"
        "rename\ttrue\tfalse\ttrue\n"
        "rename onto existing\tfalse\tfalse\n"
        "remove\tnil\tfalse\n"
        "list\tconfig.json=7 data.txt=28 empty=0 www/index.html=3\n"
        "list pattern\tconfig.json\n"
        "fsinfo\ttrue\t38\t3000000\n"
        "stat\tconfig.json\t7\tfalse\tnumber\tnil\n"
        "fscfg\t2\n"
        "/FLASH prefix\t{\"a\":1}\n"
        "long name\tfalse\tbad argument #1 (filename invalid)\n"
        "name type\tfalse\tbad argument #1 (string expected, got table)\n"
        "on\tfalse\tCallback should be function or nil\n"
        "on event\tfalse\tbad argument #1 (invalid option 'time')\n"
        "escape open\tnil\tnil\n"
        "escape getcontents\t0\n"
        "escape putcontents\tnil\n"
        "escape exists\tfalse\n"
        "escape rename\tfalse\n"
        "symlink\tnil\tnil\tfalse\n");
    EXPECT_TRUE(contains(r.err, "nmqtt: note: file.open('../outside.txt'): '..' would leave the file system folder: refused\n"))
        << r.err;
    EXPECT_TRUE(contains(r.err, "file.open('/etc/passwd'): an absolute path is outside the file system folder")) << r.err;
    EXPECT_TRUE(contains(r.err, "file.open('link/secret.txt'): a symbolic link could leave the file system folder"))
        << r.err;
    EXPECT_TRUE(contains(r.err, "file.exists('filelink'): a symbolic link")) << r.err;
    EXPECT_FALSE(std::filesystem::exists(fs.path().parent_path() / "outside.txt"));
    EXPECT_FALSE(std::filesystem::exists(fs.path().parent_path() / "stolen.txt"));
    EXPECT_EQ(read_file(outside / "secret.txt"), "secret\n");
    EXPECT_EQ(read_file(fs / "www/index.html"), "<p>");
}

// --fs-size bounds the folder: a write or putcontents that would grow it past the size returns nil (a full
// SPIFFS), with one note on stderr; overwriting inside a file and replacing a file's contents are counted
// as what they end up holding.
TEST(LuaDeviceFile, WritesStopAtTheFileSystemSize) {
    TempDir fs;
    const auto r = run_device_script({"--fs", fs.path().string(), "--fs-size", "100"}, device_script("fsfull.lua"));
    EXPECT_EQ(r.status.exit_code, 0) << describe(r);
    EXPECT_EQ(r.out,
        "put 60\ttrue\n"
        "write 30\ttrue\n"
        "write 20\tnil\n"
        "writeline 9\ttrue\n"
        "overwrite 30\ttrue\n"
        "put 11 more\tnil\n"
        "replace a by 61\tnil\n"
        "replace a by 60\ttrue\n"
        "fsinfo\t0\t100\t100\n") << describe(r);
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    EXPECT_TRUE(contains(r.err, "the file system is full (--fs-size 100 bytes)")) << r.err;
}

// Without --fs the folder is the script's own: a script finds the files beside it.
TEST(LuaDeviceFile, DefaultFolderIsTheScriptsFolder) {
    TempDir dir;
    write_file(dir / "settings.txt", "from beside the script");
    write_file(dir / "main.lua", "print(file.getcontents('settings.txt'))\n");
    const auto r = run_device_script({}, (dir / "main.lua").string());
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out, "from beside the script\n");
}

// sjson on nlohmann/json: decode types (integers stay integers, 2^64-1 becomes a float), null as sjson.NULL or
// the null option, trailing text after the value ignored (as jsonsl), the firmware's messages for incomplete
// input, the previous error, wrong types, depth (20, option clamped to 4..1000) and encoder overflow;
// encode arrays with holes, objects, escapes, NaN/inf as null, function values; the streaming decoder across
// writes (a number split between writes), metatable __newindex/checkpath order; the encoder's read sizes.
TEST(LuaDeviceSjson, EncodeDecodeAndStreaming) {
    const auto r = run_device_script({}, device_script("sjson.lua"));
    ASSERT_TRUE(r.status.success()) << describe(r);
    EXPECT_EQ(r.out,
        "decode\t1\tinteger\t2.5\tfloat\t1000.0\tfloat\ttrue\n"
        "list\t4\t1\ttrue\ttrue\tfalse\ttable\tnil\n"
        "NULL\tuserdata\ttrue\n"
        "null option\ttrue\tnil\t2\n"
        "scalars\t3\tx\ttrue\n"
        "trailing\t7\n"
        "decode incomplete\tfalse\tJSON parse error: at line 1, column 6: syntax error while parsing value - unexpected end of input; expected '[', '{', or a literal\n"
        "decode empty\tfalse\tJSON parse error: at line 1, column 1: syntax error while parsing value - unexpected end of input; expected '[', '{', or a literal\n"
        "decode bad\tfalse\tJSON parse error: at line 1, column 4: syntax error while parsing value - unexpected ']'; expected '[', '{', or a literal\n"
        "decode type\tfalse\tbad argument #1 (string expected, got table)\n"
        "depth default\tfalse\tJSON parse error: LEVELS_EXCEEDED\n"
        "depth 20 ok\ttable\n"
        "depth option\ttable\n"
        "depth clamp\tfalse\tJSON parse error: LEVELS_EXCEEDED\n"
        "encode array\t[1,2,\"three\",[true,false]]\n"
        "encode holes\t[1,null,3]\n"
        "encode empty\t[]\n"
        "encode object\t{\"key\":\"value\"}\t25\n"
        "encode escapes\t[\"q\\\"b\\\\n\\n\\t\\u0001\"]\n"
        "encode numbers\t[1.5,-0.25,1e+20,null,null,null,9223372036854775807]\n"
        "encode null\t[null,\"x\"]\t[null,\"x\"]\n"
        "encode function\t[{\"ok\":1}]\n"
        "round trip\tc\t2\ttrue\n"
        "encode type\tfalse\tbad argument #1 (table expected, got string)\n"
        "encode userdata\tfalse\tCannot encode type 7\n"
        "encode key\tfalse\tCannot encode type 1\n"
        "encode depth\tfalse\tencoder stack overflow\n"
        "encode depth option\t52\n"
        "stream\tnil\tnil\n"
        "result early\tfalse\tdecode not complete\n"
        "stream done\t10\t11\tfoo\ttrue\ttrue\n"
        "stream error\tfalse\tJSON parse error: at line 1, column 4: syntax error while parsing value - unexpected '}'; expected '[', '{', or a literal\n"
        "stream after error\tfalse\tJSON parse error: previous call\n"
        "split number\tnil\t1234\t1234\n"
        "metatable\t2\tnil\ttrue\ttrue\n"
        "path , path keep, set keep=table, set 1=number, path keep/2, set 2=table, set x=number, path skip, set y=number\n"
        "checkpath error\tfalse\tboom\n"
        "encoder\t{\"li|st\":|[1,2|,3]}\n"
        "encoder default\t1024\t980\tnil\t1\n");
    EXPECT_EQ(r.err, "");
}

// A FIFO the test writes --io-control lines into while the script runs.
class ControlFifo {
public:
    explicit ControlFifo(std::filesystem::path path) : path_(std::move(path)) {
        if (::mkfifo(path_.c_str(), 0600) != 0) throw std::runtime_error("mkfifo failed");
    }
    ~ControlFifo() { close(); }
    ControlFifo(const ControlFifo&) = delete;
    ControlFifo& operator=(const ControlFifo&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

    /// Opens the writing end once the reader has opened its end (bounded wait); false if it never did.
    bool open() {
        for (int attempt = 0; attempt < 500 && fd_ < 0; ++attempt) {
            fd_ = ::open(path_.c_str(), O_WRONLY | O_NONBLOCK);
            if (fd_ < 0) std::this_thread::sleep_for(10ms);
        }
        return fd_ >= 0;
    }
    bool write(const std::string& lines) {
        return fd_ >= 0 && ::write(fd_, lines.data(), lines.size()) == static_cast<ssize_t>(lines.size());
    }
    void close() {
        if (fd_ >= 0) ::close(fd_);
        fd_ = -1;
    }

private:
    std::filesystem::path path_;
    int fd_ = -1;
};

// Pins and the ADC: constants, write/read, the firmware's errors, triggers on changes (a write, a level
// driven through --io-control while the script runs), serout at once and through the event loop, adc values
// from --adc and --io-control, force_init_mode; --trace-io shows each change on stderr.
TEST(LuaDeviceGpio, PinsTriggersSeroutAndAdc) {
    TempDir dir;
    ControlFifo fifo(dir / "io");
    Process run(nmqtt_run_with({"--pin", "5=1", "--adc", "700", "--trace-io", "--io-control", fifo.path().string()},
                               device_script("gpio.lua")));
    ASSERT_TRUE(fifo.open());
    ASSERT_TRUE(run.wait_for_stdout("serout async done", 10s)) << run.stdout_text() << run.stderr_text();
    ASSERT_TRUE(fifo.write("adc 300\npin 2 1\npin 2 0\nbad line\n"));
    ASSERT_TRUE(run.wait_for_stdout("button", 10s)) << run.stdout_text() << run.stderr_text();
    fifo.close();  // the end of the control file: nothing keeps the run alive any more
    const ExitStatus status = run.wait_or_kill(10s);
    EXPECT_TRUE(status.success()) << run.stdout_text() << run.stderr_text();
    EXPECT_EQ(run.stdout_text(),
        "constants\t1\t0\t3\t2\t1\t0\t0\t1\n"
        "driven by --pin\t1\n"
        "write read\t1\n"
        "write read\t0\n"
        "pull-up\t1\n"
        "mode pin\tfalse\tbad argument #1 (Invalid pin)\n"
        "mode int pin 0\tfalse\tbad argument #1 (Invalid pin)\n"
        "mode\tfalse\tbad argument #2 (wrong arg type)\n"
        "read pin\tfalse\tgpio 13 does not exist\n"
        "write level\tfalse\tbad argument #2 (wrong level type)\n"
        "write pin\tfalse\tgpio 20 does not exist\n"
        "trig pin\tfalse\tbad argument #1 (Invalid interrupt pin)\n"
        "trig type\tfalse\tbad argument #2 (invalid option 'sideways')\n"
        "trig callback\tfalse\tbad argument #3 (invalid callback type)\n"
        "serout level\tfalse\tbad argument #2 (Wrong level type)\n"
        "serout table\tfalse\tbad argument #3 (Invalid delay_times)\n"
        "adc id\tfalse\tadc 1 does not exist\n"
        "adc mode\tfalse\tbad argument #1 (Invalid mode)\n"
        "adc\t700\t65535\t0\t255\n"
        "serout sync\t1\n"
        "serout started\t0\n"
        "init mode changed\ttrue\tfalse\n"
        "main chunk done\n"
        "trig 1\t1\tinteger\t1\n"
        "trig 1\t0\tinteger\t1\n"
        "serout async done\t1\n"
        "button\t0\t0\t300\n");
    const std::string err = run.stderr_text();
    for (const char* line : {" gpio 4 1\n", " gpio 4 0\n", " trig 1 1\n", " in 2 1\n", " in 2 0\n", " adc 300\n",
                             " trig 2 0\n", " gpio 3 1\n"}) {
        EXPECT_TRUE(contains(err, line)) << line << " in\n" << err;
    }
    EXPECT_TRUE(contains(err, "nmqtt: --io-control: cannot read 'bad line'")) << err;
}

// The application of a typical device, unmodified: init.lua reads config.json with file + sjson, joins the
// Wi-Fi (got_ip_cb), runs application.lua with dofile, which names the client after node.chipid(), connects to
// the test's mosquitto, drives the LED from JSON commands, reports the LED and the ADC as JSON, and reports a
// button press driven through --io-control; {"quit": true} closes the client and the run ends with 0.
TEST(LuaDeviceApplication, TypicalDeviceScriptAgainstMosquitto) {
    MosquittoFixture broker;
    TempDir app;
    for (const char* name : {"init.lua", "application.lua"}) {
        std::filesystem::copy_file(device_script(std::string("app/") + name), app / name);
    }
    write_file(app / "config.json",
               R"({"wifi": {"ssid": "home", "pwd": "secret-pass", "timeout_ms": 10000},
                   "mqtt": {"host": ")" + broker.host() + R"(", "port": )" + std::to_string(broker.port()) +
                   R"(, "topic": "devices"},
                   "pins": {"led": 4, "button": 2}})");
    const std::string base = "devices/node-1193046";
    Process sub({"mosquitto_sub", "-h", broker.host(), "-p", std::to_string(broker.port()), "-t", base + "/status", "-t", base + "/state", "-v",
                 "-C", "4"});
    ASSERT_TRUE(broker.wait_for_log("Received SUBSCRIBE", 10s)) << broker.log();
    TempDir control;
    ControlFifo fifo(control / "io");
    Process device(nmqtt_run_with({"--mac", "5c:cf:7f:12:34:56", "--adc", "321", "--trace-io", "--io-control",
                                   fifo.path().string()}, (app / "init.lua").string()));
    ASSERT_TRUE(fifo.open());
    ASSERT_TRUE(device.wait_for_stdout("mqtt: subscribed\n", 15s)) << device.stdout_text() << device.stderr_text();
    const auto publish = [&](const std::string& payload) {
        return run_process({"mosquitto_pub", "-h", broker.host(), "-p", std::to_string(broker.port()), "-q", "1",
                            "-t", base + "/cmd", "-m", payload}, 10s).status.success();
    };
    ASSERT_TRUE(publish(R"({"led":"on"})"));
    ASSERT_TRUE(device.wait_for_stderr(" gpio 4 1\n", 10s)) << device.stderr_text();
    ASSERT_TRUE(wait_until([&] { return sub.stdout_text().find("command") != std::string::npos; }, 10s));
    ASSERT_TRUE(fifo.write("pin 2 0\n"));
    ASSERT_TRUE(wait_until([&] { return sub.stdout_text().find("button") != std::string::npos; }, 10s))
        << sub.stdout_text();
    fifo.close();
    ASSERT_TRUE(publish(R"({"led":"off","quit":true})"));
    const ExitStatus status = device.wait_or_kill(15s);
    EXPECT_TRUE(status.success()) << device.stdout_text() << device.stderr_text();
    EXPECT_EQ(device.stdout_text(),
        "wifi: got ip 127.0.0.1\n"
        "mqtt: connected as node-1193046\n"
        "mqtt: subscribed\n"
        "mqtt: " + base + "/cmd {\"led\":\"on\"}\n"
        "mqtt: " + base + "/cmd {\"led\":\"off\",\"quit\":true}\n"
        "mqtt: offline\n");
    EXPECT_TRUE(sub.wait_or_kill(10s).success());
    std::vector<std::string> lines;
    std::istringstream text(sub.stdout_text());
    for (std::string line; std::getline(text, line);) lines.push_back(line);
    ASSERT_EQ(lines.size(), 4U) << sub.stdout_text();
    EXPECT_EQ(lines[0], base + "/status online");
    const auto has_all = [](const std::string& line, std::initializer_list<const char*> parts) {
        for (const char* part : parts) {
            if (line.find(part) == std::string::npos) return false;
        }
        return true;
    };
    EXPECT_TRUE(has_all(lines[1], {"/state {", "\"why\":\"command\"", "\"led\":1", "\"adc\":321"})) << lines[1];
    EXPECT_TRUE(has_all(lines[2], {"/state {", "\"why\":\"button\"", "\"led\":1"})) << lines[2];
    EXPECT_TRUE(has_all(lines[3], {"/state {", "\"why\":\"command\"", "\"led\":0"})) << lines[3];
    EXPECT_TRUE(contains(device.stderr_text(), " gpio 4 0\n")) << device.stderr_text();
}

// A 2016-style device script, unmodified: the positional wifi.sta.config(ssid, pwd), tmr.alarm polling
// wifi.sta.getip(), then mqtt.Client with lwt(t, m, 0, 0), on("connect"), connect(host, port, 0, 0, fn) (today's
// firmware reads fn as the failure callback: not called), subscribe, an LED toggled from messages and the ADC
// published on request, against mosquitto; "QUIT" closes the client and the run ends with 0.
TEST(LuaDeviceApplication, Script2016StyleAgainstMosquitto) {
    MosquittoFixture broker;
    TempDir app;
    for (const char* name : {"init.lua", "mqtt_app.lua"}) {
        std::filesystem::copy_file(device_script(std::string("app2016/") + name), app / name);
    }
    write_file(app / "config.lua",
               "BROKER = \"" + broker.host() + "\"\nPORT = " + std::to_string(broker.port()) + "\n");
    Process sub({"mosquitto_sub", "-h", broker.host(), "-p", std::to_string(broker.port()), "-t", "/esp/status",
                 "-t", "/esp/adc", "-v", "-C", "2"});
    ASSERT_TRUE(broker.wait_for_log("Received SUBSCRIBE", 10s)) << broker.log();
    Process device(nmqtt_run_with({"--adc", "512", "--trace-io"}, (app / "init.lua").string()));
    ASSERT_TRUE(device.wait_for_stdout("subscribed\n", 15s)) << device.stdout_text() << device.stderr_text();
    const auto publish = [&](const std::string& payload) {
        return run_process({"mosquitto_pub", "-h", broker.host(), "-p", std::to_string(broker.port()), "-t",
                            "/esp/led", "-m", payload}, 10s).status.success();
    };
    ASSERT_TRUE(publish("ON"));
    ASSERT_TRUE(device.wait_for_stderr(" gpio 4 1\n", 10s)) << device.stderr_text();
    ASSERT_TRUE(publish("READ"));
    ASSERT_TRUE(device.wait_for_stdout("sent\n", 10s)) << device.stdout_text() << device.stderr_text();
    ASSERT_TRUE(publish("OFF"));
    ASSERT_TRUE(device.wait_for_stdout("/esp/led:OFF\n", 10s)) << device.stdout_text();
    ASSERT_TRUE(publish("QUIT"));
    const ExitStatus status = device.wait_or_kill(15s);
    EXPECT_TRUE(status.success()) << device.stdout_text() << device.stderr_text();
    EXPECT_EQ(device.stdout_text(),
        "IP is 127.0.0.1\n"
        "connected\n"
        "subscribed\n"
        "/esp/led:ON\n"
        "/esp/led:READ\n"
        "sent\n"
        "/esp/led:OFF\n"
        "/esp/led:QUIT\n"
        "offline\n");
    EXPECT_TRUE(contains(device.stderr_text(), " gpio 4 0\n")) << device.stderr_text();
    EXPECT_TRUE(sub.wait_or_kill(10s).success());
    EXPECT_EQ(sub.stdout_text(), "/esp/status online\n/esp/adc 512 led=1\n");
}

// The same application with --wifi-down: no address before its timeout, node.dsleep(0): exit status 4.
TEST(LuaDeviceApplication, WifiDownTakesTheScriptsFailurePath) {
    TempDir app;
    for (const char* name : {"init.lua", "application.lua"}) {
        std::filesystem::copy_file(device_script(std::string("app/") + name), app / name);
    }
    write_file(app / "config.json", R"({"wifi": {"ssid": "home", "pwd": "secret-pass", "timeout_ms": 200}})");
    const auto r = run_device_script({"--wifi-down"}, (app / "init.lua").string());
    EXPECT_EQ(r.status.exit_code, 4) << describe(r);
    EXPECT_EQ(r.out, "wifi: disconnected, reason 201\nwifi: no address, sleeping\n");
}

// A reset drops the connection without DISCONNECT (as on the chip): the broker publishes the will.
TEST(LuaDeviceNode, RestartDropsTheConnectionAndTheWillIsPublished) {
    MosquittoFixture broker;
    Process sub({"mosquitto_sub", "-h", broker.host(), "-p", std::to_string(broker.port()), "-t", "will", "-C", "1"});
    ASSERT_TRUE(broker.wait_for_log("Received SUBSCRIBE", 10s)) << broker.log();
    const auto r = run_device_script({"--no-restart"}, device_script("reset_will.lua"), address(broker));
    EXPECT_EQ(r.status.exit_code, 3) << describe(r);
    EXPECT_EQ(r.out, "connected\n");
    EXPECT_TRUE(sub.wait_or_kill(10s).success());
    EXPECT_EQ(sub.stdout_text(), "gone\n");
}

}  // namespace
}  // namespace nmqtt::test::lua
