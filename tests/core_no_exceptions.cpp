// Built with -fno-exceptions -fno-rtti: proves the core's public headers and library work without them.
#include <cstdio>

#include "nmqtt/protocol/encode.hpp"
#include "nmqtt/protocol/stream_decoder.hpp"
#include "nmqtt/protocol/topic.hpp"
#include "nmqtt/session/session.hpp"

int main() {
    using namespace nmqtt;
    session::SessionOptions options;
    options.client_id = "no-exceptions";
    session::Session s(options);
    if (s.connection_opened(TimePoint{}) ) return 1;
    auto out = s.pending_output();
    protocol::StreamDecoder decoder;
    auto step = decoder.feed(out);  // our own CONNECT decodes as a CONNECT
    if (step.kind != protocol::StreamDecoder::Kind::packet) return 2;
    if (protocol::type_of(step.packet) != protocol::PacketType::connect) return 3;
    if (!protocol::topic_matches("a/+", "a/b")) return 4;
    std::puts("core works without exceptions and RTTI");
    return 0;
}
