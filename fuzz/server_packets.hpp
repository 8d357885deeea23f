// Builds well-formed server packets with fuzzed fields, at MQTT 3.1.1 or 5.0, for the session targets.
// At 5.0 the packets carry properties (CONNACK limits, Topic Alias, reason strings, ...) and reason codes
// valid for their type; a few choices make them protocol errors on purpose (an alias never set, a Session
// Expiry in DISCONNECT, a SUBACK with the wrong count), which the session must survive.
#pragma once

#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "nmqtt/protocol/encode.hpp"
#include "nmqtt/protocol/packets.hpp"
#include "nmqtt/protocol/properties.hpp"
#include "nmqtt/protocol/reason_code.hpp"

namespace nmqtt::fuzz {

using protocol::PacketType;
using protocol::Properties;
using protocol::PropertyId;
using protocol::ProtocolVersion;
using Wire = std::vector<std::uint8_t>;

/// What the last CONNACK built said (what a session that accepted it must respect).
struct ConnackFacts {
    bool session_present = false;
    std::uint8_t code = 0;
    std::uint32_t receive_maximum = 65'535;
    std::uint32_t maximum_packet_size = 0;  ///< 0: no limit
    std::uint16_t topic_alias_maximum = 0;
    std::uint8_t maximum_qos = 2;
};

class ServerPackets {
public:
    ServerPackets(FuzzedDataProvider& in, ProtocolVersion version) : in_(in), version_(version) {}

    [[nodiscard]] bool v5() const noexcept { return version_ == ProtocolVersion::v5; }
    [[nodiscard]] const ConnackFacts& last_connack() const noexcept { return connack_; }

    Wire connack() {
        connack_ = ConnackFacts{};
        const bool usual = in_.ConsumeBool();
        connack_.session_present = !usual && in_.ConsumeBool();
        if (!usual) connack_.code = v5() ? pick_code(PacketType::connack) : in_.ConsumeIntegralInRange<std::uint8_t>(0, 6);
        Properties props;
        if (v5()) connack_properties(props);
        // 3.1.1: the raw bytes, so that code 6 (invalid) and session present on a refusal reach the decoder.
        if (!v5()) return {0x20, 0x02, static_cast<std::uint8_t>(connack_.session_present), connack_.code};
        return encode(protocol::Connack{connack_.session_present, connack_.code, props.view()});
    }

    /// A PUBLISH at QoS 0..2 (id 1..max_id for QoS 1/2), small or large payload, 5.0 properties.
    Wire publish(std::uint16_t max_id) {
        const auto qos = static_cast<QoS>(in_.ConsumeIntegralInRange<int>(0, 2));
        protocol::Publish p;
        p.qos = qos;
        p.dup = qos != QoS::at_most_once && in_.ConsumeBool();
        p.retain = in_.ConsumeBool();
        static constexpr const char* topics[] = {"a/b", "$SYS/x", "t", "a/b/c/d"};
        p.topic = topics[in_.ConsumeIntegralInRange<std::size_t>(0, 3)];
        payload_.assign(in_.ConsumeBool() ? in_.ConsumeIntegralInRange<std::size_t>(0, 40)
                                          : in_.ConsumeIntegralInRange<std::size_t>(0, 3000), 'p');
        p.payload = payload_;
        if (qos != QoS::at_most_once) p.packet_id = in_.ConsumeIntegralInRange<std::uint16_t>(1, max_id);
        Properties props;
        if (v5()) publish_properties(p, props);
        p.properties = props.view();
        return encode(p);
    }

    /// PUBACK, PUBREC, PUBREL or PUBCOMP for `id`, with a 5.0 reason code and properties.
    Wire ack(PacketType type, PacketId id) {
        Properties props;
        std::uint8_t code = 0;
        if (v5() && in_.ConsumeBool()) {
            code = pick_code(type);
            reason_properties(props);
        }
        switch (type) {
            case PacketType::puback: return encode(protocol::Puback{id, code, props.view()});
            case PacketType::pubrec: return encode(protocol::Pubrec{id, code, props.view()});
            case PacketType::pubrel: return encode(protocol::Pubrel{id, code, props.view()});
            default: return encode(protocol::Pubcomp{id, code, props.view()});
        }
    }

    /// SUBACK for `id` with `count` codes (sometimes one too many: a protocol error).
    Wire suback(PacketId id, std::size_t count) {
        if (in_.ConsumeIntegralInRange<int>(0, 15) == 0) ++count;
        codes_.clear();
        static constexpr std::uint8_t v3_codes[] = {0x00, 0x01, 0x02, 0x80};
        for (std::size_t i = 0; i < count; ++i) {
            codes_.push_back(v5() ? pick_code(PacketType::suback) : v3_codes[in_.ConsumeIntegralInRange<std::size_t>(0, 3)]);
        }
        Properties props;
        if (v5()) reason_properties(props);
        return encode(protocol::Suback{id, codes_, props.view()});
    }

    /// UNSUBACK for `id` (5.0: `count` reason codes).
    Wire unsuback(PacketId id, std::size_t count) {
        codes_.clear();
        Properties props;
        if (v5()) {
            for (std::size_t i = 0; i < count; ++i) codes_.push_back(pick_code(PacketType::unsuback));
            reason_properties(props);
        }
        return encode(protocol::Unsuback{id, codes_, props.view()});
    }

