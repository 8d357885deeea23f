// The persistent session store (ClientOptions::session_store_path): a publisher process SIGKILLed mid-stream
// and started again with the same client id and store completes every QoS 1/2 message, none lost and no QoS 2
// message delivered twice; a store restored in-process; store errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <string>

#include "nmqtt/file_store.hpp"
#include "reliability_scenarios.hpp"
#include "support/bytes.hpp"
#include "support/scripted_peer.hpp"

namespace nmqtt::test {
namespace {

// Opens a copy of the store file as it is on disk now: what a process killed at this instant would find.
std::unique_ptr<FileStore> snapshot(const std::filesystem::path& store, const std::string& client_id) {
    const auto copy = store.parent_path() / "snapshot.log";
    std::filesystem::copy_file(store, copy, std::filesystem::copy_options::overwrite_existing);
    auto opened = FileStore::open(copy.string(), client_id);
    EXPECT_TRUE(opened) << opened.error().message();
    return opened ? std::move(*opened) : nullptr;
}

ClientOptions store_options(const std::string& id, const TempDir& dir) {
    ClientOptions o = test_options(id);
    o.clean_session = false;
    o.session_store_path = (dir / "session.log").string();
    return o;
}

TEST(ReliabilityStoreTest, StoreThatCannotBeOpenedThrows) {
    TempDir dir("nmqtt-store");
    ClientOptions o = test_options("no-store");
    o.session_store_path = (dir / "missing-dir" / "session.log").string();
    try {
        Client client(o);
        FAIL() << "constructed";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::errc::no_such_file_or_directory) << e.what();
    }
}

// publish() returns once a QoS 1/2 message is on disk; a new Client on the same store sends it (QoS 0 is not
// kept); completed messages leave the store.
TEST(ReliabilityStoreTest, PublishedMessagesAreOnDiskAndSentByTheNextProcess_MQTT_4_1_0_1) {
    TempDir dir("nmqtt-store");
    {
        ClientOptions o = store_options("store-pub", dir);
        o.queue_while_offline = true;
        Client offline(o);
        ASSERT_TRUE(offline.publish("store/t", "0", 1, false));
        auto on_disk = snapshot(dir / "session.log", "store-pub");
        ASSERT_TRUE(on_disk);
        ASSERT_EQ(on_disk->outgoing().size(), 1U) << "on disk when publish() returns";
        EXPECT_EQ(on_disk->outgoing()[0].packet_id, 0) << "never sent: no id yet";
        ASSERT_TRUE(offline.publish("store/t", "1", 2, false));
        ASSERT_TRUE(offline.publish("store/t", "not kept", 0, false));
        EXPECT_EQ(snapshot(dir / "session.log", "store-pub")->outgoing().size(), 2U) << "QoS 0 is not stored";
    }
    MosquittoFixture broker;
    asio::io_context io;
    Subscriber sub(io, test_options("store-sub"));
    ASSERT_TRUE(sub.start(broker.host(), broker.port(), {{"store/t", 2}}, 2));
    Client next(io, store_options("store-pub", dir));
    EXPECT_EQ(next.pending_requests(), 2U) << "restored from the store";
    Recorder r;
    r.attach(next);
    next.connect(broker.host(), broker.port());
    ASSERT_TRUE(run_until(io, [&] { return r.pubacks == 2 && sub.counter("store/t").total == 2; }));
    EXPECT_EQ(sub.counter("store/t").lost(), 0);
    EXPECT_EQ(sub.counter("store/t").arrivals_out_of_order(), 0) << "in the order first published";
    EXPECT_EQ(next.pending_requests(), 0U);
    EXPECT_TRUE(snapshot(dir / "session.log", "store-pub")->outgoing().empty()) << "completed: removed";
}

// An incoming QoS 2 id is on disk before the message reaches the user, so a process killed after that (the
// PUBREC may or may not have gone out) does not deliver the broker's resend again; PUBREL releases it
// [MQTT-4.3.3-2].
TEST(ReliabilityStoreTest, IncomingQos2IdIsOnDiskBeforeDeliveryAndSuppressesTheResend_MQTT_4_3_3_2) {
    const auto publish = hex("34 08 00 03 64 2F 74 00 07 78");      // PUBLISH QoS 2 "d/t" id 7 "x"
    const auto resend = hex("3C 08 00 03 64 2F 74 00 07 78");       // the same with DUP=1
    ScriptedPeer peer({{peer::expect_packet(0x10), peer::send(peer::connack(0, false)), peer::send(publish),
                        peer::expect(hex("50 02 00 07")), peer::expect_close()},
                       {peer::expect_packet(0x10), peer::send(peer::connack(0, true)), peer::send(resend),
                        peer::expect(hex("50 02 00 07")), peer::send(hex("62 02 00 07")),
                        peer::expect(hex("70 02 00 07")), peer::expect_close()}});
    TempDir dir("nmqtt-store");
    std::vector<PacketId> ids_on_disk;
    {
        Client first(store_options("store-sub2", dir));
        int delivered = 0;
        first.on_message([&](Client&, const MessageView&) {
            ++delivered;
            if (auto on_disk = snapshot(dir / "session.log", "store-sub2")) ids_on_disk = on_disk->incoming();
        });
        first.connect(peer.host(), peer.port());
        ASSERT_TRUE(run_until(first, [&] { return delivered == 1 && peer.received(0).size() >= 4; }));
    }  // destroyed: what a kill would leave is the snapshot taken above
    EXPECT_EQ(ids_on_disk, std::vector<PacketId>{7});

    Client second(store_options("store-sub2", dir));
    Recorder r;
    r.attach(second);
    second.connect(peer.host(), peer.port());
    const auto pubcomp = hex("70 02 00 07");
    ASSERT_TRUE(run_until(second, [&] {
        const auto got = peer.received(1);
        return got.size() >= pubcomp.size() && std::equal(pubcomp.rbegin(), pubcomp.rend(), got.rbegin());
    })) << peer.failure();
    EXPECT_TRUE(r.messages.empty()) << "the resend of a stored id is not delivered again";
    ASSERT_TRUE(close_and_wait(second));
    ASSERT_TRUE(peer.wait_done(5s));
    EXPECT_TRUE(peer.matched()) << peer.failure();
    EXPECT_TRUE(snapshot(dir / "session.log", "store-sub2")->incoming().empty()) << "released by PUBREL";
}

#ifdef NMQTT_STORE_CHILD_PATH
TEST(ReliabilityStoreTest, PublisherKilledTwiceMidStreamLosesNothing) {
    expect_lossless(run_store_kill(2000, 2, "every", std::chrono::seconds(60)));
}
#endif

}  // namespace
}  // namespace nmqtt::test
