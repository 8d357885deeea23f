// Session internals, shared by the session's translation units (private).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fifo.hpp"
#include "id_table.hpp"
#include "nmqtt/protocol/stream_decoder.hpp"
#include "nmqtt/session/session.hpp"

namespace nmqtt::session {

/// An outgoing request kept by the session: queued (outbox) or in flight (awaiting its ack).
struct Record {
    enum class Kind : std::uint8_t { publish, subscribe, unsubscribe };
    /// awaiting_resend: a QoS 1/2 publish of a resumed session that holds its id but waits, beyond the new
    /// connection's window, to be sent again (not counted in inflight_publishes until it is).
    enum class Stage : std::uint8_t { free, queued, awaiting_ack, awaiting_pubcomp, awaiting_resend };

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

/// What the server's CONNACK allows (MQTT 5.0 section 3.2.2.3); the standard's defaults otherwise.
struct ServerLimits {
    std::uint32_t receive_maximum = 65'535;
    std::uint32_t maximum_packet_size = 0;  ///< 0: no limit beyond the protocol's
    std::uint16_t topic_alias_maximum = 0;
    std::uint8_t maximum_qos = 2;
    bool retain_available = true;
    bool wildcard_available = true;
    bool subscription_ids_available = true;
    bool shared_available = true;
};

struct Session::Impl {
    explicit Impl(SessionOptions o);
    [[nodiscard]] bool v5() const noexcept { return options.protocol == protocol::ProtocolVersion::v5; }

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
    /// SUBSCRIBE/UNSUBSCRIBE records taken out of a window-blocked outbox: they are not delayed by a full
    /// Receive Maximum (or max_inflight) window [MQTT-3.3.4-8]; sent before the outbox.
    detail::Fifo<std::uint32_t> control;
    std::size_t outbox_control = 0;       ///< SUBSCRIBE/UNSUBSCRIBE records in `outbox`
    detail::Fifo<std::uint32_t> resends;  ///< awaiting_resend records in send order (stale entries skipped)
    detail::IdMap inflight;               ///< packet id -> record index, outgoing
    detail::IdSet incoming_qos2;          ///< ids received at QoS 2, awaiting PUBREL
    PacketId next_id = 0;
    std::uint64_t next_seq = 1;
    std::size_t inflight_publishes = 0;
    std::size_t stored_bytes = 0;         ///< bytes held by live records

    // --- events, and changes for a persistent store
    detail::Fifo<Event> events;
    detail::Fifo<StoreChange> store_changes;

    // --- MQTT 5.0
    ServerLimits server;
    std::string assigned_client_id;
    std::uint16_t keepalive = 0;                 ///< in use: ours, or the Server Keep Alive
    std::uint32_t session_expiry = 0;            ///< sent in the last CONNECT
    protocol::Properties connect_properties;     ///< built per CONNECT
    std::vector<std::string> outgoing_aliases;   ///< alias n is outgoing_aliases[n - 1]
    std::vector<std::string> incoming_aliases;   ///< alias n maps to incoming_aliases[n - 1] ("" unset)
    std::optional<std::error_code> violation;    ///< our DISCONNECT for this protocol error is being written
    std::uint8_t violation_reason = 0;
    std::string auth_method;                     ///< of the last CONNECT ("" = no enhanced authentication)
    bool auth_exchange = false;                  ///< an AUTH 0x18 from the server awaits our answer
    bool reauthenticating = false;               ///< our AUTH 0x19 was sent, no AUTH 0x00 yet

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
    void protocol_failure(std::error_code error, int code);
    void build_connect_properties();
    [[nodiscard]] std::error_code check_size(std::size_t size) const noexcept;

    // send.cpp
    Result<PacketId> enqueue(Record::Kind kind, const protocol::Packet& packet, std::size_t size, QoS qos,
                             std::uint64_t tag, std::uint16_t filter_count, std::size_t id_offset);
    std::uint32_t acquire_record();
    void release_record(std::uint32_t index);
    Result<PacketId> allocate_id();
    bool send_record(std::uint32_t index);
    void pump();
    void send_control();
    void let_control_overtake();
    void complete_publish(std::uint32_t index, std::error_code error, std::uint8_t reason = 0,
                          protocol::PropertiesView properties = {});
    void resend_inflight();
    bool resend_deferred();
    void discard_old_session();
    void fail_pending_writes(std::error_code error);
    [[nodiscard]] bool over_budget(std::size_t extra) const noexcept;

    // restore.cpp
    std::error_code restore_one(const StoredMessage& m);

    std::uint16_t outgoing_alias(std::string_view topic, bool& known);
    Result<PacketId> publish_now(protocol::Publish& p, std::size_t size, std::uint64_t tag);
    [[nodiscard]] std::size_t send_quota() const noexcept;

    // receive.cpp
    void on_packet(const protocol::Packet& packet);
    void on_connack(const protocol::Connack& p);
    void accept_connack_properties(protocol::PropertiesView props);
    void on_publish(const protocol::Publish& p, bool overflow, std::uint32_t total_size);
    [[nodiscard]] std::error_code resolve_alias(protocol::Publish& p);
    void on_puback(const protocol::Puback& p);
    void on_pubrec(const protocol::Pubrec& p);
    void on_pubcomp(const protocol::Pubcomp& p);
    void on_pubrel(PacketId id);
    void on_suback(const protocol::Suback& p);
    void on_unsuback(const protocol::Unsuback& p);
    void on_disconnect(const protocol::Disconnect& p);
    void on_auth(const protocol::Auth& p);
    void send_auth(std::uint8_t reason, std::string_view data, protocol::PropertiesView properties);
    [[nodiscard]] Record* find(PacketId id, Record::Kind kind);
};

}  // namespace nmqtt::session