    /// 5.0 DISCONNECT from the server (3.1.1: the bare packet, which a 3.1.1 server never sends).
    Wire disconnect() {
        if (!v5()) return {0xE0, 0x00};
        Properties props;
        const std::uint8_t code = pick_code(PacketType::disconnect);
        if (in_.ConsumeBool()) props.reason_string("bye");
        if (in_.ConsumeBool()) props.add_string(PropertyId::server_reference, "other:1883");
        if (in_.ConsumeIntegralInRange<int>(0, 7) == 0) props.session_expiry_interval(10);  // protocol error
        return encode(protocol::Disconnect{code, props.view()});
    }

    /// 5.0 AUTH (we never start enhanced authentication: a protocol error for the session).
    Wire auth() {
        if (!v5()) return {0xF0, 0x00};
        Properties props;
        props.authentication_method("SCRAM");
        return encode(protocol::Auth{in_.ConsumeBool() ? std::uint8_t{0x18} : std::uint8_t{0x00}, props.view()});
    }

private:
    Wire encode(const protocol::Packet& packet) {
        Wire out;
        (void)protocol::encode_append(packet, out, version_);  // an invalid combination gives no bytes
        return out;
    }

    std::uint8_t pick_code(PacketType type) {
        static constexpr std::uint8_t codes[] = {0x00, 0x01, 0x02, 0x04, 0x10, 0x11, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85,
                                                 0x86, 0x87, 0x88, 0x89, 0x8B, 0x8D, 0x8E, 0x91, 0x92, 0x93, 0x95, 0x97,
                                                 0x9C, 0x9D};
        const std::uint8_t code = codes[in_.ConsumeIntegralInRange<std::size_t>(0, sizeof codes - 1)];
        return protocol::is_valid_reason_code(type, code) ? code : 0;
    }

    void reason_properties(Properties& props) {
        if (in_.ConsumeBool()) props.reason_string("why");
        if (in_.ConsumeBool()) props.add_user_property("k", "v");
    }

    void connack_properties(Properties& props) {
        const auto mask = in_.ConsumeIntegral<std::uint16_t>();
        const auto bit = [&](int i) { return (mask >> i & 1U) != 0; };
        if (bit(0)) {
            connack_.receive_maximum = in_.ConsumeIntegralInRange<std::uint16_t>(1, 6);
            props.receive_maximum(static_cast<std::uint16_t>(connack_.receive_maximum));
        }
        if (bit(1)) {
            connack_.maximum_packet_size = in_.ConsumeIntegralInRange<std::uint32_t>(16, 4096);
            props.maximum_packet_size(connack_.maximum_packet_size);
        }
        if (bit(2)) {
            connack_.topic_alias_maximum = in_.ConsumeIntegralInRange<std::uint16_t>(0, 3);
            props.topic_alias_maximum(connack_.topic_alias_maximum);
        }
        if (bit(3)) {
            connack_.maximum_qos = in_.ConsumeIntegralInRange<std::uint8_t>(0, 1);
            props.add_byte(PropertyId::maximum_qos, connack_.maximum_qos);
        }
        if (bit(4)) props.add_byte(PropertyId::retain_available, 0);
        if (bit(5)) props.add_byte(PropertyId::wildcard_subscription_available, 0);
        if (bit(6)) props.add_byte(PropertyId::subscription_identifier_available, 0);
        if (bit(7)) props.add_byte(PropertyId::shared_subscription_available, 0);
        if (bit(8)) props.add_two_byte(PropertyId::server_keep_alive, in_.ConsumeIntegralInRange<std::uint16_t>(0, 30));
        if (bit(9)) props.add_string(PropertyId::assigned_client_identifier, "srv-1");
        if (bit(10)) props.session_expiry_interval(in_.ConsumeIntegral<std::uint32_t>());
        if (bit(11)) props.reason_string("welcome");
        if (bit(12)) props.add_user_property("k", "v");
        if (bit(13)) props.add_string(PropertyId::response_information, "resp/");
    }

    void publish_properties(protocol::Publish& p, Properties& props) {
        const auto mask = in_.ConsumeIntegral<std::uint8_t>();
        const auto bit = [&](int i) { return (mask >> i & 1U) != 0; };
        if (bit(0)) {
            p.topic_alias = in_.ConsumeIntegralInRange<std::uint16_t>(1, 4);  // may exceed our maximum
            if (in_.ConsumeBool()) p.topic = {};                              // alias only (maybe never set)
        }
        if (bit(1)) props.payload_format_indicator(in_.ConsumeBool());
        if (bit(2)) props.message_expiry_interval(in_.ConsumeIntegral<std::uint32_t>());
        if (bit(3)) props.content_type("text/plain");
        if (bit(4)) props.response_topic("reply/to");
        if (bit(5)) props.correlation_data("c0rr");
        if (bit(6)) props.subscription_identifier(in_.ConsumeIntegralInRange<std::uint32_t>(1, 300));
        if (bit(7)) props.add_user_property("k", "v");
    }

    FuzzedDataProvider& in_;
    ProtocolVersion version_;
    ConnackFacts connack_;
    std::string payload_;
    std::vector<std::uint8_t> codes_;
};

}  // namespace nmqtt::fuzz
