// FileStore and Session::restore(): a process "killed" (session dropped without a word) and restarted with the
// same client id completes its QoS 1/2 deliveries and delivers no QoS 2 message twice.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "nmqtt/file_store.hpp"
#include "nmqtt/session/session.hpp"
#include "support/bytes.hpp"
#include "support/fake_clock.hpp"

namespace nmqtt::test {
namespace {

namespace fs = std::filesystem;
using session::Session;
using session::SessionOptions;

class FileStoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("nmqtt-store-" + std::to_string(::getpid()) + "-" +
                                           ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        path_ = (dir_ / "session.log").string();
    }
    void TearDown() override { fs::remove_all(dir_); }

    static SessionOptions options() {
        SessionOptions o;
        o.client_id = "store-client";
        o.clean_session = false;
        o.track_store_changes = true;
        return o;
    }
    // Moves every store change of `s` into `store` and flushes it.
    static void sync(Session& s, FileStore& store) {
        while (auto c = s.poll_store_change()) store.apply(*c);
        ASSERT_FALSE(store.flush());
    }
    std::vector<std::uint8_t> connect_and_take(Session& s, bool session_present) {
        EXPECT_FALSE(s.connection_opened(clock_.now()));
        s.consume_output(s.pending_output().size(), clock_.now());
        const auto connack = hex(session_present ? "20 02 01 00" : "20 02 00 00");
        s.handle_bytes(connack, clock_.now());
        while (s.poll_event()) {}
        auto out = s.pending_output();
        std::vector<std::uint8_t> bytes(out.begin(), out.end());
        s.consume_output(out.size(), clock_.now());
        return bytes;
    }

