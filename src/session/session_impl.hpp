// Session internals, shared by the session's translation units (private).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "fifo.hpp"
#include "id_table.hpp"
#include "nmqtt/protocol/stream_decoder.hpp"
#include "nmqtt/session/session.hpp"

namespace nmqtt::session {

/// An outgoing request kept by the session: queued (outbox) or in flight (awaiting its ack).
struct Record {
    enum class Kind : std::uint8_t { publish, subscribe, unsubscribe };
    enum class Stage : std::uint8_t { free, queued, awaiting_ack, awaiting_pubcomp };

    std::vector<std::uint8_t> bytes;  ///< the encoded packet; the id field is patched when sent
    std::uint64_t tag = 0;
    std::uint64_t seq = 0;            ///< first-send order, for resends [MQTT-4.6.0-1]
    std::uint32_t id_offset = 0;      ///< where the packet id sits in `bytes` (0: none, QoS 0)
    std::uint16_t filter_count = 0;   ///< SUBSCRIBE: expected SUBACK codes
    PacketId id = 0;
    Kind kind = Kind::publish;
    Stage stage = Stage::free;
    QoS qos = QoS::at_most_once;
};

/// A QoS 0 publish whose completion fires when the stream has been written up to `end`.
struct PendingWrite {
    std::uint64_t end = 0;
    std::uint64_t tag = 0;
};

struct Session::Impl {
    explicit Impl(SessionOptions o);

    // --- configuration and state
    SessionOptions options;
    State state = State::idle;
    protocol::StreamDecoder decoder;

    // --- output: `front` is being written (stable for the transport), `back` accumulates new packets
    std::vector<std::uint8_t> front;
    std::size_t front_head = 0;
    std::vector<std::uint8_t> back;
    std::uint64_t total_enqueued = 0;   ///< bytes ever queued on this connection
    std::uint64_t total_consumed = 0;   ///< bytes ever written on this connection
    std::uint64_t connect_end = 0;      ///< stream offset after CONNECT
    std::optional<std::uint64_t> disconnect_end;
    detail::Fifo<PendingWrite> qos0_writes;

    // --- requests
    std::vector<Record> records;
    std::vector<std::uint32_t> free_records;
    detail::Fifo<std::uint32_t> outbox;   ///< record indices waiting to be sent, in order
    detail::IdMap inflight;               ///< packet id -> record index, outgoing
    detail::IdSet incoming_qos2;          ///< ids received at QoS 2, awaiting PUBREL
    PacketId next_id = 0;
    std::uint64_t next_seq = 1;
    std::size_t inflight_publishes = 0;
    std::size_t stored_bytes = 0;         ///< bytes held by live records

    // --- events, and changes for a persistent store
    detail::Fifo<Event> events;
    detail::Fifo<StoreChange> store_changes;

    // --- time
    TimePoint opened_at{};
    std::optional<TimePoint> connect_written_at;
    TimePoint last_sent{};
    TimePoint last_received{};
    std::optional<TimePoint> ping_sent_at;
    TimePoint disconnect_at{};

    // session.cpp
    [[nodiscard]] bool accepts_requests() const noexcept;
    void note(StoreChange::Kind kind, std::uint64_t seq, PacketId id, Bytes packet = {});
    void clear_incoming();
    void fail_connection(std::error_code error, int code);
    void end_connection();
    void append(const protocol::Packet& packet);
    void append_bytes(const std::vector<std::uint8_t>& packet);
    [[nodiscard]] Duration ping_timeout() const noexcept;

    // send.cpp
    Result<PacketId> enqueue(Record::Kind kind, const protocol::Packet& packet, std::size_t size, QoS qos,
                             std::uint64_t tag, std::uint16_t filter_count, std::size_t id_offset);
    std::uint32_t acquire_record();
    void release_record(std::uint32_t index);
    Result<PacketId> allocate_id();
    bool send_record(std::uint32_t index);
    void pump();
    void complete_publish(std::uint32_t index, std::error_code error);
    void resend_inflight();
    void discard_old_session();
    void fail_pending_writes(std::error_code error);
    [[nodiscard]] bool over_budget(std::size_t extra) const noexcept;

    // restore.cpp
    std::error_code restore_one(const StoredMessage& m);

    // receive.cpp
    void on_packet(const protocol::Packet& packet);
    void on_connack(const protocol::Connack& p);
    void on_publish(const protocol::Publish& p, bool overflow, std::uint32_t total_size);
    void on_puback(PacketId id);
    void on_pubrec(PacketId id);
    void on_pubcomp(PacketId id);
    void on_pubrel(PacketId id);
    void on_suback(const protocol::Suback& p);
    void on_unsuback(PacketId id);
    [[nodiscard]] Record* find(PacketId id, Record::Kind kind);
};

}  // namespace nmqtt::session