    fs::path dir_;
    std::string path_;
    FakeClock clock_;
};

TEST_F(FileStoreTest, MQTT_4_1_0_1_outgoing_qos1_and_qos2_survive_a_restart_and_are_resent_with_dup) {
    {
        auto store = FileStore::open(path_, "store-client");
        ASSERT_TRUE(store);
        Session s(options());
        connect_and_take(s, false);
        ASSERT_TRUE(s.publish({"a/b", "one", QoS::at_least_once, false, 1}, clock_.now()));
        ASSERT_TRUE(s.publish({"a/b", "two", QoS::exactly_once, false, 2}, clock_.now()));
        ASSERT_TRUE(s.publish({"a/b", "three", QoS::exactly_once, false, 3}, clock_.now()));
        s.consume_output(s.pending_output().size(), clock_.now());
        s.handle_bytes(hex("50 02 00 03"), clock_.now());  // PUBREC for "three": only PUBREL remains
        while (s.poll_event()) {}
        sync(s, **store);
    }  // the process dies: no DISCONNECT, nothing else written
    auto store = FileStore::open(path_, "store-client");
    ASSERT_TRUE(store);
    Session s(options());
    ASSERT_FALSE(s.restore((*store)->outgoing(), (*store)->incoming()));
    EXPECT_EQ(s.inflight_count(), 3U);
    const auto out = connect_and_take(s, true);
    // [MQTT-4.4.0-1] same ids, DUP=1, original order; PUBREL for the released one.
    EXPECT_TRUE(bytes_equal(out, cat(hex("3A 0A 00 03 61 2F 62 00 01"), bytes_of("one"),
                                     hex("3C 0A 00 03 61 2F 62 00 02"), bytes_of("two"), hex("62 02 00 03"))));
}

TEST_F(FileStoreTest, MQTT_4_3_3_2_incoming_qos2_not_delivered_twice_after_a_restart) {
    {
        auto store = FileStore::open(path_, "store-client");
        Session s(options());
        connect_and_take(s, false);
        s.handle_bytes(cat(hex("34 07 00 01 74 00 09"), bytes_of("hi")), clock_.now());
        int messages = 0;
        while (auto e = s.poll_event()) messages += std::holds_alternative<session::MessageReceived>(*e);
        EXPECT_EQ(messages, 1);
        sync(s, **store);  // killed before the PUBREL
    }
    auto store = FileStore::open(path_, "store-client");
    ASSERT_EQ((*store)->incoming(), std::vector<PacketId>{9});
    Session s(options());
    ASSERT_FALSE(s.restore((*store)->outgoing(), (*store)->incoming()));
    connect_and_take(s, true);
    // The broker redelivers with DUP before our PUBREC reached it: answered, not delivered again.
    s.handle_bytes(cat(hex("3C 07 00 01 74 00 09"), bytes_of("hi")), clock_.now());
    int messages = 0;
    while (auto e = s.poll_event()) messages += std::holds_alternative<session::MessageReceived>(*e);
    EXPECT_EQ(messages, 0);
    EXPECT_TRUE(bytes_equal(std::vector<std::uint8_t>(s.pending_output().begin(), s.pending_output().end()),
                            hex("50 02 00 09")));
}

TEST_F(FileStoreTest, completed_messages_are_forgotten) {
    {
        auto store = FileStore::open(path_, "store-client");
        Session s(options());
        connect_and_take(s, false);
        ASSERT_TRUE(s.publish({"a", "x", QoS::at_least_once, false, 1}, clock_.now()));
        s.consume_output(s.pending_output().size(), clock_.now());
        s.handle_bytes(hex("40 02 00 01"), clock_.now());
        while (s.poll_event()) {}
        sync(s, **store);
    }
    auto store = FileStore::open(path_, "store-client");
    EXPECT_TRUE((*store)->outgoing().empty());
}

TEST_F(FileStoreTest, MQTT_3_1_3_2_state_of_another_client_id_is_not_used) {
    {
        auto store = FileStore::open(path_, "store-client");
        Session s(options());
        connect_and_take(s, false);
        ASSERT_TRUE(s.publish({"a", "x", QoS::at_least_once, false, 1}, clock_.now()));
        sync(s, **store);
    }
    auto other = FileStore::open(path_, "someone-else");
    ASSERT_TRUE(other);
    EXPECT_TRUE((*other)->outgoing().empty());
}

TEST_F(FileStoreTest, a_torn_tail_is_cut_and_the_intact_records_are_kept) {
    {
        auto store = FileStore::open(path_, "store-client");
        Session s(options());
        connect_and_take(s, false);
        ASSERT_TRUE(s.publish({"a", "kept", QoS::at_least_once, false, 1}, clock_.now()));
        sync(s, **store);
    }
    {
        std::ofstream f(path_, std::ios::binary | std::ios::app);
        f.write("\x00\x00\x00\x00\x00\x00\x00\x00\x07\x00", 10);  // half a record, as a crash mid-write leaves
    }
    auto store = FileStore::open(path_, "store-client");
    ASSERT_TRUE(store);
    ASSERT_EQ((*store)->outgoing().size(), 1U);
    EXPECT_EQ((*store)->outgoing()[0].packet_id, 1);
}

TEST_F(FileStoreTest, unsent_messages_queued_while_offline_are_restored_to_the_queue) {
    auto o = options();
    o.queue_while_offline = true;
    {
        auto store = FileStore::open(path_, "store-client");
        Session s(o);
        ASSERT_TRUE(s.publish({"a", "offline", QoS::at_least_once, false, 1}, clock_.now()));
        EXPECT_EQ(s.queued_count(), 1U);
        sync(s, **store);
    }
    auto store = FileStore::open(path_, "store-client");
    Session s(o);
    ASSERT_FALSE(s.restore((*store)->outgoing(), (*store)->incoming()));
    const auto out = connect_and_take(s, false);
    EXPECT_TRUE(bytes_equal(out, cat(hex("32 0C 00 01 61 00 01"), bytes_of("offline"))));
}

TEST_F(FileStoreTest, restore_rejects_a_packet_that_is_not_a_qos1_or_qos2_publish) {
    Session s(options());
    const auto qos0 = hex("30 03 00 01 61");
    const session::StoredMessage bad{1, 0, false, qos0};
    EXPECT_EQ(s.restore(std::span(&bad, 1), {}), make_error_code(Errc::invalid_argument));
}

TEST_F(FileStoreTest, the_log_is_compacted_when_it_outgrows_the_live_state) {
    auto store = FileStore::open(path_, "store-client", SyncPolicy::os);
    Session s(options());
    connect_and_take(s, false);
    const std::string payload(1000, 'p');
    for (int i = 0; i < 3000; ++i) {
        auto id = s.publish({"a", payload, QoS::at_least_once, false, 1}, clock_.now());
        ASSERT_TRUE(id);
        s.consume_output(s.pending_output().size(), clock_.now());
        const std::uint8_t puback[] = {0x40, 0x02, static_cast<std::uint8_t>(*id >> 8), static_cast<std::uint8_t>(*id)};
        s.handle_bytes(puback, clock_.now());
        while (s.poll_event()) {}
        sync(s, **store);
    }
    EXPECT_LT((*store)->log_size(), 2U << 20);  // 3 MB of payload went through a log that stays small
    EXPECT_LT(fs::file_size(path_), 2U << 20);
}

}  // namespace
}  // namespace nmqtt::test
